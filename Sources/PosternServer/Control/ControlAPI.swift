import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
import PosternAuth
import PosternControl
import PosternCore
import Prometheus

/// The request context of the control API. JSON bodies are small; a passwd-file import streams,
/// with no limit on its size.
public struct ControlContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection, for its peer's credentials.
    public let channel: any Channel
    /// Who is asking, set by `Authenticate` before any route runs.
    public var actor: Actor?
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The authenticated actor; every route past `Authenticate` has one.
    public func who() throws -> Actor {
        guard let actor else { throw PosternError(.unauthenticated, "no identity; nothing was done") }
        return actor
    }
    public static let maxJSONBytes = 1 << 20
    public var maxUploadSize: Int { Self.maxJSONBytes }
    public var responseEncoder: JSONEncoder { ControlAPI.encoder }
    public var requestDecoder: JSONDecoder { ControlAPI.decoder }
}

/// The control API: HTTP/JSON over a unix socket. Described in `openapi.yaml` (a test keeps the two equal).
public enum ControlAPI {
    /// Routes whose body is read as it arrives, with no size limit (ControlContext.maxJSONBytes
    /// is for the others).
    static let streamedPaths = ["/v1/import/passwd-file"]
    /// Dates as ISO 8601, keys sorted: the same JSON the CLI prints with --json.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// `failedLogins`: the check's failed-login log, written out before a mailbox's failures are read.
    public static func router(_ plane: Planes, metrics: PrometheusCollectorRegistry? = nil,
                              failedLogins: FailedLogins? = nil, serverKeyPath: String? = nil,
                              imports: ImportGate = ImportGate(), authenticator: any ControlAuthenticator,
                              signIns: any Lockout = Throttle()) -> Router<ControlContext> {
        let router = Router(context: ControlContext.self)
        router.add(middleware: ErrorEnvelope())  // before the routes: it wraps only routes added after it
        router.add(middleware: Authenticate(authenticator: authenticator))  // every route has an actor, or 401

        router.addRoutes(NodeRoutes.collection(plane, metrics: metrics))
        router.addRoutes(DirectoryRoutes.collection(plane.directory))
        router.addRoutes(DevicesRoutes.collection(plane.devices, failedLogins: failedLogins))
        router.addRoutes(PeopleRoutes.collection(plane.people, signIns: signIns))
        router.addRoutes(RoutingRoutes.collection(plane.routing))
        router.addRoutes(MailSettingsRoutes.collection(plane.mailSettings))
        router.addRoutes(ImportRoutes.collection(plane.imports, gate: imports))
        router.addRoutes(BackupRoutes.collection(plane.backups, serverKeyPath: serverKeyPath))
        return router
    }
}

extension Parameters {
    /// A path parameter with its percent-encoding removed (addresses and device names arrive encoded).
    func decoded(_ name: String) throws -> String {
        let raw = try require(name)
        return raw.removingPercentEncoding ?? raw
    }
}
