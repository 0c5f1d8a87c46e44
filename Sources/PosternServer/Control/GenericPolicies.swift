import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// Retiring generic passwords on the operator's schedule: policies at organization, mail-service
/// or mailbox level (the closest wins), the report of who still has one, and the history of refusals.
extension ControlPlane {
    public func genericPolicy(_ level: PolicyLevel, _ name: String, actor: Actor) throws -> GenericPolicyBody {
        try store.read { db in
            let target = try Self.policyTarget(level, name, actor: actor, in: db)
            return GenericPolicyBody(level: level, name: name, policy: try db.genericPolicy(level, target: target),
                                     genericPasswords: try db.genericPasswords(under: level, target: target).count)
        }
    }

    /// Sets (or with nil clears) the policy of one level; the generic passwords under it follow at once.
    public func setGenericPolicy(_ level: PolicyLevel, _ name: String, _ policy: GenericPolicy?, actor: Actor) throws -> GenericPolicyBody {
        try commit { db in
            let target = try Self.policyTarget(level, name, actor: actor, in: db)
            try db.setGenericPolicy(level, target: target, policy)
            let what = policy.map { "generic password policy of \(level.rawValue) \(name): \($0.summary)" }
                ?? "generic password policy of \(level.rawValue) \(name) removed"
            try db.appendHistory(HistoryEntry(mailbox: level == .mailbox ? name : nil, actor: actor, action: "policy.generic", detail: what))
            let governed = try db.genericPasswords(under: level, target: target)
            return (GenericPolicyBody(level: level, name: name, policy: policy, genericPasswords: governed.count),
                    .credentials(governed.map { CredentialIndex.Change.setGenericPolicy(address: $0.address, $0.policy?.policy) }))
        }
    }

    /// Every mailbox that still has a generic password: since when, its last use, and its policy.
    public func genericReport(at now: Date = Date(), actor: Actor) throws -> GenericReport {
        let rows = try store.read { db in
            try db.authorize(actor, .operate("read the report of every generic password"))
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
        case .organization:
            let id = try db.organizationID(name)
            try db.authorize(actor, .manageOrganization(id), orHide: PosternError.organizationNotFound(name))
            return id
        case .service:
            return try service(name, .manage, actor: actor, in: db).id
        case .mailbox:
            return try mailbox(try MailAddress(name), .security, actor: actor, in: db).id!
        }
    }

    /// One history line per refusal noted by the check (at most one a day per mailbox, service and IP).
    public func recordGenericRefusals(_ refusals: [GenericRefusals.Refusal]) {
        guard !refusals.isEmpty else { return }
        do {
            try store.write { db in
                for r in refusals {
                    try db.appendHistory(HistoryEntry(at: r.at, mailbox: r.address, actor: "postern", action: "generic.refused",
                        detail: "generic password refused for \(r.service)\(r.ip.map { " from \($0)" } ?? "") by policy (\(r.policy.summary)); further refusals today are not recorded"))
                }
            }
        } catch {
            logger.error("could not record \(refusals.count) generic-password refusal(s): \(error)")
        }
    }
}
