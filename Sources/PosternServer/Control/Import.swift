import Foundation
import GRDB
import PosternAuth
import PosternCore
import PosternStore

extension ControlPlane {
    /// Imports a Dovecot passwd-file: each good line becomes a mailbox (created if needed, in the mail
    /// service that holds its domain) with a generic password. Good lines are written in one transaction.
    public func importPasswdFile(_ text: String, actor: String) throws -> ImportReport {
        let file = PasswdFile.decode(text)
        return try store.write({ db in
            var report = ImportReport(errors: file.errors)
            var changes: [CredentialIndex.Change] = []
            for entry in file.entries {
                let address = entry.address.description
                let mailbox: Mailbox
                let created: Bool
                do {
                    if let existing = try? db.mailbox(entry.address) {
                        mailbox = existing
                        created = false
                    } else {
                        mailbox = try db.createMailbox(entry.address)
                        created = true
                    }
                } catch let error as PosternError {
                    report.errors.append(.init(line: entry.line, code: error.code, message: "line \(entry.line): \(error.message)"))
                    continue
                }
                if !created, let current = try db.genericPassword(mailboxID: mailbox.id!) {
                    if current == entry.password {
                        report.unchanged += 1
                    } else {
                        report.errors.append(.init(line: entry.line, code: "generic_password_exists",
                            message: "line \(entry.line): \(address) already has a generic password, which cannot be reset; disconnect it first to import another"))
                    }
                    continue
                }
                let id = try db.setGenericPassword(mailboxID: mailbox.id!, entry.password)
                try db.appendHistory(HistoryEntry(mailbox: address, actor: actor, action: "generic.import",
                                                  detail: "generic password imported ({\(entry.password.scheme.rawValue)})\(created ? ", mailbox created" : "")"))
                let policy = try db.genericPasswords(under: .mailbox, target: mailbox.id!).first?.policy?.policy
                changes.append(.setGeneric(GenericCredential(deviceID: id, address: address, password: entry.password, policy: policy)))
                report.imported += 1
                if let warning = entry.password.warning {
                    report.warnings.append(.init(line: entry.line, code: "plain_password", message: "line \(entry.line): \(address): \(warning)"))
                }
                if created { report.mailboxesCreated += 1 }
            }
            report.errors.sort { $0.line < $1.line }
            return (report, changes)
        }, afterCommit: { [index] (result: (ImportReport, [CredentialIndex.Change])) in
            index.apply(result.1)
        }).0
    }
}
