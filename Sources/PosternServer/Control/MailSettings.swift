import Foundation
import PosternCore
import PosternProtocols
import PosternStore

/// What happens to mail once it arrives: sorting rules ("rules"), the spam filter ("filters"),
/// the automatic reply ("responders"), blocked and approved senders ("security"). Every change
/// is stored, written to the history, and compiled into the mailbox's Sieve script before the
/// commit; the script replaces the old one after it. A script that does not compile rolls the
/// change back.
extension ControlPlane {
    public func rules(mailbox address: String, actor: Actor) throws -> [SortingRule] {
        try readFilters(address, .rules, actor: actor).rules
    }

    /// Replaces the mailbox's rules with these, in this order (enable, disable, reorder, remove:
    /// send the list as it should be; rules keep their ids).
    public func setRules(mailbox address: String, rules: [SortingRule], actor: Actor) throws -> [SortingRule] {
        try setRules(mailbox: address, rules: rules, permission: .rules, actor: actor)
    }

    func setRules(mailbox address: String, rules: [SortingRule], permission: MailboxPermission, actor: Actor) throws -> [SortingRule] {
        guard rules.count <= MailFilterRules.maxRules else {
            throw PosternError(.invalid, code: "too_many_rules", "a mailbox has \(MailFilterRules.maxRules) rules at most")
        }
        let checked = try rules.map { try MailFilterRules.validate($0) }
        return try changeFilters(address, permission, actor: actor, action: "rules.set") { db, box, filters in
            try self.checkForwards(checked, replacing: filters.rules, of: box, actor: actor, in: db)
            let before = Self.describe(filters.rules)
            filters.rules = try db.setSortingRules(mailboxID: box.id!, checked)
            return (filters.rules, "rules: \(before) → \(Self.describe(filters.rules))", before, Self.describe(filters.rules))
        }
    }

    public func spamFilter(mailbox address: String, actor: Actor) throws -> SpamFilter {
        try readFilters(address, .filters, actor: actor).spam
    }

    public func setSpamFilter(mailbox address: String, _ spam: SpamFilter, actor: Actor) throws -> SpamFilter {
        try replace(\.spam, with: try MailFilterRules.validate(spam), of: address, .filters, actor: actor, action: "spam.set",
                    label: "spam filter", describe: Self.describe)
    }

    public func responder(mailbox address: String, actor: Actor) throws -> Responder {
        try readFilters(address, .responders, actor: actor).responder
    }

    public func setResponder(mailbox address: String, _ responder: Responder, actor: Actor) throws -> Responder {
        try replace(\.responder, with: try MailFilterRules.validate(responder), of: address, .responders, actor: actor, action: "responder.set",
                    label: "automatic reply", describe: Self.describe)
    }

    public func senderLists(mailbox address: String, actor: Actor) throws -> SenderLists {
        try readFilters(address, .security, actor: actor).senders
    }

    public func setSenderLists(mailbox address: String, _ senders: SenderLists, actor: Actor) throws -> SenderLists {
        try replace(\.senders, with: try MailFilterRules.validate(senders), of: address, .security, actor: actor, action: "senders.set",
                    label: "senders", describe: Self.describe)
    }

    /// One of the settings replaced by a validated value, described before and after in the history.
    func replace<T: Sendable>(_ setting: WritableKeyPath<MailboxFilters, T> & Sendable, with value: T, of address: String,
                              _ permission: MailboxPermission, actor: Actor, action: String, label: String,
                              describe: @escaping @Sendable (T) -> String) throws -> T {
        try changeFilters(address, permission, actor: actor, action: action) { _, _, filters in
            let before = describe(filters[keyPath: setting])
            filters[keyPath: setting] = value
            return (value, "\(label): \(before) → \(describe(value))", before, describe(value))
        }
    }

    /// Writes the scripts of these mailboxes again (none: every mailbox with settings), after
    /// `sieve.scriptPath` was set or changed, or a backup was restored. Operator only.
    public func rewriteScripts(mailboxes addresses: [String], actor: Actor) throws -> SieveRewrite {
        let sieve = sieve
        let boxes = try store.read { db -> [Mailbox] in
            // Who asks first: a caller without the right learns nothing of the setup or its input.
            try db.authorize(actor, .operate("rewrite Sieve scripts"))
            guard sieve != nil else {
                throw PosternError(.unavailable, code: "sieve_off", "no script is written: set sieve.scriptPath in postern.yaml first")
            }
            let wanted = try addresses.map { try MailAddress($0) }
            let ids = Set(try db.mailboxesWithFilters())
            if !wanted.isEmpty { return try wanted.map { try db.mailbox($0) } }
            return try db.mailboxTargets().filter { ids.contains($0.1.id) }.map(\.0)
        }
        var written: [String] = []
        for box in boxes {
            // Through the writer, as every change is: a concurrent change cannot install its script
            // and then see this older one put over it.
            let wrote = try store.write({ db in try self.rewriteScript(box, in: db) },
                                        afterCommit: { pending in self.install(pending, for: box.address.description) }) != nil
            if wrote { written.append(box.address.description) }
        }
        return SieveRewrite(written: written)
    }

