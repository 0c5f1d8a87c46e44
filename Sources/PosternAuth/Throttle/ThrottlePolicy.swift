/// The throttling rules as numbers and one pure decision, so they can be read and tested as a table.
///
/// A source (client IP, IPv6 /64) that failed is slowed down, then refused, on its own failures at
/// any login, as Dovecot's auth penalty does. A login's failures weigh only on the sources that
/// failed at that login themselves: an owner typing the right password from a source with no
/// recent failure for the login is never delayed or refused, however many other sources attack it.
public struct ThrottlePolicy: Sendable, Equatable {
    /// Failures before any delay: the next attempt after this many is the first one delayed.
    public var freeFailures = 3
    /// The first delay; each further failure doubles it, up to `maxDelay`.
    public var firstDelay: Duration = .milliseconds(500)
    /// No answer is held longer than this. It stays below the shortest client timeout: Postfix
    /// gives up on a Dovecot-protocol answer after 10 s (see conf/postern.yaml).
    public var maxDelay: Duration = .seconds(5)
    /// Failures after which a source is refused (a temporary failure, answered at once, the
    /// password not even tried) until its failures age out.
    public var refuseAfter = 20
    /// How long failures are remembered after the last one.
    public var window: Duration = .seconds(900)
    /// Failures of one login that make one action-history line ("under attack").
    public var reportAfter = 10
    /// Sources, logins and source/login pairs remembered at most, each; past that the oldest is
    /// forgotten first. Bounds the throttle's memory whatever clients send.
    public var maxEntries = 100_000

    public init() {}

    /// The delay after `failures` failures: none while they are free (and none without a failure).
    public func delay(failures: Int) -> Duration {
        guard failures > 0, failures >= freeFailures else { return .zero }
        let doublings = min(failures - freeFailures, 30)
        let delay = firstDelay * (1 << doublings)
        return delay < maxDelay ? delay : maxDelay
    }

    /// What to do with a request before checking it.
    public enum Verdict: Sendable, Equatable {
        case allow
        /// Check, but hold the answer this long (from its arrival).
        case delay(Duration)
        /// Do not check; answer a temporary failure now. The client may retry after this long.
        case refuse(retryAfter: Duration)
    }

    /// The decision for one request from the remembered failures of its source (`source`, nil when
    /// the request names no IP), of its login from that source (`pair`), and of its login from
    /// every source (`login`).
    public func verdict(source: Int, pair: Int, login: Int) -> Verdict {
        let failures = pair > 0 ? max(source, login) : source
        if failures >= refuseAfter { return .refuse(retryAfter: window) }
        let delay = delay(failures: failures)
        return delay > .zero ? .delay(delay) : .allow
    }
}
