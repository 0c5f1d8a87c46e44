import Foundation
import NIOCore
import NIOPosix
import PosternAuth
import PosternCore
import PosternStore

/// A passwd-file line ready to write, with the line that held the same user before, if any.
struct ImportLine: Sendable {
    let entry: PasswdFile.Entry
    /// A hash of the address matched an earlier line: a duplicate if the mailbox has its generic
    /// password by the time this line is written (which it has, unless two addresses collide).
    let earlierLine: Int?
}

/// The reading side of one import: bytes in, lines parsed as they complete, entries out in batches.
/// Memory stays bounded: one line of at most `PasswdFile.maxLineBytes`, the pending batch, at most
/// twice `ImportReport.maxListed` errors and warnings, and about 25 bytes a user for duplicates, up
/// to `maxTracked` users (past that, a repeated user is still caught, as a mailbox that already has
/// its generic password).
struct PasswdImportReader {
    static let maxTracked = 2_000_000
    private var splitter = PasswdFile.LineSplitter()
    private var seen: [Int: Int32] = [:]
    private(set) var pending: [ImportLine] = []
    var report = ImportReport()
    /// The last line of the last batch written: every line up to it is done.
    var doneThrough = 0

    var lines: Int { splitter.lines }
    var bytes: Int { splitter.bytes }

    mutating func push(_ chunk: some Collection<UInt8>) {
        var splitter = self.splitter
        splitter.push(chunk) { take($0) }
        self.splitter = splitter
    }

    mutating func finish() {
        var splitter = self.splitter
        splitter.finish { take($0) }
        self.splitter = splitter
        report.lines = splitter.lines
    }

    mutating func takeBatch(_ size: Int) -> [ImportLine] {
        let batch = Array(pending.prefix(size))
        pending.removeFirst(batch.count)
        return batch
    }

    private mutating func take(_ piece: PasswdFile.LineSplitter.Piece) {
        switch piece {
        case let .tooLong(number): report.add(error: PasswdFile.tooLong(number: number))
        case let .line(number, bytes):
            switch PasswdFile.parse(bytes, number: number) {
            case .skipped: break
            case let .error(error): report.add(error: error)
            case let .entry(entry):
                let key = entry.address.hashValue
                let earlier = seen[key].map(Int.init)
                if earlier == nil, seen.count < Self.maxTracked { seen[key] = Int32(truncatingIfNeeded: number) }
                pending.append(ImportLine(entry: entry, earlierLine: earlier))
            }
        }
    }
}

extension ControlPlane {
    /// Lines written per transaction: big enough to amortize the commit, small enough that other
    /// writes wait little and a stop comes soon.
    static let importBatchLines = 2_000

