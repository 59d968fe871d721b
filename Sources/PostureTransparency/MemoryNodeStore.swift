/// An in-memory log of complete nodes, for tests and tools: append leaf hashes, then ask for roots
/// and proofs of any size up to `size`. Shows the intended use of `MerkleTree` by a real store.
package struct MemoryNodeStore: Sendable {
    /// Every complete node written so far.
    package private(set) var nodes: [NodeID: Hash] = [:]
    /// The number of leaves appended.
    package private(set) var size = 0
    /// How many node reads appends have made, to check they stay O(log n).
    package private(set) var readsForAppends = 0

    /// An empty log.
    package init() {}

    /// Appends a leaf hash; returns its index.
    @discardableResult
    package mutating func append(leafHash: Hash) -> Int {
        let index = size
        var reads = 0
        let new = try! MerkleTree.nodesToStore(appendingLeaf: leafHash, atIndex: index) { (id) throws(MerkleTreeError) -> Hash in
            reads += 1
            guard let hash = nodes[id] else { throw .missingNode(id) }
            return hash
        }
        readsForAppends += reads
        nodes.merge(new) { _, new in new }
        size += 1
        return index
    }

    /// Appends an entry (hashing it as a leaf); returns its index.
    @discardableResult
    package mutating func append(entry: [UInt8]) -> Int {
        append(leafHash: .leaf(entry))
    }

    /// Appends leaf hashes in one batch, reading the frontier once.
    package mutating func append(leafHashes: [Hash]) throws(MerkleTreeError) {
        let frontier = try fetch(MerkleTree.nodesToReadForAppending(atIndex: size))
        let new = try MerkleTree.nodesToStore(appendingLeaves: leafHashes, startingAt: size) { (id) throws(MerkleTreeError) -> Hash in
            guard let hash = frontier[id] else { throw .missingNode(id) }
            return hash
        }
        nodes.merge(new) { _, new in new }
        size += leafHashes.count
    }

    /// The stored hashes of `ids`, as one batch query would return them.
    package func fetch(_ ids: Set<NodeID>) throws(MerkleTreeError) -> [NodeID: Hash] {
        var result: [NodeID: Hash] = [:]
        for id in ids {
            guard let hash = nodes[id] else { throw .missingNode(id) }
            result[id] = hash
        }
        return result
    }

    /// The root of the tree of the first `treeSize` leaves (default: all).
    package func root(treeSize: Int? = nil) throws(MerkleTreeError) -> Hash {
        let treeSize = treeSize ?? size
        try checkStored(treeSize)
        return try MerkleTree.root(treeSize: treeSize, nodes: fetch(MerkleTree.nodesForRoot(treeSize: treeSize)))
    }

    /// The inclusion proof of leaf `index` in the tree of `treeSize` leaves (default: all).
    package func inclusionProof(index: Int, treeSize: Int? = nil) throws(MerkleTreeError) -> [Hash] {
        let treeSize = treeSize ?? size
        try checkStored(treeSize)
        let nodes = try fetch(MerkleTree.nodesForInclusionProof(index: index, treeSize: treeSize))
        return try MerkleTree.inclusionProof(index: index, treeSize: treeSize, nodes: nodes)
    }

    /// The consistency proof from the tree of `oldSize` leaves to that of `newSize` (default: all).
    package func consistencyProof(oldSize: Int, newSize: Int? = nil) throws(MerkleTreeError) -> [Hash] {
        let newSize = newSize ?? size
        try checkStored(newSize)
        let nodes = try fetch(MerkleTree.nodesForConsistencyProof(oldSize: oldSize, newSize: newSize))
        return try MerkleTree.consistencyProof(oldSize: oldSize, newSize: newSize, nodes: nodes)
    }

    private func checkStored(_ treeSize: Int) throws(MerkleTreeError) {
        guard treeSize >= 0 else { throw .invalidTreeSize(treeSize) }
        guard treeSize <= size else { throw .indexOutOfRange(index: treeSize - 1, treeSize: size) }
    }
}
