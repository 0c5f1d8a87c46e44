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
        try commit { db in
            let org = try db.organizationID(organization)
            try db.authorize(actor, .manageOrganization(org), orHide: PosternError.organizationNotFound(organization))
            let service = try db.createMailService(name: name, organization: organization, domains: domains)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "service.add",
                                              detail: "mail service \(service.name) (\(service.domains.joined(separator: ", "))) of \(organization)"),
                                 organizationID: org)
            return (service, .routing(service.domains.map { .addDomain($0) }))
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
        try commit { db in
            let target = try Self.service(name, .manage, actor: actor, in: db)
            let service = try db.removeMailService(name)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "service.remove", detail: "mail service \(service.name)"),
                                 organizationID: target.organizationID)
            return (service, .routing(service.domains.map { .removeDomain($0) }))
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

    /// What removing a mailbox takes with it: its devices and aliases, and the targets it (or an
    /// alias of it) is in other mailboxes' redirections.
    public func mailboxRemoval(_ address: String, actor: Actor) throws -> MailboxRemoval {
        let address = try MailAddress(address)
        return try store.read { db in
            let (box, _) = try Self.removable(address, actor: actor, in: db)
            return try Self.removal(of: box, in: db).preview
        }
    }

    /// Removes a mailbox with its devices and aliases. Other mailboxes' redirections lose it (and
    /// its aliases) as a target, each change in that mailbox's history; one left with no target
    /// is cleared, so its mail is delivered to it again.
    public func removeMailbox(_ address: String, actor: Actor) throws -> MailboxRemoval {
        let address = try MailAddress(address)
        return try commit { db in
            let (box, target) = try Self.removable(address, actor: actor, in: db)
            let plan = try Self.removal(of: box, in: db)
            var routing: [RoutingTable.Change] = []
            for (mailboxID, before, after) in plan.redirections {
                let detail = "redirection: \(Self.describe(before)) → \(Self.describe(after)) (\(box.address) was removed)"
                if let after {
                    try db.setRedirection(mailboxID: mailboxID, after)
                    routing.append(.setRedirect(mailbox: after.mailbox, .init(targets: after.targets, keepCopy: after.keepCopy)))
                } else {
                    try db.deleteRedirection(mailboxID: mailboxID)
                    routing.append(.clearRedirect(mailbox: before.mailbox))
                }
                try db.appendHistory(HistoryEntry(mailbox: before.mailbox, actor: actor, action: after == nil ? "redirection.clear" : "redirection.set",
                                                  detail: detail, before: Self.describe(before), after: after.map(Self.describe)))
            }
            let (removed, devices) = try db.removeMailbox(address)
            let aliases = plan.preview.aliases.isEmpty ? "" : ", aliases \(plan.preview.aliases.joined(separator: ", "))"
            let redirected = plan.preview.redirectedBy.isEmpty ? "" : "; no longer a redirection target of \(plan.preview.redirectedBy.joined(separator: ", "))"
            try db.appendHistory(HistoryEntry(mailbox: removed.address.description, actor: actor, action: "mailbox.remove",
                                              detail: "mailbox removed with \(devices.count) device(s)\(aliases)\(redirected)"),
                                 organizationID: target.service.organizationID)
            routing.append(.removeMailbox(removed.address.description))
            return (plan.preview, NodeChange(credentials: devices.map(Self.removal), routing: routing,
                                             revocations: [.init(event: .mailbox(address: removed.address.description), devices: devices.map(\.id))]))
        }
    }

    private static func removable(_ address: MailAddress, actor: Actor, in db: StoreTransaction) throws -> (Mailbox, MailboxTarget) {
        guard let target = try db.mailboxTarget(address) else { throw PosternError.mailboxNotFound(address.description) }
        try db.authorize(actor, .removeMailbox(target), orHide: PosternError.mailboxNotFound(address.description))
        return (try db.mailbox(address), target)
    }

    /// The removal's preview, and each redirection it changes: before, and after (nil: cleared).
    private static func removal(of box: Mailbox, in db: StoreTransaction) throws
        -> (preview: MailboxRemoval, redirections: [(Int64, Redirection, Redirection?)]) {
        let aliases = try db.aliases(mailboxID: box.id!).map(\.address)
        let gone = Set(([box.address.description] + aliases).map { $0.lowercased() })
        var changed: [(Int64, Redirection, Redirection?)] = []
        for (mailboxID, before) in try db.redirections(to: Array(gone)) where mailboxID != box.id {
            var after = before
            after.targets.removeAll { gone.contains($0.lowercased()) }
            changed.append((mailboxID, before, after.targets.isEmpty ? nil : after))
        }
        let devices = try db.deviceCount(mailboxID: box.id!)
        return (MailboxRemoval(mailbox: box, devices: devices, aliases: aliases, redirectedBy: changed.map(\.1.mailbox)), changed)
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
