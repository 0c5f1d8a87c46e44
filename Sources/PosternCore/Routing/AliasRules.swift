/// What an alias may be: a local part (RFC 5321 dot-string) in one of its mailbox's domains.
public enum AliasRules {
    /// Role addresses (RFC 2142 and the usual ones): only administrators give them out.
    public static let reserved: Set<String> = [
        "postmaster", "abuse", "hostmaster", "webmaster", "mailer-daemon", "root", "noc", "security",
        "admin", "administrator", "nobody", "no-reply", "noreply", "ssl-admin", "usenet", "uucp", "www",
    ]

    /// The characters of an RFC 5321 atom besides letters and digits.
    static let atomSpecials = Set("!#$%&'*+-/=?^_`{|}~".utf8)

    /// Validates a local part and returns it in lowercase. `delimiter`: the recipient delimiter
    /// (`+`), which an alias may not hold: `info+news` is looked up as `info`.
    public static func localPart(_ text: String, delimiter: Character?) throws(PosternError) -> String {
        let local = text.lowercased()
        func refuse(_ why: String) -> PosternError {
            PosternError(.invalidAlias, "'\(text.prefix(80))' is not a valid alias: \(why)")
        }
        guard !local.isEmpty, local.utf8.count <= 64 else { throw refuse("the part before @ must be 1 to 64 characters") }
        guard local.utf8.allSatisfy({ $0 < 0x80 }) else { throw refuse("only ASCII letters, digits and !#$%&'*+-/=?^_`{|}~ and dots") }
        for atom in local.split(separator: ".", omittingEmptySubsequences: false) {
            guard !atom.isEmpty else { throw refuse("dots may not start or end it, nor stand two in a row") }
            for byte in atom.utf8 where !(byte >= 0x61 && byte <= 0x7A) && !(byte >= 0x30 && byte <= 0x39) && !atomSpecials.contains(byte) {
                throw refuse("'\(Character(Unicode.Scalar(byte)))' is not allowed; use letters, digits, dots and !#$%&'*+-/=?^_`{|}~")
            }
        }
        if let delimiter, local.contains(delimiter) {
            throw refuse("'\(delimiter)' is the recipient delimiter (\(local.split(separator: delimiter)[0])\(delimiter)anything reaches \(local.split(separator: delimiter)[0]))")
        }
        return local
    }

    public static func isReserved(_ local: String) -> Bool { reserved.contains(local.lowercased()) }
}
