import Foundation
import PosternCore
import PosternStore

/// A mailbox's IMAP folders ("folders" permission), through Dovecot's `doveadm mailbox`
/// (`folders.doveadm`: the command and its options, such as `doveadm -c /etc/dovecot/dovecot.conf`).
extension ControlPlane {
    public func folders(mailbox address: String, actor: Actor) throws -> [String] {
        let box = try folderMailbox(address, actor: actor)
        let output = try doveadm(["mailbox", "list", "-u", box.address.description])
        return output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public func createFolder(mailbox address: String, name: String, actor: Actor) throws -> String {
        let box = try folderMailbox(address, actor: actor)
        let name = try MailFilterRules.folder(name)
        _ = try doveadm(["mailbox", "create", "-s", "-u", box.address.description, name])
        try folderHistory(box, actor, "folder.create", "folder \(name) created", before: nil, after: name)
        return name
    }

    /// Renames a folder; rules that file into it (or into folders inside it) follow it.
    public func renameFolder(mailbox address: String, from old: String, to new: String, actor: Actor) throws -> String {
        let box = try folderMailbox(address, actor: actor)
        let (old, new) = (try MailFilterRules.folder(old), try MailFilterRules.folder(new))
        guard old.uppercased() != "INBOX" else { throw PosternError(.invalid, code: "inbox", "INBOX cannot be renamed") }
        _ = try doveadm(["mailbox", "rename", "-s", "-u", box.address.description, old, new])
        let rules = try self.rules(mailbox: address, actor: .system("folders"))
        let moved = rules.map { rule in
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
        // The rules follow as part of the rename: the folders permission is enough for that.
        if moved != rules { _ = try setRules(mailbox: address, rules: moved, permission: .folders, actor: actor) }
        try folderHistory(box, actor, "folder.rename", "folder \(old) renamed \(new)", before: old, after: new)
        return new
    }

    /// Deletes a folder and its mail; refused while a rule or the spam filter files into it.
    public func deleteFolder(mailbox address: String, name: String, actor: Actor) throws -> String {
        let box = try folderMailbox(address, actor: actor)
        let name = try MailFilterRules.folder(name)
        guard name.uppercased() != "INBOX" else { throw PosternError(.invalid, code: "inbox", "INBOX cannot be deleted") }
        let filters = try readFilters(address, [], actor: .system("folders"))
        if let rule = filters.rules.first(where: { $0.actions.contains { $0.folder == name } }) {
            throw PosternError(.conflict, code: "folder_in_use", "rule '\(rule.name)' files into \(name): change or remove the rule first; nothing was deleted")
        }
        let junkInUse = filters.spam.enabled || (filters.senders.blockedAction == .junk && !filters.senders.blocked.isEmpty)
        if junkInUse, filters.spam.folder == name {
            throw PosternError(.conflict, code: "folder_in_use", "the spam filter files into \(name): choose another folder first; nothing was deleted")
        }
        _ = try doveadm(["mailbox", "delete", "-s", "-u", box.address.description, name])
        try folderHistory(box, actor, "folder.delete", "folder \(name) deleted", before: name, after: nil)
        return name
    }

    func folderMailbox(_ text: String, actor: Actor) throws -> Mailbox {
        let address = try MailAddress(text)
        return try store.read { db in try Self.mailbox(address, .folders, actor: actor, in: db) }
    }

    func folderHistory(_ box: Mailbox, _ actor: Actor, _ action: String, _ detail: String, before: String?, after: String?) throws {
        try store.write { db in
            try db.appendHistory(HistoryEntry(mailbox: box.address.description, actor: actor, action: action, detail: detail, before: before, after: after))
        }
    }

    /// Runs `doveadm` with these arguments; its complaint becomes the error.
    func doveadm(_ arguments: [String]) throws -> String {
        guard let command = folderCommand, !command.isEmpty else {
            throw PosternError(.unavailable, code: "folders_off", "folders are managed through doveadm: set folders.doveadm in postern.yaml")
        }
        let (status, output) = Command.run(command + arguments, timeout: 30)
        guard status == 0 else {
            let said = output.split(separator: "\n").prefix(2).joined(separator: "; ")
            let code: PosternError.Kind = said.contains("exists") ? .conflict : said.contains("doesn't exist") || said.contains("not found") ? .notFound : .invalid
            throw PosternError(code, code: "doveadm_refused", "doveadm refused: \(said.prefix(300)) (exit \(status)); nothing was changed")
        }
        return output
    }
}
