import Foundation
import PosternCore
import PosternStore

/// A mailbox's IMAP folders ("folders" permission), through Dovecot's `doveadm mailbox`
/// (`folders.doveadm`: the command and its options, such as `doveadm -c /etc/dovecot/dovecot.conf`).
extension MailSettingsPlane {
    public func folders(mailbox address: String, actor: Actor) async throws -> [String] {
        try await folders(of: try folderMailbox(address, actor: actor))
    }

    /// Creates a folder: refused up front when it exists (doveadm's list, no lock held), then the
    /// history line and the outbox task in one commit; doveadm creates it right after (retried).
    public func createFolder(mailbox address: String, name: String, actor: Actor) async throws -> String {
        let box = try await folderMailbox(address, actor: actor)
        let name = try MailFilterRules.folder(name)
        let existing = try await folders(of: box)
        if existing.contains(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) {
            throw PosternError(.doveadmRefused, kind: .conflict, "\(box.address) has a folder \(name) already; nothing was changed")
        }
        let task = try await store.write { db in
            try await ActionLog.record(.folderCreated(name), mailbox: box.address.description, by: actor, in: db)
            return try await db.enqueueServerTask(.folderCreate, mailboxID: box.id!, argument: name)
        }
        await outbox.run([task])
        return name
    }

    /// Renames a folder; rules that file into it (or into folders inside it) follow it, in the
    /// same commit as the rename's task: the folder and the rules never disagree for long.
    public func renameFolder(mailbox address: String, from old: String, to new: String, actor: Actor) async throws -> String {
        let box = try await folderMailbox(address, actor: actor)
        let (old, new) = (try MailFilterRules.folder(old), try MailFilterRules.folder(new))
        guard old.uppercased() != "INBOX" else { throw PosternError(.inbox, "INBOX cannot be renamed") }
        let existing = try await folders(of: box)
        guard existing.contains(old) else { throw PosternError(.doveadmRefused, kind: .notFound, "\(box.address) has no folder \(old); nothing was changed") }
        if existing.contains(where: { $0.caseInsensitiveCompare(new) == .orderedSame }) {
            throw PosternError(.doveadmRefused, kind: .conflict, "\(box.address) has a folder \(new) already; nothing was changed")
        }
        let scripts = scripts
        let (rename, script) = try await store.write { db -> (Int64, Int64?) in
            _ = try await Access.mailbox(box.address, Action.moveRulesWithFolder, actor: actor, in: db)
            let rename = try await db.enqueueServerTask(.folderRename, mailboxID: box.id!, argument: old + "\n" + new)
            var script: Int64?
            let rules = try await db.mailboxFilters(mailboxID: box.id!).rules
            let moved = MailSettingsRules.refiled(rules, from: old, to: new)
            if moved != rules {
                let saved = try await db.setSortingRules(mailboxID: box.id!, try MailSettingsRules.checkRules(moved))
                try await ActionLog.record(.rulesSet(from: rules, to: saved), mailbox: box.address.description, by: actor, in: db)
                script = try await scripts.ask(for: box, in: db)
            }
            try await ActionLog.record(.folderRenamed(from: old, to: new), mailbox: box.address.description, by: actor, in: db)
            return (rename, script)
        }
        await outbox.run([rename, script])
        return new
    }

    /// The mailbox's folders as doveadm lists them.
    private func folders(of box: Mailbox) async throws -> [String] {
        try await doveadm(["mailbox", "list", "-u", box.address.description]).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Deletes a folder and its mail; refused while a rule or the spam filter files into it.
    public func deleteFolder(mailbox address: String, name: String, actor: Actor) async throws -> String {
        let box = try await folderMailbox(address, actor: actor)
        let name = try MailFilterRules.folder(name)
        guard name.uppercased() != "INBOX" else { throw PosternError(.inbox, "INBOX cannot be deleted") }
        try await MailSettingsRules.checkUnused(name, by: try readFilters(address, { .mailbox($0, .folders) }, actor: actor))
        _ = try await doveadm(["mailbox", "delete", "-s", "-u", box.address.description, name])
        try await folderHistory(box, actor, .folderDeleted(name))
        return name
    }

    func folderMailbox(_ text: String, actor: Actor) async throws -> Mailbox {
        let address = try MailAddress(text)
        return try await store.read { db in try await Access.mailbox(address, .folders, actor: actor, in: db) }
    }

    func folderHistory(_ box: Mailbox, _ actor: Actor, _ action: HistoryAction) async throws {
        try await store.write { db in try await ActionLog.record(action, mailbox: box.address.description, by: actor, in: db) }
    }

    /// Runs `doveadm` with these arguments; its complaint becomes the error.
    func doveadm(_ arguments: [String]) async throws -> String {
        guard let folderCommand else {
            throw PosternError(.foldersOff, "folders are managed through doveadm: set folders.doveadm in postern.yaml")
        }
        let (status, output) = try await blocking.run { folderCommand.run(arguments) }
        guard status == 0 else {
            let said = output.split(separator: "\n").prefix(2).joined(separator: "; ")
            let code: PosternError.Kind = said.contains("exists") ? .conflict : said.contains("doesn't exist") || said.contains("not found") ? .notFound : .invalid
            throw PosternError(.doveadmRefused, kind: code, "doveadm refused: \(said.prefix(300)) (exit \(status)); nothing was changed")
        }
        return output
    }
}
