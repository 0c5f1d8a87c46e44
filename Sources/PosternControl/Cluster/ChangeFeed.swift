import Foundation
import Logging
import Metrics
import PosternAuth
import PosternCore
import PosternStore
import Synchronization

/// This node's place in the change log: the last change it applied, and when it last knew it was
/// current. Writes record their change in their transaction and apply it (after any earlier ones
/// from other nodes) before answering; other nodes' changes arrive by LISTEN/NOTIFY or the poll.
/// Changes are applied strictly in sequence order, each once.
public final class ChangeFeed: Sendable {
    /// This node's name in the change log (`node.name`).
    public let node: String
    /// Shared with the password check: set while this node may be behind.
    public let freshness: Freshness
    /// How far behind a node may be before it refuses logins with a temporary failure.
    public let maxLag: Duration

    struct State {
        var lastApplied: Int64 = 0
        /// When the node last read the log and had everything (a poll or catch-up that succeeded).
        var syncedAt: ContinuousClock.Instant = .now
        /// A change the log no longer holds was missed: only a restart (a fresh load) mends it.
        var lost: String?
        var connected = true
    }

    let state = Mutex(State())

    public init(node: String = "local", freshness: Freshness = Freshness(), maxLag: Duration = .seconds(10)) {
        self.node = node
        self.freshness = freshness
        self.maxLag = maxLag
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// A change recorded in a write transaction, with the other nodes' changes committed before it
    /// that this node has not applied yet.
    public struct Pending: Sendable {
        let entries: [(seq: Int64, change: NodeChange)]
    }

    /// In the write transaction: appends `change` to the log. Nil when there is nothing to tell.
    public func record(_ change: NodeChange, in db: StoreTransaction) async throws -> Pending? {
        guard !change.isEmpty else { return nil }
        let from = state.withLock { $0.lastApplied }
        // Under the write lock: nothing can commit between these reads and this append. SQLite has
        // one writer, this node: nothing of another can be waiting.
        let earlier = db.engine == .sqlite ? [] : try Self.decoded(await db.changes(after: from, limit: 100_000))
        let seq = try await db.appendChange(String(decoding: try Self.encoder.encode(change), as: UTF8.self), node: node)
        return Pending(entries: earlier + [(seq, change)])
    }

    /// Applies what is next in sequence order and skips what was applied already; stops at a gap
    /// (the catch-up from the log fills it).
    public func take(_ entries: [(seq: Int64, change: NodeChange)], _ apply: (NodeChange) -> Void) {
        inOrder(entries, seq: \.seq) { apply($0.change) }
    }

    /// Runs `apply` on each entry next in sequence order, skipping what was applied already and
    /// stopping at a gap or at the first error (what was applied before it stays applied).
    private func inOrder<Entry, E: Error>(_ entries: [Entry], seq: (Entry) -> Int64, _ apply: (Entry) throws(E) -> Void) throws(E) {
        try state.withLock { (state) throws(E) in
            for entry in entries where seq(entry) > state.lastApplied {
                guard seq(entry) == state.lastApplied + 1 else { break }
                try apply(entry)
                state.lastApplied = seq(entry)
            }
        }
    }

    /// Changes read from the log after `from`: a first one past `from + 1` means the log no longer
    /// holds what this node missed (pruned while it was away). The node is stale until restarted.
    /// Only what this node has not applied yet is decoded: its own writes, which it applied at
    /// commit, come back in the log at every notification.
    public func takeFromLog(_ logged: [LoggedChange], after from: Int64, _ apply: (NodeChange) -> Void) throws {
        if let first = logged.first, first.seq > from + 1 {
            state.withLock { state in
                guard state.lastApplied == from else { return }
                state.lost = "changes \(from + 1)–\(first.seq - 1) were pruned from the log before this node applied them: restart it"
            }
            evaluate()
            return
        }
        let decoder = JSONDecoder()
        try inOrder(logged, seq: \.seq) { (entry) throws(any Error) in apply(try decoder.decode(NodeChange.self, from: Data(entry.change.utf8))) }
    }

    public static func decoded(_ logged: [LoggedChange]) throws -> [(seq: Int64, change: NodeChange)] {
        let decoder = JSONDecoder()
        return try logged.map { ($0.seq, try decoder.decode(NodeChange.self, from: Data($0.change.utf8))) }
    }

    /// Where the node starts: the newest change of the snapshot its indexes were loaded from.
    public func start(at seq: Int64) {
        state.withLock { $0.lastApplied = seq; $0.syncedAt = .now }
    }

    /// From now on the node is current only for `maxLag` after each proof that it was in step
    /// (several nodes; a single node is never behind anyone).
    public func arm() {
        let syncedAt = state.withLock { $0.syncedAt }
        synced(at: syncedAt)
    }

    /// The node had every change committed before `instant` (a catch-up read that began then came back).
    public func synced(at instant: ContinuousClock.Instant) {
        let (latest, lost) = state.withLock { s in
            s.syncedAt = max(s.syncedAt, instant)
            return (s.syncedAt, s.lost != nil)
        }
        if lost { freshness.set(stale: true) } else { freshness.current(for: latest + maxLag - .now) }
    }

    public func connection(up: Bool) {
        state.withLock { $0.connected = up }
    }

    /// A change missed for good makes the node stale until it is restarted. Otherwise the deadline
    /// set at each proof of being in step decides, in the password check itself.
    public func evaluate() {
        if state.withLock({ $0.lost != nil }) { freshness.set(stale: true) }
    }

    /// Sets the feed's gauges in /metrics (at each scrape and every tick of the feed).
    public func recordGauges() {
        let status = status
        Gauge(label: "postern_feed_lag_seconds").record(status.lagSeconds)
        Gauge(label: "postern_feed_stale").record(status.stale ? 1 : 0)
        Gauge(label: "postern_feed_last_applied").record(Double(status.lastApplied))
    }

    /// For /v1/health and /metrics.
    public var status: FeedStatus {
        let now = ContinuousClock.now
        return state.withLock { s in
            let lag = now - s.syncedAt
            return FeedStatus(node: node, lastApplied: s.lastApplied, lagSeconds: Double(lag.components.seconds) + Double(lag.components.attoseconds) / 1e18,
                              stale: s.lost != nil || freshness.isStale, listening: s.connected, problem: s.lost)
        }
    }
}
