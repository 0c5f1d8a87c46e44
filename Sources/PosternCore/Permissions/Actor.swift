/// Who is asking, proven by the listener: the operator (root or posternd's own uid on the control
/// socket), a user (a mapped uid, an API token, a session), or the operator acting as a user.
public enum Actor: Sendable, Equatable {
    case `operator`(uid: UInt32)
    case user(UserRef, via: Credential)
    /// The operator with a user's rights (`postern --as`): the history records both.
    case operatorAs(uid: UInt32, UserRef)
    /// posternd itself (housekeeping, demo data): the operator's rights.
    case system(String)

    public struct UserRef: Sendable, Equatable {
        public let id: Int64
        public let login: String
        public init(id: Int64, login: String) {
            self.id = id
            self.login = login
        }
    }

    /// How a user proved who they are.
    public enum Credential: Sendable, Equatable {
        /// Their uid on the control socket, mapped in `control.users`.
        case socket(uid: UInt32)
        /// An API token, with the client IP it came from.
        case token(id: Int64, name: String, ip: String?)
        /// A session opened with their account password, with the client IP it came from.
        case session(id: Int64, ip: String?)
    }

    /// The user whose rights apply, or nil for the operator's.
    public var user: UserRef? {
        switch self {
        case .operator, .system: nil
        case let .user(user, _), let .operatorAs(_, user): user
        }
    }

    /// For the action history: never a secret, always enough to tell who.
    public var name: String {
        switch self {
        case let .operator(uid): "operator (uid \(uid))"
        case let .user(user, .socket(uid)): "\(user.login) (uid \(uid))"
        case let .user(user, .token(_, name, ip)): "\(user.login) (token \(name)\(ip.map { " from \($0)" } ?? ""))"
        case let .user(user, .session(_, ip)): "\(user.login) (session\(ip.map { " from \($0)" } ?? ""))"
        case let .operatorAs(uid, user): "operator (uid \(uid)) as \(user.login)"
        case let .system(name): name
        }
    }

    /// From where: the control socket and the caller's uid, or the client IP of a token or session.
    public var origin: String? {
        switch self {
        case let .operator(uid), let .operatorAs(uid, _), let .user(_, .socket(uid)): "socket uid \(uid)"
        case let .user(_, .token(_, _, ip)), let .user(_, .session(_, ip)): ip
        case .system: nil
        }
    }

    public var kind: String {
        switch self {
        case .operator: "operator"
        case .user(_, .token): "token"
        case .user: "user"
        case .operatorAs: "operator-as"
        case .system: "system"
        }
    }
}
