import Logging
import Synchronization

/// At most one log line a minute of each kind that clients can cause (a connection closed for
/// bad bytes, a listener at its cap or out of descriptors, accepting again): a flood of
/// clients, or of broken ones, cannot flood the log. The next line of a kind says how many of
/// it were left out since the last one.
final class LogLimiter: Sendable {
    static let shared = LogLimiter()

    let interval: Duration
    private struct Kind {
        var last: ContinuousClock.Instant
        var leftOut: Int
    }
    private let kinds = Mutex<[String: Kind]>([:])

    init(interval: Duration = .seconds(60)) { self.interval = interval }

    /// Logs `message` unless a line of this `kind` was logged within the interval. Kinds are
    /// fixed texts of the call sites, never client input: the table stays small.
    func log(_ logger: Logger, _ level: Logger.Level, kind: String, _ message: @autoclosure () -> String,
             now: ContinuousClock.Instant = .now) {
        let leftOut = kinds.withLock { kinds -> Int? in
            if let seen = kinds[kind], now - seen.last < interval {
                kinds[kind]?.leftOut += 1
                return nil
            }
            defer { kinds[kind] = Kind(last: now, leftOut: 0) }
            return kinds[kind]?.leftOut ?? 0
        }
        guard let leftOut else { return }
        logger.log(level: level, "\(message())\(leftOut > 0 ? " (and \(leftOut) more like it in the last \(interval.components.seconds / 60) min)" : "")")
    }
}
