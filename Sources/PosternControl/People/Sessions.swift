import Crypto
import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// API tokens (for scripts, over the TCP control listener) and sessions (a sign-in with the
/// account password, for the web manager): bearer secrets shown once and kept as keyed digests.
extension PeoplePlane {
    public static let sessionLife: TimeInterval = 12 * 3600

    /// The digest a secret is stored and found by (HMAC-SHA-256 under the server key, apart from device passwords).
    public func tokenDigest(_ secret: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array("postern api token\u{0}\(secret)".utf8), using: key.key))
    }

    /// A new API token for the actor (or, for the operator, for `login`).
    public func createToken(name: String, days: Int?, login: String?, actor: Actor) async throws -> NewToken {
        let name = try Names.validate(name, what: "a token name")
        let days = days ?? 90
        try APIToken.checkDays(days)
        let secret = APIToken.secret(.token)
        let digest = tokenDigest(secret)
        let token = try await store.write { db in
            let user = try await Self.tokenOwner(login, actor: actor, in: db)
            let token = try await db.insertToken(userID: user.id, kind: .token, name: name, digest: digest, expiresAt: Date() + Double(days) * 86_400)
            try await ActionLog.record(.tokenCreated(name: name, id: token.id, owner: user.login, until: token.expiresAt), mailbox: nil, by: actor, in: db)
            return token
        }
        return NewToken(token: token, secret: secret)
    }

    /// The actor's own tokens and sessions; the operator's view: everyone's, or one user's.
    public func tokens(login: String?, page: PageRequest = .first(), actor: Actor) async throws -> Page<APIToken> {
        try await store.read { db in
            if login == nil, try await Access.decide(actor, .listEveryonesTokens, in: db) == .allowed { return try await db.tokens(userID: nil, page: page) }
            return try await db.tokens(userID: try Self.tokenOwner(login, actor: actor, in: db).id, page: page)
        }
    }

    public func revokeToken(id: Int64, actor: Actor) async throws -> APIToken {
        try await store.write { db in
            let notYours = PosternError(.tokenNotFound, "no token \(id) of yours; `postern token list` shows them")
            // Another user's token is not found, as one that does not exist.
            guard let (token, owner) = try await db.token(id: id), try await Access.decide(actor, .manageTokens(owner: owner), in: db) == .allowed else {
                throw notYours
            }
            try await db.deleteToken(id: id)
            try await ActionLog.record(.tokenRevoked(name: token.kind == .token ? token.name : nil, id: id, owner: token.login), mailbox: nil, by: actor, in: db)
            return token
        }
    }

    /// Whose token it is: `login`'s (when the actor may manage their tokens), else the actor's own.
    static func tokenOwner(_ login: String?, actor: Actor, in db: StoreTransaction) async throws -> User {
        if let login {
            let user = try await db.requireUser(login: login)
            try await Access.authorize(actor, .manageTokens(owner: user.id), in: db)
            return user
        }
        guard let own = actor.user else {
            throw PosternError(.userRequired, "the operator names whose token it is (--user LOGIN)")
        }
        return try await db.requireUser(login: own.login)
    }

    /// Signs a user in with their account password: a session for `sessionLife`. Failures are
    /// throttled per client IP and login as failed mail logins are.
    public func signIn(login: String, password: String, ip: String?, throttle: any Lockout) async throws -> NewToken {
        let key = (try? User.login(login)) ?? login
        switch try await throttle.verdict(login: "signin:" + key, ip: ip) {
        case .allow: break
        case let .delay(hold): try await Task.sleep(for: hold)
        case let .refuse(retryAfter):
            throw PosternError(.signInThrottled, "too many failed sign-ins from here for this login; try again in \(PosternError.minutes(retryAfter))",
                               retryAfter: retryAfter)
        }
        let secret = APIToken.secret(.session)
        let digest = tokenDigest(secret)
        // Counted before Argon2id runs and taken back if it verifies: sign-ins sent at once cannot
        // all be tried before the first failure counts.
        try await throttle.recordFailure(login: "signin:" + key, ip: ip)
        let store = self.store
        let (user, hash) = try await store.read { db -> (User?, String?) in
            guard let user = try await db.user(login: key) else { return (nil, nil) }
            return (user, try await db.passwordHash(userID: user.id))
        }
        // An unknown login (or one with no password) costs the same Argon2id as a wrong password,
        // on the thread pool (Argon2id takes a core for tens of milliseconds).
        let verified = try await blocking.run { AccountPassword.verify(password, against: hash ?? AccountPassword.decoy) }
        let session: APIToken? = if !verified || hash == nil { nil } else if let user {
            try await store.write { db in
                let session = try await db.insertToken(userID: user.id, kind: .session, name: "session", digest: digest,
                                                 expiresAt: Date() + Self.sessionLife)
                let actor = Actor.user(Actor.UserRef(id: user.id, login: user.login), via: .session(id: session.id, ip: ip))
                try await ActionLog.record(.sessionOpened, mailbox: nil, by: actor, in: db)
                return session
            }
        } else { nil }
        guard let session else { throw PosternError(.wrongLogin, "wrong login or account password") }
        try await throttle.recordSuccess(login: "signin:" + key, ip: ip)
        return NewToken(token: session, secret: secret)
    }

    /// Who a bearer secret belongs to, or 401. Its last use is written at most once a minute.
    /// `idle`: a session unused for longer is over (the web manager's).
    public func actor(bearer secret: String, ip: String?, idle: TimeInterval? = nil) async throws -> Actor {
        let refused = PosternError(.invalidToken, "the bearer token is unknown, revoked or expired")
        guard APIToken.looksLikeSecret(secret) else { throw refused }
        let digest = tokenDigest(secret)
        guard let (token, userID) = try await store.read({ try await $0.token(digest: digest) }), token.expiresAt > Date() else { throw refused }
        if let idle, token.kind == .session, Date().timeIntervalSince(token.lastUsedAt ?? token.createdAt) > idle {
            try? await store.write { try await $0.deleteToken(id: token.id) }
            throw PosternError(.sessionIdle, "the session was unused too long; sign in again")
        }
        if token.lastUsedAt.map({ Date().timeIntervalSince($0) > 60 }) ?? true || token.lastIP != ip {
            try? await store.write { try await $0.touchToken(id: token.id, at: Date(), ip: ip) }
        }
        let user = Actor.UserRef(id: userID, login: token.login)
        return .user(user, via: token.kind == .token ? .token(id: token.id, name: token.name, ip: ip) : .session(id: token.id, ip: ip))
    }

    /// Ends the actor's own session.
    public func signOut(actor: Actor) async throws -> APIToken {
        guard case let .user(_, .session(id, _)) = actor else {
            throw PosternError(.noSession, "this request does not come with a session to end")
        }
        return try await revokeToken(id: id, actor: actor)
    }
}
