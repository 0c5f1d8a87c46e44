import PosternCore
import ServiceLifecycle
import Synchronization

/// Lets one passwd-file import run at a time, and ends it between two batches when posternd stops.
/// As a service it comes last in the group, so it hears the shutdown first: the control API then
/// waits for an import that is already stopping, not for the whole file.
public final class ImportGate: Service, Sendable {
    private struct State {
        var running = false
        var stopping = false
    }

    public struct Ticket: Sendable {}

    private let state = Mutex(State())

    public init() {}

    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Starts an import, or says why not.
    func begin() throws(PosternError) -> Ticket {
        try state.withLock { (state: inout State) throws(PosternError) -> Ticket in
            if state.stopping {
                throw PosternError(.unavailable, code: "stopping", "posternd is stopping; start the import again once it is back")
            }
            if state.running {
                throw PosternError(.conflict, code: "import_running", "another passwd-file import is running; wait for it to finish")
            }
            state.running = true
            return Ticket()
        }
    }

    func end(_ ticket: Ticket) { state.withLock { $0.running = false } }

    /// Stops imports from now on.
    public func stop() { state.withLock { $0.stopping = true } }

    public func run() async throws {
        try? await gracefulShutdown()
        stop()
    }
}
