import PostureModel
import Testing

/// What evidence may hold and how it is printed.
@Suite struct ControlCharactersTests {
    @Test(arguments: [
        ("plain ascii /usr/bin/ls", "plain ascii /usr/bin/ls"),
        ("日本語のファイル名", "日本語のファイル名"),
        ("a\u{1B}[2Jb", "a\\u{1b}[2Jb"),
        ("title\u{1B}]0;x\u{07}", "title\\u{1b}]0;x\\u{7}"),
        ("line\nforged\r\tx", "line\\nforged\\r\\tx"),
        ("c1 \u{9B}31m", "c1 \\u{9b}31m"),
        ("del \u{7F}", "del \\u{7f}"),
        ("bidi \u{202E}gpj.exe", "bidi \\u{202e}gpj.exe"),
        ("isolate \u{2066}x\u{2069}", "isolate \\u{2066}x\\u{2069}"),
        ("sep \u{2028}", "sep \\u{2028}"),
        ("back\\slash", "back\\\\slash")
    ])
    func escapesWhatATerminalWouldObey(_ row: (String, String)) {
        #expect(ControlCharacters.escaped(row.0) == row.1)
    }

    @Test func escapedLinesKeepsTheProgramsLineBreaks() {
        #expect(ControlCharacters.escapedLines("one\u{1B}\ntwo\n") == "one\\u{1b}\ntwo\n")
    }
}
