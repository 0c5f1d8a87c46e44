import Foundation
import PosternCore
import PosternStore

/// Organizations, mail services and mailboxes: who may see and change which, asked inside the
/// transaction that reads or writes them.
extension ControlPlane {
    // MARK: organizations

    public func addOrganization(_ name: String, actor: Actor) throws -> Organization {
        try store.write { db in
            try db.authorize(actor, .operate("add organizations"), orHide: PosternError.organizationNotFound(name))
            let org = try db.createOrganization(name)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "organization.add", detail: "organization \(org.name)"))
            return org
        }
    }

    /// The organizations the actor belongs to (every one for the operator).
    public func organizations(actor: Actor) throws -> [Organization] {
        try store.read { db in
            let rights = try db.rights(of: actor)
            return try db.organizations().filter { rights.isOperator || rights.roles[$0.id!] != nil }
        }
    }

    public func removeOrganization(_ name: String, actor: Actor) throws -> Organization {
        try store.write { db in
            try db.authorize(actor, .operate("remove organizations"), orHide: PosternError.organizationNotFound(name))
            let org = try db.removeOrganization(name)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "organization.remove", detail: "organization \(org.name)"))
            return org
        }
    }

    // MARK: mail services

    public func addMailService(name: String, organization: String, domains: [String], actor: Actor) throws -> MailService {
        try store.write { db in
            let org = try db.organizationID(organization)
            try db.authorize(actor, .manageOrganization(org), orHide: PosternError.organizationNotFound(organization))
            let service = try db.createMailService(name: name, organization: organization, domains: domains)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "service.add",
                                              detail: "mail service \(service.name) (\(service.domains.joined(separator: ", "))) of \(organization)"),
                                 organizationID: org)
            return service
        }
    }

    /// The mail services the actor sees.
    public func mailServices(actor: Actor) throws -> [MailService] {
        try store.read { db in
            let rights = try db.rights(of: actor)
            let targets = try db.serviceTargets()
            return try db.mailServices().filter { service in targets[service.id!].map { Policy.canSee(rights, $0) } ?? false }
        }
    }

    public func removeMailService(_ name: String, actor: Actor) throws -> MailService {
        try store.write { db in
            let target = try Self.service(name, .manage, actor: actor, in: db)
            let service = try db.removeMailService(name)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "service.remove", detail: "mail service \(service.name)"),
                                 organizationID: target.organizationID)
            return service
        }
    }

    enum ServiceUse { case view, manage }

    /// A mail service the actor may see (or manage); one they may not see is "not found".
    @discardableResult
    static func service(_ name: String, _ use: ServiceUse, actor: Actor, in db: StoreTransaction) throws -> ServiceTarget {
        guard let target = try db.serviceTarget(name: name) else { throw PosternError.serviceNotFound(name) }
        try db.authorize(actor, use == .view ? .viewService(target) : .manageService(target), orHide: PosternError.serviceNotFound(name))
        return target
    }

    // MARK: mailboxes

    public func addMailbox(_ address: String, actor: Actor) throws -> Mailbox {
        let address = try MailAddress(address)
        return try commit { db in
            if let service = try db.importService(domain: address.domain) {
                try Self.service(service.name, .manage, actor: actor, in: db)
            }
            let box = try db.createMailbox(address)
            try db.appendHistory(HistoryEntry(mailbox: box.address.description, actor: actor, action: "mailbox.add", detail: "mailbox created"))
            return (box, .routing([.addMailbox(box.address.description)]))
        }
    }

    /// The mailboxes the actor sees, optionally of one domain.
    public func mailboxes(domain: String?, actor: Actor) throws -> [Mailbox] {
        try store.read { db in
            let rights = try db.rights(of: actor)
            return try db.mailboxTargets(domain: domain).filter { Policy.canSee(rights, $0.1) }.map(\.0)
        }
    }

    /// Whether a mail service of ours holds this domain (public: autoconfig answers for it).
    public func servesDomain(_ domain: String) throws -> Bool {
        try store.read { try $0.importService(domain: domain.lowercased()) != nil }
    }

    /// The organizations the actor belongs to, with their role there, what they may do with the
    /// members, and the mail services whose global configuration they manage.
    public func organizationsWithRights(actor: Actor) throws -> [OrganizationView] {
        try store.read { db in
            let rights = try db.rights(of: actor)
            let targets = try db.serviceTargets()
            let services = try db.mailServices()
            return try db.organizations().filter { rights.isOperator || rights.roles[$0.id!] != nil }.map { org in
                OrganizationView(organization: org, role: rights.roles[org.id!],
                                 seesMembers: Policy.authorize(rights, .viewMembers(org.id!)) == .allowed,
                                 managesMembers: Policy.authorize(rights, .manageMembers(org.id!)) == .allowed,
                                 managedServices: services.filter { service in
                                     service.organization == org.name
                                         && targets[service.id!].map { Policy.authorize(rights, .manageService($0)) == .allowed } == true
                                 }.map(\.name))
            }
        }
    }

    /// The mailboxes the actor sees, each with what the actor may do there.
    public func mailboxesWithPermissions(actor: Actor) throws -> [MailboxView] {
        try store.read { db in
            let rights = try db.rights(of: actor)
            return try db.mailboxTargets().filter { Policy.canSee(rights, $0.1) }.map { mailbox, target in
                let held = MailboxPermission.named.map(\.permission)
                    .filter { Policy.authorize(rights, .mailbox(target, $0)) == .allowed }
                return MailboxView(mailbox: mailbox, permissions: MailboxPermission(held),
                                   managesAccess: Policy.authorize(rights, .manageAccess(target)) == .allowed)
            }
        }
    }

    public func mailbox(_ address: String, actor: Actor) throws -> Mailbox {
        let address = try MailAddress(address)
        return try store.read { db in try Self.mailbox(address, nil, actor: actor, in: db) }
    }

    public func removeMailbox(_ address: String, actor: Actor) throws -> Mailbox {
        let address = try MailAddress(address)
        return try commit { db in
            guard let target = try db.mailboxTarget(address) else { throw PosternError.mailboxNotFound(address.description) }
            try db.authorize(actor, .removeMailbox(target), orHide: PosternError.mailboxNotFound(address.description))
            let (box, devices) = try db.removeMailbox(address)
            try db.appendHistory(HistoryEntry(mailbox: box.address.description, actor: actor, action: "mailbox.remove",
                                              detail: "mailbox removed with \(devices.count) device(s)"), organizationID: target.service.organizationID)
            return (box, NodeChange(credentials: devices.map(Self.removal), routing: [.removeMailbox(box.address.description)],
                                    revocations: [.init(event: .mailbox(address: box.address.description), devices: devices.map(\.id))]))
        }
    }

    /// A mailbox's history (the "history" permission), newest first, optionally in a time range and of one kind.
    public func history(_ address: String, limit: Int, since: Date? = nil, until: Date? = nil, kind: String? = nil,
                        actor: Actor) throws -> [HistoryEntry] {
        let address = try MailAddress(address)
        return try store.read { db in
            _ = try Self.mailbox(address, .history, actor: actor, in: db)
            return try db.history(HistoryQuery(mailbox: address.description, since: since, until: until, kind: kind,
                                               limit: max(1, min(limit, 10_000))))
        }
    }

    /// The organization-wide history (its administrators): its mailboxes, members, services and defaults.
    public func organizationHistory(_ organization: String, limit: Int, since: Date? = nil, until: Date? = nil, kind: String? = nil,
                                    actor: Actor) throws -> [HistoryEntry] {
        try store.read { db in
            let org = try db.organizationID(organization)
            try db.authorize(actor, .manageOrganization(org), orHide: PosternError.organizationNotFound(organization))
            return try db.history(HistoryQuery(organizationID: org, since: since, until: until, kind: kind, limit: max(1, min(limit, 10_000))))
        }
    }
}

/// An organization as one actor sees it: what the web manager offers there.
public struct OrganizationView: Sendable {
    public let organization: Organization
    public let role: Role?
    public let seesMembers: Bool
    public let managesMembers: Bool
    /// The mail services whose global configuration (default permissions) the actor manages.
    public let managedServices: [String]
}

/// A mailbox as one actor sees it: the permissions they hold there, and whether they give access to it.
public struct MailboxView: Sendable {
    public let mailbox: Mailbox
    public let permissions: MailboxPermission
    public let managesAccess: Bool
}
