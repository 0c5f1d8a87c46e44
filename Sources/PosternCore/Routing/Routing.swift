import Foundation

/// An alias: another address that delivers to a mailbox.
public struct Alias: Codable, Sendable, Equatable {
    public var address: String
    public var mailbox: String
    public var createdAt: Date

    public init(address: String, mailbox: String, createdAt: Date = Date()) {
        self.address = address
        self.mailbox = mailbox
        self.createdAt = createdAt
    }
}

/// Where a mailbox's mail goes instead (or as well, with `keepCopy`).
public struct Redirection: Codable, Sendable, Equatable {
    public var mailbox: String
    public var targets: [String]
    public var keepCopy: Bool

    /// Targets a mailbox may redirect to at most.
    public static let maxTargets = 50

    public init(mailbox: String, targets: [String], keepCopy: Bool) {
        self.mailbox = mailbox
        self.targets = targets
        self.keepCopy = keepCopy
    }
}

/// Which external targets an organization's mailboxes may redirect to.
public enum RedirectionScope: String, Codable, Sendable, CaseIterable {
    /// Any address.
    case any
    /// Only addresses in the organization's own domains.
    case ownDomains = "own-domains"
}

/// A redirection set, with the one it replaced.
public struct RedirectionChange: Codable, Sendable, Equatable {
    public var redirection: Redirection
    public var previous: Redirection?
    public init(redirection: Redirection, previous: Redirection?) {
        self.redirection = redirection
        self.previous = previous
    }
}
