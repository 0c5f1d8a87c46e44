import Foundation

/// What happened to a mailbox's passwords that live sessions must hear about.
public enum RevocationEvent: Sendable, Equatable, Codable {
    /// One device's password changed or was removed; `ips` are where it was seen (newest first).
    case device(address: String, ips: [String])
    /// Every password of the mailbox is gone (disconnect-all, mailbox removed).
    case mailbox(address: String)

    public var address: String {
        switch self {
        case let .device(address, _), let .mailbox(address): address
        }
    }

    /// What Dovecot must do, in order: flush its auth cache first, so that a session dropped now
    /// cannot log in again from the cache, then drop the sessions: the device's, one client IP at
    /// a time (a device never seen has no session, and without an IP its sessions cannot be told
    /// from the others'), or all of the mailbox's.
    public var actions: [RevocationAction] {
        switch self {
        case let .device(address, ips):
            [.flushCache(user: address)] + ips.filter { !$0.isEmpty }.map { .kick(user: address, ip: $0) }
        case let .mailbox(address):
            [.flushCache(user: address), .kick(user: address, ip: nil)]
        }
    }
}

/// One thing to tell Dovecot, as a doveadm command or a doveadm HTTP API call.
public enum RevocationAction: Sendable, Equatable {
    case flushCache(user: String)
    /// The user's sessions from one client IP, or all of them.
    case kick(user: String, ip: String?)

    /// The IP as a one-address network, as doveadm kick takes it: 192.0.2.7/32, 2001:db8::1/128.
    public static func network(_ ip: String) -> String { ip + (ip.contains(":") ? "/128" : "/32") }
}
