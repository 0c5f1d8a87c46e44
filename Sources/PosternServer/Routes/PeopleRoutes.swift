import Hummingbird
import PosternAuth
import PosternControl
import PosternCore

/// The people plane over HTTP: users, members and roles, mailbox access, mail services given to
/// collaborators, default permissions, API tokens and sessions.
enum PeopleRoutes {
    static func collection(_ people: PeoplePlane, signIns: any Lockout) -> RouteCollection<ControlContext> {
        let routes = RouteCollection(context: ControlContext.self)
        routes.on(.get, "/v1/users") { call in try await UserList(people.users(page: call.page, actor: call.actor)) }
        routes.on(.post, "/v1/users", body: UserInput.self, status: .created) { call, input in
            try await UserBody(user: people.addUser(login: input.login, displayName: input.displayName ?? "", password: input.password, actor: call.actor))
        }
        routes.on(.put, "/v1/users/:login/password", body: PasswordInput.self) { call, input in
            try await UserBody(user: people.setPassword(login: call["login"], password: input.password, current: input.current, actor: call.actor))
        }

        routes.on(.get, "/v1/organizations/:organization/members") { call in
            try await MemberList(people.members(organization: call["organization"], page: call.page, actor: call.actor))
        }
        routes.on(.put, "/v1/organizations/:organization/members/:login", body: MemberInput.self) { call, input in
            try await people.setMember(organization: try call["organization"], login: try call["login"], role: try Role(parsing: input.role),
                                 displayName: input.displayName, password: input.password, actor: call.actor)
        }
        routes.on(.get, "/v1/organizations/:organization/members/:login/removal") { call in
            try await people.memberRemovalPreview(organization: try call["organization"], login: try call["login"], actor: call.actor)
        }
        routes.on(.delete, "/v1/organizations/:organization/members/:login", optionalBody: RemovalInput.self) { call, input in
            try await people.removeMember(organization: try call["organization"], login: try call["login"], confirm: input?.confirm, password: input?.password,
                                    actor: call.actor)
        }

        routes.on(.get, "/v1/mailboxes/:address/access") { call in try await AccessList(people.access(mailbox: call["address"], page: call.page, actor: call.actor)) }
        routes.on(.put, "/v1/mailboxes/:address/access/:login", body: AccessInput.self) { call, input in
            try await people.setAccess(mailbox: try call["address"], login: try call["login"], permissions: input.permissions, password: input.password,
                                 actor: call.actor)
        }
        routes.on(.delete, "/v1/mailboxes/:address/access/:login", optionalBody: RemovalInput.self) { call, input in
            try await people.revokeAccess(mailbox: try call["address"], login: try call["login"], password: input?.password, actor: call.actor)
        }

        routes.on(.get, "/v1/services/:service/grants") { call in try await people.serviceGrants(service: try call["service"], actor: call.actor) }
        routes.on(.put, "/v1/services/:service/grants/:login") { call in
            try await people.grantService(try call["service"], login: try call["login"], actor: call.actor)
        }
        routes.on(.delete, "/v1/services/:service/grants/:login") { call in
            try await people.revokeService(try call["service"], login: try call["login"], actor: call.actor)
        }
        routes.on(.get, "/v1/services/:service/defaults") { call in try await people.defaults(service: try call["service"], actor: call.actor) }
        routes.on(.put, "/v1/services/:service/defaults", body: DefaultsInput.self) { call, input in
            try await people.setDefaults(service: try call["service"], permissions: input.permissions, actor: call.actor)
        }
        routes.on(.post, "/v1/services/:service/defaults/apply", body: ApplyDefaultsInput.self) { call, input in
            try await AccessChanges(changed: people.applyDefaults(service: call["service"], mailboxes: input.mailboxes, login: input.login,
                                                            password: input.password, actor: call.actor))
        }

        routes.on(.post, "/v1/tokens", body: TokenInput.self, status: .created) { call, input in
            try await people.createToken(name: input.name, days: input.days, login: input.login, actor: call.actor)
        }
        routes.on(.get, "/v1/tokens") { call in try await TokenList(people.tokens(login: call.query["login"], page: call.page, actor: call.actor)) }
        routes.on(.delete, "/v1/tokens/:id") { call in
            guard let id = Int64(try call["id"]) else { throw PosternError(.invalidId, "a token is named by its number (`postern token list`)") }
            return try await TokenBody(token: people.revokeToken(id: id, actor: call.actor))
        }
        // Signing in needs no identity: the one route the authenticator lets through.
        routes.post("/v1/session") { request, context -> EditedResponse<NewToken> in
            let input = try await request.decode(as: SignInInput.self, context: context)
            let session = try await people.signIn(login: input.login, password: input.password, ip: context.channel.remoteAddress?.ipAddress,
                                                  throttle: signIns)
            return EditedResponse(status: .created, response: session)
        }
        routes.on(.delete, "/v1/session") { call in try await TokenBody(token: people.signOut(actor: call.actor)) }
        return routes
    }
}

extension NewToken: ResponseEncodable {}
extension TokenList: ResponseEncodable {}
extension TokenBody: ResponseEncodable {}
extension UserList: ResponseEncodable {}
extension UserBody: ResponseEncodable {}
extension MemberList: ResponseEncodable {}
extension MemberChange: ResponseEncodable {}
extension MemberRemoval: ResponseEncodable {}
extension AccessList: ResponseEncodable {}
extension AccessChange: ResponseEncodable {}
extension AccessChanges: ResponseEncodable {}
extension ServiceDefaults: ResponseEncodable {}
extension ServiceGrants: ResponseEncodable {}
