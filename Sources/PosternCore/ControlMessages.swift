import Foundation

// The bodies of the control API (openapi.yaml), shared by posternd and the postern command.

public struct NameInput: Codable, Sendable { public let name: String; public init(name: String) { self.name = name } }
public struct DeviceInput: Codable, Sendable {
    public let name: String
    /// Service names; absent, null or empty: every service.
    public let scopes: [String]?
    /// When the password stops working; absent: never.
    public let expiresAt: Date?
    public init(name: String, scopes: [String]?, expiresAt: Date? = nil) {
        self.name = name
        self.scopes = scopes
        self.expiresAt = expiresAt
    }
}
public struct ExpiryInput: Codable, Sendable {
    /// null: never.
    public let expiresAt: Date?
    public init(expiresAt: Date?) { self.expiresAt = expiresAt }
}
public struct ScopeInput: Codable, Sendable { public let scopes: [String]?; public init(scopes: [String]?) { self.scopes = scopes } }
public struct DeviceBody: Codable, Sendable { public let device: Device; public init(device: Device) { self.device = device } }
public struct AddressInput: Codable, Sendable { public let address: String; public init(address: String) { self.address = address } }
public struct ConfirmInput: Codable, Sendable { public let confirm: Bool?; public init(confirm: Bool?) { self.confirm = confirm } }
public struct ServiceInput: Codable, Sendable {
    public let name: String
    public let organization: String
    public let domains: [String]
    public init(name: String, organization: String, domains: [String]) {
        self.name = name
        self.organization = organization
        self.domains = domains
    }
}

public struct Health: Codable, Sendable { public let status: String; public let devicePasswords: Int; public let genericPasswords: Int
    /// Where this node is in the shared change log (several nodes on PostgreSQL; nil on SQLite).
    public var feed: FeedStatus?
    /// What writes asked of the mail servers and is not done yet (Sieve scripts, folders).
    public var outbox: OutboxStatus?
    /// Why the status is "degraded" (logins and changes go on; something is not in place).
    public var problem: String?
    public init(status: String, devicePasswords: Int, genericPasswords: Int, feed: FeedStatus? = nil, outbox: OutboxStatus? = nil,
                problem: String? = nil) {
        self.status = status
        self.devicePasswords = devicePasswords
        self.genericPasswords = genericPasswords
        self.feed = feed
        self.outbox = outbox
        self.problem = problem
    }
}

/// The mail-server outbox: tasks waiting, those that failed at least once, how long the oldest
/// failure has lasted, and whether that is past `outbox.degradedAfterSeconds`.
public struct OutboxStatus: Codable, Sendable, Equatable {
    public let pending: Int
    public let failed: Int
    public let oldestFailureSeconds: Double?
    public let degraded: Bool
    public init(pending: Int, failed: Int, oldestFailureSeconds: Double?, degraded: Bool) {
        self.pending = pending
        self.failed = failed
        self.oldestFailureSeconds = oldestFailureSeconds
        self.degraded = degraded
    }
}

/// A node's place in the change log: the last change applied, how long since it was last known
/// current, and whether it refuses logins for being behind (`stale`).
public struct FeedStatus: Codable, Sendable, Equatable {
    public let node: String
    public let lastApplied: Int64
    public let lagSeconds: Double
    public let stale: Bool
    /// Whether its LISTEN connection to PostgreSQL is up.
    public let listening: Bool
    public let problem: String?

