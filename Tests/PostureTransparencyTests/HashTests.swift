import PostureTransparency
import Testing

/// The `Hash` value type and its encodings.
@Suite("Hash")
struct HashTests {
    @Test("hex and base64 round-trip")
    func encodings() throws {
        let hash = Hash.leaf(Array("x".utf8))
        #expect(try Hash(hex: hash.hex) == hash)
        #expect(try Hash(hex: hash.hex.uppercased()) == hash)
        #expect(try Hash(base64: hash.base64) == hash)
        #expect(try Hash(bytes: hash.bytes) == hash)
        #expect(hash.bytes.count == 32)
        #expect(hash.base64.count == 44)
        #expect(hash.description == hash.hex)
        #expect(Set([hash, hash, .emptyTree]).count == 2)
    }

    @Test(
        "invalid encodings are rejected",
        arguments: [
            "", "abc", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555", "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        ])
    func invalidHex(text: String) {
        #expect(throws: HashError.invalidHex(text)) { _ = try Hash(hex: text) }
    }

    @Test(
        "only canonical padded base64 of 32 bytes is a hash",
        arguments: [
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",  // missing padding
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=",  // non-zero trailing bits
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            " 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",  // URL alphabet
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA==",  // 31 bytes
            "YmFuYW5hcw=="
        ])
    func invalidBase64(text: String) {
        #expect(throws: HashError.invalidBase64(text)) { _ = try Hash(base64: text) }
    }

    @Test("the canonical base64 of the empty tree hash")
    func emptyTreeBase64() throws {
        #expect(Hash.emptyTree.base64 == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        #expect(throws: HashError.wrongLength(31)) { _ = try Hash(bytes: [UInt8](repeating: 0, count: 31)) }
    }

    @Test("leaf and node hashes are domain-separated")
    func domainSeparation() {
        let a = Hash.leaf([1])
        let b = Hash.leaf([2])
        #expect(Hash.node(a, b) != Hash.node(b, a))
        #expect(Hash.node(a, b) != Hash.leaf(a.bytes + b.bytes))
        #expect(Hash.leaf([]) != Hash.emptyTree)
    }
}
