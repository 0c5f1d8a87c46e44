import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// What happens to devices with time, and what the password check saw: expired passwords are
/// told to Dovecot (the check already refuses them from their expiry on), devices unused for too
/// long are removed, last uses and failed logins are written in batches, attacks and failed
/// revocation hooks go into the mailbox's history.
extension DevicesPlane {
    /// Handles the device passwords that expired by `now`: one history line each, and the
    /// revocation hooks for their live sessions. Returns how many.
    @discardableResult
    public func expireDevices(at now: Date = Date()) async throws -> Int {
        let lastUse = self.lastUse
        let expired = try await node.commit { db in
            let expired = try await db.expiredDevices(at: now)
            for (address, device) in expired {
                try await db.markExpiryHandled(deviceID: device.id)
                try await ActionLog.recordByPostern(.deviceExpired(DevicesRules.named(device), at: device.expiresAt ?? now), mailbox: address, in: db)
            }
            // Every node refuses them already (the index knows their expiry): each tells its Dovecot.
            return (expired, NodeChange(revocations: expired.map {
                .init(event: .device(address: $0.address, ips: DevicesRules.seenAt($0.device, lastUse)), devices: [$0.device.id], gone: false)
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
    public func removeUnusedDevices(olderThanDays days: Int, now: Date = Date()) async throws -> Int {
        let cutoff = now - Double(days) * 86_400
        let candidates = try await store.read { try await $0.devicesUnused(since: cutoff) }
        guard !candidates.isEmpty else { return 0 }
        // A use seen in memory but not flushed yet counts.
        let fresh = lastUse.peek(candidates.map(\.device.id))
        let stale = candidates.filter { (fresh[$0.device.id]?.at ?? .distantPast) < cutoff }
        let lastUse = self.lastUse
        let removed = try await node.commit { db in
            var removed: [(address: String, device: Device, digest: [UInt8]?)] = []
            for (address, device) in stale {
                // Another node's housekeeping may have removed it since it was read.
                guard let digest = try await db.deviceDigest(id: device.id) else { continue }
                try await db.deleteDevices(ids: [device.id])
                try await ActionLog.recordByPostern(.unusedDeviceRemoved(DevicesRules.named(device), unusedSince: device.unusedSince, days: days),
                                              mailbox: address, in: db)
                removed.append((address, device, digest))
            }
            return (removed, NodeChange(credentials: removed.map { DevicesRules.removal(($0.device.id, $0.digest)) },
                                        revocations: removed.map {
                                            .init(event: .device(address: $0.address, ips: DevicesRules.seenAt($0.device, lastUse)), devices: [$0.device.id])
                                        }))
        }
        for r in removed {
            logger.info("unused device removed", metadata: ["mailbox": "\(r.address)", "device": "\(r.device.id)"])
        }
        return removed.count
    }

    // MARK: last use

    /// Writes the coalesced last uses; on failure they are kept for the next try.
    public func flushLastUse(everything: Bool = false) async {
        let batch = lastUse.drain(everything: everything)
        guard !batch.isEmpty else { return }
        do {
            try await store.write { db in try await db.recordLastUse(batch) }
        } catch {
            lastUse.restore(batch)
            logger.error("could not write last use of \(batch.count) device(s); will retry: \(error)")
        }
    }

    // MARK: failed logins and attacks

    /// How long a mailbox's failed logins are kept after the last one.
    public static let failedLoginsKept: TimeInterval = 30 * 86_400
    /// Rows (IP × service × mechanism) kept per mailbox at most, the most recent.
    public static let failedLoginRowsPerMailbox = 1000

    public func flushFailedLogins(_ log: FailedLogins) async {
        let batch = log.drain()
        guard !batch.isEmpty else { return }
        do {
            try await store.write { db in
                try await db.recordFailedLogins(batch.map { key, a in
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
    public func failedLogins(_ address: String, log: FailedLogins?, actor: Actor) async throws -> [FailedLogin] {
        let address = try MailAddress(address)
        try await store.read { db in _ = try await Access.mailbox(address, .security, actor: actor, in: db) }
        if let log { await flushFailedLogins(log) }
        return try await store.read { db in try await db.failedLogins(mailboxID: try db.mailbox(address).id!) }
    }

    public func pruneFailedLogins(now: Date = Date(), perMailbox: Int = failedLoginRowsPerMailbox) async throws {
        try await store.write { try await $0.pruneFailedLogins(before: now - Self.failedLoginsKept, perMailbox: perMailbox) }
    }

    /// One action-history line per mailbox whose failed logins crossed the report threshold.
    public func recordAttacks(_ reports: [Throttle.AttackReport], window: Duration) async {
        for report in reports {
            guard let address = try? MailAddress(report.login) else { continue }
            do {
                try await store.write { db in
                    guard await (try? db.mailbox(address)) != nil else { return }
                    try await ActionLog.recordByPostern(.loginsThrottled(failures: report.failures, minutes: window.components.seconds / 60, ips: report.ips),
                                                  mailbox: address.description, in: db)
                }
                logger.warning("failed logins throttled", metadata: ["mailbox": "\(address)", "failures": "\(report.failures)"])
            } catch {
                logger.error("could not record the attack on \(address): \(error)")
            }
        }
    }
}

/// Where a revocation hook that failed for good is written: the mailbox's history (the hooks
/// themselves write none).
public struct RevocationFailures: Sendable {
    let store: Store
    public init(store: Store) { self.store = store }

    public func record(mailbox address: String, _ what: String) async {
        try? await store.write { db in try await ActionLog.recordByPostern(.revocationHookFailed(what), mailbox: address, in: db) }
    }
}
