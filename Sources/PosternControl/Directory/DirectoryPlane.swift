import Foundation
import PosternCore
import PosternStore

/// Organizations, mail services and mailboxes, and their history: who may see and change which,
/// asked inside the transaction that reads or writes them.
public struct DirectoryPlane: Sendable {
    let node: Node
    var store: Store { node.store }

    public init(node: Node) { self.node = node }

    // MARK: organizations

    public func addOrganization(_ name: String, actor: Actor) async throws -> Organization {
        try await store.write { db in
            try await Access.authorize(actor, .addOrganization, in: db, orHide: PosternError.organizationNotFound(name))
            let org = try await db.createOrganization(name)
            try await ActionLog.record(.organizationAdded(org.name), mailbox: nil, by: actor, in: db)
            return org
        }
    }

    /// The organizations the actor belongs to (every one for the operator), a page at a time.
    public func organizations(page: PageRequest = .first(), actor: Actor) async throws -> Page<Organization> {
        try await store.read { db in try await db.organizations(userID: actor.user?.id, page: page) }
    }

    public func removeOrganization(_ name: String, actor: Actor) async throws -> Organization {
        try await store.write { db in
            try await Access.authorize(actor, .removeOrganization, in: db, orHide: PosternError.organizationNotFound(name))
            let org = try await db.removeOrganization(name)
            try await ActionLog.record(.organizationRemoved(org.name), mailbox: nil, by: actor, in: db)
            return org
        }
    }

    // MARK: mail services

    public func addMailService(name: String, organization: String, domains: [String], actor: Actor) async throws -> MailService {
        try await node.commit { db in
            let org = try await Access.organization(organization, Action.manageOrganization, actor: actor, in: db)
            let service = try await db.createMailService(name: name, organization: organization, domains: domains)
            try await ActionLog.record(.serviceAdded(name: service.name, domains: service.domains, organization: organization), mailbox: nil,
                                 organizationID: org, by: actor, in: db)
            return (service, .routing(service.domains.map { .addDomain($0) }))
        }
    }

    /// The mail services the actor sees, a page at a time (the store's query says what the rule set says).
    public func mailServices(page: PageRequest = .first(), actor: Actor) async throws -> Page<MailService> {
        try await store.read { db in try await db.mailServices(userID: actor.user?.id, page: page) }
    }

    public func removeMailService(_ name: String, actor: Actor) async throws -> MailService {
        try await node.commit { db in
            let target = try await Access.service(name, .manage, actor: actor, in: db)
            let service = try await db.removeMailService(name)
            try await ActionLog.record(.serviceRemoved(service.name), mailbox: nil, organizationID: target.organizationID, by: actor, in: db)
            return (service, .routing(service.domains.map { .removeDomain($0) }))
        }
    }

    // MARK: mailboxes

    public func addMailbox(_ address: String, actor: Actor) async throws -> Mailbox {
        let address = try MailAddress(address)
        return try await node.commit { db in
            if let service = try await db.importService(domain: address.domain) {
                try await Access.service(service.name, .manage, actor: actor, in: db)
            }
            let box = try await db.createMailbox(address)
            try await ActionLog.record(.mailboxAdded, mailbox: box.address.description, by: actor, in: db)
            return (box, .routing([.addMailbox(box.address.description)]))
        }
    }

    /// The mailboxes the actor sees, optionally of one domain, a page at a time in address order.
    public func mailboxes(domain: String?, page: PageRequest = .first(), actor: Actor) async throws -> Page<Mailbox> {
        try await store.read { db in try await db.visibleMailboxes(of: actor, domain: domain, page: page).mapItems(\.mailbox) }
    }

    /// Whether a mail service of ours holds this domain (public: autoconfig answers for it).
    public func servesDomain(_ domain: String) async throws -> Bool {
        try await store.read { try await $0.importService(domain: domain.lowercased()) != nil }
    }

    /// The organizations the actor belongs to (a page of them), with their role there, what they
    /// may do with the members, and the mail services whose global configuration they manage.
    public func organizationsWithRights(page: PageRequest = .first(), actor: Actor) async throws -> Page<OrganizationView> {
        try await store.read { db in
            let rights = try await db.rights(of: actor)
            return try await db.organizations(userID: actor.user?.id, page: page).mapItems { org in
                let managed = Access.allows(rights, .manageOrganization(org.id!))
                    ? try await db.serviceNames(organizationID: org.id!, limit: PageRequest.maxLimit) : []
                return OrganizationView(organization: org, role: rights.roles[org.id!],
                                        seesMembers: Access.allows(rights, .viewMembers(org.id!)),
                                        managesMembers: Access.allows(rights, .manageMembers(org.id!)), managedServices: managed)
            }
        }
    }

