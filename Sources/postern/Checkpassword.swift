import ArgumentParser
import Foundation
import PosternProtocols

/// Dovecot's checkpassword interface, answered by asking posternd's auth socket. A fallback: it
/// costs a process per login, where the Lua passdb (conf/postern-passdb.lua) keeps a connection.
struct CheckpasswordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpassword",
        abstract: "Check a login for Dovecot's checkpassword passdb (fd 3: user NUL password NUL …).",
        discussion: """
            Dovecot runs it as `postern checkpassword [--auth-socket PATH] REPLY…` and appends its
            checkpassword-reply program. The service comes from $SERVICE, the client IP from $TCPREMOTEIP.
            On success USER is set to the mailbox address and REPLY is executed; exit 1 means a wrong
            password or an unknown user, exit 111 a temporary failure.
            """)

    @Option(name: .customLong("auth-socket"), help: ArgumentHelp("posternd's auth socket.", valueName: "path"))
    var authSocket: String = ProcessInfo.processInfo.environment["POSTERN_AUTH_SOCKET"] ?? "./var/run/auth.sock"

    @Argument(parsing: .captureForPassthrough, help: "The program to run on success (Dovecot's checkpassword-reply) and its arguments.")
    var reply: [String] = []

    static let wrongPassword: Int32 = 1
    static let temporaryFailure: Int32 = 111

    func run() throws {
        let input = FileHandle(fileDescriptor: 3, closeOnDealloc: false)
        guard let data = try? input.read(upToCount: 513), data.count <= 512 else {
            FileHandle.standardError.write(Data("postern checkpassword: fd 3 is missing or carries more than 512 bytes\n".utf8))
            throw ExitCode(Self.temporaryFailure)
        }
        let parts = Array(data).split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let login = String(validating: parts[0], as: UTF8.self), !login.isEmpty else {
            throw ExitCode(Self.wrongPassword)
        }
        let environment = ProcessInfo.processInfo.environment
        let answer: AuthClientCodec.ServerLine
        do {
            answer = try AuthSocketClient(path: authSocket).plain(
                service: environment["SERVICE"].flatMap { $0.isEmpty ? nil : $0 } ?? "imap", login: login, password: Array(parts[1]),
                remoteIP: environment["TCPREMOTEIP"].flatMap { $0.isEmpty ? nil : $0 })
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("postern checkpassword: \(error.message)\n".utf8))
            throw ExitCode(Self.temporaryFailure)
        }
        switch answer {
        case let .ok(_, fields):
            setenv("USER", fields["user"] ?? login, 1)
            guard let program = reply.first else { return }
            let argv = reply.map { strdup($0) } + [nil]
            execv(program, argv)
            FileHandle.standardError.write(Data("postern checkpassword: cannot run \(program): \(String(cString: strerror(errno)))\n".utf8))
            throw ExitCode(Self.temporaryFailure)
        case let .fail(_, fields) where fields["code"] == "temp_fail":
            throw ExitCode(Self.temporaryFailure)
        default:
            throw ExitCode(Self.wrongPassword)
        }
    }
}
