import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
import PosternAuth
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
        guard let actor else { throw PosternError(.unauthenticated, code: "unauthenticated", "no identity; nothing was done") }
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
    public static func router(_ plane: ControlPlane, metrics: PrometheusCollectorRegistry? = nil,
                              failedLogins: FailedLogins? = nil, serverKeyPath: String? = nil,
                              imports: ImportGate = ImportGate(), authenticator: any ControlAuthenticator,
                              signIns: Throttle = Throttle()) -> Router<ControlContext> {
        let router = Router(context: ControlContext.self)
        router.add(middleware: ErrorEnvelope())  // before the routes: it wraps only routes added after it
        router.add(middleware: Authenticate(authenticator: authenticator))  // every route has an actor, or 401

        router.get("/metrics") { _, context in
            try context.who().requireOperator("read the metrics")
            if plane.store.kind == .postgres { plane.feed.recordGauges() }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics?.emitToBuffer() ?? [])))
        }

        router.get("/v1/health") { _, context in
            let count = plane.index.count
            let feed = plane.store.kind == .postgres ? plane.feed.status : nil
            // A node behind the others refuses logins (temp_fail): the first thing to say.
            if let feed, feed.stale {
                throw PosternError(.unavailable, code: "node_stale", feed.problem ?? "node \(feed.node) has not been in step with the database for "
                    + "\(Int(feed.lagSeconds)) s (change \(feed.lastApplied) applied): logins get a temporary failure until it catches up; check that PostgreSQL is reachable")
            }
            // Checks go on from memory; what fails is every change: say so, with a 503.
            if let failure = plane.store.writeFailure {
                throw PosternError(.unavailable, code: "store_unavailable", "the last write to the database failed (\(failure)); logins go on, changes fail")
            }
            return Health(status: "ok", devicePasswords: count.devices, genericPasswords: count.generic, feed: feed)
        }

        router.get("/v1/organizations") { _, context in OrganizationList(organizations: try await blocking { try plane.organizations(actor: context.who()) }) }
        router.post("/v1/organizations") { request, context -> EditedResponse<OrganizationBody> in
            let input = try await request.decode(as: NameInput.self, context: context)
            let org = try await blocking { try plane.addOrganization(input.name, actor: context.who()) }
            return EditedResponse(status: .created, response: OrganizationBody(organization: org))
        }
        router.delete("/v1/organizations/:organization") { request, context in
            let name = try context.parameters.decoded("organization")
            return OrganizationRemoved(removed: try await blocking { try plane.removeOrganization(name, actor: context.who()) })
        }

        router.get("/v1/services") { _, context in ServiceList(services: try await blocking { try plane.mailServices(actor: context.who()) }) }
        router.post("/v1/services") { request, context -> EditedResponse<ServiceBody> in
            let input = try await request.decode(as: ServiceInput.self, context: context)
            let service = try await blocking {
                try plane.addMailService(name: input.name, organization: input.organization, domains: input.domains, actor: context.who())
            }
            return EditedResponse(status: .created, response: ServiceBody(service: service))
        }
        router.delete("/v1/services/:service") { request, context in
            let name = try context.parameters.decoded("service")
            return ServiceRemoved(removed: try await blocking { try plane.removeMailService(name, actor: context.who()) })
        }

        router.get("/v1/mailboxes") { request, context in
            let domain = request.uri.queryParameters.get("domain")
            return MailboxList(mailboxes: try await blocking { try plane.mailboxes(domain: domain, actor: context.who()) })
        }
        router.post("/v1/mailboxes") { request, context -> EditedResponse<MailboxBody> in
            let input = try await request.decode(as: AddressInput.self, context: context)
            let box = try await blocking { try plane.addMailbox(input.address, actor: context.who()) }
            return EditedResponse(status: .created, response: MailboxBody(mailbox: box))
        }
        router.get("/v1/mailboxes/:address") { _, context in
            let address = try context.parameters.decoded("address")
            return MailboxBody(mailbox: try await blocking { try plane.mailbox(address, actor: context.who()) })
        }
        router.delete("/v1/mailboxes/:address") { request, context in
            let address = try context.parameters.decoded("address")
            return MailboxRemoved(try await blocking { try plane.removeMailbox(address, actor: context.who()) })
        }
        router.get("/v1/mailboxes/:address/removal") { _, context in
            let address = try context.parameters.decoded("address")
            return try await blocking { try plane.mailboxRemoval(address, actor: context.who()) }
        }
        router.get("/v1/mailboxes/:address/history") { request, context in
            let address = try context.parameters.decoded("address")
            let (limit, since, until, kind) = try historyFilter(request)
            return HistoryList(history: try await blocking {
                try plane.history(address, limit: limit, since: since, until: until, kind: kind, actor: context.who())
            })
        }
        router.get("/v1/organizations/:organization/history") { request, context in
            let organization = try context.parameters.decoded("organization")
            let (limit, since, until, kind) = try historyFilter(request)
            return HistoryList(history: try await blocking {
                try plane.organizationHistory(organization, limit: limit, since: since, until: until, kind: kind, actor: context.who())
            })
        }

        router.get("/v1/mailboxes/:address/failures") { _, context in
            let address = try context.parameters.decoded("address")
            return FailedLoginList(failures: try await blocking { try plane.failedLogins(address, log: failedLogins, actor: context.who()) })
        }

        router.get("/v1/mailboxes/:address/devices") { _, context in
            let address = try context.parameters.decoded("address")
            return DeviceList(devices: try await blocking { try plane.devices(address, actor: context.who()) })
        }
        router.post("/v1/mailboxes/:address/devices") { request, context -> EditedResponse<NewSecret> in
            let address = try context.parameters.decoded("address")
            let input = try await request.decode(as: DeviceInput.self, context: context)
            let scope = try ServiceScope(names: input.scopes ?? [])
            let secret = try await blocking {
                try plane.addDevice(address, name: input.name, scope: scope, expiresAt: input.expiresAt, actor: context.who())
            }
            return EditedResponse(status: .created, response: secret)
        }
        router.post("/v1/mailboxes/:address/devices/:device/rotate") { request, context in
            let address = try context.parameters.decoded("address")
            let device = try context.parameters.decoded("device")
            return try await blocking { try plane.rotateDevice(address, device: device, actor: context.who()) }
        }
        router.put("/v1/mailboxes/:address/devices/:device/scopes") { request, context in
            let address = try context.parameters.decoded("address")
            let device = try context.parameters.decoded("device")
            let input = try await request.decode(as: ScopeInput.self, context: context)
            let scope = try ServiceScope(names: input.scopes ?? [])
            return DeviceBody(device: try await blocking { try plane.setScope(address, device: device, scope: scope, actor: context.who()) })
        }
        router.put("/v1/mailboxes/:address/devices/:device/expiry") { request, context in
            let address = try context.parameters.decoded("address")
            let device = try context.parameters.decoded("device")
            let input = try await request.decode(as: ExpiryInput.self, context: context)
            return DeviceBody(device: try await blocking {
                try plane.setExpiry(address, device: device, expiresAt: input.expiresAt, actor: context.who())
            })
        }
        router.delete("/v1/mailboxes/:address/devices/:device") { request, context in
            let address = try context.parameters.decoded("address")
            let device = try context.parameters.decoded("device")
            return Disconnected(disconnected: [try await blocking { try plane.disconnectDevice(address, device: device, actor: context.who()) }])
        }
        router.post("/v1/mailboxes/:address/disconnect-all") { request, context in
            let address = try context.parameters.decoded("address")
            let input = try? await request.decode(as: ConfirmInput.self, context: context)
            return Disconnected(disconnected: try await blocking {
                try plane.disconnectAll(address, confirmed: input?.confirm == true, actor: context.who())
            })
        }

        router.get("/v1/policies/generic/:level/:name") { _, context in
            let (level, name) = try policyTarget(context)
            return try await blocking { try plane.genericPolicy(level, name, actor: context.who()) }
        }
        router.put("/v1/policies/generic/:level/:name") { request, context in
            let (level, name) = try policyTarget(context)
            let input = try await request.decode(as: GenericPolicyInput.self, context: context)
            let policy = GenericPolicy(refused: try GenericPolicy.services(input.refuse), from: input.from)
            return try await blocking { try plane.setGenericPolicy(level, name, policy, actor: context.who()) }
        }
        router.delete("/v1/policies/generic/:level/:name") { request, context in
            let (level, name) = try policyTarget(context)
            return try await blocking { try plane.setGenericPolicy(level, name, nil, actor: context.who()) }
        }
        router.get("/v1/reports/generic") { _, context in try await blocking { try plane.genericReport(actor: context.who()) } }

        router.post("/v1/backup") { request, context in
            let input = try await request.decode(as: BackupInput.self, context: context)
            guard let serverKeyPath else {
                throw PosternError(.unavailable, code: "no_backup", "this control API has no server key to back up")
            }
            return try await blocking { try plane.backup(to: input.directory, serverKeyPath: serverKeyPath, actor: context.who()) }
        }

        addPeopleRoutes(to: router, plane)
        addRoutingRoutes(to: router, plane)
        addMailSettingsRoutes(to: router, plane)
        addTokenRoutes(to: router, plane, signIns: signIns)

        router.post("/v1/import/passwd-file") { request, context -> Response in
            let actor = try context.who()
            // The file is read as it arrives; `Accept: application/x-ndjson` also gets progress lines.
            guard request.headers[.accept]?.contains("application/x-ndjson") == true else {
                return try await plane.importPasswdFile(streaming: request.body, actor: actor, gate: imports)
                    .response(from: request, context: context)
            }
            let ticket = try imports.begin()  // refused before the 200 is sent
            imports.end(ticket)
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
                func send(_ event: ImportEvent) async throws {
                    var line = try ControlAPI.encoder.encodeAsByteBuffer(event, allocator: ByteBufferAllocator())
                    line.writeString("\n")
                    try await writer.write(line)
                }
                do {
                    let report = try await plane.importPasswdFile(streaming: request.body, actor: actor, gate: imports) {
                        try await send(ImportEvent(progress: $0))
                    }
                    try await send(ImportEvent(report: report))
                } catch let error as PosternError {
                    try await send(ImportEvent(error: .init(code: error.code, message: error.message)))
                } catch let error as HTTPParserError {
                    try await send(ImportEvent(error: .init(code: "bad_request", message: "the request could not be read as HTTP (\(error)); lines after the last batch written were not imported")))
                }
                try await writer.finish(nil)
            })
        }
        return router
    }

    /// `?limit=&since=&until=&kind=`: dates as ISO 8601 or a day (2026-12-01, from midnight UTC).
    static func historyFilter(_ request: Request) throws -> (limit: Int, since: Date?, until: Date?, kind: String?) {
        let query = request.uri.queryParameters
        func date(_ name: String) throws -> Date? {
            guard let text = query.get(name) else { return nil }
            if let date = try? Date(text, strategy: .iso8601) { return date }
            if let day = try? Date(text + "T00:00:00Z", strategy: .iso8601) { return day }
            throw PosternError(.invalid, code: "invalid_date", "\(name) must be a date such as 2026-12-01 or 2026-12-01T18:00:00Z")
        }
        let kind = query.get("kind").flatMap { $0.isEmpty ? nil : String($0.prefix(64)) }
        return (query.get("limit", as: Int.self) ?? 100, try date("since"), try date("until"), kind)
    }

    static func policyTarget(_ context: ControlContext) throws -> (PolicyLevel, String) {
        let raw = try context.parameters.decoded("level")
        guard let level = PolicyLevel(rawValue: raw) else {
            throw PosternError(.invalid, code: "unknown_level", "a policy is set on an organization, a service or a mailbox, not \"\(raw.prefix(32))\"")
        }
        return (level, try context.parameters.decoded("name"))
    }

    /// Store work blocks on fsync: keep it off the cooperative pool.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}

