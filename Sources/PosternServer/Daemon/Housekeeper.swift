#if canImport(Glibc)
import Glibc
#endif
import Logging
import PosternControl
import ServiceLifecycle

/// Runs the housekeeping on a timer: expired passwords and freed memory every few seconds; every
/// hour, failed logins older than a month and (when configured) unused devices.
struct Housekeeper: Service {
    let plane: Planes
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
            // Memory freed by connections that went away (thousands of idle clients, say) goes back
            // to the system: glibc keeps freed pages in its arenas otherwise.
            Self.returnFreedMemory()
            do {
                try await plane.devices.expireDevices()
                if clock.now >= nextUnusedSweep {
                    nextUnusedSweep = clock.now + .seconds(3600)
                    try await plane.devices.pruneFailedLogins()
                    try await plane.node.pruneChanges()
                    if let days = removeUnusedAfterDays { try await plane.devices.removeUnusedDevices(olderThanDays: days) }
                }
            } catch {
                logger.error("device housekeeping failed; will retry: \(error)")
            }
        }
    }

    /// glibc's malloc_trim(0), found at run time (Swift's Glibc module does not import malloc.h).
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()

    static func returnFreedMemory() { _ = mallocTrim?(0) }
}
