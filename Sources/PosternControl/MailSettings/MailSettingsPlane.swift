import Foundation
import Logging
import PosternCore
import PosternStore

/// What happens to mail once it arrives: sorting rules ("rules"), the spam filter ("filters"),
/// the automatic reply ("responders"), blocked and approved senders ("security"); a mailbox's
/// folders ("folders") and its users' signatures ("signatures"). Every change of a setting is
/// checked, stored and written to the history in one transaction with a task for the mailbox's
/// Sieve script; the script is compiled and replaces the old one after the commit (`ServerOutbox`),
/// retried until it does: a script that does not compile leaves the old one in place and says so.
public struct MailSettingsPlane: Sendable {
    let node: Node
    let outbox: ServerOutbox
    var scripts: MailboxScripts { outbox.scripts }
    /// `doveadm mailbox …`; nil: folders are not managed.
    let folderCommand: (any FolderCommand)?
    /// Where doveadm is waited for.
    let blocking: any BlockingRunner
    let logger: Logger
    var store: Store { node.store }

    init(node: Node, outbox: ServerOutbox, folderCommand: (any FolderCommand)?, blocking: any BlockingRunner, logger: Logger) {
        self.node = node
        self.outbox = outbox
        self.folderCommand = folderCommand
        self.blocking = blocking
        self.logger = logger
    }

    public func rules(mailbox address: String, actor: Actor) async throws -> [SortingRule] {
        try await readFilters(address, { .mailbox($0, .rules) }, actor: actor).rules
    }

    /// Replaces the mailbox's rules with these, in this order (enable, disable, reorder, remove:
    /// send the list as it should be; rules keep their ids).
    public func setRules(mailbox address: String, rules: [SortingRule], actor: Actor) async throws -> [SortingRule] {
        try await setRules(mailbox: address, rules: rules, as: { .mailbox($0, .rules) }, actor: actor)
    }

    func setRules(mailbox address: String, rules: [SortingRule], as action: @escaping @Sendable (MailboxTarget) -> Action,
                  actor: Actor) async throws -> [SortingRule] {
        let checked = try MailSettingsRules.checkRules(rules)
        return try await writeRules(address, as: action, actor: actor) { _ in checked }
    }

    /// One edit of the rules (add one, switch one on or off, move one up or down, remove one),
    /// applied to the rules as they are in the transaction.
    public func editRules(mailbox address: String, _ edit: RuleEdit, actor: Actor) async throws -> [SortingRule] {
        try await writeRules(address, as: { .mailbox($0, .rules) }, actor: actor) { current in
            try MailSettingsRules.checkRules(try MailSettingsRules.apply(edit, to: current))
        }
    }

    /// The one way rules are stored: `make` gives the checked rules from the current ones; a new
    /// forward needs the redirections permission.
    private func writeRules(_ address: String, as action: @escaping @Sendable (MailboxTarget) -> Action, actor: Actor,
                            _ make: @escaping @Sendable ([SortingRule]) throws -> [SortingRule]) async throws -> [SortingRule] {
        let routing = node.routing
        return try await changeFilters(address, action, actor: actor) { db, box, filters in
            let rules = try make(filters.rules)
            try await MailSettingsRules.checkForwards(rules, replacing: filters.rules, of: box, actor: actor, routing: routing, in: db)
            let before = filters.rules
            filters.rules = try await db.setSortingRules(mailboxID: box.id!, rules)
            return (filters.rules, .rulesSet(from: before, to: filters.rules))
        }
    }

    public typealias RuleEdit = MailSettingsRules.RuleEdit

    public func spamFilter(mailbox address: String, actor: Actor) async throws -> SpamFilter {
        try await readFilters(address, { .mailbox($0, .filters) }, actor: actor).spam
    }

    public func setSpamFilter(mailbox address: String, _ spam: SpamFilter, actor: Actor) async throws -> SpamFilter {
        try await replace(\.spam, with: try MailFilterRules.validate(spam), of: address, .filters, actor: actor, history: HistoryAction.spamFilterSet)
    }

    public func responder(mailbox address: String, actor: Actor) async throws -> Responder {
        try await readFilters(address, { .mailbox($0, .responders) }, actor: actor).responder
    }

