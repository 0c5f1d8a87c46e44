import PosternCore
import Synchronization

/// Lets one passwd-file import run at a time, and ends it between two batches when posternd stops
/// (the daemon runs it as a service that hears the shutdown first).
public final class ImportGate: Sendable {
    private struct State {
        var running = false
        var stopping = false
    }

    public struct Ticket: Sendable {}

    private let state = Mutex(State())

    public init() {}

    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Starts an import, or says why not.
    public func begin() throws(PosternError) -> Ticket {
        try state.withLock { (state: inout State) throws(PosternError) -> Ticket in
            if state.stopping {
                throw PosternError(.stopping, "posternd is stopping; start the import again once it is back")
            }
            if state.running {
                throw PosternError(.importRunning, "another passwd-file import is running; wait for it to finish")
            }
            state.running = true
            return Ticket()
        }
    }

    public func end(_ ticket: Ticket) { state.withLock { $0.running = false } }

    /// Stops imports from now on.
    public func stop() { state.withLock { $0.stopping = true } }
}
