import Foundation
import PosternCore

/// How a list is ordered for keyset paging: one unique SQL expression, and what a cursor is.
struct Keyset {
    /// The expression the list is ordered by (unique within the list).
    let key: String
    /// Newest first (history): `after` means smaller keys.
    var descending = false
    /// The cursor as the key's value: text as it is, or an id.
    var cursor: (String) throws -> SQLValue = { .text($0) }

    static func byID(_ column: String, descending: Bool = false) -> Keyset {
        Keyset(key: column, descending: descending) { text in
            guard let id = Int64(text), id > 0 else { throw PosternError(.invalidCursor, "this list's cursor is an id (the `next` of an earlier page)") }
            return .integer(id)
        }
    }
}

extension StoreTransaction {
    /// One page of `select` (a SELECT … FROM … without WHERE) under `conditions`, read by `keyset`:
    /// `limit + 1` rows from the cursor on, by the index the key has. No OFFSET, no count.
    func keysetPage<Item>(_ select: String, conditions: [String] = [], arguments: SQLArguments = [], keyset: Keyset,
                          request: PageRequest, row: (StoreRow) throws -> Item, key: (Item) -> String) async throws -> Page<Item> {
        var conditions = conditions
        var arguments = arguments
        let backwards = request.before != nil
        // The order the rows are read in: the list's, or its reverse for a "previous" page.
        let ascending = keyset.descending == backwards
        if let cursor = request.after ?? request.before {
            conditions.append("\(keyset.key) \(ascending ? ">" : "<") ?")
            arguments += SQLArguments([try keyset.cursor(cursor)])
        }
        let sql = select + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + " ORDER BY \(keyset.key) \(ascending ? "ASC" : "DESC") LIMIT ?"
        let rows = try await StoreRow.fetchAll(self, sql: sql, arguments: arguments + [request.limit + 1]).map(row)
        return Page(rows: rows, request: request, key: key)
    }

    /// A case-insensitive "begins with" on `expression` (its `\`, `%` and `_` taken literally).
    static func beginsWith(_ expression: String, _ text: String) -> (condition: String, argument: SQLValue) {
        let escaped = text.lowercased().replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return ("lower(\(expression)) LIKE ? ESCAPE '\\'", .text(escaped + "%"))
    }

    func search(_ expressions: [String], _ request: PageRequest, into conditions: inout [String], _ arguments: inout SQLArguments) {
        guard let text = request.search else { return }
        let parts = expressions.map { Self.beginsWith($0, text) }
        conditions.append("(" + parts.map(\.condition).joined(separator: " OR ") + ")")
        arguments += SQLArguments(parts.map(\.argument))
    }

    // MARK: the lists

    /// Organizations by name: every one (the operator, `userID` nil) or the user's.
    public func organizations(userID: Int64?, page request: PageRequest) async throws -> Page<Organization> {
        var conditions: [String] = []
        var arguments: SQLArguments = []
        var select = "SELECT o.id, o.name, o.createdAt FROM organization o"
        if let userID {
            select += " JOIN membership ms ON ms.organizationId = o.id"
            conditions.append("ms.userId = ?")
            arguments += [userID]
        }
        search(["o.name"], request, into: &conditions, &arguments)
        return try await keysetPage(select, conditions: conditions, arguments: arguments, keyset: Keyset(key: "lower(o.name)"), request: request,
                              row: { Organization(id: $0["id"], name: $0["name"], createdAt: $0["createdAt"]) }, key: \.name)
    }

    /// Mail services by name: every one (the operator) or those the user sees, as the rule set
    /// decides it: every service of an organization they manage, and, as a collaborator, those given to them.
    public func mailServices(userID: Int64?, page request: PageRequest) async throws -> Page<MailService> {
        var conditions: [String] = []
        var arguments: SQLArguments = []
        if let userID {
            conditions.append("""
                (s.organizationId IN (SELECT organizationId FROM membership WHERE userId = ? AND role IN ('legal-representative', 'administrator'))
                 OR s.id IN (SELECT g.mailServiceId FROM serviceGrant g JOIN mailService gs ON gs.id = g.mailServiceId
                             JOIN membership gm ON gm.organizationId = gs.organizationId AND gm.userId = g.userId
                             WHERE g.userId = ? AND gm.role = 'collaborator'))
                """)
            arguments += [userID, userID]
        }
        search(["s.name"], request, into: &conditions, &arguments)
        return try await keysetPage(Self.serviceSelect, conditions: conditions, arguments: arguments, keyset: Keyset(key: "lower(s.name)"),
                              request: request, row: Self.mailService(from:), key: \.name)
    }

    /// Users by login (the operator's list).
    public func users(page request: PageRequest) async throws -> Page<User> {
        var conditions: [String] = []
        var arguments: SQLArguments = []
        search(["login", "displayName"], request, into: &conditions, &arguments)
        return try await keysetPage("SELECT * FROM \"user\"", conditions: conditions, arguments: arguments, keyset: Keyset(key: "lower(login)"),
                              request: request, row: Self.user(from:), key: \.login)
    }

    /// An organization's members by login, optionally those whose login or name begins with the search.
    public func members(organizationID: Int64, page request: PageRequest) async throws -> Page<Member> {
        var conditions = ["ms.organizationId = ?"]
        var arguments: SQLArguments = [organizationID]
        search(["u.login", "u.displayName"], request, into: &conditions, &arguments)
        return try await keysetPage("""
            SELECT u.login, u.displayName, o.name AS organization, ms.role FROM membership ms
            JOIN \"user\" u ON u.id = ms.userId JOIN organization o ON o.id = ms.organizationId
            """, conditions: conditions, arguments: arguments, keyset: Keyset(key: "lower(u.login)"), request: request,
            row: { Member(login: $0["login"], displayName: $0["displayName"], organization: $0["organization"], role: Role(rawValue: $0["role"]) ?? .external) },
            key: \.login)
    }

