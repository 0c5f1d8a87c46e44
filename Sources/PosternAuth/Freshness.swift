import Synchronization

/// Whether this node's index may be behind the shared database by more than it is allowed to be
/// (several nodes on PostgreSQL): then every password check answers "try again later" rather than
/// risk accepting a secret another node has revoked. One atomic load per check.
public final class Freshness: Sendable {
    private let stale = Atomic<Bool>(false)

    public init() {}

    @inline(__always)
    public var isStale: Bool { stale.load(ordering: .relaxed) }

    public func set(stale value: Bool) { stale.store(value, ordering: .relaxed) }
}
