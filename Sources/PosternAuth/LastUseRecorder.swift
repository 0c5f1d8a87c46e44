import PosternCore
import Synchronization

/// Keeps the last use of each device in memory; the store flushes it in batches, so the password
/// check never writes. Also remembers the last few client IPs of each device since start, so that
/// revoking a device can drop its sessions from each of them.
public final class LastUseRecorder: Sendable {
    /// Client IPs remembered per device.
    public static let ipsPerDevice = 4

    private struct State {
        var pending: [Int64: LastUse] = [:]
        var recentIPs: [Int64: [String]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func record(deviceID: Int64, _ use: LastUse) {
        state.withLock { state in
            state.pending[deviceID] = use
            guard let ip = use.ip else { return }
            if let ips = state.recentIPs[deviceID], ips.first == ip { return }  // the usual case: same IP again
            var ips = state.recentIPs[deviceID] ?? []
            ips.removeAll { $0 == ip }
            ips.insert(ip, at: 0)
            if ips.count > Self.ipsPerDevice { ips.removeLast() }
            state.recentIPs[deviceID] = ips
        }
    }

    /// Takes everything recorded since the last drain.
    public func drain() -> [Int64: LastUse] {
        state.withLock { state in
            defer { state.pending = [:] }
            return state.pending
        }
    }

    /// Puts back a batch the store could not write, without overwriting newer uses.
    public func restore(_ batch: [Int64: LastUse]) {
        state.withLock { state in
            for (id, use) in batch where state.pending[id] == nil { state.pending[id] = use }
        }
    }

    /// Not-yet-flushed uses, so a device list shows them at once.
    public func peek(_ ids: [Int64]) -> [Int64: LastUse] {
        state.withLock { state in
            var out: [Int64: LastUse] = [:]
            for id in ids { if let use = state.pending[id] { out[id] = use } }
            return out
        }
    }

    /// The device's client IPs since start, newest first.
    public func recentIPs(_ id: Int64) -> [String] {
        state.withLock { $0.recentIPs[id] ?? [] }
    }

    /// Forgets a removed device.
    public func forget(_ ids: [Int64]) {
        state.withLock { state in
            for id in ids {
                state.pending[id] = nil
                state.recentIPs[id] = nil
            }
        }
    }
}
