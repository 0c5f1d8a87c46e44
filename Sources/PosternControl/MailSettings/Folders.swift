import Foundation
import PosternCore
import PosternStore

/// A mailbox's IMAP folders ("folders" permission), through Dovecot's `doveadm mailbox`
/// (`folders.doveadm`: the command and its options, such as `doveadm -c /etc/dovecot/dovecot.conf`).
extension MailSettingsPlane {
    public func folders(mailbox address: String, actor: Actor) throws -> [String] {
        let box = try folderMailbox(address, actor: actor)
        let output = try doveadm(["mailbox", "list", "-u", box.address.description])
        return output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public func createFolder(mailbox address: String, name: String, actor: Actor) throws -> String {
        let box = try folderMailbox(address, actor: actor)
        let name = try MailFilterRules.folder(name)
        _ = try doveadm(["mailbox", "create", "-s", "-u", box.address.description, name])
        try folderHistory(box, actor, .folderCreated(name))
        return name
    }

    /// Renames a folder; rules that file into it (or into folders inside it) follow it.
    public func renameFolder(mailbox address: String, from old: String, to new: String, actor: Actor) throws -> String {
        let box = try folderMailbox(address, actor: actor)
        let (old, new) = (try MailFilterRules.folder(old), try MailFilterRules.folder(new))
        guard old.uppercased() != "INBOX" else { throw PosternError(.inbox, "INBOX cannot be renamed") }
        _ = try doveadm(["mailbox", "rename", "-s", "-u", box.address.description, old, new])
        let rules = try readFilters(address, Action.moveRulesWithFolder, actor: actor).rules
        let moved = MailSettingsRules.refiled(rules, from: old, to: new)
        if moved != rules { _ = try setRules(mailbox: address, rules: moved, as: Action.moveRulesWithFolder, actor: actor) }
        try folderHistory(box, actor, .folderRenamed(from: old, to: new))
        return new
    }

    /// Deletes a folder and its mail; refused while a rule or the spam filter files into it.
    public func deleteFolder(mailbox address: String, name: String, actor: Actor) throws -> String {
        let box = try folderMailbox(address, actor: actor)
        let name = try MailFilterRules.folder(name)
        guard name.uppercased() != "INBOX" else { throw PosternError(.inbox, "INBOX cannot be deleted") }
        try MailSettingsRules.checkUnused(name, by: try readFilters(address, { .mailbox($0, .folders) }, actor: actor))
        _ = try doveadm(["mailbox", "delete", "-s", "-u", box.address.description, name])
        try folderHistory(box, actor, .folderDeleted(name))
        return name
    }

    func folderMailbox(_ text: String, actor: Actor) throws -> Mailbox {
        let address = try MailAddress(text)
        return try store.read { db in try Access.mailbox(address, .folders, actor: actor, in: db) }
    }

    func folderHistory(_ box: Mailbox, _ actor: Actor, _ action: HistoryAction) throws {
        try store.write { db in try ActionLog.record(action, mailbox: box.address.description, by: actor, in: db) }
    }

    /// Runs `doveadm` with these arguments; its complaint becomes the error.
    func doveadm(_ arguments: [String]) throws -> String {
        guard let folderCommand else {
            throw PosternError(.foldersOff, "folders are managed through doveadm: set folders.doveadm in postern.yaml")
        }
        let (status, output) = folderCommand.run(arguments)
        guard status == 0 else {
            let said = output.split(separator: "\n").prefix(2).joined(separator: "; ")
            let code: PosternError.Kind = said.contains("exists") ? .conflict : said.contains("doesn't exist") || said.contains("not found") ? .notFound : .invalid
            throw PosternError(.doveadmRefused, kind: code, "doveadm refused: \(said.prefix(300)) (exit \(status)); nothing was changed")
        }
        return output
    }
}
