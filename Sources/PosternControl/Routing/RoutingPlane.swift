import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// Aliases ("aliases" permission), redirections ("redirections") and an organization's rule for
/// redirection targets: stored, written to the history, and applied to the routing index before
/// the caller hears back, so Postfix's very next lookup sees them.
public struct RoutingPlane: Sendable {
    let node: Node
    /// The responder answers for a mailbox's aliases: its script follows them.
    let outbox: ServerOutbox
    var store: Store { node.store }
    var routing: RoutingIndex { node.routing }

    init(node: Node, outbox: ServerOutbox) {
        self.node = node
        self.outbox = outbox
    }

    // MARK: aliases

    public func aliases(mailbox address: String, page: PageRequest = .first(), actor: Actor) async throws -> Page<Alias> {
        let address = try MailAddress(address)
        return try await store.read { db in
            let box = try await Access.mailbox(address, .aliases, actor: actor, in: db)
            return try await db.aliases(mailboxID: box.id!, page: page)
        }
    }

    /// The domains an alias of this mailbox may be in: its mail service's, its own first.
    public func aliasDomains(mailbox address: String, actor: Actor) async throws -> [String] {
        let address = try MailAddress(address)
        return try await store.read { db in
            let target = try await Access.mailboxTarget(address, { .mailbox($0, .aliases) }, actor: actor, in: db)
            let domains = try await db.domains(serviceID: target.service.id)
            return [address.domain] + domains.filter { $0 != address.domain }
        }
    }

    /// Adds an alias: `info` (in the mailbox's domain) or `info@another-domain-of-the-service`.
    public func addAlias(mailbox address: String, alias text: String, actor: Actor) async throws -> Alias {
        let address = try MailAddress(address)
        let (routing, scripts) = (self.routing, outbox.scripts)
        let (made, task) = try await node.commit { db in
            let target = try await Access.mailboxTarget(address, { .mailbox($0, .aliases) }, actor: actor, in: db)
            let box = try await db.mailbox(address)
            let alias = try await RoutingRules.aliasAddress(text, of: box, domains: try db.domains(serviceID: target.service.id), delimiter: routing.delimiter)
            let local = String(alias[..<alias.lastIndex(of: "@")!])
            if AliasRules.isReserved(local), try await Access.decide(actor, .giveRoleAddress(target.service), in: db) != .allowed {
                throw PosternError(.reservedAlias, """
                    \(local) is a role address (RFC 2142): only an administrator of the organization may give it out
                    """)
            }
            if let taken = try await db.addressTaken(alias) {
                throw PosternError(.addressTaken, "\(alias) cannot be an alias: \(taken); nothing was changed")
            }
            guard try await db.aliasCount(mailboxID: box.id!) < RoutingRules.maxAliasesPerMailbox else {
                throw PosternError(.tooManyAliases, "\(address) has \(RoutingRules.maxAliasesPerMailbox) aliases already; remove one first")
            }
            if let loop = routing.loop(from: alias, after: .addAlias(alias, mailbox: address.description)) {
                throw PosternError.redirectionLoop(loop)
            }
            let made = try await db.insertAlias(alias, mailboxID: box.id!, mailbox: address.description)
            try await ActionLog.record(.aliasAdded(alias), mailbox: address.description, by: actor, in: db)
            // The responder answers for the new alias too.
            return try await ((made, scripts.askIfScripted(box, in: db)), .routing([.addAlias(made.address, mailbox: made.mailbox)]))
        }
        await outbox.run([task])
        return made
    }

    public func removeAlias(mailbox address: String, alias text: String, actor: Actor) async throws -> Alias {
        let address = try MailAddress(address)
        let scripts = outbox.scripts
        let (alias, task) = try await node.commit { db in
            let box = try await Access.mailbox(address, .aliases, actor: actor, in: db)
            let key = text.contains("@") ? text.lowercased() : "\(text.lowercased())@\(address.domain)"
            guard let alias = try await db.alias(key, mailboxID: box.id!) else {
                throw PosternError(.aliasNotFound, "\(key) is not an alias of \(address) (`postern alias list \(address)`)")
            }
            try await db.deleteAlias(alias.address)
            try await ActionLog.record(.aliasRemoved(alias.address), mailbox: address.description, by: actor, in: db)
            return try await ((alias, scripts.askIfScripted(box, in: db)), .routing([.removeAlias(alias.address)]))
        }
        await outbox.run([task])
        return alias
    }

