import Logging
@testable import PosternControl
@testable import PosternServer
import Synchronization
import Testing

/// Lines that clients can cause: one a minute of each kind, the next one counting what was left out.
@Suite struct LogLimiterTests {
    final class Lines: Sendable {
        let all = Mutex<[String]>([])
    }

    struct Capture: LogHandler {
        let lines: Lines
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? { get { metadata[key] } set { metadata[key] = newValue } }
        func log(event: LogEvent) { lines.all.withLock { $0.append("\(event.level) \(event.message)") } }
    }

    @Test func oneLineAMinuteOfEachKind() {
        let lines = Lines()
        let logger = Logger(label: "test") { _ in Capture(lines: lines) }
        let limiter = LogLimiter()
        let start = ContinuousClock.now
        for i in 0..<600 { limiter.log(logger, .notice, kind: "closed", "closing connection \(i)", now: start + .milliseconds(i)) }
        limiter.log(logger, .warning, kind: "cap", "at the cap", now: start + .seconds(1))
        #expect(lines.all.withLock { $0 } == ["notice closing connection 0", "warning at the cap"])
        limiter.log(logger, .notice, kind: "closed", "closing connection 600", now: start + .seconds(61))
        #expect(lines.all.withLock { $0.last } == "notice closing connection 600 (and 599 more like it in the last 1 min)")
        limiter.log(logger, .notice, kind: "closed", "closing connection 601", now: start + .seconds(122))
        #expect(lines.all.withLock { $0.last } == "notice closing connection 601")
    }
}
