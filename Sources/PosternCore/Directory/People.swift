import Foundation

/// A person who manages mail: a login (an email address, not necessarily a mailbox of ours), a
/// display name, and an account password that is never a mail password.
public struct User: Codable, Sendable, Equatable {
    public var id: Int64
    public var login: String
    public var displayName: String
    public var canSignIn: Bool
    public var createdAt: Date

    public init(id: Int64, login: String, displayName: String, canSignIn: Bool, createdAt: Date) {
        self.id = id
        self.login = login
        self.displayName = displayName
        self.canSignIn = canSignIn
        self.createdAt = createdAt
    }

    /// A login is an email address, stored with its domain in lowercase.
    public static func login(_ text: String) throws(PosternError) -> String {
        do { return try MailAddress(text.trimmingCharacters(in: .whitespaces)).description } catch {
            throw PosternError(.invalidLogin, "a user's login is an email address: \(error.message)")
        }
    }
}

/// A user's place in one organization.
public struct Member: Codable, Sendable, Equatable {
    public var login: String
    public var displayName: String
    public var organization: String
    public var role: Role

    public init(login: String, displayName: String, organization: String, role: Role) {
        self.login = login
        self.displayName = displayName
        self.organization = organization
        self.role = role
    }
}

/// What one user may do on one mailbox.
public struct MailboxAccess: Codable, Sendable, Equatable {
    public var login: String
    public var mailbox: String
    public var permissions: MailboxPermission

    public init(login: String, mailbox: String, permissions: MailboxPermission) {
        self.login = login
        self.mailbox = mailbox
        self.permissions = permissions
    }
}
