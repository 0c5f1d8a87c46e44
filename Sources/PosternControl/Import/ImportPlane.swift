import Foundation
import Logging
import PosternAuth
import PosternCore
import PosternStore

/// `postern import passwd-file`: a Dovecot passwd-file as it streams in, each good line a mailbox
/// (created if needed) with its generic password. Operator only.
public struct ImportPlane: Sendable {
    let node: Node
    /// The key clear-text passwords are salted under (`PlainImport`).
    let key: ServerKey
    let logger: Logger
    /// Where clear-text passwords are hashed (SHA512-CRYPT takes milliseconds each).
    let blocking: any BlockingRunner

    init(node: Node, key: ServerKey, blocking: any BlockingRunner, logger: Logger) {
        self.node = node
        self.key = key
        self.blocking = blocking
        self.logger = logger
    }

    var store: Store { node.store }

    /// Lines written per transaction: big enough to amortize the commit, small enough that other
    /// writes wait little and a stop comes soon.
    public static let importBatchLines = 2_000

    /// Clear-text passwords hashed at once (each a thread of the pool for a few milliseconds).
    static let hashingWidth = 8

    /// Imports a Dovecot passwd-file as it streams in: each good line becomes a mailbox (created if
    /// needed, in the mail service that holds its domain) with a generic password. Lines are written
    /// in batches of `importBatchLines`, one transaction each; a stop (posternd shutting down, the
    /// client gone) leaves the batches written so far, and running the same import again finishes it.
    public func importPasswdFile<Body: AsyncSequence>(chunks body: Body, actor: Actor, gate: ImportGate? = nil,
                                                      progress: (ImportEvent.Progress) async throws -> Void = { _ in })
        async throws -> ImportReport where Body.Element: Collection<UInt8> {
        try await store.read { try await Access.authorize(actor, .importPasswdFile, in: $0) }
        let ticket = try gate?.begin()
        defer { ticket.map { gate?.end($0) } }
        var reader = PasswdImportReader()
        var lastProgress = ContinuousClock.now
        func stopIfAsked() throws {
            guard gate?.isStopping == true || Task.isCancelled else { return }
            throw PosternError(.importStopped, """
                posternd is stopping: the import stopped with lines 1 to \(reader.doneThrough) done (imported, unchanged or refused) \
                and the rest not read; run the same import again to finish it (lines already imported come back unchanged)
                """)
        }
        func write(_ batch: [ImportLine]) async throws {
            let part = try await importBatch(batch, actor: actor)
            reader.report.merge(part)
            reader.doneThrough = batch.last?.entry.line ?? reader.doneThrough
        }
        do {
            for try await chunk in body {
                try stopIfAsked()
                reader.push(chunk)
                while reader.pending.count >= Self.importBatchLines {
                    try stopIfAsked()
                    try await write(reader.takeBatch(Self.importBatchLines))
                }
                if ContinuousClock.now - lastProgress > .milliseconds(500) {
                    lastProgress = .now
                    let report = reader.report
                    try await progress(.init(lines: reader.lines, bytes: reader.bytes, imported: report.imported,
                                             unchanged: report.unchanged, errors: report.errorCount))
                }
            }
            reader.finish()
            while !reader.pending.isEmpty {
                try stopIfAsked()
                try await write(reader.takeBatch(Self.importBatchLines))
            }
        } catch {
            let report = reader.report
            logger.notice("passwd-file import stopped", metadata: [
                "actor": "\(actor.name)", "linesRead": "\(reader.lines)", "doneThrough": "\(reader.doneThrough)", "imported": "\(report.imported)",
                "unchanged": "\(report.unchanged)", "errors": "\(report.errorCount)", "why": "\(ImportRules.stopReason(error))",
            ])
            throw error
        }
        var report = reader.report
        report.finish()
        logger.info("passwd-file imported", metadata: [
            "actor": "\(actor.name)", "lines": "\(report.lines)", "imported": "\(report.imported)",
            "mailboxesCreated": "\(report.mailboxesCreated)", "unchanged": "\(report.unchanged)", "errors": "\(report.errorCount)",
        ])
        return report
    }

    /// The same import over a text held whole (seeds, tests).
    public func importPasswdFile(_ text: String, actor: Actor) async throws -> ImportReport {
        var reader = PasswdImportReader()
        reader.push(text.utf8)
        reader.finish()
        while !reader.pending.isEmpty {
            try await reader.report.merge(importBatch(reader.takeBatch(Self.importBatchLines), actor: actor))
        }
        reader.report.finish()
        return reader.report
    }

