/// Who is asking, as the rule set sees them: the operator, or a user with their roles and grants.
public struct Rights: Sendable, Equatable {
    public var isOperator: Bool
    /// Organization id → the user's role there.
    public var roles: [Int64: Role]
    /// Mail services given to the user (a collaborator sees them and their mailboxes).
    public var services: Set<Int64>
    /// Mailbox id → the permissions given to the user there.
    public var mailboxes: [Int64: MailboxPermission]

    public init(isOperator: Bool = false, roles: [Int64: Role] = [:], services: Set<Int64> = [], mailboxes: [Int64: MailboxPermission] = [:]) {
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

/// What a control call does, with what it does it to.
public enum Action: Sendable, Equatable {
    /// Operator only: organizations, user accounts, import, backup, metrics.
    case operate(String)
    case viewOrganization(Int64)
    case viewMembers(Int64)
    /// Add and remove members, change roles below legal representative.
    case manageMembers(Int64)
    /// Make someone a legal representative, or change a legal representative's role.
    case appointLegalRepresentative(Int64)
    /// Add mail services to the organization; read its organization-wide history.
    case manageOrganization(Int64)
    case viewService(ServiceTarget)
    /// Remove the service, add and remove its mailboxes, its default permissions, its policies.
    case manageService(ServiceTarget)
    case viewMailbox(MailboxTarget)
    /// What one of the eleven permissions allows on a mailbox.
    case mailbox(MailboxTarget, MailboxPermission)
    /// Give, change and take away users' access to the mailbox.
    case manageAccess(MailboxTarget)
    /// Remove the mailbox itself.
    case removeMailbox(MailboxTarget)
}

/// What the actor lacks, for the 403.
public enum Requirement: Sendable, Equatable {
    case `operator`(String)
    case role(Role)
    case permission(MailboxPermission, on: String)

    public var description: String {
        switch self {
        case let .operator(what): "only the operator may \(what)"
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

/// The one rule set: every control call is decided here, from values only.
public enum Policy {
    public static func authorize(_ rights: Rights, _ action: Action) -> Decision {
        if rights.isOperator { return .allowed }
        func member(_ org: Int64, needs role: Role) -> Decision {
            guard let held = rights.roles[org] else { return .hidden }
            return held >= role ? .allowed : .forbidden(.role(role))
        }
        switch action {
        case let .operate(what): return .forbidden(.operator(what))
        case let .viewOrganization(org): return member(org, needs: .external)
        case let .viewMembers(org): return member(org, needs: .collaborator)
        case let .manageMembers(org), let .manageOrganization(org): return member(org, needs: .administrator)
        case let .appointLegalRepresentative(org): return member(org, needs: .legalRepresentative)
        case let .viewService(service): return canSee(rights, service) ? .allowed : .hidden
        case let .manageService(service):
            guard canSee(rights, service) else { return .hidden }
            return member(service.organizationID, needs: .administrator)
        case let .viewMailbox(mailbox): return canSee(rights, mailbox) ? .allowed : .hidden
        case let .mailbox(mailbox, permission):
            guard canSee(rights, mailbox) else { return .hidden }
            if manages(rights, mailbox.service.organizationID) { return .allowed }
            return rights.mailboxes[mailbox.id]?.isSuperset(of: permission) == true
                ? .allowed : .forbidden(.permission(permission, on: mailbox.address))
        case let .manageAccess(mailbox), let .removeMailbox(mailbox):
            guard canSee(rights, mailbox) else { return .hidden }
            return member(mailbox.service.organizationID, needs: .administrator)
        }
    }

    /// Whether the actor sees a mail service at all (lists leave out the others).
    public static func canSee(_ rights: Rights, _ service: ServiceTarget) -> Bool {
        if rights.isOperator || manages(rights, service.organizationID) { return true }
        return rights.roles[service.organizationID] == .collaborator && rights.services.contains(service.id)
    }

    /// Whether the actor sees a mailbox at all (lists leave out the others).
    public static func canSee(_ rights: Rights, _ mailbox: MailboxTarget) -> Bool {
        if rights.mailboxes[mailbox.id] != nil, rights.roles[mailbox.service.organizationID] != nil { return true }
        return canSee(rights, mailbox.service)
    }

    static func manages(_ rights: Rights, _ org: Int64) -> Bool { rights.roles[org]?.manages == true }
}
