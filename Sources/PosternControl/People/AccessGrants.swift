import Foundation
import PosternCore
import PosternStore

/// Who may do what on a mailbox, the mail services given to collaborators, and the default
/// permissions of each mail service.
extension PeoplePlane {
    // MARK: mailbox access

    public func access(mailbox address: String, page: PageRequest = .first(), actor: Actor) throws -> Page<MailboxAccess> {
        let address = try MailAddress(address)
        return try store.read { db in
            let target = try Access.mailboxTarget(address, Action.manageAccess, actor: actor, in: db)
            return try db.access(mailboxID: target.id, page: page).mapItems(\.access)
        }
    }

    /// What the permissions page of a mailbox shows: who has which permissions, the members who
    /// could be given access, and the mail service's global configuration.
    /// A page of the access list; the members offered are the first 500 without access.
    public func accessOverview(mailbox address: String, page: PageRequest = .first(), actor: Actor) throws -> AccessOverview {
        let address = try MailAddress(address)
        return try store.read { db in
            let target = try Access.mailboxTarget(address, Action.manageAccess, actor: actor, in: db)
            let access = try db.access(mailboxID: target.id, page: page)
            let members = try db.members(organizationID: target.service.organizationID, withoutAccessTo: target.id, limit: PageRequest.maxLimit)
            let service = try db.mailService(id: target.service.id)
            return AccessOverview(mailbox: address.description, service: service?.name ?? "", organization: service?.organization ?? "",
                                  defaults: try db.defaultPermissions(serviceID: target.service.id), access: access,
                                  members: members)
        }
    }

    /// Gives a member access to a mailbox, or changes it; nil permissions: the mail service's defaults.
    public func setAccess(mailbox address: String, login: String, permissions: MailboxPermission?, password: String?,
                          actor: Actor) throws -> AccessChange {
        let address = try MailAddress(address)
        return try store.write { db in
            let target = try Access.mailboxTarget(address, Action.manageAccess, actor: actor, in: db)
            let user = try db.requireUser(login: login)
            guard try db.role(userID: user.id, organizationID: target.service.organizationID) != nil else {
                throw PosternError(.notAMember, """
                    \(user.login) is not a member of the organization of \(address); add them with `postern member set` first
                    """)
            }
            let before = try db.access(userID: user.id, mailboxID: target.id)
            let after = try permissions ?? db.defaultPermissions(serviceID: target.service.id)
            if before != nil, before != after { try self.reconfirm(actor, password, in: db) }
            try db.setAccess(userID: user.id, mailboxID: target.id, after)
            try ActionLog.record(before.map { .accessChanged(login: user.login, from: $0, to: after, defaultsOf: nil) }
                                     ?? .accessGranted(login: user.login, after),
                                 mailbox: address.description, by: actor, in: db)
            return AccessChange(access: MailboxAccess(login: user.login, mailbox: address.description, permissions: after), previous: before)
        }
    }

    public func revokeAccess(mailbox address: String, login: String, password: String?, actor: Actor) throws -> AccessChange {
        let address = try MailAddress(address)
        return try store.write { db in
            let target = try Access.mailboxTarget(address, Action.manageAccess, actor: actor, in: db)
            let user = try db.requireUser(login: login)
            guard let before = try db.access(userID: user.id, mailboxID: target.id) else {
                throw PosternError(.accessNotFound, "\(user.login) has no access to \(address)")
            }
            try self.reconfirm(actor, password, in: db)
            try db.removeAccess(userID: user.id, mailboxID: target.id)
            try ActionLog.record(.accessRevoked(login: user.login, before), mailbox: address.description, by: actor, in: db)
            return AccessChange(access: MailboxAccess(login: user.login, mailbox: address.description, permissions: []), previous: before)
        }
    }

    // MARK: mail services given to collaborators

    public func serviceGrants(service name: String, actor: Actor) throws -> ServiceGrants {
        try store.read { db in
            let target = try Access.service(name, .manage, actor: actor, in: db)
            return ServiceGrants(service: name, logins: try db.serviceGrants(serviceID: target.id))
        }
    }

