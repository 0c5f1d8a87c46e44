import PosternCore
import Synchronization

/// Keeps the last use of each device in memory; the store flushes it in batches, so the password
/// check never writes. Only the newest use per device is kept.
public final class LastUseRecorder: Sendable {
    private let pending = Mutex([Int64: LastUse]())

    public init() {}

    public func record(deviceID: Int64, _ use: LastUse) {
        pending.withLock { $0[deviceID] = use }
    }

    /// Takes everything recorded since the last drain.
    public func drain() -> [Int64: LastUse] {
        pending.withLock { state in
            let out = state
            state = [:]
            return out
        }
    }

    /// Puts back a batch the store could not write, without overwriting newer uses.
    public func restore(_ batch: [Int64: LastUse]) {
        pending.withLock { state in
            for (id, use) in batch where state[id] == nil { state[id] = use }
        }
    }

    /// Not-yet-flushed uses, so a device list shows them at once.
    public func peek(_ ids: [Int64]) -> [Int64: LastUse] {
        pending.withLock { state in
            var out: [Int64: LastUse] = [:]
            for id in ids { if let use = state[id] { out[id] = use } }
            return out
        }
    }

    /// Forgets a removed device.
    public func forget(_ ids: [Int64]) {
        pending.withLock { state in for id in ids { state[id] = nil } }
    }
}
