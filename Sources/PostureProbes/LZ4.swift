/// Decoder for the LZ4 frame format, which apt uses for package lists when it keeps them
/// compressed (`Acquire::GzipIndexes`, the default in Debian container images).
enum LZ4 {
    static let frameMagic: UInt32 = 0x184D_2204
    /// The most `decompress` produces: apt's largest lists are under 100 MiB uncompressed, and
    /// LZ4 expands up to 255 times, so a small hostile file could otherwise exhaust memory.
    static let maxDecodedSize = 1 << 29

    static func isFrame(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && readLE32(bytes, 0) == frameMagic
    }

    /// Decompresses every frame in `input` (skippable frames are skipped), up to `limit` bytes.
    static func decompress(_ input: [UInt8], limit: Int = maxDecodedSize) throws(ProbeError) -> [UInt8] {
        var output = [UInt8]()
        var position = 0
        try decode(
            limit: limit,
            read: { count in
                let end = min(input.count, position + count)
                defer { position = end }
                return Array(input[position..<end])
            }, emit: { output.append(contentsOf: $0) })
        return output
    }

    /// Largest history a block may refer back to (match offsets are 16 bits).
    private static let windowSize = 1 << 16

    /// Decodes frames as they are read: `read(n)` returns the next `n` bytes of input (fewer only
    /// at its end), `emit` gets each decoded block in order. At most one block (4 MiB) and 64 KiB
    /// of history are held, whatever the size of the whole.
    static func decode(
        limit: Int = maxDecodedSize, read: (Int) throws(ProbeError) -> [UInt8],
        emit: (UnsafeBufferPointer<UInt8>) throws(ProbeError) -> Void
    ) throws(ProbeError) {
        var total = 0
        var window = [UInt8]()
        func readExactly(_ count: Int, _ failure: String) throws(ProbeError) -> [UInt8] {
            let bytes = try read(count)
            guard bytes.count == count else { throw damaged(failure) }
            return bytes
        }
        while true {
            let magicBytes = try read(4)
            if magicBytes.isEmpty { return }
            guard magicBytes.count == 4 else { throw damaged("trailing bytes after the last frame") }
            let magic = readLE32(magicBytes, 0)
            if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
                var skip = Int(readLE32(try readExactly(4, "truncated skippable frame"), 0))
                while skip > 0 {
                    let chunk = try read(min(skip, windowSize))
                    guard !chunk.isEmpty else { throw damaged("truncated skippable frame") }
                    skip -= chunk.count
                }
                continue
            }
            guard magic == frameMagic else { throw damaged("not an LZ4 frame") }
            let descriptor = try readExactly(2, "truncated frame header")
            let flags = descriptor[0]
            guard flags >> 6 == 1 else { throw damaged("unsupported LZ4 frame version") }
            let blockChecksum = flags & 0x10 != 0
            let contentChecksum = flags & 0x04 != 0
            let maxBlockSize = 1 << (8 + 2 * Int((descriptor[1] >> 4) & 0x7))
            var declaredSize: UInt64?
            if flags & 0x08 != 0 {
                let sizeBytes = try readExactly(8, "truncated frame header")
                declaredSize = (0..<8).reduce(UInt64(0)) { $0 | UInt64(sizeBytes[$1]) << (8 * $1) }
            }
            _ = try readExactly((flags & 0x01 != 0 ? 4 : 0) + 1, "truncated frame header")  // dictionary id, header checksum
            window.removeAll(keepingCapacity: true)
            var frameSize: UInt64 = 0
            while true {
                let word = readLE32(try readExactly(4, "truncated: the end mark is missing"), 0)
                if word == 0 { break }
                let size = Int(word & 0x7FFF_FFFF)
                guard size <= maxBlockSize else { throw damaged("truncated block") }
                let block = try readExactly(size, "truncated block")
                let start = window.count
                if word & 0x8000_0000 != 0 {
                    window.append(contentsOf: block)
                } else {
                    try decodeBlock(block, 0..<size, into: &window, maxOutput: maxBlockSize)
                }
                total += window.count - start
                frameSize += UInt64(window.count - start)
                guard total <= limit else { throw damaged("it decodes to more than \(limit) bytes") }
                var failure: ProbeError?
                window.withUnsafeBufferPointer { all in
                    do throws(ProbeError) { try emit(UnsafeBufferPointer(rebasing: all[start...])) } catch { failure = error }
                }
                if let failure { throw failure }
                if blockChecksum { _ = try readExactly(4, "truncated block") }
                if window.count > windowSize { window.removeFirst(window.count - windowSize) }
            }
            if let declaredSize, declaredSize != frameSize {
                throw damaged("the frame decodes to \(frameSize) bytes but its header says \(declaredSize)")
            }
            if contentChecksum { _ = try readExactly(4, "truncated content checksum") }
        }
    }

    private static func damaged(_ reason: String) -> ProbeError {
        .malformed(path: "LZ4 data", reason: reason)
    }

    private static func readLE32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    /// Decodes one block, appending to `output` (earlier output is the window for linked blocks).
    private static func decodeBlock(
        _ input: [UInt8], _ range: Range<Int>, into output: inout [UInt8],
        maxOutput: Int
    ) throws(ProbeError) {
        let outStart = output.count
        output.append(contentsOf: repeatElement(0, count: maxOutput))
        var failure: String?
        let written: Int = input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dstAll in
                let dst = dstAll.baseAddress!
                var ip = range.lowerBound
                let iend = range.upperBound
                var op = outStart
                let oend = outStart + maxOutput
                while ip < iend {
                    let token = Int(src[ip])
                    ip += 1
                    var literal = token >> 4
                    if literal == 15 {
                        while true {
                            guard ip < iend else {
                                failure = "literal length runs past the block"
                                return op
                            }
                            let b = Int(src[ip])
                            ip += 1
                            literal += b
                            if b != 255 { break }
                        }
                    }
                    guard literal <= iend - ip, literal <= oend - op else {
                        failure = "literal runs past the block"
                        return op
                    }
                    (dst + op).update(from: src.baseAddress! + ip, count: literal)
                    ip += literal
                    op += literal
                    if ip >= iend { break }
                    guard iend - ip >= 2 else {
                        failure = "truncated match offset"
                        return op
                    }
                    let offset = Int(src[ip]) | Int(src[ip + 1]) << 8
                    ip += 2
                    guard offset > 0, offset <= op else {
                        failure = "match offset outside the window"
                        return op
                    }
                    var match = (token & 15) + 4
                    if token & 15 == 15 {
                        while true {
                            guard ip < iend else {
                                failure = "match length runs past the block"
                                return op
                            }
                            let b = Int(src[ip])
                            ip += 1
                            match += b
                            if b != 255 { break }
                        }
                    }
                    guard match <= oend - op else {
                        failure = "match runs past the block"
                        return op
                    }
                    var from = op - offset
                    if offset >= match {
                        (dst + op).update(from: dst + from, count: match)
                        op += match
                    } else {
                        for _ in 0..<match {
                            dst[op] = dst[from]
                            op += 1
                            from += 1
                        }
                    }
                }
                return op
            }
        }
        if let failure { throw damaged(failure) }
        output.removeSubrange(written...)
    }
}
