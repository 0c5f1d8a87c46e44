/// A Dovecot passwd-file (`user:{SCHEME}hash:uid:gid:gecos:home:shell:extra`) read for import.
public struct PasswdFile: Sendable, Equatable {
    /// A line that becomes a mailbox with a generic password.
    public struct Entry: Sendable, Equatable {
        public let line: Int
        public let address: MailAddress
        public let password: GenericPassword
    }

    /// A line that cannot be imported; nothing of it is written.
    public struct LineError: Error, Sendable, Equatable, Codable {
        public let line: Int
        public let code: String
        public let message: String

        public init(line: Int, code: String, message: String) {
            self.line = line
            self.code = code
            self.message = message
        }
    }

    public var entries: [Entry] = []
    public var errors: [LineError] = []

    /// Largest file accepted (the control API limits request bodies to this too).
    public static let maxBytes = 64 << 20

    /// Splits the file into importable entries and line errors. Blank lines and `#` comments are skipped.
    public static func decode(_ text: String) -> PasswdFile {
        var result = PasswdFile()
        var seen: [MailAddress: Int] = [:]
        var number = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            func fail(_ code: String, _ message: String) {
                result.errors.append(LineError(line: number, code: code, message: "line \(number): \(message)"))
            }
            guard fields.count >= 2 else {
                fail("invalid_line", "expected user:{SCHEME}hash:…, found no ':' after the user")
                continue
            }
            let address: MailAddress
            do { address = try MailAddress(String(fields[0])) } catch {
                fail(error.code, error.message)
                continue
            }
            if fields[1].isEmpty {
                fail("missing_password", "\(address) has an empty password field")
                continue
            }
            let password: GenericPassword
            do { password = try GenericPassword(parsing: fields[1]) } catch {
                fail(error.code, error.message)
                continue
            }
            if let first = seen[address] {
                fail("duplicate_user", "\(address) already appears on line \(first)")
                continue
            }
            seen[address] = number
            result.entries.append(Entry(line: number, address: address, password: password))
        }
        return result
    }
}