    /// One mail service's mailboxes, by address (its (service, address) index).
    public func mailboxes(serviceID: Int64, page request: PageRequest) async throws -> Page<Mailbox> {
        var conditions = ["m.mailServiceId = ?"]
        var arguments: SQLArguments = [serviceID]
        search(["m.address"], request, into: &conditions, &arguments)
        return try await keysetPage("SELECT m.id, m.address, m.createdAt, s.name AS service FROM mailbox m JOIN mailService s ON s.id = m.mailServiceId",
                              conditions: conditions, arguments: arguments,
                              keyset: Keyset(key: engine == .postgres ? "m.address COLLATE \"C\"" : "m.address"), request: request,
                              row: { Mailbox(id: $0["id"], address: try MailAddress($0["address"] as String), mailService: $0["service"], createdAt: $0["createdAt"]) },
                              key: \.address.description)
    }

    public func mailboxCount(serviceID: Int64) async throws -> Int {
        try await Int.fetchOne(self, sql: "SELECT count(*) FROM mailbox WHERE mailServiceId = ?", arguments: [serviceID]) ?? 0
    }

    /// The first `limit` members of an organization (by login) without access to a mailbox: whom it can be given to.
    public func members(organizationID: Int64, withoutAccessTo mailboxID: Int64, limit: Int) async throws -> [Member] {
        try await StoreRow.fetchAll(self, sql: """
            SELECT u.login, u.displayName, o.name AS organization, ms.role FROM membership ms
            JOIN \"user\" u ON u.id = ms.userId JOIN organization o ON o.id = ms.organizationId
            WHERE ms.organizationId = ? AND NOT EXISTS (SELECT 1 FROM mailboxAccess a WHERE a.mailboxId = ? AND a.userId = ms.userId)
            ORDER BY lower(u.login) LIMIT ?
            """, arguments: [organizationID, mailboxID, limit]).map {
            Member(login: $0["login"], displayName: $0["displayName"], organization: $0["organization"], role: Role(rawValue: $0["role"]) ?? .external)
        }
    }

    /// Who was given access to a mailbox (with their display names), by login.
    public func access(mailboxID: Int64, page request: PageRequest) async throws -> Page<(access: MailboxAccess, displayName: String)> {
        var conditions = ["a.mailboxId = ?"]
        var arguments: SQLArguments = [mailboxID]
        search(["u.login"], request, into: &conditions, &arguments)
        return try await keysetPage("""
            SELECT u.login, u.displayName, m.address, a.permissions FROM mailboxAccess a JOIN \"user\" u ON u.id = a.userId
            JOIN mailbox m ON m.id = a.mailboxId
            """, conditions: conditions, arguments: arguments, keyset: Keyset(key: "lower(u.login)"), request: request,
            row: { (MailboxAccess(login: $0["login"], mailbox: $0["address"], permissions: MailboxPermission(rawValue: UInt16(truncatingIfNeeded: $0["permissions"] as Int))),
                    $0["displayName"] as String) },
            key: \.0.login)
    }

    /// A mailbox's devices (its generic password among them), oldest first.
    public func devices(mailboxID: Int64, page request: PageRequest) async throws -> Page<Device> {
        try await keysetPage("SELECT * FROM device", conditions: ["mailboxId = ?"], arguments: [mailboxID], keyset: .byID("id"), request: request,
                       row: Self.device(from:), key: { String($0.id) })
    }

    /// A mailbox's aliases, by address.
    public func aliases(mailboxID: Int64, page request: PageRequest) async throws -> Page<Alias> {
        var conditions = ["a.mailboxId = ?"]
        var arguments: SQLArguments = [mailboxID]
        search(["a.address"], request, into: &conditions, &arguments)
        return try await keysetPage("SELECT a.address, a.createdAt, m.address AS mailbox FROM alias a JOIN mailbox m ON m.id = a.mailboxId",
                              conditions: conditions, arguments: arguments, keyset: Keyset(key: "a.address"), request: request,
                              row: { Alias(address: $0["address"], mailbox: $0["mailbox"], createdAt: $0["createdAt"]) }, key: \.address)
    }

    /// API tokens and sessions, by id: one user's, or everyone's (the operator's list).
    public func tokens(userID: Int64?, page request: PageRequest) async throws -> Page<APIToken> {
        try await keysetPage("SELECT t.*, u.login FROM apiToken t JOIN \"user\" u ON u.id = t.userId",
                       conditions: userID == nil ? [] : ["t.userId = ?"], arguments: userID.map { [$0] } ?? [], keyset: .byID("t.id"),
                       request: request, row: Self.token(from:), key: { String($0.id) })
    }

    /// History entries newest first (keyed by id), of one mailbox or one organization, in a time range, of one kind.
    public func history(_ query: HistoryQuery, page request: PageRequest) async throws -> Page<HistoryEntry> {
        let (conditions, arguments) = Self.historyConditions(query)
        return try await keysetPage("SELECT * FROM history", conditions: conditions, arguments: arguments, keyset: .byID("id", descending: true),
                              request: request, row: Self.historyEntry(from:), key: { String($0.id ?? 0) })
    }
}
