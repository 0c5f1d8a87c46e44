import Foundation
import PosternCore
import Synchronization

/// Keeps the last use of each device in memory, so the password check never writes; the store
/// gets it in batches (`drain`). Also remembers the last few client IPs of each device since
/// start, so that revoking a device can drop its sessions from each of them.
///
/// A device in steady use is written to the store at most once per `durableEvery` unless its IP
/// or service changes (the in-memory value, which `peek` shows, is always the latest); and the
/// recorder is split in shards by device id, so checks on different event loops seldom wait for
/// each other. One dictionary entry per device, updated in place: one hash lookup per check.
public final class LastUseRecorder: Sendable {
    /// Client IPs remembered per device.
    public static let ipsPerDevice = 4
    private static let shardCount = 16

    private struct Entry {
        var latest: LastUse
        /// What the store was last given (nil: nothing yet, or a write failed).
        var stored: LastUse?
        var ips: [String]
    }

    private final class Shard: Sendable {
        let entries = Mutex([Int64: Entry]())
    }

    private let shards: [Shard]
    /// How stale the stored time of a device in steady use may get.
    public let durableEvery: TimeInterval

    public init(durableEvery: TimeInterval = 60) {
        self.durableEvery = durableEvery
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    @inline(__always)
    private func shard(_ id: Int64) -> Shard {
        shards[Int(UInt64(bitPattern: id) % UInt64(Self.shardCount))]
    }

    public func record(deviceID: Int64, _ use: LastUse) {
        shard(deviceID).entries.withLock { entries in
            guard let index = entries.index(forKey: deviceID) else {
                entries[deviceID] = Entry(latest: use, stored: nil, ips: use.ip.map { [$0] } ?? [])
                return
            }
            Self.update(&entries.values[index], with: use)  // in place: no copy of the entry
        }
    }

    private static func update(_ entry: inout Entry, with use: LastUse) {
        entry.latest = use
        guard let ip = use.ip, entry.ips.first != ip else { return }  // usually the same IP again
        entry.ips.removeAll { $0 == ip }
        entry.ips.insert(ip, at: 0)
        if entry.ips.count > ipsPerDevice { entry.ips.removeLast() }
    }

    /// The uses the store should get now: new devices, changed IP or service, a stored time older
    /// than `durableEvery`; with `everything`, every use not stored yet (at shutdown).
    public func drain(everything: Bool = false) -> [Int64: LastUse] {
        var out: [Int64: LastUse] = [:]
        for shard in shards {
            shard.entries.withLock { entries in
                for index in entries.indices {
                    let entry = entries.values[index]
                    guard let stored = entry.stored else {
                        out[entries.keys[index]] = entry.latest
                        entries.values[index].stored = entry.latest
                        continue
                    }
                    let due = stored.ip != entry.latest.ip || stored.service != entry.latest.service
                        || entry.latest.at.timeIntervalSince(stored.at) >= durableEvery
                        || (everything && stored != entry.latest)
                    if due {
                        out[entries.keys[index]] = entry.latest
                        entries.values[index].stored = entry.latest
                    }
                }
            }
        }
        return out
    }

    /// A batch the store could not write: due again at the next drain.
    public func restore(_ batch: [Int64: LastUse]) {
        for id in batch.keys {
            shard(id).entries.withLock { $0[id]?.stored = nil }
        }
    }

    /// The latest uses since start, so a device list shows them before they are stored.
    public func peek(_ ids: [Int64]) -> [Int64: LastUse] {
        var out: [Int64: LastUse] = [:]
        for id in ids {
            if let use = shard(id).entries.withLock({ $0[id]?.latest }) { out[id] = use }
        }
        return out
    }

    /// The device's client IPs since start, newest first.
    public func recentIPs(_ id: Int64) -> [String] {
        shard(id).entries.withLock { $0[id]?.ips ?? [] }
    }

    /// Forgets a removed device.
    public func forget(_ ids: [Int64]) {
        for id in ids {
            shard(id).entries.withLock { $0[id] = nil }
        }
    }
}
