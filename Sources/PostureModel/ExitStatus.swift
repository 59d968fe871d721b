/// The exit statuses of every posture executable (DESIGN.md: the verdict, then the sysexits
/// codes), in one table: `posture`, `posture-collector` and the assessment they share name
/// these, never numbers.
package enum ExitStatus {
    /// At least one requirement fails (or a transfer falls outside the rule's period).
    package static let failed: Int32 = 1
    /// Nothing fails, but something could not be confirmed.
    package static let unknown: Int32 = 3
    package static let usage: Int32 = 64
    /// Bad data handed over directly: a malformed profile, config, report, envelope or bundle.
    package static let dataError: Int32 = 65
    package static let noInput: Int32 = 66
    /// A service (an upload target, the collector's store) cannot be reached and nothing was queued.
    package static let unavailable: Int32 = 69
    package static let software: Int32 = 70
    /// An `--output` file could not be written (a full disk among other causes); the old file, if any, is kept.
    package static let cannotCreate: Int32 = 73
    /// The state directory is full: the device key or the journal could not be written (nothing half written).
    package static let ioError: Int32 = 74
    /// Reports stay queued for a later try (`agent --once`, `upload`).
    package static let tryAgain: Int32 = 75
    package static let permission: Int32 = 77

    /// The exit status for a set of findings: 1 on any fail, 3 on any unknown, else 0.
    package static func of(_ findings: [Finding]) -> Int32 {
        if findings.contains(where: { $0.status == .fail }) { return failed }
        if findings.contains(where: { $0.status == .unknown }) { return unknown }
        return 0
    }
}

/// An error a command-line front end shows as one line on stderr and turns into an exit status.
/// Each error type states its status once, beside its definition; `posture` and
/// `posture-collector` both report errors through it.
package protocol ExitStatusError: Error, CustomStringConvertible {
    /// The sysexits status (`ExitStatus`) this error ends a verb with.
    var exitStatus: Int32 { get }
}

/// An error already phrased for the user, with its exit status.
package struct CommandFailure: ExitStatusError, Sendable, Equatable {
    package var description: String
    package var exitStatus: Int32

    package init(_ description: String, status: Int32) {
        self.description = description
        self.exitStatus = status
    }
}
