import PosternCore

extension StoreTransaction {
    /// The rights of whoever acts, read in the transaction that acts.
    public func rights(of actor: Actor) throws -> Rights {
        guard let user = actor.user else { return .operator }
        return try rights(userID: user.id)
    }

    /// Asks the rule set; throws 403 naming what is missing, or `notFound` (the error the caller
    /// would give for a target that does not exist) when the target is not the actor's to see.
    public func authorize(_ actor: Actor, _ action: Action,
                          orHide notFound: @autoclosure () -> PosternError = PosternError(.notFound, code: "not_found", "not found")) throws {
        switch Policy.authorize(try rights(of: actor), action) {
        case .allowed: return
        case .hidden: throw notFound()
        case let .forbidden(requirement):
            throw PosternError(.forbidden, code: "forbidden", "\(actor.user?.login ?? "this caller") may not do this: \(requirement.description)")
        }
    }
}
