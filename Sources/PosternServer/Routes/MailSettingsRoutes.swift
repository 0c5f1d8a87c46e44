import Hummingbird
import PosternControl
import PosternCore

/// The mail-settings plane over HTTP: sorting rules, spam filter, automatic reply, sender lists,
/// folders, signatures, and rewriting the Sieve scripts.
enum MailSettingsRoutes {
    static func collection(_ settings: MailSettingsPlane) -> RouteCollection<ControlContext> {
        let routes = RouteCollection(context: ControlContext.self)
        routes.on(.get, "/v1/mailboxes/:address/rules") { call in
            try await RulesBody(mailbox: call["address"], rules: settings.rules(mailbox: call["address"], actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/rules", body: RulesInput.self) { call, input in
            try await RulesBody(mailbox: call["address"], rules: settings.setRules(mailbox: call["address"], rules: input.rules, actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/spam-filter") { call in
            try await SpamFilterBody(mailbox: call["address"], spam: settings.spamFilter(mailbox: call["address"], actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/spam-filter", body: SpamFilter.self) { call, input in
            try await SpamFilterBody(mailbox: call["address"], spam: settings.setSpamFilter(mailbox: call["address"], input, actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/responder") { call in
            try await ResponderBody(mailbox: call["address"], responder: settings.responder(mailbox: call["address"], actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/responder", body: Responder.self) { call, input in
            try await ResponderBody(mailbox: call["address"], responder: settings.setResponder(mailbox: call["address"], input, actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/senders") { call in
            try await SenderListsBody(mailbox: call["address"], senders: settings.senderLists(mailbox: call["address"], actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/senders", body: SenderLists.self) { call, input in
            try await SenderListsBody(mailbox: call["address"], senders: settings.setSenderLists(mailbox: call["address"], input, actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address/folders") { call in
            try await FolderList(mailbox: call["address"], folders: settings.folders(mailbox: call["address"], actor: call.actor))
        }
        routes.on(.post, "/v1/mailboxes/:address/folders", body: FolderInput.self, status: .created) { call, input in
            try await FolderBody(mailbox: call["address"], folder: settings.createFolder(mailbox: call["address"], name: input.name, actor: call.actor))
        }
        routes.on(.put, "/v1/mailboxes/:address/folders/:folder", body: FolderInput.self) { call, input in
            try await FolderBody(mailbox: call["address"], folder: settings.renameFolder(mailbox: call["address"], from: call["folder"],
                                                                                       to: input.name, actor: call.actor))
        }
        routes.on(.delete, "/v1/mailboxes/:address/folders/:folder") { call in
            try await FolderBody(mailbox: call["address"], folder: settings.deleteFolder(mailbox: call["address"], name: call["folder"], actor: call.actor))
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
