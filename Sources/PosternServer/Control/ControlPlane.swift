import Foundation
import Logging
import PosternAuth
import PosternCore
import PosternStore

/// Every change operators make, in one place: the store commits it (with its history line), then
/// the in-memory index takes it, then the caller answers. No secret is logged or written to history.
public final class ControlPlane: Sendable {
    public let store: Store
    public let index: CredentialIndex
    /// What Postfix's socketmap lookups read: mailboxes, aliases, redirections.
    public let routing: RoutingIndex
    /// Writes mailboxes' Sieve scripts; nil: the settings are stored and no script is written.
    public let sieve: SieveWriter?
    /// `doveadm` and its options, for a mailbox's folders; nil: folders are not managed.
    public let folderCommand: [String]?
    public let lastUse: LastUseRecorder
    /// Tells the mail servers about revoked passwords (auth cache flush, session kick); nil: nobody to tell.
    public let hooks: RevocationHooks?
    let key: ServerKey
    let logger: Logger
    /// Devices a mailbox may have at most (devices.maxPerMailbox).
    public let maxDevicesPerMailbox: Int
    /// Wrong account passwords given to re-confirm a sensitive change, per user.
    let confirmations = ConfirmationThrottle()
    /// The sender of mail to members (role changes); nil: no mail.
    let mailFrom: String?
    /// This node's place in the change log the nodes share.
    public let feed: ChangeFeed

    public init(store: Store, key: ServerKey, index: CredentialIndex, lastUse: LastUseRecorder, hooks: RevocationHooks? = nil,
                maxDevicesPerMailbox: Int = 250, mailFrom: String? = nil, routing: RoutingIndex = RoutingIndex(), sieve: SieveWriter? = nil, folderCommand: [String]? = nil,
                feed: ChangeFeed = ChangeFeed(), logger: Logger) {
        self.feed = feed
        self.routing = routing
        self.sieve = sieve
        self.folderCommand = folderCommand
        self.mailFrom = mailFrom
        self.store = store
        self.key = key
        self.index = index
        self.lastUse = lastUse
        self.hooks = hooks
        self.maxDevicesPerMailbox = maxDevicesPerMailbox
        self.logger = logger
    }

    /// One device of a mailbox by reference (`#ID`, `ID` or name), read by index, not by listing.
    static func find(_ reference: String, mailboxID: Int64, in db: StoreTransaction, mailbox: String) throws -> Device {
        let (id, name) = DeviceRules.parse(reference)
        guard let device = try db.device(mailboxID: mailboxID, id: id, name: name) else { throw PosternError.deviceNotFound(reference, mailbox: mailbox) }
        return device
    }

    /// The mailbox an action lands on, once the rule set allows the actor `action` on it (nil:
    /// only seeing it). A mailbox the actor may not see is "not found", as if it did not exist.
    static func mailbox(_ address: MailAddress, _ permission: MailboxPermission?, actor: Actor, in db: StoreTransaction) throws -> Mailbox {
        guard let target = try db.mailboxTarget(address) else { throw PosternError.mailboxNotFound(address.description) }
        try db.authorize(actor, permission.map { .mailbox(target, $0) } ?? .viewMailbox(target),
                         orHide: PosternError.mailboxNotFound(address.description))
        return try db.mailbox(address)
    }

    /// Where a device was seen: its IPs since start, and the stored last one (from before a restart).
    static func seenAt(_ device: Device, _ lastUse: LastUseRecorder) -> [String] {
        var ips = lastUse.recentIPs(device.id)
        if let stored = device.lastUse?.ip, !ips.contains(stored) { ips.append(stored) }
        return ips
    }

    /// The server key device-password digests are taken under.
    public var serverKey: ServerKey { key }

    /// Loads every credential from the store into the index.
    public func loadIndex() throws -> (devices: Int, generic: Int) {
        let index = self.index, feed = self.feed
        try store.read { db in
            // Changes after this one are not in the snapshot the index is loaded from: the feed applies them.
            feed.start(at: try db.latestChange())
            let (passwords, generic) = try db.credentialCounts()
            index.reserve(devices: passwords, generic: generic)
            var batch: [CredentialIndex.Change] = []
            try db.forEachCredential { credential in
                if let bytes = credential.digest, let digest = PasswordDigest(bytes: bytes) {
                    batch.append(.addDevice(digest, DeviceCredential(deviceID: credential.deviceID, address: credential.address,
                                                                     scope: credential.scope, expiresAt: credential.expiresAt)))
                } else if let generic = credential.generic {
                    batch.append(.setGeneric(GenericCredential(deviceID: credential.deviceID, address: credential.address, password: generic)))
                }
                if batch.count >= 4096 { index.apply(batch); batch.removeAll(keepingCapacity: true) }
            }
            index.apply(batch)
            // The policies that may retire generic passwords (a minority of rows: read apart).
            index.apply(try db.genericPasswords(withPolicy: true).compactMap { row in row.policy.map { .setGenericPolicy(address: row.address, $0.policy) } })
        }
        return index.count
    }

