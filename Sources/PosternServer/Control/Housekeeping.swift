import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// What happens to devices with time: expired passwords are told to Dovecot (the check already
/// refuses them from their expiry on), and devices unused for too long are removed.
extension ControlPlane {
    /// Handles the device passwords that expired by `now`: one history line each, and the
    /// revocation hooks for their live sessions. Returns how many.
    @discardableResult
    public func expireDevices(at now: Date = Date()) throws -> Int {
        let expired = try commit { db in
            let expired = try db.expiredDevices(at: now)
            for (address, device) in expired {
                try db.markExpiryHandled(deviceID: device.id)
                try db.appendHistory(HistoryEntry(mailbox: address, actor: "postern", action: "device.expired",
                    detail: "device \"\(device.name)\" (id \(device.id)) expired at \(Self.day(device.expiresAt ?? now)); its password no longer logs in"))
            }
            // Every node refuses them already (the index knows their expiry): each tells its Dovecot.
            return (expired, NodeChange(revocations: expired.map {
                .init(event: .device(address: $0.address, ips: Self.seenAt($0.device, self.lastUse)), devices: [$0.device.id], gone: false)
            }))
        }
        for (address, device) in expired {
            logger.info("device expired", metadata: ["mailbox": "\(address)", "device": "\(device.id)"])
        }
        return expired.count
    }

    /// Removes the device passwords not used for `days` days (never used: since their creation),
    /// each with a history line. The generic password is left to its policy. Returns how many.
    @discardableResult
    public func removeUnusedDevices(olderThanDays days: Int, now: Date = Date()) throws -> Int {
        let cutoff = now - Double(days) * 86_400
        let candidates = try store.read { try $0.devicesUnused(since: cutoff) }
        guard !candidates.isEmpty else { return 0 }
        // A use seen in memory but not flushed yet counts.
        let fresh = lastUse.peek(candidates.map(\.device.id))
        let stale = candidates.filter { (fresh[$0.device.id]?.at ?? .distantPast) < cutoff }
        let removed = try commit { db in
            var removed: [(address: String, device: Device, digest: [UInt8]?)] = []
            for (address, device) in stale {
                // Another node's housekeeping may have removed it since it was read.
                guard let digest = try db.deviceDigest(id: device.id) else { continue }
                try db.deleteDevices(ids: [device.id])
                try db.appendHistory(HistoryEntry(mailbox: address, actor: "postern", action: "device.removed_unused",
                    detail: "device \"\(device.name)\" (id \(device.id)) removed: unused since \(Self.day(device.unusedSince)), more than \(days) days"))
                removed.append((address, device, digest))
            }
            return (removed, NodeChange(credentials: removed.map { Self.removal(($0.device.id, $0.digest)) },
                                        revocations: removed.map { .init(event: .device(address: $0.address, ips: Self.seenAt($0.device, self.lastUse)), devices: [$0.device.id]) }))
        }
        for r in removed {
            logger.info("unused device removed", metadata: ["mailbox": "\(r.address)", "device": "\(r.device.id)"])
        }
        return removed.count
    }
}

/// Failed logins: written in batches with last use, read per mailbox, forgotten after a month.
extension ControlPlane {
    /// How long a mailbox's failed logins are kept after the last one.
    public static let failedLoginsKept: TimeInterval = 30 * 86_400
    /// Rows (IP × service × mechanism) kept per mailbox at most, the most recent.
    public static let failedLoginRowsPerMailbox = 1000

    public func flushFailedLogins(_ log: FailedLogins) {
        let batch = log.drain()
        guard !batch.isEmpty else { return }
        do {
            try store.write { db in
                try db.recordFailedLogins(batch.map { key, a in
                    FailedLogin(address: key.login, ip: key.ip, service: key.service, mechanism: key.mechanism,
                                first: a.first, last: a.last, count: a.count, throttled: a.throttled)
                })
            }
        } catch {
            log.restore(batch)
            logger.error("could not write \(batch.count) failed-login record(s); will retry: \(error)")
        }
    }

    /// A mailbox's failed logins (after writing what the check holds in memory), most recent first.
    public func failedLogins(_ address: String, log: FailedLogins?, actor: Actor) throws -> [FailedLogin] {
        let address = try MailAddress(address)
        try store.read { db in _ = try Self.mailbox(address, .security, actor: actor, in: db) }
        if let log { flushFailedLogins(log) }
        return try store.read { db in try db.failedLogins(mailboxID: try db.mailbox(address).id!) }
    }

    public func pruneFailedLogins(now: Date = Date(), perMailbox: Int = failedLoginRowsPerMailbox) throws {
        try store.write { try $0.pruneFailedLogins(before: now - Self.failedLoginsKept, perMailbox: perMailbox) }
    }

    /// How long the change log keeps a change: a node away for longer than this cannot catch up
    /// from the log (it says so and refuses logins) and is restarted, loading afresh.
    public static let changesKept: TimeInterval = 7 * 86_400

    public func pruneChanges(now: Date = Date()) throws {
        try store.write { try $0.pruneChanges(before: now - Self.changesKept) }
    }
}
