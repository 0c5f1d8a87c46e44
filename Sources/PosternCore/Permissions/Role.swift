import Foundation

/// A user's role in one organization, strongest first.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    /// Signs for the organization: every right, and the only role that makes others legal representatives.
    case legalRepresentative = "legal-representative"
    /// Manages members, roles, mail services and every mailbox of the organization.
    case administrator
    /// Sees the mail services and mailboxes given to them, and the member list.
    case collaborator
    /// Sees only the mailboxes given to them.
    case external

    /// Whether the role manages the organization: members, roles, services, every mailbox.
    public var manages: Bool { self == .legalRepresentative || self == .administrator }

    public var label: String {
        switch self {
        case .legalRepresentative: "legal representative"
        case .administrator: "administrator"
        case .collaborator: "collaborator"
        case .external: "external"
        }
    }

    public static func < (a: Role, b: Role) -> Bool { allCases.firstIndex(of: a)! > allCases.firstIndex(of: b)! }

    /// Parses a role as typed on the command line ("legal-representative", "legal representative", "admin").
    public init(parsing text: String) throws(PosternError) {
        let key = text.lowercased().replacingOccurrences(of: " ", with: "-").replacingOccurrences(of: "_", with: "-")
        switch key {
        case "legal-representative", "legal-rep", "legal": self = .legalRepresentative
        case "administrator", "admin": self = .administrator
        case "collaborator": self = .collaborator
        case "external": self = .external
        default:
            throw PosternError(.unknownRole, """
                unknown role '\(text.prefix(64))'; the roles are \(Role.allCases.map(\.rawValue).joined(separator: ", "))
                """)
        }
    }
}
