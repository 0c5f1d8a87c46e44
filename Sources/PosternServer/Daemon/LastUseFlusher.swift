import PosternAuth
import ServiceLifecycle

/// Writes, every few seconds and once more at shutdown, what the password check only kept in
/// memory: the last use of each device (see `LastUseRecorder` for which uses are due), one history line per mailbox under attack, and the refused generic passwords.
struct LastUseFlusher: Service {
    let plane: ControlPlane
    let check: PasswordCheck
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
        plane.recordAttacks(check.throttle.drainReports(), window: check.throttle.policy.window)
        plane.recordGenericRefusals(check.genericRefusals.drain())
        plane.flushFailedLogins(check.failedLogins)
        check.throttle.expire()
    }
}
