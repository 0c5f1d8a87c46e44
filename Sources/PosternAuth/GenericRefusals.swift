import Foundation
import PosternCore
import Synchronization

/// Correct generic passwords that a policy refused, noted once a day per mailbox, service and
/// client IP, and written to the mailbox's action history off the request path.
public final class GenericRefusals: Sendable {
    public struct Refusal: Sendable, Equatable {
        public let address: String
        public let service: String
        public let ip: String?
        public let policy: GenericPolicy
        public let at: Date
    }

    private struct Key: Hashable {
        let address: String
        let service: String
        let source: ClientKey?
    }

    private struct State {
        var day = Int.min
        var seen: Set<Key> = []
        var pending: [Refusal] = []
    }

    private let state = Mutex(State())
    /// Distinct refusals noted per day at most: bounds memory whatever clients send.
    private let maxPerDay = 100_000

    public init() {}

    public func record(address: String, service: String, ip: String?, policy: GenericPolicy, at now: Date) {
        let day = Int((now.timeIntervalSince1970 / 86_400).rounded(.down))
        let source = ip.flatMap(ClientKey.init)
        state.withLock { state in
            if state.day != day {
                state.day = day
                state.seen.removeAll()
            }
            guard state.seen.count < maxPerDay,
                  state.seen.insert(Key(address: address, service: String(service.prefix(32)), source: source)).inserted else { return }
            state.pending.append(Refusal(address: address, service: String(service.prefix(32)), ip: source?.description, policy: policy, at: now))
        }
    }

    /// Takes the refusals not written yet.
    public func drain() -> [Refusal] {
        state.withLock { state in
            defer { state.pending.removeAll() }
            return state.pending
        }
    }
}
