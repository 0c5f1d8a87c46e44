import Foundation
import Hummingbird
import PosternControl
import PosternCore

/// The directory plane over HTTP: organizations, mail services, mailboxes and their history.
enum DirectoryRoutes {
    static func collection(_ directory: DirectoryPlane) -> RouteCollection<ControlContext> {
        let routes = RouteCollection(context: ControlContext.self)
        routes.on(.get, "/v1/organizations") { call in try await OrganizationList(directory.organizations(page: call.page, actor: call.actor)) }
        routes.on(.post, "/v1/organizations", body: NameInput.self, status: .created) { call, input in
            try await OrganizationBody(organization: directory.addOrganization(input.name, actor: call.actor))
        }
        routes.on(.delete, "/v1/organizations/:organization") { call in
            try await OrganizationRemoved(removed: directory.removeOrganization(call["organization"], actor: call.actor))
        }
        routes.on(.get, "/v1/services") { call in try await ServiceList(directory.mailServices(page: call.page, actor: call.actor)) }
        routes.on(.post, "/v1/services", body: ServiceInput.self, status: .created) { call, input in
            try await ServiceBody(service: directory.addMailService(name: input.name, organization: input.organization, domains: input.domains, actor: call.actor))
        }
        routes.on(.delete, "/v1/services/:service") { call in try await ServiceRemoved(removed: directory.removeMailService(call["service"], actor: call.actor)) }
        routes.on(.get, "/v1/mailboxes") { call in try await MailboxList(directory.mailboxes(domain: call.query["domain"], page: call.page, actor: call.actor)) }
        routes.on(.post, "/v1/mailboxes", body: AddressInput.self, status: .created) { call, input in
            try await MailboxBody(mailbox: directory.addMailbox(input.address, actor: call.actor))
        }
        routes.on(.get, "/v1/mailboxes/:address") { call in try await MailboxBody(mailbox: directory.mailbox(call["address"], actor: call.actor)) }
        routes.on(.delete, "/v1/mailboxes/:address") { call in try await MailboxRemoved(directory.removeMailbox(call["address"], actor: call.actor)) }
        routes.on(.get, "/v1/mailboxes/:address/removal") { call in try await directory.mailboxRemoval(try call["address"], actor: call.actor) }
        routes.on(.get, "/v1/mailboxes/:address/history") { call in
            let filter = try HistoryFilter(call.query)
            return try await HistoryList(directory.history(call["address"], page: call.page, since: filter.since, until: filter.until,
                                                     kind: filter.kind, actor: call.actor))
        }
        routes.on(.get, "/v1/organizations/:organization/history") { call in
            let filter = try HistoryFilter(call.query)
            return try await HistoryList(directory.organizationHistory(call["organization"], page: call.page, since: filter.since,
                                                                 until: filter.until, kind: filter.kind, actor: call.actor))
        }
        return routes
    }
}

/// `?since=&until=&kind=` (beside the page's `limit` and `after`): dates as ISO 8601 or a day
/// (2026-12-01, from midnight UTC).
struct HistoryFilter {
    let since: Date?
    let until: Date?
    let kind: String?

    init(_ query: [String: String]) throws {
        func date(_ name: String) throws -> Date? {
            guard let text = query[name] else { return nil }
            if let date = try? Date(text, strategy: .iso8601) { return date }
            if let day = try? Date(text + "T00:00:00Z", strategy: .iso8601) { return day }
            throw PosternError(.invalidDate, "\(name) must be a date such as 2026-12-01 or 2026-12-01T18:00:00Z")
        }
        since = try date("since")
        until = try date("until")
        kind = query["kind"].flatMap { $0.isEmpty ? nil : String($0.prefix(64)) }
    }
}

extension OrganizationList: ResponseEncodable {}
extension MailboxRemoval: ResponseEncodable {}
extension OrganizationBody: ResponseEncodable {}
extension OrganizationRemoved: ResponseEncodable {}
extension ServiceList: ResponseEncodable {}
extension ServiceBody: ResponseEncodable {}
extension ServiceRemoved: ResponseEncodable {}
extension MailboxList: ResponseEncodable {}
extension MailboxBody: ResponseEncodable {}
extension MailboxRemoved: ResponseEncodable {}
extension HistoryList: ResponseEncodable {}
