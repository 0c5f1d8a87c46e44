import Foundation

/// One kind of change in the action history, with what it changed as typed values. The stored
/// `action` string and the text of `detail`, `before` and `after` are rendered from it here, in
/// one place (`HistoryEntry` is what the store keeps and the API shows). Never a secret.
public enum HistoryAction: Sendable, Equatable {
    case deviceAdded(device: DeviceName, scope: ServiceScope, expiresAt: Date?)
    case deviceRotated(DeviceName)
    case deviceScoped(DeviceName, ServiceScope)
    case deviceExpirySet(DeviceName, expiresAt: Date?)
    case deviceDisconnected(DeviceName, generic: Bool)
    case allDevicesDisconnected(count: Int)
    case deviceExpired(DeviceName, at: Date)
    case unusedDeviceRemoved(DeviceName, unusedSince: Date, days: Int)
    case loginsThrottled(failures: Int, minutes: Int64, ips: [String])
    case revocationHookFailed(String)

    case genericPolicySet(PolicyLevel, name: String, GenericPolicy?)
    case genericImported(scheme: String, mailboxCreated: Bool)
    case genericRefused(service: String, ip: String?, GenericPolicy)

    case tokenCreated(name: String, id: Int64, owner: String, until: Date)
    /// `name` nil: a session.
    case tokenRevoked(name: String?, id: Int64, owner: String)
    case sessionOpened

    case userAdded(login: String, displayName: String)
    case accountPasswordSet(login: String)
    case memberAdded(login: String, organization: String, Role)
    case memberRoleChanged(login: String, organization: String, from: Role, to: Role)
    case memberRemoved(login: String, organization: String, Role, mailboxAccess: Int, tokens: Int)
    case accessGranted(login: String, MailboxPermission)
    /// `defaultsOf`: the mail service whose defaults were applied, if that is how it changed.
    case accessChanged(login: String, from: MailboxPermission, to: MailboxPermission, defaultsOf: String?)
    case accessRevoked(login: String, MailboxPermission)
    case serviceGrant(login: String, service: String, given: Bool)
    case defaultsSet(service: String, from: MailboxPermission, to: MailboxPermission)

    case organizationAdded(String)
    case organizationRemoved(String)
    case serviceAdded(name: String, domains: [String], organization: String)
    case serviceRemoved(String)
    case mailboxAdded
    case mailboxRemoved(devices: Int, aliases: [String], redirectedBy: [String])

    case aliasAdded(String)
    case aliasRemoved(String)
    /// `because`: the mailbox whose removal changed it, when that is why.
    case redirectionSet(from: Redirection?, to: Redirection, because: String?)
    case redirectionCleared(from: Redirection, because: String?)
    case redirectionScopeSet(organization: String, from: RedirectionScope, to: RedirectionScope)

    case rulesSet(from: [SortingRule], to: [SortingRule])
    case spamFilterSet(from: SpamFilter, to: SpamFilter)
    case responderSet(from: Responder, to: Responder)
    case sendersSet(from: SenderLists, to: SenderLists)
    case signatureSet(login: String, replyTo: String?)
    case folderCreated(String)
    case folderRenamed(from: String, to: String)
    case folderDeleted(String)
    /// The mailbox's Sieve script could not be put in place yet (the change is stored; retried).
    case scriptNotInstalled(String)
    /// It was, after failed attempts.
    case scriptInstalled(attempts: Int)
    /// A folder change could not be made in the mailbox yet (stored; retried).
    case folderNotChanged(String)

    case backedUp(devices: Int, directory: String)

    /// A device as the history names it.
    public struct DeviceName: Sendable, Equatable {
        public let name: String
        public let id: Int64
        public init(_ name: String, id: Int64) {
            self.name = name
            self.id = id
        }
    }

