import Foundation
import PosternCore

/// A passwd-file line ready to write, with the line that held the same user before, if any.
struct ImportLine: Sendable {
    let entry: PasswdFile.Entry
    /// A hash of the address matched an earlier line: a duplicate if the mailbox has its generic
    /// password by the time this line is written (which it has, unless two addresses collide).
    let earlierLine: Int?
    /// The file gave it in clear text ({PLAIN}); `entry.password` is now its hash.
    var clearText = false
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

/// Why an import stopped, for the log.
enum ImportRules {
    /// Said of each line whose password was given in clear text.
    static let clearTextWarning = """
        the file gives this password in clear text ({PLAIN}); it was stored as {SHA512-CRYPT}, and the clear text is kept \
        nowhere, but remove it from the file and move this mailbox to device passwords
        """

    static func stopReason(_ error: any Error) -> String {
        if let error = error as? PosternError { return error.code }
        return "client_gone"  // the body broke off, or the progress could not be written
    }
}
