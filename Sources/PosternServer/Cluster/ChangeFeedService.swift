import Logging
import Metrics
import PosternStore
import ServiceLifecycle

/// Keeps a node of several (PostgreSQL) in step: LISTENs for the other nodes' changes, reads the
/// change log at every notification and at least every `poll`, and applies what is new in order.
/// A lost connection is retried; meanwhile the poll keeps trying, and the node turns stale (logins
/// get a temporary failure) once it has not been in step for `database.maxLagSeconds`.
struct ChangeFeedService: Service {
    let plane: ControlPlane
    let poll: Duration
    let logger: Logger

    func run() async throws {
        let (signals, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let lag = Gauge(label: "postern_feed_lag_seconds")
        let stale = Gauge(label: "postern_feed_stale")
        let applied = Gauge(label: "postern_feed_last_applied")
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    var failing = false
                    while !Task.isCancelled {
                        do {
                            try await plane.store.watchChanges {
                                plane.feed.connection(up: true)
                                wake.yield()
                            }
                        } catch {
                            if !failing { logger.warning("change feed: LISTEN connection lost, retrying: \(error)") }
                            failing = true
                        }
                        plane.feed.connection(up: false)
                        try? await Task.sleep(for: .milliseconds(250))
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: poll)
                        wake.yield()
                    }
                }
                group.addTask {
                    var failing = false
                    for await _ in signals {
                        do {
                            try plane.catchUp()
                            if failing { logger.notice("change feed: in step with the database again") }
                            failing = false
                        } catch {
                            if !failing { logger.warning("change feed: cannot read the change log: \(error)") }
                            failing = true
                        }
                        plane.feed.evaluate()
                        let status = plane.feed.status
                        lag.record(status.lagSeconds)
                        stale.record(status.stale ? 1 : 0)
                        applied.record(Double(status.lastApplied))
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }
}
