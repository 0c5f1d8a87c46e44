import Foundation
import Logging
import PosternCore
import PosternProtocols
import PosternStore

/// A mailbox's Sieve script, compiled from its settings: prepared inside the write that changes
/// what it depends on (its settings, its aliases), put in place after the commit.
struct MailboxScripts: Sendable {
    let writer: (any SieveScriptWriter)?
    let logger: Logger

    /// The script of these settings, prepared; nil when scripts are not written.
    func prepare(_ filters: MailboxFilters, of box: Mailbox, in db: StoreTransaction) throws -> PreparedScript? {
        guard let writer else { return nil }
        return try writer.prepare(SieveScript.render(filters, try context(box, in: db)), for: box.address)
    }

    /// The mailbox's script written again, inside a write that changed what it depends on (its
    /// aliases: the responder's addresses); nil when it has no script or scripts are not written.
    func rewrite(_ box: Mailbox, in db: StoreTransaction) throws -> PreparedScript? {
        guard writer != nil, try db.hasFilters(mailboxID: box.id!) else { return nil }
        return try prepare(try db.mailboxFilters(mailboxID: box.id!), of: box, in: db)
    }

    func install(_ pending: PreparedScript?, for address: String) {
        guard let pending, let writer else { return }
        do { try writer.install(pending) } catch { logger.error("the Sieve script of \(address) was not installed: \(error)") }
    }

    /// The mailbox and its aliases (whom the responder answers for), its organization's domains.
    func context(_ box: Mailbox, in db: StoreTransaction) throws -> SieveScript.Context {
        let target = try Access.mailboxTarget(box.address, in: db)
        return SieveScript.Context(addresses: [box.address.description] + (try db.aliases(mailboxID: box.id!).map(\.address)),
                                   ownDomains: try db.domains(organizationID: target.service.organizationID).sorted(),
                                   spamHeader: writer?.spamHeader ?? .score("X-Spam-Score"))
    }
}
