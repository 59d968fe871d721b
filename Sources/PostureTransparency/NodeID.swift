/// A complete (perfect) subtree of the log, the only kind of node a log stores: level 0 is the
/// leaves, and node (level, index) covers leaves [index·2^level, (index+1)·2^level).
package struct NodeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Height above the leaves: 0 for a leaf.
    package let level: Int
    /// Position among the nodes of its level, from 0 at the left.
    package let index: Int

    /// The node at `level` (0...62) and `index` (non-negative, with its leaves within `Int`).
    package init(level: Int, index: Int) {
        precondition(level >= 0 && level < Int.bitWidth - 1, "NodeID level \(level) is outside 0...\(Int.bitWidth - 2)")
        precondition(index >= 0 && index <= Int.max >> level, "NodeID index \(index) at level \(level) is out of range")
        self.level = level
        self.index = index
    }

    /// The node of leaf `index`.
    package static func leaf(_ index: Int) -> NodeID { NodeID(level: 0, index: index) }

    /// The number of leaves below this node: 2^level.
    package var leafCount: Int { 1 << level }

    /// The leaves this node covers.
    package var leaves: Range<Int> { (index << level)..<((index + 1) << level) }

    /// The node this one is a child of.
    package var parent: NodeID { NodeID(level: level + 1, index: index >> 1) }

    /// The other child of `parent`.
    package var sibling: NodeID { NodeID(level: level, index: index ^ 1) }

    /// The two children, for a node above the leaves.
    package var children: (left: NodeID, right: NodeID)? {
        level == 0 ? nil : (NodeID(level: level - 1, index: index << 1), NodeID(level: level - 1, index: index << 1 | 1))
    }

    /// Ordered by level, then by index (leaves first).
    package static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        (lhs.level, lhs.index) < (rhs.level, rhs.index)
    }

    package var description: String { "(\(level), \(index))" }
}
