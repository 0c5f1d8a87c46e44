import NIOCore
import Synchronization

/// Whether this node's index may be behind the shared database by more than it is allowed to be
/// (several nodes on PostgreSQL): then every password check answers "try again later" rather than
/// risk accepting a secret another node has revoked.
///
/// It holds a deadline, not a flag: the node is current until the moment its last proof of being
/// in step (a change-log read that came back) is `database.maxLagSeconds` old, and each check
/// compares the clock with it. No timer has to fire for a node to turn stale, so a busy or
/// blocked thread cannot stretch the window. One atomic load per check, and one monotonic clock
/// read once a deadline is set (never on a single node).
public final class Freshness: Sendable {
    /// Uptime in nanoseconds until which the node is current; `.max`: always (one node), 0: never.
    private let until = Atomic<UInt64>(.max)

    public init() {}

    @inline(__always)
    public var isStale: Bool {
        let until = until.load(ordering: .relaxed)
        return until != .max && NIODeadline.now().uptimeNanoseconds >= until
    }

    /// Current for `remaining` from now (nothing if `remaining` is not positive: stale at once).
    public func current(for remaining: Duration) {
        let now = NIODeadline.now().uptimeNanoseconds
        let (seconds, attoseconds) = remaining.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        until.store(nanoseconds > 0 ? now + UInt64(nanoseconds) : 0, ordering: .relaxed)
    }

    /// Stale until told otherwise (`true`), or current with no deadline (`false`).
    public func set(stale value: Bool) { until.store(value ? 0 : .max, ordering: .relaxed) }
}
