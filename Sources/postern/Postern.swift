import ArgumentParser

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
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("posternd's control socket.", valueName: "path"))
    var socket: String = ProcessInfoShim.environment("POSTERN_SOCKET") ?? "./var/run/control.sock"

    @Flag(name: .long, help: "Print exactly one JSON object instead of text.")
    var json = false

    @Option(name: .customLong("as"), help: ArgumentHelp("Act as this user, with their rights (the operator only).", valueName: "login"))
    var actingAs: String?
}