    public func setResponder(mailbox address: String, _ responder: Responder, actor: Actor) async throws -> Responder {
        try await replace(\.responder, with: try MailFilterRules.validate(responder), of: address, .responders, actor: actor,
                    history: HistoryAction.responderSet)
    }

    public func senderLists(mailbox address: String, actor: Actor) async throws -> SenderLists {
        try await readFilters(address, { .mailbox($0, .security) }, actor: actor).senders
    }

    public func setSenderLists(mailbox address: String, _ senders: SenderLists, actor: Actor) async throws -> SenderLists {
        try await replace(\.senders, with: try MailFilterRules.validate(senders), of: address, .security, actor: actor, history: HistoryAction.sendersSet)
    }

    /// Writes the scripts of these mailboxes again (none: every mailbox with settings), after
    /// `sieve.scriptPath` was set or changed, or a backup was restored. Operator only.
    public func rewriteScripts(mailboxes addresses: [String], actor: Actor) async throws -> SieveRewrite {
        let scripts = scripts
        let boxes = try await store.read { db -> [Mailbox] in
            // Who asks first: a caller without the right learns nothing of the setup or its input.
            try await Access.authorize(actor, .rewriteSieveScripts, in: db)
            guard scripts.writer != nil else {
                throw PosternError(.sieveOff, "no script is written: set sieve.scriptPath in postern.yaml first")
            }
            let wanted = try addresses.map { try MailAddress($0) }
            if !wanted.isEmpty {
                return try await wanted.mapInOrder { try await db.mailbox($0) }.filterInOrder { try await db.hasFilters(mailboxID: $0.id!) }
            }
            return try await db.mailboxesWithFilters()
        }
        // One task per mailbox, committed in batches and run as each batch is: none holds a lock
        // while its script compiles.
        var written: [String] = []
        for batch in stride(from: 0, to: boxes.count, by: 100).map({ Array(boxes[$0..<min($0 + 100, boxes.count)]) }) {
            let tasks = try await store.write { db in try await batch.mapInOrder { try await db.enqueueServerTask(.sieve, mailboxID: $0.id!) } }
            await outbox.run(tasks)
            let left = try await Set(store.read { db in try await db.pendingServerTasks(ids: tasks) })
            written += zip(batch, tasks).filter { !left.contains($0.1) }.map(\.0.address.description)
        }
        return SieveRewrite(written: written)
    }

    // MARK: the one way a setting changes

    /// One of the settings replaced by a validated value, what it was and became in the history.
    func replace<T: Sendable>(_ setting: WritableKeyPath<MailboxFilters, T> & Sendable, with value: T, of address: String,
                              _ permission: MailboxPermission, actor: Actor,
                              history: @escaping @Sendable (_ from: T, _ to: T) -> HistoryAction) async throws -> T {
        try await changeFilters(address, { .mailbox($0, permission) }, actor: actor) { _, _, filters in
            let before = filters[keyPath: setting]
            filters[keyPath: setting] = value
            return (value, history(before, value))
        }
    }

    func readFilters(_ address: String, _ action: @escaping @Sendable (MailboxTarget) -> Action, actor: Actor) async throws -> MailboxFilters {
        let address = try MailAddress(address)
        return try await store.read { db in
            let box = try await Access.mailbox(address, action, actor: actor, in: db)
            return try await db.mailboxFilters(mailboxID: box.id!)
        }
    }

    func changeFilters<T: Sendable>(_ text: String, _ action: @escaping @Sendable (MailboxTarget) -> Action, actor: Actor,
                                    _ change: @escaping @Sendable (StoreTransaction, Mailbox, inout MailboxFilters) async throws -> (T, HistoryAction)) async throws -> T {
        let address = try MailAddress(text)
        let scripts = scripts
        let (result, task) = try await store.write { db -> (T, Int64?) in
            let box = try await Access.mailbox(address, action, actor: actor, in: db)
            var filters = try await db.mailboxFilters(mailboxID: box.id!)
            let (result, history) = try await change(db, box, &filters)
            try await db.setMailSettings(mailboxID: box.id!, spam: filters.spam, responder: filters.responder, senders: filters.senders)
            try await ActionLog.record(history, mailbox: address.description, by: actor, in: db)
            return (result, try await scripts.ask(for: box, in: db))
        }
        await outbox.run([task])
        return result
    }
}
