import Foundation
import PosternCore

/// A mailbox one user sees, with what they may do there, as the rule set would decide it.
public struct VisibleMailbox: Sendable {
    public let mailbox: Mailbox
    public let target: MailboxTarget
    /// Every permission where the user manages the organization, else their grant's.
    public let permissions: MailboxPermission
    /// They give and take away access to it (administrators and legal representatives).
    public let managesAccess: Bool
}

/// "The mailboxes this actor may see", a page at a time, in SQL: a member sees every mailbox of
/// an organization they manage, the mailboxes they were given access to, and, as a collaborator,
/// every mailbox of a mail service given to them (`Policy.decide` says the same; a table test
/// checks it). The sources are read from the memberships and grants in one query; then one
/// compound statement reads `limit + 1` mailboxes from each source by the (service, address)
/// index and the user's access rows, from the cursor on. A page costs the same in a
/// 100-mailbox organization as in a 100,000-mailbox one.
extension StoreTransaction {
    public func visibleMailboxes(of actor: Actor, domain: String? = nil, page request: PageRequest) async throws -> Page<VisibleMailbox> {
        let within: Int64?? = if let domain { .some(try await domainService(domain)) } else { nil }
        if case .some(nil) = within { return Page(items: []) }
        guard let user = actor.user else {
            return try await mailboxPage(sources: [.everything(service: within ?? nil)], userID: nil, domain: domain, request: request)
        }
        var sources: [MailboxSource] = try await StoreRow.fetchAll(self, sql: """
            SELECT s.id, ms.role FROM membership ms JOIN mailService s ON s.organizationId = ms.organizationId
            LEFT JOIN serviceGrant g ON g.mailServiceId = s.id AND g.userId = ms.userId
            WHERE ms.userId = ? AND (ms.role IN ('legal-representative', 'administrator') OR (ms.role = 'collaborator' AND g.userId IS NOT NULL))
            """, arguments: [user.id]).compactMap { row in
            let service: Int64 = row["id"]
            if let only = within ?? nil, only != service { return nil }
            return .service(service, manages: Role(rawValue: row["role"] as String)?.manages == true)
        }
        sources.append(.access(service: within ?? nil))
        return try await mailboxPage(sources: sources, userID: user.id, domain: domain, request: request)
    }

    /// The mail service holding `domain` (nil: none does, so nothing is in it).
    private func domainService(_ domain: String) async throws -> Int64? {
        try await Int64.fetchOne(self, sql: "SELECT mailServiceId FROM domain WHERE name = ?", arguments: [domain.lowercased()])
    }

    enum MailboxSource {
        /// Every mailbox (the operator), or every one of a service.
        case everything(service: Int64?)
        /// Every mailbox of a service: the user manages its organization, or collaborates on it.
        case service(Int64, manages: Bool)
        /// The mailboxes the user was given access to, in organizations they belong to.
        case access(service: Int64?)
    }

    private func mailboxPage(sources: [MailboxSource], userID: Int64?, domain: String?, request: PageRequest) async throws -> Page<VisibleMailbox> {
        let backwards = request.before != nil
        // Addresses compare as bytes in both engines (PostgreSQL's "C" collation, SQLite's BINARY),
        // so the pages of several sources merge here in the same order.
        let address = engine == .postgres ? "m.address COLLATE \"C\"" : "m.address"
        var filters: [String] = []
        var filterArguments: [SQLValue] = []
        if let cursor = request.after ?? request.before {
            filters.append("\(address) \(backwards ? "<" : ">") ?")
            filterArguments.append(.text(cursor))
        }
        if let domain {
            filters.append("lower(m.address) LIKE ? ESCAPE '\\'")
            filterArguments.append(.text(Self.inDomain(domain)))
        }
        if let search = request.search {
            let (condition, argument) = Self.beginsWith("m.address", search)
            filters.append(condition)
            filterArguments.append(argument)
        }
        let order = "ORDER BY \(address) \(backwards ? "DESC" : "ASC") LIMIT \(request.limit + 1)"
        let columns = "m.id, m.address, m.createdAt, m.mailServiceId, s.name AS service, s.organizationId"
        var rows: [(VisibleMailbox, String)] = []
        // SQLite allows 500 terms in a compound statement: a few hundred sources to a statement.
        for chunk in Self.chunks(sources, 200) {
            var parts: [String] = []
            var arguments: [SQLValue] = []
            for (n, source) in chunk.enumerated() {
                var conditions = filters
                var these = filterArguments
                let select: String
                switch source {
                case let .everything(service):
                    select = "SELECT \(columns), NULL AS permissions, 1 AS manages FROM mailbox m JOIN mailService s ON s.id = m.mailServiceId"
                    if let service { conditions.insert("m.mailServiceId = ?", at: 0); these.insert(.integer(service), at: 0) }
                case let .service(service, manages):
                    select = """
                        SELECT \(columns), a.permissions, \(manages ? 1 : 0) AS manages FROM mailbox m JOIN mailService s ON s.id = m.mailServiceId
                        LEFT JOIN mailboxAccess a ON a.mailboxId = m.id AND a.userId = ?
                        """
                    conditions.insert("m.mailServiceId = ?", at: 0)
                    these.insert(contentsOf: [.integer(userID ?? 0), .integer(service)], at: 0)
                case let .access(service):
                    select = """
                        SELECT \(columns), a.permissions, 0 AS manages FROM mailboxAccess a JOIN mailbox m ON m.id = a.mailboxId
                        JOIN mailService s ON s.id = m.mailServiceId JOIN membership ms ON ms.organizationId = s.organizationId AND ms.userId = a.userId
                        """
                    conditions.insert("a.userId = ?", at: 0)
                    these.insert(.integer(userID ?? 0), at: 0)
                    if let service { conditions.append("m.mailServiceId = ?"); these.append(.integer(service)) }
                }
                let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
                parts.append("SELECT * FROM (\(select) \(filter) \(order)) AS source\(n)")
                arguments += these
            }
            try await StoreRow.forEach(self, sql: parts.joined(separator: " UNION ALL "), arguments: SQLArguments(arguments)) { row in
                let text: String = row["address"]
                let address = try MailAddress(text)
                let manages = (row["manages"] as Int) == 1
                let granted: Int? = row["permissions"]
                rows.append((VisibleMailbox(mailbox: Mailbox(id: row["id"], address: address, mailService: row["service"], createdAt: row["createdAt"]),
                                            target: MailboxTarget(id: row["id"], address: address.description,
                                                                  service: ServiceTarget(id: row["mailServiceId"], organizationID: row["organizationId"])),
                                            permissions: manages ? .all : MailboxPermission(rawValue: UInt16(truncatingIfNeeded: granted ?? 0)),
                                            managesAccess: manages), text))
            }
        }
        // One entry per mailbox (a managed one may also come with an access row), in byte order.
        var byID: [Int64: (VisibleMailbox, String)] = [:]
        for row in rows where byID[row.0.target.id].map({ !$0.0.managesAccess && row.0.managesAccess }) ?? true { byID[row.0.target.id] = row }
        let ordered = byID.values.sorted { a, b in
            backwards ? b.1.utf8.lexicographicallyPrecedes(a.1.utf8) : a.1.utf8.lexicographicallyPrecedes(b.1.utf8)
        }
        return Page(rows: ordered.prefix(request.limit + 1).map(\.0), request: request, key: \.target.address)
    }
}
