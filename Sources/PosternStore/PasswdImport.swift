import Foundation
import PosternCore

/// A mailbox as a passwd-file import finds it: its ids, its generic password if it has one, and
/// the policy that would apply to a generic password set now.
public struct ImportTarget: Sendable {
    public let mailboxID: Int64
    public let genericHash: String?
    public let policy: GenericPolicy?
    public let organizationID: Int64

    public init(mailboxID: Int64, genericHash: String?, policy: GenericPolicy?, organizationID: Int64) {
        self.mailboxID = mailboxID
        self.genericHash = genericHash
        self.policy = policy
        self.organizationID = organizationID
    }
}

/// A mail service that can take imported mailboxes of one domain.
public struct ImportService: Sendable {
    public let id: Int64
    public let name: String
    public let organizationID: Int64
    /// The service's generic-password policy, else its organization's.
    public let policy: GenericPolicy?
}

/// The import writes a batch of lines in a handful of statements, whatever its size: on
/// PostgreSQL every statement is a round trip, and a statement per line would be the import's rate.
extension StoreTransaction {
    /// The mailboxes among `addresses` that exist, by address.
    public func importTargets(_ addresses: [MailAddress]) async throws -> [String: ImportTarget] {
        var targets: [String: ImportTarget] = [:]
        var start = 0
        while start < addresses.count {
            let chunk = addresses[start..<min(start + 1000, addresses.count)]
            start += chunk.count
            for row in try await StoreRow.fetchAll(self, sql: Self.importTargetSQL + "IN (" + Array(repeating: "?", count: chunk.count).joined(separator: ", ") + ")",
                                              arguments: SQLArguments(chunk.map { .text($0.description) })) {
                targets[row["address"]] = Self.importTarget(row)
            }
        }
        return targets
    }

    /// Adds mailboxes the caller knows are absent; returns their ids by address.
    public func insertImportedMailboxes(_ mailboxes: [(address: String, serviceID: Int64)], at date: Date) async throws -> [String: Int64] {
        try await insertReturningKeys(into: "mailbox (mailServiceId, address, createdAt)", row: "(?, ?, ?)", key: "address", mailboxes) {
            [.integer($0.serviceID), .text($0.address), .date(date)]
        }
    }

    /// Gives mailboxes that have none their generic passwords; returns the device ids by mailbox id.
    public func insertImportedGenericPasswords(_ passwords: [(mailboxID: Int64, password: GenericPassword)], at date: Date) async throws -> [Int64: Int64] {
        try await insertReturningKeys(into: "device (mailboxId, name, kind, genericHash, createdAt)", row: "(?, ?, 'generic', ?, ?)", key: "mailboxId", passwords) {
            [.integer($0.mailboxID), .text(DeviceRules.genericName), .text($0.password.stored), .date(date)]
        }
    }

    /// Multi-row INSERTs of 1000 rows each; returns each new row's id by `key` (RETURNING's order
    /// is not the VALUES' order, so rows are matched by a column the caller knows unique).
    func insertReturningKeys<Item, Key: SQLDecodable & Hashable>(into table: String, row: String, key: String, _ items: [Item],
                                                                _ values: (Item) -> [SQLValue]) async throws -> [Key: Int64] {
        var ids: [Key: Int64] = [:]
        for chunk in Self.chunks(items, 1000) {
            try await StoreRow.forEach(self, sql: "INSERT INTO \(table) VALUES " + Array(repeating: row, count: chunk.count).joined(separator: ", ")
                                 + " RETURNING id, \(key)", arguments: SQLArguments(chunk.flatMap(values))) { ids[$0[1]] = $0[0] }
        }
        return ids
    }

    static func chunks<T>(_ items: [T], _ size: Int) -> [ArraySlice<T>] {
        stride(from: 0, to: items.count, by: size).map { items[$0..<min($0 + size, items.count)] }
    }

    static let importTargetSQL = """
        SELECT m.id, m.address, s.organizationId, d.genericHash, pm.refused AS mRefused, pm.fromDate AS mFrom, ps.refused AS sRefused, ps.fromDate AS sFrom,
               po.refused AS oRefused, po.fromDate AS oFrom
        FROM mailbox m JOIN mailService s ON s.id = m.mailServiceId
        LEFT JOIN device d ON d.mailboxId = m.id AND d.kind = 'generic'
        LEFT JOIN genericPolicy pm ON pm.level = 'mailbox' AND pm.targetId = m.id
        LEFT JOIN genericPolicy ps ON ps.level = 'service' AND ps.targetId = s.id
        LEFT JOIN genericPolicy po ON po.level = 'organization' AND po.targetId = s.organizationId
        WHERE m.address \u{20}
        """

    static func importTarget(_ row: StoreRow) -> ImportTarget {
        let policy = GenericPolicy.effective(mailbox: Self.policy(row, "m"), service: Self.policy(row, "s"), organization: Self.policy(row, "o"))
        return ImportTarget(mailboxID: row["id"], genericHash: row["genericHash"], policy: policy?.policy, organizationID: row["organizationId"])
    }

    /// The mail service holding `domain`, or nil.
    public func importService(domain: String) async throws -> ImportService? {
        guard let row = try await StoreRow.fetchOne(self, sql: """
            SELECT s.id, s.name, s.organizationId, ps.refused AS sRefused, ps.fromDate AS sFrom, po.refused AS oRefused, po.fromDate AS oFrom
            FROM domain d JOIN mailService s ON s.id = d.mailServiceId
            LEFT JOIN genericPolicy ps ON ps.level = 'service' AND ps.targetId = s.id
            LEFT JOIN genericPolicy po ON po.level = 'organization' AND po.targetId = s.organizationId
            WHERE d.name = ?
            """, arguments: [domain]) else { return nil }
        let policy = GenericPolicy.effective(mailbox: nil, service: Self.policy(row, "s"), organization: Self.policy(row, "o"))
        return ImportService(id: row["id"], name: row["name"], organizationID: row["organizationId"], policy: policy?.policy)
    }

    static func policy(_ row: StoreRow, _ prefix: String) -> GenericPolicy? {
        guard let names: String = row["\(prefix)Refused"] else { return nil }
        return GenericPolicy(refused: Set(names.split(separator: ",").compactMap { ServiceScope.Service(rawValue: String($0)) }),
                             from: row["\(prefix)From"])
    }
}
