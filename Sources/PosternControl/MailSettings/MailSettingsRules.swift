import Foundation
import PosternAuth
import PosternCore
import PosternStore

/// What a mailbox's settings must satisfy before they are stored.
public enum MailSettingsRules {
    static func checkRules(_ rules: [SortingRule]) throws -> [SortingRule] {
        guard rules.count <= MailFilterRules.maxRules else {
            throw PosternError(.tooManyRules, "a mailbox has \(MailFilterRules.maxRules) rules at most")
        }
        return try rules.map { try MailFilterRules.validate($0) }
    }

    /// A rule's forward is checked as a redirection target is: valid, existing in our domains,
    /// inside the organization's domains when its rule says so. A forward sends the mailbox's mail
    /// elsewhere, as a redirection does: a new one also needs the "redirections" permission, so
    /// "rules" alone cannot send mail out.
    static func checkForwards(_ rules: [SortingRule], replacing old: [SortingRule], of box: Mailbox, actor: Actor,
                              routing: RoutingIndex, in db: StoreTransaction) async throws {
        func forwards(_ rules: [SortingRule]) -> Set<String> {
            Set(rules.flatMap(\.actions).compactMap { $0.kind == .forward ? $0.address.map(RoutingTable.fold) : nil })
        }
        let targets = Array(forwards(rules))
        guard !targets.isEmpty else { return }
        if !forwards(rules).isSubset(of: forwards(old)), let target = try await db.mailboxTarget(box.address) {
            try await Access.authorize(actor, .mailbox(target, .redirections), in: db)
        }
        _ = try await RoutingRules.checkedTargets(targets, of: box.address, routing: routing, in: db)
    }

    /// One change to a mailbox's rules as the web manager makes them, one at a time.
    public enum RuleEdit: Sendable {
        case add(SortingRule)
        case toggle(id: Int64), up(id: Int64), down(id: Int64), remove(id: Int64)
    }

    /// The rules after one edit; a rule that is gone (or cannot move further) is refused.
    static func apply(_ edit: RuleEdit, to rules: [SortingRule]) throws(PosternError) -> [SortingRule] {
        var rules = rules
        func index(_ id: Int64) throws(PosternError) -> Int {
            guard let i = rules.firstIndex(where: { $0.id == id }) else { throw PosternError(.ruleNotFound, "that rule is gone; reload the page") }
            return i
        }
        switch edit {
        case let .add(rule): rules.append(rule)
        case let .toggle(id): rules[try index(id)].enabled.toggle()
        case let .up(id):
            let i = try index(id)
            guard i > 0 else { throw PosternError(.ruleNotFound, "that rule is first already; reload the page") }
            rules.swapAt(i, i - 1)
        case let .down(id):
            let i = try index(id)
            guard i < rules.count - 1 else { throw PosternError(.ruleNotFound, "that rule is last already; reload the page") }
            rules.swapAt(i, i + 1)
        case let .remove(id): rules.remove(at: try index(id))
        }
        return rules
    }

    /// Rules that file into `old` (or into folders inside it) file into `new` instead.
    static func refiled(_ rules: [SortingRule], from old: String, to new: String) -> [SortingRule] {
        rules.map { rule in
            var rule = rule
            rule.actions = rule.actions.map { action in
                var action = action
                if let folder = action.folder, folder == old || folder.hasPrefix(old + "/") || folder.hasPrefix(old + ".") {
                    action.folder = new + folder.dropFirst(old.count)
                }
                return action
            }
            return rule
        }
    }

    /// A folder a rule or the spam filter files into is not deleted.
    static func checkUnused(_ name: String, by filters: MailboxFilters) throws(PosternError) {
        if let rule = filters.rules.first(where: { $0.actions.contains { $0.folder == name } }) {
            throw PosternError(.folderInUse, "rule '\(rule.name)' files into \(name): change or remove the rule first; nothing was deleted")
        }
        let junkInUse = filters.spam.enabled || (filters.senders.blockedAction == .junk && !filters.senders.blocked.isEmpty)
        if junkInUse, filters.spam.folder == name {
            throw PosternError(.folderInUse, "the spam filter files into \(name): choose another folder first; nothing was deleted")
        }
    }
}
