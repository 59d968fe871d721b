import Foundation

// libFuzzer entry points: one executable, the target chosen by POSTURE_FUZZ_TARGET (scripts/fuzz
// sets it). With POSTURE_FUZZ_SEEDS=DIR the harness writes the target's seed inputs there and exits.

/// A fuzz target: feeds one input to the code under test. A trap or a sanitizer report is a finding;
/// errors the code throws are the expected outcome for bad input.
struct FuzzTarget: Sendable {
    let name: String
    let run: @Sendable ([UInt8]) -> Void
    /// Small valid inputs the fuzzer starts from.
    let seeds: @Sendable () throws -> [(name: String, bytes: [UInt8])]
}

enum Harness {
    static let targets: [FuzzTarget] = ProbeTargets.all + EvidenceTargets.all

    nonisolated(unsafe) static var selected: FuzzTarget?
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let environment = ProcessInfo.processInfo.environment
    let names = Harness.targets.map(\.name).joined(separator: " ")
    guard let name = environment["POSTURE_FUZZ_TARGET"], let target = Harness.targets.first(where: { $0.name == name }) else {
        FileHandle.standardError.write(Data("set POSTURE_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(64)
    }
    Harness.selected = target
    if let directory = environment["POSTURE_FUZZ_SEEDS"] {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for seed in try target.seeds() {
                try Data(seed.bytes).write(to: URL(fileURLWithPath: directory).appendingPathComponent(seed.name))
            }
        } catch {
            FileHandle.standardError.write(Data("cannot write the seeds of \(name): \(error)\n".utf8))
            exit(70)
        }
        exit(0)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.selected?.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// Splits an input into `count` parts at the separator `\n###\n` (missing parts are empty), so one
/// input can hold several files.
func parts(_ bytes: [UInt8], _ count: Int) -> [[UInt8]] {
    let separator = Array("\n###\n".utf8)
    var result: [[UInt8]] = []
    var start = 0
    var index = 0
    while result.count < count - 1, index + separator.count <= bytes.count {
        if bytes[index..<(index + separator.count)].elementsEqual(separator) {
            result.append(Array(bytes[start..<index]))
            index += separator.count
            start = index
        } else {
            index += 1
        }
    }
    result.append(Array(bytes[start...]))
    while result.count < count { result.append([]) }
    return result
}

/// Joins files into one input, the inverse of `parts`.
func joined(_ files: [String]) -> [UInt8] { Array(files.joined(separator: "\n###\n").utf8) }

/// A scratch directory of this process (removed at exit) where targets lay out the files they read.
final class Scratch: @unchecked Sendable {
    static let shared = Scratch()
    let path: String

    private init() {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        path = "\(base)/posture-fuzz-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Scratch.shared.path) }
    }

    /// A fresh, empty directory `name` inside the scratch directory.
    func directory(_ name: String) -> String {
        let directory = "\(path)/\(name)"
        try? FileManager.default.removeItem(atPath: directory)
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Writes `bytes` to `relative` inside `directory`, creating parent directories.
    func write(_ bytes: [UInt8], to relative: String, in directory: String) {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(relative)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! Data(bytes).write(to: url)
    }
}

/// Runs async code to completion from the synchronous fuzzer callback.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

final class ResultBox<T>: @unchecked Sendable { var value: T? }
