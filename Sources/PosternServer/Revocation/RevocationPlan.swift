/// What happened to a mailbox's passwords that live sessions must hear about.
public enum RevocationEvent: Sendable, Equatable {
    /// One device's password changed or was removed; `ips` are where it was seen (newest first).
    case device(address: String, ips: [String])
    /// Every password of the mailbox is gone (disconnect-all, mailbox removed).
    case mailbox(address: String)

    public var address: String {
        switch self {
        case let .device(address, _), let .mailbox(address): address
        }
    }
}

/// The commands that tell the mail servers, as configured (`revocation.*` in postern.yaml).
/// Each is split on spaces; `{user}` becomes the mailbox address, `{ip}` an IP the device was seen
/// at and `{ip_net}` that IP as a one-address network (`192.0.2.7/32`, `2001:db8::1/128`).
public struct RevocationCommands: Sendable, Equatable {
    public var flush: [String]?
    public var kickDevice: [String]?
    public var kickAll: [String]?
    public var timeout: Duration = .seconds(5)
    public var retries = 2

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

    /// The commands to run for an event, in order: flush the auth cache first, so that a session
    /// dropped now cannot log in again from the cache, then drop the sessions.
    public func plan(_ event: RevocationEvent) -> [[String]] {
        var out: [[String]] = []
        func fill(_ template: [String], ip: String?) -> [String] {
            template.map { word in
                var word = word.replacingOccurrences(of: "{user}", with: event.address)
                if let ip {
                    word = word.replacingOccurrences(of: "{ip_net}", with: ip + (ip.contains(":") ? "/128" : "/32"))
                    word = word.replacingOccurrences(of: "{ip}", with: ip)
                }
                return word
            }
        }
        if let flush { out.append(fill(flush, ip: nil)) }
        switch event {
        case let .device(_, ips):
            // A device never seen has no session to drop; without an IP Postern cannot tell its sessions from the others'.
            if let kickDevice {
                for ip in ips where !ip.isEmpty { out.append(fill(kickDevice, ip: ip)) }
            }
        case .mailbox:
            if let kickAll { out.append(fill(kickAll, ip: nil)) }
        }
        return out
    }
}