    /// Writes one batch in one transaction, then puts its generic passwords in the index. The batch
    /// is read, decided line by line, then written in a few multi-row statements (one round trip
    /// each on PostgreSQL, whatever the batch's size).
    func importBatch(_ lines: [ImportLine], actor: Actor) async throws -> ImportReport {
        let batch = try await hashingClearText(lines)
        return try await node.commit({ db in
            try await Access.authorize(actor, .importPasswdFile, in: db)
            var report = ImportReport()
            var services: [String: ImportService?] = [:]
            let now = Date()
            var targets = try await db.importTargets(batch.map(\.entry.address))
            // What this batch writes: lines that get a generic password, and the mailboxes to create for them.
            var accepted: [(entry: PasswdFile.Entry, mailboxID: Int64?, policy: GenericPolicy?, organizationID: Int64, clearText: Bool)] = []
            var newMailboxes: [(address: String, serviceID: Int64)] = []
            var creating: Set<String> = []
            for line in batch {
                let entry = line.entry
                let address = entry.address.description
                // Clear text left unhashed (its domain was not served when the batch was hashed) is never stored.
                if entry.password.scheme == .plain {
                    report.add(error: .init(line: entry.line, code: .domainNotServed, message: """
                        line \(entry.line): no mail service holds domain \(entry.address.domain); add one with \
                        `postern service add NAME --organization ORG --domain \(entry.address.domain)`
                        """))
                    continue
                }
                if let target = targets[address] {
                    if let hash = target.genericHash {
                        if let earlier = line.earlierLine {
                            report.add(error: PasswdFile.duplicate(entry.address, number: entry.line, first: earlier))
                        } else if hash == entry.password.stored {
                            report.unchanged += 1
                        } else {
                            report.add(error: .init(line: entry.line, code: .genericPasswordExists, message: """
                                line \(entry.line): \(address) already has a generic password, which cannot be reset; \
                                disconnect it first to import another
                                """))
                        }
                        continue
                    }
                    accepted.append((entry, target.mailboxID, target.policy, target.organizationID, line.clearText))
                } else {
                    let domain = entry.address.domain
                    if services[domain] == nil { services[domain] = await .some(try db.importService(domain: domain)) }
                    guard let service = services[domain] ?? nil else {
                        report.add(error: .init(line: entry.line, code: .domainNotServed, message: """
                            line \(entry.line): no mail service holds domain \(domain); add one with \
                            `postern service add NAME --organization ORG --domain \(domain)`
                            """))
                        continue
                    }
                    if node.routing.isOurs(address) || creating.contains(address.lowercased()) {
                        report.add(error: .init(line: entry.line, code: .addressTaken, message: """
                            line \(entry.line): \(address) is an alias or differs from an existing mailbox only in case; nothing was imported for it
                            """))
                        continue
                    }
                    creating.insert(address.lowercased())
                    newMailboxes.append((address, service.id))
                    accepted.append((entry, nil, service.policy, service.organizationID, line.clearText))
                }
                // A later line of this batch for the same user finds it as if already written.
                targets[address] = ImportTarget(mailboxID: 0, genericHash: entry.password.stored, policy: nil, organizationID: 0)
            }
            let created = try await db.insertImportedMailboxes(newMailboxes, at: now)
            let passwords = accepted.map { ($0.mailboxID ?? created[$0.entry.address.description]!, $0.entry.password) }
            let devices = try await db.insertImportedGenericPasswords(passwords, at: now)
            try await ActionLog.record(accepted.map { line in
                (HistoryAction.genericImported(scheme: line.entry.password.scheme.rawValue, mailboxCreated: line.mailboxID == nil),
                 line.entry.address.description, line.organizationID)
            }, by: actor, in: db)
            var changes: [CredentialIndex.Change] = []
            for (line, (mailboxID, _)) in zip(accepted, passwords) {
                let address = line.entry.address.description
                changes.append(.setGeneric(GenericCredential(deviceID: devices[mailboxID]!, address: address, password: line.entry.password, policy: line.policy)))
                report.imported += 1
                if line.clearText {
                    report.add(warning: .init(line: line.entry.line, code: .plainPassword,
                                              message: "line \(line.entry.line): \(address): \(ImportRules.clearTextWarning)"))
                }
            }
            report.mailboxesCreated += newMailboxes.count
            return (report, NodeChange(credentials: changes, routing: newMailboxes.map { RoutingTable.Change.addMailbox($0.address) }))
        })
    }

