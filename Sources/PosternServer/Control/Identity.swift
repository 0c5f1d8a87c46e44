import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PosternControl
import PosternCore
import PosternStore

/// Who may call the control API, and as whom. The control socket knows its peer's uid
/// (`SO_PEERCRED`): root and posternd's own uid are the operator, uids of `control.users` are
/// those users, every other uid is refused. The operator may act as a user (`X-Postern-As`).
public struct ControlIdentity: Sendable {
    /// uids with every right.
    public var operatorUIDs: Set<UInt32>
    /// uid → user login.
    public var users: [UInt32: String]

    public init(operatorUIDs: Set<UInt32> = [0, getuid()], users: [UInt32: String] = [:]) {
        self.operatorUIDs = operatorUIDs
        self.users = users
    }

    /// The actor of a connection from `uid`, asking to act `as` someone (or not).
    public func actor(uid: UInt32, as login: String?, in store: Store) async throws -> Actor {
        if operatorUIDs.contains(uid) {
            guard let login else { return .operator(uid: uid) }
            let user = try await store.read { try await $0.requireUser(login: login) }
            return .operatorAs(uid: uid, Actor.UserRef(id: user.id, login: user.login))
        }
        guard let mapped = users[uid] else {
            throw PosternError(.unknownCaller, """
                uid \(uid) is neither the operator (root or posternd's uid) nor mapped to a user in control.users; \
                nothing was done
                """)
        }
        if login != nil {
            throw PosternError(.forbidden, "only the operator may act as another user (--as)")
        }
        guard let user = try await store.read({ try await $0.user(login: try User.login(mapped)) }) else {
            throw PosternError(.unknownCaller, "uid \(uid) is mapped to \(mapped) in control.users, but no such user exists")
        }
        return .user(Actor.UserRef(id: user.id, login: user.login), via: .socket(uid: uid))
    }
}

/// Linux's `struct ucred`, which Glibc only declares under _GNU_SOURCE.
struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0

    /// The credentials of a unix-socket peer, or nil for any other channel.
    static func of(_ channel: any Channel) async throws -> PeerCredentials? {
        guard case .unixDomainSocket = channel.localAddress, let provider = channel as? SocketOptionProvider else { return nil }
        let credentials: PeerCredentials = try await provider.unsafeGetSocketOption(
            level: .socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED)).get()
        return credentials
    }
}

/// Finds who is asking and puts it on the context; a request with no identity gets 401.
public protocol ControlAuthenticator: Sendable {
    func actor(for request: Request, channel: any Channel) async throws -> Actor
}

/// The control socket's authenticator: the peer's uid, and `X-Postern-As` for the operator.
public struct PeerAuthenticator: ControlAuthenticator {
    let identity: ControlIdentity
    let store: Store

    public init(identity: ControlIdentity, store: Store) {
        self.identity = identity
        self.store = store
    }

    public func actor(for request: Request, channel: any Channel) async throws -> Actor {
        guard let peer = try await PeerCredentials.of(channel) else {
            throw PosternError(.unauthenticated, "this listener takes only the control socket's callers")
        }
        let login = request.headers[HTTPField.Name("X-Postern-As")!]
        let identity = identity, store = store
        return try await identity.actor(uid: peer.uid, as: login, in: store)
    }
}

/// The TCP control listener's authenticator: an API token or a session, `Authorization: Bearer …`.
public struct BearerAuthenticator: ControlAuthenticator {
    let plane: Planes

    public init(plane: Planes) { self.plane = plane }

    public func actor(for request: Request, channel: any Channel) async throws -> Actor {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw PosternError(.unauthenticated, "this listener takes an API token or a session: Authorization: Bearer …")
        }
        let secret = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let ip = channel.remoteAddress?.ipAddress
        let plane = plane
        return try await plane.people.actor(bearer: secret, ip: ip)
    }
}

/// Puts the actor on the context before any route runs; only signing in needs no identity.
struct Authenticate: RouterMiddleware {
    typealias Context = ControlContext
    let authenticator: any ControlAuthenticator

    func handle(_ request: Request, context: ControlContext, next: (Request, ControlContext) async throws -> Response) async throws -> Response {
        var context = context
        if !(request.method == .post && request.uri.path == "/v1/session") {
            context.actor = try await authenticator.actor(for: request, channel: context.channel)
        }
        return try await next(request, context)
    }
}
