/// Credentials a client has finished sending; the caller checks them and calls `finish(id:)`.
public struct AuthAttempt: Equatable, Sendable {
    public var id: UInt32
    public var login: String
    public var password: [UInt8]
    public var service: String
    public var remoteIP: String?
    public var localIP: String?
    public var secured: Bool
    /// PLAIN or LOGIN.
    public var mechanism: String

    public init(id: UInt32, login: String, password: [UInt8], service: String, remoteIP: String?, localIP: String?, secured: Bool,
                mechanism: String = "PLAIN") {
        self.id = id
        self.login = login
        self.password = password
        self.service = service
        self.remoteIP = remoteIP
        self.localIP = localIP
        self.secured = secured
        self.mechanism = mechanism
    }
}

/// The server side of one Dovecot auth connection as a pure state machine: it takes decoded lines and
/// returns what to do. The channel handler only performs the actions; tests need no socket.
public struct AuthServerConnection: Sendable {
    public enum Action: Equatable, Sendable {
        case none
        case reply(AuthServerReply)
        case check(AuthAttempt)
        case close(AuthProtocolError)
    }

    public static let mechanisms = ["PLAIN", "LOGIN"]
    /// Requests one connection may have in flight; a client past it is closed.
    public static let maxPending = 256
    static let usernameChallenge = Array("Username:".utf8)
    static let passwordChallenge = Array("Password:".utf8)

    private enum Pending: Sendable {
        case plainAwaitingResponse(AuthRequest)
        case loginAwaitingUser(AuthRequest)
        case loginAwaitingPassword(AuthRequest, user: [UInt8])
        case checking
    }

    private var sawVersion = false
    private var sawCPID = false
    private var pending: [UInt32: Pending] = [:]

    public init() {}

    /// Handles one line, without its LF.
    public mutating func receive(line: ArraySlice<UInt8>) -> Action {
        let message: AuthClientMessage
        do { message = try AuthClientMessage.decode(line) } catch { return .close(error) }
        switch message {
        case let .version(major, _):
            guard major == 1 else { return .close(.unsupportedVersion(major)) }
            sawVersion = true
            return .none
        case .cpid:
            guard sawVersion else { return .close(.malformed("CPID before VERSION")) }
            sawCPID = true
            return .none
        case .unknown:
            return .none
        case let .auth(request):
            guard sawVersion, sawCPID else { return .close(.malformed("AUTH before VERSION and CPID")) }
            guard pending[request.id] == nil else { return .close(.badID("\(request.id) is already in use")) }
            guard pending.count < Self.maxPending else { return .close(.malformed("more than \(Self.maxPending) requests in flight")) }
            return start(request)
        case let .cont(id, response):
            guard let state = pending[id] else {
                return .reply(.fail(id: id, user: nil, code: nil, reason: "Unexpected continuation"))
            }
            return proceed(id: id, state: state, response: response)
        case let .cancel(id):
            pending[id] = nil
            return .none
        }
    }

    /// Marks a checked request as answered; false when the client cancelled it meanwhile (send nothing then).
    /// True when no request is in flight (none being checked, none waiting for a continuation).
    public var isIdle: Bool { pending.isEmpty }

    public mutating func finish(id: UInt32) -> Bool {
        guard case .checking = pending[id] else { return false }
        pending[id] = nil
        return true
    }

    private mutating func start(_ request: AuthRequest) -> Action {
        switch request.mechanism {
        case "PLAIN":
            guard let response = request.initialResponse else {
                pending[request.id] = .plainAwaitingResponse(request)
                return .reply(.cont(id: request.id, challenge: []))
            }
            return plain(request, base64: response, initial: true)
        case "LOGIN":
            guard let response = request.initialResponse else {
                pending[request.id] = .loginAwaitingUser(request)
                return .reply(.cont(id: request.id, challenge: Self.usernameChallenge))
            }
            return loginUser(request, base64: response, initial: true)
        default:
            return .close(.malformed("unsupported mechanism \(request.mechanism.prefix(32))"))
        }
    }

    private mutating func proceed(id: UInt32, state: Pending, response: [UInt8]) -> Action {
        switch state {
        case let .plainAwaitingResponse(request):
            return plain(request, base64: response, initial: false)
        case let .loginAwaitingUser(request):
            return loginUser(request, base64: response, initial: false)
        case let .loginAwaitingPassword(request, user):
            guard let password = Base64.decode(response) else { return invalidBase64(request.id, initial: false) }
            return attempt(request, login: user, password: password)
        case .checking:
            pending[id] = nil
            return .reply(.fail(id: id, user: nil, code: nil, reason: "Unexpected continuation"))
        }
    }

    private mutating func plain(_ request: AuthRequest, base64: [UInt8], initial: Bool) -> Action {
        guard let decoded = Base64.decode(base64) else { return invalidBase64(request.id, initial: initial) }
        // authzid NUL authcid NUL password
        guard let nul1 = decoded.firstIndex(of: 0), let nul2 = decoded[(nul1 + 1)...].firstIndex(of: 0),
              nul2 > nul1 + 1, !decoded[(nul2 + 1)...].contains(0) else {
            pending[request.id] = nil
            return .reply(.fail(id: request.id, user: nil, code: nil, reason: nil))
        }
        let authzid = decoded[..<nul1], authcid = decoded[(nul1 + 1)..<nul2]
        guard authzid.isEmpty || authzid == authcid else {
            // A master-user login (authorize as someone else): Postern has no master users.
            pending[request.id] = nil
            return .reply(.fail(id: request.id, user: String(decoding: authcid, as: UTF8.self), code: nil, reason: nil))
        }
        return attempt(request, login: authcid, password: Array(decoded[(nul2 + 1)...]))
    }

    private mutating func loginUser(_ request: AuthRequest, base64: [UInt8], initial: Bool) -> Action {
        guard let user = Base64.decode(base64) else { return invalidBase64(request.id, initial: initial) }
        guard !user.isEmpty, !user.contains(0) else {
            pending[request.id] = nil
            return .reply(.fail(id: request.id, user: nil, code: nil, reason: nil))
        }
        pending[request.id] = .loginAwaitingPassword(request, user: user)
        return .reply(.cont(id: request.id, challenge: Self.passwordChallenge))
    }

    private mutating func attempt(_ request: AuthRequest, login: some Collection<UInt8>, password: [UInt8]) -> Action {
        guard let login = String(validating: login, as: UTF8.self) else {
            pending[request.id] = nil
            return .reply(.fail(id: request.id, user: nil, code: nil, reason: nil))
        }
        pending[request.id] = .checking
        return .check(AuthAttempt(id: request.id, login: login, password: password, service: request.service,
                                  remoteIP: request.remoteIP, localIP: request.localIP, secured: request.secured,
                                  mechanism: request.mechanism))
    }

    private mutating func invalidBase64(_ id: UInt32, initial: Bool) -> Action {
        pending[id] = nil
        let reason = initial ? "Invalid base64 data in initial response" : "Invalid base64 data in continued response"
        return .reply(.fail(id: id, user: nil, code: .invalidBase64, reason: reason))
    }
}
