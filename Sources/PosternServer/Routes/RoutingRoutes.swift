import Hummingbird
import PosternControl
import PosternCore

/// The routing plane over HTTP: aliases, redirections, and an organization's rule for redirection targets.
enum RoutingRoutes {
    static func collection(_ routing: RoutingPlane) -> RouteCollection<ControlContext> {
        let routes = RouteCollection(context: ControlContext.self)
        routes.on(.get, "/v1/mailboxes/:address/aliases") { call in
            let page = try await routing.aliases(mailbox: try call["address"], page: try call.page, actor: call.actor)
            return AliasList(mailbox: try call["address"], aliases: page.items, next: page.next)
        }
        routes.on(.post, "/v1/mailboxes/:address/aliases", body: AliasInput.self, status: .created) { call, input in
            await AliasBody(alias: try routing.addAlias(mailbox: try call["address"], alias: input.alias, actor: call.actor))
        }
        routes.on(.delete, "/v1/mailboxes/:address/aliases/:alias") { call in
            await AliasBody(alias: try routing.removeAlias(mailbox: try call["address"], alias: try call["alias"], actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/redirection") { call in
            await RedirectionBody(mailbox: try call["address"], redirection: try routing.redirection(mailbox: try call["address"], actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/redirection", body: RedirectionInput.self) { call, input in
            try await routing.setRedirection(mailbox: try call["address"], targets: input.targets, keepCopy: input.keepCopy ?? false, actor: call.actor)
        }
        routes.on(.delete, "/v1/mailboxes/:address/redirection") { call in
            await RedirectionBody(mailbox: try call["address"], redirection: try routing.clearRedirection(mailbox: try call["address"], actor: call.actor))
        }
        routes.on(.get, "/v1/organizations/:organization/redirection-scope") { call in
            await RedirectionScopeBody(organization: try call["organization"],
                                 scope: try routing.redirectionScope(organization: try call["organization"], actor: call.actor))
        }
        routes.on(.put, "/v1/organizations/:organization/redirection-scope", body: RedirectionScopeInput.self) { call, input in
            await RedirectionScopeBody(organization: try call["organization"],
                                 scope: try routing.setRedirectionScope(organization: try call["organization"], input.scope, actor: call.actor))
        }
        return routes
    }
}

extension AliasBody: ResponseEncodable {}
extension AliasList: ResponseEncodable {}
extension RedirectionBody: ResponseEncodable {}
extension RedirectionChange: ResponseEncodable {}
extension RedirectionScopeBody: ResponseEncodable {}
