extension MerkleTree {
    /// The number of hashes in the inclusion proof of leaf `index` in a tree of `treeSize` leaves
    /// (0 ≤ index < treeSize): one per level below the leaf's last split, plus one per complete left
    /// subtree beside its path above that.
    package static func inclusionProofLength(index: Int, treeSize: Int) -> Int {
        precondition(index >= 0 && index < treeSize, "leaf index \(index) is not in a tree of \(treeSize) leaves")
        let inner = Int.bitWidth - (index ^ (treeSize - 1)).leadingZeroBitCount
        return inner + (index >> inner).nonzeroBitCount
    }

    /// The number of hashes in the consistency proof from `oldSize` to `newSize` leaves
    /// (0 ≤ oldSize ≤ newSize): 0 when `oldSize` is 0 or `newSize`.
    package static func consistencyProofLength(oldSize: Int, newSize: Int) -> Int {
        precondition(oldSize >= 0 && oldSize <= newSize, "no consistency proof from \(oldSize) to \(newSize) leaves")
        guard oldSize > 0, oldSize < newSize else { return 0 }
        let level = oldSize.trailingZeroBitCount
        let index = (oldSize - 1) >> level
        let inner = Int.bitWidth - (index ^ ((newSize - 1) >> level)).leadingZeroBitCount
        let seed = oldSize == 1 << level ? 0 : 1  // a complete old tree is its own first hash
        return seed + inner + (index >> inner).nonzeroBitCount
    }

    /// The root that an inclusion proof of `leafHash` at `index` in a tree of `treeSize` leaves
    /// leads to (RFC 9162 §2.1.3.2, steps 1 to 4). Compare it with a trusted root, or use
    /// `verifyInclusion`.
    package static func rootFromInclusionProof(leafHash: Hash, index: Int, treeSize: Int, proof: [Hash]) throws(ProofVerificationError) -> Hash {
        guard treeSize >= 0 else { throw .invalidTreeSize(treeSize) }
        guard index >= 0, index < treeSize else { throw .indexOutOfRange(index: index, treeSize: treeSize) }
        let expected = inclusionProofLength(index: index, treeSize: treeSize)
        guard proof.count == expected else { throw .wrongProofLength(expected: expected, actual: proof.count) }
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
            if fn & 1 == 1 || fn == sn {
                r = .node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = .node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
        return r
    }

    /// Checks that `proof` shows leaf hash `leafHash` at `index` in the tree of `treeSize` leaves
    /// whose root is `root` (RFC 9162 §2.1.3.2).
    package static func verifyInclusion(leafHash: Hash, index: Int, treeSize: Int, proof: [Hash], root: Hash) throws(ProofVerificationError) {
        let computed = try rootFromInclusionProof(leafHash: leafHash, index: index, treeSize: treeSize, proof: proof)
        guard computed == root else { throw .rootMismatch(expected: root, computed: computed) }
    }

    /// Checks that `proof` shows the tree of `newSize` leaves with root `newRoot` extends the tree of
    /// `oldSize` leaves with root `oldRoot` (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and
    /// equal roots; size 0 needs an empty proof and `oldRoot` equal to `Hash.emptyTree`.
    package static func verifyConsistency(oldSize: Int, newSize: Int, oldRoot: Hash, newRoot: Hash, proof: [Hash]) throws(ProofVerificationError) {
        guard oldSize >= 0 else { throw .invalidTreeSize(oldSize) }
        guard newSize >= 0 else { throw .invalidTreeSize(newSize) }
        guard oldSize <= newSize else { throw .sizeShrinks(oldSize: oldSize, newSize: newSize) }
        let expected = consistencyProofLength(oldSize: oldSize, newSize: newSize)
        guard proof.count == expected else { throw .wrongProofLength(expected: expected, actual: proof.count) }
        if oldSize == newSize {
            guard oldRoot == newRoot else { throw .differentRootsForSameSize(size: oldSize, oldRoot: oldRoot, newRoot: newRoot) }
            return
        }
        if oldSize == 0 {
            guard oldRoot == .emptyTree else { throw .oldRootMismatch(expected: oldRoot, computed: .emptyTree) }
            return
        }
        // 2. If first is an exact power of 2, prepend first_hash to the consistency path.
        let path = oldSize.nonzeroBitCount == 1 ? [oldRoot] + proof : proof
        // 3, 4. fn = first - 1, sn = second - 1, shifted right while LSB(fn) is set.
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        // 5, 6.
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
            if fn & 1 == 1 || fn == sn {
                fr = .node(c, fr)
                sr = .node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = .node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        // 7.
        guard sn == 0 else { throw .wrongProofLength(expected: expected, actual: proof.count) }
        guard fr == oldRoot else { throw .oldRootMismatch(expected: oldRoot, computed: fr) }
        guard sr == newRoot else { throw .newRootMismatch(expected: newRoot, computed: sr) }
    }
}

/// Why an inclusion or consistency proof was rejected.
package enum ProofVerificationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A tree size was negative.
    case invalidTreeSize(Int)
    /// The leaf index is not below the tree size.
    case indexOutOfRange(index: Int, treeSize: Int)
    /// The new tree is smaller than the old one.
    case sizeShrinks(oldSize: Int, newSize: Int)
    /// The proof has the wrong number of hashes for its sizes.
    case wrongProofLength(expected: Int, actual: Int)
    /// The inclusion proof leads to another root than the trusted one.
    case rootMismatch(expected: Hash, computed: Hash)
    /// The consistency proof does not reproduce the old root.
    case oldRootMismatch(expected: Hash, computed: Hash)
    /// The consistency proof does not reproduce the new root.
    case newRootMismatch(expected: Hash, computed: Hash)
    /// Two trees of the same size with different roots: they cannot both be the log.
    case differentRootsForSameSize(size: Int, oldRoot: Hash, newRoot: Hash)

    package var description: String {
        switch self {
        case .invalidTreeSize(let size): "tree size \(size) is negative"
        case .indexOutOfRange(let index, let treeSize):
            "leaf index \(index) is not in a tree of \(treeSize) leaves: use a tree head whose size is above the index"
        case .sizeShrinks(let oldSize, let newSize):
            "the tree shrank from \(oldSize) to \(newSize) leaves: a log only grows, so the newer tree head is not from the same log (or is a rollback)"
        case .wrongProofLength(let expected, let actual):
            "the proof has \(actual) hashes where these sizes need \(expected): it was made for other sizes or was truncated or padded"
        case .rootMismatch(let expected, let computed):
            "the inclusion proof leads to root \(computed.hex), not the trusted \(expected.hex): the leaf, its index or the proof is wrong"
        case .oldRootMismatch(let expected, let computed):
            "the consistency proof leads to old root \(computed.hex), not \(expected.hex): the old tree is not a prefix of the new one, or the proof is wrong"
        case .newRootMismatch(let expected, let computed):
            "the consistency proof leads to new root \(computed.hex), not \(expected.hex): the new tree does not extend the old one, or the proof is wrong"
        case .differentRootsForSameSize(let size, let oldRoot, let newRoot):
            "two roots for size \(size), \(oldRoot.hex) and \(newRoot.hex): the log shows different trees to different parties (split view)"
        }
    }
}
