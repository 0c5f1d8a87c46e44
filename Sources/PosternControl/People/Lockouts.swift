import Crypto
import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// Where failed account passwords are counted, with the mail throttle's rules (`ThrottlePolicy`:
/// per source, login, and source and login pair). On one node (SQLite) in this node's memory, a
/// `Throttle`; on several (PostgreSQL) in the shared store (`SharedLockout`), so that N nodes
/// together allow what one node does, not N times it.
public protocol Lockout: Sendable {
    func verdict(login: String, ip: String?) async throws -> ThrottlePolicy.Verdict
    func recordFailure(login: String, ip: String?) async throws
    func recordSuccess(login: String, ip: String?) async throws
}

extension Throttle: Lockout {}

/// The web and API sign-ins, and the re-confirmations of sensitive changes.
public struct Lockouts: Sendable {
    /// Sign-ins: the mail throttle's numbers (`throttle:` in the configuration).
    public let signIns: any Lockout
    /// Re-confirmations: five wrong account passwords per user and source in 15 minutes, then
    /// that user is refused from that source (only) until 15 minutes after the last.
    public let confirmations: any Lockout

    public init(signIns: any Lockout, confirmations: any Lockout) {
        self.signIns = signIns
        self.confirmations = confirmations
    }

    /// In this node's memory on SQLite, in the store on PostgreSQL.
    public static func on(_ store: Store, signInPolicy: ThrottlePolicy) -> Lockouts {
        switch store.kind {
        case .sqlite: Lockouts(signIns: Throttle(policy: signInPolicy), confirmations: Throttle(policy: confirmationPolicy))
        case .postgres:
            Lockouts(signIns: SharedLockout(store: store, policy: signInPolicy, scope: "signin"),
                     confirmations: SharedLockout(store: store, policy: confirmationPolicy, scope: "confirm"))
        }
    }

    /// Five allowed, the fifth refuses; no delays before; forgotten 15 minutes after the last.
    public static let confirmationPolicy: ThrottlePolicy = {
        var policy = ThrottlePolicy()
        policy.freeFailures = 5
        policy.refuseAfter = 5
        policy.window = .seconds(15 * 60)
        return policy
    }()

    /// The re-confirmation key: the user and where they are (an IPv6 /64 as one source; the
    /// control socket's callers as one), counted alone (`ip: nil`): another source's failures for
    /// the same user, or another user's from the same source, never count against it.
    static func confirmationKey(_ actor: Actor) -> String? {
        guard let user = actor.user else { return nil }
        let source = actor.origin.map { ClientKey($0)?.description ?? $0 } ?? "-"
        return "\(user.id) from \(source)"
    }
}

/// Failures counted in the store's `failureCount` table, read by every node: a sign-in asks for
/// three counts in one statement and a failure adds to them in one upsert, outside the change log
/// and its write lock (`Store.tally`). The same decisions as `Throttle`, from the same policy.
public struct SharedLockout: Lockout {
    let store: Store
    let policy: ThrottlePolicy
    /// Keeps sign-ins and re-confirmations apart in the one table.
    let scope: String

    public init(store: Store, policy: ThrottlePolicy, scope: String) {
        self.store = store
        self.policy = policy
        self.scope = scope
    }

    struct Keys {
        var source: String?
        var pair: String
        var login: String
        var all: [String] { [source, pair, login].compactMap { $0 } }
    }

    func keys(login: String, ip: String?) -> Keys {
        let source = ip.flatMap(ClientKey.init)?.description
        // What a client typed is stored bounded: a login longer than an address can be is kept as its digest.
        let login = login.utf8.count <= 320 ? login : "sha256:" + Hex.encode(SHA256.hash(data: Data(login.utf8)))
        return Keys(source: source.map { "\(scope) source \($0)" }, pair: "\(scope) pair \(login) \(source ?? "-")", login: "\(scope) login \(login)")
    }

    var window: TimeInterval { Double(policy.window.components.seconds) }

    public func verdict(login: String, ip: String?) async throws -> ThrottlePolicy.Verdict {
        let keys = keys(login: login, ip: ip)
        let now = Date()
        let since = now - window
        let counts = try await store.tally { db in try await db.failureCounts(keys.all, since: since) }
        let source = keys.source.flatMap { counts[$0] }, pair = counts[keys.pair], byLogin = counts[keys.login]
        let verdict = policy.verdict(source: source?.failures ?? 0, pair: pair?.failures ?? 0, login: byLogin?.failures ?? 0)
        guard case .refuse = verdict else { return verdict }
        // Refused until the deciding failures age out: the window after the last of them.
        let deciding = [source, (pair?.failures ?? 0) > 0 ? byLogin : nil].compactMap { $0 }.filter { $0.failures >= policy.refuseAfter }
        let last = deciding.map(\.lastAt).max() ?? now
        return .refuse(retryAfter: .seconds(max(1, Int((last + window).timeIntervalSince(now).rounded(.up)))))
    }

    public func recordFailure(login: String, ip: String?) async throws {
        let keys = keys(login: login, ip: ip)
        let now = Date(), cut = now - window
        try await store.tally { db in
            try await db.addFailure(keys.all, at: now, forgetBefore: cut)
            // Now and then, what has aged out goes (the table holds the last window's failures only).
            if Int.random(in: 0..<64) == 0 { try await db.forgetFailures(before: cut) }
        }
    }

    public func recordSuccess(login: String, ip: String?) async throws {
        let keys = keys(login: login, ip: ip)
        let since = Date() - window
        try await store.tally { db in
            try await db.forgiveFailures(pair: keys.pair, others: [keys.source, keys.login].compactMap { $0 }, since: since)
        }
    }
}
