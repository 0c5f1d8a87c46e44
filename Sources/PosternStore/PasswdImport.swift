import Foundation
import PosternCore

/// A mailbox as a passwd-file import finds it: its ids, its generic password if it has one, and
/// the policy that would apply to a generic password set now.
public struct ImportTarget: Sendable {
    public let mailboxID: Int64
    public let genericHash: String?
    public let policy: GenericPolicy?
}

/// A mail service that can take imported mailboxes of one domain.
public struct ImportService: Sendable {
    public let id: Int64
    public let name: String
    /// The service's generic-password policy, else its organization's.
    public let policy: GenericPolicy?
}

/// The import writes a line in a handful of statements, each prepared once per transaction.
extension StoreTransaction {
    public func importTarget(_ address: MailAddress) throws -> ImportTarget? {
        guard let row = try StoreRow.fetchOne(self, sql: """
            SELECT m.id, d.genericHash, pm.refused AS mRefused, pm.fromDate AS mFrom, ps.refused AS sRefused, ps.fromDate AS sFrom,
                   po.refused AS oRefused, po.fromDate AS oFrom
            FROM mailbox m JOIN mailService s ON s.id = m.mailServiceId
            LEFT JOIN device d ON d.mailboxId = m.id AND d.kind = 'generic'
            LEFT JOIN genericPolicy pm ON pm.level = 'mailbox' AND pm.targetId = m.id
            LEFT JOIN genericPolicy ps ON ps.level = 'service' AND ps.targetId = s.id
            LEFT JOIN genericPolicy po ON po.level = 'organization' AND po.targetId = s.organizationId
            WHERE m.address = ?
            """, arguments: [address.description]) else { return nil }
        let policy = GenericPolicy.effective(mailbox: Self.policy(row, "m"), service: Self.policy(row, "s"), organization: Self.policy(row, "o"))
        return ImportTarget(mailboxID: row["id"], genericHash: row["genericHash"], policy: policy?.policy)
    }

    /// The mail service holding `domain`, or nil.
    public func importService(domain: String) throws -> ImportService? {
        guard let row = try StoreRow.fetchOne(self, sql: """
            SELECT s.id, s.name, ps.refused AS sRefused, ps.fromDate AS sFrom, po.refused AS oRefused, po.fromDate AS oFrom
            FROM domain d JOIN mailService s ON s.id = d.mailServiceId
            LEFT JOIN genericPolicy ps ON ps.level = 'service' AND ps.targetId = s.id
            LEFT JOIN genericPolicy po ON po.level = 'organization' AND po.targetId = s.organizationId
            WHERE d.name = ?
            """, arguments: [domain]) else { return nil }
        let policy = GenericPolicy.effective(mailbox: nil, service: Self.policy(row, "s"), organization: Self.policy(row, "o"))
        return ImportService(id: row["id"], name: row["name"], policy: policy?.policy)
    }

    /// Adds a mailbox the caller knows is absent; returns its id.
    public func insertImportedMailbox(_ address: MailAddress, serviceID: Int64, at date: Date) throws -> Int64 {
        return try insert(sql: "INSERT INTO mailbox (mailServiceId, address, createdAt) VALUES (?, ?, ?)", arguments: [serviceID, address.description, date])
    }

    /// Gives a mailbox the caller knows has none its generic password; returns its device id.
    public func insertImportedGenericPassword(mailboxID: Int64, _ password: GenericPassword, at date: Date) throws -> Int64 {
        return try insert(sql: "INSERT INTO device (mailboxId, name, kind, genericHash, createdAt) VALUES (?, ?, 'generic', ?, ?)",
                   arguments: [mailboxID, DeviceRules.genericName, password.stored, date])
    }

    static func policy(_ row: StoreRow, _ prefix: String) -> GenericPolicy? {
        guard let names: String = row["\(prefix)Refused"] else { return nil }
        return GenericPolicy(refused: Set(names.split(separator: ",").compactMap { ServiceScope.Service(rawValue: String($0)) }),
                             from: row["\(prefix)From"])
    }
}