    /// The stored `action`: one string per kind, as the history API and `?kind=` spell it.
    public enum Kind: String, Sendable, CaseIterable {
        case deviceAdd = "device.add", deviceRotate = "device.rotate", deviceScope = "device.scope", deviceExpiry = "device.expiry"
        case deviceDisconnect = "device.disconnect", deviceDisconnectAll = "device.disconnect_all", deviceExpired = "device.expired"
        case deviceRemovedUnused = "device.removed_unused", loginThrottled = "login.throttled", revocationHookFailed = "revocation.hook_failed"
        case policyGeneric = "policy.generic", genericImport = "generic.import", genericRefused = "generic.refused"
        case tokenCreate = "token.create", tokenRevoke = "token.revoke", sessionOpen = "session.open"
        case userAdd = "user.add", userPassword = "user.password", memberAdd = "member.add", memberRole = "member.role", memberRemove = "member.remove"
        case accessGrant = "access.grant", accessChange = "access.change", accessRevoke = "access.revoke", accessService = "access.service"
        case defaultsSet = "defaults.set"
        case organizationAdd = "organization.add", organizationRemove = "organization.remove", serviceAdd = "service.add", serviceRemove = "service.remove"
        case mailboxAdd = "mailbox.add", mailboxRemove = "mailbox.remove"
        case aliasAdd = "alias.add", aliasRemove = "alias.remove", redirectionSet = "redirection.set", redirectionClear = "redirection.clear"
        case redirectionScope = "redirection.scope"
        case rulesSet = "rules.set", spamSet = "spam.set", responderSet = "responder.set", sendersSet = "senders.set", signatureSet = "signature.set"
        case folderCreate = "folder.create", folderRename = "folder.rename", folderDelete = "folder.delete"
        case scriptNotInstalled = "script.not_installed", scriptInstalled = "script.installed", folderFailed = "folder.failed"
        case backup
    }

    public var kind: Kind {
        switch self {
        case .deviceAdded: .deviceAdd
        case .deviceRotated: .deviceRotate
        case .deviceScoped: .deviceScope
        case .deviceExpirySet: .deviceExpiry
        case .deviceDisconnected: .deviceDisconnect
        case .allDevicesDisconnected: .deviceDisconnectAll
        case .deviceExpired: .deviceExpired
        case .unusedDeviceRemoved: .deviceRemovedUnused
        case .loginsThrottled: .loginThrottled
        case .revocationHookFailed: .revocationHookFailed
        case .genericPolicySet: .policyGeneric
        case .genericImported: .genericImport
        case .genericRefused: .genericRefused
        case .tokenCreated: .tokenCreate
        case .tokenRevoked: .tokenRevoke
        case .sessionOpened: .sessionOpen
        case .userAdded: .userAdd
        case .accountPasswordSet: .userPassword
        case .memberAdded: .memberAdd
        case .memberRoleChanged: .memberRole
        case .memberRemoved: .memberRemove
        case .accessGranted: .accessGrant
        case .accessChanged: .accessChange
        case .accessRevoked: .accessRevoke
        case .serviceGrant: .accessService
        case .defaultsSet: .defaultsSet
        case .organizationAdded: .organizationAdd
        case .organizationRemoved: .organizationRemove
        case .serviceAdded: .serviceAdd
        case .serviceRemoved: .serviceRemove
        case .mailboxAdded: .mailboxAdd
        case .mailboxRemoved: .mailboxRemove
        case .aliasAdded: .aliasAdd
        case .aliasRemoved: .aliasRemove
        case .redirectionSet: .redirectionSet
        case .redirectionCleared: .redirectionClear
        case .redirectionScopeSet: .redirectionScope
        case .rulesSet: .rulesSet
        case .spamFilterSet: .spamSet
        case .responderSet: .responderSet
        case .sendersSet: .sendersSet
        case .signatureSet: .signatureSet
        case .folderCreated: .folderCreate
        case .folderRenamed: .folderRename
        case .folderDeleted: .folderDelete
        case .scriptNotInstalled: .scriptNotInstalled
        case .scriptInstalled: .scriptInstalled
        case .folderNotChanged: .folderFailed
        case .backedUp: .backup
        }
    }

