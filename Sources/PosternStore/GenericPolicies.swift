import Foundation
import PosternCore

/// A generic password as `postern report generic` lists it.
public struct GenericPasswordRow: Sendable {
    public let deviceID: Int64
    public let address: String
    public let createdAt: Date
    public let lastUse: LastUse?
    public let policy: (policy: GenericPolicy, level: PolicyLevel)?
}

extension StoreTransaction {
    /// The row id a policy level names: an organization or mail service by name, a mailbox by address.
    public func policyTarget(_ level: PolicyLevel, _ name: String) async throws -> Int64 {
        switch level {
        case .organization: return try await organizationID(name)
        case .service:
            guard let id = try await Int64.fetchOne(self, sql: "SELECT id FROM mailService WHERE lower(name) = lower(?)", arguments: [name]) else {
                throw PosternError.serviceNotFound(name)
            }
            return id
        case .mailbox: return try await mailbox(try MailAddress(name)).id!
        }
    }

    public func genericPolicy(_ level: PolicyLevel, target: Int64) async throws -> GenericPolicy? {
        try await StoreRow.fetchOne(self, sql: "SELECT refused, fromDate FROM genericPolicy WHERE level = ? AND targetId = ?",
                         arguments: [level.rawValue, target]).map(Self.policy(from:))
    }

    public func setGenericPolicy(_ level: PolicyLevel, target: Int64, _ policy: GenericPolicy?) async throws {
        guard let policy else {
            try await execute(sql: "DELETE FROM genericPolicy WHERE level = ? AND targetId = ?", arguments: [level.rawValue, target])
            return
        }
        try await execute(sql: """
            INSERT INTO genericPolicy (level, targetId, refused, fromDate, updatedAt) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (level, targetId) DO UPDATE SET refused = excluded.refused, fromDate = excluded.fromDate, updatedAt = excluded.updatedAt
            """, arguments: [level.rawValue, target, policy.refused.map(\.rawValue).sorted().joined(separator: ","), policy.from, Date()])
    }

    static func policy(from row: StoreRow) -> GenericPolicy {
        let names: String = row["refused"]
        return GenericPolicy(refused: Set(names.split(separator: ",").compactMap { ServiceScope.Service(rawValue: String($0)) }),
                             from: row["fromDate"])
    }

    /// Every generic password with the policy that applies to it; `level`/`target` narrow it to
    /// the mailboxes under one organization, mail service or mailbox; `withPolicy` to those a policy applies to.
    public func genericPasswords(under level: PolicyLevel? = nil, target: Int64? = nil, withPolicy: Bool = false) async throws -> [GenericPasswordRow] {
        var sql = """
            SELECT d.id, m.address, d.createdAt, d.lastUsedAt, d.lastIP, d.lastService,
                   pm.refused AS mRefused, pm.fromDate AS mFrom, ps.refused AS sRefused, ps.fromDate AS sFrom,
                   po.refused AS oRefused, po.fromDate AS oFrom
            FROM device d JOIN mailbox m ON m.id = d.mailboxId JOIN mailService s ON s.id = m.mailServiceId
            LEFT JOIN genericPolicy pm ON pm.level = 'mailbox' AND pm.targetId = m.id
            LEFT JOIN genericPolicy ps ON ps.level = 'service' AND ps.targetId = s.id
            LEFT JOIN genericPolicy po ON po.level = 'organization' AND po.targetId = s.organizationId
            WHERE d.kind = 'generic'
            """
        var arguments: SQLArguments = []
        if let level, let target {
            let column = switch level {
            case .organization: "s.organizationId"
            case .service: "s.id"
            case .mailbox: "m.id"
            }
            sql += " AND \(column) = ?"
            arguments += [target]
        }
        if withPolicy { sql += " AND (pm.refused IS NOT NULL OR ps.refused IS NOT NULL OR po.refused IS NOT NULL)" }
        return try await StoreRow.fetchAll(self, sql: sql + " ORDER BY m.address", arguments: arguments).map { row in
            func policy(_ prefix: String) -> GenericPolicy? { Self.policy(row, prefix) }
            let lastAt: Date? = row["lastUsedAt"]
            return GenericPasswordRow(deviceID: row["id"], address: row["address"], createdAt: row["createdAt"],
                                      lastUse: lastAt.map { LastUse(at: $0, ip: row["lastIP"], service: row["lastService"] ?? "") },
                                      policy: GenericPolicy.effective(mailbox: policy("m"), service: policy("s"), organization: policy("o")))
        }
    }
}
