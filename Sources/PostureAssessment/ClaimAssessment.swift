package import Crypto
package import Foundation
package import PostureEvidence
import PostureModel
package import PosturePolicy
package import PostureReference

/// The one use case behind `posture assess` and `posture-collector assess`: the claim's dates read
/// in the profile's time zone, the bank calendar its cut-off names, verification, then judgement.
/// Both commands call it, so the same evidence and dates give the same assessment from either.
package enum ClaimAssessment {
    /// Where the signing key came from: pinned (a key file the bank holds, the enrollment) or the
    /// evidence's own, which nothing vouches for.
    package struct Key: Sendable {
        package var key: Curve25519.Signing.PublicKey
        package var pinned: Bool
        package var source: String

        package init(_ key: Curve25519.Signing.PublicKey, pinned: Bool, source: String) {
            self.key = key
            self.pinned = pinned
            self.source = source
        }
    }

    /// Assesses `incidents` (one per transfer) notified on `notified` (nil: the deadline is unknown).
    /// Throws `AssessmentError` for malformed dates (a usage error) and `LocatedError` for a
    /// malformed bank calendar.
    package static func assess(
        profile: Profile, incidents: [String], notified: String?, key: Key,
        reports: [ChainVerifier.Item], attestations: [Data], reference: ReferencePaths, log: LogInclusion? = nil,
        now: Date = Date()
    ) throws -> Assessment {
        let calendar = try profile.claim.counting?.until.flatMap { until in
            try reference.catalogFile("\(until.calendar).yaml").map(BankCalendar.load(path:))
        }
        let request = Assessor.Request(profile: profile, incidents: incidents, notified: notified, calendar: calendar, now: now)
        var assessment = try Assessor(key: key.key, pinned: key.pinned, keySource: key.source)
            .assess(reports: reports, attestations: attestations, request: request)
        assessment.verification.log = log
        return assessment
    }
}
