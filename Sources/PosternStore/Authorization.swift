import PosternCore

extension StoreTransaction {
    /// The rights of whoever acts, read in the transaction that acts (the rule set decides with them).
    public func rights(of actor: Actor) async throws -> Rights {
        guard let user = actor.user else { return .operator }
        var rights = try await rights(userID: user.id)
        rights.user = user.id
        if case .operatorAs = actor { rights.operatorAsUser = true }
        return rights
    }
}

extension Store {
    /// The rights of whoever acts, outside a transaction: the operator's need no read (a node cut
    /// off from its database still answers the operator's /metrics).
    public func rights(of actor: Actor) async throws -> Rights {
        guard actor.user != nil else { return .operator }
        return try await read { try await $0.rights(of: actor) }
    }
}
