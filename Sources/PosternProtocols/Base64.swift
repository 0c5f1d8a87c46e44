/// Strict standard base64 (RFC 4648 with padding), as SASL responses use it. Small and allocation-light,
/// so the auth hot path does not bridge through Foundation.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

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
                let v = decodeTable[Int(c)]
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
