import Foundation
import PosternCore

/// The commands that tell the mail servers, as configured (`revocation.*` in postern.yaml).
/// Each is split on spaces; `{user}` becomes the mailbox address, `{ip}` an IP the device was seen
/// at and `{ip_net}` that IP as a one-address network (`192.0.2.7/32`, `2001:db8::1/128`).
public struct RevocationCommands: Sendable, Equatable {
    public var flush: [String]?
    public var kickDevice: [String]?
    public var kickAll: [String]?

    public init(flush: String? = nil, kickDevice: String? = nil, kickAll: String? = nil) {
        self.flush = Self.split(flush)
        self.kickDevice = Self.split(kickDevice)
        self.kickAll = Self.split(kickAll)
    }

    static func split(_ command: String?) -> [String]? {
        guard let command else { return nil }
        let words = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        return words.isEmpty ? nil : words
    }

    public var isEmpty: Bool { flush == nil && kickDevice == nil && kickAll == nil }

    /// The command for an action; nil when none is configured for it.
    public func command(for action: RevocationAction) -> [String]? {
        func fill(_ template: [String], user: String, ip: String?) -> [String] {
            template.map { word in
                var word = word.replacingOccurrences(of: "{user}", with: user)
                if let ip {
                    word = word.replacingOccurrences(of: "{ip_net}", with: RevocationAction.network(ip))
                    word = word.replacingOccurrences(of: "{ip}", with: ip)
                }
                return word
            }
        }
        switch action {
        case let .flushCache(user): return flush.map { fill($0, user: user, ip: nil) }
        case let .kick(user, ip?): return kickDevice.map { fill($0, user: user, ip: ip) }
        case let .kick(user, nil): return kickAll.map { fill($0, user: user, ip: nil) }
        }
    }

    /// The commands to run for an event, in order.
    public func plan(_ event: RevocationEvent) -> [[String]] {
        event.actions.compactMap(command(for:))
    }
}

/// How posternd tells Dovecot: doveadm's HTTP API when configured (no root needed), else the
/// commands; each call gets `timeout` and `retries`.
public struct RevocationSettings: Sendable, Equatable {
    public var commands = RevocationCommands()
    public var doveadmHTTP: DoveadmHTTP?
    public var timeout: Duration = .seconds(5)
    public var retries = 2

    public init(commands: RevocationCommands = RevocationCommands(), doveadmHTTP: DoveadmHTTP? = nil) {
        self.commands = commands
        self.doveadmHTTP = doveadmHTTP
    }

    public var isEmpty: Bool { doveadmHTTP == nil && commands.isEmpty }
}
