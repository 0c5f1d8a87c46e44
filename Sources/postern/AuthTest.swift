import ArgumentParser
import Foundation
import PosternProtocols

struct AuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "auth", abstract: "Ask the auth socket, as a mail server would.",
                                                    subcommands: [Test.self])

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a password like `doveadm auth test`: the password comes from standard input or a prompt.",
            discussion: "Exit status 0 when the login succeeds, 1 when it is refused or on any error.")
        @OptionGroup var options: GlobalOptions
        @Option(name: .customLong("auth-socket"), help: ArgumentHelp("posternd's auth socket.", valueName: "path"))
        var authSocket: String = ProcessInfo.processInfo.environment["POSTERN_AUTH_SOCKET"] ?? "./var/run/auth.sock"
        @Option(name: .long, help: "The service to ask for.") var service = "smtp"
        @Option(name: .long, help: "A client IP to pass along, as rip=.") var remoteIP: String?
        @Argument(help: "The login (the mailbox address).") var address: String

        func run() async throws {
            guard let password = PasswordInput.read(prompt: "Password for \(address): ") else {
                throw options.refuse("no_password", "no password given on standard input")
            }
            let answer: AuthClientCodec.ServerLine
            do {
                answer = try AuthSocketClient(path: authSocket).plain(service: service, login: address, password: Array(password.utf8), remoteIP: remoteIP)
            } catch let error as CLIError {
                throw Output.fail(error, json: options.json)
            }
            struct Result: Encodable { let result: String; let user: String?; let code: String?; let reason: String? }
            switch answer {
            case let .ok(_, fields):
                if options.json { Output.printJSON(Result(result: "ok", user: fields["user"], code: nil, reason: nil)) }
                else { print("passdb: \(address) auth succeeded\nextra fields:\n  user=\(fields["user"] ?? "")") }
            case let .fail(_, fields):
                if options.json { Output.printJSON(Result(result: "fail", user: fields["user"], code: fields["code"], reason: fields["reason"])) }
                else { print("passdb: \(address) auth failed\(fields["code"].map { " (\($0))" } ?? "")") }
                throw ExitCode(1)
            default:
                throw Output.fail(CLIError(code: "protocol_error", message: "unexpected answer from \(authSocket)"), json: options.json)
            }
        }
    }
}

/// Reads a password: one line from standard input, or a prompt without echo on a terminal.
enum PasswordInput {
    static func read(prompt: String) -> String? {
        if isatty(STDIN_FILENO) == 1 {
            FileHandle.standardError.write(Data(prompt.utf8))
            var old = termios()
            tcgetattr(STDIN_FILENO, &old)
            var silent = old
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
            defer {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &old)
                FileHandle.standardError.write(Data("\n".utf8))
            }
            return readLine(strippingNewline: true)
        }
        return readLine(strippingNewline: true)
    }
}

/// A blocking client of the Dovecot auth protocol on a unix socket: enough for one check.
struct AuthSocketClient {
    let path: String

    func plain(service: String, login: String, password: [UInt8], remoteIP: String?) throws -> AuthClientCodec.ServerLine {
        let fd = try UnixSocket.connect(path, what: "the auth socket")
        defer { close(fd) }
        var request = AuthClientCodec.hello(pid: UInt32(getpid()))
        request += AuthClientCodec.plain(id: 1, service: service, login: login, password: password, remoteIP: remoteIP)
        guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else {
            throw CLIError(code: "io", message: "cannot write to \(path)")
        }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            while let lf = pending.firstIndex(of: 0x0A) {
                let line = AuthClientCodec.decode(pending[..<lf])
                pending.removeSubrange(...lf)
                switch line {
                case .ok(1, _), .fail(1, _): return line
                default: continue
                }
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                throw CLIError(code: "closed", message: "the auth socket \(path) closed the connection without an answer")
            }
            pending += chunk[..<n]
        }
    }
}

/// A connected unix stream socket, or an error that says what to check.
enum UnixSocket {
    static func connect(_ path: String, what: String, timeoutSeconds: Int = 30) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError(code: "socket", message: "cannot create a socket: \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw CLIError(code: "bad_socket", message: "the socket path \(path) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw CLIError(code: "unreachable", message: "cannot connect to \(what) \(path): \(reason); is posternd running? (`scripts/run` starts it)")
        }
        return fd
    }
}
