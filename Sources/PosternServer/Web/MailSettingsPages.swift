import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PosternControl
import PosternCore

/// What happens to a mailbox's mail: rules, spam filter, automatic reply, senders, folders,
/// signature; each page behind its permission, each save compiled into the mailbox's script.
extension Pages {
    typealias Redisplay = (_ notice: String?, _ problem: String?, _ status: HTTPResponse.Status) async throws -> Response

    /// One settings page: `load` reads what it shows (throwing what the user may not see).
    func settingsPage<Content: Sendable>(_ template: String, _ title: String, _ context: WebContext, notice: String?, problem: String?,
                                         status: HTTPResponse.Status, _ load: @escaping @Sendable (Actor, String) async throws -> Content) async -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            let content = try await load(actor, address)
            return page(template, MailboxPage(title: title, address: address, path: Self.segment(address), notice: notice, problem: problem,
                                              content: content), context, status: status)
        }
    }

    func rulesPage(_ context: WebContext, notice: String? = nil, problem: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        await settingsPage("rules", "Rules", context, notice: notice, problem: problem, status: status) { [plane] actor, address in
            let rules = try await plane.mailSettings.rules(mailbox: address, actor: actor)
            return RulesContent(rules: rules.enumerated().map { index, rule in
                RulesContent.Row(id: "\(rule.id ?? 0)", name: rule.name, enabled: rule.enabled, first: index == 0, last: index == rules.count - 1,
                                 when: rule.conditions.map(Self.describe).joined(separator: rule.match == .all ? " and " : " or "),
                                 then: rule.actions.map(Self.describe).joined(separator: ", "))
            }, fields: Condition.Field.allCases.map(\.rawValue), tests: Condition.Test.allCases.map(\.rawValue),
               actions: RuleAction.Kind.allCases.map(\.rawValue))
        }
    }

    static func describe(_ c: Condition) -> String {
        c.field == .size ? "size \(c.test.rawValue) \(c.value)" : "\(c.field == .header ? c.header ?? "header" : c.field.rawValue) \(c.test.rawValue) “\(c.value)”"
    }

    static func describe(_ a: RuleAction) -> String {
        switch a.kind {
        case .fileinto: "file into \(a.folder ?? "")"
        case .forward: "forward to \(a.address ?? "")"
        case .markread: "mark read"
        default: a.kind.rawValue
        }
    }

    func changeRules(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable {
            let `do`: String; let id: String?; let name: String?; let match: String?; let field: String?; let header: String?
            let test: String?; let value: String?; let action: String?; let target: String?
        }
        return await submit(Form.self, request, context, redisplay: { try await rulesPage(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let address = try context.parameters.decoded("address")
            let edit = try Self.ruleEdit(input.do, id: input.id) {
                guard let field = Condition.Field(rawValue: input.field ?? ""), let test = Condition.Test(rawValue: input.test ?? ""),
                      let kind = RuleAction.Kind(rawValue: input.action ?? "") else {
                    throw PosternError(.invalidRule, "choose a field, a test and an action")
                }
                let target = input.target?.trimmingCharacters(in: .whitespaces)
                return SortingRule(name: input.name ?? "", match: SortingRule.Match(rawValue: input.match ?? "all") ?? .all,
                                   conditions: [Condition(field: field, header: input.header, test: test, value: input.value ?? "")],
                                   actions: [RuleAction(kind: kind, folder: kind == .fileinto ? target : nil, address: kind == .forward ? target : nil)])
            }
            _ = try await plane.mailSettings.editRules(mailbox: address, edit, actor: actor)
            return input.do == "add" ? "Rule “\(input.name ?? "")” added." : "Rules saved."
        }
    }

    /// The form's `do` and rule id as one edit; `add` builds the new rule from the form.
    static func ruleEdit(_ action: String, id: String?, newRule: () throws -> SortingRule) throws -> MailSettingsPlane.RuleEdit {
        if action == "add" { return .add(try newRule()) }
        guard let id = id.flatMap({ Int64($0) }) else { throw PosternError(.ruleNotFound, "that rule is gone; reload the page") }
        switch action {
        case "toggle": return .toggle(id: id)
        case "up": return .up(id: id)
        case "down": return .down(id: id)
        case "remove": return .remove(id: id)
        default: throw PosternError(.ruleNotFound, "that rule is gone; reload the page")
        }
    }

    func spamPage(_ context: WebContext, notice: String? = nil, problem: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        await settingsPage("spam", "Spam filter", context, notice: notice, problem: problem, status: status) { [plane] actor, address in
            let spam = try await plane.mailSettings.spamFilter(mailbox: address, actor: actor)
            return SpamContent(enabled: spam.enabled, threshold: "\(spam.threshold)", folder: spam.folder)
        }
    }

    func saveSpam(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let enabled: String?; let threshold: String; let folder: String }
        return await submit(Form.self, request, context, redisplay: { try await spamPage(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let address = try context.parameters.decoded("address")
            guard let threshold = Int(input.threshold.trimmingCharacters(in: .whitespaces)) else {
                throw PosternError(.invalidThreshold, "the threshold is a whole number, such as 5")
            }
            let saved = try await plane.mailSettings.setSpamFilter(mailbox: address, SpamFilter(enabled: input.enabled == "on", threshold: threshold, folder: input.folder), actor: actor)
            return saved.enabled ? "Spam filter on: a score of \(saved.threshold) or more goes to \(saved.folder)." : "Spam filter off."
        }
    }

    func responderPage(_ context: WebContext, notice: String? = nil, problem: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        await settingsPage("responder", "Automatic reply", context, notice: notice, problem: problem, status: status) { [plane] actor, address in
            let r = try await plane.mailSettings.responder(mailbox: address, actor: actor)
            return ResponderContent(enabled: r.enabled, subject: r.subject, text: r.text, start: r.start ?? "", end: r.end ?? "",
                                    onlyOwnDomains: r.onlyOwnDomains, days: "\(r.days)")
        }
    }

    func saveResponder(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let enabled: String?; let subject: String; let text: String; let start: String?; let end: String?
                                 let onlyOwnDomains: String?; let days: String }
        return await submit(Form.self, request, context, redisplay: { try await responderPage(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let address = try context.parameters.decoded("address")
            let responder = Responder(enabled: input.enabled == "on", subject: input.subject, text: input.text,
                                      start: input.start.flatMap { $0.isEmpty ? nil : $0 }, end: input.end.flatMap { $0.isEmpty ? nil : $0 },
                                      onlyOwnDomains: input.onlyOwnDomains == "on", days: Int(input.days) ?? 0)
            let saved = try await plane.mailSettings.setResponder(mailbox: address, responder, actor: actor)
            return saved.enabled ? "The automatic reply is on." : "The automatic reply is off."
        }
    }

    func sendersPage(_ context: WebContext, notice: String? = nil, problem: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        await settingsPage("senders", "Blocked and approved senders", context, notice: notice, problem: problem, status: status) { [plane] actor, address in
            let lists = try await plane.mailSettings.senderLists(mailbox: address, actor: actor)
            return SendersContent(blocked: lists.blocked.joined(separator: "\n"), approved: lists.approved.joined(separator: "\n"),
                                  junk: lists.blockedAction == .junk, discard: lists.blockedAction == .discard)
        }
    }

    func saveSenders(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let blocked: String; let approved: String; let blockedAction: String }
        return await submit(Form.self, request, context, redisplay: { try await sendersPage(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let address = try context.parameters.decoded("address")
            func entries(_ text: String) -> [String] {
                text.split(whereSeparator: { $0.isNewline || $0 == "," }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            let lists = SenderLists(blocked: entries(input.blocked), approved: entries(input.approved),
                                    blockedAction: SenderLists.BlockedAction(rawValue: input.blockedAction) ?? .junk)
            let saved = try await plane.mailSettings.setSenderLists(mailbox: address, lists, actor: actor)
            return "\(saved.blocked.count) blocked, \(saved.approved.count) approved."
        }
    }

    func foldersPage(_ context: WebContext, notice: String? = nil, problem: String? = nil, status: HTTPResponse.Status = .ok,
                     confirmDelete: String? = nil) async throws -> Response {
        await settingsPage("folders", "Folders", context, notice: notice, problem: problem, status: status) { [plane] actor, address in
            let folders = try await plane.mailSettings.folders(mailbox: address, actor: actor)
            return FoldersContent(folders: folders.map { .init(name: $0, inbox: $0.uppercased() == "INBOX") }, confirmDelete: confirmDelete)
        }
    }

    /// A delete asks first: the folder's mail goes with it.
    func changeFolders(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let `do`: String; let name: String; let new: String?; let confirm: String? }
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        if let peek = try? URLEncodedFormDecoder().decode(Form.self, from: String(buffer: body)), peek.do == "delete", peek.confirm != "yes" {
            return try await foldersPage(context, confirmDelete: peek.name)
        }
        let request = Request(head: request.head, body: .init(buffer: body))
        return await submit(Form.self, request, context, redisplay: { try await foldersPage(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let address = try context.parameters.decoded("address")
            switch input.do {
            case "create": return "Folder \(try await plane.mailSettings.createFolder(mailbox: address, name: input.name, actor: actor)) created."
            case "rename": return "Folder \(input.name) is now \(try await plane.mailSettings.renameFolder(mailbox: address, from: input.name, to: input.new ?? "", actor: actor))."
            case "delete": return "Folder \(try await plane.mailSettings.deleteFolder(mailbox: address, name: input.name, actor: actor)) deleted, with its mail."
            default: throw PosternError(.unknownAction, "unknown action; nothing was changed")
            }
        }
    }

    func signaturePage(_ context: WebContext, notice: String? = nil, problem: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        await settingsPage("signature", "Signature", context, notice: notice, problem: problem, status: status) { [plane] actor, address in
            let signature = try await plane.mailSettings.signature(mailbox: address, actor: actor)
            let own = [address] + (try await plane.mailSettings.aliasesForReplyTo(mailbox: address, actor: actor))
            return SignatureContent(text: signature.text,
                                    replyTos: own.map { .init(value: $0, selected: RoutingTable.fold($0) == RoutingTable.fold(signature.replyTo ?? "")) },
                                    none: signature.replyTo == nil)
        }
    }

    func saveSignature(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let text: String; let replyTo: String? }
        return await submit(Form.self, request, context, redisplay: { try await signaturePage(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let address = try context.parameters.decoded("address")
            let saved = try await plane.mailSettings.setSignature(mailbox: address, text: input.text, replyTo: input.replyTo, actor: actor)
            return "Signature saved" + (saved.replyTo.map { "; replies go to \($0)." } ?? ".")
        }
    }
}
