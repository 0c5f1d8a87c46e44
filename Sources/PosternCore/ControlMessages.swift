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
    public init(status: String, devicePasswords: Int, genericPasswords: Int) {
        self.status = status
        self.devicePasswords = devicePasswords
        self.genericPasswords = genericPasswords
    }
}
public struct OrganizationList: Codable, Sendable { public let organizations: [Organization]; public init(organizations: [Organization]) { self.organizations = organizations } }
public struct OrganizationBody: Codable, Sendable { public let organization: Organization; public init(organization: Organization) { self.organization = organization } }
public struct OrganizationRemoved: Codable, Sendable { public let removed: Organization; public init(removed: Organization) { self.removed = removed } }
public struct ServiceList: Codable, Sendable { public let services: [MailService]; public init(services: [MailService]) { self.services = services } }
public struct ServiceBody: Codable, Sendable { public let service: MailService; public init(service: MailService) { self.service = service } }
public struct ServiceRemoved: Codable, Sendable { public let removed: MailService; public init(removed: MailService) { self.removed = removed } }
public struct MailboxList: Codable, Sendable { public let mailboxes: [Mailbox]; public init(mailboxes: [Mailbox]) { self.mailboxes = mailboxes } }
public struct MailboxBody: Codable, Sendable { public let mailbox: Mailbox; public init(mailbox: Mailbox) { self.mailbox = mailbox } }
public struct MailboxRemoved: Codable, Sendable { public let removed: Mailbox; public init(removed: Mailbox) { self.removed = removed } }
public struct HistoryList: Codable, Sendable { public let history: [HistoryEntry]; public init(history: [HistoryEntry]) { self.history = history } }
public struct DeviceList: Codable, Sendable { public let devices: [Device]; public init(devices: [Device]) { self.devices = devices } }
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

/// What `postern import passwd-file` did, line by line where it matters.
public struct ImportReport: Codable, Sendable, Equatable {
    /// Mailboxes that got a generic password.
    public var imported: Int = 0
    /// Of those, mailboxes that did not exist before.
    public var mailboxesCreated: Int = 0
    /// Lines whose mailbox already had exactly this generic password.
    public var unchanged: Int = 0
    /// Lines not imported; nothing of them was written.
    public var errors: [PasswdFile.LineError] = []
    /// Lines imported with a caveat, such as {PLAIN}.
    public var warnings: [PasswdFile.LineError] = []

    public init(imported: Int = 0, mailboxesCreated: Int = 0, unchanged: Int = 0, errors: [PasswdFile.LineError] = [],
                warnings: [PasswdFile.LineError] = []) {
        self.imported = imported
        self.mailboxesCreated = mailboxesCreated
        self.unchanged = unchanged
        self.errors = errors
        self.warnings = warnings
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