extension Parameters {
    /// A path parameter with its percent-encoding removed (addresses and device names arrive encoded).
    func decoded(_ name: String) throws -> String {
        let raw = try require(name)
        return raw.removingPercentEncoding ?? raw
    }
}

extension Health: ResponseEncodable {}
extension OrganizationList: ResponseEncodable {}
extension MailboxRemoval: ResponseEncodable {}
extension OrganizationBody: ResponseEncodable {}
extension OrganizationRemoved: ResponseEncodable {}
extension ServiceList: ResponseEncodable {}
extension ServiceBody: ResponseEncodable {}
extension ServiceRemoved: ResponseEncodable {}
extension MailboxList: ResponseEncodable {}
extension MailboxBody: ResponseEncodable {}
extension MailboxRemoved: ResponseEncodable {}
extension HistoryList: ResponseEncodable {}
extension DeviceList: ResponseEncodable {}
extension DeviceBody: ResponseEncodable {}
extension Disconnected: ResponseEncodable {}
extension NewSecret: ResponseEncodable {}
extension ImportReport: ResponseEncodable {}
extension GenericPolicyBody: ResponseEncodable {}
extension GenericReport: ResponseEncodable {}
extension FailedLoginList: ResponseEncodable {}
extension BackupManifest: ResponseEncodable {}
