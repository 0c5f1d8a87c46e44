import Foundation
import PosternCore
import PosternStore

/// Who may do what on a mailbox, the mail services given to collaborators, and the default
/// permissions of each mail service.
extension PeoplePlane {
    // MARK: mailbox access

    public func access(mailbox address: String, page: PageRequest = .first(), actor: Actor) async throws -> Page<MailboxAccess> {
        let address = try MailAddress(address)
        return try await store.read { db in
            let target = try await Access.mailboxTarget(address, Action.manageAccess, actor: actor, in: db)
            return try await db.access(mailboxID: target.id, page: page).mapItems(\.access)
        }
    }

    /// What the permissions page of a mailbox shows: who has which permissions, the members who
    /// could be given access, and the mail service's global configuration.
    /// A page of the access list; the members offered are the first 500 without access.
    public func accessOverview(mailbox address: String, page: PageRequest = .first(), actor: Actor) async throws -> AccessOverview {
        let address = try MailAddress(address)
        return try await store.read { db in
            let target = try await Access.mailboxTarget(address, Action.manageAccess, actor: actor, in: db)
            let access = try await db.access(mailboxID: target.id, page: page)
            let members = try await db.members(organizationID: target.service.organizationID, withoutAccessTo: target.id, limit: PageRequest.maxLimit)
            let service = try await db.mailService(id: target.service.id)
            return await AccessOverview(mailbox: address.description, service: service?.name ?? "", organization: service?.organization ?? "",
                                  defaults: try db.defaultPermissions(serviceID: target.service.id), access: access,
                                  members: members)
        }
    }

    /// Gives a member access to a mailbox, or changes it; nil permissions: the mail service's defaults.
    public func setAccess(mailbox address: String, login: String, permissions: MailboxPermission?, password: String?,
                          actor: Actor) async throws -> AccessChange {
        let address = try MailAddress(address)
        let proof = try await ownPassword(actor, password)
        return try await store.write { db in
            let target = try await Access.mailboxTarget(address, Action.manageAccess, actor: actor, in: db)
            let user = try await db.requireUser(login: login)
            guard try await db.role(userID: user.id, organizationID: target.service.organizationID) != nil else {
                throw PosternError(.notAMember, """
                    \(user.login) is not a member of the organization of \(address); add them with `postern member set` first
                    """)
            }
            let before = try await db.access(userID: user.id, mailboxID: target.id)
            let after = if let permissions { permissions } else { try await db.defaultPermissions(serviceID: target.service.id) }
            if before != nil, before != after { try await self.reconfirm(actor, proof, in: db) }
            try await db.setAccess(userID: user.id, mailboxID: target.id, after)
            try await ActionLog.record(before.map { .accessChanged(login: user.login, from: $0, to: after, defaultsOf: nil) }
                                     ?? .accessGranted(login: user.login, after),
                                 mailbox: address.description, by: actor, in: db)
            return AccessChange(access: MailboxAccess(login: user.login, mailbox: address.description, permissions: after), previous: before)
        }
    }

    public func revokeAccess(mailbox address: String, login: String, password: String?, actor: Actor) async throws -> AccessChange {
        let address = try MailAddress(address)
        let proof = try await ownPassword(actor, password)
        return try await store.write { db in
            let target = try await Access.mailboxTarget(address, Action.manageAccess, actor: actor, in: db)
            let user = try await db.requireUser(login: login)
            guard let before = try await db.access(userID: user.id, mailboxID: target.id) else {
                throw PosternError(.accessNotFound, "\(user.login) has no access to \(address)")
            }
            try await self.reconfirm(actor, proof, in: db)
            try await db.removeAccess(userID: user.id, mailboxID: target.id)
            try await ActionLog.record(.accessRevoked(login: user.login, before), mailbox: address.description, by: actor, in: db)
            return AccessChange(access: MailboxAccess(login: user.login, mailbox: address.description, permissions: []), previous: before)
        }
    }

    // MARK: mail services given to collaborators

    public func serviceGrants(service name: String, actor: Actor) async throws -> ServiceGrants {
        try await store.read { db in
            let target = try await Access.service(name, .manage, actor: actor, in: db)
            return try await ServiceGrants(service: name, logins: db.serviceGrants(serviceID: target.id))
        }
    }

    /// Gives a collaborator a mail service: they see it and every mailbox of it (their permissions
    /// on each still come from their mailbox access).
    public func grantService(_ name: String, login: String, actor: Actor) async throws -> ServiceGrants {
        try await store.write { db in
            let target = try await Access.service(name, .manage, actor: actor, in: db)
            let user = try await db.requireUser(login: login)
            guard try await db.role(userID: user.id, organizationID: target.organizationID) == .collaborator else {
                throw PosternError(.notACollaborator, """
                    mail services are given to collaborators; \(user.login) is not a collaborator of the organization of \(name)
                    """)
            }
            try await db.grantService(userID: user.id, serviceID: target.id)
            try await ActionLog.record(.serviceGrant(login: user.login, service: name, given: true), mailbox: nil, organizationID: target.organizationID,
                                 by: actor, in: db)
            return try await ServiceGrants(service: name, logins: db.serviceGrants(serviceID: target.id))
        }
    }

