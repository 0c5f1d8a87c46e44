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
    /// Wrong account passwords given to re-confirm a sensitive change, per user and source.
    let confirmations: any Lockout
    /// Where the account-password hash of a sign-in runs.
    let blocking: any BlockingRunner

    public init(store: Store, key: ServerKey, mailFrom: String?, blocking: any BlockingRunner, confirmations: (any Lockout)? = nil) {
        self.store = store
        self.key = key
        self.mailFrom = mailFrom
        self.confirmations = confirmations ?? Throttle(policy: Lockouts.confirmationPolicy)
        self.blocking = blocking
    }

    // MARK: users

    public func addUser(login: String, displayName: String, password: String?, actor: Actor) async throws -> User {
        try await store.read { db in try await Access.authorize(actor, .addUser, in: db) }
        let hash = if let password { try await blocking.run { try AccountPassword.hash(password) } } else { nil as String? }
        return try await store.write { db in
            let user = try await db.createUser(login: login, displayName: displayName, passwordHash: hash)
            try await ActionLog.record(.userAdded(login: user.login, displayName: user.displayName), mailbox: nil, by: actor, in: db)
            return user
        }
    }

    public func users(page: PageRequest = .first(), actor: Actor) async throws -> Page<User> {
        try await store.read { db in
            try await Access.authorize(actor, .listUsers, in: db)
            return try await db.users(page: page)
        }
    }

    /// Sets a user's account password: the operator for anyone, a user for themselves with their current one.
    public func setPassword(login: String, password: String, current: String?, actor: Actor) async throws -> User {
        let hash = try await blocking.run { try AccountPassword.hash(password) }
        let proof = try await ownPassword(actor, current)
        return try await store.write { db in
            let user = try await db.requireUser(login: login)
            try await Access.authorize(actor, .setAccountPassword(of: user.id), in: db)
            try await self.reconfirm(actor, proof, in: db)
            try await db.setPasswordHash(userID: user.id, hash)
            try await ActionLog.record(.accountPasswordSet(login: user.login), mailbox: nil, by: actor, in: db)
            var changed = user
            changed.canSignIn = true
            return changed
        }
    }

    // MARK: members

    public func members(organization: String, page: PageRequest = .first(), actor: Actor) async throws -> Page<Member> {
        try await store.read { db in
            let org = try await Access.organization(organization, Action.viewMembers, actor: actor, in: db)
            return try await db.members(organizationID: org, page: page)
        }
    }

    /// A page of the members, and whether the actor may change them (the members page).
    public func membersOverview(organization: String, page: PageRequest = .first(), actor: Actor) async throws -> (members: Page<Member>, manages: Bool) {
        try await store.read { db in
            let org = try await Access.organization(organization, Action.viewMembers, actor: actor, in: db)
            return try await (db.members(organizationID: org, page: page), Access.decide(actor, .manageMembers(org), in: db) == .allowed)
        }
    }

    /// Adds a member (creating the user when the login is new) or changes their role.
    public func setMember(organization: String, login: String, role: Role, displayName: String?, password: String?,
                          actor: Actor) async throws -> MemberChange {
        let proof = try await ownPassword(actor, password)
        return try await store.write { db in
            let org = try await Access.organization(organization, Action.manageMembers, actor: actor, in: db)
            let user = if let known = try await db.user(login: try User.login(login)) { known } else {
                try await db.createUser(login: login, displayName: displayName ?? "", passwordHash: nil)
            }
            let old = try await db.role(userID: user.id, organizationID: org)
            let member = Member(login: user.login, displayName: user.displayName, organization: organization, role: role)
            if old == role { return MemberChange(member: member, previous: old) }
            if role == .legalRepresentative || old == .legalRepresentative {
                try await Access.authorize(actor, .appointLegalRepresentative(org), in: db, orHide: PosternError.organizationNotFound(organization))
            }
            if old == .legalRepresentative { try await PeopleRules.checkNotLast(user.login, of: organization, count: try db.legalRepresentativeCount(organizationID: org)) }
            if old != nil { try await self.reconfirm(actor, proof, in: db) }
            try await db.setRole(userID: user.id, organizationID: org, role)
            if let from = self.mailFrom, !PeopleRules.isPosternItself(actor) {
                // In the same transaction: the mail goes out if and only if the change happened.
                let mail = RoleChangeMail(to: user.login, displayName: user.displayName, organization: organization, before: old, after: role,
                                          changedBy: actor.user?.login ?? "the operator", at: Date())
                try await db.enqueueMail(to: user.login, message: mail.render(from: from, messageID: "\(UUID().uuidString)@postern"))
            }
            let history: HistoryAction = old.map { .memberRoleChanged(login: user.login, organization: organization, from: $0, to: role) }
                ?? .memberAdded(login: user.login, organization: organization, role)
            try await ActionLog.record(history, mailbox: nil, organizationID: org, by: actor, in: db)
            return MemberChange(member: member, previous: old)
        }
    }

    /// What removing a member takes away: their access to the organization's mailboxes and services.
    public func memberRemovalPreview(organization: String, login: String, actor: Actor) async throws -> MemberRemoval {
        try await store.read { db in try await Self.removal(organization, login, actor: actor, in: db) }
    }

    /// Removes a member, once their login is typed back as `confirm`.
    public func removeMember(organization: String, login: String, confirm: String?, password: String?, actor: Actor) async throws -> MemberRemoval {
        let proof = try await ownPassword(actor, password)
        return try await store.write { db in
            let removal = try await Self.removal(organization, login, actor: actor, in: db)
            try PeopleRules.checkTypedBack(confirm, removal)
            let org = try await db.organizationID(organization)
            if removal.member.role == .legalRepresentative {
                try await Access.authorize(actor, .appointLegalRepresentative(org), in: db, orHide: PosternError.organizationNotFound(organization))
                try await PeopleRules.checkNotLast(removal.member.login, of: organization, count: try db.legalRepresentativeCount(organizationID: org),
                                             removing: true)
            }
            try await self.reconfirm(actor, proof, in: db)
            let user = try await db.requireUser(login: removal.member.login)
            try await db.removeMembership(userID: user.id, organizationID: org)
            for token in removal.tokens { try await db.deleteToken(id: token.id) }
            try await ActionLog.record(.memberRemoved(login: user.login, organization: organization, removal.member.role,
                                                mailboxAccess: removal.mailboxAccess.count, tokens: removal.tokens.count),
                                 mailbox: nil, organizationID: org, by: actor, in: db)
            return removal
        }
    }

    static func removal(_ organization: String, _ login: String, actor: Actor, in db: StoreTransaction) async throws -> MemberRemoval {
        let org = try await Access.organization(organization, Action.manageMembers, actor: actor, in: db)
        let user = try await db.requireUser(login: login)
        guard let role = try await db.role(userID: user.id, organizationID: org) else {
            throw PosternError(.memberNotFound, "\(user.login) is not a member of \(organization)")
        }
        let access = try await db.accessList(userID: user.id, organizationID: org)
        let granted = try await db.serviceGrantNames(userID: user.id, organizationID: org)
        // Their tokens and sessions go with their last membership.
        let tokens = try await db.membershipCount(userID: user.id) <= 1 ? try db.tokens(userID: user.id) : []
        return MemberRemoval(member: Member(login: user.login, displayName: user.displayName, organization: organization, role: role),
                             mailboxAccess: access, services: granted, tokens: tokens)
    }

    // MARK: re-confirmation

    /// A user making a sensitive change gives their own account password; the operator needs none.
    /// Verifies the actor's own account password before a change's transaction, so that Argon2id
    /// never runs while the change holds the writer. Each try is counted as a failure before
    /// Argon2id runs (per user and source: `Lockouts.confirmationKey`), and taken back when it
    /// verifies, so that tries sent at once cannot all be verified before the first one counts;
    /// outside the transaction, which a refusal rolls back.
    /// Whether the change needs the password at all is decided inside the transaction (`reconfirm`).
    func ownPassword(_ actor: Actor, _ password: String?) async throws -> Reconfirmation {
        guard let user = actor.user, let password, !password.isEmpty, let key = Lockouts.confirmationKey(actor) else { return .missing }
        if case let .refuse(retryAfter) = try await confirmations.verdict(login: key, ip: nil) { return .throttled(retryAfter: retryAfter) }
        try await confirmations.recordFailure(login: key, ip: nil)
        let hash = try await store.read { db in try await db.passwordHash(userID: user.id) }
        guard let hash, try await blocking.run({ AccountPassword.verify(password, against: hash) }) else { return .wrong }
        try await confirmations.recordSuccess(login: key, ip: nil)
        return .verified(hash: hash)
    }

    /// Refuses the change unless the actor may skip re-confirmation or `proof` verified their
    /// current account password (the hash it was verified against is still theirs).
    func reconfirm(_ actor: Actor, _ proof: Reconfirmation, in db: StoreTransaction) async throws {
        guard try await Access.decide(actor, .skipReconfirmation, in: db) != .allowed, let user = actor.user else { return }
        switch proof {
        case .missing:
            throw PosternError(.passwordRequired, "this change needs your own account password (password) to confirm it; nothing was changed")
        case let .throttled(retryAfter):
            throw PosternError(.confirmationThrottled, "too many wrong account passwords from here; try again in \(PosternError.minutes(retryAfter)); nothing was changed",
                               retryAfter: retryAfter)
        case let .verified(hash) where try await db.passwordHash(userID: user.id) == hash:
            return
        case .verified, .wrong:
            throw PosternError(.wrongPassword, "that is not your account password; nothing was changed")
        }
    }
}

/// What `PeoplePlane.ownPassword` found of a re-confirmation password.
enum Reconfirmation: Sendable {
    case missing
    case wrong
    /// Too many wrong ones from this source: not even tried.
    case throttled(retryAfter: Duration)
    case verified(hash: String)
}
