import Foundation

/// A sorting rule ("manage rules"): conditions on an arriving message, and what to do with it.
public struct SortingRule: Codable, Sendable, Equatable {
    public var id: Int64?
    public var name: String
    public var enabled: Bool
    /// Whether every condition must hold, or any one.
    public var match: Match
    public var conditions: [Condition]
    public var actions: [RuleAction]

    public enum Match: String, Codable, Sendable, CaseIterable { case all, any }

    public init(id: Int64? = nil, name: String, enabled: Bool = true, match: Match = .all, conditions: [Condition], actions: [RuleAction]) {
        self.id = id
        self.name = name
        self.enabled = enabled
        self.match = match
        self.conditions = conditions
        self.actions = actions
    }
}

/// One test on a message.
public struct Condition: Codable, Sendable, Equatable {
    public enum Field: String, Codable, Sendable, CaseIterable {
        case from
        /// To or Cc.
        case to
        case subject
        /// The header named in `header`.
        case header
        case size
    }

    public enum Test: String, Codable, Sendable, CaseIterable {
        case contains, `is`, matches
        /// Size only: over or under `value` (`100K`, `2M`, or bytes).
        case over, under
    }

    public var field: Field
    public var header: String?
    public var test: Test
    public var value: String

    public init(field: Field, header: String? = nil, test: Test, value: String) {
        self.field = field
        self.header = header
        self.test = test
        self.value = value
    }
}

/// What a rule does.
public struct RuleAction: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case fileinto, markread, flag, forward, discard, stop
    }

    public var kind: Kind
    /// fileinto: the folder.
    public var folder: String?
    /// forward: the address (a copy stays in the mailbox).
    public var address: String?

    public init(kind: Kind, folder: String? = nil, address: String? = nil) {
        self.kind = kind
        self.folder = folder
        self.address = address
    }

    public static func fileInto(_ folder: String) -> RuleAction { RuleAction(kind: .fileinto, folder: folder) }
    public static func forward(_ address: String) -> RuleAction { RuleAction(kind: .forward, address: address) }
    public static let markRead = RuleAction(kind: .markread)
    public static let flag = RuleAction(kind: .flag)
    public static let discard = RuleAction(kind: .discard)
    public static let stop = RuleAction(kind: .stop)
}

/// The spam filter ("manage filters"): mail over the threshold goes to a folder.
public struct SpamFilter: Codable, Sendable, Equatable {
    public var enabled: Bool
    /// For a score header: at least this score is spam (whole numbers; 5 by default).
    public var threshold: Int
    public var folder: String

    public init(enabled: Bool = false, threshold: Int = 5, folder: String = "Junk") {
        self.enabled = enabled
        self.threshold = threshold
        self.folder = folder
    }
}

/// The automatic reply ("manage responders").
public struct Responder: Codable, Sendable, Equatable {
    public var enabled: Bool
    public var subject: String
    public var text: String
    /// First and last day it answers (inclusive, UTC dates `2026-12-24`); nil: open.
    public var start: String?
    public var end: String?
    /// Answer only senders in the organization's own domains.
    public var onlyOwnDomains: Bool
    /// A sender gets one answer in this many days.
    public var days: Int

    public init(enabled: Bool = false, subject: String = "", text: String = "", start: String? = nil, end: String? = nil,
                onlyOwnDomains: Bool = false, days: Int = 7) {
        self.enabled = enabled
        self.subject = subject
        self.text = text
        self.start = start
        self.end = end
        self.onlyOwnDomains = onlyOwnDomains
        self.days = days
    }
}

/// Blocked and approved senders ("manage security"): addresses or whole domains.
public struct SenderLists: Codable, Sendable, Equatable {
    public enum BlockedAction: String, Codable, Sendable, CaseIterable {
        case discard
        /// Filed into the spam filter's folder.
        case junk
    }

    public var blocked: [String]
    public var approved: [String]
    public var blockedAction: BlockedAction

    public init(blocked: [String] = [], approved: [String] = [], blockedAction: BlockedAction = .junk) {
        self.blocked = blocked
        self.approved = approved
        self.blockedAction = blockedAction
    }
}

/// Everything a mailbox's Sieve script is made of.
public struct MailboxFilters: Codable, Sendable, Equatable {
    public var rules: [SortingRule]
    public var spam: SpamFilter
    public var responder: Responder
    public var senders: SenderLists

    public init(rules: [SortingRule] = [], spam: SpamFilter = SpamFilter(), responder: Responder = Responder(), senders: SenderLists = SenderLists()) {
        self.rules = rules
        self.spam = spam
        self.responder = responder
        self.senders = senders
    }
}

