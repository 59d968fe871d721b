package import Foundation
package import PostureModel
import Synchronization

/// One source of evidence: what it is called, what it reads, how long it may take, and how it
/// fills its section of the evidence. The scanner runs every registered probe the same way, each
/// under its deadline, and reports one that fails or overruns as `unknown` with the reason.
package protocol Probe: Sendable {
    var name: ProbeName { get }
    /// What it reads, in a few words (for `unknown` reasons and documentation).
    var reads: String { get }
    /// Seconds it may run before it is abandoned.
    var deadline: Int { get }
    func collect(_ context: ProbeContext) async throws(ProbeError) -> ProbeOutput
}

extension Probe {
    package var deadline: Int { 60 }
}

/// A probe whose work blocks its thread on file reads. It runs on a thread of its own, so one
/// stalled by a crafted file costs none of the few threads that async work shares.
package protocol BlockingProbe: Probe {
    func collectBlocking(_ context: ProbeContext) throws(ProbeError) -> ProbeOutput
}

extension BlockingProbe {
    package func collect(_ context: ProbeContext) async throws(ProbeError) -> ProbeOutput {
        try await ProbeRunner.onOwnThread { () throws(ProbeError) in try collectBlocking(context) }.get()
    }
}

/// What the probes of one scan share: the root, the time, and the inputs several probes need,
/// each read once (the package database, the homes, the running processes, and what an earlier
/// stage published, such as apt's candidate versions).
package struct ProbeContext: Sendable {
    package var root: ScanRoot
    package var now: Date
    package var database: Result<DpkgDatabase, ProbeError>
    package var homes: [String]
    /// Names of running processes; nil for an offline root.
    package var processes: Set<String>?
    /// Package name → the version `apt-get upgrade` would leave installed; nil until the packages
    /// probe has run or when it could not.
    package var candidates: [String: String]?
    /// What slow reads of the last scan produced, for probes to reuse what did not change; nil
    /// scans without one.
    package var cache: ScanCache?

    package init(root: ScanRoot, now: Date) {
        self.root = root
        self.now = now
        database = Result { () throws(ProbeError) in try DpkgDatabase.read(root: root) }
        homes = HomeDirectories.all(root: root)
        processes = RunningProcesses.names(root: root)
    }

    /// The package database when it could be read: probes that also find software outside it
    /// still run without it, and say what they may have missed (`packageDatabaseProblem`).
    package var installed: DpkgDatabase? { try? database.get() }

    /// Why packaged installs may be missed, when the package database could not be read.
    package var packageDatabaseProblem: String? {
        guard case .failure(let error) = database else { return nil }
        return "package database unreadable, so packaged installs may be missed: \(error)"
    }
}

/// What a probe gives back, the same shape for every probe: how to fill its section of the
/// evidence, what it could not see (which makes checks resting on it `unknown`), and facts for
/// probes of a later stage.
package struct ProbeOutput: Sendable {
    package var fill: @Sendable (inout Evidence) -> Void
    package var problems: [String]
    package var candidates: [String: String]?

    package init(problems: [String] = [], candidates: [String: String]? = nil, fill: @escaping @Sendable (inout Evidence) -> Void) {
        self.fill = fill
        self.problems = problems
        self.candidates = candidates
    }
}

/// A probe that cannot run this time (its reference catalog is missing, or no chosen profile
/// needs it): its section is `unknown` with the reason.
package struct UnavailableProbe: Probe {
    package let name: ProbeName
    package let reason: String
    package var reads: String { "nothing" }

    package init(_ name: ProbeName, reason: String) {
        self.name = name
        self.reason = reason
    }

    package func collect(_ context: ProbeContext) async throws(ProbeError) -> ProbeOutput {
        throw ProbeError.unsupported(reason)
    }
}

/// Runs probes under their deadlines and records what they give into the evidence.
package enum ProbeRunner {
    /// Runs each stage's probes concurrently, the stages in order (a later stage sees what an
    /// earlier one published), and fills `evidence`: a probe's section, or its name in
    /// `evidence.unavailable` with why it is missing or incomplete.
    package static func run(_ stages: [[any Probe]], context: ProbeContext, into evidence: inout Evidence) async {
        var context = context
        for stage in stages {
            let results = await withTaskGroup(of: (ProbeName, Result<ProbeOutput, ProbeError>).self) { group in
                for probe in stage {
                    let shared = context
                    group.addTask { (probe.name, await run(probe, shared)) }
                }
                var results: [(ProbeName, Result<ProbeOutput, ProbeError>)] = []
                for await result in group { results.append(result) }
                return results.sorted { $0.0.rawValue < $1.0.rawValue }
            }
            for (name, result) in results {
                switch result {
                case .success(let output):
                    output.fill(&evidence)
                    if !output.problems.isEmpty { evidence.unavailable[name.rawValue] = output.problems.joined(separator: "; ") }
                    if let candidates = output.candidates { context.candidates = candidates }
                case .failure(let error):
                    evidence.unavailable[name.rawValue] = error.description
                }
            }
        }
    }

    /// One probe under its deadline.
    package static func run(_ probe: any Probe, _ context: ProbeContext) async -> Result<ProbeOutput, ProbeError> {
        await withDeadline(probe.deadline) { () async throws(ProbeError) in try await probe.collect(context) }
    }

    /// Runs `body`, which blocks (reads files), on a thread of its own; the caller waits suspended.
    /// A body stalled by a crafted file stays on that thread (which ends with the process) while
    /// its deadline has already answered.
    package static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws(ProbeError) -> T) async -> Result<T, ProbeError> {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                do throws(ProbeError) { continuation.resume(returning: .success(try body())) } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
    }

    /// Runs `body` under a deadline: past it the result is `timedOut` and `body` is abandoned.
    package static func withDeadline<T: Sendable>(_ seconds: Int, _ body: @escaping @Sendable () async throws(ProbeError) -> T) async
        -> Result<T, ProbeError>
    {
        await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(seconds)) { once.resume(.failure(.timedOut(seconds: seconds))) }
            Task.detached {
                do throws(ProbeError) { once.resume(.success(try await body())) } catch { once.resume(.failure(error)) }
            }
        }
    }
}

/// Resumes a continuation with whichever comes first, the probe's result or its deadline.
private final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Result<T, ProbeError>, Never>?>

    init(_ continuation: CheckedContinuation<Result<T, ProbeError>, Never>) { self.continuation = Mutex(continuation) }

    func resume(_ result: Result<T, ProbeError>) {
        let pending = continuation.withLock { waiting in
            defer { waiting = nil }
            return waiting
        }
        pending?.resume(returning: result)
    }
}
