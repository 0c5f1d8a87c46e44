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
            try await AliasBody(alias: routing.addAlias(mailbox: call["address"], alias: input.alias, actor: call.actor))
        }
        routes.on(.delete, "/v1/mailboxes/:address/aliases/:alias") { call in
            try await AliasBody(alias: routing.removeAlias(mailbox: call["address"], alias: call["alias"], actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/redirection") { call in
            try await RedirectionBody(mailbox: call["address"], redirection: routing.redirection(mailbox: call["address"], actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/redirection", body: RedirectionInput.self) { call, input in
            try await routing.setRedirection(mailbox: try call["address"], targets: input.targets, keepCopy: input.keepCopy ?? false, actor: call.actor)
        }
        routes.on(.delete, "/v1/mailboxes/:address/redirection") { call in
            try await RedirectionBody(mailbox: call["address"], redirection: routing.clearRedirection(mailbox: call["address"], actor: call.actor))
        }
        routes.on(.get, "/v1/organizations/:organization/redirection-scope") { call in
            try await RedirectionScopeBody(organization: call["organization"],
                                 scope: try routing.redirectionScope(organization: try call["organization"], actor: call.actor))
        }
        routes.on(.put, "/v1/organizations/:organization/redirection-scope", body: RedirectionScopeInput.self) { call, input in
            try await RedirectionScopeBody(organization: call["organization"],
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
