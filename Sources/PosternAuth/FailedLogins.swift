import Foundation
import PosternCore
import Synchronization

/// Failed and refused logins, aggregated per login, client IP, service and mechanism (first,
/// last, count, how many were throttled) and handed to the store in batches, like last use.
/// Nothing of the attempted password is kept.
public final class FailedLogins: Sendable {
    public struct Key: Hashable, Sendable {
        public let login: String
        public let ip: String?
        public let service: String
        public let mechanism: String
    }

    public struct Aggregate: Sendable, Equatable {
        public var first: Date
        public var last: Date
        public var count: Int
        /// Of those, attempts that were delayed or refused by the throttle.
        public var throttled: Int
    }

    private struct State {
        var pending: [Key: Aggregate] = [:]
        var dropped = 0
    }

    private let state = Mutex(State())
    /// Distinct keys kept between two flushes at most: a spray of random logins cannot grow it.
    private let maxPending = 50_000

    public init() {}

    func record(_ request: CheckRequest, login: String, throttled: Bool) {
        // Logins longer than any address, odd IPs and services are not worth keeping verbatim.
        guard login.utf8.count <= 320 else { return }
        let ip = request.remoteIP.flatMap { ClientKey($0) != nil ? $0 : nil }
        let key = Key(login: login, ip: ip, service: String(request.service.prefix(32)), mechanism: String(request.mechanism.prefix(16)))
        let now = Date()
        state.withLock { state in
            if var aggregate = state.pending[key] {
                aggregate.last = now
                aggregate.count += 1
                aggregate.throttled += throttled ? 1 : 0
                state.pending[key] = aggregate
            } else if state.pending.count < maxPending {
                state.pending[key] = Aggregate(first: now, last: now, count: 1, throttled: throttled ? 1 : 0)
            } else {
                state.dropped += 1
            }
        }
    }

    /// Takes what was recorded since the last drain.
    public func drain() -> [Key: Aggregate] {
        state.withLock { state in
            defer { state.pending = [:] }
            return state.pending
        }
    }

    /// Puts back a batch the store could not take, merged with what came since.
    public func restore(_ batch: [Key: Aggregate]) {
        state.withLock { state in
            for (key, old) in batch {
                if let new = state.pending[key] {
                    state.pending[key] = Aggregate(first: min(old.first, new.first), last: max(old.last, new.last),
                                                   count: old.count + new.count, throttled: old.throttled + new.throttled)
                } else if state.pending.count < maxPending {
                    state.pending[key] = old
                }
            }
        }
    }
}
