/// The store's statements are written once, in SQL both engines run, with `?` placeholders; this
/// is the short list of what PostgreSQL spells otherwise.
enum PostgresDialect {
    /// `?` becomes `$1`, `$2`… (outside quoted strings and names); `group_concat(` becomes `string_agg(`.
    static func translate(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        var quote: Character?
        for c in sql {
            if let q = quote {
                out.append(c)
                if c == q { quote = nil }
                continue
            }
            switch c {
            case "'", "\"":
                quote = c
                out.append(c)
            case "?":
                n += 1
                out += "$\(n)"
            default:
                out.append(c)
            }
        }
        return out.replacingOccurrences(of: "group_concat(", with: "string_agg(")
    }
}
