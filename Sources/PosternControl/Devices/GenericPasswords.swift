import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// Retiring generic passwords on the operator's schedule: policies at organization, mail-service
/// or mailbox level (the closest wins), the report of who still has one, and the history of refusals.
extension DevicesPlane {
    public func genericPolicy(_ level: PolicyLevel, _ name: String, actor: Actor) throws -> GenericPolicyBody {
        try store.read { db in
            let target = try Self.policyTarget(level, name, actor: actor, in: db)
            return GenericPolicyBody(level: level, name: name, policy: try db.genericPolicy(level, target: target),
                                     genericPasswords: try db.genericPasswords(under: level, target: target).count)
        }
    }

    /// Sets (or with nil clears) the policy of one level; the generic passwords under it follow at once.
    public func setGenericPolicy(_ level: PolicyLevel, _ name: String, _ policy: GenericPolicy?, actor: Actor) throws -> GenericPolicyBody {
        try node.commit { db in
            let target = try Self.policyTarget(level, name, actor: actor, in: db)
            try db.setGenericPolicy(level, target: target, policy)
            try ActionLog.record(.genericPolicySet(level, name: name, policy), mailbox: level == .mailbox ? name : nil, by: actor, in: db)
            let governed = try db.genericPasswords(under: level, target: target)
            return (GenericPolicyBody(level: level, name: name, policy: policy, genericPasswords: governed.count),
                    .credentials(governed.map { CredentialIndex.Change.setGenericPolicy(address: $0.address, $0.policy?.policy) }))
        }
    }

    /// Every mailbox that still has a generic password: since when, its last use, and its policy.
    public func genericReport(at now: Date = Date(), actor: Actor) throws -> GenericReport {
        let rows = try store.read { db in
            try Access.authorize(actor, .readGenericReport, in: db)
            return try db.genericPasswords()
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
    static func policyTarget(_ level: PolicyLevel, _ name: String, actor: Actor, in db: StoreTransaction) throws -> Int64 {
        switch level {
        case .organization: try Access.organization(name, Action.manageOrganization, actor: actor, in: db)
        case .service: try Access.service(name, .manage, actor: actor, in: db).id
        case .mailbox: try Access.mailbox(try MailAddress(name), .security, actor: actor, in: db).id!
        }
    }

    /// One history line per refusal noted by the check (at most one a day per mailbox, service and IP).
    public func recordGenericRefusals(_ refusals: [GenericRefusals.Refusal]) {
        guard !refusals.isEmpty else { return }
        do {
            try store.write { db in
                for r in refusals {
                    try ActionLog.recordByPostern(.genericRefused(service: r.service, ip: r.ip, r.policy), mailbox: r.address, at: r.at, in: db)
                }
            }
        } catch {
            logger.error("could not record \(refusals.count) generic-password refusal(s): \(error)")
        }
    }
}