    public init(node: String, lastApplied: Int64, lagSeconds: Double, stale: Bool, listening: Bool, problem: String?) {
        self.node = node
        self.lastApplied = lastApplied
        self.lagSeconds = lagSeconds
        self.stale = stale
        self.listening = listening
        self.problem = problem
    }
}
/// A page of the list; `next` (when there is more) is the `after` of the next page.
public struct OrganizationList: Codable, Sendable {
    public var organizations: [Organization]
    public var next: String?
    public init(organizations: [Organization], next: String? = nil) {
        self.organizations = organizations
        self.next = next
    }
    public init(_ page: Page<Organization>) { self.init(organizations: page.items, next: page.next) }
}
public struct OrganizationBody: Codable, Sendable { public let organization: Organization; public init(organization: Organization) { self.organization = organization } }
public struct OrganizationRemoved: Codable, Sendable { public let removed: Organization; public init(removed: Organization) { self.removed = removed } }
/// A page of the list; `next` (when there is more) is the `after` of the next page.
public struct ServiceList: Codable, Sendable {
    public var services: [MailService]
    public var next: String?
    public init(services: [MailService], next: String? = nil) {
        self.services = services
        self.next = next
    }
    public init(_ page: Page<MailService>) { self.init(services: page.items, next: page.next) }
}
public struct ServiceBody: Codable, Sendable { public let service: MailService; public init(service: MailService) { self.service = service } }
public struct ServiceRemoved: Codable, Sendable { public let removed: MailService; public init(removed: MailService) { self.removed = removed } }
/// A page of the list; `next` (when there is more) is the `after` of the next page.
public struct MailboxList: Codable, Sendable {
    public var mailboxes: [Mailbox]
    public var next: String?
    public init(mailboxes: [Mailbox], next: String? = nil) {
        self.mailboxes = mailboxes
        self.next = next
    }
    public init(_ page: Page<Mailbox>) { self.init(mailboxes: page.items, next: page.next) }
}
public struct MailboxBody: Codable, Sendable { public let mailbox: Mailbox; public init(mailbox: Mailbox) { self.mailbox = mailbox } }
/// A removal's answer: the mailbox, and what went with it (as the preview said).
public struct MailboxRemoved: Codable, Sendable {
    public let removed: Mailbox
    public let devices: Int
    public let aliases: [String]
    public let redirectedBy: [String]
    public init(_ removal: MailboxRemoval) {
        removed = removal.mailbox
        devices = removal.devices
        aliases = removal.aliases
        redirectedBy = removal.redirectedBy
    }
}
/// What removing a mailbox takes with it (the preview, and the removal's answer): its devices,
/// its aliases, and the mailboxes whose redirections send to it or to an alias of it (that
/// target goes; a redirection left with none is cleared).
public struct MailboxRemoval: Codable, Sendable {
    public let mailbox: Mailbox
    public let devices: Int
    public let aliases: [String]
    public let redirectedBy: [String]
    public init(mailbox: Mailbox, devices: Int, aliases: [String], redirectedBy: [String]) {
        self.mailbox = mailbox
        self.devices = devices
        self.aliases = aliases
        self.redirectedBy = redirectedBy
    }
}
/// A page of the list; `next` (when there is more) is the `after` of the next page.
public struct HistoryList: Codable, Sendable {
    public var history: [HistoryEntry]
    public var next: String?
    public init(history: [HistoryEntry], next: String? = nil) {
        self.history = history
        self.next = next
    }
    public init(_ page: Page<HistoryEntry>) { self.init(history: page.items, next: page.next) }
}
/// A page of the list; `next` (when there is more) is the `after` of the next page.
public struct DeviceList: Codable, Sendable {
    public var devices: [Device]
    public var next: String?
    public init(devices: [Device], next: String? = nil) {
        self.devices = devices
        self.next = next
    }
    public init(_ page: Page<Device>) { self.init(devices: page.items, next: page.next) }
}
public struct Disconnected: Codable, Sendable { public let disconnected: [Device]; public init(disconnected: [Device]) { self.disconnected = disconnected } }

/// A device with its freshly generated password: the only time the password is ever shown.
public struct NewSecret: Codable, Sendable {
    public var device: Device
    public var password: String
    public init(device: Device, password: String) {
        self.device = device
        self.password = password
    }
}

/// What `postern import passwd-file` did, line by line where it matters. Errors and warnings
/// list at most `maxListed` lines each (the first by line number); the counts are complete.
public struct ImportReport: Codable, Sendable, Equatable {
    /// Lines read, blank lines and comments included.
    public var lines: Int = 0
    /// Mailboxes that got a generic password.
    public var imported: Int = 0
    /// Of those, mailboxes that did not exist before.
    public var mailboxesCreated: Int = 0
    /// Lines whose mailbox already had exactly this generic password.
    public var unchanged: Int = 0
    /// Lines not imported; nothing of them was written.
    public var errorCount: Int = 0
    public var errors: [PasswdFile.LineError] = []
    /// Lines imported with a caveat, such as {PLAIN}.
    public var warningCount: Int = 0
    public var warnings: [PasswdFile.LineError] = []

    public static let maxListed = 100

    public init() {}

    public mutating func add(error: PasswdFile.LineError) {
        errorCount += 1
        Self.keep(error, in: &errors)
    }

    public mutating func add(warning: PasswdFile.LineError) {
        warningCount += 1
        Self.keep(warning, in: &warnings)
    }

    /// Adds the counts and lines of a part of the same import.
    public mutating func merge(_ part: ImportReport) {
        imported += part.imported
        mailboxesCreated += part.mailboxesCreated
        unchanged += part.unchanged
        errorCount += part.errorCount
        warningCount += part.warningCount
        for error in part.errors { Self.keep(error, in: &errors) }
        for warning in part.warnings { Self.keep(warning, in: &warnings) }
        Self.trim(&errors)
        Self.trim(&warnings)
    }