    /// Gives a collaborator a mail service: they see it and every mailbox of it (their permissions
    /// on each still come from their mailbox access).
    public func grantService(_ name: String, login: String, actor: Actor) throws -> ServiceGrants {
        try store.write { db in
            let target = try Access.service(name, .manage, actor: actor, in: db)
            let user = try db.requireUser(login: login)
            guard try db.role(userID: user.id, organizationID: target.organizationID) == .collaborator else {
                throw PosternError(.notACollaborator, """
                    mail services are given to collaborators; \(user.login) is not a collaborator of the organization of \(name)
                    """)
            }
            try db.grantService(userID: user.id, serviceID: target.id)
            try ActionLog.record(.serviceGrant(login: user.login, service: name, given: true), mailbox: nil, organizationID: target.organizationID,
                                 by: actor, in: db)
            return ServiceGrants(service: name, logins: try db.serviceGrants(serviceID: target.id))
        }
    }

    public func revokeService(_ name: String, login: String, actor: Actor) throws -> ServiceGrants {
        try store.write { db in
            let target = try Access.service(name, .manage, actor: actor, in: db)
            let user = try db.requireUser(login: login)
            guard try db.revokeService(userID: user.id, serviceID: target.id) else {
                throw PosternError(.grantNotFound, "\(user.login) was not given mail service \(name)")
            }
            try ActionLog.record(.serviceGrant(login: user.login, service: name, given: false), mailbox: nil, organizationID: target.organizationID,
                                 by: actor, in: db)
            return ServiceGrants(service: name, logins: try db.serviceGrants(serviceID: target.id))
        }
    }

    // MARK: defaults of a mail service

    /// A page of a mail service's mailboxes and how many it has (its global configuration's page).
    public func mailboxes(service name: String, page: PageRequest = .first(), actor: Actor) throws -> (mailboxes: Page<Mailbox>, count: Int) {
        try store.read { db in
            let target = try Access.service(name, .manage, actor: actor, in: db)
            return (try db.mailboxes(serviceID: target.id, page: page), try db.mailboxCount(serviceID: target.id))
        }
    }

    public func defaults(service name: String, actor: Actor) throws -> ServiceDefaults {
        try store.read { db in
            let target = try Access.service(name, .manage, actor: actor, in: db)
            return ServiceDefaults(service: name, permissions: try db.defaultPermissions(serviceID: target.id))
        }
    }

    public func setDefaults(service name: String, permissions: MailboxPermission, actor: Actor) throws -> ServiceDefaults {
        try store.write { db in
            let target = try Access.service(name, .manage, actor: actor, in: db)
            let before = try db.defaultPermissions(serviceID: target.id)
            try db.setDefaultPermissions(serviceID: target.id, permissions)
            try ActionLog.record(.defaultsSet(service: name, from: before, to: permissions), mailbox: nil, organizationID: target.organizationID,
                                 by: actor, in: db)
            return ServiceDefaults(service: name, permissions: permissions)
        }
    }

    /// Gives every user of this mailbox exactly its mail service's defaults.
    public func applyDefaults(toMailbox address: String, password: String?, actor: Actor) throws -> [AccessChange] {
        let service = try accessOverview(mailbox: address, actor: actor).service
        return try applyDefaults(service: service, mailboxes: [address], login: nil, password: password, actor: actor)
    }

    /// Gives every user of every mailbox of the service exactly its defaults.
    public func applyDefaultsToEveryMailbox(service name: String, password: String?, actor: Actor) throws -> [AccessChange] {
        let mailboxes = try store.read { db in
            let target = try Access.service(name, .manage, actor: actor, in: db)
            return try db.mailboxAddresses(serviceID: target.id)
        }
        return try applyDefaults(service: name, mailboxes: mailboxes, login: nil, password: password, actor: actor)
    }

    /// Gives every user of each mailbox (or only `login`'s access) exactly the service's defaults.
    public func applyDefaults(service name: String, mailboxes: [String], login: String?, password: String?, actor: Actor) throws -> [AccessChange] {
        let addresses = try mailboxes.map { try MailAddress($0) }
        return try store.write { db in
            let target = try Access.service(name, .manage, actor: actor, in: db)
            let defaults = try db.defaultPermissions(serviceID: target.id)
            let only = try login.map { try db.requireUser(login: $0) }
            try self.reconfirm(actor, password, in: db)
            var changes: [AccessChange] = []
            for address in addresses {
                guard let box = try db.mailboxTarget(address), box.service.id == target.id else {
                    throw PosternError(.notInService, "\(address) is not a mailbox of \(name); nothing was changed")
                }
                for entry in try db.accessList(mailboxID: box.id) where only == nil || entry.login == only?.login {
                    let user = try db.requireUser(login: entry.login)
                    try db.setAccess(userID: user.id, mailboxID: box.id, defaults)
                    if entry.permissions != defaults {
                        try ActionLog.record(.accessChanged(login: entry.login, from: entry.permissions, to: defaults, defaultsOf: name),
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
