extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal, as digests appear in reports and key ids.
    package var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 15)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    /// Whether this is a SHA-256 digest as `hexString` writes it: 64 lower-case hexadecimal digits.
    package var isSHA256Hex: Bool {
        utf8.count == 64 && utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