    /// Lists in line order, cut to `maxListed`.
    public mutating func finish() {
        Self.trim(&errors)
        Self.trim(&warnings)
    }

    private static func keep(_ item: PasswdFile.LineError, in list: inout [PasswdFile.LineError]) {
        list.append(item)
        if list.count >= 2 * maxListed { trim(&list) }
    }

    private static func trim(_ list: inout [PasswdFile.LineError]) {
        list.sort { $0.line < $1.line }
        if list.count > maxListed { list.removeLast(list.count - maxListed) }
    }
}

/// One line of `POST /v1/import/passwd-file` answered as `application/x-ndjson`: progress while
/// the file streams in, then the report, or an error if the import stopped part way.
public struct ImportEvent: Codable, Sendable {
    public struct Progress: Codable, Sendable, Equatable {
        /// Lines and bytes read so far; `imported`, `unchanged`, `errors` as in the report.
        public var lines: Int
        public var bytes: Int
        public var imported: Int
        public var unchanged: Int
        public var errors: Int
        public init(lines: Int, bytes: Int, imported: Int, unchanged: Int, errors: Int) {
            self.lines = lines
            self.bytes = bytes
            self.imported = imported
            self.unchanged = unchanged
            self.errors = errors
        }
    }

    public struct Failure: Codable, Sendable {
        public let code: String
        public let message: String
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var progress: Progress?
    public var report: ImportReport?
    public var error: Failure?

    public init(progress: Progress? = nil, report: ImportReport? = nil, error: Failure? = nil) {
        self.progress = progress
        self.report = report
        self.error = error
    }
}

/// `PUT /v1/policies/generic/{level}/{name}`: refuse the generic password for these services
/// (empty: allow it), from `from` on (absent: at once).
public struct GenericPolicyInput: Codable, Sendable {
    public let refuse: [String]
    public let from: Date?
    public init(refuse: [String], from: Date?) {
        self.refuse = refuse
        self.from = from
    }
}

/// The policy set at one level (nil: none there), and how many generic passwords it now governs.
public struct GenericPolicyBody: Codable, Sendable {
    public let level: PolicyLevel
    public let name: String
    public let policy: GenericPolicy?
    public let genericPasswords: Int
    public init(level: PolicyLevel, name: String, policy: GenericPolicy?, genericPasswords: Int) {
        self.level = level
        self.name = name
        self.policy = policy
        self.genericPasswords = genericPasswords
    }
}

/// `postern report generic`: every mailbox that still has a generic password.
public struct GenericReport: Codable, Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public let address: String
        /// When the generic password was imported.
        public let since: Date
        public let lastUse: LastUse?
        /// The policy that applies, and where it is set.
        public let policy: GenericPolicy?
        public let policyLevel: PolicyLevel?
        /// The services it is refused for right now (a policy with a future date refuses none yet).
        public let refusedNow: [String]
        public init(address: String, since: Date, lastUse: LastUse?, policy: GenericPolicy?, policyLevel: PolicyLevel?, refusedNow: [String]) {
            self.address = address
            self.since = since
            self.lastUse = lastUse
            self.policy = policy
            self.policyLevel = policyLevel
            self.refusedNow = refusedNow
        }
    }

    public let mailboxes: [Entry]
    public init(mailboxes: [Entry]) { self.mailboxes = mailboxes }
}

public struct FailedLoginList: Codable, Sendable { public let failures: [FailedLogin]; public init(failures: [FailedLogin]) { self.failures = failures } }

/// `POST /v1/backup`: where posternd writes the backup (an absolute path on its host).
public struct BackupInput: Codable, Sendable { public let directory: String; public init(directory: String) { self.directory = directory } }

/// What a backup directory holds: `postern restore` checks every file against it.
public struct BackupManifest: Codable, Sendable, Equatable {
    public static let databaseFile = "postern.sqlite"
    /// A PostgreSQL store's backup: `pg_dump --format=custom`, for `pg_restore`.
    public static let postgresDumpFile = "postern.pgdump"
    public static let keyFile = "server.key"
    public static let manifestFile = "backup.json"

    public let createdAt: Date
    public let devices: Int
    /// File name → SHA-256, hex.
    public let files: [String: String]
    public init(createdAt: Date, devices: Int, files: [String: String]) {
        self.createdAt = createdAt
        self.devices = devices
        self.files = files
    }
}
