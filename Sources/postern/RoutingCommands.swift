import ArgumentParser
import Foundation
import PosternCore

struct AliasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias", abstract: "A mailbox's aliases: other addresses that deliver to it (the aliases permission).",
        discussion: """
            An alias is a local part in one of the mailbox's mail-service domains, unique across Postern: never a mailbox nor \
            another alias. Role addresses (postmaster, abuse…) are given out by administrators only. Postfix sees a change on its \
            next lookup (virtual_alias_maps and smtpd_sender_login_maps through the socketmap).
            """,
        subcommands: [List.self, Add.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a mailbox's aliases.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var page: PageOptions
        @Argument(help: "The mailbox.") var address: String
        func run() async throws {
            try await options.list(AliasList.self, "/v1/mailboxes/\(ControlClient.segment(address))/aliases", page: page) { list in
                Output.table(["ALIAS", "CREATED"], list.aliases.map { [$0.address, Output.date($0.createdAt)] })
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an alias: info, or info@another-domain-of-the-service.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The mailbox.") var address: String
        @Argument(help: "The alias.") var alias: String
        func run() async throws {
            try await options.perform(AliasBody.self, {
                try await $0.send(.POST, "/v1/mailboxes/\(ControlClient.segment(address))/aliases", json: AliasInput(alias: alias))
            }) { print("alias \($0.alias.address) delivers to \($0.alias.mailbox)") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an alias.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The mailbox.") var address: String
        @Argument(help: "The alias.") var alias: String
        func run() async throws {
            try await options.perform(AliasBody.self, {
                try await $0.send(.DELETE, "/v1/mailboxes/\(ControlClient.segment(address))/aliases/\(ControlClient.segment(alias))")
            }) { print("alias \($0.alias.address) removed") }
        }
    }
}

struct RedirectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redirect", abstract: "Send a mailbox's mail on to other addresses (the redirections permission).",
        discussion: """
            Targets may be inside or outside Postern's domains (inside, they must be a mailbox or an alias). A loop through our \
            mailboxes and aliases is refused, naming it. `postern redirect scope ORG own-domains` keeps an organization's \
            redirections inside its own domains.
            """,
        subcommands: [Show.self, Set.self, Clear.self, Scope.self])

    static func describe(_ redirection: Redirection?) -> String {
        guard let redirection else { return "not redirected" }
        return "→ " + redirection.targets.joined(separator: ", ") + (redirection.keepCopy ? " (a copy stays in the mailbox)" : "")
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show where a mailbox's mail goes.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The mailbox.") var address: String
        func run() async throws {
            try await options.perform(RedirectionBody.self, { try await $0.send(.GET, "/v1/mailboxes/\(ControlClient.segment(address))/redirection") }) {
                print("\($0.mailbox) \(RedirectCommand.describe($0.redirection))")
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Redirect a mailbox to one or more addresses (replacing its redirection).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The mailbox.") var address: String
        @Argument(help: "Where its mail goes.") var targets: [String]
        @Flag(name: .long, help: "Keep a copy in the mailbox as well.") var keepCopy = false
        func run() async throws {
            try await options.perform(RedirectionChange.self, {
                try await $0.send(.PUT, "/v1/mailboxes/\(ControlClient.segment(address))/redirection",
                                  json: RedirectionInput(targets: targets, keepCopy: keepCopy))
            }) { print("\($0.redirection.mailbox) \(RedirectCommand.describe($0.redirection))") }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop redirecting a mailbox: its mail lands in it again.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The mailbox.") var address: String
        func run() async throws {
            try await options.perform(RedirectionBody.self, { try await $0.send(.DELETE, "/v1/mailboxes/\(ControlClient.segment(address))/redirection") }) {
                print("\($0.mailbox) is no longer redirected")
            }
        }
    }

    struct Scope: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set where an organization's redirections may reach: any (default) or own-domains.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The organization.") var organization: String
        @Argument(help: "any or own-domains; none: show it.") var scope: String?
        func run() async throws {
            let path = "/v1/organizations/\(ControlClient.segment(organization))/redirection-scope"
            if let scope {
                guard let parsed = RedirectionScope(rawValue: scope) else {
                    throw options.refuse("invalid_scope", "the scope is any or own-domains, not '\(scope.prefix(40))'")
                }
                try await options.perform(RedirectionScopeBody.self, { try await $0.send(.PUT, path, json: RedirectionScopeInput(scope: parsed)) }) {
                    print("redirections of \($0.organization) may reach: \($0.scope.rawValue)")
                }
            } else {
                try await options.perform(RedirectionScopeBody.self, { try await $0.send(.GET, path) }) {
                    print("redirections of \($0.organization) may reach: \($0.scope.rawValue)")
                }
            }
        }
    }
}
