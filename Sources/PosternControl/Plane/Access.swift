import PosternCore
import PosternStore

/// How a plane asks the rule set, inside the transaction that acts: the actor's rights are read
/// there, `Policy.decide` answers, and a refusal becomes the error the caller gets. A target the
/// actor may not see is "not found", exactly as if it did not exist.
public enum Access {
    /// Throws 403 naming what is missing, or `notFound` when the target is not the actor's to see.
    public static func authorize(_ actor: Actor, _ action: Action, in db: StoreTransaction,
                                 orHide notFound: @autoclosure () -> PosternError = PosternError(.notFound, "not found")) async throws {
        try await enforce(decide(actor, action, in: db), actor, notFound())
    }

    /// The rule set's answer, for a plane that shows or leaves out rather than refuses.
    public static func decide(_ actor: Actor, _ action: Action, in db: StoreTransaction) async throws -> Decision {
        try await Policy.decide(db.rights(of: actor), action)
    }

    /// Whether `rights` (read once for a whole list) allow `action`.
    public static func allows(_ rights: Rights, _ action: Action) -> Bool { Policy.decide(rights, action) == .allowed }

    static func enforce(_ decision: Decision, _ actor: Actor, _ notFound: @autoclosure () -> PosternError) throws(PosternError) {
        switch decision {
        case .allowed: return
        case .hidden: throw notFound()
        case let .forbidden(requirement):
            throw PosternError(.forbidden, "\(actor.user?.login ?? "this caller") may not do this: \(requirement.description)")
        }
    }

    // MARK: the targets actions land on

    /// The mailbox an action lands on, once the actor may do `permission` there (nil: only see it).
    public static func mailbox(_ address: MailAddress, _ permission: MailboxPermission?, actor: Actor, in db: StoreTransaction) async throws -> Mailbox {
        let target = try await mailboxTarget(address, in: db)
        try await authorize(actor, permission.map { .mailbox(target, $0) } ?? .viewMailbox(target), in: db,
                      orHide: PosternError.mailboxNotFound(address.description))
        return try await db.mailbox(address)
    }

    /// The mailbox an action lands on, once the actor may do `action` to it.
    public static func mailbox(_ address: MailAddress, _ action: @Sendable (MailboxTarget) -> Action, actor: Actor, in db: StoreTransaction) async throws -> Mailbox {
        _ = try await mailboxTarget(address, action, actor: actor, in: db)
        return try await db.mailbox(address)
    }

    /// A mailbox's place in the directory (its service and organization), or "not found".
    public static func mailboxTarget(_ address: MailAddress, in db: StoreTransaction) async throws -> MailboxTarget {
        guard let target = try await db.mailboxTarget(address) else { throw PosternError.mailboxNotFound(address.description) }
        return target
    }

    /// A mailbox target once the actor may do `action` to it.
    public static func mailboxTarget(_ address: MailAddress, _ action: @Sendable (MailboxTarget) -> Action, actor: Actor,
                                     in db: StoreTransaction) async throws -> MailboxTarget {
        let target = try await mailboxTarget(address, in: db)
        try await authorize(actor, action(target), in: db, orHide: PosternError.mailboxNotFound(address.description))
        return target
    }

    public enum ServiceUse: Sendable { case view, manage }

    /// A mail service the actor may see (or manage); one they may not see is "not found".
    @discardableResult
    public static func service(_ name: String, _ use: ServiceUse, actor: Actor, in db: StoreTransaction) async throws -> ServiceTarget {
        guard let target = try await db.serviceTarget(name: name) else { throw PosternError.serviceNotFound(name) }
        try await authorize(actor, use == .view ? .viewService(target) : .manageService(target), in: db, orHide: PosternError.serviceNotFound(name))
        return target
    }

    /// An organization's id once the actor may do `action` there; one they do not belong to is "not found".
    public static func organization(_ name: String, _ action: @Sendable (Int64) -> Action, actor: Actor, in db: StoreTransaction) async throws -> Int64 {
        let id = try await db.organizationID(name)
        try await authorize(actor, action(id), in: db, orHide: PosternError.organizationNotFound(name))
        return id
    }
}
