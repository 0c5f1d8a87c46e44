import Foundation

/// Where a generic-password policy is set; the closest level that has one wins.
public enum PolicyLevel: String, Codable, Sendable, CaseIterable {
    case organization, service, mailbox
}

/// Whether a mailbox's generic password may still log in: refused for some services, from a date
/// on (none: at once). An empty `refused` allows it everywhere, which lets a mailbox keep its
/// generic password when its organization retires them.
public struct GenericPolicy: Codable, Sendable, Equatable {
    public var refused: Set<ServiceScope.Service>
    public var from: Date?

    public init(refused: Set<ServiceScope.Service>, from: Date? = nil) {
        self.refused = refused
        self.from = from
    }

    /// The services a generic password can be retired from, as `--refuse all` names them.
    public static let retirable: Set<ServiceScope.Service> = [.imap, .pop3, .smtp, .submission]

    /// Whether a correct generic password is refused for `service` (as the mail server names it) at `date`.
    public func refuses(_ service: String, at date: Date) -> Bool {
        guard !refused.isEmpty, from.map({ date >= $0 }) ?? true,
              let known = ServiceScope.Service(rawValue: service.lowercased()) else { return false }
        return refused.contains(known)
    }

    /// The policy that applies to a mailbox: its own, else its mail service's, else its organization's.
    public static func effective(mailbox: GenericPolicy?, service: GenericPolicy?, organization: GenericPolicy?)
        -> (policy: GenericPolicy, level: PolicyLevel)? {
        if let mailbox { return (mailbox, .mailbox) }
        if let service { return (service, .service) }
        if let organization { return (organization, .organization) }
        return nil
    }

    /// Parses `--refuse` names: services, or "all" for every retirable one; none: allowed.
    public static func services(_ names: [String]) throws(PosternError) -> Set<ServiceScope.Service> {
        guard !names.isEmpty else { return [] }
        if names.map({ $0.lowercased() }) == ["all"] { return retirable }
        return try ServiceScope(names: names).services ?? retirable
    }

    enum CodingKeys: String, CodingKey { case refused, from }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        refused = Set(try c.decode([ServiceScope.Service].self, forKey: .refused))
        from = try c.decodeIfPresent(Date.self, forKey: .from)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(refused.map(\.rawValue).sorted(), forKey: .refused)
        try c.encodeIfPresent(from, forKey: .from)
    }

    /// How the policy reads in a list or a history line.
    public var summary: String {
        guard !refused.isEmpty else { return "allowed" }
        let services = refused.map(\.rawValue).sorted().joined(separator: ", ")
        return "refused for \(services)" + (from.map { " from \($0.formatted(.iso8601.year().month().day()))" } ?? "")
    }
}
