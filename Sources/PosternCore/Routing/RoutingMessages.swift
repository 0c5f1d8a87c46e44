/// The control API's bodies for aliases and redirections.
public struct AliasInput: Codable, Sendable {
    /// `info` (in the mailbox's domain) or `info@another-domain-of-its-service`.
    public var alias: String
    public init(alias: String) { self.alias = alias }
}

public struct AliasBody: Codable, Sendable {
    public var alias: Alias
    public init(alias: Alias) { self.alias = alias }
}

public struct AliasList: Codable, Sendable {
    public var mailbox: String
    public var aliases: [Alias]
    /// The `after` of the next page, when there is more.
    public var next: String?
    public init(mailbox: String, aliases: [Alias], next: String? = nil) {
        self.mailbox = mailbox
        self.aliases = aliases
        self.next = next
    }
}

public struct RedirectionInput: Codable, Sendable {
    public var targets: [String]
    public var keepCopy: Bool?
    public init(targets: [String], keepCopy: Bool?) {
        self.targets = targets
        self.keepCopy = keepCopy
    }
}

/// A mailbox's redirection; null when its mail is not redirected.
public struct RedirectionBody: Codable, Sendable {
    public var mailbox: String
    public var redirection: Redirection?
    public init(mailbox: String, redirection: Redirection?) {
        self.mailbox = mailbox
        self.redirection = redirection
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mailbox, forKey: .mailbox)
        try container.encode(redirection, forKey: .redirection)  // null, not left out
    }
}

public struct RedirectionScopeBody: Codable, Sendable {
    public var organization: String
    public var scope: RedirectionScope
    public init(organization: String, scope: RedirectionScope) {
        self.organization = organization
        self.scope = scope
    }
}

public struct RedirectionScopeInput: Codable, Sendable {
    public var scope: RedirectionScope
    public init(scope: RedirectionScope) { self.scope = scope }
}
