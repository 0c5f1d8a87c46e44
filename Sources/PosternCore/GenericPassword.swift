/// A mailbox's imported password: a hash in one of Dovecot's schemes. Never displayed, never reset.
public struct GenericPassword: Sendable, Equatable, Codable {
    /// The Dovecot password schemes Postern can verify.
    public enum Scheme: String, Sendable, CaseIterable, Codable {
        case sha512Crypt = "SHA512-CRYPT"
        case sha256Crypt = "SHA256-CRYPT"
        case blfCrypt = "BLF-CRYPT"
        case md5Crypt = "MD5-CRYPT"
        case crypt = "CRYPT"

        /// The crypt(3) prefixes a hash of this scheme must start with; nil when any crypt hash is allowed.
        var cryptPrefixes: [String]? {
            switch self {
            case .sha512Crypt: ["$6$"]
            case .sha256Crypt: ["$5$"]
            case .blfCrypt: ["$2a$", "$2b$", "$2y$"]
            case .md5Crypt: ["$1$"]
            case .crypt: nil
            }
        }
    }

    public let scheme: Scheme
    public let hash: String

    /// The stored form, as Dovecot writes it: `{SHA512-CRYPT}$6$…`.
    public var stored: String { "{\(scheme.rawValue)}\(hash)" }

    public init(scheme: Scheme, hash: String) throws(PosternError) {
        guard !hash.isEmpty, hash.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw PosternError(.invalid, code: "invalid_hash", "the {\(scheme.rawValue)} hash is empty or holds spaces or control characters")
        }
        if let prefixes = scheme.cryptPrefixes, !prefixes.contains(where: { hash.hasPrefix($0) }) {
            throw PosternError(.invalid, code: "invalid_hash", "a {\(scheme.rawValue)} hash must start with \(prefixes.joined(separator: " or "))")
        }
        if scheme == .crypt, hash.count < 13 {
            throw PosternError(.invalid, code: "invalid_hash", "the {CRYPT} hash is too short to be a crypt(3) hash")
        }
        self.scheme = scheme
        self.hash = hash
    }

    /// Parses `{SCHEME}hash`; a value without `{SCHEME}` is taken as {CRYPT}, Dovecot's passwd-file default.
    public init(parsing text: some StringProtocol) throws(PosternError) {
        let text = Substring(text)
        guard text.hasPrefix("{") else {
            try self.init(scheme: .crypt, hash: String(text))
            return
        }
        guard let close = text.firstIndex(of: "}") else {
            throw PosternError(.invalid, code: "invalid_hash", "the password field starts with { but has no closing }")
        }
        let name = text[text.index(after: text.startIndex)..<close].uppercased()
        guard let scheme = Scheme(rawValue: name) else {
            let known = Scheme.allCases.map { "{\($0.rawValue)}" }.joined(separator: ", ")
            throw PosternError(.invalid, code: "unknown_scheme", "unknown password scheme {\(name.prefix(32))}; Postern verifies \(known)")
        }
        try self.init(scheme: scheme, hash: String(text[text.index(after: close)...]))
    }

    public init(from decoder: any Decoder) throws {
        self = try GenericPassword(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(stored)
    }
}
