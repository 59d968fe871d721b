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
        while position < input.count {
            guard input.count - position >= 4 else { throw damaged("trailing bytes after the last frame") }
            let magic = readLE32(input, position)
            if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
                guard input.count - position >= 8 else { throw damaged("truncated skippable frame") }
                position += 8 + Int(readLE32(input, position + 4))
                continue
            }
            guard magic == frameMagic else { throw damaged("not an LZ4 frame") }
            position = try decodeFrame(input, from: position + 4, into: &output, limit: limit)
        }
        return output
    }

    private static func damaged(_ reason: String) -> ProbeError {
        .malformed(path: "LZ4 data", reason: reason)
    }

    private static func readLE32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    private static func decodeFrame(_ input: [UInt8], from start: Int, into output: inout [UInt8], limit: Int) throws(ProbeError) -> Int {
        var position = start
        guard input.count - position >= 3 else { throw damaged("truncated frame header") }
        let flags = input[position]
        let blockDescriptor = input[position + 1]
        guard flags >> 6 == 1 else { throw damaged("unsupported LZ4 frame version") }
        let blockChecksum = flags & 0x10 != 0
        let contentSize = flags & 0x08 != 0
        let contentChecksum = flags & 0x04 != 0
        let dictionary = flags & 0x01 != 0
        let maxBlockSize = 1 << (8 + 2 * Int((blockDescriptor >> 4) & 0x7))
        position += 2
        let frameStart = output.count
        var declaredSize: UInt64?
        if contentSize {
            guard input.count - position >= 8 else { throw damaged("truncated frame header") }
            var size: UInt64 = 0
            for i in 0..<8 { size |= UInt64(input[position + i]) << (8 * i) }
            declaredSize = size
            // The header's size is only a hint for the allocation: a frame cannot decode to more
            // than 255 times its own bytes, nor past the limit, whatever the header claims.
            if size > 0, size <= UInt64(limit - output.count), size / 255 <= UInt64(input.count - position) {
                output.reserveCapacity(output.count + Int(size))
            }
            position += 8
        }
        if dictionary { position += 4 }
        position += 1  // header checksum
        while true {
            guard input.count - position >= 4 else { throw damaged("truncated: the end mark is missing") }
            let word = readLE32(input, position)
            position += 4
            if word == 0 { break }
            let size = Int(word & 0x7FFF_FFFF)
            guard size <= maxBlockSize, input.count - position >= size else { throw damaged("truncated block") }
            if word & 0x8000_0000 != 0 {
                output.append(contentsOf: input[position..<(position + size)])
            } else {
                try decodeBlock(input, position..<(position + size), into: &output, maxOutput: maxBlockSize)
            }
            guard output.count <= limit else { throw damaged("it decodes to more than \(limit) bytes") }
            position += size + (blockChecksum ? 4 : 0)
        }
        if let declaredSize, declaredSize != UInt64(output.count - frameStart) {
            throw damaged("the frame decodes to \(output.count - frameStart) bytes but its header says \(declaredSize)")
        }
        if contentChecksum { position += 4 }
        guard position <= input.count else { throw damaged("truncated content checksum") }
        return position
    }

    /// Decodes one block, appending to `output` (earlier output is the window for linked blocks).
    private static func decodeBlock(_ input: [UInt8], _ range: Range<Int>, into output: inout [UInt8],
                                    maxOutput: Int) throws(ProbeError) {
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
                    let token = Int(src[ip]); ip += 1
                    var literal = token >> 4
                    if literal == 15 {
                        while true {
                            guard ip < iend else { failure = "literal length runs past the block"; return op }
                            let b = Int(src[ip]); ip += 1
                            literal += b
                            if b != 255 { break }
                        }
                    }
                    guard literal <= iend - ip, literal <= oend - op else { failure = "literal runs past the block"; return op }
                    (dst + op).update(from: src.baseAddress! + ip, count: literal)
                    ip += literal
                    op += literal
                    if ip >= iend { break }
                    guard iend - ip >= 2 else { failure = "truncated match offset"; return op }
                    let offset = Int(src[ip]) | Int(src[ip + 1]) << 8
                    ip += 2
                    guard offset > 0, offset <= op else { failure = "match offset outside the window"; return op }
                    var match = (token & 15) + 4
                    if token & 15 == 15 {
                        while true {
                            guard ip < iend else { failure = "match length runs past the block"; return op }
                            let b = Int(src[ip]); ip += 1
                            match += b
                            if b != 255 { break }
                        }
                    }
                    guard match <= oend - op else { failure = "match runs past the block"; return op }
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
