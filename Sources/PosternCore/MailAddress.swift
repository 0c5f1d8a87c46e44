/// A mailbox address as Postern stores and matches it: the local part as given, the domain in lowercase.
public struct MailAddress: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let localPart: String
    public let domain: String

    public var description: String { "\(localPart)@\(domain)" }

    /// Parses and validates an address typed by an operator or imported from a file.
    public init(_ text: String) throws(PosternError) {
        guard text.utf8.count <= 254 else { throw .invalidAddress(text, why: "longer than 254 bytes") }
        guard let at = text.lastIndex(of: "@") else { throw .invalidAddress(text, why: "it has no @domain") }
        let local = String(text[..<at])
        let domain = String(text[text.index(after: at)...]).lowercased()
        guard !local.isEmpty, local.utf8.count <= 64 else {
            throw .invalidAddress(text, why: "the part before @ must be 1 to 64 bytes")
        }
        for byte in local.utf8 where byte <= 0x20 || byte == 0x7F || byte == UInt8(ascii: "@")
            || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            throw .invalidAddress(text, why: "the part before @ may not hold spaces, control characters, @, :, quotes or backslashes")
        }
        try MailAddress.validate(domain: domain, in: text)
        self.localPart = local
        self.domain = domain
    }

    /// Validates a domain name (letters, digits, hyphens, dots; at least two labels).
    public static func validate(domain: String, in text: String? = nil) throws(PosternError) {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        func fail(_ why: String) -> PosternError {
            text.map { .invalidAddress($0, why: why) }
                ?? PosternError(.invalidDomain, "'\(domain.prefix(255))' is not a domain name: \(why)")
        }
        guard !domain.isEmpty, domain.utf8.count <= 253 else { throw fail("the domain must be 1 to 253 bytes") }
        guard labels.count >= 2 else { throw fail("the domain needs at least one dot") }
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63 else { throw fail("each dot-separated part of the domain must be 1 to 63 bytes") }
            guard label.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }),
                  label.first != "-", label.last != "-" else {
                throw fail("the domain may hold only letters, digits, hyphens and dots")
            }
        }
    }

    /// The lookup key for a login as a mail server sends it: domain lowercased, nothing else changed.
    /// Cheap and non-throwing, for the hot path; an unparsable login returns itself and simply matches nothing.
    public static func loginKey(_ login: String) -> String {
        guard let at = login.utf8.lastIndex(of: UInt8(ascii: "@")) else { return login }
        let domain = login.utf8[login.utf8.index(after: at)...]
        if !domain.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) { return login }
        return String(login[..<at]) + "@" + String(Substring(domain)).lowercased()
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try MailAddress(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func < (lhs: MailAddress, rhs: MailAddress) -> Bool {
        (lhs.domain, lhs.localPart) < (rhs.domain, rhs.localPart)
    }
}
