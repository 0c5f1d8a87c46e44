/// The store's statements are written once, in SQL both engines run, with `?` placeholders; this
/// is the short list of what PostgreSQL spells otherwise.
enum PostgresDialect {
    /// `?` becomes `$1`, `$2`… and `group_concat(` becomes `string_agg(`, outside quoted strings
    /// and names. One pass over the bytes: an import batch's statement holds 10,000 placeholders.
    static func translate(_ sql: String) -> String {
        let from = Array("group_concat(".utf8), to = Array("string_agg(".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(sql.utf8.count + sql.utf8.count / 2)
        var n = 0
        var quote: UInt8?
        var bytes = sql.utf8[...]
        while let c = bytes.first {
            if let q = quote {
                out.append(c)
                bytes = bytes.dropFirst()
                if c == q { quote = nil }
                continue
            }
            switch c {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                quote = c
                out.append(c)
            case UInt8(ascii: "?"):
                n += 1
                out.append(UInt8(ascii: "$"))
                out.append(contentsOf: String(n).utf8)
            case UInt8(ascii: "g") where bytes.starts(with: from):
                out.append(contentsOf: to)
                bytes = bytes.dropFirst(from.count)
                continue
            default:
                out.append(c)
            }
            bytes = bytes.dropFirst()
        }
        return String(decoding: out, as: UTF8.self)
    }
}
