import ServiceLifecycle

/// Writes the coalesced last uses every few seconds, and once more at shutdown.
struct LastUseFlusher: Service {
    let plane: ControlPlane
    let interval: Duration

    func run() async throws {
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            plane.flushLastUse()
        }
        plane.flushLastUse()
    }
}
