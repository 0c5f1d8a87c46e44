import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// Retiring generic passwords on the operator's schedule: policies at organization, mail-service
/// or mailbox level (the closest wins), the report of who still has one, and the history of refusals.
extension DevicesPlane {
    public func genericPolicy(_ level: PolicyLevel, _ name: String, actor: Actor) async throws -> GenericPolicyBody {
        try await store.read { db in
            let target = try await Self.policyTarget(level, name, actor: actor, in: db)
            return try await GenericPolicyBody(level: level, name: name, policy: db.genericPolicy(level, target: target),
                                     genericPasswords: try db.genericPasswords(under: level, target: target).count)
        }
    }

    /// Sets (or with nil clears) the policy of one level; the generic passwords under it follow at once.
    public func setGenericPolicy(_ level: PolicyLevel, _ name: String, _ policy: GenericPolicy?, actor: Actor) async throws -> GenericPolicyBody {
        try await node.commit { db in
            let target = try await Self.policyTarget(level, name, actor: actor, in: db)
            try await db.setGenericPolicy(level, target: target, policy)
            try await ActionLog.record(.genericPolicySet(level, name: name, policy), mailbox: level == .mailbox ? name : nil, by: actor, in: db)
            let governed = try await db.genericPasswords(under: level, target: target)
            return (GenericPolicyBody(level: level, name: name, policy: policy, genericPasswords: governed.count),
                    .credentials(governed.map { CredentialIndex.Change.setGenericPolicy(address: $0.address, $0.policy?.policy) }))
        }
    }

    /// Every mailbox that still has a generic password: since when, its last use, and its policy.
    public func genericReport(at now: Date = Date(), actor: Actor) async throws -> GenericReport {
        let rows = try await store.read { db in
            try await Access.authorize(actor, .readGenericReport, in: db)
            return try await db.genericPasswords()
        }
        let fresh = lastUse.peek(rows.map(\.deviceID))
        return GenericReport(mailboxes: rows.map { row in
            let refused = row.policy.map { p in p.policy.refused.map(\.rawValue).sorted().filter { p.policy.refuses($0, at: now) } } ?? []
            return GenericReport.Entry(address: row.address, since: row.createdAt, lastUse: LastUse.latest(row.lastUse, fresh[row.deviceID]),
                                       policy: row.policy?.policy, policyLevel: row.policy?.level, refusedNow: refused)
        })
    }

    /// The row a policy level names, once the actor may set policies there: an organization's or
    /// a service's need its administrators, a mailbox's its "security" permission.
    static func policyTarget(_ level: PolicyLevel, _ name: String, actor: Actor, in db: StoreTransaction) async throws -> Int64 {
        switch level {
        case .organization: try await Access.organization(name, Action.manageOrganization, actor: actor, in: db)
        case .service: try await Access.service(name, .manage, actor: actor, in: db).id
        case .mailbox: try await Access.mailbox(try MailAddress(name), .security, actor: actor, in: db).id!
        }
    }

    /// One history line per refusal noted by the check (at most one a day per mailbox, service and IP).
    public func recordGenericRefusals(_ refusals: [GenericRefusals.Refusal]) async {
        guard !refusals.isEmpty else { return }
        do {
            try await store.write { db in
                for r in refusals {
                    try await ActionLog.recordByPostern(.genericRefused(service: r.service, ip: r.ip, r.policy), mailbox: r.address, at: r.at, in: db)
                }
            }
        } catch {
            logger.error("could not record \(refusals.count) generic-password refusal(s): \(error)")
        }
    }
}
