/// Every failure a client can see: a stable `code` for programs and a `message` that says what to fix.
public struct PosternError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; the control API maps it to an HTTP status.
    public enum Kind: String, Sendable, Codable {
        case invalid, notFound, conflict, forbidden, unauthenticated, unavailable, `internal`
    }

    public let kind: Kind
    public let code: String
    public let message: String

    public init(_ kind: Kind, code: String, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

extension PosternError {
    public static func invalidAddress(_ text: String, why: String) -> PosternError {
        .init(.invalid, code: "invalid_address", "'\(text.prefix(320))' is not a mailbox address: \(why)")
    }
    public static func organizationNotFound(_ name: String) -> PosternError {
        .init(.notFound, code: "organization_not_found", "no organization named \"\(name.prefix(128))\"; `postern org list` shows them")
    }
    public static func serviceNotFound(_ name: String) -> PosternError {
        .init(.notFound, code: "mail_service_not_found", "no mail service named \"\(name.prefix(128))\"; `postern service list` shows them")
    }
    public static func mailboxNotFound(_ address: String) -> PosternError {
        .init(.notFound, code: "mailbox_not_found", "no mailbox \(address); add it with `postern mailbox add \(address)`")
    }
    public static func deviceNotFound(_ device: String, mailbox: String) -> PosternError {
        .init(.notFound, code: "device_not_found", "mailbox \(mailbox) has no device '\(device)'; `postern device list \(mailbox)` shows its devices")
    }
    public static let genericPasswordCannotBeReset = PosternError(
        .conflict, code: "generic_password_cannot_be_reset",
        "the generic password cannot be reset or displayed; add a device password instead (`postern device add ADDRESS --name NAME`)")
    public static let confirmationRequired = PosternError(
        .invalid, code: "confirmation_required",
        "disconnecting all devices needs an explicit confirmation (`--yes`, or \"confirm\": true); nothing was changed")
}
