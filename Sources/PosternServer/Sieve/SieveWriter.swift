import Foundation
import PosternControl
import PosternCore
import PosternProtocols

/// Where mailboxes' Sieve scripts are written, and how they are checked.
public struct SieveSettings: Sendable, Equatable {
    /// The script's path, with `%d` (domain), `%n` (local part) and `%u` (address), in lower case:
    /// `/var/vmail/%d/%n/sieve/postern.sieve`. nil: settings are stored, no script is written.
    public var scriptPath: String?
    /// The active-script link Dovecot reads (`sieve = file:~/sieve;active=~/.dovecot.sieve`):
    /// made a symlink to the script. nil: none.
    public var activePath: String?
    /// Pigeonhole's compiler: every script is compiled before it replaces the old one.
    public var sievec = "/usr/bin/sievec"
    public var spamHeader: SieveScript.SpamHeader = .score("X-Spam-Score")
    /// The owner (user name) of the written directories and files, the mail user Dovecot delivers as.
    public var owner: String?
    public var timeout: TimeInterval = 20

    public init(scriptPath: String? = nil, activePath: String? = nil) {
        self.scriptPath = scriptPath
        self.activePath = activePath
    }

    /// A path template for one mailbox. An address that would climb out of the template's
    /// directory (a `/`, or a part that is `.` or `..`) gets no path: whoever may create mailboxes
    /// must not be able to write files elsewhere (Dovecot refuses such user names too).
    static func expand(_ template: String, _ address: MailAddress) throws -> String {
        let local = address.localPart.lowercased(), domain = address.domain
        guard !local.contains("/"), local != ".", local != "..", !local.hasPrefix("."), !domain.contains("/") else {
            throw PosternError(.unsafePath, "\(address) cannot have a Sieve script: its address is not usable in a file path")
        }
        return template.replacingOccurrences(of: "%u", with: "\(local)@\(domain)")
            .replacingOccurrences(of: "%d", with: domain).replacingOccurrences(of: "%n", with: local)
    }
}

/// Writes a mailbox's script in two steps around the store's commit: `prepare` writes it beside
/// the old one under a temporary name and compiles it with the real sievec (an invalid script is
/// an error, and the transaction rolls back); `install` renames it into place after the commit,
/// so Dovecot reads either the old script or the new one, never half of one.
public struct SieveWriter: SieveScriptWriter {
    public let settings: SieveSettings

    public init(settings: SieveSettings) { self.settings = settings }

    public typealias Pending = PreparedScript

    public var spamHeader: SieveScript.SpamHeader { settings.spamHeader }

    public func check(_ address: MailAddress) throws {
        if let template = settings.scriptPath { _ = try SieveSettings.expand(template, address) }
    }

    /// nil when scripts are not written (no `sieve.scriptPath`).
    public func prepare(_ script: String, for address: MailAddress) throws -> Pending? {
        guard let template = settings.scriptPath else { return nil }
        let final = try SieveSettings.expand(template, address)
        let directory = (final as NSString).deletingLastPathComponent
        try makeDirectory(directory)
        let temporary = "\(final).tmp-\(UUID().uuidString.prefix(8))"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(script.utf8), attributes: [.posixPermissions: 0o644]) else {
            throw PosternError(.sieveUnwritable, "cannot write \(temporary): check sieve.scriptPath and its permissions")
        }
        let compiled = temporary + ".svbin"
        defer { try? FileManager.default.removeItem(atPath: compiled) }
        let (status, output) = Command.run([settings.sievec, temporary, compiled], timeout: settings.timeout)
        if let signal = Command.signal(status) {
            try? FileManager.default.removeItem(atPath: temporary)
            throw PosternError(.sieveUnwritable, "\(settings.sievec) did not finish (killed by signal \(signal)); the script is written on the retry")
        }
        guard status == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            let said = output.split(separator: "\n").prefix(3).joined(separator: "; ").replacingOccurrences(of: temporary, with: "script")
            throw PosternError(.sieveInvalid, "the new Sieve script does not compile (\(said.prefix(400))); the old one stays in place")
        }
        try chown(temporary)
        return Pending(temporary: temporary, final: final, active: try settings.activePath.map { try SieveSettings.expand($0, address) })
    }

    /// Puts a prepared script in place and points the active link at it.
    public func install(_ pending: Pending) throws {
        guard rename(pending.temporary, pending.final) == 0 else {
            throw PosternError(.sieveUnwritable, "cannot move the script to \(pending.final): \(String(cString: strerror(errno)))")
        }
        guard let active = pending.active else { return }
        try makeDirectory((active as NSString).deletingLastPathComponent)
        let link = active + ".tmp-\(UUID().uuidString.prefix(8))"
        guard symlink(pending.final, link) == 0, rename(link, active) == 0 else {
            unlink(link)
            throw PosternError(.sieveUnwritable, "cannot point \(active) at the script: \(String(cString: strerror(errno)))")
        }
        if let owner = ownerIDs() { lchown(active, owner.uid, owner.gid) }
    }

    public func abandon(_ pending: Pending) { try? FileManager.default.removeItem(atPath: pending.temporary) }

    private func makeDirectory(_ path: String) throws {
        var missing: [String] = []
        var walk = path
        while !walk.isEmpty, walk != "/", !FileManager.default.fileExists(atPath: walk) {
            missing.append(walk)
            walk = (walk as NSString).deletingLastPathComponent
        }
        for directory in missing.reversed() {
            guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
                throw PosternError(.sieveUnwritable, "cannot create \(directory): \(String(cString: strerror(errno)))")
            }
            try chown(directory)
        }
    }

    private func chown(_ path: String) throws {
        guard let owner = ownerIDs() else { return }
        guard Glibc.chown(path, owner.uid, owner.gid) == 0 else {
            throw PosternError(.sieveUnwritable, "cannot give \(path) to \(settings.owner ?? ""): \(String(cString: strerror(errno)))")
        }
    }

    private func ownerIDs() -> (uid: uid_t, gid: gid_t)? {
        guard let name = settings.owner, let entry = getpwnam(name) else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }
}

/// Runs a program to its end (or its deadline) and returns its status and output.
enum Command {
    static func run(_ argv: [String], timeout: TimeInterval) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
        process.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        // The end is awaited through the termination handler, as the revocation hooks do (not
        // waitUntilExit, which spins a run loop on this thread).
        let ended = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in ended.signal() }
        do { try process.run() } catch { return (-1, "cannot run \(argv[0]): \(error)") }
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        ended.wait()
        watchdog.cancel()
        // A signal (a kill, the watchdog's terminate) is said as a shell does: 128 + its number.
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return (status, String(decoding: data.prefix(64 << 10), as: UTF8.self))
    }

    /// The signal that ended a program, from `run`'s status.
    static func signal(_ status: Int32) -> Int32? { status > 128 && status < 160 ? status - 128 : nil }
}
