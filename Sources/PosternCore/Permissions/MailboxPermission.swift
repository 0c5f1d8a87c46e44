import Foundation

/// What a user may do on one mailbox: the eleven permissions, stored as one integer.
public struct MailboxPermission: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & Self.all.rawValue }

    public static let devices = MailboxPermission(bit: 0)
    public static let responders = MailboxPermission(bit: 1)
    public static let signatures = MailboxPermission(bit: 2)
    public static let redirections = MailboxPermission(bit: 3)
    public static let aliases = MailboxPermission(bit: 4)
    public static let history = MailboxPermission(bit: 5)
    public static let restorations = MailboxPermission(bit: 6)
    public static let filters = MailboxPermission(bit: 7)
    public static let rules = MailboxPermission(bit: 8)
    public static let folders = MailboxPermission(bit: 9)
    public static let security = MailboxPermission(bit: 10)

    public static let all = MailboxPermission(uncheckedRawValue: (1 << 11) - 1)

    /// Each permission with its name (as the CLI and the API spell it) and what it allows, in order.
    public static let named: [(name: String, permission: MailboxPermission, means: String)] = [
        ("devices", .devices, "configure devices: list, add, rotate, scope and disconnect device passwords"),
        ("responders", .responders, "manage responders"),
        ("signatures", .signatures, "manage signatures"),
        ("redirections", .redirections, "manage redirections"),
        ("aliases", .aliases, "manage aliases"),
        ("history", .history, "view the action history"),
        ("restorations", .restorations, "manage restorations"),
        ("filters", .filters, "manage filters"),
        ("rules", .rules, "manage rules"),
        ("folders", .folders, "manage folders"),
        ("security", .security, "manage security"),
    ]

    private init(bit: Int) { rawValue = 1 << UInt16(bit) }
    private init(uncheckedRawValue: UInt16) { rawValue = uncheckedRawValue }

    /// The names of the permissions held, in order.
    public var names: [String] { Self.named.filter { contains($0.permission) }.map(\.name) }

    /// Parses names ("devices,history", or "all", or "none"); unknown names are an error that lists the known ones.
    public init(names: [String]) throws(PosternError) {
        var result: MailboxPermission = []
        for raw in names.flatMap({ $0.split(separator: ",") }) {
            let name = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if name == "all" { result = .all; continue }
            if name == "none" || name.isEmpty { continue }
            guard let known = Self.named.first(where: { $0.name == name }) else {
                throw PosternError(.unknownPermission, """
                    unknown permission '\(name.prefix(64))'; the permissions are \(Self.named.map(\.name).joined(separator: ", ")), or all, or none
                    """)
            }
            result.insert(known.permission)
        }
        self = result
    }

    public init(from decoder: any Decoder) throws {
        let names = try decoder.singleValueContainer().decode([String].self)
        do { self = try MailboxPermission(names: names) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(names)
    }
}
