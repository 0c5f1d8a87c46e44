import Foundation

/// A user's bearer secret as listed: never the secret itself.
public struct APIToken: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case token, session }
    public var id: Int64
    public var login: String
    public var kind: Kind
    public var name: String
    public var createdAt: Date
    public var expiresAt: Date
    public var lastUsedAt: Date?
    public var lastIP: String?

    public init(id: Int64, login: String, kind: Kind, name: String, createdAt: Date, expiresAt: Date, lastUsedAt: Date?, lastIP: String?) {
        self.id = id
        self.login = login
        self.kind = kind
        self.name = name
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.lastIP = lastIP
    }

    /// A new secret: "pt_" (token) or "ps_" (session) and 32 random bytes in base64url, 46 characters.
    public static func secret(_ kind: Kind) -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        let text = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return (kind == .token ? "pt_" : "ps_") + text
    }

    /// Whether a text looks like one of our secrets (anything else is refused before any lookup).
    public static func looksLikeSecret(_ text: String) -> Bool {
        text.utf8.count == 46 && (text.hasPrefix("pt_") || text.hasPrefix("ps_"))
            && text.utf8.dropFirst(3).allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }
    }

    /// Days a token may live: 1 to 366 (default 90).
    public static func checkDays(_ days: Int) throws(PosternError) {
        guard (1...366).contains(days) else {
            throw PosternError(.invalidExpiry, "a token lives 1 to 366 days; make a new one when it ends")
        }
    }
}

/// A token or session just made: its secret, shown this once.
public struct NewToken: Codable, Sendable {
    public var token: APIToken
    public var secret: String
    public init(token: APIToken, secret: String) {
        self.token = token
        self.secret = secret
    }
}

/// A page of the list; `next` (when there is more) is the `after` of the next page.
public struct TokenList: Codable, Sendable {
    public var tokens: [APIToken]
    public var next: String?
    public init(tokens: [APIToken], next: String? = nil) {
        self.tokens = tokens
        self.next = next
    }
    public init(_ page: Page<APIToken>) { self.init(tokens: page.items, next: page.next) }
}
public struct TokenBody: Codable, Sendable { public var token: APIToken; public init(token: APIToken) { self.token = token } }

/// `POST /v1/tokens`: a name, a life in days (default 90), and for the operator whose token it is.
public struct TokenInput: Codable, Sendable {
    public var name: String
    public var days: Int?
    public var login: String?
    public init(name: String, days: Int?, login: String?) {
        self.name = name
        self.days = days
        self.login = login
    }
}

/// `POST /v1/session`: sign in with a login and an account password.
public struct SignInInput: Codable, Sendable {
    public var login: String
    public var password: String
    public init(login: String, password: String) {
        self.login = login
        self.password = password
    }
}
