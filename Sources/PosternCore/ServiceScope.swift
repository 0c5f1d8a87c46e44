/// The services a device password may be used for: a subset of the mail protocols, or all of them.
/// A scoped password is refused by every other service, as if it were wrong.
public struct ServiceScope: Sendable, Equatable, Hashable, Codable {
    /// The services a scope can name, as mail servers send them in `service=`.
    public enum Service: String, CaseIterable, Sendable, Codable {
        case imap, pop3, smtp, submission, sieve

        /// Its bit in a scope's mask (the check tests one bit: no lookup, no unwrap).
        var bit: UInt8 {
            switch self {
            case .imap: 1
            case .pop3: 2
            case .smtp: 4
            case .submission: 8
            case .sieve: 16
            }
        }
    }

    /// nil: every service, including ones Postern does not know by name.
    public let services: Set<Service>?
    private let mask: UInt8

    public static let all = ServiceScope(nil)

    public init(_ services: Set<Service>?) {
        self.services = services
        self.mask = services?.reduce(0) { $0 | $1.bit } ?? 0xFF
    }

    /// Parses service names ("imap", "SMTP"…); an empty list means all.
    public init(names: [String]) throws(PosternError) {
        guard !names.isEmpty else {
            self = .all
            return
        }
        var set = Set<Service>()
        for name in names {
            guard let service = Service(rawValue: name.lowercased()) else {
                throw PosternError(.unknownService,
                                   "unknown service \"\(name.prefix(32))\"; a scope names some of \(Service.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            set.insert(service)
        }
        self.init(set)
    }

    /// Whether a password of this scope may log in to `service` (as the mail server names it).
    @inline(__always)
    public func allows(_ service: String) -> Bool {
        if mask == 0xFF { return true }
        guard let known = Service(rawValue: service) else { return false }
        return mask & known.bit != 0
    }

    /// The stored form: "imap,smtp" in a fixed order, nil for all.
    public var stored: String? {
        services.map { set in Service.allCases.filter(set.contains).map(\.rawValue).joined(separator: ",") }
    }

    public init(stored: String?) {
        guard let stored else {
            self = .all
            return
        }
        self.init(Set(stored.split(separator: ",").compactMap { Service(rawValue: String($0)) }))
    }

    public init(from decoder: any Decoder) throws {
        let names = try decoder.singleValueContainer().decode([String]?.self)
        self = try ServiceScope(names: names ?? [])
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let services { try c.encode(Service.allCases.filter(services.contains).map(\.rawValue)) } else { try c.encodeNil() }
    }
}
