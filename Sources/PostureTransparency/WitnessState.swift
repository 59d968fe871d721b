/// What a witness last cosigned for one log, and the decision whether to cosign a newer checkpoint
/// (https://c2sp.org/tlog-witness semantics): only checkpoints that are consistent extensions of
/// it. Pure logic: storage, time and signing stay with the caller.
package struct WitnessState: Hashable, Sendable {
    /// The log's origin.
    package let origin: String
    /// The size of the last cosigned checkpoint.
    package let size: Int
    /// The root of the last cosigned checkpoint.
    package let root: Hash

    /// The state after cosigning a checkpoint of `size` and `root` of log `origin`.
    package init(origin: String, size: Int, root: Hash) {
        precondition(size >= 0, "a tree size is never negative, got \(size)")
        self.origin = origin
        self.size = size
        self.root = root
    }

    /// The state of a log the witness has not cosigned yet: the empty tree.
    package static func initial(origin: String) -> WitnessState {
        WitnessState(origin: origin, size: 0, root: .emptyTree)
    }

    /// Whether to cosign `checkpoint`, given `consistencyProof` from this state's size to the
    /// checkpoint's. Refuses another origin, a smaller tree, another root at the same size (split
    /// view) and a proof that does not verify. The same checkpoint again (empty proof) is cosigned.
    package func decide(_ checkpoint: Checkpoint, consistencyProof: [Hash]) -> WitnessDecision {
        guard checkpoint.origin == origin else { return .refuse(.originMismatch(expected: origin, found: checkpoint.origin)) }
        guard checkpoint.size >= size else { return .refuse(.treeShrinks(cosignedSize: size, offeredSize: checkpoint.size)) }
        if checkpoint.size == size, checkpoint.root != root {
            return .refuse(.splitView(size: size, cosignedRoot: root, offeredRoot: checkpoint.root))
        }
        do throws(ProofVerificationError) {
            try MerkleTree.verifyConsistency(oldSize: size, newSize: checkpoint.size, oldRoot: root, newRoot: checkpoint.root, proof: consistencyProof)
        } catch {
            return .refuse(.inconsistent(error))
        }
        return .cosign(WitnessState(origin: origin, size: checkpoint.size, root: checkpoint.root))
    }

    /// `decide` for a signed checkpoint, after checking the log's signature on it.
    package func decide(_ note: SignedNote, logVerifier: NoteVerifier, consistencyProof: [Hash]) -> WitnessDecision {
        do throws(CheckpointError) {
            return decide(try Checkpoint.open(note, logVerifier: logVerifier), consistencyProof: consistencyProof)
        } catch {
            return .refuse(.invalidCheckpoint(error))
        }
    }
}

/// A witness's decision about an offered checkpoint.
package enum WitnessDecision: Hashable, Sendable {
    /// Cosign it, and record this state (atomically with publishing the cosignature).
    case cosign(WitnessState)
    /// Do not cosign it, for this reason.
    case refuse(WitnessRefusal)
}

/// Why a witness refuses to cosign a checkpoint.
package enum WitnessRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    /// The checkpoint is of another log.
    case originMismatch(expected: String, found: String)
    /// The checkpoint is smaller than the one already cosigned (a rollback, or a stale client).
    case treeShrinks(cosignedSize: Int, offeredSize: Int)
    /// The checkpoint has the cosigned size but another root: the log forked.
    case splitView(size: Int, cosignedRoot: Hash, offeredRoot: Hash)
    /// The consistency proof does not verify.
    case inconsistent(ProofVerificationError)
    /// The signed checkpoint is malformed or not validly signed by the log.
    case invalidCheckpoint(CheckpointError)

    package var description: String {
        switch self {
        case .originMismatch(let expected, let found): "the checkpoint is of log '\(found)', this state is of '\(expected)'"
        case .treeShrinks(let cosignedSize, let offeredSize):
            "the checkpoint has \(offeredSize) leaves, fewer than the \(cosignedSize) already cosigned: send a newer checkpoint, with a proof from size \(cosignedSize)"
        case .splitView(let size, let cosignedRoot, let offeredRoot):
            "split view: size \(size) was cosigned with root \(cosignedRoot.hex), the checkpoint has \(offeredRoot.hex); keep both as evidence of a forked log"
        case .inconsistent(let error): "the checkpoint is not a proven extension of the cosigned one: \(error)"
        case .invalidCheckpoint(let error): "\(error)"
        }
    }
}
