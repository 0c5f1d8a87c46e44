import Foundation
import PosternAuth
import PosternCore
import PosternStore
import Synchronization

/// Users, the members of each organization with their roles, and who may do what on which mailbox.
extension ControlPlane {
    // MARK: users

    public func addUser(login: String, displayName: String, password: String?, actor: Actor) throws -> User {
        try actor.requireOperator("add user accounts")
        let hash = try password.map(AccountPassword.hash)
        return try store.write { db in
            let user = try db.createUser(login: login, displayName: displayName, passwordHash: hash)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "user.add",
                                              detail: "user \(user.login) (\(user.displayName)) added"))
            return user
        }
    }

    public func users(actor: Actor) throws -> [User] {
        try actor.requireOperator("list every user account")
        return try store.read { try $0.users() }
    }

    /// Sets a user's account password: the operator for anyone, a user for themselves with their current one.
    public func setPassword(login: String, password: String, current: String?, actor: Actor) throws -> User {
        let hash = try AccountPassword.hash(password)
        return try store.write { db in
            let user = try db.requireUser(login: login)
            if !actor.isOperator {
                guard actor.user?.id == user.id, case .user = actor else {
                    throw PosternError(.forbidden, code: "forbidden", "a user may change only their own account password")
                }
                try self.reconfirm(actor, current, in: db)
            }
            try db.setPasswordHash(userID: user.id, hash)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "user.password", detail: "account password of \(user.login) set"))
            var changed = user
            changed.canSignIn = true
            return changed
        }
    }

    // MARK: members

    public func members(organization: String, actor: Actor) throws -> [Member] {
        try store.read { db in
            let org = try db.organizationID(organization)
            try db.authorize(actor, .viewMembers(org), orHide: PosternError.organizationNotFound(organization))
            return try db.members(organizationID: org)
        }
    }

    /// Adds a member (creating the user when the login is new) or changes their role.
    public func setMember(organization: String, login: String, role: Role, displayName: String?, password: String?,
                          actor: Actor) throws -> MemberChange {
        try store.write { db in
            let org = try db.organizationID(organization)
            try db.authorize(actor, .manageMembers(org), orHide: PosternError.organizationNotFound(organization))
            let user = try db.user(login: try User.login(login)) ?? db.createUser(login: login, displayName: displayName ?? "", passwordHash: nil)
            let old = try db.role(userID: user.id, organizationID: org)
            if old == role { return MemberChange(member: Member(login: user.login, displayName: user.displayName, organization: organization, role: role), previous: old) }
            if role == .legalRepresentative || old == .legalRepresentative {
                try db.authorize(actor, .appointLegalRepresentative(org), orHide: PosternError.organizationNotFound(organization))
            }
            if old == .legalRepresentative, try db.legalRepresentativeCount(organizationID: org) <= 1 {
                throw PosternError(.conflict, code: "last_legal_representative", """
                    \(user.login) is the last legal representative of \(organization); make someone else legal representative first
                    """)
            }
            if old != nil { try self.reconfirm(actor, password, in: db) }
            try db.setRole(userID: user.id, organizationID: org, role)
            if let from = self.mailFrom, !Self.isSystem(actor) {
                // In the same transaction: the mail goes out if and only if the change happened.
                let mail = RoleChangeMail(to: user.login, displayName: user.displayName, organization: organization, before: old, after: role,
                                          changedBy: actor.user?.login ?? "the operator", at: Date())
                try db.enqueueMail(to: user.login, message: mail.render(from: from, messageID: "\(UUID().uuidString)@postern"))
            }
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: old == nil ? "member.add" : "member.role",
                detail: old.map { "role of \(user.login) in \(organization): \($0.label) → \(role.label)" }
                    ?? "\(user.login) joined \(organization) as \(role.label)",
                before: old?.rawValue, after: role.rawValue), organizationID: org)
            return MemberChange(member: Member(login: user.login, displayName: user.displayName, organization: organization, role: role), previous: old)
        }
    }

    /// What removing a member takes away: their access to the organization's mailboxes and services.
    public func memberRemovalPreview(organization: String, login: String, actor: Actor) throws -> MemberRemoval {
        try store.read { db in try Self.removal(organization, login, actor: actor, in: db) }
    }

    /// Removes a member, once their login is typed back as `confirm`.
    public func removeMember(organization: String, login: String, confirm: String?, password: String?, actor: Actor) throws -> MemberRemoval {
        try store.write { db in
            let removal = try Self.removal(organization, login, actor: actor, in: db)
            guard let confirm, (try? User.login(confirm)) == removal.member.login else {
                throw PosternError(.invalid, code: "confirmation_required", """
                    removing \(removal.member.login) takes away \(removal.mailboxAccess.count) mailbox access(es), \
                    \(removal.services.count) service(s) and \(removal.tokens.count) token(s) and session(s); type their login back as confirm to do it
                    """)
            }
            let org = try db.organizationID(organization)
            if removal.member.role == .legalRepresentative {
                try db.authorize(actor, .appointLegalRepresentative(org), orHide: PosternError.organizationNotFound(organization))
                if try db.legalRepresentativeCount(organizationID: org) <= 1 {
                    throw PosternError(.conflict, code: "last_legal_representative", """
                        \(removal.member.login) is the last legal representative of \(organization) and cannot be removed; \
                        make someone else legal representative first
                        """)
                }
            }
            try self.reconfirm(actor, password, in: db)
            let user = try db.requireUser(login: removal.member.login)
            try db.removeMembership(userID: user.id, organizationID: org)
            for token in removal.tokens { try db.deleteToken(id: token.id) }
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "member.remove", detail: """
                \(user.login) (\(removal.member.role.label)) removed from \(organization) with \(removal.mailboxAccess.count) mailbox access(es) \
                and \(removal.tokens.count) token(s) and session(s)
                """, before: removal.member.role.rawValue, after: nil), organizationID: org)
            return removal
        }
    }

    static func removal(_ organization: String, _ login: String, actor: Actor, in db: StoreTransaction) throws -> MemberRemoval {
        let org = try db.organizationID(organization)
        try db.authorize(actor, .manageMembers(org), orHide: PosternError.organizationNotFound(organization))
        let user = try db.requireUser(login: login)
        guard let role = try db.role(userID: user.id, organizationID: org) else {
            throw PosternError(.notFound, code: "member_not_found", "\(user.login) is not a member of \(organization)")
        }
        let access = try db.accessList(userID: user.id, organizationID: org)
        let granted = try String.fetchAll(db, sql: """
            SELECT s.name FROM serviceGrant g JOIN mailService s ON s.id = g.mailServiceId WHERE g.userId = ? AND s.organizationId = ? ORDER BY s.name
            """, arguments: [user.id, org])
        let memberships = try Int.fetchOne(db, sql: "SELECT count(*) FROM membership WHERE userId = ?", arguments: [user.id]) ?? 0
        return MemberRemoval(member: Member(login: user.login, displayName: user.displayName, organization: organization, role: role),
                             mailboxAccess: access, services: granted, tokens: memberships <= 1 ? try db.tokens(userID: user.id) : [])
    }

    // MARK: mailbox access

    public func access(mailbox address: String, actor: Actor) throws -> [MailboxAccess] {
        let address = try MailAddress(address)
        return try store.read { db in
            let target = try Self.accessTarget(address, actor: actor, in: db)
            return try db.accessList(mailboxID: target.id)
        }
    }

    /// What the permissions page of a mailbox shows: who has which permissions, the members who
    /// could be given access, and the mail service's global configuration.
    public func accessOverview(mailbox address: String, actor: Actor) throws -> AccessOverview {
        let address = try MailAddress(address)
        return try store.read { db in
            let target = try Self.accessTarget(address, actor: actor, in: db)
            let access = try db.accessList(mailboxID: target.id)
            let members = try db.members(organizationID: target.service.organizationID)
            let service = try db.mailServices().first { $0.id == target.service.id }
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
            let target = try Self.accessTarget(address, actor: actor, in: db)
            let user = try db.requireUser(login: login)
            guard try db.role(userID: user.id, organizationID: target.service.organizationID) != nil else {
                throw PosternError(.conflict, code: "not_a_member", """
                    \(user.login) is not a member of the organization of \(address); add them with `postern member set` first
                    """)
            }
            let before = try db.access(userID: user.id, mailboxID: target.id)
            let after = try permissions ?? db.defaultPermissions(serviceID: target.service.id)
            if before != nil, before != after { try self.reconfirm(actor, password, in: db) }
            try db.setAccess(userID: user.id, mailboxID: target.id, after)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: before == nil ? "access.grant" : "access.change",
                detail: "access of \(user.login): \(Self.describe(before)) → \(Self.describe(after))",
                before: before.map(Self.describe), after: Self.describe(after)))
            return AccessChange(access: MailboxAccess(login: user.login, mailbox: address.description, permissions: after), previous: before)
        }
    }

    public func revokeAccess(mailbox address: String, login: String, password: String?, actor: Actor) throws -> AccessChange {
        let address = try MailAddress(address)
        return try store.write { db in
            let target = try Self.accessTarget(address, actor: actor, in: db)
            let user = try db.requireUser(login: login)
            guard let before = try db.access(userID: user.id, mailboxID: target.id) else {
                throw PosternError(.notFound, code: "access_not_found", "\(user.login) has no access to \(address)")
            }
            try self.reconfirm(actor, password, in: db)
            try db.removeAccess(userID: user.id, mailboxID: target.id)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "access.revoke",
                                              detail: "access of \(user.login): \(Self.describe(before)) → none",
                                              before: Self.describe(before), after: nil))
            return AccessChange(access: MailboxAccess(login: user.login, mailbox: address.description, permissions: []), previous: before)
        }
    }

    static func accessTarget(_ address: MailAddress, actor: Actor, in db: StoreTransaction) throws -> MailboxTarget {
        guard let target = try db.mailboxTarget(address) else { throw PosternError.mailboxNotFound(address.description) }
        try db.authorize(actor, .manageAccess(target), orHide: PosternError.mailboxNotFound(address.description))
        return target
    }

    static func describe(_ permissions: MailboxPermission?) -> String {
        guard let permissions else { return "none" }
        return permissions.isEmpty ? "no permission" : permissions.names.joined(separator: ",")
    }

    // MARK: mail services given to collaborators

    public func serviceGrants(service name: String, actor: Actor) throws -> ServiceGrants {
        try store.read { db in
            let target = try Self.service(name, .manage, actor: actor, in: db)
            return ServiceGrants(service: name, logins: try db.serviceGrants(serviceID: target.id))
        }
    }

    /// Gives a collaborator a mail service: they see it and every mailbox of it (their permissions
    /// on each still come from their mailbox access).
    public func grantService(_ name: String, login: String, actor: Actor) throws -> ServiceGrants {
        try store.write { db in
            let target = try Self.service(name, .manage, actor: actor, in: db)
            let user = try db.requireUser(login: login)
            guard try db.role(userID: user.id, organizationID: target.organizationID) == .collaborator else {
                throw PosternError(.conflict, code: "not_a_collaborator", """
                    mail services are given to collaborators; \(user.login) is not a collaborator of the organization of \(name)
                    """)
            }
            try db.grantService(userID: user.id, serviceID: target.id)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "access.service", detail: "\(user.login) given mail service \(name)",
                                              before: nil, after: name), organizationID: target.organizationID)
            return ServiceGrants(service: name, logins: try db.serviceGrants(serviceID: target.id))
        }
    }

    public func revokeService(_ name: String, login: String, actor: Actor) throws -> ServiceGrants {
        try store.write { db in
            let target = try Self.service(name, .manage, actor: actor, in: db)
            let user = try db.requireUser(login: login)
            guard try db.revokeService(userID: user.id, serviceID: target.id) else {
                throw PosternError(.notFound, code: "grant_not_found", "\(user.login) was not given mail service \(name)")
            }
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "access.service", detail: "\(user.login) no longer given mail service \(name)",
                                              before: name, after: nil), organizationID: target.organizationID)
            return ServiceGrants(service: name, logins: try db.serviceGrants(serviceID: target.id))
        }
    }

    // MARK: defaults of a mail service

    public func defaults(service name: String, actor: Actor) throws -> ServiceDefaults {
        try store.read { db in
            let target = try Self.service(name, .manage, actor: actor, in: db)
            return ServiceDefaults(service: name, permissions: try db.defaultPermissions(serviceID: target.id))
        }
    }

    public func setDefaults(service name: String, permissions: MailboxPermission, actor: Actor) throws -> ServiceDefaults {
        try store.write { db in
            let target = try Self.service(name, .manage, actor: actor, in: db)
            let before = try db.defaultPermissions(serviceID: target.id)
            try db.setDefaultPermissions(serviceID: target.id, permissions)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "defaults.set",
                                              detail: "default permissions of \(name): \(Self.describe(before)) → \(Self.describe(permissions))",
                                              before: Self.describe(before), after: Self.describe(permissions)), organizationID: target.organizationID)
            return ServiceDefaults(service: name, permissions: permissions)
        }
    }

    /// Gives every user of each mailbox (or only `login`'s access) exactly the service's defaults.
    public func applyDefaults(service name: String, mailboxes: [String], login: String?, password: String?, actor: Actor) throws -> [AccessChange] {
        let addresses = try mailboxes.map { try MailAddress($0) }
        return try store.write { db in
            let target = try Self.service(name, .manage, actor: actor, in: db)
            let defaults = try db.defaultPermissions(serviceID: target.id)
            let only = try login.map { try db.requireUser(login: $0) }
            try self.reconfirm(actor, password, in: db)
            var changes: [AccessChange] = []
            for address in addresses {
                guard let box = try db.mailboxTarget(address), box.service.id == target.id else {
                    throw PosternError(.invalid, code: "not_in_service", "\(address) is not a mailbox of \(name); nothing was changed")
                }
                for entry in try db.accessList(mailboxID: box.id) where only == nil || entry.login == only?.login {
                    let user = try db.requireUser(login: entry.login)
                    try db.setAccess(userID: user.id, mailboxID: box.id, defaults)
                    if entry.permissions != defaults {
                        try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "access.change",
                            detail: "access of \(entry.login): \(Self.describe(entry.permissions)) → \(Self.describe(defaults)) (defaults of \(name))",
                            before: Self.describe(entry.permissions), after: Self.describe(defaults)))
                    }
                    changes.append(AccessChange(access: MailboxAccess(login: entry.login, mailbox: address.description, permissions: defaults),
                                                previous: entry.permissions))
                }
            }
            return changes
        }
    }

    /// posternd itself (demo data) changes no one's role: it mails nobody.
    static func isSystem(_ actor: Actor) -> Bool {
        if case .system = actor { return true }
        return false
    }

    // MARK: re-confirmation

    /// A user making a sensitive change gives their own account password; the operator needs none.
    func reconfirm(_ actor: Actor, _ password: String?, in db: StoreTransaction) throws {
        guard case let .user(user, _) = actor else { return }
        try confirmations.check(user.id)
        guard let password, !password.isEmpty else {
            throw PosternError(.forbidden, code: "password_required", "this change needs your own account password (password) to confirm it; nothing was changed")
        }
        guard let hash = try db.passwordHash(userID: user.id), AccountPassword.verify(password, against: hash) else {
            confirmations.failed(user.id)
            throw PosternError(.forbidden, code: "wrong_password", "that is not your account password; nothing was changed")
        }
        confirmations.succeeded(user.id)
    }
}

