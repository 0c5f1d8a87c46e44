import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// Aliases ("aliases" permission) and redirections ("redirections"): stored, written to the
/// history, and applied to the routing index before the caller hears back, so Postfix's very
/// next lookup sees them.
extension ControlPlane {
    // MARK: aliases

    public func aliases(mailbox address: String, actor: Actor) throws -> [Alias] {
        let address = try MailAddress(address)
        return try store.read { db in
            let box = try Self.mailbox(address, .aliases, actor: actor, in: db)
            return try db.aliases(mailboxID: box.id!)
        }
    }

    /// The domains an alias of this mailbox may be in: its mail service's, its own first.
    public func aliasDomains(mailbox address: String, actor: Actor) throws -> [String] {
        let address = try MailAddress(address)
        return try store.read { db in
            _ = try Self.mailbox(address, .aliases, actor: actor, in: db)
            guard let target = try db.mailboxTarget(address) else { throw PosternError.mailboxNotFound(address.description) }
            let domains = try db.domains(serviceID: target.service.id)
            return [address.domain] + domains.filter { $0 != address.domain }
        }
    }

    /// Adds an alias: `info` (in the mailbox's domain) or `info@another-domain-of-the-service`.
    public func addAlias(mailbox address: String, alias text: String, actor: Actor) throws -> Alias {
        let address = try MailAddress(address)
        return try commit({ db in
            let box = try Self.mailbox(address, .aliases, actor: actor, in: db)
            guard let target = try db.mailboxTarget(address) else { throw PosternError.mailboxNotFound(address.description) }
            let alias = try self.aliasAddress(text, of: box, serviceID: target.service.id, in: db)
            let local = String(alias[..<alias.lastIndex(of: "@")!])
            if AliasRules.isReserved(local), Policy.authorize(try db.rights(of: actor), .manageService(target.service)) != .allowed {
                throw PosternError(.forbidden, code: "reserved_alias", """
                    \(local) is a role address (RFC 2142): only an administrator of the organization may give it out
                    """)
            }
            if let taken = try db.addressTaken(alias) {
                throw PosternError(.conflict, code: "address_taken", "\(alias) cannot be an alias: \(taken); nothing was changed")
            }
            guard try db.aliasCount(mailboxID: box.id!) < Self.maxAliasesPerMailbox else {
                throw PosternError(.conflict, code: "too_many_aliases", "\(address) has \(Self.maxAliasesPerMailbox) aliases already; remove one first")
            }
            if let loop = self.routing.loop(from: alias, after: .addAlias(alias, mailbox: address.description)) {
                throw PosternError.redirectionLoop(loop)
            }
            let made = try db.insertAlias(alias, mailboxID: box.id!, mailbox: address.description)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "alias.add", detail: "alias \(alias) added",
                                              before: nil, after: alias))
            // The responder answers for the new alias too.
            return ((made, try self.rewriteScript(box, in: db)), .routing([.addAlias(made.address, mailbox: made.mailbox)]))
        }, afterCommit: { (made, script) in self.install(script, for: made.mailbox) }).0
    }

    public func removeAlias(mailbox address: String, alias text: String, actor: Actor) throws -> Alias {
        let address = try MailAddress(address)
        return try commit({ db in
            let box = try Self.mailbox(address, .aliases, actor: actor, in: db)
            let key = text.contains("@") ? text.lowercased() : "\(text.lowercased())@\(address.domain)"
            guard let alias = try db.alias(key, mailboxID: box.id!) else {
                throw PosternError(.notFound, code: "alias_not_found", "\(key) is not an alias of \(address) (`postern alias list \(address)`)")
            }
            try db.deleteAlias(alias.address)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "alias.remove",
                                              detail: "alias \(alias.address) removed", before: alias.address, after: nil))
            return ((alias, try self.rewriteScript(box, in: db)), .routing([.removeAlias(alias.address)]))
        }, afterCommit: { (alias, script) in self.install(script, for: alias.mailbox) }).0
    }

    static let maxAliasesPerMailbox = 500

    /// The alias as stored: lowercase, in one of the service's domains, its local part a dot-string.
    func aliasAddress(_ text: String, of box: Mailbox, serviceID: Int64, in db: StoreTransaction) throws -> String {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw PosternError(.invalid, code: "invalid_alias", "'\(text.prefix(80))' holds more than one @") }
        let local = try AliasRules.localPart(String(parts[0]), delimiter: routingDelimiter)
        let domain = parts.count == 2 ? parts[1].lowercased() : box.address.domain
        let domains = try db.domains(serviceID: serviceID)
        guard domains.contains(domain) else {
            throw PosternError(.invalid, code: "alias_domain", """
                an alias of \(box.address) must be in a domain of its mail service \(box.mailService) (\(domains.joined(separator: ", "))), not \(domain.prefix(80))
                """)
        }
        return "\(local)@\(domain)"
    }

    // MARK: redirections

    public func redirection(mailbox address: String, actor: Actor) throws -> Redirection? {
        let address = try MailAddress(address)
        return try store.read { db in
            let box = try Self.mailbox(address, .redirections, actor: actor, in: db)
            return try db.redirection(mailboxID: box.id!, mailbox: address.description)
        }
    }

    /// The rule of the mailbox's organization for redirection targets, for whoever may redirect it.
    public func redirectionScope(mailbox address: String, actor: Actor) throws -> RedirectionScope {
        let address = try MailAddress(address)
        return try store.read { db in
            _ = try Self.mailbox(address, .redirections, actor: actor, in: db)
            guard let target = try db.mailboxTarget(address) else { throw PosternError.mailboxNotFound(address.description) }
            return try db.redirectionScope(organizationID: target.service.organizationID)
        }
    }

    /// Redirects a mailbox to `targets` (replacing any redirection), keeping a copy or not.
    public func setRedirection(mailbox address: String, targets: [String], keepCopy: Bool, actor: Actor) throws -> RedirectionChange {
        let address = try MailAddress(address)
        return try commit({ db in
            let box = try Self.mailbox(address, .redirections, actor: actor, in: db)
            let cleaned = try self.checkedTargets(targets, of: address, in: db)
            let redirection = Redirection(mailbox: address.description, targets: cleaned, keepCopy: keepCopy)
            if let loop = routing.loop(from: address.description, after: .setRedirect(mailbox: address.description, .init(targets: cleaned, keepCopy: keepCopy))) {
                throw PosternError.redirectionLoop(loop)
            }
            let before = try db.redirection(mailboxID: box.id!, mailbox: address.description)
            try db.setRedirection(mailboxID: box.id!, redirection)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "redirection.set",
                                              detail: "redirection: \(Self.describe(before)) → \(Self.describe(redirection))",
                                              before: before.map(Self.describe), after: Self.describe(redirection)))
            return (RedirectionChange(redirection: redirection, previous: before),
                    .routing([.setRedirect(mailbox: redirection.mailbox, .init(targets: redirection.targets, keepCopy: redirection.keepCopy))]))
        })
    }

    public func clearRedirection(mailbox address: String, actor: Actor) throws -> Redirection {
        let address = try MailAddress(address)
        return try commit({ db in
            let box = try Self.mailbox(address, .redirections, actor: actor, in: db)
            guard let before = try db.redirection(mailboxID: box.id!, mailbox: address.description) else {
                throw PosternError(.notFound, code: "no_redirection", "\(address) is not redirected")
            }
            try db.deleteRedirection(mailboxID: box.id!)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: "redirection.clear",
                                              detail: "redirection: \(Self.describe(before)) → none", before: Self.describe(before), after: nil))
            return (before, .routing([.clearRedirect(mailbox: before.mailbox)]))
        })
    }

    /// Redirection (or forward) targets as stored, checked against our addresses and against
    /// the organization's own-domains rule: the one check for both.
    func checkedTargets(_ targets: [String], of address: MailAddress, in db: StoreTransaction) throws -> [String] {
        guard let target = try db.mailboxTarget(address) else { throw PosternError.mailboxNotFound(address.description) }
        let cleaned = try Self.redirectionTargets(targets, of: address, isOurs: routing.isOurs,
                                                  ourDomains: { domain in try db.importService(domain: domain) != nil })
        if try db.redirectionScope(organizationID: target.service.organizationID) == .ownDomains {
            let own = try db.domains(organizationID: target.service.organizationID)
            if let outside = cleaned.first(where: { !own.contains(String($0[$0.index(after: $0.lastIndex(of: "@")!)...])) }) {
                throw PosternError(.forbidden, code: "redirection_outside", """
                    \(outside) is outside the organization's domains (\(own.sorted().joined(separator: ", "))): its redirections and forwards stay inside them; nothing was changed
                    """)
            }
        }
        return cleaned
    }

    /// The targets as stored: valid addresses, domain in lowercase, each once, not the mailbox
    /// itself; one in a domain we serve must be a mailbox or an alias.
    static func redirectionTargets(_ targets: [String], of mailbox: MailAddress, isOurs: (String) -> Bool,
                                   ourDomains: (String) throws -> Bool) throws -> [String] {
        var cleaned: [String] = []
        for text in targets.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces) }) where !text.isEmpty {
            let target = try MailAddress(text)
            let key = RoutingTable.fold(target.description)
            if key == RoutingTable.fold(mailbox.description) {
                throw PosternError(.invalid, code: "redirection_to_itself", "\(mailbox) cannot redirect to itself; keep a copy instead (keepCopy)")
            }
            if try ourDomains(target.domain), !isOurs(target.description) {
                throw PosternError(.invalid, code: "unknown_target", """
                    \(target) is in a domain Postern serves but is neither a mailbox nor an alias; nothing was changed
                    """)
            }
            if !cleaned.contains(where: { RoutingTable.fold($0) == key }) { cleaned.append(target.description) }
        }
        guard !cleaned.isEmpty else {
            throw PosternError(.invalid, code: "no_targets", "give at least one address to redirect \(mailbox) to (or clear the redirection)")
        }
        guard cleaned.count <= Redirection.maxTargets else {
            throw PosternError(.invalid, code: "too_many_targets", "a mailbox redirects to \(Redirection.maxTargets) addresses at most, not \(cleaned.count)")
        }
        return cleaned
    }

    static func describe(_ redirection: Redirection?) -> String {
        guard let redirection else { return "none" }
        return redirection.targets.joined(separator: ", ") + (redirection.keepCopy ? " (copy kept)" : "")
    }

    // MARK: the organization's rule

    public func redirectionScope(organization: String, actor: Actor) throws -> RedirectionScope {
        try store.read { db in
            let org = try db.organizationID(organization)
            try db.authorize(actor, .viewMembers(org), orHide: PosternError.organizationNotFound(organization))
            return try db.redirectionScope(organizationID: org)
        }
    }

    public func setRedirectionScope(organization: String, _ scope: RedirectionScope, actor: Actor) throws -> RedirectionScope {
        try store.write { db in
            let org = try db.organizationID(organization)
            try db.authorize(actor, .manageOrganization(org), orHide: PosternError.organizationNotFound(organization))
            let before = try db.redirectionScope(organizationID: org)
            try db.setRedirectionScope(organizationID: org, scope)
            try db.appendHistory(HistoryEntry(mailbox: nil, actor: actor, action: "redirection.scope",
                                              detail: "redirections of \(organization) may reach: \(before.rawValue) → \(scope.rawValue)",
                                              before: before.rawValue, after: scope.rawValue), organizationID: org)
            return scope
        }
    }

    // MARK: the index

    /// Loads every domain, mailbox, alias and redirection into the routing index.
    public func loadRouting() throws -> (mailboxes: Int, aliases: Int, redirects: Int) {
        let empty = routing.emptied
        let table = try store.read { db -> RoutingTable in
            var table = empty
            for domain in try db.servedDomains() { table.apply(.addDomain(domain)) }
            try db.forEachMailboxAddress { table.apply(.addMailbox($0)) }
            for alias in try db.aliases() { table.apply(.addAlias(alias.address, mailbox: alias.mailbox)) }
            for redirection in try db.redirections() {
                table.apply(.setRedirect(mailbox: redirection.mailbox, .init(targets: redirection.targets, keepCopy: redirection.keepCopy)))
            }
            return table
        }
        routing.replace(table)
        return table.counts
    }

    var routingDelimiter: Character? { routing.delimiter }
}

extension PosternError {
    static func redirectionLoop(_ loop: [String]) -> PosternError {
        PosternError(.conflict, code: "redirection_loop", "this would make a loop: \(loop.joined(separator: " → ")); nothing was changed")
    }
}
