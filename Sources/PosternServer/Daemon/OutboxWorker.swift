import Logging
import PosternControl
import ServiceLifecycle

/// Drains the mail-server outbox: everything waiting at the start, then each task once its
/// backoff is over (checked every second from the last count), and counts it every ten seconds
/// (another node's tasks, the figures of /metrics and /v1/health).
/// The request that commits a task runs it first; this worker is for what failed or was left.
struct OutboxWorker: Service {
    let outbox: ServerOutbox
    let logger: Logger

    func run() async throws {
        var idle = 0
        // What waits from before the start runs now, whatever its backoff.
        let outbox = outbox
        _ = await outbox.drain(dueBy: .distantFuture)
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            } catch {
                return
            }
            idle += 1
            guard outbox.due || idle >= 10 else { continue }
            idle = 0
            // Store work blocks (fsync, sievec, doveadm): off the cooperative pool.
            _ = await outbox.drain()
        }
    }
}