    // MARK: changes

    /// Runs a write whose `body` returns what it changed in the indexes with its result: the change
    /// goes into the change log in the same transaction, and once committed this node applies it
    /// (after any earlier change of another node it had not applied yet), then `afterCommit` runs,
    /// then the caller answers. The other nodes apply it from the log.
    func commit<T: Sendable>(_ body: @Sendable (StoreTransaction) throws -> (T, NodeChange),
                             afterCommit: @Sendable (T) -> Void = { _ in }) throws -> T {
        let feed = self.feed
        return try store.write({ db in
            let (result, change) = try body(db)
            return (result, try feed.record(change, in: db))
        }, afterCommit: { (result, pending) in
            if let pending { feed.take(pending.entries, self.apply) }
            afterCommit(result)
        }).0
    }

    /// One change, on this node: the indexes take it, then the hooks tell the local mail servers.
    func apply(_ change: NodeChange) {
        if !change.credentials.isEmpty { index.apply(change.credentials) }
        if !change.routing.isEmpty { routing.apply(change.routing) }
        for revocation in change.revocations {
            var event = revocation.event
            if case let .device(address, ips) = event {
                // Where this node saw the device too: each node kicks the sessions it knows of.
                var seen = ips
                for id in revocation.devices { for ip in lastUse.recentIPs(id) where !seen.contains(ip) { seen.append(ip) } }
                event = .device(address: address, ips: seen)
            }
            if revocation.gone { lastUse.forget(revocation.devices) }
            hooks?.enqueue(event)
        }
    }

    /// A change that came in its notification: applied at once if it is the next one in order
    /// (else the catch-up, woken with it, reads the log); one that cannot be decoded is left to it.
    func applyNotified(_ payload: String) {
        guard let (seq, json) = LoggedChange.notified(payload), let json,
              seq == feed.state.withLock({ $0.lastApplied }) + 1,
              let change = try? JSONDecoder().decode(NodeChange.self, from: Data(json.utf8)) else { return }
        feed.take([(seq, change)], apply)
    }

    /// Applies the other nodes' changes this node has not applied yet, from the log.
    public func catchUp() throws {
        let started = ContinuousClock.now
        while true {
            let from = feed.state.withLock { $0.lastApplied }
            let batch = try store.read { db in try db.changes(after: from, limit: 1000) }
            try feed.takeFromLog(batch, after: from, apply)
            if batch.count < 1000 || feed.state.withLock({ $0.lastApplied }) == from { break }
        }
        feed.synced(at: started)
    }

    // MARK: attacks

    /// One action-history line per mailbox whose failed logins crossed the report threshold.
    public func recordAttacks(_ reports: [Throttle.AttackReport], window: Duration) {
        for report in reports {
            guard let address = try? MailAddress(report.login) else { continue }
            let ips = report.ips.isEmpty ? "" : " from \(report.ips.joined(separator: ", "))"
            do {
                try store.write { db in
                    guard (try? db.mailbox(address)) != nil else { return }
                    try db.appendHistory(HistoryEntry(mailbox: address.description, actor: "postern", action: "login.throttled",
                        detail: "\(report.failures) failed logins within \(window.components.seconds / 60) min\(ips); further attempts are delayed, then refused"))
                }
                logger.warning("failed logins throttled", metadata: ["mailbox": "\(address)", "failures": "\(report.failures)"])
            } catch {
                logger.error("could not record the attack on \(address): \(error)")
            }
        }
    }

    // MARK: last use

    /// Writes the coalesced last uses; on failure they are kept for the next try.
    public func flushLastUse(everything: Bool = false) {
        let batch = lastUse.drain(everything: everything)
        guard !batch.isEmpty else { return }
        do {
            try store.write { db in try db.recordLastUse(batch) }
        } catch {
            lastUse.restore(batch)
            logger.error("could not write last use of \(batch.count) device(s); will retry: \(error)")
        }
    }
}