    /// The mailboxes the actor sees, a page at a time, each with what the actor may do there.
    public func mailboxesWithPermissions(page: PageRequest = .first(), actor: Actor) async throws -> Page<MailboxView> {
        // Read in SQL from the actor's memberships and grants; Policy agrees with it (VisibilityTests).
        try await store.read { db in
            try await db.visibleMailboxes(of: actor, page: page).mapItems { MailboxView(mailbox: $0.mailbox, permissions: $0.permissions, managesAccess: $0.managesAccess) }
        }
    }

    public func mailbox(_ address: String, actor: Actor) async throws -> Mailbox {
        let address = try MailAddress(address)
        return try await store.read { db in try await Access.mailbox(address, nil, actor: actor, in: db) }
    }

    /// What removing a mailbox takes with it: its devices and aliases, and the targets it (or an
    /// alias of it) is in other mailboxes' redirections.
    public func mailboxRemoval(_ address: String, actor: Actor) async throws -> MailboxRemoval {
        let address = try MailAddress(address)
        return try await store.read { db in
            let (box, _) = try await Self.removable(address, actor: actor, in: db)
            return try await DirectoryRules.removal(of: box, in: db).preview
        }
    }

    /// Removes a mailbox with its devices and aliases. Other mailboxes' redirections lose it (and
    /// its aliases) as a target, each change in that mailbox's history; one left with no target
    /// is cleared, so its mail is delivered to it again.
    public func removeMailbox(_ address: String, actor: Actor) async throws -> MailboxRemoval {
        let address = try MailAddress(address)
        return try await node.commit { db in
            let (box, target) = try await Self.removable(address, actor: actor, in: db)
            let plan = try await DirectoryRules.removal(of: box, in: db)
            var routing: [RoutingTable.Change] = []
            for (mailboxID, before, after) in plan.redirections {
                if let after {
                    try await db.setRedirection(mailboxID: mailboxID, after)
                    routing.append(.setRedirect(mailbox: after.mailbox, .init(targets: after.targets, keepCopy: after.keepCopy)))
                    try await ActionLog.record(.redirectionSet(from: before, to: after, because: box.address.description), mailbox: before.mailbox, by: actor, in: db)
                } else {
                    try await db.deleteRedirection(mailboxID: mailboxID)
                    routing.append(.clearRedirect(mailbox: before.mailbox))
                    try await ActionLog.record(.redirectionCleared(from: before, because: box.address.description), mailbox: before.mailbox, by: actor, in: db)
                }
            }
            let (removed, devices) = try await db.removeMailbox(address)
            try await ActionLog.record(.mailboxRemoved(devices: devices.count, aliases: plan.preview.aliases, redirectedBy: plan.preview.redirectedBy),
                                 mailbox: removed.address.description, organizationID: target.service.organizationID, by: actor, in: db)
            routing.append(.removeMailbox(removed.address.description))
            return (plan.preview, NodeChange(credentials: devices.map(DevicesRules.removal), routing: routing,
                                             revocations: [.init(event: .mailbox(address: removed.address.description), devices: devices.map(\.id))]))
        }
    }

    private static func removable(_ address: MailAddress, actor: Actor, in db: StoreTransaction) async throws -> (Mailbox, MailboxTarget) {
        let target = try await Access.mailboxTarget(address, Action.removeMailbox, actor: actor, in: db)
        return try await (db.mailbox(address), target)
    }

    // MARK: history

    /// A mailbox's history (the "history" permission), newest first, a page at a time, optionally
    /// in a time range and of one kind.
    public func history(_ address: String, page: PageRequest = .first(), since: Date? = nil, until: Date? = nil, kind: String? = nil,
                        actor: Actor) async throws -> Page<HistoryEntry> {
        let address = try MailAddress(address)
        return try await store.read { db in
            _ = try await Access.mailbox(address, .history, actor: actor, in: db)
            return try await db.history(HistoryQuery(mailbox: address.description, since: since, until: until, kind: kind), page: page)
        }
    }

    /// The organization-wide history (its administrators): its mailboxes, members, services and defaults.
    public func organizationHistory(_ organization: String, page: PageRequest = .first(), since: Date? = nil, until: Date? = nil,
                                    kind: String? = nil, actor: Actor) async throws -> Page<HistoryEntry> {
        try await store.read { db in
            let org = try await Access.organization(organization, Action.manageOrganization, actor: actor, in: db)
            return try await db.history(HistoryQuery(organizationID: org, since: since, until: until, kind: kind), page: page)
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
