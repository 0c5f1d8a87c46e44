import Logging
import PosternControl
import NIOPosix
import PosternStore
import ServiceLifecycle

/// Keeps a node of several (PostgreSQL) in step: LISTENs for the other nodes' changes, reads the
/// change log at every notification and at least every `poll`, and applies what is new in order.
///
/// Staleness is measured from what the node *receives*: a catch-up read that came back proves the
/// node had every change committed before that read began, and nothing else does. Each proof sets
/// the deadline the password check compares the clock with (`Freshness`): once the last proof is
/// older than `database.maxLagSeconds` logins get a temporary failure, whether the reads fail,
/// hang on a silent connection, or never start. A lost or silent connection is closed and
/// retried meanwhile.
struct ChangeFeedService: Service {
    let plane: Planes
    let poll: Duration
    let logger: Logger
    /// How often the feed's gauges are updated.
    static let tick: Duration = .milliseconds(100)

    func run() async throws {
        let (signals, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        // The catch-up suspends while PostgreSQL answers (or until database.timeoutSeconds).
        plane.feed.arm()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    var failing = false
                    while !Task.isCancelled {
                        do {
                            try await plane.store.watchChanges { payload in
                                plane.feed.connection(up: true)
                                // Applied as it arrives when it carries the next change: no hop to
                                // another thread and no read of the log before the index has it.
                                if let payload { plane.node.applyNotified(payload) }
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
                    while !Task.isCancelled {
                        plane.feed.recordGauges()
                        try? await Task.sleep(for: Self.tick)
                    }
                }
                group.addTask {
                    var failing = false
                    for await _ in signals {
                        do {
                            try await plane.node.catchUp()
                            if failing { logger.notice("change feed: in step with the database again") }
                            failing = false
                        } catch {
                            if !failing { logger.warning("change feed: cannot read the change log: \(error)") }
                            failing = true
                        }
                        plane.feed.evaluate()
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }
}
