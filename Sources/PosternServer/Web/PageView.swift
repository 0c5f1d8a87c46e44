import Foundation
import Mustache
import PosternCore

/// What a template reads: the page's own view model first, then what every page shows around it
/// (who is signed in, the session's form token). A view model is a plain struct whose property
/// names are the template's keys; nil leaves a section out.
///
/// Each value is reflected once, into a dictionary (`Fields`), before rendering: Mustache looking
/// every key up by reflection took two thirds of posternd's CPU in the control benchmark (the
/// home page's 50 mailboxes, a dozen keys each, each lookup a pass over the struct's fields).
struct PageView: MustacheParent {
    let model: Fields
    let frame: Fields

    init(model: Any, frame: Frame) {
        self.model = Fields.of(model)
        self.frame = Fields.of(frame)
    }

    struct Frame {
        var signedIn = false
        var signedInAs: String?
        var csrf: String?
    }

    func child(named name: String) -> Any? { model.values[name] ?? frame.values[name] }
}

/// A view model's stored properties by name, their values converted the same way (structs to
/// `Fields`, arrays element by element, optionals unwrapped and nil ones left out).
struct Fields: MustacheParent {
    let values: [String: Any]

    func child(named name: String) -> Any? { values[name] }

    static func of(_ object: Any) -> Fields {
        if let fields = object as? Fields { return fields }
        if let page = object as? MailboxPage { return page.fields }
        var values: [String: Any] = [:]
        for child in Mirror(reflecting: object).children {
            guard let label = child.label, let value = convert(child.value) else { continue }
            values[label] = value
        }
        return Fields(values: values)
    }

    /// nil for a nil optional.
    static func convert(_ value: Any) -> Any? {
        switch value {
        case is String, is Bool, is Int, is Double, is Substring: return value
        case let fields as Fields: return fields
        case let page as MailboxPage: return page.fields
        default: break
        }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional: return mirror.children.first.flatMap { convert($0.value) }
        case .collection, .set: return mirror.children.compactMap { convert($0.value) }
        case .struct, .class: return of(value)
        default: return value
        }
    }
}

/// A settings page of one mailbox: its header (title, address, the notice or problem of the last
/// save) around what the page shows.
struct MailboxPage {
    let title: String
    let address: String
    let path: String
    var notice: String?
    var problem: String?
    let content: Any

    var fields: Fields {
        var values = Fields.of(content).values
        values["title"] = title
        values["address"] = address
        values["path"] = path
        if let notice { values["notice"] = notice }
        if let problem { values["problem"] = problem }
        return Fields(values: values)
    }
}

// MARK: the view models, one per page (the names are the templates' keys)

struct Link: Sendable { let name: String; let path: String }
struct Choice: Sendable { let value: String; let label: String; let selected: Bool }
struct PermissionBox: Sendable { let name: String; let label: String; let checked: Bool }

struct ProblemView { let title: String; let heading: String; let message: String }
struct SignInView { let title: String; let signinToken: String; var problem: String?; var loginTyped: String? }

struct HomeView {
    struct Organization { let name: String; let path: String; let role: String; let members: Bool; let services: [Link] }
    struct Mailbox {
        let address: String, path: String
        let devices: Bool, history: Bool, aliases: Bool, redirections: Bool, rules: Bool, filters: Bool, responders: Bool, security: Bool
        let folders: Bool, signatures: Bool, permissions: Bool
    }
    let title: String
    let organizations: [Organization]
    let mailboxes: [Mailbox]
    let pager: Pager
}

struct DeviceRow { let id: String, name: String, generic: Bool, label: String, created: String, lastUse: String, scopes: String, path: String }
struct DevicesView { let title: String, address: String, path: String; let devices: [DeviceRow]; let services: [String]; let pager: Pager; var notice: String? }
struct DisconnectAllView { let title: String, address: String, path: String; let devices: [DeviceRow]; let count: Int }
struct HistoryView {
    struct Entry { let at: String, actor: String, origin: String, action: String, detail: String }
    let title: String, address: String, path: String, since: String, until: String
    let kinds: [Choice]
    let entries: [Entry]
    let pager: Pager
}
struct PasswordView {
    let title: String, heading: String, device: String, address: String, path: String, profile: String, profileName: String
    let autoconfig: String, domain: String, password: String
    let groups: [String]
    let imapHost: String, imapPort: Int, smtpHost: String, smtpPort: Int
}

