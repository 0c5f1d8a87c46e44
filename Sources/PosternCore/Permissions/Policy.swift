/// Who is asking, as the rule set sees them: the operator, or a user with their roles and grants.
public struct Rights: Sendable, Equatable {
    public var isOperator: Bool
    /// Organization id → the user's role there.
    public var roles: [Int64: Role]
    /// Mail services given to the user (a collaborator sees them and their mailboxes).
    public var services: Set<Int64>
    /// Mailbox id → the permissions given to the user there.
    public var mailboxes: [Int64: MailboxPermission]
    /// The user whose rights these are (nil: the operator's).
    public var user: Int64?
    /// The operator acting as that user (`postern --as`): the user's rights, not their account.
    public var operatorAsUser: Bool

    public init(isOperator: Bool = false, roles: [Int64: Role] = [:], services: Set<Int64> = [], mailboxes: [Int64: MailboxPermission] = [:],
                user: Int64? = nil, operatorAsUser: Bool = false) {
        self.user = user
        self.operatorAsUser = operatorAsUser
        self.isOperator = isOperator
        self.roles = roles
        self.services = services
        self.mailboxes = mailboxes
    }

    public static let `operator` = Rights(isOperator: true)
}

/// A mail service, with the organization that owns it.
public struct ServiceTarget: Sendable, Equatable {
    public let id: Int64
    public let organizationID: Int64
    public init(id: Int64, organizationID: Int64) {
        self.id = id
        self.organizationID = organizationID
    }
}

/// A mailbox, with its mail service and organization.
public struct MailboxTarget: Sendable, Equatable {
    public let id: Int64
    public let address: String
    public let service: ServiceTarget
    public init(id: Int64, address: String, service: ServiceTarget) {
        self.id = id
        self.address = address
        self.service = service
    }
}

/// What a control call does, with what it does it to: one case per allow/deny decision.
public enum Action: Sendable, Equatable {
    // The operator's alone.
    case addOrganization, removeOrganization
    case addUser, listUsers
    case importPasswdFile, backUp, readMetrics, rewriteSieveScripts, readGenericReport
    /// See every user's API tokens and sessions at once.
    case listEveryonesTokens

    // An account's own.
    /// Create, list and revoke the API tokens and sessions of this user.
    case manageTokens(owner: Int64)
    /// Set this user's account password (a user sets their own, with their current one).
    case setAccountPassword(of: Int64)
    /// Make a sensitive change (roles, access, removals) without giving one's account password again.
    case skipReconfirmation

    // Organizations.
    case viewOrganization(Int64)
    case viewMembers(Int64)
    /// Add and remove members, change roles below legal representative.
    case manageMembers(Int64)
    /// Make someone a legal representative, or change a legal representative's role.
    case appointLegalRepresentative(Int64)
    /// Add mail services to the organization; its organization-wide history, rules and policies.
    case manageOrganization(Int64)

    // Mail services.
    case viewService(ServiceTarget)
    /// Remove the service, add and remove its mailboxes, its default permissions, its policies.
    case manageService(ServiceTarget)
    /// Give out a role address (postmaster@, abuse@…, RFC 2142) as an alias in the service.
    case giveRoleAddress(ServiceTarget)

    // Mailboxes.
    case viewMailbox(MailboxTarget)
    /// What one of the eleven permissions allows on a mailbox.
    case mailbox(MailboxTarget, MailboxPermission)
    /// Move the rules that file into a folder along with it when the folder is renamed.
    case moveRulesWithFolder(MailboxTarget)
    /// Give, change and take away users' access to the mailbox.
    case manageAccess(MailboxTarget)
    /// Remove the mailbox itself.
    case removeMailbox(MailboxTarget)

    /// Each case without its values: the rule-set table test lists them all.
    public enum Kind: String, Sendable, CaseIterable {
        case addOrganization, removeOrganization, addUser, listUsers, importPasswdFile, backUp, readMetrics, rewriteSieveScripts
        case readGenericReport, listEveryonesTokens, manageTokens, setAccountPassword, skipReconfirmation
        case viewOrganization, viewMembers, manageMembers, appointLegalRepresentative, manageOrganization
        case viewService, manageService, giveRoleAddress
        case viewMailbox, mailbox, moveRulesWithFolder, manageAccess, removeMailbox
    }

    public var kind: Kind {
        switch self {
        case .addOrganization: .addOrganization
        case .removeOrganization: .removeOrganization
        case .addUser: .addUser
        case .listUsers: .listUsers
        case .importPasswdFile: .importPasswdFile
        case .backUp: .backUp
        case .readMetrics: .readMetrics
        case .rewriteSieveScripts: .rewriteSieveScripts
        case .readGenericReport: .readGenericReport
        case .listEveryonesTokens: .listEveryonesTokens
        case .manageTokens: .manageTokens
        case .setAccountPassword: .setAccountPassword
        case .skipReconfirmation: .skipReconfirmation
        case .viewOrganization: .viewOrganization
        case .viewMembers: .viewMembers
        case .manageMembers: .manageMembers
        case .appointLegalRepresentative: .appointLegalRepresentative
        case .manageOrganization: .manageOrganization
        case .viewService: .viewService
        case .manageService: .manageService
        case .giveRoleAddress: .giveRoleAddress
        case .viewMailbox: .viewMailbox
        case .mailbox: .mailbox
        case .moveRulesWithFolder: .moveRulesWithFolder
        case .manageAccess: .manageAccess
        case .removeMailbox: .removeMailbox
        }
    }

