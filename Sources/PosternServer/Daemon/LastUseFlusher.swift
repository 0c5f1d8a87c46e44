import PosternAuth
import PosternControl
import ServiceLifecycle

/// Writes, every few seconds and once more at shutdown, what the password check only kept in
/// memory: the last use of each device (see `LastUseRecorder` for which uses are due), one history line per mailbox under attack, and the refused generic passwords.
struct LastUseFlusher: Service {
    let plane: Planes
    let check: PasswordCheck
    let interval: Duration

    func run() async throws {
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            await flush()
        }
        await flush(everything: true)
    }

    func flush(everything: Bool = false) async {
        await plane.devices.flushLastUse(everything: everything)
        await plane.devices.recordAttacks(check.throttle.drainReports(), window: check.throttle.policy.window)
        await plane.devices.recordGenericRefusals(check.genericRefusals.drain())
        await plane.devices.flushFailedLogins(check.failedLogins)
        check.throttle.expire()
    }
}