struct AliasesContent { struct Row { let address: String; let created: String }; let domains: [String]; let aliases: [Row]; let pager: Pager }
struct RedirectionContent { let redirected: Bool; let targets: [String]; let targetsText: String; let keepCopy: Bool; let ownDomainsOnly: Bool }
struct RulesContent {
    struct Row { let id: String, name: String, enabled: Bool, first: Bool, last: Bool, when: String, then: String }
    let rules: [Row]; let fields: [String]; let tests: [String]; let actions: [String]
}
struct SpamContent { let enabled: Bool; let threshold: String; let folder: String }
struct ResponderContent { let enabled: Bool, subject: String, text: String, start: String, end: String, onlyOwnDomains: Bool, days: String }
struct SendersContent { let blocked: String, approved: String, junk: Bool, discard: Bool }
struct FoldersContent { struct Row { let name: String; let inbox: Bool }; let folders: [Row]; var confirmDelete: String? }
struct SignatureContent { struct ReplyTo { let value: String; let selected: Bool }; let text: String; let replyTos: [ReplyTo]; let none: Bool }
struct AccessContent {
    struct User { let login: String, displayName: String, csrf: String, path: String, id: String; let matchesDefaults: Bool; let permissions: [PermissionBox] }
    struct Other { let login: String; let roleLabel: String }
    let service: String, servicePath: String, defaults: String
    let users: [User]; let others: [Other]; let newPermissions: [PermissionBox]; let hasUsers: Bool; let hasOthers: Bool; let pager: Pager
}

struct MembersView {
    struct Row { let login: String, displayName: String, roleLabel: String, orgPath: String, loginPath: String, csrf: String; let roles: [Choice] }
    let title: String, organization: String; let manages: Bool; let members: [Row]; let pager: Pager; var notice: String?
}
struct RemoveMemberView {
    struct Access { let mailbox: String; let permissions: String }
    struct Token { let kind: String; let name: String }
    let title: String, organization: String, login: String, orgPath: String, loginPath: String, roleLabel: String
    let access: [Access]; let services: [String]; let tokens: [Token]; let anything: Bool
}
struct DefaultsView {
    struct Mailbox { let address: String; let path: String }
    let title: String, service: String, servicePath: String
    let permissions: [PermissionBox]; let mailboxes: [Mailbox]; let mailboxCount: Int; let pager: Pager
    var notice: String?; var problem: String?
}

/// The "previous" and "next" links of a paged list, and its search box: each link keeps the
/// page's other query parameters (a history's kind and days, the search).
struct Pager {
    let previous: String?
    let next: String?
    /// Shown in the search box; nil: the list has no search box.
    let search: String?
    let searchable: Bool
    let action: String

    init<Item>(_ page: Page<Item>, path: String, keeping query: [(String, String)] = [], search: String? = nil, searchable: Bool = false) {
        func link(_ name: String, _ cursor: String?) -> String? {
            guard let cursor else { return nil }
            let items = query.filter { !$0.1.isEmpty } + (search.map { [("q", $0)] } ?? []) + [(name, cursor)]
            return path + "?" + items.map { "\($0.0)=\(Pager.escape($0.1))" }.joined(separator: "&")
        }
        previous = link("before", page.previous)
        next = link("after", page.next)
        self.search = search
        self.searchable = searchable
        action = path
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~@"))) ?? ""
    }

    /// The page a web request asks for: `after`, `before` and `q` from its query; a malformed
    /// cursor or search is ignored (the first page), as a hand-edited link should not be an error.
    static func request(_ query: [String: String], limit: Int = PageRequest.defaultLimit) -> PageRequest {
        (try? PageRequest(limit: limit, after: query["after"], before: query["before"], search: query["q"])) ?? .first(limit)
    }
}
