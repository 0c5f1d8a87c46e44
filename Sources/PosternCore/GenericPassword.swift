import Foundation

/// A mailbox's imported password: a hash in one of Dovecot's schemes. Never displayed, never reset.
public struct GenericPassword: Sendable, Equatable, Codable {
    /// The Dovecot password schemes Postern can verify.
    public enum Scheme: String, Sendable, CaseIterable, Codable {
        case sha512Crypt = "SHA512-CRYPT"
        case sha256Crypt = "SHA256-CRYPT"
        case blfCrypt = "BLF-CRYPT"
        case md5Crypt = "MD5-CRYPT"
        case crypt = "CRYPT"
        case argon2i = "ARGON2I"
        case argon2id = "ARGON2ID"
        case ssha512 = "SSHA512"
        case ssha256 = "SSHA256"
        case ssha = "SSHA"
        case sha512 = "SHA512"
        case sha256 = "SHA256"
        case sha1 = "SHA1"
        case plain = "PLAIN"

        /// Other names Dovecot accepts for the same scheme.
        static let aliases: [String: Scheme] = ["MD5": .md5Crypt, "CLEARTEXT": .plain, "SHA": .sha1, "BLF": .blfCrypt]

        /// The crypt(3) prefixes a hash of this scheme must start with.
        var cryptPrefixes: [String]? {
            switch self {
            case .sha512Crypt: ["$6$"]
            case .sha256Crypt: ["$5$"]
            case .blfCrypt: ["$2a$", "$2b$", "$2y$"]
            case .md5Crypt: ["$1$"]
            case .argon2i: ["$argon2i$"]
            case .argon2id: ["$argon2id$"]
            default: nil
            }
        }

        /// Schemes verified through libxcrypt's crypt_r.
        public var isCrypt: Bool { [.sha512Crypt, .sha256Crypt, .blfCrypt, .md5Crypt, .crypt].contains(self) }

        /// Deliberately slow schemes (crypt family, Argon2): verified on a thread pool, never on an event loop.
        public var isSlow: Bool { isCrypt || self == .argon2i || self == .argon2id }

        /// Bytes of the digest for the SHA family (salted ones append their salt after it).
        public var digestLength: Int? {
            switch self {
            case .sha512, .ssha512: 64
            case .sha256, .ssha256: 32
            case .sha1, .ssha: 20
            default: nil
            }
        }

        public var isSalted: Bool { [.ssha512, .ssha256, .ssha].contains(self) }
    }

    /// How the SHA family writes its bytes: base64 (Dovecot's default) or hex (`{SHA256.HEX}`).
    public enum Encoding: String, Sendable, Codable {
        case base64 = "B64"
        case hex = "HEX"
    }

    public let scheme: Scheme
    public let encoding: Encoding
    public let hash: String

    /// The stored form, as Dovecot writes it: `{SHA512-CRYPT}$6$…`, `{SHA256.HEX}4104…`.
    public var stored: String {
        "{\(scheme.rawValue)\(scheme.digestLength != nil && encoding == .hex ? ".HEX" : "")}\(hash)"
    }

    /// A value checked before (by `init(scheme:encoding:hash:)`), as the index keeps it.
    public init(trusted scheme: Scheme, encoding: Encoding, hash: String) {
        self.scheme = scheme
        self.encoding = encoding
        self.hash = hash
    }

    public init(scheme: Scheme, encoding: Encoding = .base64, hash: String) throws(PosternError) {
        func invalid(_ why: String) -> PosternError {
            PosternError(.invalidHash, "the {\(scheme.rawValue)} value \(why)")
        }
        if scheme == .plain {
            guard !hash.isEmpty, !hash.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw invalid("is empty or holds control characters")
            }
        } else {
            guard !hash.isEmpty, hash.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw invalid("is empty or holds spaces or control characters")
            }
        }
        if let prefixes = scheme.cryptPrefixes, !prefixes.contains(where: { hash.hasPrefix($0) }) {
            throw invalid("must start with \(prefixes.joined(separator: " or "))")
        }
        if scheme == .crypt, hash.count < 13 { throw invalid("is too short to be a crypt(3) hash") }
        if let length = scheme.digestLength {
            guard let bytes = Self.decode(hash, encoding) else {
                throw invalid("is not valid \(encoding == .hex ? "hex" : "base64")")
            }
            if scheme.isSalted ? bytes.count <= length : bytes.count != length {
                throw invalid("has \(bytes.count) bytes; a {\(scheme.rawValue)} value has \(scheme.isSalted ? "more than \(length) (digest and salt)" : "\(length)")")
            }
        }
        self.scheme = scheme
        self.encoding = encoding
        self.hash = hash
    }

    /// Parses `{SCHEME}hash` (with an optional `.HEX`/`.B64` suffix on the scheme); a value without
    /// `{SCHEME}` is taken as {CRYPT}, Dovecot's passwd-file default.
    public init(parsing text: some StringProtocol) throws(PosternError) {
        let text = Substring(text)
        guard text.hasPrefix("{") else {
            try self.init(scheme: .crypt, hash: String(text))
            return
        }
        guard let close = text.firstIndex(of: "}") else {
            throw PosternError(.invalidHash, "the password field starts with { but has no closing }")
        }
        var name = text[text.index(after: text.startIndex)..<close].uppercased()
        var encoding = Encoding.base64
        for (suffix, value) in [(".HEX", Encoding.hex), (".B64", .base64), (".BASE64", .base64)] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
            encoding = value
        }
        guard let scheme = Scheme(rawValue: name) ?? Scheme.aliases[name] else {
            let known = Scheme.allCases.map { "{\($0.rawValue)}" }.joined(separator: ", ")
            throw PosternError(.unknownScheme, "unknown password scheme {\(name.prefix(32))}; Postern verifies \(known)")
        }
        try self.init(scheme: scheme, encoding: encoding, hash: String(text[text.index(after: close)...]))
    }

    /// The raw bytes of a SHA-family value.
    public var digestBytes: [UInt8]? { Self.decode(hash, encoding) }

    static func decode(_ text: String, _ encoding: Encoding) -> [UInt8]? {
        switch encoding {
        case .base64:
            return Data(base64Encoded: text).map { Array($0) }
        case .hex:
            return Hex.decode(text)
        }
    }

    public init(from decoder: any Decoder) throws {
        self = try GenericPassword(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(stored)
    }
}
