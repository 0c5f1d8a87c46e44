/// What Postfix asks on every message, answered from memory: which addresses exist, where an
/// alias or a redirected mailbox delivers, and who may send as an address. Keys match whatever
/// their case (smtpd lowercases them, cleanup does not), and `local+anything@domain` is looked up
/// as `local@domain` when the exact key is unknown. A value type: the daemon keeps one behind a
/// lock, and a change is checked for loops (`loop(from:after:)`) before it is applied.
public struct RoutingTable: Sendable {
    public struct Redirect: Sendable, Equatable, Codable {
        public var targets: [String]
        public var keepCopy: Bool
        public init(targets: [String], keepCopy: Bool) {
            self.targets = targets
            self.keepCopy = keepCopy
        }
    }

    /// The four maps, by the names written in `socketmap:unix:PATH:NAME`.
    public enum Map: String, Sendable, CaseIterable {
        /// `virtual_mailbox_maps`: the mailboxes, valued by their path (`mailboxPath`).
        case mailboxes
        /// `virtual_alias_maps`: aliases and redirected mailboxes, valued by their targets.
        case virtual
        /// `smtpd_sender_login_maps`: the SASL logins that may send as an address.
        case senders
        /// `virtual_mailbox_domains`: the domains of Postern's mail services, valued by themselves.
        case domains
    }

    public enum Change: Sendable, Equatable, Codable {
        case addMailbox(String)
        /// Removes the mailbox with its aliases and its redirection.
        case removeMailbox(String)
        case addAlias(String, mailbox: String)
        case removeAlias(String)
        case setRedirect(mailbox: String, Redirect)
        case clearRedirect(mailbox: String)
        case addDomain(String)
        case removeDomain(String)
    }

    /// Folded address → the mailbox's address as stored.
    private(set) var mailboxes: [String: String] = [:]
    /// Folded alias → folded mailbox.
    private(set) var aliases: [String: String] = [:]
    /// Folded mailbox → its aliases (folded), to drop them with it.
    private var aliasesOf: [String: Set<String>] = [:]
    /// Folded mailbox → its redirection.
    private(set) var redirects: [String: Redirect] = [:]
    /// The domains served, folded.
    private(set) var domains: Set<String> = []

    /// `virtual_mailbox_maps`' value: `%d` the domain, `%n` the local part, `%u` the address.
    public var mailboxPath: String
    /// The recipient delimiter (`+`), nil for none.
    public var delimiter: Character?

    public init(mailboxPath: String = "%d/%n/", delimiter: Character? = "+") {
        self.mailboxPath = mailboxPath
        self.delimiter = delimiter
    }

    public var counts: (mailboxes: Int, aliases: Int, redirects: Int) { (mailboxes.count, aliases.count, redirects.count) }

    /// Postfix's keys: folded whole (mail systems treat local parts without regard to case).
    @inline(__always)
    public static func fold(_ address: String) -> String {
        address.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? address.lowercased() : address
    }

    public mutating func apply(_ change: Change) {
        switch change {
        case let .addMailbox(address):
            mailboxes[Self.fold(address)] = address
        case let .removeMailbox(address):
            let key = Self.fold(address)
            mailboxes[key] = nil
            redirects[key] = nil
            for alias in aliasesOf.removeValue(forKey: key) ?? [] { aliases[alias] = nil }
        case let .addAlias(alias, mailbox):
            var (key, box) = (Self.fold(alias), Self.fold(mailbox))
            // The mailbox's own key, not a copy per alias: a million aliases share their mailboxes' strings.
            if let stored = mailboxes.index(forKey: box) { box = mailboxes[stored].key }
            aliases[key] = box
            aliasesOf[box, default: []].insert(key)
        case let .removeAlias(alias):
            let key = Self.fold(alias)
            if let box = aliases.removeValue(forKey: key) { aliasesOf[box]?.remove(key) }
        case let .setRedirect(mailbox, redirect):
            redirects[Self.fold(mailbox)] = redirect
        case let .clearRedirect(mailbox):
            redirects[Self.fold(mailbox)] = nil
        case let .addDomain(domain):
            domains.insert(Self.fold(domain))
        case let .removeDomain(domain):
            domains.remove(Self.fold(domain))
        }
    }

