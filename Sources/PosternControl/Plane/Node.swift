import Foundation
import Logging
import PosternAuth
import PosternCore
import PosternStore

/// This node: the store, the in-memory indexes the mail servers' checks read, its place in the
/// change log, and the one way a change is written. Every plane writes through `commit`; the
/// other nodes' changes come in through `applyNotified` and `catchUp`.
public final class Node: Sendable {
    public let store: Store
    /// Device-password digests and generic passwords: what the password check reads.
    public let index: CredentialIndex
    /// What Postfix's socketmap lookups read: domains, mailboxes, aliases, redirections.
    public let routing: RoutingIndex
    public let lastUse: LastUseRecorder
    /// This node's place in the change log the nodes share.
    public let feed: ChangeFeed
    /// Tells the local mail servers about revoked passwords; nil: nobody to tell.
    let revocations: (any RevocationSink)?

    public init(store: Store, index: CredentialIndex, routing: RoutingIndex, lastUse: LastUseRecorder, feed: ChangeFeed,
                revocations: (any RevocationSink)?) {
        self.store = store
        self.index = index
        self.routing = routing
        self.lastUse = lastUse
        self.feed = feed
        self.revocations = revocations
    }

    /// Runs a write whose `body` returns what it changed in the indexes with its result: the change
    /// goes into the change log in the same transaction, and once committed this node applies it
    /// (after any earlier change of another node it had not applied yet), then `afterCommit` runs,
    /// then the caller answers. The other nodes apply it from the log.
    public func commit<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) async throws -> (T, NodeChange),
                                    afterCommit: @escaping @Sendable (T) -> Void = { _ in }) async throws -> T {
        let feed = self.feed
        return try await store.write({ db in
            let (result, change) = try await body(db)
            return (result, try await feed.record(change, in: db))
        }, afterCommit: { (result, pending) in
            if let pending { feed.take(pending.entries, self.apply) }
            afterCommit(result)
        }).0
    }

    /// One change, on this node: the indexes take it, then the local mail servers are told.
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
            revocations?.enqueue(event)
        }
    }

    /// A change that came in its notification: applied at once if it is the next one in order
    /// (else the catch-up, woken with it, reads the log); one that cannot be decoded is left to it.
    public func applyNotified(_ payload: String) {
        guard let (seq, json) = LoggedChange.notified(payload), let json,
              seq == feed.state.withLock({ $0.lastApplied }) + 1,
              let change = try? JSONDecoder().decode(NodeChange.self, from: Data(json.utf8)) else { return }
        feed.take([(seq, change)], apply)
    }

    /// Applies the other nodes' changes this node has not applied yet, from the log.
    public func catchUp() async throws {
        let started = ContinuousClock.now
        while true {
            let from = feed.state.withLock { $0.lastApplied }
            let batch = try await store.readChangeLog { db in try await db.changes(after: from, limit: 1000) }
            try feed.takeFromLog(batch, after: from, apply)
            if batch.count < 1000 || feed.state.withLock({ $0.lastApplied }) == from { break }
        }
        feed.synced(at: started)
    }

    /// Loads every credential from the store into the index.
    public func loadIndex() async throws -> (devices: Int, generic: Int) {
        let index = self.index, feed = self.feed
        try await store.read { db in
            // Changes after this one are not in the snapshot the index is loaded from: the feed applies them.
            try await feed.start(at: db.latestChange())
            let (passwords, generic) = try await db.credentialCounts()
            index.reserve(devices: passwords, generic: generic)
            var batch: [CredentialIndex.Change] = []
            try await db.forEachCredential { credential in
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
            try await index.apply(db.genericPasswords(withPolicy: true).compactMap { row in row.policy.map { .setGenericPolicy(address: row.address, $0.policy) } })
        }
        return index.count
    }

    /// Loads every domain, mailbox, alias and redirection into the routing index.
    public func loadRouting() async throws -> (mailboxes: Int, aliases: Int, redirects: Int) {
        let empty = routing.emptied
        let table = try await store.read { db -> RoutingTable in
            var table = empty
            for domain in try await db.servedDomains() { table.apply(.addDomain(domain)) }
            try await db.forEachMailboxAddress { table.apply(.addMailbox($0)) }
            for alias in try await db.aliases() { table.apply(.addAlias(alias.address, mailbox: alias.mailbox)) }
            for redirection in try await db.redirections() {
                table.apply(.setRedirect(mailbox: redirection.mailbox, .init(targets: redirection.targets, keepCopy: redirection.keepCopy)))
            }
            return table
        }
        routing.replace(table)
        return table.counts
    }

    /// How long the change log keeps a change: a node away for longer than this cannot catch up
    /// from the log (it says so and refuses logins) and is restarted, loading afresh.
    public static let changesKept: TimeInterval = 7 * 86_400

    public func pruneChanges(now: Date = Date()) async throws {
        try await store.write { try await $0.pruneChanges(before: now - Self.changesKept) }
    }
}
