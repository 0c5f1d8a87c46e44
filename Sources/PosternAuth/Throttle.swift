import Foundation
import Metrics
import PosternCore
import Synchronization

/// Failed-login throttling, per client IP and per login, like Dovecot's auth penalty: after a few
/// free failures every answer to that IP or login is delayed, doubling up to a ceiling, and past
/// a limit the check is refused as a temporary failure until the failures age out.
/// A success clears what that login/IP pair had added. Nothing here touches the store.
public final class Throttle: Sendable {
    public struct Policy: Sendable, Equatable {
        /// Failures before any delay.
        public var freeFailures = 3
        /// The first delay; each further failure doubles it.
        public var firstDelay: Duration = .milliseconds(500)
        public var maxDelay: Duration = .seconds(15)
        /// Failures after which checks are refused (temporary failure) without being tried.
        public var refuseAfter = 20
        /// How long failures are remembered after the last one.
        public var window: Duration = .seconds(900)
        /// Failures of one login that make one action-history line ("under attack").
        public var reportAfter = 10

        public init() {}

        /// The delay for a key with `failures` failures (zero while free).
        public func delay(failures: Int) -> Duration {
            guard failures > freeFailures else { return .zero }
            let doublings = min(failures - freeFailures - 1, 30)
            let delay = firstDelay * (1 << doublings)
            return delay < maxDelay ? delay : maxDelay
        }
    }

    /// What to do with a request before checking it.
    public enum Verdict: Sendable, Equatable {
        case allow
        /// Check, but answer only after this delay.
        case delay(Duration)
        /// Do not check; answer a temporary failure (retry after the given time).
        case refuse(retryAfter: Duration)
    }

    /// A mailbox whose failures crossed `reportAfter`: one summary line for its action history.
    public struct AttackReport: Sendable, Equatable {
        public let login: String
        public let failures: Int
        public let ips: [String]
    }

    private struct FailureCount {
        var failures = 0
        var last: ContinuousClock.Instant
        var ips: Set<String> = []
        var reported = false
    }

    private struct State {
        var byIP: [String: FailureCount] = [:]
        var byLogin: [String: FailureCount] = [:]
        var byPair: [PairKey: Int] = [:]
        var reports: [AttackReport] = []
    }

    public let policy: Policy
    private let state = Mutex(State())
    /// Logins and IPs with remembered failures; zero lets the check skip the lock entirely.
    private let tracked = Atomic<Int>(0)
    private let clock = ContinuousClock()
    /// Entries kept per map before old ones are swept.
    private let sweepAbove = 100_000

    private let delayedCounter: Metrics.Counter
    private let refusedCounter: Metrics.Counter

    public init(policy: Policy = Policy(), metrics: any MetricsFactory = MetricsSystem.factory) {
        self.policy = policy
        delayedCounter = Metrics.Counter(label: "postern_auth_throttled_total", dimensions: [("action", "delayed")], factory: metrics)
        refusedCounter = Metrics.Counter(label: "postern_auth_throttled_total", dimensions: [("action", "refused")], factory: metrics)
    }

    /// Looks at the IP's and the login's failures (the larger counts).
    public func verdict(login: String, ip: String?) -> Verdict {
        if tracked.load(ordering: .relaxed) == 0 { return .allow }
        let now = clock.now
        let failures = state.withLock { state -> Int in
            let ipFailures = ip.flatMap { state.byIP[$0] }.map { fresh($0, now) } ?? 0
            let loginFailures = state.byLogin[login].map { fresh($0, now) } ?? 0
            return max(ipFailures, loginFailures)
        }
        if failures >= policy.refuseAfter {
            refusedCounter.increment()
            return .refuse(retryAfter: policy.maxDelay)
        }
        let delay = policy.delay(failures: failures)
        if delay > .zero {
            delayedCounter.increment()
            return .delay(delay)
        }
        return .allow
    }

    public func recordFailure(login: String, ip: String?) {
        let now = clock.now
        state.withLock { state in
            if let ip {
                var counter = state.byIP[ip].map { expire($0, now) } ?? FailureCount(last: now)
                counter.failures += 1
                counter.last = now
                state.byIP[ip] = counter
                state.byPair[pairKey(login, ip), default: 0] += 1
            }
            var counter = state.byLogin[login].map { expire($0, now) } ?? FailureCount(last: now)
            counter.failures += 1
            counter.last = now
            if let ip, counter.ips.count < 16 { counter.ips.insert(ip) }
            if counter.failures >= policy.reportAfter, !counter.reported {
                counter.reported = true
                state.reports.append(AttackReport(login: login, failures: counter.failures, ips: counter.ips.sorted()))
            }
            state.byLogin[login] = counter
            if state.byIP.count > sweepAbove || state.byLogin.count > sweepAbove { sweep(&state, now) }
            tracked.store(state.byIP.count + state.byLogin.count, ordering: .relaxed)
        }
    }

    /// A success takes back what this login/IP pair had added to both counters.
    public func recordSuccess(login: String, ip: String?) {
        if tracked.load(ordering: .relaxed) == 0 { return }
        state.withLock { state in
            defer { tracked.store(state.byIP.count + state.byLogin.count, ordering: .relaxed) }
            guard let ip else {
                state.byLogin[login] = nil
                return
            }
            // Most successes come from clients that never failed: nothing to take back.
            guard state.byIP[ip] != nil || state.byLogin[login] != nil,
                  let pair = state.byPair.removeValue(forKey: pairKey(login, ip)) else { return }
            if var c = state.byIP[ip] { c.failures = max(0, c.failures - pair); state.byIP[ip] = c.failures == 0 ? nil : c }
            if var c = state.byLogin[login] { c.failures = max(0, c.failures - pair); state.byLogin[login] = c.failures == 0 ? nil : c }
        }
    }

    /// Takes the pending "under attack" reports (written to the action history off the request path).
    public func drainReports() -> [AttackReport] {
        state.withLock { state in
            defer { state.reports = [] }
            return state.reports
        }
    }

    private func fresh(_ c: FailureCount, _ now: ContinuousClock.Instant) -> Int {
        now - c.last > policy.window ? 0 : c.failures
    }

    private func expire(_ c: FailureCount, _ now: ContinuousClock.Instant) -> FailureCount {
        now - c.last > policy.window ? FailureCount(last: now) : c
    }

    private struct PairKey: Hashable {
        let login: String
        let ip: String
    }

    private func pairKey(_ login: String, _ ip: String) -> PairKey { PairKey(login: login, ip: ip) }

    private func sweep(_ state: inout State, _ now: ContinuousClock.Instant) {
        state.byIP = state.byIP.filter { now - $0.value.last <= policy.window }
        state.byLogin = state.byLogin.filter { now - $0.value.last <= policy.window }
        if state.byPair.count > sweepAbove { state.byPair = [:] }
    }
}