    /// What an operator-only action is, as the refusal says it ("only the operator may …").
    var operatorOnly: String? {
        switch self {
        case .addOrganization: "add organizations"
        case .removeOrganization: "remove organizations"
        case .addUser: "add user accounts"
        case .listUsers: "list every user account"
        case .importPasswdFile: "import passwd-files"
        case .backUp: "back up posternd"
        case .readMetrics: "read the metrics"
        case .rewriteSieveScripts: "rewrite Sieve scripts"
        case .readGenericReport: "read the report of every generic password"
        case .listEveryonesTokens: "list every user's tokens"
        default: nil
        }
    }
}

/// What the actor lacks, for the 403.
public enum Requirement: Sendable, Equatable {
    case `operator`(String)
    case role(Role)
    case permission(MailboxPermission, on: String)
    /// Something only the account's own user (or the operator) does.
    case ownAccount(String)

    public var description: String {
        switch self {
        case let .operator(what): "only the operator may \(what)"
        case let .ownAccount(what): what
        case .role(.legalRepresentative): "this needs the legal representative role"
        case .role(.administrator): "this needs the administrator or legal representative role"
        case let .role(role): "this needs the \(role.label) role or above"
        case let .permission(permission, on: address):
            "this needs the '\(permission.names.joined(separator: ","))' permission on \(address)"
        }
    }
}

public enum Decision: Sendable, Equatable {
    case allowed
    case forbidden(Requirement)
    /// The target is not the actor's to see: answered exactly as if it did not exist.
    case hidden
}

/// The one rule set: every allow/deny of a control call is decided here, from values only.
public enum Policy {
    /// Whether `actor` (as the store read their rights) may do `action`.
    public static func decide(_ actor: Rights, _ action: Action) -> Decision {
        if actor.isOperator { return .allowed }
        func member(_ org: Int64, needs role: Role) -> Decision {
            guard let held = actor.roles[org] else { return .hidden }
            return held >= role ? .allowed : .forbidden(.role(role))
        }
        func onMailbox(_ mailbox: MailboxTarget, _ permission: MailboxPermission) -> Decision {
            guard canSee(actor, mailbox) else { return .hidden }
            if manages(actor, mailbox.service.organizationID) { return .allowed }
            return actor.mailboxes[mailbox.id]?.isSuperset(of: permission) == true
                ? .allowed : .forbidden(.permission(permission, on: mailbox.address))
        }
        switch action {
        case .addOrganization, .removeOrganization, .addUser, .listUsers, .importPasswdFile, .backUp, .readMetrics,
             .rewriteSieveScripts, .readGenericReport, .listEveryonesTokens:
            return .forbidden(.operator(action.operatorOnly ?? ""))
        case let .manageTokens(owner):
            return actor.user == owner ? .allowed : .forbidden(.operator("manage another user's tokens"))
        case let .setAccountPassword(user):
            return actor.user == user && !actor.operatorAsUser ? .allowed : .forbidden(.ownAccount("a user may change only their own account password"))
        case .skipReconfirmation:
            return actor.operatorAsUser ? .allowed : .forbidden(.ownAccount("this change needs your own account password to confirm it"))
        case let .viewOrganization(org): return member(org, needs: .external)
        case let .viewMembers(org): return member(org, needs: .collaborator)
        case let .manageMembers(org), let .manageOrganization(org): return member(org, needs: .administrator)
        case let .appointLegalRepresentative(org): return member(org, needs: .legalRepresentative)
        case let .viewService(service): return canSee(actor, service) ? .allowed : .hidden
        case let .manageService(service), let .giveRoleAddress(service):
            guard canSee(actor, service) else { return .hidden }
            return member(service.organizationID, needs: .administrator)
        case let .viewMailbox(mailbox): return canSee(actor, mailbox) ? .allowed : .hidden
        case let .mailbox(mailbox, permission): return onMailbox(mailbox, permission)
        case let .moveRulesWithFolder(mailbox): return onMailbox(mailbox, .folders)
        case let .manageAccess(mailbox), let .removeMailbox(mailbox):
            guard canSee(actor, mailbox) else { return .hidden }
            return member(mailbox.service.organizationID, needs: .administrator)
        }
    }

    /// Whether the actor sees a mail service at all.
    static func canSee(_ rights: Rights, _ service: ServiceTarget) -> Bool {
        if rights.isOperator || manages(rights, service.organizationID) { return true }
        return rights.roles[service.organizationID] == .collaborator && rights.services.contains(service.id)
    }

    /// Whether the actor sees a mailbox at all.
    static func canSee(_ rights: Rights, _ mailbox: MailboxTarget) -> Bool {
        if rights.mailboxes[mailbox.id] != nil, rights.roles[mailbox.service.organizationID] != nil { return true }
        return canSee(rights, mailbox.service)
    }

    static func manages(_ rights: Rights, _ org: Int64) -> Bool { rights.roles[org]?.manages == true }
}
