/// Strict standard base64 (RFC 4648 with padding), as SASL responses use it. Small and allocation-light,
/// so the auth hot path does not bridge through Foundation.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The 6-bit value of a base64 letter, 0xFF for anything else (arithmetic, not a table: no
    /// global to reach on the hot path).
    @inline(__always)
    static func value(of c: UInt8) -> UInt8 {
        switch c {
        case 0x41...0x5A: c - 0x41
        case 0x61...0x7A: c - 0x61 + 26
        case 0x30...0x39: c - 0x30 + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: 0xFF
        }
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
        guard text.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3)
        var buffer: UInt32 = 0
        var count = 0
        var padding = 0
        for c in text {
            if c == UInt8(ascii: "=") {
                padding += 1
                guard padding <= 2 else { return nil }
                buffer <<= 6
            } else {
                guard padding == 0 else { return nil }
                let v = value(of: c)
                guard v != 0xFF else { return nil }
                buffer = buffer << 6 | UInt32(v)
            }
            count += 1
            if count == 4 {
                out.append(UInt8(buffer >> 16 & 0xFF))
                if padding < 2 { out.append(UInt8(buffer >> 8 & 0xFF)) }
                if padding < 1 { out.append(UInt8(buffer & 0xFF)) }
                buffer = 0; count = 0
            }
        }
        return out
    }
}
