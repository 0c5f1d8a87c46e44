import Hummingbird
import PosternControl
import PosternCore

/// The mail-settings plane over HTTP: sorting rules, spam filter, automatic reply, sender lists,
/// folders, signatures, and rewriting the Sieve scripts.
enum MailSettingsRoutes {
    static func collection(_ settings: MailSettingsPlane) -> RouteCollection<ControlContext> {
        let routes = RouteCollection(context: ControlContext.self)
        routes.on(.get, "/v1/mailboxes/:address/rules") { call in
            await RulesBody(mailbox: try call["address"], rules: try settings.rules(mailbox: try call["address"], actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/rules", body: RulesInput.self) { call, input in
            await RulesBody(mailbox: try call["address"], rules: try settings.setRules(mailbox: try call["address"], rules: input.rules, actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/spam-filter") { call in
            await SpamFilterBody(mailbox: try call["address"], spam: try settings.spamFilter(mailbox: try call["address"], actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/spam-filter", body: SpamFilter.self) { call, input in
            await SpamFilterBody(mailbox: try call["address"], spam: try settings.setSpamFilter(mailbox: try call["address"], input, actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/responder") { call in
            await ResponderBody(mailbox: try call["address"], responder: try settings.responder(mailbox: try call["address"], actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/responder", body: Responder.self) { call, input in
            await ResponderBody(mailbox: try call["address"], responder: try settings.setResponder(mailbox: try call["address"], input, actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/senders") { call in
            await SenderListsBody(mailbox: try call["address"], senders: try settings.senderLists(mailbox: try call["address"], actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/senders", body: SenderLists.self) { call, input in
            await SenderListsBody(mailbox: try call["address"], senders: try settings.setSenderLists(mailbox: try call["address"], input, actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/folders") { call in
            await FolderList(mailbox: try call["address"], folders: try settings.folders(mailbox: try call["address"], actor: call.actor))
        }
        routes.on(.post, "/v1/mailboxes/:address/folders", body: FolderInput.self, status: .created) { call, input in
            await FolderBody(mailbox: try call["address"], folder: try settings.createFolder(mailbox: try call["address"], name: input.name, actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/folders/:folder", body: FolderInput.self) { call, input in
            await FolderBody(mailbox: try call["address"], folder: try settings.renameFolder(mailbox: try call["address"], from: try call["folder"],
                                                                                       to: input.name, actor: call.actor))
        }
        routes.on(.delete, "/v1/mailboxes/:address/folders/:folder") { call in
            await FolderBody(mailbox: try call["address"], folder: try settings.deleteFolder(mailbox: try call["address"], name: try call["folder"], actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/signature") { call in try await settings.signature(mailbox: try call["address"], actor: call.actor) }
        routes.on(.put, "/v1/mailboxes/:address/signature", body: SignatureInput.self) { call, input in
            try await settings.setSignature(mailbox: try call["address"], text: input.text, replyTo: input.replyTo, actor: call.actor)
        }
        routes.on(.post, "/v1/sieve/rewrite", optionalBody: SieveRewriteInput.self) { call, input in
            try await settings.rewriteScripts(mailboxes: input?.mailboxes ?? [], actor: call.actor)
        }
        return routes
    }
}

extension SieveRewrite: ResponseEncodable {}
extension FolderList: ResponseEncodable {}
extension FolderBody: ResponseEncodable {}
extension Signature: ResponseEncodable {}
extension RulesBody: ResponseEncodable {}
extension SpamFilterBody: ResponseEncodable {}
extension ResponderBody: ResponseEncodable {}
extension SenderListsBody: ResponseEncodable {}
