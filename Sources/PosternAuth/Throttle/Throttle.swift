import Metrics
import PosternCore
import Synchronization

/// Failed-login throttling by the rules of `ThrottlePolicy`: the failures of each source, each
/// login and each source/login pair, remembered for a window in bounded tables (constant time per
/// request, no sweep). A success takes back what its pair had added. Nothing here touches the store.
public final class Throttle: Sendable {
    public typealias Policy = ThrottlePolicy
    public typealias Verdict = ThrottlePolicy.Verdict

    /// A mailbox whose failures crossed `reportAfter`: one summary line for its action history.
    public struct AttackReport: Sendable, Equatable {
        public let login: String
        public let failures: Int
        public let ips: [String]
    }

    /// A login as the tables know it: a keyed 64-bit hash, so a 12 KB login costs 8 bytes.
    private struct LoginKey: Hashable {
        let hash: Int
        init(_ login: String) {
            var h = Hasher()
            h.combine(login)
            hash = h.finalize()
        }
    }

    private struct PairKey: Hashable {
        let login: LoginKey
        let source: ClientKey?
    }

    private struct LoginFailures {
        var failures = 0
        /// The first few sources, for the attack report.
        var sources: [ClientKey] = []
        var reported = false
    }

    private struct State {
        var bySource: ExpiringTable<ClientKey, Int>
        var byLogin: ExpiringTable<LoginKey, LoginFailures>
        var byPair: ExpiringTable<PairKey, Int>
        var reports: [AttackReport] = []
        var entries: Int { bySource.count + byLogin.count + byPair.count }
    }

    public let policy: Policy
    private let state: Mutex<State>
    /// Entries remembered; zero lets the check skip the lock entirely.
    private let tracked = Atomic<Int>(0)
    private let clock = ContinuousClock()
    /// Pending attack reports kept at most (the flusher drains them every few seconds).
    private let maxReports = 1000

    private let delayedCounter: Metrics.Counter
    private let refusedCounter: Metrics.Counter

    public init(policy: Policy = Policy(), metrics: any MetricsFactory = MetricsSystem.factory) {
        self.policy = policy
        state = Mutex(State(bySource: ExpiringTable(capacity: policy.maxEntries, lifetime: policy.window),
                            byLogin: ExpiringTable(capacity: policy.maxEntries, lifetime: policy.window),
                            byPair: ExpiringTable(capacity: policy.maxEntries, lifetime: policy.window)))
        delayedCounter = Metrics.Counter(label: "postern_auth_throttled_total", dimensions: [("action", "delayed")], factory: metrics)
        refusedCounter = Metrics.Counter(label: "postern_auth_throttled_total", dimensions: [("action", "refused")], factory: metrics)
    }

    /// The verdict for a request of `login` (the canonical login key) from `ip`.
    public func verdict(login: String, ip: String?) -> Verdict {
        if tracked.load(ordering: .relaxed) == 0 { return .allow }
        let now = clock.now
        let source = ip.flatMap(ClientKey.init)
        let key = LoginKey(login)
        let verdict = state.withLock { state in
            policy.verdict(source: source.flatMap { state.bySource.value($0, now: now) } ?? 0,
                           pair: state.byPair.value(PairKey(login: key, source: source), now: now) ?? 0,
                           login: state.byLogin.value(key, now: now)?.failures ?? 0)
        }
        switch verdict {
        case .allow: break
        case .delay: delayedCounter.increment()
        case .refuse: refusedCounter.increment()
        }
        return verdict
    }

    public func recordFailure(login: String, ip: String?) {
        let now = clock.now
        let source = ip.flatMap(ClientKey.init)
        let key = LoginKey(login)
        state.withLock { state in
            if let source { state.bySource.update(source, now: now, fresh: 0) { $0 += 1 } }
            state.byPair.update(PairKey(login: key, source: source), now: now, fresh: 0) { $0 += 1 }
            let counted = state.byLogin.update(key, now: now, fresh: LoginFailures()) { entry in
                entry.failures += 1
                if let source, entry.sources.count < 8, !entry.sources.contains(source) { entry.sources.append(source) }
            }
            if counted.failures >= policy.reportAfter, !counted.reported, state.reports.count < maxReports {
                state.byLogin.modify(key, now: now) { $0.reported = true; return true }
                state.reports.append(AttackReport(login: login, failures: counted.failures, ips: counted.sources.map(\.description)))
            }
            tracked.store(state.entries, ordering: .relaxed)
        }
    }

    /// A success takes back what this login/source pair had added to the source's and the login's counts.
    public func recordSuccess(login: String, ip: String?) {
        if tracked.load(ordering: .relaxed) == 0 { return }
        let now = clock.now
        let source = ip.flatMap(ClientKey.init)
        let key = LoginKey(login)
        state.withLock { state in
            let pairKey = PairKey(login: key, source: source)
            // Most successes come from clients that never failed: nothing to take back.
            guard let pair = state.byPair.value(pairKey, now: now) else { return }
            state.byPair.remove(pairKey)
            if let source { state.bySource.modify(source, now: now) { $0 -= pair; return $0 > 0 } }
            state.byLogin.modify(key, now: now) { $0.failures -= pair; return $0.failures > 0 }
            tracked.store(state.entries, ordering: .relaxed)
        }
    }

    /// Forgets what has aged out; the flusher calls it, so that an idle daemon's tables empty too.
    public func expire() {
        let now = clock.now
        state.withLock { state in
            state.bySource.expire(now: now)
            state.byLogin.expire(now: now)
            state.byPair.expire(now: now)
            tracked.store(state.entries, ordering: .relaxed)
        }
    }

    /// Entries remembered now (sources + logins + pairs).
    public var entries: Int { state.withLock { $0.entries } }

    /// Takes the pending "under attack" reports (written to the action history off the request path).
    public func drainReports() -> [AttackReport] {
        state.withLock { state in
            defer { state.reports = [] }
            return state.reports
        }
    }
}