    // MARK: redirections

    public func redirection(mailbox address: String, actor: Actor) async throws -> Redirection? {
        let address = try MailAddress(address)
        return try await store.read { db in
            let box = try await Access.mailbox(address, .redirections, actor: actor, in: db)
            return try await db.redirection(mailboxID: box.id!, mailbox: address.description)
        }
    }

    /// The rule of the mailbox's organization for redirection targets, for whoever may redirect it.
    public func redirectionScope(mailbox address: String, actor: Actor) async throws -> RedirectionScope {
        let address = try MailAddress(address)
        return try await store.read { db in
            let target = try await Access.mailboxTarget(address, { .mailbox($0, .redirections) }, actor: actor, in: db)
            return try await db.redirectionScope(organizationID: target.service.organizationID)
        }
    }

    /// Redirects a mailbox to `targets` (replacing any redirection), keeping a copy or not.
    public func setRedirection(mailbox address: String, targets: [String], keepCopy: Bool, actor: Actor) async throws -> RedirectionChange {
        let address = try MailAddress(address)
        let routing = self.routing
        return try await node.commit({ db in
            let box = try await Access.mailbox(address, .redirections, actor: actor, in: db)
            let cleaned = try await RoutingRules.checkedTargets(targets, of: address, routing: routing, in: db)
            let redirection = Redirection(mailbox: address.description, targets: cleaned, keepCopy: keepCopy)
            if let loop = routing.loop(from: address.description, after: .setRedirect(mailbox: address.description, .init(targets: cleaned, keepCopy: keepCopy))) {
                throw PosternError.redirectionLoop(loop)
            }
            let before = try await db.redirection(mailboxID: box.id!, mailbox: address.description)
            try await db.setRedirection(mailboxID: box.id!, redirection)
            try await ActionLog.record(.redirectionSet(from: before, to: redirection, because: nil), mailbox: address.description, by: actor, in: db)
            return (RedirectionChange(redirection: redirection, previous: before),
                    .routing([.setRedirect(mailbox: redirection.mailbox, .init(targets: redirection.targets, keepCopy: redirection.keepCopy))]))
        })
    }

    public func clearRedirection(mailbox address: String, actor: Actor) async throws -> Redirection {
        let address = try MailAddress(address)
        return try await node.commit({ db in
            let box = try await Access.mailbox(address, .redirections, actor: actor, in: db)
            guard let before = try await db.redirection(mailboxID: box.id!, mailbox: address.description) else {
                throw PosternError(.noRedirection, "\(address) is not redirected")
            }
            try await db.deleteRedirection(mailboxID: box.id!)
            try await ActionLog.record(.redirectionCleared(from: before, because: nil), mailbox: address.description, by: actor, in: db)
            return (before, .routing([.clearRedirect(mailbox: before.mailbox)]))
        })
    }

    // MARK: the organization's rule

    public func redirectionScope(organization: String, actor: Actor) async throws -> RedirectionScope {
        try await store.read { db in
            let org = try await Access.organization(organization, Action.viewMembers, actor: actor, in: db)
            return try await db.redirectionScope(organizationID: org)
        }
    }

    public func setRedirectionScope(organization: String, _ scope: RedirectionScope, actor: Actor) async throws -> RedirectionScope {
        try await store.write { db in
            let org = try await Access.organization(organization, Action.manageOrganization, actor: actor, in: db)
            let before = try await db.redirectionScope(organizationID: org)
            try await db.setRedirectionScope(organizationID: org, scope)
            try await ActionLog.record(.redirectionScopeSet(organization: organization, from: before, to: scope), mailbox: nil, organizationID: org,
                                 by: actor, in: db)
            return scope
        }
    }
}
