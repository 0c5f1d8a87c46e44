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
    public func createToken(name: String, days: Int?, login: String?, actor: Actor) throws -> NewToken {
        let name = try Names.validate(name, what: "a token name")
        let days = days ?? 90
        try APIToken.checkDays(days)
        let secret = APIToken.secret(.token)
        let digest = tokenDigest(secret)
        let token = try store.write { db in
            let user = try Self.tokenOwner(login, actor: actor, in: db)
            let token = try db.insertToken(userID: user.id, kind: .token, name: name, digest: digest, expiresAt: Date() + Double(days) * 86_400)
            try ActionLog.record(.tokenCreated(name: name, id: token.id, owner: user.login, until: token.expiresAt), mailbox: nil, by: actor, in: db)
            return token
        }
        return NewToken(token: token, secret: secret)
    }

    /// The actor's own tokens and sessions; the operator's view: everyone's, or one user's.
    public func tokens(login: String?, page: PageRequest = .first(), actor: Actor) throws -> Page<APIToken> {
        try store.read { db in
            if login == nil, try Access.decide(actor, .listEveryonesTokens, in: db) == .allowed { return try db.tokens(userID: nil, page: page) }
            return try db.tokens(userID: try Self.tokenOwner(login, actor: actor, in: db).id, page: page)
        }
    }

    public func revokeToken(id: Int64, actor: Actor) throws -> APIToken {
        try store.write { db in
            let notYours = PosternError(.tokenNotFound, "no token \(id) of yours; `postern token list` shows them")
            // Another user's token is not found, as one that does not exist.
            guard let (token, owner) = try db.token(id: id), try Access.decide(actor, .manageTokens(owner: owner), in: db) == .allowed else {
                throw notYours
            }
            try db.deleteToken(id: id)
            try ActionLog.record(.tokenRevoked(name: token.kind == .token ? token.name : nil, id: id, owner: token.login), mailbox: nil, by: actor, in: db)
            return token
        }
    }

    /// Whose token it is: `login`'s (when the actor may manage their tokens), else the actor's own.
    static func tokenOwner(_ login: String?, actor: Actor, in db: StoreTransaction) throws -> User {
        if let login {
            let user = try db.requireUser(login: login)
            try Access.authorize(actor, .manageTokens(owner: user.id), in: db)
            return user
        }
        guard let own = actor.user else {
            throw PosternError(.userRequired, "the operator names whose token it is (--user LOGIN)")
        }
        return try db.requireUser(login: own.login)
    }

    /// Signs a user in with their account password: a session for `sessionLife`. Failures are
    /// throttled per client IP and login as failed mail logins are.
    public func signIn(login: String, password: String, ip: String?, throttle: Throttle) async throws -> NewToken {
        let key = (try? User.login(login)) ?? login
        switch throttle.verdict(login: "signin:" + key, ip: ip) {
        case .allow: break
        case let .delay(hold): try await Task.sleep(for: hold)
        case .refuse:
            throw PosternError(.signInThrottled, "too many failed sign-ins from here for this login; try again later")
        }
        let secret = APIToken.secret(.session)
        let digest = tokenDigest(secret)
        let store = self.store
        let session: APIToken? = try await blocking.run {
            let user = try store.read { try $0.user(login: key) }
            let hash = try user.flatMap { user in try store.read { try $0.passwordHash(userID: user.id) } }
            // An unknown login (or one with no password) costs the same Argon2id as a wrong password.
            guard AccountPassword.verify(password, against: hash ?? AccountPassword.decoy), let user, hash != nil else { return nil }
            return try store.write { db in
                let session = try db.insertToken(userID: user.id, kind: .session, name: "session", digest: digest,
                                                 expiresAt: Date() + Self.sessionLife)
                let actor = Actor.user(Actor.UserRef(id: user.id, login: user.login), via: .session(id: session.id, ip: ip))
                try ActionLog.record(.sessionOpened, mailbox: nil, by: actor, in: db)
                return session
            }
        }
        guard let session else {
            throttle.recordFailure(login: "signin:" + key, ip: ip)
            throw PosternError(.wrongLogin, "wrong login or account password")
        }
        throttle.recordSuccess(login: "signin:" + key, ip: ip)
        return NewToken(token: session, secret: secret)
    }

    /// Who a bearer secret belongs to, or 401. Its last use is written at most once a minute.
    /// `idle`: a session unused for longer is over (the web manager's).
    public func actor(bearer secret: String, ip: String?, idle: TimeInterval? = nil) throws -> Actor {
        let refused = PosternError(.invalidToken, "the bearer token is unknown, revoked or expired")
        guard APIToken.looksLikeSecret(secret) else { throw refused }
        let digest = tokenDigest(secret)
        guard let (token, userID) = try store.read({ try $0.token(digest: digest) }), token.expiresAt > Date() else { throw refused }
        if let idle, token.kind == .session, Date().timeIntervalSince(token.lastUsedAt ?? token.createdAt) > idle {
            try? store.write { try $0.deleteToken(id: token.id) }
            throw PosternError(.sessionIdle, "the session was unused too long; sign in again")
        }
        if token.lastUsedAt.map({ Date().timeIntervalSince($0) > 60 }) ?? true || token.lastIP != ip {
            try? store.write { try $0.touchToken(id: token.id, at: Date(), ip: ip) }
        }
        let user = Actor.UserRef(id: userID, login: token.login)
        return .user(user, via: token.kind == .token ? .token(id: token.id, name: token.name, ip: ip) : .session(id: token.id, ip: ip))
    }

    /// Ends the actor's own session.
    public func signOut(actor: Actor) throws -> APIToken {
        guard case let .user(_, .session(id, _)) = actor else {
            throw PosternError(.noSession, "this request does not come with a session to end")
        }
        return try revokeToken(id: id, actor: actor)
    }
}
