import PostureTransparency
import Testing

/// The module's roots and proofs against the RFC 6962 reference, for every size 1...2000.
@Suite("Merkle tree against the RFC 6962 reference")
struct MerkleTreeTests {
    static let sizeChunks = stride(from: 1, through: 2000, by: 250).map { $0..<min($0 + 250, 2001) }

    @Test("roots and inclusion proofs equal the reference and verify", arguments: sizeChunks)
    func rootsAndInclusionProofs(sizes: Range<Int>) throws {
        let reference = ReferenceTree(leaves: (0..<2000).map(entry))
        var random = SplitMix64(state: UInt64(sizes.lowerBound))
        for n in sizes {
            let root = try log2000.root(treeSize: n)
            #expect(root.bytes == reference.mth(0, n), "root of size \(n)")
            #expect(try MerkleTree.nodesForRoot(treeSize: n).count == n.nonzeroBitCount)

            let indices = n <= 64 ? Array(0..<n) : [0, n - 1] + (0..<8).map { _ in Int.random(in: 0..<n, using: &random) }
            for m in indices {
                let nodes = try MerkleTree.nodesForInclusionProof(index: m, treeSize: n)
                #expect(nodes.count <= 2 * (Int.bitWidth - n.leadingZeroBitCount), "O(log n) nodes for PATH(\(m), \(n))")
                let proof = try MerkleTree.inclusionProof(index: m, treeSize: n, nodes: log2000.fetch(nodes))
                #expect(proof.map(\.bytes) == reference.path(m, 0, n), "PATH(\(m), D[\(n)])")
                #expect(proof.count == MerkleTree.inclusionProofLength(index: m, treeSize: n))
                let leaf = Hash.leaf(entry(m))
                #expect(throws: Never.self) { try MerkleTree.verifyInclusion(leafHash: leaf, index: m, treeSize: n, proof: proof, root: root) }
            }
        }
    }

    @Test("consistency proofs for every pair up to 64 equal the reference and verify")
    func consistencyAllSmallPairs() throws {
        let reference = ReferenceTree(leaves: (0..<64).map(entry))
        for n in 1...64 {
            let newRoot = try log2000.root(treeSize: n)
            for m in 0...n {
                try checkConsistency(m, n, newRoot: newRoot, reference: reference)
            }
        }
    }

    @Test("consistency proofs for random pairs up to 2000 equal the reference and verify", arguments: 0..<4)
    func consistencyRandomPairs(seed: UInt64) throws {
        let reference = ReferenceTree(leaves: (0..<2000).map(entry))
        var random = SplitMix64(state: 0xC0FFEE + seed)
        for _ in 0..<500 {
            let n = Int.random(in: 1...2000, using: &random)
            let m = Int.random(in: 0...n, using: &random)
            try checkConsistency(m, n, newRoot: log2000.root(treeSize: n), reference: reference)
        }
    }

