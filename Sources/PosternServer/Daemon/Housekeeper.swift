import Logging
import ServiceLifecycle

/// Runs the device housekeeping on a timer: expired passwords every few seconds; every hour,
/// failed logins older than a month and (when configured) unused devices.
struct Housekeeper: Service {
    let plane: ControlPlane
    let interval: Duration
    /// Days after which an unused device password is removed; nil: never.
    let removeUnusedAfterDays: Int?
    let logger: Logger

    func run() async throws {
        let clock = ContinuousClock()
        var nextUnusedSweep = clock.now
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try plane.expireDevices()
                if clock.now >= nextUnusedSweep {
                    nextUnusedSweep = clock.now + .seconds(3600)
                    try plane.pruneFailedLogins()
                    if let days = removeUnusedAfterDays { try plane.removeUnusedDevices(olderThanDays: days) }
                }
            } catch {
                logger.error("device housekeeping failed; will retry: \(error)")
            }
        }
    }
}
