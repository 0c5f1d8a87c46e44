import Foundation

/// `PUT /v1/organizations/{organization}/members/{login}`: the member as they are now, and their role before (nil: new).
public struct MemberChange: Codable, Sendable, Equatable {
    public var member: Member
    public var previous: Role?
    public init(member: Member, previous: Role?) {
        self.member = member
        self.previous = previous
    }
}

/// What removing a member takes away (the preview), then what it took (the removal).
public struct MemberRemoval: Codable, Sendable, Equatable {
    public var member: Member
    public var mailboxAccess: [MailboxAccess]
    /// Mail services they were given.
    public var services: [String]
    /// Their API tokens and sessions: they go with their last membership (a member of another
    /// organization keeps them, for there).
    public var tokens: [APIToken]
    public init(member: Member, mailboxAccess: [MailboxAccess], services: [String], tokens: [APIToken] = []) {
        self.member = member
        self.mailboxAccess = mailboxAccess
        self.services = services
        self.tokens = tokens
    }
}

public struct AccessChange: Codable, Sendable, Equatable {
    public var access: MailboxAccess
    public var previous: MailboxPermission?
    public init(access: MailboxAccess, previous: MailboxPermission?) {
        self.access = access
        self.previous = previous
    }
}

public struct ServiceDefaults: Codable, Sendable, Equatable {
    public var service: String
    public var permissions: MailboxPermission
    public init(service: String, permissions: MailboxPermission) {
        self.service = service
        self.permissions = permissions
    }
}

/// A page of the list; `next` (when there is more) is the `after` of the next page.
public struct UserList: Codable, Sendable {
    public var users: [User]
    public var next: String?
    public init(users: [User], next: String? = nil) {
        self.users = users
        self.next = next
    }
    public init(_ page: Page<User>) { self.init(users: page.items, next: page.next) }
}
public struct UserBody: Codable, Sendable { public var user: User; public init(user: User) { self.user = user } }
/// A page of the list; `next` (when there is more) is the `after` of the next page.
public struct MemberList: Codable, Sendable {
    public var members: [Member]
    public var next: String?
    public init(members: [Member], next: String? = nil) {
        self.members = members
        self.next = next
    }
    public init(_ page: Page<Member>) { self.init(members: page.items, next: page.next) }
}
/// A page of the list; `next` (when there is more) is the `after` of the next page.
public struct AccessList: Codable, Sendable {
    public var access: [MailboxAccess]
    public var next: String?
    public init(access: [MailboxAccess], next: String? = nil) {
        self.access = access
        self.next = next
    }
    public init(_ page: Page<MailboxAccess>) { self.init(access: page.items, next: page.next) }
}
public struct AccessChanges: Codable, Sendable { public var changed: [AccessChange]; public init(changed: [AccessChange]) { self.changed = changed } }

/// `POST /v1/users`.
public struct UserInput: Codable, Sendable {
    public var login: String
    public var displayName: String?
    public var password: String?
    public init(login: String, displayName: String?, password: String?) {
        self.login = login
        self.displayName = displayName
        self.password = password
    }
}

/// `PUT /v1/users/{login}/password`: the new one, and (for a user changing their own) the current one.
public struct PasswordInput: Codable, Sendable {
    public var password: String
    public var current: String?
    public init(password: String, current: String?) {
        self.password = password
        self.current = current
    }
}

/// `PUT /v1/organizations/{organization}/members/{login}`; `password`: the actor's own, to re-confirm a role change.
public struct MemberInput: Codable, Sendable {
    public var role: String
    public var displayName: String?
    public var password: String?
    public init(role: String, displayName: String?, password: String?) {
        self.role = role
        self.displayName = displayName
        self.password = password
    }
}

/// `DELETE /v1/organizations/{organization}/members/{login}`: the login typed back, and the actor's password.
public struct RemovalInput: Codable, Sendable {
    public var confirm: String?
    public var password: String?
    public init(confirm: String?, password: String?) {
        self.confirm = confirm
        self.password = password
    }
}

/// `PUT /v1/mailboxes/{address}/access/{login}`: absent permissions take the mail service's defaults.
public struct AccessInput: Codable, Sendable {
    public var permissions: MailboxPermission?
    public var password: String?
    public init(permissions: MailboxPermission?, password: String?) {
        self.permissions = permissions
        self.password = password
    }
}

/// `PUT /v1/services/{service}/defaults`.
public struct DefaultsInput: Codable, Sendable {
    public var permissions: MailboxPermission
    public init(permissions: MailboxPermission) { self.permissions = permissions }
}

/// `POST /v1/services/{service}/defaults/apply`: these mailboxes' users (or only `login`) get the defaults.
public struct ApplyDefaultsInput: Codable, Sendable {
    public var mailboxes: [String]
    public var login: String?
    public var password: String?
    public init(mailboxes: [String], login: String?, password: String?) {
        self.mailboxes = mailboxes
        self.login = login
        self.password = password
    }
}

/// The collaborators a mail service was given to.
public struct ServiceGrants: Codable, Sendable, Equatable {
    public var service: String
    public var logins: [String]
    public init(service: String, logins: [String]) {
        self.service = service
        self.logins = logins
    }
}