    private func checkConsistency(_ m: Int, _ n: Int, newRoot: Hash, reference: ReferenceTree) throws {
        let nodes = try MerkleTree.nodesForConsistencyProof(oldSize: m, newSize: n)
        #expect(nodes.count <= 2 * (Int.bitWidth - n.leadingZeroBitCount) + 1, "O(log n) nodes for PROOF(\(m), \(n))")
        let proof = try MerkleTree.consistencyProof(oldSize: m, newSize: n, nodes: log2000.fetch(nodes))
        let expected = m == 0 || m == n ? [] : reference.proof(m, n)
        #expect(proof.map(\.bytes) == expected, "PROOF(\(m), D[\(n)])")
        #expect(proof.count == MerkleTree.consistencyProofLength(oldSize: m, newSize: n))
        let oldRoot = try log2000.root(treeSize: m)
        #expect(throws: Never.self, "\(m) → \(n)") {
            try MerkleTree.verifyConsistency(oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: newRoot, proof: proof)
        }
    }

    @Test("appending a leaf reads only its left siblings: one per trailing 1 bit of its index")
    func appendReads() throws {
        var log = MemoryNodeStore()
        var reads = 0
        for index in 0..<1025 {
            let before = log.readsForAppends
            log.append(entry: entry(index))
            let read = log.readsForAppends - before
            #expect(read == (~index).trailingZeroBitCount, "appending leaf \(index)")
            reads += read
        }
        #expect(reads < 1025)  // amortised below one read per leaf
        #expect(log.nodes.count == 2 * 1025 - 1025.nonzeroBitCount)  // every complete node, once
    }

    @Test("nodesToStore returns the leaf and every parent it completes", arguments: [0, 1, 2, 3, 6, 7, 8, 1023, 1024])
    func nodesToStore(index: Int) throws {
        let leaf = Hash.leaf(entry(index))
        var requested: [NodeID] = []
        let created = try MerkleTree.nodesToStore(appendingLeaf: leaf, atIndex: index) { (id) throws(MerkleTreeError) -> Hash in
            requested.append(id)
            return try log2000.fetch([id])[id]!
        }
        let ones = (~index).trailingZeroBitCount
        #expect(requested == (0..<ones).map { NodeID(level: $0, index: (index >> $0) ^ 1) })
        #expect(Set(created.keys) == Set((0...ones).map { NodeID(level: $0, index: index >> $0) }))
        for (id, hash) in created { #expect(hash == log2000.nodes[id], "\(id)") }
    }

    @Test("batch appends equal single appends and read only the frontier", arguments: [(0, 1), (0, 17), (5, 1), (7, 9), (64, 64), (100, 413)])
    func batchAppend(start: Int, count: Int) throws {
        var batched = makeLog(size: start)
        let frontier = MerkleTree.nodesToReadForAppending(atIndex: start)
        #expect(frontier.count == start.nonzeroBitCount)
        var reads: Set<NodeID> = []
        let leaves = (start..<(start + count)).map { Hash.leaf(entry($0)) }
        _ = try MerkleTree.nodesToStore(appendingLeaves: leaves, startingAt: start) { (id) throws(MerkleTreeError) -> Hash in
            #expect(reads.insert(id).inserted, "\(id) read twice")
            return try batched.fetch([id])[id]!
        }
        #expect(reads.isSubset(of: frontier))
        try batched.append(leafHashes: leaves)
        let single = makeLog(size: start + count)
        #expect(batched.nodes == single.nodes)
        #expect(batched.size == single.size)
    }

    @Test("computing from incomplete node sets names the missing node")
    func missingNodes() throws {
        var nodes = try log2000.fetch(MerkleTree.nodesForInclusionProof(index: 5, treeSize: 13))
        let removed = nodes.keys.max()!
        nodes[removed] = nil
        #expect(throws: MerkleTreeError.missingNode(removed)) { _ = try MerkleTree.inclusionProof(index: 5, treeSize: 13, nodes: nodes) }
        #expect(throws: MerkleTreeError.missingNode(NodeID(level: 0, index: 12))) { _ = try MerkleTree.root(treeSize: 13, nodes: [:]) }
    }

    @Test("invalid arguments are typed errors")
    func invalidArguments() {
        #expect(throws: MerkleTreeError.indexOutOfRange(index: 5, treeSize: 5)) { _ = try MerkleTree.nodesForInclusionProof(index: 5, treeSize: 5) }
        #expect(throws: MerkleTreeError.indexOutOfRange(index: -1, treeSize: 5)) { _ = try MerkleTree.nodesForInclusionProof(index: -1, treeSize: 5) }
        #expect(throws: MerkleTreeError.sizeShrinks(oldSize: 6, newSize: 5)) { _ = try MerkleTree.nodesForConsistencyProof(oldSize: 6, newSize: 5) }
        #expect(throws: MerkleTreeError.invalidTreeSize(-1)) { _ = try MerkleTree.nodesForRoot(treeSize: -1) }
        #expect(throws: (any Error).self) { _ = try log2000.root(treeSize: 2001) }
        #expect(try! MerkleTree.root(treeSize: 0, nodes: [:]) == .emptyTree)
        #expect(try! MerkleTree.nodesForConsistencyProof(oldSize: 0, newSize: 9).isEmpty)
        #expect(try! MerkleTree.nodesForConsistencyProof(oldSize: 9, newSize: 9).isEmpty)
    }

    @Test("NodeID geometry")
    func nodeGeometry() {
        let node = NodeID(level: 3, index: 5)
        #expect(node.leaves == 40..<48)
        #expect(node.leafCount == 8)
        #expect(node.parent == NodeID(level: 4, index: 2))
        #expect(node.sibling == NodeID(level: 3, index: 4))
        #expect(node.children?.left == NodeID(level: 2, index: 10))
        #expect(node.children?.right == NodeID(level: 2, index: 11))
        #expect(NodeID.leaf(7).children == nil)
        #expect(NodeID(level: 0, index: 9) < NodeID(level: 1, index: 0))
    }
}