    public func revokeService(_ name: String, login: String, actor: Actor) async throws -> ServiceGrants {
        try await store.write { db in
            let target = try await Access.service(name, .manage, actor: actor, in: db)
            let user = try await db.requireUser(login: login)
            guard try await db.revokeService(userID: user.id, serviceID: target.id) else {
                throw PosternError(.grantNotFound, "\(user.login) was not given mail service \(name)")
            }
            try await ActionLog.record(.serviceGrant(login: user.login, service: name, given: false), mailbox: nil, organizationID: target.organizationID,
                                 by: actor, in: db)
            return try await ServiceGrants(service: name, logins: db.serviceGrants(serviceID: target.id))
        }
    }

    // MARK: defaults of a mail service

    /// A page of a mail service's mailboxes and how many it has (its global configuration's page).
    public func mailboxes(service name: String, page: PageRequest = .first(), actor: Actor) async throws -> (mailboxes: Page<Mailbox>, count: Int) {
        try await store.read { db in
            let target = try await Access.service(name, .manage, actor: actor, in: db)
            return try await (db.mailboxes(serviceID: target.id, page: page), db.mailboxCount(serviceID: target.id))
        }
    }

    public func defaults(service name: String, actor: Actor) async throws -> ServiceDefaults {
        try await store.read { db in
            let target = try await Access.service(name, .manage, actor: actor, in: db)
            return try await ServiceDefaults(service: name, permissions: db.defaultPermissions(serviceID: target.id))
        }
    }

    public func setDefaults(service name: String, permissions: MailboxPermission, actor: Actor) async throws -> ServiceDefaults {
        try await store.write { db in
            let target = try await Access.service(name, .manage, actor: actor, in: db)
            let before = try await db.defaultPermissions(serviceID: target.id)
            try await db.setDefaultPermissions(serviceID: target.id, permissions)
            try await ActionLog.record(.defaultsSet(service: name, from: before, to: permissions), mailbox: nil, organizationID: target.organizationID,
                                 by: actor, in: db)
            return ServiceDefaults(service: name, permissions: permissions)
        }
    }

    /// Gives every user of this mailbox exactly its mail service's defaults.
    public func applyDefaults(toMailbox address: String, password: String?, actor: Actor) async throws -> [AccessChange] {
        let service = try await accessOverview(mailbox: address, actor: actor).service
        return try await applyDefaults(service: service, mailboxes: [address], login: nil, password: password, actor: actor)
    }

    /// Gives every user of every mailbox of the service exactly its defaults.
    public func applyDefaultsToEveryMailbox(service name: String, password: String?, actor: Actor) async throws -> [AccessChange] {
        let mailboxes = try await store.read { db in
            let target = try await Access.service(name, .manage, actor: actor, in: db)
            return try await db.mailboxAddresses(serviceID: target.id)
        }
        return try await applyDefaults(service: name, mailboxes: mailboxes, login: nil, password: password, actor: actor)
    }

    /// Gives every user of each mailbox (or only `login`'s access) exactly the service's defaults.
    public func applyDefaults(service name: String, mailboxes: [String], login: String?, password: String?, actor: Actor) async throws -> [AccessChange] {
        let addresses = try mailboxes.map { try MailAddress($0) }
        let proof = try await ownPassword(actor, password)
        return try await store.write { db in
            let target = try await Access.service(name, .manage, actor: actor, in: db)
            let defaults = try await db.defaultPermissions(serviceID: target.id)
            let only = if let login { try await db.requireUser(login: login) } else { nil as User? }
            try await self.reconfirm(actor, proof, in: db)
            var changes: [AccessChange] = []
            for address in addresses {
                guard let box = try await db.mailboxTarget(address), box.service.id == target.id else {
                    throw PosternError(.notInService, "\(address) is not a mailbox of \(name); nothing was changed")
                }
                for entry in try await db.accessList(mailboxID: box.id) where only == nil || entry.login == only?.login {
                    let user = try await db.requireUser(login: entry.login)
                    try await db.setAccess(userID: user.id, mailboxID: box.id, defaults)
                    if entry.permissions != defaults {
                        try await ActionLog.record(.accessChanged(login: entry.login, from: entry.permissions, to: defaults, defaultsOf: name),
                                             mailbox: address.description, by: actor, in: db)
                    }
                    changes.append(AccessChange(access: MailboxAccess(login: entry.login, mailbox: address.description, permissions: defaults),
                                                previous: entry.permissions))
                }
            }
            return changes
        }
    }
}

/// A mailbox's users and permissions, for the web manager's permissions page.
public struct AccessOverview: Sendable {
    public let mailbox: String
    public let service: String
    public let organization: String
    /// The mail service's global configuration: what "apply the global configuration" gives.
    public let defaults: MailboxPermission
    /// A page of who has access, with their display names.
    public let access: Page<(access: MailboxAccess, displayName: String)>
    /// The organization's first 500 members (by login) without access: whom it can be given to.
    public let members: [Member]
}
