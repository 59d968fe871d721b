import Crypto
import Foundation
import PostureTransparency
import Testing

/// RFC 6962 §2.1 transcribed as literally as possible, sharing nothing with the module but the
/// SHA-256 primitive: MTH over a leaf array (§2.1), PATH (§2.1.1) and PROOF/SUBPROOF (§2.1.2).
/// Subranges are offsets into one leaf array D; MTH is memoised (it is a pure function of its
/// range), which keeps sizes up to 2000 fast without changing the definitions.
final class ReferenceTree {
    let leaves: [[UInt8]]
    private var memo: [[Int]: [UInt8]] = [:]

    init(leaves: [[UInt8]]) { self.leaves = leaves }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// The largest power of two smaller than n (n > 1), by doubling.
    static func k(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }

    /// MTH(D[lo:hi]).
    func mth(_ lo: Int, _ hi: Int) -> [UInt8] {
        if let cached = memo[[lo, hi]] { return cached }
        let n = hi - lo
        let result: [UInt8]
        if n == 0 {
            result = Self.sha256([])  // MTH({}) = SHA-256()
        } else if n == 1 {
            result = Self.sha256([0x00] + leaves[lo])  // MTH({d(0)}) = SHA-256(0x00 || d(0))
        } else {
            let k = Self.k(n)  // MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
            result = Self.sha256([0x01] + mth(lo, lo + k) + mth(lo + k, hi))
        }
        memo[[lo, hi]] = result
        return result
    }

    /// PATH(m, D[lo:hi]), m relative to lo.
    func path(_ m: Int, _ lo: Int, _ hi: Int) -> [[UInt8]] {
        let n = hi - lo
        if n == 1 { return [] }  // PATH(0, {d(0)}) = {}
        let k = Self.k(n)
        if m < k {
            return path(m, lo, lo + k) + [mth(lo + k, hi)]  // PATH(m, D[0:k]) : MTH(D[k:n])
        }
        return path(m - k, lo + k, hi) + [mth(lo, lo + k)]  // PATH(m - k, D[k:n]) : MTH(D[0:k])
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
    func proof(_ m: Int, _ n: Int) -> [[UInt8]] { subproof(m, 0, n, true) }

    /// SUBPROOF(m, D[lo:hi], b), m relative to lo.
    func subproof(_ m: Int, _ lo: Int, _ hi: Int, _ b: Bool) -> [[UInt8]] {
        let n = hi - lo
        if m == n { return b ? [] : [mth(lo, hi)] }
        let k = Self.k(n)
        if m <= k {
            return subproof(m, lo, lo + k, b) + [mth(lo + k, hi)]  // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
        }
        return subproof(m - k, lo + k, hi, false) + [mth(lo, lo + k)]  // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
    }
}

/// A small deterministic generator (SplitMix64), so sampled cases are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The entry of leaf `index` in the test logs.
func entry(_ index: Int) -> [UInt8] { Array("entry \(index)".utf8) }

/// A log of `size` test entries.
func makeLog(size: Int) -> MemoryNodeStore {
    var log = MemoryNodeStore()
    for index in 0..<size { log.append(entry: entry(index)) }
    return log
}

/// The shared log of 2000 entries (immutable, built once).
let log2000 = makeLog(size: 2000)

/// The error `body` throws, or nil if it returns.
func caught<E: Error>(_ body: () throws(E) -> Void) -> E? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

/// The case name of an enum value with a payload (its Mirror label), or its description.
func caseName(_ value: (any Error)?) -> String? {
    guard let value else { return nil }
    return Mirror(reflecting: value).children.first?.label ?? String(describing: value)
}

/// Bytes of a hex string (test vectors).
func hexBytes(_ hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        bytes.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// Bytes of base64 (test vectors).
func base64Bytes(_ text: String) -> [UInt8] { Array(Data(base64Encoded: text)!) }

extension Hash {
    /// A hash from a test vector's bytes.
    init(_ bytes: [UInt8]) { try! self.init(bytes: bytes) }
}
