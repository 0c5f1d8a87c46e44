import Hummingbird
import PosternAuth
import PosternCore

/// Users, members and roles, mailbox access, and the default permissions of mail services.
extension ControlAPI {
    static func addTokenRoutes(to router: Router<ControlContext>, _ plane: ControlPlane, signIns: Throttle) {
        router.post("/v1/tokens") { request, context -> EditedResponse<NewToken> in
            let input = try await request.decode(as: TokenInput.self, context: context)
            let made = try await blocking { try plane.createToken(name: input.name, days: input.days, login: input.login, actor: context.who()) }
            return EditedResponse(status: .created, response: made)
        }
        router.get("/v1/tokens") { request, context in
            let login = request.uri.queryParameters.get("login")
            return TokenList(tokens: try await blocking { try plane.tokens(login: login, actor: context.who()) })
        }
        router.delete("/v1/tokens/:id") { _, context in
            guard let id = Int64(try context.parameters.decoded("id")) else {
                throw PosternError(.invalid, code: "invalid_id", "a token is named by its number (`postern token list`)")
            }
            return TokenBody(token: try await blocking { try plane.revokeToken(id: id, actor: context.who()) })
        }
        router.post("/v1/session") { request, context -> EditedResponse<NewToken> in
            let input = try await request.decode(as: SignInInput.self, context: context)
            let session = try await plane.signIn(login: input.login, password: input.password,
                                                 ip: context.channel.remoteAddress?.ipAddress, throttle: signIns)
            return EditedResponse(status: .created, response: session)
        }
        router.delete("/v1/session") { _, context in
            TokenBody(token: try await blocking { try plane.signOut(actor: context.who()) })
        }
    }

    static func addPeopleRoutes(to router: Router<ControlContext>, _ plane: ControlPlane) {
        router.get("/v1/users") { _, context in UserList(users: try await blocking { try plane.users(actor: context.who()) }) }
        router.post("/v1/users") { request, context -> EditedResponse<UserBody> in
            let input = try await request.decode(as: UserInput.self, context: context)
            let user = try await blocking {
                try plane.addUser(login: input.login, displayName: input.displayName ?? "", password: input.password, actor: context.who())
            }
            return EditedResponse(status: .created, response: UserBody(user: user))
        }
        router.put("/v1/users/:login/password") { request, context in
            let login = try context.parameters.decoded("login")
            let input = try await request.decode(as: PasswordInput.self, context: context)
            return UserBody(user: try await blocking {
                try plane.setPassword(login: login, password: input.password, current: input.current, actor: context.who())
            })
        }

        router.get("/v1/organizations/:organization/members") { _, context in
            let org = try context.parameters.decoded("organization")
            return MemberList(members: try await blocking { try plane.members(organization: org, actor: context.who()) })
        }
        router.put("/v1/organizations/:organization/members/:login") { request, context in
            let (org, login) = (try context.parameters.decoded("organization"), try context.parameters.decoded("login"))
            let input = try await request.decode(as: MemberInput.self, context: context)
            let role = try Role(parsing: input.role)
            return try await blocking {
                try plane.setMember(organization: org, login: login, role: role, displayName: input.displayName, password: input.password,
                                    actor: context.who())
            }
        }
        router.get("/v1/organizations/:organization/members/:login/removal") { _, context in
            let (org, login) = (try context.parameters.decoded("organization"), try context.parameters.decoded("login"))
            return try await blocking { try plane.memberRemovalPreview(organization: org, login: login, actor: context.who()) }
        }
        router.delete("/v1/organizations/:organization/members/:login") { request, context in
            let (org, login) = (try context.parameters.decoded("organization"), try context.parameters.decoded("login"))
            let input = try? await request.decode(as: RemovalInput.self, context: context)
            return try await blocking {
                try plane.removeMember(organization: org, login: login, confirm: input?.confirm, password: input?.password, actor: context.who())
            }
        }

        router.get("/v1/mailboxes/:address/access") { _, context in
            let address = try context.parameters.decoded("address")
            return AccessList(access: try await blocking { try plane.access(mailbox: address, actor: context.who()) })
        }
        router.put("/v1/mailboxes/:address/access/:login") { request, context in
            let (address, login) = (try context.parameters.decoded("address"), try context.parameters.decoded("login"))
            let input = try await request.decode(as: AccessInput.self, context: context)
            return try await blocking {
                try plane.setAccess(mailbox: address, login: login, permissions: input.permissions, password: input.password, actor: context.who())
            }
        }
        router.delete("/v1/mailboxes/:address/access/:login") { request, context in
            let (address, login) = (try context.parameters.decoded("address"), try context.parameters.decoded("login"))
            let input = try? await request.decode(as: RemovalInput.self, context: context)
            return try await blocking { try plane.revokeAccess(mailbox: address, login: login, password: input?.password, actor: context.who()) }
        }

        router.get("/v1/services/:service/grants") { _, context in
            let service = try context.parameters.decoded("service")
            return try await blocking { try plane.serviceGrants(service: service, actor: context.who()) }
        }
        router.put("/v1/services/:service/grants/:login") { _, context in
            let (service, login) = (try context.parameters.decoded("service"), try context.parameters.decoded("login"))
            return try await blocking { try plane.grantService(service, login: login, actor: context.who()) }
        }
        router.delete("/v1/services/:service/grants/:login") { _, context in
            let (service, login) = (try context.parameters.decoded("service"), try context.parameters.decoded("login"))
            return try await blocking { try plane.revokeService(service, login: login, actor: context.who()) }
        }

        router.get("/v1/services/:service/defaults") { _, context in
            let service = try context.parameters.decoded("service")
            return try await blocking { try plane.defaults(service: service, actor: context.who()) }
        }
        router.put("/v1/services/:service/defaults") { request, context in
            let service = try context.parameters.decoded("service")
            let input = try await request.decode(as: DefaultsInput.self, context: context)
            return try await blocking { try plane.setDefaults(service: service, permissions: input.permissions, actor: context.who()) }
        }
        router.post("/v1/services/:service/defaults/apply") { request, context in
            let service = try context.parameters.decoded("service")
            let input = try await request.decode(as: ApplyDefaultsInput.self, context: context)
            return AccessChanges(changed: try await blocking {
                try plane.applyDefaults(service: service, mailboxes: input.mailboxes, login: input.login, password: input.password,
                                        actor: context.who())
            })
        }
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
