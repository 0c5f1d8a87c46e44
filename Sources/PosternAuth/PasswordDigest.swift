@preconcurrency import Crypto
import PosternCore

/// HMAC-SHA-256 of a device password under the server key: what is stored and indexed, never the secret.
public struct PasswordDigest: Hashable, Sendable {
    public let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        self = Array(bytes).withUnsafeBytes { PasswordDigest(raw: $0) }
    }

    /// The digest of a typed device password (separators and case folded, see `DevicePassword`).
    public init(password: [UInt8], key: ServerKey) {
        // The canonical form (`DevicePassword.canonical`) in a stack buffer: no allocation.
        self = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(password.count, 1)) { canonical in
            var n = 0
            for byte in password {
                guard let c = DevicePassword.canonical(byte) else { continue }
                canonical[n] = c
                n += 1
            }
            var inner = key.inner
            inner.update(bufferPointer: UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(canonical)[0..<n]))
            var outer = key.outer
            inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
            return outer.finalize().withUnsafeBytes { PasswordDigest(raw: $0) }
        }
    }

    @inline(__always)
    init(raw: UnsafeRawBufferPointer) {
        w0 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        w1 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        w2 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        w3 = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    public var bytes: [UInt8] {
        [w0, w1, w2, w3].flatMap { w in (0..<8).reversed().map { UInt8(truncatingIfNeeded: w >> (UInt64($0) * 8)) } }
    }
}

/// In the change log as 64 hex digits.
extension PasswordDigest: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let bytes = Hex.decode(text), let digest = PasswordDigest(bytes: bytes) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a 32-byte digest in hex"))
        }
        self = digest
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Hex.encode(bytes))
    }
}
