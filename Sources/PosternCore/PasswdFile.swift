/// A Dovecot passwd-file (`user:{SCHEME}hash:uid:gid:gecos:home:shell:extra`) read for import,
/// a line at a time: `LineSplitter` cuts a byte stream into lines with bounded memory, `parse`
/// reads one line. `decode` does both over a whole text (seeds, tests).
public struct PasswdFile: Sendable, Equatable {
    /// A line that becomes a mailbox with a generic password.
    public struct Entry: Sendable, Equatable {
        public let line: Int
        public let address: MailAddress
        public let password: GenericPassword

        public init(line: Int, address: MailAddress, password: GenericPassword) {
            self.line = line
            self.address = address
            self.password = password
        }
    }

    /// A line that cannot be imported; nothing of it is written.
    public struct LineError: Error, Sendable, Equatable, Codable {
        public let line: Int
        public let code: String
        public let message: String

        public init(line: Int, code: PosternError.Code, message: String) {
            self.line = line
            self.code = code.rawValue
            self.message = message
        }
    }

    /// What one line holds.
    public enum Line: Sendable, Equatable {
        /// Blank or a `#` comment.
        case skipped
        case entry(Entry)
        case error(LineError)
    }

    public var entries: [Entry] = []
    public var errors: [LineError] = []

    /// Longest line read; the rest of a longer one is skipped unread and the line reported. Dovecot
    /// reads passwd-file lines of any length, but a user, a hash and its extra fields fit in far less.
    public static let maxLineBytes = 16 << 10

    /// Reads one line (without its line break). Errors never quote the password field.
    public static func parse(_ bytes: some Collection<UInt8>, number: Int) -> Line {
        func fail(_ code: PosternError.Code, _ message: String) -> Line {
            .error(LineError(line: number, code: code, message: "line \(number): \(message)"))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return fail(.invalidEncoding, "the line is not UTF-8 text")
        }
        let line = text.utf8.last == UInt8(ascii: "\r") ? text.dropLast() : Substring(text)
        let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return .skipped }
        let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count >= 2 else {
            return fail(.invalidLine, "expected user:{SCHEME}hash:…, found no ':' after the user")
        }
        let address: MailAddress
        do { address = try MailAddress(String(fields[0])) } catch { return fail(error.errorCode, error.message) }
        if fields[1].isEmpty { return fail(.missingPassword, "\(address) has an empty password field") }
        do {
            return .entry(Entry(line: number, address: address, password: try GenericPassword(parsing: fields[1])))
        } catch {
            return fail(error.errorCode, error.message)
        }
    }

    /// The error for a line longer than `maxLineBytes`.
    public static func tooLong(number: Int) -> LineError {
        LineError(line: number, code: .lineTooLong, message: "line \(number): longer than \(maxLineBytes) bytes; skipped unread")
    }

    /// The error for a second line of a user already read.
    public static func duplicate(_ address: MailAddress, number: Int, first: Int) -> LineError {
        LineError(line: number, code: .duplicateUser, message: "line \(number): \(address) already appears on line \(first)")
    }

    /// Splits the whole text into importable entries and line errors.
    public static func decode(_ text: String) -> PasswdFile {
        var result = PasswdFile()
        var seen: [MailAddress: Int] = [:]
        var splitter = LineSplitter()
        func take(_ line: LineSplitter.Piece) {
            switch line {
            case let .line(number, bytes):
                switch parse(bytes, number: number) {
                case .skipped: break
                case let .error(error): result.errors.append(error)
                case let .entry(entry):
                    if let first = seen[entry.address] {
                        result.errors.append(duplicate(entry.address, number: number, first: first))
                    } else {
                        seen[entry.address] = number
                        result.entries.append(entry)
                    }
                }
            case let .tooLong(number): result.errors.append(tooLong(number: number))
            }
        }
        splitter.push(Array(text.utf8), take)
        splitter.finish(take)
        return result
    }
}

extension PasswdFile {
    /// Cuts a byte stream into numbered lines at `\n`, holding at most `maxLineBytes` of one line:
    /// a longer line is reported as `tooLong` and its bytes dropped up to the next line break.
    public struct LineSplitter: Sendable {
        public enum Piece: Sendable, Equatable {
            /// Line `number`'s bytes, without the `\n` (a `\r` before it is left to `parse`).
            case line(number: Int, bytes: [UInt8])
            case tooLong(number: Int)
        }

        public let maxLineBytes: Int
        /// Lines started so far, the one being read included.
        public private(set) var lines = 0
        /// Bytes pushed so far.
        public private(set) var bytes = 0
        private var partial: [UInt8] = []
        private var skipping = false

        public init(maxLineBytes: Int = PasswdFile.maxLineBytes) { self.maxLineBytes = maxLineBytes }

        public mutating func push(_ chunk: some Collection<UInt8>, _ emit: (Piece) throws -> Void) rethrows {
            bytes += chunk.count
            var start = chunk.startIndex
            while start != chunk.endIndex {
                if partial.isEmpty && !skipping { lines += 1 }
                let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n"))
                let end = newline ?? chunk.endIndex
                if !skipping {
                    if partial.count + chunk.distance(from: start, to: end) > maxLineBytes {
                        skipping = true
                        partial = []
                        try emit(.tooLong(number: lines))
                    } else {
                        partial.append(contentsOf: chunk[start..<end])
                    }
                }
                guard let newline else { return }
                if !skipping { try emit(.line(number: lines, bytes: partial)) }
                partial.removeAll(keepingCapacity: true)
                skipping = false
                start = chunk.index(after: newline)
                if partial.isEmpty && start == chunk.endIndex { return }
            }
        }

        /// Ends the stream: a last line without a line break is a line too.
        public mutating func finish(_ emit: (Piece) throws -> Void) rethrows {
            defer { partial = []; skipping = false }
            if !partial.isEmpty, !skipping { try emit(.line(number: lines, bytes: partial)) }
        }
    }
}
