import PostureTransparency
import Testing

/// Proof verification rejects every corrupted proof, with the error that says why.
@Suite("Proof verification")
struct ProofVerificationTests {
    static let someHash = try! Hash(hex: "abacaba000000000000000000000000000000000000000000060061e00123456")

    /// Corruptions in the style of transparency-dev/merkle proof/verify_test.go corruptInclusionProof.
    @Test("corrupted inclusion proofs are rejected", arguments: [(0, 1), (0, 2), (1, 8), (6, 8), (2, 3), (1, 5), (500, 1000), (1999, 2000), (1023, 1024)])
    func corruptedInclusion(index: Int, size: Int) throws {
        let root = try log2000.root(treeSize: size)
        let proof = try log2000.inclusionProof(index: index, treeSize: size)
        let leaf = Hash.leaf(entry(index))
        func rejected(_ index: Int, _ size: Int, _ leaf: Hash, _ proof: [Hash], _ root: Hash) -> ProofVerificationError? {
            caught { () throws(ProofVerificationError) in
                try MerkleTree.verifyInclusion(leafHash: leaf, index: index, treeSize: size, proof: proof, root: root)
            }
        }
        #expect(rejected(index, size, leaf, proof, root) == nil)
        var probes: [(String, ProofVerificationError?)] = [
            ("index - 1", rejected(index - 1, size, leaf, proof, root)),
            ("index + 1", rejected(index + 1, size, leaf, proof, root)),
            ("index ^ 2", rejected(index ^ 2, size, leaf, proof, root)),
            ("size * 2", rejected(index, size * 2, leaf, proof, root)),
            ("size / 2", rejected(index, size / 2, leaf, proof, root)),
            ("edited leaf", rejected(index, size, .leaf(entry(index) + [0]), proof, root)),
            ("empty root", rejected(index, size, leaf, proof, .emptyTree)),
            ("random root", rejected(index, size, leaf, proof, Self.someHash)),
            ("trailing root", rejected(index, size, leaf, proof + [root], root)),
            ("preceding root", rejected(index, size, leaf, [root] + proof, root))
        ]
        for position in proof.indices {
            var flipped = proof[position].bytes
            flipped[0] ^= 8
            var modified = proof
            modified[position] = Hash(flipped)
            probes.append(("modified proof[\(position)]", rejected(index, size, leaf, modified, root)))
        }
        if !proof.isEmpty { probes.append(("removed component", rejected(index, size, leaf, proof.dropLast(), root))) }
        if proof.count > 1 {
            probes.append(("inserted component", rejected(index, size, leaf, [proof[0], Self.someHash] + proof.dropFirst(), root)))
            var swapped = proof
            swapped.swapAt(0, 1)
            #expect(caseName(rejected(index, size, leaf, swapped, root)) == "rootMismatch", "swapped proof elements")
        }
        for (name, error) in probes { #expect(error != nil, "\(name) verified") }
        #expect(caseName(rejected(index, size, .leaf(entry(index) + [0]), proof, root)) == "rootMismatch")
        #expect(rejected(index, size, leaf, proof + [root], root) == .wrongProofLength(expected: proof.count, actual: proof.count + 1))
        #expect(rejected(size, size, leaf, proof, root) == .indexOutOfRange(index: size, treeSize: size))
    }

    /// Corruptions in the style of transparency-dev/merkle proof/verify_test.go corruptConsistencyProof.
    @Test("corrupted consistency proofs are rejected", arguments: [(1, 2), (1, 8), (6, 8), (2, 5), (6, 7), (3, 1000), (1024, 2000), (1000, 1999)])
    func corruptedConsistency(oldSize: Int, newSize: Int) throws {
        let oldRoot = try log2000.root(treeSize: oldSize)
        let newRoot = try log2000.root(treeSize: newSize)
        let proof = try log2000.consistencyProof(oldSize: oldSize, newSize: newSize)
        func rejected(_ m: Int, _ n: Int, _ oldRoot: Hash, _ newRoot: Hash, _ proof: [Hash]) -> ProofVerificationError? {
            caught { () throws(ProofVerificationError) in
                try MerkleTree.verifyConsistency(oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: newRoot, proof: proof)
            }
        }
        #expect(rejected(oldSize, newSize, oldRoot, newRoot, proof) == nil)
        var probes: [(String, ProofVerificationError?)] = [
            ("size1 - 1", rejected(oldSize - 1, newSize, oldRoot, newRoot, proof)),
            ("size1 + 1", rejected(oldSize + 1, newSize, oldRoot, newRoot, proof)),
            ("size1 ^ 2", rejected(oldSize ^ 2, newSize, oldRoot, newRoot, proof)),
            ("size2 * 2", rejected(oldSize, newSize * 2, oldRoot, newRoot, proof)),
            ("size2 / 2", rejected(oldSize, newSize / 2, oldRoot, newRoot, proof)),
            ("wrong root1", rejected(oldSize, newSize, Self.someHash, newRoot, proof)),
            ("wrong root2", rejected(oldSize, newSize, oldRoot, Self.someHash, proof)),
            ("swapped roots", rejected(oldSize, newSize, newRoot, oldRoot, proof)),
            ("empty proof", rejected(oldSize, newSize, oldRoot, newRoot, [])),
            ("trailing root1", rejected(oldSize, newSize, oldRoot, newRoot, proof + [oldRoot])),
            ("trailing root2", rejected(oldSize, newSize, oldRoot, newRoot, proof + [newRoot])),
            ("preceding root1", rejected(oldSize, newSize, oldRoot, newRoot, [oldRoot] + proof)),
            ("preceding proof[0]", rejected(oldSize, newSize, oldRoot, newRoot, [proof[0]] + proof)),
            ("truncated proof", rejected(oldSize, newSize, oldRoot, newRoot, proof.dropLast()))
        ]
        for position in proof.indices {
            var flipped = proof[position].bytes
            flipped[0] ^= 16
            var modified = proof
            modified[position] = Hash(flipped)
            probes.append(("modified proof[\(position)]", rejected(oldSize, newSize, oldRoot, newRoot, modified)))
        }
        if proof.count > 1 {
            var swapped = proof
            swapped.swapAt(proof.count - 2, proof.count - 1)
            probes.append(("swapped elements", rejected(oldSize, newSize, oldRoot, newRoot, swapped)))
        }
        for (name, error) in probes { #expect(error != nil, "\(name) verified") }
        #expect(rejected(newSize, oldSize, newRoot, oldRoot, []) == .sizeShrinks(oldSize: newSize, newSize: oldSize))
        #expect(caseName(rejected(oldSize, newSize, oldRoot, Self.someHash, proof)) == "newRootMismatch")
    }

    @Test("trivial sizes: equal sizes need equal roots, size 0 the empty tree, both an empty proof")
    func trivialConsistency() throws {
        let root = try log2000.root(treeSize: 7)
        let other = try log2000.root(treeSize: 8)
        func verify(_ m: Int, _ n: Int, _ oldRoot: Hash, _ newRoot: Hash, _ proof: [Hash]) -> ProofVerificationError? {
            caught { () throws(ProofVerificationError) in
                try MerkleTree.verifyConsistency(oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: newRoot, proof: proof)
            }
        }
        #expect(verify(7, 7, root, root, []) == nil)
        #expect(verify(0, 0, .emptyTree, .emptyTree, []) == nil)
        #expect(verify(0, 8, .emptyTree, other, []) == nil)
        #expect(verify(7, 7, root, other, []) == .differentRootsForSameSize(size: 7, oldRoot: root, newRoot: other))
        #expect(verify(7, 7, root, root, [root]) == .wrongProofLength(expected: 0, actual: 1))
        #expect(verify(0, 8, .emptyTree, other, [other]) == .wrongProofLength(expected: 0, actual: 1))
        #expect(verify(0, 8, root, other, []) == .oldRootMismatch(expected: root, computed: .emptyTree))
        #expect(verify(1, 0, root, .emptyTree, []) == .sizeShrinks(oldSize: 1, newSize: 0))
        #expect(verify(-1, 0, root, .emptyTree, []) == .invalidTreeSize(-1))
    }

    @Test("a log that removed a leaf cannot prove consistency with its past", arguments: [(3, 10, 20), (0, 8, 9), (15, 16, 40)])
    func removedLeaf(removed: Int, oldSize: Int, newSize: Int) throws {
        // The honest log had entries 0..<oldSize; the rewritten one lacks entry `removed` and grew on.
        var rewritten = MemoryNodeStore()
        for index in 0...newSize where index != removed { rewritten.append(entry: entry(index)) }
        let oldRoot = try log2000.root(treeSize: oldSize)
        let newRoot = try rewritten.root(treeSize: newSize)
        for m in [oldSize, oldSize - 1] where m > 0 {
            let proof = try rewritten.consistencyProof(oldSize: m, newSize: newSize)
            let error = caught { () throws(ProofVerificationError) in
                try MerkleTree.verifyConsistency(oldSize: oldSize, newSize: newSize, oldRoot: oldRoot, newRoot: newRoot, proof: proof)
            }
            #expect(error != nil)
        }
        // Nor prove the removed entry's inclusion.
        let proof = try log2000.inclusionProof(index: removed, treeSize: newSize)
        let error = caught { () throws(ProofVerificationError) in
            try MerkleTree.verifyInclusion(leafHash: .leaf(entry(removed)), index: removed, treeSize: newSize, proof: proof, root: newRoot)
        }
        #expect(caseName(error) == "rootMismatch")
    }

    @Test("proof lengths from the bit formulas equal the generated proofs' for all small sizes")
    func lengths() throws {
        for n in 1...130 {
            for m in 0..<n {
                #expect(
                    MerkleTree.inclusionProofLength(index: m, treeSize: n) == (try MerkleTree.inclusionProof(index: m, treeSize: n, nodes: log2000.nodes)).count
                )
            }
            for m in 0...n {
                #expect(MerkleTree.consistencyProofLength(oldSize: m, newSize: n) == (try log2000.consistencyProof(oldSize: m, newSize: n)).count)
            }
        }
    }
}