    /// What is stored beside the kind: the sentence, and for changes of a setting what it was and became.
    public var text: (detail: String, before: String?, after: String?) {
        typealias D = HistoryText
        switch self {
        case let .deviceAdded(d, scope, expiresAt):
            return ("\(D.device(d)) created\(scope.stored.map { " for \($0)" } ?? "")\(expiresAt.map { ", expires \(D.day($0))" } ?? "")", nil, nil)
        case let .deviceRotated(d): return ("\(D.device(d)) got a new password", nil, nil)
        case let .deviceScoped(d, scope): return ("\(D.device(d)) now logs in to \(scope.stored ?? "every service")", nil, nil)
        case let .deviceExpirySet(d, expiresAt):
            return ("\(D.device(d)) \(expiresAt.map { "expires \(D.day($0))" } ?? "no longer expires")", nil, nil)
        case let .deviceDisconnected(d, generic):
            return ("\(generic ? "generic password" : "device \"\(d.name)\"") (id \(d.id)) disconnected", nil, nil)
        case let .allDevicesDisconnected(count): return ("all \(count) device(s) disconnected", nil, nil)
        case let .deviceExpired(d, at): return ("\(D.device(d)) expired at \(D.day(at)); its password no longer logs in", nil, nil)
        case let .unusedDeviceRemoved(d, since, days):
            return ("\(D.device(d)) removed: unused since \(D.day(since)), more than \(days) days", nil, nil)
        case let .loginsThrottled(failures, minutes, ips):
            let from = ips.isEmpty ? "" : " from \(ips.joined(separator: ", "))"
            return ("\(failures) failed logins within \(minutes) min\(from); further attempts are delayed, then refused", nil, nil)
        case let .revocationHookFailed(what): return (what, nil, nil)
        case let .genericPolicySet(level, name, policy):
            return (policy.map { "generic password policy of \(level.rawValue) \(name): \($0.summary)" }
                ?? "generic password policy of \(level.rawValue) \(name) removed", nil, nil)
        case let .genericImported(scheme, created):
            return ("generic password imported ({\(scheme)})\(created ? ", mailbox created" : "")", nil, nil)
        case let .genericRefused(service, ip, policy):
            return ("generic password refused for \(service)\(ip.map { " from \($0)" } ?? "") by policy (\(policy.summary)); further refusals today are not recorded", nil, nil)
        case let .tokenCreated(name, id, owner, until): return ("API token \"\(name)\" (id \(id)) of \(owner), until \(D.day(until))", nil, nil)
        case let .tokenRevoked(name, id, owner): return ("\(name.map { "API token \"\($0)\"" } ?? "session") (id \(id)) of \(owner) revoked", nil, nil)
        case .sessionOpened: return ("signed in", nil, nil)
        case let .userAdded(login, displayName): return ("user \(login) (\(displayName)) added", nil, nil)
        case let .accountPasswordSet(login): return ("account password of \(login) set", nil, nil)
        case let .memberAdded(login, organization, role): return ("\(login) joined \(organization) as \(role.label)", nil, role.rawValue)
        case let .memberRoleChanged(login, organization, from, to):
            return ("role of \(login) in \(organization): \(from.label) → \(to.label)", from.rawValue, to.rawValue)
        case let .memberRemoved(login, organization, role, access, tokens):
            return ("\(login) (\(role.label)) removed from \(organization) with \(access) mailbox access(es) and \(tokens) token(s) and session(s)",
                    role.rawValue, nil)
        case let .accessGranted(login, after): return ("access of \(login): none → \(D.permissions(after))", nil, D.permissions(after))
        case let .accessChanged(login, before, after, service):
            return ("access of \(login): \(D.permissions(before)) → \(D.permissions(after))\(service.map { " (defaults of \($0))" } ?? "")",
                    D.permissions(before), D.permissions(after))
        case let .accessRevoked(login, before): return ("access of \(login): \(D.permissions(before)) → none", D.permissions(before), nil)
        case let .serviceGrant(login, service, given):
            return given ? ("\(login) given mail service \(service)", nil, service) : ("\(login) no longer given mail service \(service)", service, nil)
        case let .defaultsSet(service, before, after):
            return ("default permissions of \(service): \(D.permissions(before)) → \(D.permissions(after))", D.permissions(before), D.permissions(after))
        case let .organizationAdded(name), let .organizationRemoved(name): return ("organization \(name)", nil, nil)
        case let .serviceAdded(name, domains, organization): return ("mail service \(name) (\(domains.joined(separator: ", "))) of \(organization)", nil, nil)
        case let .serviceRemoved(name): return ("mail service \(name)", nil, nil)
        case .mailboxAdded: return ("mailbox created", nil, nil)
        case let .mailboxRemoved(devices, aliases, redirectedBy):
            let named = aliases.isEmpty ? "" : ", aliases \(aliases.joined(separator: ", "))"
            let redirected = redirectedBy.isEmpty ? "" : "; no longer a redirection target of \(redirectedBy.joined(separator: ", "))"
            return ("mailbox removed with \(devices) device(s)\(named)\(redirected)", nil, nil)
        case let .aliasAdded(alias): return ("alias \(alias) added", nil, alias)
        case let .aliasRemoved(alias): return ("alias \(alias) removed", alias, nil)
        case let .redirectionSet(before, after, because):
            return ("redirection: \(D.redirection(before)) → \(D.redirection(after))\(because.map { " (\($0) was removed)" } ?? "")",
                    before.map(D.redirection), D.redirection(after))
        case let .redirectionCleared(before, because):
            return ("redirection: \(D.redirection(before)) → none\(because.map { " (\($0) was removed)" } ?? "")", D.redirection(before), nil)
        case let .redirectionScopeSet(organization, before, after):
            return ("redirections of \(organization) may reach: \(before.rawValue) → \(after.rawValue)", before.rawValue, after.rawValue)
        case let .rulesSet(before, after): return D.change("rules", D.rules(before), D.rules(after))
        case let .spamFilterSet(before, after): return D.change("spam filter", D.spam(before), D.spam(after))
        case let .responderSet(before, after): return D.change("automatic reply", D.responder(before), D.responder(after))
        case let .sendersSet(before, after): return D.change("senders", D.senders(before), D.senders(after))
        case let .signatureSet(login, replyTo): return ("signature of \(login) changed" + (replyTo.map { ", reply-to \($0)" } ?? ", no reply-to"), nil, nil)
        case let .folderCreated(name): return ("folder \(name) created", nil, name)
        case let .folderRenamed(old, new): return ("folder \(old) renamed \(new)", old, new)
        case let .folderDeleted(name): return ("folder \(name) deleted", name, nil)
        case let .scriptNotInstalled(why): return ("script not installed: \(why); the change is stored, the old script stays until it is", nil, nil)
        case let .scriptInstalled(attempts): return ("script installed after \(attempts) failed attempt(s)", nil, nil)
        case let .folderNotChanged(why): return ("folder change not made yet: \(why); retried", nil, nil)
        case let .backedUp(devices, directory): return ("backup of \(devices) device(s) to \(directory)", nil, nil)
        }
    }

    /// The entry as stored, once `actor` (who did it, as the history names them) is known.
    public func entry(at: Date = Date(), mailbox: String?, actor: String, actorKind: String?, origin: String?) -> HistoryEntry {
        let (detail, before, after) = text
        return HistoryEntry(at: at, mailbox: mailbox, actor: actor, action: kind.rawValue, detail: detail,
                            actorKind: actorKind, origin: origin, before: before, after: after)
    }
}

