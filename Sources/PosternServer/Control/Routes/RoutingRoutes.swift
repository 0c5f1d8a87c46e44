import Hummingbird
import PosternCore

/// Aliases, redirections, and an organization's rule for redirection targets.
extension ControlAPI {
    static func addRoutingRoutes(to router: Router<ControlContext>, _ plane: ControlPlane) {
        router.get("/v1/mailboxes/:address/aliases") { _, context in
            let address = try context.parameters.decoded("address")
            return AliasList(mailbox: address, aliases: try await blocking { try plane.aliases(mailbox: address, actor: context.who()) })
        }
        router.post("/v1/mailboxes/:address/aliases") { request, context -> EditedResponse<AliasBody> in
            let address = try context.parameters.decoded("address")
            let input = try await request.decode(as: AliasInput.self, context: context)
            let alias = try await blocking { try plane.addAlias(mailbox: address, alias: input.alias, actor: context.who()) }
            return EditedResponse(status: .created, response: AliasBody(alias: alias))
        }
        router.delete("/v1/mailboxes/:address/aliases/:alias") { _, context in
            let (address, alias) = (try context.parameters.decoded("address"), try context.parameters.decoded("alias"))
            return AliasBody(alias: try await blocking { try plane.removeAlias(mailbox: address, alias: alias, actor: context.who()) })
        }
        router.get("/v1/mailboxes/:address/redirection") { _, context in
            let address = try context.parameters.decoded("address")
            return RedirectionBody(mailbox: address, redirection: try await blocking { try plane.redirection(mailbox: address, actor: context.who()) })
        }
        router.put("/v1/mailboxes/:address/redirection") { request, context in
            let address = try context.parameters.decoded("address")
            let input = try await request.decode(as: RedirectionInput.self, context: context)
            return try await blocking {
                try plane.setRedirection(mailbox: address, targets: input.targets, keepCopy: input.keepCopy ?? false, actor: context.who())
            }
        }
        router.delete("/v1/mailboxes/:address/redirection") { _, context in
            let address = try context.parameters.decoded("address")
            return RedirectionBody(mailbox: address, redirection: try await blocking { try plane.clearRedirection(mailbox: address, actor: context.who()) })
        }
        router.get("/v1/organizations/:organization/redirection-scope") { _, context in
            let org = try context.parameters.decoded("organization")
            return RedirectionScopeBody(organization: org, scope: try await blocking { try plane.redirectionScope(organization: org, actor: context.who()) })
        }
        router.put("/v1/organizations/:organization/redirection-scope") { request, context in
            let org = try context.parameters.decoded("organization")
            let input = try await request.decode(as: RedirectionScopeInput.self, context: context)
            return RedirectionScopeBody(organization: org, scope: try await blocking {
                try plane.setRedirectionScope(organization: org, input.scope, actor: context.who())
            })
        }
    }
}

extension AliasBody: ResponseEncodable {}
extension AliasList: ResponseEncodable {}
extension RedirectionBody: ResponseEncodable {}
extension RedirectionChange: ResponseEncodable {}
extension RedirectionScopeBody: ResponseEncodable {}
