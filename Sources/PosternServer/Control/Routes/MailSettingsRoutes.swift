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
    }
}

extension RulesBody: ResponseEncodable {}
extension SpamFilterBody: ResponseEncodable {}
extension ResponderBody: ResponseEncodable {}
extension SenderListsBody: ResponseEncodable {}
