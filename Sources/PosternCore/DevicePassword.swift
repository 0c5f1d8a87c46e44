import Foundation

/// The generated secret of a device password: easy to type on a phone, at least 100 bits of entropy.
///
/// 24 characters from 31 symbols (lowercase letters and digits without the look-alikes
/// 0/o, 1/l/i) in four groups of six: 24 × log2(31) ≈ 118.9 bits.
public enum DevicePassword {
    public static let alphabet: [UInt8] = Array("abcdefghjkmnpqrstuvwxyz23456789".utf8)
    public static let groups = 4
    public static let groupLength = 6
    public static let separator: UInt8 = UInt8(ascii: "-")

    /// Bits of entropy in one generated secret.
    public static var entropyBits: Double {
        Double(groups * groupLength) * log2(Double(alphabet.count))
    }

    /// A fresh secret such as `k7mbqz-4hx2wd-rn9tpe-3vjcfa`.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        return generate(using: &rng)
    }

    public static func generate<R: RandomNumberGenerator>(using rng: inout R) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(groups * (groupLength + 1))
        for group in 0..<groups {
            if group > 0 { bytes.append(separator) }
            for _ in 0..<groupLength {
                bytes.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// What the digest is taken over: the secret without group separators (dashes or spaces), so that
    /// `k7mbqz-4hx2wd-…`, `k7mbqz 4hx2wd …` and `k7mbqz4hx2wd…` are the same password.
    /// Uppercase letters are folded too, as phones like to capitalise the first letter.
    @inline(__always)
    public static func canonicalBytes(_ typed: some StringProtocol) -> [UInt8] {
        canonicalBytes(utf8: typed.utf8)
    }

    @inline(__always)
    public static func canonicalBytes(utf8 typed: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(typed.count)
        for byte in typed { if let c = canonical(byte) { out.append(c) } }
        return out
    }

    /// One typed byte in canonical form: nil for a group separator, letters lowercased.
    @inlinable
    public static func canonical(_ byte: UInt8) -> UInt8? {
        if byte == separator || byte == UInt8(ascii: " ") { return nil }
        return byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}
