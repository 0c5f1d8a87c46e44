import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import PosternCore
import Synchronization

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import an existing user base.",
                                                    subcommands: [PasswdFileImport.self])

    struct PasswdFileImport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "passwd-file",
            abstract: "Import a Dovecot passwd-file: each user becomes a mailbox with its hash as the generic password.",
            discussion: """
                The file streams to posternd, which writes it in batches as it reads. Progress goes to standard error. \
                Lines that cannot be imported are reported with their line number (the first 100; the count is complete); \
                nothing of them is written. Ctrl-C stops the import after the batch being written: running the same import \
                again finishes it, lines already imported come back unchanged. Exit status 1 if any line failed.
                """)
        @OptionGroup var options: GlobalOptions
        @Flag(name: .long, help: "No progress on standard error.") var quiet = false
        @Argument(help: "The passwd-file (user:{SCHEME}hash:…), or - for standard input.") var file: String

        func run() async throws {
            let fd = file == "-" ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw options.refuse("unreadable_file", "cannot read \(file): \(String(cString: strerror(errno)))") }
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT != S_IFDIR else {
                throw options.refuse("unreadable_file", "cannot read \(file): it is a directory")
            }
            let size = info.st_mode & S_IFMT == S_IFREG && fd != STDIN_FILENO ? Int64(info.st_size) : nil
            let meter = ProgressMeter(total: size, enabled: !quiet, terminal: isatty(STDERR_FILENO) == 1)
            let interrupt = meter.stopOnInterrupt()
            defer { interrupt.cancel() }

            var report: ImportReport?
            var failure: ImportEvent.Failure?
            do {
                let body = HTTPClientRequest.Body.stream(FileChunks(fd: fd, name: file), length: size.map { .known($0) } ?? .unknown)
                try await ControlClient(socket: options.socket, actingAs: options.actingAs).streamLines(.POST, "/v1/import/passwd-file", body: body) { line in
                    let event = try Output.decoder.decode(ImportEvent.self, from: line)
                    if let progress = event.progress { meter.show(progress) }
                    if let done = event.report { report = done }
                    if let error = event.error { failure = error }
                }
            } catch let error as CLIError {
                meter.clear()
                throw Output.fail(error, json: options.json)
            }
            meter.clear()
            if let failure { throw Output.fail(CLIError(code: failure.code, message: failure.message), json: options.json) }
            guard let report else {
                throw Output.fail(CLIError(code: "connection_lost", message: "posternd ended its answer without a report; see its log"), json: options.json)
            }
            if options.json {
                Output.printJSON(report)
            } else {
                print("read \(report.lines) line(s): imported \(report.imported) generic password(s) (\(report.mailboxesCreated) new mailbox(es)), "
                      + "\(report.unchanged) unchanged, \(report.errorCount) error(s)")
                for error in report.errors { print("  error: \(error.message)") }
                if report.errorCount > report.errors.count { print("  … and \(report.errorCount - report.errors.count) more error(s)") }
                for warning in report.warnings { print("  warning: \(warning.message)") }
                if report.warningCount > report.warnings.count { print("  … and \(report.warningCount - report.warnings.count) more warning(s)") }
            }
            if report.errorCount > 0 { throw ExitCode(1) }
        }
    }
}

/// A file read in 64 KiB chunks as the upload asks for them.
struct FileChunks: AsyncSequence, Sendable {
    let fd: Int32
    let name: String

    struct AsyncIterator: AsyncIteratorProtocol {
        let fd: Int32
        let name: String
        mutating func next() async throws -> ByteBuffer? {
            var buffer = ByteBufferAllocator().buffer(capacity: 64 << 10)
            var failure: Int32 = 0
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 << 10) { raw in
                var n: Int
                repeat { n = read(fd, raw.baseAddress, raw.count) } while n < 0 && errno == EINTR
                if n < 0 { failure = errno }
                return Swift.max(n, 0)
            }
            if failure != 0 { throw CLIError(code: "unreadable_file", message: "cannot read \(name): \(String(cString: strerror(failure)))") }
            if count == 0 { return nil }
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(fd: fd, name: name) }
}

/// The import's progress on standard error: one line rewritten in place on a terminal, a line
/// every five seconds otherwise.
final class ProgressMeter: Sendable {
    private let total: Int64?
    private let enabled: Bool
    private let terminal: Bool
    private struct State {
        var last: ImportEvent.Progress?
        var shownAt: ContinuousClock.Instant?
        var onScreen = false
    }
    private let state = Mutex(State())

    init(total: Int64?, enabled: Bool, terminal: Bool) {
        self.total = total
        self.enabled = enabled
        self.terminal = terminal
    }

    func show(_ progress: ImportEvent.Progress) {
        let text: String? = state.withLock { state in
            state.last = progress
            let every: Duration = terminal ? .milliseconds(200) : .seconds(5)
            guard enabled, state.shownAt.map({ ContinuousClock.now - $0 >= every }) ?? true else { return nil }
            state.shownAt = .now
            state.onScreen = terminal
            return describe(progress)
        }
        if let text { write(terminal ? "\r\u{1B}[K" + text : text + "\n") }
    }

    func clear() {
        let wasOnScreen = state.withLock { state in defer { state.onScreen = false }; return state.onScreen }
        if wasOnScreen { write("\r\u{1B}[K") }
    }

    /// On Ctrl-C: say where the import stopped, and exit (closing the connection stops posternd's side).
    func stopOnInterrupt() -> any DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in
            clear()
            let last = state.withLock { $0.last }
            let done = last.map { "after about \($0.lines) line(s) read, \($0.imported) imported" } ?? "before any progress was reported"
            write("postern: import stopped \(done); run the same import again to finish it (lines already imported come back unchanged)\n")
            exit(130)
        }
        source.resume()
        return source
    }

    private func describe(_ progress: ImportEvent.Progress) -> String {
        var text = "importing: \(progress.lines) line(s) read"
        if let total, total > 0 { text += " (\(min(100, Int(Int64(progress.bytes) * 100 / total)))%)" }
        return text + ", \(progress.imported) imported, \(progress.unchanged) unchanged, \(progress.errors) error(s)"
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
