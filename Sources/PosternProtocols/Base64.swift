/// Strict standard base64 (RFC 4648 with padding), as SASL responses use it. Small and allocation-light,
/// so the auth hot path does not bridge through Foundation.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The 6-bit value of a base64 letter, -1 for anything else. Branch-free (the range tests are
    /// sign masks), as in libsodium's constant-time decoder: base64 of a password is random
    /// letters, on which a `switch` mispredicts about every other byte.
    @inline(__always)
    static func value(of byte: UInt8) -> Int32 {
        let c = Int32(byte)
        var v: Int32 = -1
        v &+= ((64 &- c) & (c &- 91)) >> 31 & (c &- 64)   // A-Z: 0-25
        v &+= ((96 &- c) & (c &- 123)) >> 31 & (c &- 70)  // a-z: 26-51
        v &+= ((47 &- c) & (c &- 58)) >> 31 & (c &+ 5)    // 0-9: 52-61
        v &+= ((42 &- c) & (c &- 44)) >> 31 & 63          // +: 62
        v &+= ((46 &- c) & (c &- 48)) >> 31 & 64          // /: 63
        return v
    }

    public static func encode(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        var buffer: UInt32 = 0
        var count = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            count += 1
            if count == 3 {
                out.append(alphabet[Int(buffer >> 18 & 63)]); out.append(alphabet[Int(buffer >> 12 & 63)])
                out.append(alphabet[Int(buffer >> 6 & 63)]); out.append(alphabet[Int(buffer & 63)])
                buffer = 0; count = 0
            }
        }
        if count == 1 {
            buffer <<= 16
            out.append(alphabet[Int(buffer >> 18 & 63)]); out.append(alphabet[Int(buffer >> 12 & 63)])
            out.append(UInt8(ascii: "=")); out.append(UInt8(ascii: "="))
        } else if count == 2 {
            buffer <<= 8
            out.append(alphabet[Int(buffer >> 18 & 63)]); out.append(alphabet[Int(buffer >> 12 & 63)])
            out.append(alphabet[Int(buffer >> 6 & 63)]); out.append(UInt8(ascii: "="))
        }
    }

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        encode(bytes, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes strictly: length a multiple of 4, padding only at the end, no other bytes. nil when invalid.
    public static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        if let decoded = text.withContiguousStorageIfAvailable({ decode(contiguous: $0) }) { return decoded }
        return Array(text).withUnsafeBufferPointer { decode(contiguous: $0) }
    }

    /// Four letters at a time into an array allocated once at its final size.
    private static func decode(contiguous text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        guard text.count > 0 else { return [] }
        let padding = text[text.count - 1] == UInt8(ascii: "=") ? (text[text.count - 2] == UInt8(ascii: "=") ? 2 : 1) : 0
        let length = text.count / 4 * 3 - padding
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: length) { out, initialized in
            var o = 0
            var i = 0
            while i < text.count {
                let last = i + 4 == text.count
                let a = value(of: text[i]), b = value(of: text[i + 1])
                let c = last && padding == 2 ? 0 : value(of: text[i + 2])
                let d = last && padding >= 1 ? 0 : value(of: text[i + 3])
                guard a | b | c | d >= 0 else { valid = false; break }  // -1: not a letter
                let group = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                out[o] = UInt8(truncatingIfNeeded: group >> 16)
                if o + 1 < length { out[o + 1] = UInt8(truncatingIfNeeded: group >> 8) }
                if o + 2 < length { out[o + 2] = UInt8(truncatingIfNeeded: group) }
                o += 3
                i += 4
            }
            initialized = valid ? length : 0
        }
        return valid ? out : nil
    }
}