/// Wrong re-confirmation passwords per user: five in 15 minutes, then every try is refused until
/// the window passes (the account password is not guessed through the control API).
final class ConfirmationThrottle: Sendable {
    static let allowed = 5
    static let window: Duration = .seconds(15 * 60)
    private let failures = Mutex<[Int64: (count: Int, since: ContinuousClock.Instant)]>([:])

    func check(_ user: Int64) throws(PosternError) {
        let blocked = failures.withLock { table -> Bool in
            guard let entry = table[user] else { return false }
            if ContinuousClock.now - entry.since > Self.window { table[user] = nil; return false }
            return entry.count >= Self.allowed
        }
        if blocked {
            throw PosternError(.forbidden, code: "confirmation_throttled", "too many wrong account passwords; try again in 15 minutes")
        }
    }

    func failed(_ user: Int64) {
        failures.withLock { table in
            let entry = table[user] ?? (0, .now)
            table[user] = (entry.count + 1, entry.since)
            if table.count > 100_000 { table.removeAll() }  // bounded: a flood forgets, it never grows
        }
    }

    func succeeded(_ user: Int64) { failures.withLock { $0[user] = nil } }
}

/// A mailbox's users and permissions, for the web manager's permissions page.
public struct AccessOverview: Sendable {
    public let mailbox: String
    public let service: String
    public let organization: String
    /// The mail service's global configuration: what "apply the global configuration" gives.
    public let defaults: MailboxPermission
    public let access: [MailboxAccess]
    /// Every member of the organization (those without access can be given it).
    public let members: [Member]
}
