import Crypto
import Foundation
package import PostureModel

/// Identifies the scanned machine: host name and a digest of its machine id.
package struct HostProbe: Sendable {
    package init() {}

    package func collect(root: ScanRoot) -> HostInfo {
        var hostname = (try? root.readText("etc/hostname"))?.trimmingCharacters(in: .whitespacesAndNewlines)
        if hostname?.isEmpty ?? true, root.isLive { hostname = Platform.hostName() }
        let machineId = (try? root.readText("etc/machine-id"))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let digest = machineId.flatMap { $0.isEmpty ? nil : SHA256.hash(data: Data($0.utf8)).hexString }
        return HostInfo(hostname: hostname?.isEmpty == false ? hostname : nil, machineIdSha256: digest, root: root.path)
    }
}
