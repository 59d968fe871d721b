import PostureTransparency
import Testing

/// Known-answer vectors copied from other implementations: they show the formats are the real ones.
@Suite("Known-answer vectors")
struct KnownAnswerTests {
    // MARK: RFC 6962 hashing and the 8-leaf tree
    // Source: transparency-dev/merkle, rfc6962/rfc6962_test.go (TestRFC6962Hasher).

    @Test("RFC 6962 hasher vectors")
    func hasher() throws {
        #expect(Hash.emptyTree.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hash.leaf([]).hex == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        #expect(Hash.leaf(Array("L123456".utf8)).hex == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    }

    // Source: transparency-dev/merkle, proof/verify_test.go (leaves, roots, inclusionProofs,
    // consistencyProofs); the same vectors as google/certificate-transparency's merkle tree tests.
    static let leaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(hexBytes)
    static let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    ]

    static func standardLog() -> MemoryNodeStore {
        var log = MemoryNodeStore()
        for leaf in leaves { log.append(entry: leaf) }
        return log
    }

    @Test("roots of the 8-leaf test tree, sizes 1 to 8")
    func roots() throws {
        let log = Self.standardLog()
        for size in 1...8 { #expect(try log.root(treeSize: size).hex == Self.roots[size - 1], "size \(size)") }
    }

    /// (1-based leaf, tree size, proof), as in the source.
    static let inclusionVectors: [(Int, Int, [String])] = [
        (1, 1, []),
        (
            1, 8,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
            ]
        ),
        (
            6, 8,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
            ]
        ),
        (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            2, 5,
            [
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
            ]
        )
    ]

    @Test("inclusion proofs of the 8-leaf test tree", arguments: inclusionVectors)
    func inclusion(leaf: Int, size: Int, expected: [String]) throws {
        let log = Self.standardLog()
        let proof = try log.inclusionProof(index: leaf - 1, treeSize: size)
        #expect(proof.map(\.hex) == expected)
        let root = try Hash(hex: Self.roots[size - 1])
        let leafHash = Hash.leaf(Self.leaves[leaf - 1])
        #expect(try MerkleTree.rootFromInclusionProof(leafHash: leafHash, index: leaf - 1, treeSize: size, proof: proof) == root)
        try MerkleTree.verifyInclusion(leafHash: leafHash, index: leaf - 1, treeSize: size, proof: expected.map { try Hash(hex: $0) }, root: root)
    }

    /// (old size, new size, proof), as in the source.
    static let consistencyVectors: [(Int, Int, [String])] = [
        (1, 1, []),
        (
            1, 8,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
            ]
        ),
        (
            6, 8,
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
            ]
        ),
        (
            2, 5,
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
            ]
        ),
        (
            6, 7,
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
            ]
        )
    ]

    @Test("consistency proofs of the 8-leaf test tree", arguments: consistencyVectors)
    func consistency(oldSize: Int, newSize: Int, expected: [String]) throws {
        let log = Self.standardLog()
        let proof = try log.consistencyProof(oldSize: oldSize, newSize: newSize)
        #expect(proof.map(\.hex) == expected)
        try MerkleTree.verifyConsistency(
            oldSize: oldSize, newSize: newSize, oldRoot: Hash(hex: Self.roots[oldSize - 1]), newRoot: Hash(hex: Self.roots[newSize - 1]),
            proof: expected.map { try Hash(hex: $0) })
    }

    // MARK: A real Certificate Transparency log
    // Source: golang/mod, sumdb/tlog/ct_test.go and sumdb/tlog/testdata/argon2020/{sth,entries,proof,consistency}.json:
    // Google's Argon 2020 log's get-sth, get-entries?start=10000&end=10000, get-proof-by-hash and
    // get-sth-consistency?first=3654490 responses.

    static let argonSize = 961_984_013
    static let argonRoot = "dwlueapdd7LaOEnX2W2Wp9v2XE+KzejHRQGHwEx0oaM="
    static let argonLeaf10000 =
        "AAAAAAFelPhqUwAAAAViMIIFXjCCBEagAwIBAgIRAOodHzZdqWIFzYyl/SovhCMwDQYJKoZIhvcNAQELBQAwgZAxCzAJBgNVBAYTAkdCMRswGQYDVQQIExJHcmVhdGVyIE1hbmNoZXN0ZXIxEDAOBgNVBAcTB1NhbGZvcmQxGjAYBgNVBAoTEUNPTU9ETyBDQSBMaW1pdGVkMTYwNAYDVQQDEy1DT01PRE8gUlNBIERvbWFpbiBWYWxpZGF0aW9uIFNlY3VyZSBTZXJ2ZXIgQ0EwHhcNMTcwMjE1MDAwMDAwWhcNMjAwNDE2MjM1OTU5WjBfMSEwHwYDVQQLExhEb21haW4gQ29udHJvbCBWYWxpZGF0ZWQxHTAbBgNVBAsTFFBvc2l0aXZlU1NMIFdpbGRjYXJkMRswGQYDVQQDDBIqLmxhbmRsb3Jkcy5jb20uYXUwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCtPBKKHj4zdrGlCjgTHzb5gx9JCs97DwvBz60f14gDufF2haWbOxyJ0a3opAMsZnOr8HkARVCwxdqG/PTfACcb0QM7FOlzvxGqxataTYiChwvkkif8F9GlJw69HuHgzhusPf1Ytfk3ps1PRC14MkyrS4kwPrk/Le4XdkqRpRw62wG4V6IkbzsNMEOl1H8EgUbfyapdOcVxHjIzvBVy56fBRKG05Fr5wNq3Acak5kYZdNsLhhmlrqAfAjiombW3hb3V5blJdRC0BDdYHv2+zKey6LqJ1FDoXo6IzbzPpC+aifZy47YX+/N1U64Qn5xlDg7mOP8JXfkNJHbU1TJZHif5AgMBAAGjggHhMIIB3TAfBgNVHSMEGDAWgBSQr2o6lFoL2JDqElZz30O0Oija5zAdBgNVHQ4EFgQUNQSLjkoz01I+iuuoC5lgEp0anhcwDgYDVR0PAQH/BAQDAgWgMAwGA1UdEwEB/wQCMAAwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCME8GA1UdIARIMEYwOgYLKwYBBAGyMQECAgcwKzApBggrBgEFBQcCARYdaHR0cHM6Ly9zZWN1cmUuY29tb2RvLmNvbS9DUFMwCAYGZ4EMAQIBMFQGA1UdHwRNMEswSaBHoEWGQ2h0dHA6Ly9jcmwuY29tb2RvY2EuY29tL0NPTU9ET1JTQURvbWFpblZhbGlkYXRpb25TZWN1cmVTZXJ2ZXJDQS5jcmwwgYUGCCsGAQUFBwEBBHkwdzBPBggrBgEFBQcwAoZDaHR0cDovL2NydC5jb21vZG9jYS5jb20vQ09NT0RPUlNBRG9tYWluVmFsaWRhdGlvblNlY3VyZVNlcnZlckNBLmNydDAkBggrBgEFBQcwAYYYaHR0cDovL29jc3AuY29tb2RvY2EuY29tMC8GA1UdEQQoMCaCEioubGFuZGxvcmRzLmNvbS5hdYIQbGFuZGxvcmRzLmNvbS5hdTANBgkqhkiG9w0BAQsFAAOCAQEACyHqxUzrexToY7tOv4+kyGPP2D27P1tQpyzeAl1bPObiMhNK2b9vvBLDWAaqm8c0YL1h+DBdLoWzf3xFsIkTCVCjWJTNSNlcYtgRk6or1s7jWsfXzWqsnPjPPmTIOCw7EfH7Yme3oxPs3UUsmShAgPwNohAtL9GqlqMiKM6v1WU3NHt01jEoNP23LRa6KeNK6AH6WHJykzL223IlhgXjHTeuQj6lR+TNrQXJuhwTXYe+20rrpPQxc1Pn7AqnvfWgmicRQ7gdIcr4V6+ecTvLfNOaJ0ZYe5G5giuAAdTm7F57pk04f4gyZNYKrj88mvbkoriN8b6jcWExtrYO6bm2TwAA"
    static let argonAuditPath = [
        "T46AmJsuOM/gFiGlUp+IJJebp+1Z5qratFNW7U0JyOQ=", "9Jj1Feodn42uRYEfffkV4HF/EIPFQ5Zo9IwkxbQ2uhk=",
        "D53/1oCNebF4J59HHgioovKZxrmrKcVuCVhy3Izg8Ck=", "wSFDgGSrsXRPA+1c8WHoAFCsWeUv8NDyP/Q/SgsyVyY=",
        "516/RcwsgdwdzHn18v1dJHqBkgFUbNhmCIWOGjsMJaE=", "naTFY2ajLFgrgs5XUl+zJYZnnlJksLGsA1VYwpLfqbY=",
        "mKBRJo6qao+0Kdh/rhGkZUbHUAxMhrtrclrTpIbNjIg=", "Co4ueOFE7lpifLio94irxxsv1wFMMaK3tPu2ZQkHlro=",
        "yRgy800K6JMYCC05sWfqF2kvCg2riT/pVM+nEa6V5+0=", "n2O38XJZC8/Wpbwi9HhgVizlUyeUHVZvYyQB1607MRc=",
        "go3tAjuNfNSCj87y2Rg1xOroDknGN1eaf3cgvzObf7Q=", "8D0Mj3/J7ySSnFb0afIHYXv6rlOhECnsebY6XKi1IR8=",
        "6rcez46ZU8M5vPiWVMAUfJfAOV0pPP/mch/lYzZhj/M=", "2rtIeXrPvSdUyHc5maIgSAVB2BzaKaupWxSAiVayDE4=",
        "nniW/IMFQPN5xw8UsHFn7CRStYbm1gLu7NNa6kkRqJQ=", "mRPPi7sQS22MduIEyvcNzCNFqIt6kLwYPkNKrVtIcu8=",
        "JvTivzESNS9wHI8aph5a7uieVmtS/p9PciMZ5D6GyOo=", "UTyQd+Ym0wY4zG+qK806bBORwi1CSVvFQ/KknnqoZj8=",
        "hXODrqN+ff+U6zPqRQ+ZQKs6im1fPcxIerDSfNwflhE=", "II6GE+WY/DrpZzfHztLwkR46o37zVkNLCyPYlf68zA0=",
        "d609kWWcNBllbA8Jb/ad4XAVVGnScLRmtP8FYyr+Dck=", "rikBsP0G0gioXRpBFED2CzQdSLrGPvRd0bEcbEZw1rI=",
        "GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=", "pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=",
        "f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=", "WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=",
        "f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=", "NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=",
        "C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=", "nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc="
    ]
    static let argonOldSize = 3_654_490
    static let argonOldRoot = "AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ="
    static let argonConsistency = [
        "80Sfbj6UQEdVSZCSIgh9NMPj3vCBzcc1A48B2crJSWg=", "FZcrgAHUk6nNPviJZq8kEK6jCG1d18pJOFE45ZDc1TQ=",
        "Q67reWXmPBo1UfmwBap4Xi9PMPfFdUSSw3WGlRZdG7k=", "eJ7CyhR4PxzBxDIsWgrVYW1eFUb9ndgf46tFmiqVrxA=",
        "QrDwp062Grm5WY8KdrhFsBuuNjGzRox2Jb8PmVL5OYw=", "XM4YMjMEdLH/XJam/ZWyaP14k3cmsOtnPsOWQ54lW1s=",
        "SGiBh+jOTGccXU48ZzgQ88lRcBmtB4wz4oSDndv2QTg=", "WAS6txqNLYKGL1GdBdpqmV42TTfn6cJsuDsqLXuTCNI=",
        "QFmRS0rirUA7ZN3lxFjDncV+E1OCrn3NUB4RCp+5fzc=", "Hdbp7It2XBNZmNDBpCN/KPd7vfVqxgzwOosqVIaEA9E=",
        "mxvHL0ZiblBdD7j7pIa1jlfB0gSqfJ6oX0UGo7L0VsU=", "q5hjyvoW6TL/PThgcitpDcSTrnKX2p1+aqscqH2euRA=",
        "jTOWDqt3IHj2NVFeezyBz2ofpru+ztEywqKUAfFclKI=", "GIRn0w3HqJdvU9j1WVD//eR6lk2AaTVjyzjsJNP8U88=",
        "x52GJvxG81fnQBrgOTbll1A5tz95/LXK0Ag1NhB0r1I=", "6/0OqrcTgc3o5dD5PymmoC96lB9yLPFuTHVvLy8fSGk=",
        "Gf+iKLfcXO5l4JEFmsZvSdG5q1uEeWPfYLrds6pmjz0=", "DGuaco+McyM3AfRSF6qX7RwSetwe2ieYJmxw5e9rVx0=",
        "2tQJ9V32hnYp+fdpP6TcjmgJmLeNVOMKM0Ml1kk4cNU=", "3PapK+IkyJr8I9yAErAmzuZezzLMzsg+PfeRCgNW8NQ=",
        "s6xiYeejb+wtqHA+URJZ2I/SCPyIW8coP6aB00FJbMY=", "z9lSpmdTcr5M5ZzKlc4EPh3SrSypKFdk6JUF/UccaZU=",
        "GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=", "pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=",
        "f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=", "WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=",
        "f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=", "NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=",
        "C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=", "nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc="
    ]

    @Test("a real CT inclusion proof: leaf 10000 of Argon 2020 at size 961984013")
    func argonInclusion() throws {
        let leafHash = Hash.leaf(base64Bytes(Self.argonLeaf10000))
        let proof = try Self.argonAuditPath.map { try Hash(base64: $0) }
        let root = try Hash(base64: Self.argonRoot)
        try MerkleTree.verifyInclusion(leafHash: leafHash, index: 10_000, treeSize: Self.argonSize, proof: proof, root: root)
        #expect(throws: (any Error).self) {
            try MerkleTree.verifyInclusion(leafHash: leafHash, index: 10_001, treeSize: Self.argonSize, proof: proof, root: root)
        }
    }

    @Test("a real CT consistency proof: Argon 2020 from 3654490 to 961984013")
    func argonConsistency() throws {
        let proof = try Self.argonConsistency.map { try Hash(base64: $0) }
        let oldRoot = try Hash(base64: Self.argonOldRoot)
        let newRoot = try Hash(base64: Self.argonRoot)
        try MerkleTree.verifyConsistency(oldSize: Self.argonOldSize, newSize: Self.argonSize, oldRoot: oldRoot, newRoot: newRoot, proof: proof)
        var swapped = proof
        swapped.swapAt(0, 1)
        #expect(throws: (any Error).self) {
            try MerkleTree.verifyConsistency(oldSize: Self.argonOldSize, newSize: Self.argonSize, oldRoot: oldRoot, newRoot: newRoot, proof: swapped)
        }
    }

    // MARK: Signed notes
    // Source: golang/mod, sumdb/note/note_test.go (TestNewVerifier, TestNewSigner, TestSign, TestOpen)
    // and the package documentation in sumdb/note/note.go.

    static let peterVerifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let peterSignerKey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let enochVerifierKey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
    static let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let peterSignature =
        "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    static let enochSignature =
        "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

    @Test("the PeterNeumann and EnochRoot keys parse, with their key hashes")
    func noteKeys() throws {
        let peter = try NoteVerifier(verifierKey: Self.peterVerifierKey)
        #expect(peter.name == "PeterNeumann")
        #expect(peter.keyHash == 0xc74f_20a3)
        #expect(peter.verifierKey == Self.peterVerifierKey)
        #expect(try NoteVerifier(verifierKey: Self.enochVerifierKey).keyHash == 0xaf0c_fe78)
        let signer = try NoteSigner(signerKey: Self.peterSignerKey)
        #expect(signer.verifier == peter)
        #expect(signer.signerKey == Self.peterSignerKey)
        #expect(try NoteVerifier(name: "PeterNeumann", publicKey: peter.publicKey).keyHash == 0xc74f_20a3)
    }

    @Test("signing the PeterNeumann note gives the known note, byte for byte")
    func signKnownNote() throws {
        let signer = try NoteSigner(signerKey: Self.peterSignerKey)
        let note = try signer.sign(text: Self.text)
        let expected = Self.text + "\n" + Self.peterSignature
        #if canImport(Darwin)
            // CryptoKit randomises Ed25519 signatures; check the known signature verifies instead.
            #expect(try SignedNote(parsing: expected).verifiedSignatures(by: [signer.verifier]).count == 1)
        #else
            #expect(note.serialized == expected)
        #endif
        #expect(try note.verifiedSignatures(by: [signer.verifier]).map(\.name) == ["PeterNeumann"])
        // Signing again replaces the key's signature rather than adding one.
        #expect(try signer.sign(note).signatures.count == 1)
    }

    @Test("opening the doubly signed note: unknown keys are kept and ignored")
    func openKnownNote() throws {
        let peter = try NoteVerifier(verifierKey: Self.peterVerifierKey)
        let enoch = try NoteVerifier(verifierKey: Self.enochVerifierKey)
        let note = try SignedNote(parsing: Self.text + "\n" + Self.peterSignature + Self.enochSignature)
        #expect(note.text == Self.text)
        #expect(note.signatures.map(\.name) == ["PeterNeumann", "EnochRoot"])
        #expect(note.signatures.map(\.keyHash) == [0xc74f_20a3, 0xaf0c_fe78])
        #expect(note.serialized == Self.text + "\n" + Self.peterSignature + Self.enochSignature)
        #expect(try note.verifiedSignatures(by: [peter]).map(\.name) == ["PeterNeumann"])
        #expect(try note.verifiedSignatures(by: [peter, enoch]).map(\.name) == ["PeterNeumann", "EnochRoot"])
        #expect(throws: NoteError.noVerifiedSignature(knownKeys: [])) { _ = try note.verifiedSignatures(by: []) }
        // Duplicated lines of a verified key count once.
        let doubled = try SignedNote(parsing: Self.text + "\n" + Self.peterSignature + Self.peterSignature + Self.enochSignature)
        #expect(try doubled.verifiedSignatures(by: [peter]).count == 1)
    }

    @Test("the note test's malformed messages are rejected")
    func malformedKnownNotes() throws {
        let peter = try NoteVerifier(verifierKey: Self.peterVerifierKey)
        let text = Array(Self.text.utf8)
        let signature = Array(Self.peterSignature.utf8)
        let bad: [[UInt8]] = [
            text,
            text + [0x0A],
            text + [0x0A] + signature.dropLast(),
            [0x01] + text + [0x0A] + signature,
            [0xFF] + text + [0x0A] + signature,
            text + [0x0A] + Array("— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=".utf8),
            text + [0x0A] + signature + Array("Unexpected line.\n".utf8)
        ]
        for message in bad {
            #expect(throws: NoteError.self, "\(String(decoding: message, as: UTF8.self))") { _ = try SignedNote(parsing: message) }
        }
        #expect(throws: NoteError.tooManySignatures(limit: 100)) { _ = try SignedNote(parsing: message101()) }
        // A signature altered inside its base64 (still valid base64) fails for the known key.
        let altered = text + [0x0A] + signature[..<60] + Array("ABCD".utf8) + signature[60...]
        let note = try SignedNote(parsing: altered)
        #expect(throws: NoteError.invalidSignature(name: "PeterNeumann", keyHash: 0xc74f_20a3)) { _ = try note.verifiedSignatures(by: [peter]) }
    }

    private func message101() -> String {
        Self.text + "\n" + String(repeating: Self.peterSignature, count: 101)
    }

    @Test("every proper substring and every one-byte change of the verifier and signer keys is rejected")
    func keyManglings() {
        for (key, parse) in [
            (Self.peterVerifierKey, { (text: String) in (try? NoteVerifier(verifierKey: text)) != nil }),
            (Self.peterSignerKey, { (text: String) in (try? NoteSigner(signerKey: text)) != nil })
        ] {
            let bytes = Array(key.utf8)
            #expect(parse(key))
            for start in 0..<bytes.count {
                for end in (start + 1)...bytes.count where start != 0 || end != bytes.count {
                    #expect(!parse(String(decoding: bytes[start..<end], as: UTF8.self)), "substring \(start)..<\(end)")
                }
            }
            for index in bytes.indices {
                var changed = bytes
                changed[index] &+= 1
                #expect(!parse(String(decoding: changed, as: UTF8.self)), "byte \(index) changed")
            }
        }
        // Wrong key length and unknown algorithm, each with an adjusted key hash.
        #expect(throws: NoteError.self) { _ = try NoteVerifier(verifierKey: "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==") }
        #expect(throws: NoteError.unsupportedKeyType(found: 0x65, expected: 0x01)) {
            _ = try NoteVerifier(verifierKey: "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
        }
    }

    // Source: C2SP/C2SP signed-note.md (the example note: its text has an empty line).
    @Test("the signed-note spec example: the text ends at the last blank line")
    func specNote() throws {
        let text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
        let line = "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
        let note = try SignedNote(parsing: text + "\n" + line)
        #expect(note.text == text)
        #expect(
            note.signatures == [
                NoteSignature(
                    name: "quasimodo.example/salvatore", keyHash: 0x367b_a04b, signature: Array(base64Bytes(String(line.dropFirst(30).dropLast())).dropFirst(4))
                )
            ])
        #expect(note.serialized == text + "\n" + line)
    }

    // MARK: Checkpoints and cosignatures
    // Source: C2SP/C2SP tlog-checkpoint.md and tlog-cosignature.md (the example cosigned checkpoint,
    // whose signed message shows "time 1679315147").

    static let specCheckpoint = """
        example.com/behind-the-sofa
        20852163
        CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

        — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
        — witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==

        """

    @Test("the tlog-cosignature spec example parses: checkpoint fields, key IDs, the cosignature's timestamp")
    func specCheckpointExample() throws {
        let note = try SignedNote(parsing: Self.specCheckpoint)
        let checkpoint = try Checkpoint(parsing: note.text)
        #expect(checkpoint.origin == "example.com/behind-the-sofa")
        #expect(checkpoint.size == 20_852_163)
        #expect(checkpoint.root.base64 == "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
        #expect(checkpoint.body == note.text)
        #expect(note.signatures.map(\.keyHash) == [0x033d_e0ae, 0x8d66_cf3f])
        #expect(note.signatures[0].signature.count == 64)
        #expect(try Cosignature.timestamp(of: note.signatures[1]) == 1_679_315_147)
        #expect(
            String(decoding: Cosignature.signedMessage(body: note.text, timestamp: 1_679_315_147), as: UTF8.self)
                == "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
        #expect(note.serialized == Self.specCheckpoint)
    }

    // Source: transparency-dev/formats, note/note_cosigv1_test.go (TestCoSigV1NewVerifier, TestCoSigV1Timestamp).
    @Test("cosignature key IDs and timestamps from transparency-dev/formats")
    func cosignatureVectors() throws {
        let witness = try CosignatureVerifier(verifierKey: "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
        #expect(witness.keyHash == 0xda77_ade7)
        #expect(witness.verifierKey == "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
        let ed25519Key = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
        #expect(try NoteVerifier(verifierKey: ed25519Key).keyHash == 0x7997_405c)
        #expect(throws: NoteError.unsupportedKeyType(found: 0x01, expected: 0x04)) { _ = try CosignatureVerifier(verifierKey: ed25519Key) }

        let works = try SignedNote(
            parsing: "x\n\n— w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==\n")
        #expect(try Cosignature.timestamp(of: works.signatures[0]) == 1_727_964_367)
        let wrongType = try SignedNote(parsing: "x\n\n— w eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=\n")
        #expect(caseName(caught { _ = try Cosignature.timestamp(of: wrongType.signatures[0]) }) == "malformedCosignature")
    }

    // Source: transparency-dev/formats, log/checkpoint_test.go (TestUnmarshalLogState invalid cases).
    @Test(
        "malformed checkpoint bodies from transparency-dev/formats are rejected",
        arguments: [
            "Head\n9944\n",
            "\n9944\ndGhlIHZpZXcgZnJvbSB0aGUgdHJlZSB0b3BzIGlzIGdyZWF0IQ==\n",
            "Log\n123\nYmFuYW5hcw==",
            "Log\nbananas\ndGhlIHZpZXcgZnJvbSB0aGUgdHJlZSB0b3BzIGlzIGdyZWF0IQ==\n",
            "Log\n-34\ndGhlIHZpZXcgZnJvbSB0aGUgdHJlZSB0b3BzIGlzIGdyZWF0IQ==\n",
            "Log\n3438945738945739845734895735\ndGhlIHZpZXcgZnJvbSB0aGUgdHJlZSB0b3BzIGlzIGdyZWF0IQ==\n",
            "Log\n123\nThisIsn'tBase64\n"
        ])
    func formatsCheckpoints(body: String) {
        #expect(throws: (any Error).self) { _ = try Checkpoint(parsing: body) }
    }
}
