import ArgumentParser
import Foundation
import PosternCore
import NIOHTTP1

struct MailboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailbox", abstract: "Mailboxes, known by their full address (which is also the login).",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a mailbox in the mail service that holds its domain.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The address, such as alice@example.org.") var address: String

        func run() async throws {
            try await options.perform(MailboxBody.self, { try await $0.send(.POST, "/v1/mailboxes", json: AddressInput(address: address)) }) {
                print("mailbox \($0.mailbox.address) added to mail service \($0.mailbox.mailService)")
                print("next: postern device add \($0.mailbox.address) --name iPhone")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List mailboxes.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var page: PageOptions
        @Option(name: .long, help: "Only mailboxes of this domain.") var domain: String?
        @Option(name: .long, help: "Only addresses that begin with this (case ignored).") var search: String?

        func run() async throws {
            let query = [("domain", domain), ("q", search)].compactMap { name, value in value.map { (name, $0) } }
            try await options.list(MailboxList.self, "/v1/mailboxes", query: query, page: page) { list in
                Output.table(["ADDRESS", "MAIL SERVICE", "CREATED"],
                             list.mailboxes.map { [$0.address.description, $0.mailService, Output.date($0.createdAt)] })
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a mailbox with its devices and aliases (its passwords stop working at once).",
            discussion: """
                Without --yes, shows what would go and changes nothing (exit status 1). Other mailboxes' redirections
                lose it, and its aliases, as a target; one left with no target is cleared. Each change is in that
                mailbox's history.
                """)
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Flag(name: .long, help: "Confirm: without it nothing changes.") var yes = false

        func run() async throws {
            let path = "/v1/mailboxes/\(ControlClient.segment(address))"
            guard yes else {
                try await options.perform(MailboxRemoval.self, { try await $0.send(.GET, path + "/removal") }) { removal in
                    print("removing \(removal.mailbox.address) would take:")
                    Self.describe(devices: removal.devices, aliases: removal.aliases, redirectedBy: removal.redirectedBy)
                    print("nothing was changed: add --yes to remove it")
                }
                throw ExitCode(1)
            }
            try await options.perform(MailboxRemoved.self, { try await $0.send(.DELETE, path) }) { removed in
                print("mailbox \(removed.removed.address) removed, with:")
                Self.describe(devices: removed.devices, aliases: removed.aliases, redirectedBy: removed.redirectedBy)
            }
        }

        static func describe(devices: Int, aliases: [String], redirectedBy: [String]) {
            print("  \(devices) device password(s)")
            print("  aliases: \(aliases.isEmpty ? "none" : aliases.joined(separator: ", "))")
            print("  a redirection target of: \(redirectedBy.isEmpty ? "no mailbox" : redirectedBy.joined(separator: ", ") + " (that target goes; a redirection left with none is cleared)")")
        }
    }
}

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Show a mailbox's action history (or an organization's), newest first.",
        discussion: "Kinds: device, generic, mailbox, member, access, defaults, token, user, policy, login, revocation…, or one action such as device.add.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The mailbox (omit with --organization).") var address: String?
    @Option(name: .long, help: "The organization-wide history instead (administrators).") var organization: String?
    @Option(name: .long, help: "From this time on (2026-12-01 or 2026-12-01T18:00:00Z).") var since: String?
    @Option(name: .long, help: "Before this time.") var until: String?
    @Option(name: .long, help: "Only this kind of action (device) or this action (device.add).") var kind: String?
    @OptionGroup var page: PageOptions

    func validate() throws {
        guard (address == nil) != (organization == nil) else { throw ValidationError("give a mailbox address or --organization, not both") }
    }

    func run() async throws {
        let query = [("since", since), ("until", until), ("kind", kind)].compactMap { name, value in value.map { (name, $0) } }
        let path = address.map { "/v1/mailboxes/\(ControlClient.segment($0))/history" }
            ?? "/v1/organizations/\(ControlClient.segment(organization ?? ""))/history"
        try await options.list(HistoryList.self, path, query: query, page: page) { list in
            Output.table(["WHEN", "WHO", "ACTION", "DETAIL"], list.history.map { [Output.date($0.at), $0.actor, $0.action, $0.detail] })
        }
    }
}
