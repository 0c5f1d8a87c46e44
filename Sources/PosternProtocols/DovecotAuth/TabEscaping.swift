/// Dovecot's tab-escaping of field values: 0x01 is the escape byte, followed by
/// `1`, `t`, `r`, `n` or `0` for 0x01, TAB, CR, LF and NUL.
public enum TabEscaping {
    @inline(__always)
    public static func needsEscaping(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.contains { $0 == 0x01 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }

    public static func escape(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        guard needsEscaping(bytes) else {
            out.append(contentsOf: bytes)  // the usual case: one copy
            return
        }
        for byte in bytes {
            switch byte {
            case 0x01: out.append(0x01); out.append(UInt8(ascii: "1"))
            case 0x09: out.append(0x01); out.append(UInt8(ascii: "t"))
            case 0x0D: out.append(0x01); out.append(UInt8(ascii: "r"))
            case 0x0A: out.append(0x01); out.append(UInt8(ascii: "n"))
            case 0x00: out.append(0x01); out.append(UInt8(ascii: "0"))
            default: out.append(byte)
            }
        }
    }

    public static func escape(_ text: String) -> String {
        guard needsEscaping(text.utf8) else { return text }
        var out: [UInt8] = []
        escape(text.utf8, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Unescapes a field; an unknown escape keeps the byte after 0x01, as Dovecot does.
    public static func unescape(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard bytes.contains(0x01) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var escaped = false
        for byte in bytes {
            if escaped {
                switch byte {
                case UInt8(ascii: "1"): out.append(0x01)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "0"): out.append(0x00)
                default: out.append(byte)
                }
                escaped = false
            } else if byte == 0x01 {
                escaped = true
            } else {
                out.append(byte)
            }
        }
        return out[...]
    }
}