/// How the history writes values in its sentences.
public enum HistoryText {
    public static func day(_ date: Date) -> String { date.formatted(.iso8601) }

    static func device(_ d: HistoryAction.DeviceName) -> String { "device \"\(d.name)\" (id \(d.id))" }

    public static func permissions(_ permissions: MailboxPermission?) -> String {
        guard let permissions else { return "none" }
        return permissions.isEmpty ? "no permission" : permissions.names.joined(separator: ",")
    }

    public static func redirection(_ redirection: Redirection?) -> String {
        guard let redirection else { return "none" }
        return redirection.targets.joined(separator: ", ") + (redirection.keepCopy ? " (copy kept)" : "")
    }

    static func change(_ label: String, _ before: String, _ after: String) -> (detail: String, before: String?, after: String?) {
        ("\(label): \(before) → \(after)", before, after)
    }

    static func rules(_ rules: [SortingRule]) -> String {
        rules.isEmpty ? "none" : rules.map { "\($0.name)\($0.enabled ? "" : " (off)")" }.joined(separator: ", ")
    }

    static func spam(_ spam: SpamFilter) -> String {
        spam.enabled ? "on, at \(spam.threshold) into \(spam.folder)" : "off"
    }

    static func responder(_ responder: Responder) -> String {
        guard responder.enabled else { return "off" }
        let window = [responder.start.map { "from \($0)" }, responder.end.map { "to \($0)" }].compactMap { $0 }.joined(separator: " ")
        return "on" + (window.isEmpty ? "" : " (\(window))") + (responder.subject.isEmpty ? "" : ", \"\(responder.subject.prefix(60))\"")
    }

    static func senders(_ senders: SenderLists) -> String {
        "\(senders.blocked.count) blocked (\(senders.blockedAction.rawValue)), \(senders.approved.count) approved"
    }
}
