import Hummingbird
import PosternAuth
import PosternControl
import PosternCore

/// The devices plane over HTTP: a mailbox's devices, its generic-password policies and report,
/// its failed logins.
enum DevicesRoutes {
    /// `failedLogins`: the check's failed-login log, written out before a mailbox's failures are read.
    static func collection(_ devices: DevicesPlane, failedLogins: FailedLogins?) -> RouteCollection<ControlContext> {
        let routes = RouteCollection(context: ControlContext.self)
        routes.on(.get, "/v1/mailboxes/:address/devices") { call in try await DeviceList(devices.devices(call["address"], page: call.page, actor: call.actor)) }
        routes.on(.post, "/v1/mailboxes/:address/devices", body: DeviceInput.self, status: .created) { call, input in
            try await devices.addDevice(try call["address"], name: input.name, scope: try ServiceScope(names: input.scopes ?? []), expiresAt: input.expiresAt,
                                  actor: call.actor)
        }
        routes.on(.post, "/v1/mailboxes/:address/devices/:device/rotate") { call in
            try await devices.rotateDevice(try call["address"], device: try call["device"], actor: call.actor)
        }
        routes.on(.put, "/v1/mailboxes/:address/devices/:device/scopes", body: ScopeInput.self) { call, input in
            try await DeviceBody(device: devices.setScope(call["address"], device: call["device"], scope: ServiceScope(names: input.scopes ?? []),
                                                    actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/devices/:device/expiry", body: ExpiryInput.self) { call, input in
            try await DeviceBody(device: devices.setExpiry(call["address"], device: call["device"], expiresAt: input.expiresAt, actor: call.actor))
        }
        routes.on(.delete, "/v1/mailboxes/:address/devices/:device") { call in
            try await Disconnected(disconnected: [devices.disconnectDevice(call["address"], device: call["device"], actor: call.actor)])
        }
        routes.on(.post, "/v1/mailboxes/:address/disconnect-all", optionalBody: ConfirmInput.self) { call, input in
            try await Disconnected(disconnected: devices.disconnectAll(call["address"], confirmed: input?.confirm == true, actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/failures") { call in
            try await FailedLoginList(failures: devices.failedLogins(call["address"], log: failedLogins, actor: call.actor))
        }
        routes.on(.get, "/v1/policies/generic/:level/:name") { call in
            try await devices.genericPolicy(try policyLevel(call), try call["name"], actor: call.actor)
        }
        routes.on(.put, "/v1/policies/generic/:level/:name", body: GenericPolicyInput.self) { call, input in
            let policy = GenericPolicy(refused: try GenericPolicy.services(input.refuse), from: input.from)
            return try await devices.setGenericPolicy(try policyLevel(call), try call["name"], policy, actor: call.actor)
        }
        routes.on(.delete, "/v1/policies/generic/:level/:name") { call in
            try await devices.setGenericPolicy(try policyLevel(call), try call["name"], nil, actor: call.actor)
        }
        routes.on(.get, "/v1/reports/generic") { call in try await devices.genericReport(actor: call.actor) }
        return routes
    }

    static func policyLevel(_ call: APICall) throws -> PolicyLevel {
        let raw = try call["level"]
        guard let level = PolicyLevel(rawValue: raw) else {
            throw PosternError(.unknownLevel, "a policy is set on an organization, a service or a mailbox, not \"\(raw.prefix(32))\"")
        }
        return level
    }
}

extension DeviceList: ResponseEncodable {}
extension DeviceBody: ResponseEncodable {}
extension Disconnected: ResponseEncodable {}
extension NewSecret: ResponseEncodable {}
extension GenericPolicyBody: ResponseEncodable {}
extension GenericReport: ResponseEncodable {}
extension FailedLoginList: ResponseEncodable {}