    /// The value Postfix gets for `key` in `map`, or nil (NOTFOUND).
    public func lookup(_ map: Map, _ key: String) -> String? {
        let folded = Self.fold(key)
        if let value = exact(map, folded) { return value }
        guard let delimiter, let base = Self.withoutExtension(folded, delimiter) else { return nil }
        return exact(map, base)
    }

    private func exact(_ map: Map, _ key: String) -> String? {
        switch map {
        case .mailboxes:
            return mailboxes[key] == nil ? nil : path(key)
        case .virtual:
            if let box = aliases[key] { return mailboxes[box] }
            guard let redirect = redirects[key], let own = mailboxes[key] else { return nil }
            return (redirect.keepCopy ? [own] + redirect.targets : redirect.targets).joined(separator: ",")
        case .senders:
            if let own = mailboxes[key] { return own }
            return aliases[key].flatMap { mailboxes[$0] }
        case .domains:
            return domains.contains(key) ? key : nil
        }
    }

    /// `alice+news@example.org` → `alice@example.org`; nil without a delimiter in the local part.
    static func withoutExtension(_ address: String, _ delimiter: Character) -> String? {
        guard let at = address.lastIndex(of: "@"), let cut = address[..<at].firstIndex(of: delimiter), cut != address.startIndex else { return nil }
        return String(address[..<cut]) + String(address[at...])
    }

    /// The mailbox's value from `mailboxPath`, for its folded address (one string built in place).
    private func path(_ address: String) -> String {
        guard let at = address.utf8.lastIndex(of: UInt8(ascii: "@")) else { return address }
        let local = address.utf8[..<at]
        let domain = address.utf8[address.utf8.index(after: at)...]
        var out: [UInt8] = []
        out.reserveCapacity(mailboxPath.utf8.count + address.utf8.count * 2)
        var percent = false
        for byte in mailboxPath.utf8 {
            if percent {
                percent = false
                switch byte {
                case UInt8(ascii: "d"): out += domain
                case UInt8(ascii: "n"): out += local
                case UInt8(ascii: "u"): out += address.utf8
                case UInt8(ascii: "%"): out.append(byte)
                default: out += [UInt8(ascii: "%"), byte]
                }
            } else if byte == UInt8(ascii: "%") {
                percent = true
            } else {
                out.append(byte)
            }
        }
        if percent { out.append(UInt8(ascii: "%")) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether a mail service holds this domain.
    public func serves(domain: String) -> Bool { domains.contains(Self.fold(domain)) }

    /// Whether Postern answers for this address (a mailbox or an alias, exactly).
    public func isOurs(_ address: String) -> Bool {
        let key = Self.fold(address)
        return mailboxes[key] != nil || aliases[key] != nil
    }

    /// The first loop reachable from `start` through our aliases and redirections, were
    /// `change` made, as the addresses it passes (`a → b → a`), or nil. A redirected mailbox
    /// keeping a copy names itself among its targets; that is delivery, not a loop.
    public func loop(from start: String, after change: Change? = nil) -> [String]? {
        var overlay: [String: [String]] = [:]
        switch change {
        case let .addAlias(alias, mailbox): overlay[Self.fold(alias)] = [Self.fold(mailbox)]
        case let .setRedirect(mailbox, redirect): overlay[Self.fold(mailbox)] = redirect.targets.map(Self.fold)
        case let .clearRedirect(mailbox), let .addMailbox(mailbox): overlay[Self.fold(mailbox)] = []
        case .removeMailbox, .removeAlias, .addDomain, .removeDomain, nil: break  // removing never makes a loop; domains route nothing
        }
        func next(_ key: String) -> [String] {
            if let changed = overlay[key] { return changed.filter { $0 != key } }
            if let box = aliases[key] { return [box] }
            return (redirects[key]?.targets ?? []).map(Self.fold).filter { $0 != key }
        }
        var path: [String] = []
        var onPath: Set<String> = []
        var done: Set<String> = []
        func visit(_ key: String) -> [String]? {
            if onPath.contains(key) { return Array(path[path.firstIndex(of: key)!...]) + [key] }
            guard !done.contains(key) else { return nil }
            path.append(key)
            onPath.insert(key)
            for target in next(key) { if let found = visit(target) { return found } }
            path.removeLast()
            onPath.remove(key)
            done.insert(key)
            return nil
        }
        return visit(Self.fold(start))
    }
}
