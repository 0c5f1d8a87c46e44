import Hummingbird
import PosternCore

/// A mailbox's sorting rules, spam filter, automatic reply and sender lists.
extension ControlAPI {
    static func addMailSettingsRoutes(to router: Router<ControlContext>, _ plane: ControlPlane) {
        router.get("/v1/mailboxes/:address/rules") { _, context in
            let address = try context.parameters.decoded("address")
            return RulesBody(mailbox: address, rules: try await blocking { try plane.rules(mailbox: address, actor: context.who()) })
        }
        router.put("/v1/mailboxes/:address/rules") { request, context in
            let address = try context.parameters.decoded("address")
            let input = try await request.decode(as: RulesInput.self, context: context)
            return RulesBody(mailbox: address, rules: try await blocking { try plane.setRules(mailbox: address, rules: input.rules, actor: context.who()) })
        }
        router.get("/v1/mailboxes/:address/spam-filter") { _, context in
            let address = try context.parameters.decoded("address")
            return SpamFilterBody(mailbox: address, spam: try await blocking { try plane.spamFilter(mailbox: address, actor: context.who()) })
        }
        router.put("/v1/mailboxes/:address/spam-filter") { request, context in
            let address = try context.parameters.decoded("address")
            let input = try await request.decode(as: SpamFilter.self, context: context)
            return SpamFilterBody(mailbox: address, spam: try await blocking { try plane.setSpamFilter(mailbox: address, input, actor: context.who()) })
        }
        router.get("/v1/mailboxes/:address/responder") { _, context in
            let address = try context.parameters.decoded("address")
            return ResponderBody(mailbox: address, responder: try await blocking { try plane.responder(mailbox: address, actor: context.who()) })
        }
        router.put("/v1/mailboxes/:address/responder") { request, context in
            let address = try context.parameters.decoded("address")
            let input = try await request.decode(as: Responder.self, context: context)
            return ResponderBody(mailbox: address, responder: try await blocking { try plane.setResponder(mailbox: address, input, actor: context.who()) })
        }
        router.get("/v1/mailboxes/:address/senders") { _, context in
            let address = try context.parameters.decoded("address")
            return SenderListsBody(mailbox: address, senders: try await blocking { try plane.senderLists(mailbox: address, actor: context.who()) })
        }
        router.put("/v1/mailboxes/:address/senders") { request, context in
            let address = try context.parameters.decoded("address")
            let input = try await request.decode(as: SenderLists.self, context: context)
            return SenderListsBody(mailbox: address, senders: try await blocking { try plane.setSenderLists(mailbox: address, input, actor: context.who()) })
        }
        router.get("/v1/mailboxes/:address/folders") { _, context in
            let address = try context.parameters.decoded("address")
            return FolderList(mailbox: address, folders: try await blocking { try plane.folders(mailbox: address, actor: context.who()) })
        }
        router.post("/v1/mailboxes/:address/folders") { request, context -> EditedResponse<FolderBody> in
            let address = try context.parameters.decoded("address")
            let input = try await request.decode(as: FolderInput.self, context: context)
            let made = try await blocking { try plane.createFolder(mailbox: address, name: input.name, actor: context.who()) }
            return EditedResponse(status: .created, response: FolderBody(mailbox: address, folder: made))
        }
        router.put("/v1/mailboxes/:address/folders/:folder") { request, context in
            let (address, folder) = (try context.parameters.decoded("address"), try context.parameters.decoded("folder"))
            let input = try await request.decode(as: FolderInput.self, context: context)
            return FolderBody(mailbox: address, folder: try await blocking {
                try plane.renameFolder(mailbox: address, from: folder, to: input.name, actor: context.who())
            })
        }
        router.delete("/v1/mailboxes/:address/folders/:folder") { _, context in
            let (address, folder) = (try context.parameters.decoded("address"), try context.parameters.decoded("folder"))
            return FolderBody(mailbox: address, folder: try await blocking { try plane.deleteFolder(mailbox: address, name: folder, actor: context.who()) })
        }
        router.get("/v1/mailboxes/:address/signature") { _, context in
            let address = try context.parameters.decoded("address")
            return try await blocking { try plane.signature(mailbox: address, actor: context.who()) }
        }
        router.put("/v1/mailboxes/:address/signature") { request, context in
            let address = try context.parameters.decoded("address")
            let input = try await request.decode(as: SignatureInput.self, context: context)
            return try await blocking { try plane.setSignature(mailbox: address, text: input.text, replyTo: input.replyTo, actor: context.who()) }
        }
        router.post("/v1/sieve/rewrite") { request, context in
            let input = (try? await request.decode(as: SieveRewriteInput.self, context: context)) ?? SieveRewriteInput(mailboxes: nil)
            return try await blocking { try plane.rewriteScripts(mailboxes: input.mailboxes ?? [], actor: context.who()) }
        }
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