    // MARK: the one way a setting changes

    func readFilters(_ address: String, _ permission: MailboxPermission, actor: Actor) throws -> MailboxFilters {
        let address = try MailAddress(address)
        return try store.read { db in
            let box = try Self.mailbox(address, permission, actor: actor, in: db)
            return try db.mailboxFilters(mailboxID: box.id!)
        }
    }

    func changeFilters<T: Sendable>(_ text: String, _ permission: MailboxPermission, actor: Actor, action: String,
                                    _ change: @escaping @Sendable (StoreTransaction, Mailbox, inout MailboxFilters) throws
                                        -> (T, detail: String, before: String, after: String)) throws -> T {
        let address = try MailAddress(text)
        let (result, _) = try store.write({ db -> (T, SieveWriter.Pending?) in
            let box = try Self.mailbox(address, permission, actor: actor, in: db)
            var filters = try db.mailboxFilters(mailboxID: box.id!)
            let (result, detail, before, after) = try change(db, box, &filters)
            try db.setMailSettings(mailboxID: box.id!, spam: filters.spam, responder: filters.responder, senders: filters.senders)
            try db.appendHistory(HistoryEntry(mailbox: address.description, actor: actor, action: action, detail: detail, before: before, after: after))
            let pending = try self.sieve?.prepare(SieveScript.render(filters, try self.sieveContext(box, in: db)), for: address)
            return (result, pending)
        }, afterCommit: { (_, pending) in self.install(pending, for: address.description) })
        return result
    }

    /// The mailbox's script written again, inside a write that changed what it depends on (its
    /// aliases: the responder's addresses); nil when it has no script or scripts are not written.
    func rewriteScript(_ box: Mailbox, in db: StoreTransaction) throws -> SieveWriter.Pending? {
        guard let sieve, try db.mailboxesWithFilters().contains(box.id!) else { return nil }
        let filters = try db.mailboxFilters(mailboxID: box.id!)
        return try sieve.prepare(SieveScript.render(filters, try sieveContext(box, in: db)), for: box.address)
    }

    func install(_ pending: SieveWriter.Pending?, for address: String) {
        guard let pending, let sieve else { return }
        do { try sieve.install(pending) } catch { logger.error("the Sieve script of \(address) was not installed: \(error)") }
    }

    /// The mailbox and its aliases (whom the responder answers for), its organization's domains.
    func sieveContext(_ box: Mailbox, in db: StoreTransaction) throws -> SieveScript.Context {
        guard let target = try db.mailboxTarget(box.address) else { throw PosternError.mailboxNotFound(box.address.description) }
        return SieveScript.Context(addresses: [box.address.description] + (try db.aliases(mailboxID: box.id!).map(\.address)),
                                   ownDomains: try db.domains(organizationID: target.service.organizationID).sorted(),
                                   spamHeader: sieve?.settings.spamHeader ?? .score("X-Spam-Score"))
    }

    /// A rule's forward is checked as a redirection target is: valid, existing in our domains,
    /// inside the organization's domains when its rule says so. A forward sends the mailbox's mail
    /// elsewhere, as a redirection does: a new one also needs the "redirections" permission, so
    /// "rules" alone cannot send mail out.
    func checkForwards(_ rules: [SortingRule], replacing old: [SortingRule], of box: Mailbox, actor: Actor, in db: StoreTransaction) throws {
        func forwards(_ rules: [SortingRule]) -> Set<String> {
            Set(rules.flatMap(\.actions).compactMap { $0.kind == .forward ? $0.address.map(RoutingTable.fold) : nil })
        }
        let targets = Array(forwards(rules))
        guard !targets.isEmpty else { return }
        if !forwards(rules).isSubset(of: forwards(old)), let target = try db.mailboxTarget(box.address) {
            try db.authorize(actor, .mailbox(target, .redirections))
        }
        _ = try checkedTargets(targets, of: box.address, in: db)
    }

    static func describe(_ rules: [SortingRule]) -> String {
        rules.isEmpty ? "none" : rules.map { "\($0.name)\($0.enabled ? "" : " (off)")" }.joined(separator: ", ")
    }

    static func describe(_ spam: SpamFilter) -> String {
        spam.enabled ? "on, at \(spam.threshold) into \(spam.folder)" : "off"
    }

    static func describe(_ responder: Responder) -> String {
        guard responder.enabled else { return "off" }
        let window = [responder.start.map { "from \($0)" }, responder.end.map { "to \($0)" }].compactMap { $0 }.joined(separator: " ")
        return "on" + (window.isEmpty ? "" : " (\(window))") + (responder.subject.isEmpty ? "" : ", \"\(responder.subject.prefix(60))\"")
    }

    static func describe(_ senders: SenderLists) -> String {
        "\(senders.blocked.count) blocked (\(senders.blockedAction.rawValue)), \(senders.approved.count) approved"
    }
}
