import Foundation
import PosternCore
import PosternStore

/// What the directory plane works out before it changes anything.
enum DirectoryRules {
    /// A mailbox removal's preview, and each redirection it changes: before, and after (nil: cleared).
    static func removal(of box: Mailbox, in db: StoreTransaction) async throws
        -> (preview: MailboxRemoval, redirections: [(Int64, Redirection, Redirection?)]) {
        let aliases = try await db.aliases(mailboxID: box.id!).map(\.address)
        let gone = Set(([box.address.description] + aliases).map { $0.lowercased() })
        let changed = try await withoutRemoved(box, aliases: aliases, from: db.redirections(to: Array(gone)))
        let devices = try await db.deviceCount(mailboxID: box.id!)
        return (MailboxRemoval(mailbox: box, devices: devices, aliases: aliases, redirectedBy: changed.map(\.1.mailbox)), changed)
    }

    /// Other mailboxes' redirections without the removed mailbox and its aliases as targets.
    static func withoutRemoved(_ box: Mailbox, aliases: [String], from redirections: [(mailboxID: Int64, redirection: Redirection)])
        -> [(Int64, Redirection, Redirection?)] {
        let gone = Set(([box.address.description] + aliases).map { $0.lowercased() })
        return redirections.filter { $0.mailboxID != box.id }.map { mailboxID, before in
            var after = before
            after.targets.removeAll { gone.contains($0.lowercased()) }
            return (mailboxID, before, after.targets.isEmpty ? nil : after)
        }
    }
}
