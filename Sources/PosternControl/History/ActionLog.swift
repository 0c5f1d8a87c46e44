import Foundation
import PosternCore
import PosternStore

/// The one writer of the action history: a typed `HistoryAction`, written in the transaction
/// of the change it records (so the history holds a change if and only if it happened).
public enum ActionLog {
    /// Something `actor` did, on a mailbox (or nil: on the organization or the accounts).
    public static func record(_ action: HistoryAction, mailbox: String?, organizationID: Int64? = nil, by actor: Actor,
                              in db: StoreTransaction) async throws {
        try await db.appendHistory(entry(action, mailbox: mailbox, by: actor), organizationID: organizationID)
    }

    /// Many lines at once (an import batch), each with its mailbox's organization.
    public static func record(_ actions: [(action: HistoryAction, mailbox: String, organizationID: Int64)], by actor: Actor,
                              in db: StoreTransaction) async throws {
        try await db.appendHistory(actions.map { (entry($0.action, mailbox: $0.mailbox, by: actor), $0.organizationID) })
    }

    /// Something posternd noticed on its own (expiry, throttling, a failed hook): actor "postern".
    public static func recordByPostern(_ action: HistoryAction, mailbox: String?, at: Date = Date(), in db: StoreTransaction) async throws {
        try await db.appendHistory(action.entry(at: at, mailbox: mailbox, actor: "postern", actorKind: nil, origin: nil))
    }

    static func entry(_ action: HistoryAction, mailbox: String?, by actor: Actor) -> HistoryEntry {
        action.entry(mailbox: mailbox, actor: actor.name, actorKind: actor.kind, origin: actor.origin)
    }
}