// Absent fields take their defaults, so an API client sends only what it sets.
extension SortingRule {
    enum CodingKeys: String, CodingKey { case id, name, enabled, match, conditions, actions }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try c.decodeIfPresent(Int64.self, forKey: .id), name: try c.decode(String.self, forKey: .name),
                  enabled: try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true, match: try c.decodeIfPresent(Match.self, forKey: .match) ?? .all,
                  conditions: try c.decode([Condition].self, forKey: .conditions), actions: try c.decode([RuleAction].self, forKey: .actions))
    }
}

extension SpamFilter {
    enum CodingKeys: String, CodingKey { case enabled, threshold, folder }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = SpamFilter()
        self.init(enabled: try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? defaults.enabled,
                  threshold: try c.decodeIfPresent(Int.self, forKey: .threshold) ?? defaults.threshold,
                  folder: try c.decodeIfPresent(String.self, forKey: .folder) ?? defaults.folder)
    }
}

extension Responder {
    enum CodingKeys: String, CodingKey { case enabled, subject, text, start, end, onlyOwnDomains, days }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Responder()
        self.init(enabled: try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? d.enabled,
                  subject: try c.decodeIfPresent(String.self, forKey: .subject) ?? d.subject,
                  text: try c.decodeIfPresent(String.self, forKey: .text) ?? d.text,
                  start: try c.decodeIfPresent(String.self, forKey: .start), end: try c.decodeIfPresent(String.self, forKey: .end),
                  onlyOwnDomains: try c.decodeIfPresent(Bool.self, forKey: .onlyOwnDomains) ?? d.onlyOwnDomains,
                  days: try c.decodeIfPresent(Int.self, forKey: .days) ?? d.days)
    }
}

extension SenderLists {
    enum CodingKeys: String, CodingKey { case blocked, approved, blockedAction }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(blocked: try c.decodeIfPresent([String].self, forKey: .blocked) ?? [],
                  approved: try c.decodeIfPresent([String].self, forKey: .approved) ?? [],
                  blockedAction: try c.decodeIfPresent(BlockedAction.self, forKey: .blockedAction) ?? .junk)
    }
}

extension Condition {
    enum CodingKeys: String, CodingKey { case field, header, test, value }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(field: try c.decode(Field.self, forKey: .field), header: try c.decodeIfPresent(String.self, forKey: .header),
                  test: try c.decodeIfPresent(Test.self, forKey: .test) ?? .contains, value: try c.decode(String.self, forKey: .value))
    }
}

/// The control API's bodies for a mailbox's mail settings.
public struct RulesBody: Codable, Sendable {
    public var mailbox: String
    public var rules: [SortingRule]
    public init(mailbox: String, rules: [SortingRule]) {
        self.mailbox = mailbox
        self.rules = rules
    }
}

public struct RulesInput: Codable, Sendable {
    public var rules: [SortingRule]
    public init(rules: [SortingRule]) { self.rules = rules }
}

public struct SpamFilterBody: Codable, Sendable {
    public var mailbox: String
    public var spam: SpamFilter
    public init(mailbox: String, spam: SpamFilter) {
        self.mailbox = mailbox
        self.spam = spam
    }
}

public struct ResponderBody: Codable, Sendable {
    public var mailbox: String
    public var responder: Responder
    public init(mailbox: String, responder: Responder) {
        self.mailbox = mailbox
        self.responder = responder
    }
}

public struct SenderListsBody: Codable, Sendable {
    public var mailbox: String
    public var senders: SenderLists
    public init(mailbox: String, senders: SenderLists) {
        self.mailbox = mailbox
        self.senders = senders
    }
}

/// A user's signature for a mailbox, with the reply-to address webmail puts on their mail.
public struct Signature: Codable, Sendable, Equatable {
    public var mailbox: String
    public var login: String
    public var text: String
    public var replyTo: String?
    public init(mailbox: String, login: String, text: String, replyTo: String?) {
        self.mailbox = mailbox
        self.login = login
        self.text = text
        self.replyTo = replyTo
    }
}

public struct SignatureInput: Codable, Sendable {
    public var text: String
    public var replyTo: String?
    public init(text: String, replyTo: String?) {
        self.text = text
        self.replyTo = replyTo
    }
}

public struct FolderList: Codable, Sendable {
    public var mailbox: String
    public var folders: [String]
    public init(mailbox: String, folders: [String]) {
        self.mailbox = mailbox
        self.folders = folders
    }
}

public struct FolderInput: Codable, Sendable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct FolderBody: Codable, Sendable {
    public var mailbox: String
    public var folder: String
    public init(mailbox: String, folder: String) {
        self.mailbox = mailbox
        self.folder = folder
    }
}

/// The mailboxes whose Sieve scripts were written again.
public struct SieveRewrite: Codable, Sendable {
    public var written: [String]
    public init(written: [String]) { self.written = written }
}

public struct SieveRewriteInput: Codable, Sendable {
    public var mailboxes: [String]?
    public init(mailboxes: [String]?) { self.mailboxes = mailboxes }
}