    /// Imports a Dovecot passwd-file as it streams in: each good line becomes a mailbox (created if
    /// needed, in the mail service that holds its domain) with a generic password. Lines are written
    /// in batches of `importBatchLines`, one transaction each; a stop (posternd shutting down, the
    /// client gone) leaves the batches written so far, and running the same import again finishes it.
    public func importPasswdFile<Body: AsyncSequence>(streaming body: Body, actor: Actor, gate: ImportGate? = nil,
                                                      progress: (ImportEvent.Progress) async throws -> Void = { _ in })
        async throws -> ImportReport where Body.Element == ByteBuffer {
        try store.read { try $0.authorize(actor, .operate("import passwd-files")) }
        let ticket = try gate?.begin()
        defer { ticket.map { gate?.end($0) } }
        var reader = PasswdImportReader()
        var lastProgress = ContinuousClock.now
        func stopIfAsked() throws {
            guard gate?.isStopping == true || Task.isCancelled else { return }
            throw PosternError(.unavailable, code: "import_stopped", """
                posternd is stopping: the import stopped with lines 1 to \(reader.doneThrough) done (imported, unchanged or refused) \
                and the rest not read; run the same import again to finish it (lines already imported come back unchanged)
                """)
        }
        func write(_ batch: [ImportLine]) async throws {
            let part = try await NIOThreadPool.singleton.runIfActive { [self] in try importBatch(batch, actor: actor) }
            reader.report.merge(part)
            reader.doneThrough = batch.last?.entry.line ?? reader.doneThrough
        }
        do {
            for try await chunk in body {
                try stopIfAsked()
                reader.push(chunk.readableBytesView)
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
                "unchanged": "\(report.unchanged)", "errors": "\(report.errorCount)", "why": "\(Self.stopReason(error))",
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
    public func importPasswdFile(_ text: String, actor: Actor) throws -> ImportReport {
        var reader = PasswdImportReader()
        reader.push(text.utf8)
        reader.finish()
        while !reader.pending.isEmpty {
            reader.report.merge(try importBatch(reader.takeBatch(Self.importBatchLines), actor: actor))
        }
        reader.report.finish()
        return reader.report
    }

    /// Writes one batch in one transaction, then puts its generic passwords in the index. The batch
    /// is read, decided line by line, then written in a few multi-row statements (one round trip
    /// each on PostgreSQL, whatever the batch's size).
    func importBatch(_ batch: [ImportLine], actor: Actor) throws -> ImportReport {
        try commit({ db in
            try db.authorize(actor, .operate("import passwd-files"))
            var report = ImportReport()
            var services: [String: ImportService?] = [:]
            let now = Date()
            var targets = try db.importTargets(batch.map(\.entry.address))
            // What this batch writes: lines that get a generic password, and the mailboxes to create for them.
            var accepted: [(entry: PasswdFile.Entry, mailboxID: Int64?, policy: GenericPolicy?, organizationID: Int64)] = []
            var newMailboxes: [(address: String, serviceID: Int64)] = []
            var creating: Set<String> = []
            for line in batch {
                let entry = line.entry
                let address = entry.address.description
                if let target = targets[address] {
                    if let hash = target.genericHash {
                        if let earlier = line.earlierLine {
                            report.add(error: PasswdFile.duplicate(entry.address, number: entry.line, first: earlier))
                        } else if hash == entry.password.stored {
                            report.unchanged += 1
                        } else {
                            report.add(error: .init(line: entry.line, code: "generic_password_exists", message: """
                                line \(entry.line): \(address) already has a generic password, which cannot be reset; \
                                disconnect it first to import another
                                """))
                        }
                        continue
                    }
                    accepted.append((entry, target.mailboxID, target.policy, target.organizationID))
                } else {
                    let domain = entry.address.domain
                    if services[domain] == nil { services[domain] = .some(try db.importService(domain: domain)) }
                    guard let service = services[domain] ?? nil else {
                        report.add(error: .init(line: entry.line, code: "domain_not_served", message: """
                            line \(entry.line): no mail service holds domain \(domain); add one with \
                            `postern service add NAME --organization ORG --domain \(domain)`
                            """))
                        continue
                    }
                    if routing.isOurs(address) || creating.contains(address.lowercased()) {
                        report.add(error: .init(line: entry.line, code: "address_taken", message: """
                            line \(entry.line): \(address) is an alias or differs from an existing mailbox only in case; nothing was imported for it
                            """))
                        continue
                    }
                    creating.insert(address.lowercased())
                    newMailboxes.append((address, service.id))
                    accepted.append((entry, nil, service.policy, service.organizationID))
                }
                // A later line of this batch for the same user finds it as if already written.
                targets[address] = ImportTarget(mailboxID: 0, genericHash: entry.password.stored, policy: nil, organizationID: 0)
            }
            let created = try db.insertImportedMailboxes(newMailboxes, at: now)
            let passwords = accepted.map { ($0.mailboxID ?? created[$0.entry.address.description]!, $0.entry.password) }
            let devices = try db.insertImportedGenericPasswords(passwords, at: now)
            try db.appendHistory(accepted.map { line in
                (HistoryEntry(mailbox: line.entry.address.description, actor: actor, action: "generic.import",
                              detail: "generic password imported ({\(line.entry.password.scheme.rawValue)})\(line.mailboxID == nil ? ", mailbox created" : "")"),
                 line.organizationID)
            })
            var changes: [CredentialIndex.Change] = []
            for (line, (mailboxID, _)) in zip(accepted, passwords) {
                let address = line.entry.address.description
                changes.append(.setGeneric(GenericCredential(deviceID: devices[mailboxID]!, address: address, password: line.entry.password, policy: line.policy)))
                report.imported += 1
                if let warning = line.entry.password.warning {
                    report.add(warning: .init(line: line.entry.line, code: "plain_password", message: "line \(line.entry.line): \(address): \(warning)"))
                }
            }
            report.mailboxesCreated += newMailboxes.count
            return (report, NodeChange(credentials: changes, routing: newMailboxes.map { RoutingTable.Change.addMailbox($0.address) }))
        })
    }

    static func stopReason(_ error: any Error) -> String {
        if let error = error as? PosternError { return error.code }
        return "client_gone"  // the body broke off, or the progress could not be written
    }
}
