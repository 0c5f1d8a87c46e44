import PosternAuth
import ServiceLifecycle

/// Writes, every few seconds and once more at shutdown, what the password check only kept in
/// memory: the last use of each device (see `LastUseRecorder` for which uses are due), and one history line per mailbox under attack.
struct LastUseFlusher: Service {
    let plane: ControlPlane
    let throttle: Throttle
    let interval: Duration

    func run() async throws {
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            flush()
        }
        flush(everything: true)
    }

    func flush(everything: Bool = false) {
        plane.flushLastUse(everything: everything)
        plane.recordAttacks(throttle.drainReports(), window: throttle.policy.window)
        throttle.expire()
    }
}
