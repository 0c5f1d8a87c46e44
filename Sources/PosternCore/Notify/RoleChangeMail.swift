import Foundation

/// The summary a member gets when their role changes: who changed it, the old and new role, when.
/// A pure renderer: an RFC 5322 message, headers in ASCII (RFC 2047 where a name is not), no secret.
public struct RoleChangeMail: Sendable, Equatable {
    public var to: String
    public var displayName: String
    public var organization: String
    public var before: Role?
    public var after: Role
    public var changedBy: String
    public var at: Date

    public init(to: String, displayName: String, organization: String, before: Role?, after: Role, changedBy: String, at: Date) {
        self.to = to
        self.displayName = displayName
        self.organization = organization
        self.before = before
        self.after = after
        self.changedBy = changedBy
        self.at = at
    }

    public var subject: String {
        before == nil ? "You are now \(after.label) of \(organization)" : "Your role in \(organization) is now \(after.label)"
    }

    /// The whole message, lines ending in LF (sendmail takes them so).
    public func render(from: String, messageID: String) -> String {
        let when = Self.dateFormatter.string(from: at)
        let greeting = displayName.isEmpty || displayName == to ? "Hello," : "Hello \(displayName),"
        let change = before.map { "Your role in the organization \(organization) changed:\n\n  before: \($0.label)\n  now:    \(after.label)" }
            ?? "You were added to the organization \(organization):\n\n  role:   \(after.label)"
        return """
            From: \(from)
            To: \(to)
            Subject: \(Self.encodedWord(subject))
            Date: \(when)
            Message-ID: <\(messageID)>
            MIME-Version: 1.0
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: 8bit
            Auto-Submitted: auto-generated

            \(greeting)

            \(change)
              by:     \(changedBy)
              when:   \(when)

            If you did not expect this, ask an administrator of \(organization).

            -- 
            Postern

            """
    }

    /// An RFC 2047 encoded word when the text is not plain printable ASCII.
    static func encodedWord(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        return "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    static let dateFormatter: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return f
    }()
}
