import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// Users and their accounts, the members of each organization with their roles, who may do what
/// on which mailbox, the mail services given to collaborators, the services' default
/// permissions, and the API tokens and sessions users act with.
public struct PeoplePlane: Sendable {
    let store: Store
    /// The server key token and session digests are taken under.
    let key: ServerKey
    /// The sender of mail to members (role changes); nil: no mail.
    let mailFrom: String?
    /// Wrong account passwords given to re-confirm a sensitive change, per user.
    let confirmations: ConfirmationThrottle
    /// Where the account-password hash of a sign-in runs.
    let blocking: any BlockingRunner

    public init(store: Store, key: ServerKey, mailFrom: String?, blocking: any BlockingRunner) {
        self.store = store
        self.key = key
        self.mailFrom = mailFrom
        self.confirmations = ConfirmationThrottle()
        self.blocking = blocking
    }

    // MARK: users

    public func addUser(login: String, displayName: String, password: String?, actor: Actor) throws -> User {
        try store.read { db in try Access.authorize(actor, .addUser, in: db) }
        let hash = try password.map(AccountPassword.hash)
        return try store.write { db in
            let user = try db.createUser(login: login, displayName: displayName, passwordHash: hash)
            try ActionLog.record(.userAdded(login: user.login, displayName: user.displayName), mailbox: nil, by: actor, in: db)
            return user
        }
    }

    public func users(page: PageRequest = .first(), actor: Actor) throws -> Page<User> {
        try store.read { db in
            try Access.authorize(actor, .listUsers, in: db)
            return try db.users(page: page)
        }
    }

    /// Sets a user's account password: the operator for anyone, a user for themselves with their current one.
    public func setPassword(login: String, password: String, current: String?, actor: Actor) throws -> User {
        let hash = try AccountPassword.hash(password)
        return try store.write { db in
            let user = try db.requireUser(login: login)
            try Access.authorize(actor, .setAccountPassword(of: user.id), in: db)
            try self.reconfirm(actor, current, in: db)
            try db.setPasswordHash(userID: user.id, hash)
            try ActionLog.record(.accountPasswordSet(login: user.login), mailbox: nil, by: actor, in: db)
            var changed = user
            changed.canSignIn = true
            return changed
        }
    }

    // MARK: members

    public func members(organization: String, page: PageRequest = .first(), actor: Actor) throws -> Page<Member> {
        try store.read { db in
            let org = try Access.organization(organization, Action.viewMembers, actor: actor, in: db)
            return try db.members(organizationID: org, page: page)
        }
    }

    /// A page of the members, and whether the actor may change them (the members page).
    public func membersOverview(organization: String, page: PageRequest = .first(), actor: Actor) throws -> (members: Page<Member>, manages: Bool) {
        try store.read { db in
            let org = try Access.organization(organization, Action.viewMembers, actor: actor, in: db)
            return (try db.members(organizationID: org, page: page), try Access.decide(actor, .manageMembers(org), in: db) == .allowed)
        }
    }

    /// Adds a member (creating the user when the login is new) or changes their role.
    public func setMember(organization: String, login: String, role: Role, displayName: String?, password: String?,
                          actor: Actor) throws -> MemberChange {
        try store.write { db in
            let org = try Access.organization(organization, Action.manageMembers, actor: actor, in: db)
            let user = try db.user(login: try User.login(login)) ?? db.createUser(login: login, displayName: displayName ?? "", passwordHash: nil)
            let old = try db.role(userID: user.id, organizationID: org)
            let member = Member(login: user.login, displayName: user.displayName, organization: organization, role: role)
            if old == role { return MemberChange(member: member, previous: old) }
            if role == .legalRepresentative || old == .legalRepresentative {
                try Access.authorize(actor, .appointLegalRepresentative(org), in: db, orHide: PosternError.organizationNotFound(organization))
            }
            if old == .legalRepresentative { try PeopleRules.checkNotLast(user.login, of: organization, count: try db.legalRepresentativeCount(organizationID: org)) }
            if old != nil { try self.reconfirm(actor, password, in: db) }
            try db.setRole(userID: user.id, organizationID: org, role)
            if let from = self.mailFrom, !PeopleRules.isPosternItself(actor) {
                // In the same transaction: the mail goes out if and only if the change happened.
                let mail = RoleChangeMail(to: user.login, displayName: user.displayName, organization: organization, before: old, after: role,
                                          changedBy: actor.user?.login ?? "the operator", at: Date())
                try db.enqueueMail(to: user.login, message: mail.render(from: from, messageID: "\(UUID().uuidString)@postern"))
            }
            let history: HistoryAction = old.map { .memberRoleChanged(login: user.login, organization: organization, from: $0, to: role) }
                ?? .memberAdded(login: user.login, organization: organization, role)
            try ActionLog.record(history, mailbox: nil, organizationID: org, by: actor, in: db)
            return MemberChange(member: member, previous: old)
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
            try PeopleRules.checkTypedBack(confirm, removal)
            let org = try db.organizationID(organization)
            if removal.member.role == .legalRepresentative {
                try Access.authorize(actor, .appointLegalRepresentative(org), in: db, orHide: PosternError.organizationNotFound(organization))
                try PeopleRules.checkNotLast(removal.member.login, of: organization, count: try db.legalRepresentativeCount(organizationID: org),
                                             removing: true)
            }
            try self.reconfirm(actor, password, in: db)
            let user = try db.requireUser(login: removal.member.login)
            try db.removeMembership(userID: user.id, organizationID: org)
            for token in removal.tokens { try db.deleteToken(id: token.id) }
            try ActionLog.record(.memberRemoved(login: user.login, organization: organization, removal.member.role,
                                                mailboxAccess: removal.mailboxAccess.count, tokens: removal.tokens.count),
                                 mailbox: nil, organizationID: org, by: actor, in: db)
            return removal
        }
    }

    static func removal(_ organization: String, _ login: String, actor: Actor, in db: StoreTransaction) throws -> MemberRemoval {
        let org = try Access.organization(organization, Action.manageMembers, actor: actor, in: db)
        let user = try db.requireUser(login: login)
        guard let role = try db.role(userID: user.id, organizationID: org) else {
            throw PosternError(.memberNotFound, "\(user.login) is not a member of \(organization)")
        }
        let access = try db.accessList(userID: user.id, organizationID: org)
        let granted = try db.serviceGrantNames(userID: user.id, organizationID: org)
        // Their tokens and sessions go with their last membership.
        let tokens = try db.membershipCount(userID: user.id) <= 1 ? try db.tokens(userID: user.id) : []
        return MemberRemoval(member: Member(login: user.login, displayName: user.displayName, organization: organization, role: role),
                             mailboxAccess: access, services: granted, tokens: tokens)
    }

    // MARK: re-confirmation

    /// A user making a sensitive change gives their own account password; the operator needs none.
    func reconfirm(_ actor: Actor, _ password: String?, in db: StoreTransaction) throws {
        guard try Access.decide(actor, .skipReconfirmation, in: db) != .allowed, let user = actor.user else { return }
        try confirmations.check(user.id)
        guard let password, !password.isEmpty else {
            throw PosternError(.passwordRequired, "this change needs your own account password (password) to confirm it; nothing was changed")
        }
        guard let hash = try db.passwordHash(userID: user.id), AccountPassword.verify(password, against: hash) else {
            confirmations.failed(user.id)
            throw PosternError(.wrongPassword, "that is not your account password; nothing was changed")
        }
        confirmations.succeeded(user.id)
    }
}
