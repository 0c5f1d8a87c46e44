import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// What aliases and redirection targets must be before they are stored.
public enum RoutingRules {
    public static let maxAliasesPerMailbox = 500

    /// The alias as stored: lowercase, in one of the service's domains, its local part a dot-string.
    static func aliasAddress(_ text: String, of box: Mailbox, domains: [String], delimiter: Character?) throws -> String {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw PosternError(.invalidAlias, "'\(text.prefix(80))' holds more than one @") }
        let local = try AliasRules.localPart(String(parts[0]), delimiter: delimiter)
        let domain = parts.count == 2 ? parts[1].lowercased() : box.address.domain
        guard domains.contains(domain) else {
            throw PosternError(.aliasDomain, """
                an alias of \(box.address) must be in a domain of its mail service \(box.mailService) (\(domains.joined(separator: ", "))), not \(domain.prefix(80))
                """)
        }
        return "\(local)@\(domain)"
    }

    /// Redirection (or forward) targets as stored, checked against our addresses and against
    /// the organization's own-domains rule: the one check for both.
    static func checkedTargets(_ targets: [String], of address: MailAddress, routing: RoutingIndex, in db: StoreTransaction) async throws -> [String] {
        let target = try await Access.mailboxTarget(address, in: db)
        let cleaned = try await redirectionTargets(targets, of: address, isOurs: routing.isOurs,
                                                   ourDomains: { domain in try await db.importService(domain: domain) != nil })
        if try await db.redirectionScope(organizationID: target.service.organizationID) == .ownDomains {
            let own = try await db.domains(organizationID: target.service.organizationID)
            if let outside = cleaned.first(where: { !own.contains(String($0[$0.index(after: $0.lastIndex(of: "@")!)...])) }) {
                throw PosternError(.redirectionOutside, """
                    \(outside) is outside the organization's domains (\(own.sorted().joined(separator: ", "))): its redirections and forwards stay inside them; nothing was changed
                    """)
            }
        }
        return cleaned
    }

    /// The targets as stored: valid addresses, domain in lowercase, each once, not the mailbox
    /// itself; one in a domain we serve must be a mailbox or an alias.
    public static func redirectionTargets(_ targets: [String], of mailbox: MailAddress, isOurs: (String) -> Bool,
                                          ourDomains: (String) async throws -> Bool) async throws -> [String] {
        var cleaned: [String] = []
        for text in targets.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces) }) where !text.isEmpty {
            let target = try MailAddress(text)
            let key = RoutingTable.fold(target.description)
            if key == RoutingTable.fold(mailbox.description) {
                throw PosternError(.redirectionToItself, "\(mailbox) cannot redirect to itself; keep a copy instead (keepCopy)")
            }
            if try await ourDomains(target.domain), !isOurs(target.description) {
                throw PosternError(.unknownTarget, """
                    \(target) is in a domain Postern serves but is neither a mailbox nor an alias; nothing was changed
                    """)
            }
            if !cleaned.contains(where: { RoutingTable.fold($0) == key }) { cleaned.append(target.description) }
        }
        guard !cleaned.isEmpty else {
            throw PosternError(.noTargets, "give at least one address to redirect \(mailbox) to (or clear the redirection)")
        }
        guard cleaned.count <= Redirection.maxTargets else {
            throw PosternError(.tooManyTargets, "a mailbox redirects to \(Redirection.maxTargets) addresses at most, not \(cleaned.count)")
        }
        return cleaned
    }
}

extension PosternError {
    static func redirectionLoop(_ loop: [String]) -> PosternError {
        PosternError(.redirectionLoop, "this would make a loop: \(loop.joined(separator: " → ")); nothing was changed")
    }
}
