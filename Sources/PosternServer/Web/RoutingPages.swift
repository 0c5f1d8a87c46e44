import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PosternCore

/// Where a mailbox's mail goes: its aliases ("aliases" permission) and its redirection ("redirections").
extension Pages {
    func aliases(_ context: WebContext, query: [String: String] = [:], notice: String? = nil, problem: String? = nil,
                 status: HTTPResponse.Status = .ok) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            let request = Pager.request(query)
            let (list, domains) = (try await plane.routing.aliases(mailbox: address, page: request, actor: actor), try await plane.routing.aliasDomains(mailbox: address, actor: actor))
            let content = AliasesContent(domains: domains, aliases: list.items.map { .init(address: $0.address, created: Output.date($0.createdAt)) },
                                         pager: Pager(list, path: "/mailboxes/\(Self.segment(address))/aliases"))
            return page("aliases", MailboxPage(title: "Aliases", address: address, path: Self.segment(address), notice: notice, problem: problem,
                                               content: content), context, status: status)
        }
    }

    func addAlias(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let alias: String; let domain: String? }
        return await submit(Form.self, request, context, redisplay: { try await aliases(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let address = try context.parameters.decoded("address")
            let text = input.domain.map { input.alias.contains("@") ? input.alias : "\(input.alias)@\($0)" } ?? input.alias
            let made = try await plane.routing.addAlias(mailbox: address, alias: text, actor: actor)
            return "\(made.address) now delivers to \(address)."
        }
    }

    func removeAlias(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let alias: String }
        return await submit(Form.self, request, context, redisplay: { try await aliases(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let address = try context.parameters.decoded("address")
            let removed = try await plane.routing.removeAlias(mailbox: address, alias: input.alias, actor: actor)
            return "\(removed.address) was removed: mail to it is refused from now on."
        }
    }

    func redirection(_ context: WebContext, notice: String? = nil, problem: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            let (current, scope) = (try await plane.routing.redirection(mailbox: address, actor: actor), try await plane.routing.redirectionScope(mailbox: address, actor: actor))
            let content = RedirectionContent(redirected: current != nil, targets: current?.targets ?? [],
                                             targetsText: current?.targets.joined(separator: "\n") ?? "", keepCopy: current?.keepCopy ?? false,
                                             ownDomainsOnly: scope == .ownDomains)
            return page("redirection", MailboxPage(title: "Redirection", address: address, path: Self.segment(address), notice: notice, problem: problem,
                                                   content: content), context, status: status)
        }
    }

    func setRedirection(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let targets: String; let keepCopy: String? }
        return await submit(Form.self, request, context, redisplay: { try await redirection(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let address = try context.parameters.decoded("address")
            let targets = input.targets.split(whereSeparator: { $0.isNewline || $0 == "," }).map(String.init)
            let change = try await plane.routing.setRedirection(mailbox: address, targets: targets, keepCopy: input.keepCopy == "on", actor: actor)
            return "Mail to \(address) now goes to \(change.redirection.targets.joined(separator: ", "))"
                + (change.redirection.keepCopy ? ", with a copy kept." : ".")
        }
    }

    func clearRedirection(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let csrf: String? }
        return await submit(Form.self, request, context, redisplay: { try await redirection(context, notice: $0, problem: $1, status: $2) }) { actor, _ in
            let address = try context.parameters.decoded("address")
            _ = try await plane.routing.clearRedirection(mailbox: address, actor: actor)
            return "Mail to \(address) lands in it again."
        }
    }
}
