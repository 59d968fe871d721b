/// RFC 6962 / RFC 9162 Merkle tree algorithms over stored complete subtrees (`NodeID`).
///
/// A log keeps only the hashes of complete subtrees, which never change once written. Everything
/// else is derived: appending a leaf yields the complete nodes it finishes (`nodesToStore`); a root
/// or proof is computed in two steps, first the set of complete nodes it needs (`nodesForRoot`,
/// `nodesForInclusionProof`, `nodesForConsistencyProof`, at most O(log n) each, so a store can fetch
/// them in one batch query), then the value from those nodes (`root`, `inclusionProof`,
/// `consistencyProof`). Incomplete subtrees at the right edge are hashed from the complete ones they
/// consist of. Proofs are exactly RFC 9162 §2.1.3.1 PATH and §2.1.4.1 PROOF/SUBPROOF.
package enum MerkleTree {
    // MARK: Appending

    /// The complete nodes created by appending leaf hash `leaf` as leaf number `index` (the tree had
    /// `index` leaves): the leaf itself, then each parent that becomes complete. `reading` is called
    /// only for the left siblings on the way up, one per trailing 1 bit of `index`, so at most
    /// log2(index + 1) times.
    package static func nodesToStore<E: Error>(
        appendingLeaf leaf: Hash,
        atIndex index: Int,
        reading: (NodeID) throws(E) -> Hash
    ) throws(E) -> [NodeID: Hash] {
        precondition(index >= 0, "a leaf index is never negative, got \(index)")
        var node = NodeID.leaf(index)
        var hash = leaf
        var created: [NodeID: Hash] = [node: hash]
        while node.index & 1 == 1 {
            let left = try reading(node.sibling)
            hash = .node(left, hash)
            node = node.parent
            created[node] = hash
        }
        return created
    }

    /// The complete nodes created by appending `leaves` as leaves `startIndex...`: the same as
    /// appending them one by one. `reading` is called only for nodes that existed before (those of
    /// `nodesToReadForAppending(atIndex: startIndex)`), each at most once.
    package static func nodesToStore<E: Error>(
        appendingLeaves leaves: [Hash],
        startingAt startIndex: Int,
        reading: (NodeID) throws(E) -> Hash
    ) throws(E) -> [NodeID: Hash] {
        var created: [NodeID: Hash] = [:]
        var read: [NodeID: Hash] = [:]
        for (offset, leaf) in leaves.enumerated() {
            let new = try nodesToStore(appendingLeaf: leaf, atIndex: startIndex + offset) { (id) throws(E) -> Hash in
                if let hash = created[id] ?? read[id] { return hash }
                let hash = try reading(id)
                read[id] = hash
                return hash
            }
            created.merge(new) { _, new in new }
        }
        return created
    }

    /// The existing nodes that appending leaves at `index` (one or many) may read: the complete
    /// subtrees that make up the tree of size `index` (its "frontier"). Fetch them in one query
    /// and serve `reading` from the result.
    package static func nodesToReadForAppending(atIndex index: Int) -> Set<NodeID> {
        precondition(index >= 0, "a tree size is never negative, got \(index)")
        return Set(completeSubtrees(of: 0..<index))
    }

    // MARK: Which nodes

    /// The complete nodes the root of the tree of `treeSize` leaves is computed from (empty for the
    /// empty tree, whose root is `Hash.emptyTree`).
    package static func nodesForRoot(treeSize: Int) throws(MerkleTreeError) -> Set<NodeID> {
        guard treeSize >= 0 else { throw .invalidTreeSize(treeSize) }
        return Set(completeSubtrees(of: 0..<treeSize))
    }

    /// The complete nodes the inclusion proof of leaf `index` in the tree of `treeSize` leaves is
    /// computed from.
    package static func nodesForInclusionProof(index: Int, treeSize: Int) throws(MerkleTreeError) -> Set<NodeID> {
        try Set(inclusionRanges(index: index, treeSize: treeSize).flatMap(completeSubtrees(of:)))
    }

    /// The complete nodes the consistency proof from the tree of `oldSize` leaves to the tree of
    /// `newSize` leaves is computed from (empty when the proof is: equal sizes or `oldSize` 0).
    package static func nodesForConsistencyProof(oldSize: Int, newSize: Int) throws(MerkleTreeError) -> Set<NodeID> {
        try Set(consistencyRanges(oldSize: oldSize, newSize: newSize).flatMap(completeSubtrees(of:)))
    }

    // MARK: Values from nodes

    /// The root hash (MTH, RFC 9162 §2.1.1) of the tree of `treeSize` leaves, from `nodes`, which
    /// must hold at least `nodesForRoot(treeSize:)`.
    package static func root(treeSize: Int, nodes: [NodeID: Hash]) throws(MerkleTreeError) -> Hash {
        guard treeSize >= 0 else { throw .invalidTreeSize(treeSize) }
        guard treeSize > 0 else { return .emptyTree }
        return try subtreeHash(of: 0..<treeSize, nodes: nodes)
    }

    /// The inclusion proof (audit path, RFC 9162 §2.1.3.1 PATH) of leaf `index` in the tree of
    /// `treeSize` leaves, from `nodes`, which must hold at least `nodesForInclusionProof`.
    /// Ordered from the leaf's sibling up to the child of the root.
    package static func inclusionProof(index: Int, treeSize: Int, nodes: [NodeID: Hash]) throws(MerkleTreeError) -> [Hash] {
        var proof: [Hash] = []
        for range in try inclusionRanges(index: index, treeSize: treeSize) {
            proof.append(try subtreeHash(of: range, nodes: nodes))
        }
        return proof
    }

    /// The consistency proof (RFC 9162 §2.1.4.1 PROOF) from the tree of `oldSize` leaves to the tree
    /// of `newSize` leaves, from `nodes`, which must hold at least `nodesForConsistencyProof`.
    /// Empty when `oldSize` is 0 or equals `newSize`.
    package static func consistencyProof(oldSize: Int, newSize: Int, nodes: [NodeID: Hash]) throws(MerkleTreeError) -> [Hash] {
        var proof: [Hash] = []
        for range in try consistencyRanges(oldSize: oldSize, newSize: newSize) {
            proof.append(try subtreeHash(of: range, nodes: nodes))
        }
        return proof
    }

    // MARK: Ranges

    /// The leaf ranges whose subtree hashes form PATH(index, D[treeSize]), bottom-up. Each range is
    /// one the RFC recursion produces: complete, or ending at `treeSize`.
    static func inclusionRanges(index: Int, treeSize: Int) throws(MerkleTreeError) -> [Range<Int>] {
        guard treeSize >= 0 else { throw .invalidTreeSize(treeSize) }
        guard index >= 0, index < treeSize else { throw .indexOutOfRange(index: index, treeSize: treeSize) }
        // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) for m < k, else PATH(m - k, D[k:n]) : MTH(D[0:k]);
        // walking down from the root collects the appended hashes top-down.
        var ranges: [Range<Int>] = []
        var low = 0
        var high = treeSize
        while high - low > 1 {
            let split = low + largestPowerOfTwo(below: high - low)
            if index < split {
                ranges.append(split..<high)
                high = split
            } else {
                ranges.append(low..<split)
                low = split
            }
        }
        return ranges.reversed()
    }

    /// The leaf ranges whose subtree hashes form PROOF(oldSize, D[newSize]), in proof order.
    static func consistencyRanges(oldSize: Int, newSize: Int) throws(MerkleTreeError) -> [Range<Int>] {
        guard oldSize >= 0 else { throw .invalidTreeSize(oldSize) }
        guard newSize >= 0 else { throw .invalidTreeSize(newSize) }
        guard oldSize <= newSize else { throw .sizeShrinks(oldSize: oldSize, newSize: newSize) }
        guard oldSize > 0, oldSize < newSize else { return [] }
        // SUBPROOF(m, D[n], b): {} if m = n and b; {MTH(D[n])} if m = n and not b; otherwise, with k the
        // largest power of two below n, SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) if m <= k, else
        // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]). Walking down collects the suffix top-down.
        var suffix: [Range<Int>] = []
        var low = 0
        var high = newSize
        var remaining = oldSize  // leaves of the old tree inside low..<high
        var completeOldSubtree = true  // b
        while remaining != high - low {
            let half = largestPowerOfTwo(below: high - low)
            if remaining <= half {
                suffix.append((low + half)..<high)
                high = low + half
            } else {
                suffix.append(low..<(low + half))
                remaining -= half
                low += half
                completeOldSubtree = false
            }
        }
        return (completeOldSubtree ? [] : [low..<high]) + suffix.reversed()
    }

    /// The complete subtrees that make up `range`, largest (leftmost) first. Exact for the ranges of
    /// the RFC recursion, whose start is a multiple of a power of two above their length.
    static func completeSubtrees(of range: Range<Int>) -> [NodeID] {
        var nodes: [NodeID] = []
        var position = range.lowerBound
        var remaining = range.count
        while remaining > 0 {
            let level = Int.bitWidth - 1 - remaining.leadingZeroBitCount
            assert(position & ((1 << level) - 1) == 0, "range \(range) is not one of the RFC 6962 recursion")
            nodes.append(NodeID(level: level, index: position >> level))
            position += 1 << level
            remaining -= 1 << level
        }
        return nodes
    }

    /// MTH of the leaves in `range` (a range of the RFC recursion): the complete subtrees it consists
    /// of, folded from the right, as MTH splits at the largest power of two.
    static func subtreeHash(of range: Range<Int>, nodes: [NodeID: Hash]) throws(MerkleTreeError) -> Hash {
        let parts = completeSubtrees(of: range)
        guard let last = parts.last else { return .emptyTree }
        guard var hash = nodes[last] else { throw .missingNode(last) }
        for part in parts.dropLast().reversed() {
            guard let left = nodes[part] else { throw .missingNode(part) }
            hash = .node(left, hash)
        }
        return hash
    }

    /// The largest power of two strictly below `count` (which is at least 2).
    static func largestPowerOfTwo(below count: Int) -> Int {
        1 << (Int.bitWidth - 1 - (count - 1).leadingZeroBitCount)
    }
}

/// Why a root or proof could not be computed from stored nodes.
package enum MerkleTreeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A tree size was negative.
    case invalidTreeSize(Int)
    /// A leaf index was not below the tree size.
    case indexOutOfRange(index: Int, treeSize: Int)
    /// A consistency proof was asked from a larger tree to a smaller one.
    case sizeShrinks(oldSize: Int, newSize: Int)
    /// A node the computation needs was not among those given.
    case missingNode(NodeID)

    package var description: String {
        switch self {
        case .invalidTreeSize(let size): "tree size \(size) is negative: sizes count leaves, from 0"
        case .indexOutOfRange(let index, let treeSize):
            "leaf index \(index) is not in the tree of \(treeSize) leaves: ask for a proof in a tree that contains the leaf (size > \(index))"
        case .sizeShrinks(let oldSize, let newSize):
            "no consistency proof from size \(oldSize) to the smaller size \(newSize): swap them or ask for a size ≥ \(oldSize)"
        case .missingNode(let node):
            "node \(node) (leaves \(node.leaves)) was not supplied: fetch every node of the matching nodesFor… set before computing"
        }
    }
}