    /// The batch with each clear-text password replaced by its hash (`PlainImport`), on the
    /// thread pool, several at once, before the batch's transaction. A line of a domain no mail
    /// service holds is refused in the transaction anyway: it is not hashed (a file of such lines
    /// costs no hashing).
    func hashingClearText(_ batch: [ImportLine]) async throws -> [ImportLine] {
        let routing = node.routing
        func needsHash(_ line: ImportLine) -> Bool {
            line.entry.password.scheme == .plain && routing.serves(domain: line.entry.address.domain)
        }
        guard batch.contains(where: needsHash) else { return batch }
        let key = key, blocking = blocking
        var hashed = batch
        try await withThrowingTaskGroup(of: (Int, GenericPassword).self) { group in
            var next = batch.indices.makeIterator()
            func start() {
                while let i = next.next() {
                    let entry = batch[i].entry
                    guard needsHash(batch[i]) else { continue }
                    group.addTask { (i, try await blocking.run { try PlainImport.hashed(entry.password, address: entry.address.description, key: key) }) }
                    return
                }
            }
            for _ in 0..<Self.hashingWidth { start() }
            while let (i, password) = try await group.next() {
                let line = batch[i]
                hashed[i] = ImportLine(entry: .init(line: line.entry.line, address: line.entry.address, password: password),
                                       earlierLine: line.earlierLine, clearText: true)
                start()
            }
        }
        return hashed
    }

    /// At start: generic passwords an earlier version stored in clear text are hashed as an import
    /// now hashes them, in the device table and in the change log the nodes read (the same value,
    /// so that a node catching up from the log gets what the table holds). Returns how many stored
    /// passwords were hashed; none found costs one look at a partial index.
    public func hashStoredClearText() async throws -> Int {
        let (stored, logged) = try await store.read { db in
            let stored = try await db.clearTextGenericPasswords()
            var logged: [(address: String, password: GenericPassword)] = []
            // The log is read only when the table held some (once: an upgrade).
            for entry in stored.isEmpty ? [] : try await db.changes(containing: "{PLAIN}") {
                for case let .setGeneric(credential) in Self.decoded(entry.change)?.credentials ?? [] where credential.password.scheme == .plain {
                    logged.append((credential.address, credential.password))
                }
            }
            return (stored, logged)
        }
        guard !stored.isEmpty else { return 0 }
        let key = key, blocking = blocking, index = node.index
        var hashes: [ClearText: GenericPassword] = [:]
        for (address, password) in stored.map({ ($0.address, $0.password) }) + logged where hashes[ClearText(address, password)] == nil {
            hashes[ClearText(address, password)] = try await blocking.run { try PlainImport.hashed(password, address: address, key: key) }
        }
        let hashed = hashes
        let count = try await node.commit({ db in
            var changes: [CredentialIndex.Change] = []
            for row in stored {
                guard let new = hashed[ClearText(row.address, row.password)],
                      try await db.replaceGenericPassword(deviceID: row.deviceID, row.password, with: new) else { continue }
                changes.append(.setGeneric(GenericCredential(deviceID: row.deviceID, address: row.address, password: new,
                                                             policy: index.generic(for: row.address)?.policy)))
            }
            try await db.rewriteChanges(containing: "{PLAIN}") { text in
                guard var change = Self.decoded(text) else { return text }
                change.credentials = change.credentials.map { item in
                    guard case let .setGeneric(credential) = item, let new = hashed[ClearText(credential.address, credential.password)] else { return item }
                    return .setGeneric(GenericCredential(deviceID: credential.deviceID, address: credential.address, password: new, policy: credential.policy))
                }
                return (try? ChangeFeed.encoder.encode(change)).map { String(decoding: $0, as: UTF8.self) } ?? text
            }
            return (changes.count, NodeChange.credentials(changes))
        })
        logger.notice("clear-text generic passwords hashed", metadata: ["stored": "\(count)", "logged": "\(logged.count)",
                                                                         "scheme": "\(PlainImport.scheme.rawValue)"])
        return count
    }

    static func decoded(_ text: String) -> NodeChange? { try? JSONDecoder().decode(NodeChange.self, from: Data(text.utf8)) }

    /// A clear-text password of a mailbox, as the key of its hash.
    struct ClearText: Hashable {
        let address: String, password: String
        init(_ address: String, _ password: GenericPassword) {
            self.address = address.lowercased()
            self.password = password.hash
        }
    }
}
