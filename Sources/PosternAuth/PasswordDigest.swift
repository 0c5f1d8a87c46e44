@preconcurrency import Crypto
import PosternCore

/// HMAC-SHA-256 of a device password under the server key: what is stored and indexed, never the secret.
public struct PasswordDigest: Hashable, Sendable {
    public let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        let a = Array(bytes)
        func word(_ i: Int) -> UInt64 {
            var v: UInt64 = 0
            for j in 0..<8 { v = v << 8 | UInt64(a[i * 8 + j]) }
            return v
        }
        w0 = word(0); w1 = word(1); w2 = word(2); w3 = word(3)
    }

    /// The digest of a typed device password (separators and case folded, see `DevicePassword`).
    public init(password: some Collection<UInt8>, key: ServerKey) {
        let canonical = DevicePassword.canonicalBytes(utf8: password)
        var hmac = key.keyed
        hmac.update(data: canonical)
        let mac = hmac.finalize()
        self = mac.withUnsafeBytes { PasswordDigest(bytes: $0)! }
    }

    public var bytes: [UInt8] {
        [w0, w1, w2, w3].flatMap { w in (0..<8).reversed().map { UInt8(truncatingIfNeeded: w >> (UInt64($0) * 8)) } }
    }
}
