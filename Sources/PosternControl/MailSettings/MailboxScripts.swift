import Foundation
import Logging
import PosternCore
import PosternProtocols
import PosternStore

/// A mailbox's Sieve script, written from its settings: a write that changes what it depends on
/// (its settings, its aliases) commits a task for it (`ServerOutbox`), and the script is rendered,
/// compiled and put in place after the commit, outside any lock.
struct MailboxScripts: Sendable {
    let writer: (any SieveScriptWriter)?

    /// Inside a write that changed the mailbox's settings: the task that writes its script; nil
    /// when scripts are not written.
    func ask(for box: Mailbox, in db: StoreTransaction) async throws -> Int64? {
        guard let writer else { return nil }
        try writer.check(box.address)
        return try await db.enqueueServerTask(.sieve, mailboxID: box.id!)
    }

    /// Inside a write that changed what the script says beside the settings (its aliases, which
    /// the responder answers for): a task when the mailbox has a script at all.
    func askIfScripted(_ box: Mailbox, in db: StoreTransaction) async throws -> Int64? {
        guard let writer, try await db.hasFilters(mailboxID: box.id!) else { return nil }
        try writer.check(box.address)
        return try await db.enqueueServerTask(.sieve, mailboxID: box.id!)
    }

    /// The script of the mailbox's settings as they are in `db` (no compiler run: that comes after).
    func render(_ box: Mailbox, in db: StoreTransaction) async throws -> String {
        let filters = try await db.mailboxFilters(mailboxID: box.id!)
        let target = try await Access.mailboxTarget(box.address, in: db)
        let context = try await SieveScript.Context(addresses: [box.address.description] + (db.aliases(mailboxID: box.id!).map(\.address)),
                                          ownDomains: try await db.domains(organizationID: target.service.organizationID).sorted(),
                                          spamHeader: writer?.spamHeader ?? .score("X-Spam-Score"))
        return SieveScript.render(filters, context)
    }
}
