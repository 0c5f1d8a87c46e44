import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

@main
struct Postern: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postern",
        abstract: "Manage Postern: organizations, mail services, mailboxes and their device passwords.",
        discussion: """
            Talks to posternd over its control socket (--socket, or POSTERN_SOCKET; default ./var/run/control.sock).
            Every command accepts --json and then prints exactly one JSON object. The exit status is non-zero on any error.
            """,
        subcommands: [OrganizationCommand.self, ServiceCommand.self, MailboxCommand.self, DeviceCommand.self,
                      UserCommand.self, MemberCommand.self, AccessCommand.self, DefaultsCommand.self, AliasCommand.self, RedirectCommand.self, RulesCommand.self, SpamCommand.self, ResponderCommand.self, SendersCommand.self, FolderCommand.self, SignatureCommand.self, SieveCommand.self, TokenCommand.self,
                      HistoryCommand.self, ImportCommand.self, PolicyCommand.self, ReportCommand.self, BackupCommand.self, RestoreCommand.self, DatabaseCommand.self, AuthCommand.self, CheckpasswordCommand.self])

    /// As ArgumentParser's, with the shared options accepted before the subcommand too
    /// (`postern --as LOGIN mailbox list` as well as `postern mailbox list --as LOGIN`).
    static func main() async {
        // A reader gone away is EPIPE on the write (Output.standardOutput), never a signal.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot(GlobalOptions.hoisted(Array(CommandLine.arguments.dropFirst())))
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("posternd's control socket.", valueName: "path"))
    var socket: String = ProcessInfoShim.environment("POSTERN_SOCKET") ?? "./var/run/control.sock"

    @Flag(name: .long, help: "Print exactly one JSON object instead of text.")
    var json = false

    @Option(name: .customLong("as"), help: ArgumentHelp("Act as this user, with their rights (the operator only).", valueName: "login"))
    var actingAs: String?

    /// The shared options given before the first subcommand, moved after the subcommands (and
    /// before a `--`), where each command declares them: `--as L mailbox list` → `mailbox list --as L`.
    static func hoisted(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            if first == "--json" {
                leading.append(first); rest = rest.dropFirst()
            } else if first == "--as" || first == "--socket", rest.count >= 2 {
                leading += rest.prefix(2); rest = rest.dropFirst(2)
            } else if first.hasPrefix("--as=") || first.hasPrefix("--socket=") {
                leading.append(first); rest = rest.dropFirst()
            } else {
                break
            }
        }
        guard !leading.isEmpty, !rest.isEmpty else { return arguments }
        var moved = Array(rest)
        moved.insert(contentsOf: leading, at: moved.firstIndex(of: "--") ?? moved.endIndex)
        return moved
    }
}
