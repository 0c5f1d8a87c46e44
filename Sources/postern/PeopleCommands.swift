import ArgumentParser
import Foundation
import PosternCore

/// A password never comes as an argument (other users see arguments in `ps`): from a file, from
/// standard input ("-"), or typed at a prompt.
struct PasswordOptions: ParsableArguments {
    @Option(name: .customLong("password-file"), help: ArgumentHelp("Read your own account password (to confirm a sensitive change) from this file, or - for standard input.", valueName: "path"))
    var file: String?
    @Flag(name: .customLong("ask-password"), help: "Prompt for your own account password, to confirm a sensitive change.")
    var ask = false

    func read(_ options: GlobalOptions) throws -> String? {
        if let file { return try Secret.read(file: file, options) }
        if ask { return try Secret.prompt("your account password: ", options) }
        return nil
    }
}

enum Secret {
    static func read(file: String, _ options: GlobalOptions) throws -> String {
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
        guard let data, let text = String(data: data, encoding: .utf8) else {
            throw options.refuse("unreadable_file", "cannot read a password from \(file)")
        }
        return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
    }

    static func prompt(_ prompt: String, _ options: GlobalOptions) throws -> String {
        guard isatty(STDIN_FILENO) == 1, let typed = getpass(prompt) else {
            throw options.refuse("no_terminal", "no terminal to ask for a password on; use --password-file")
        }
        return String(cString: typed)
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "User accounts: the people who manage mail (not mailboxes).", subcommands: [Add.self, List.self, Password.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user account (the operator only).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Their login: an email address.") var login: String
        @Option(name: .long, help: "Their display name.") var name: String?
        @Option(name: .customLong("password-file"), help: ArgumentHelp("Their account password from this file (- for standard input); none: they cannot sign in yet.", valueName: "path"))
        var passwordFile: String?

        func run() async throws {
            let password = try passwordFile.map { try Secret.read(file: $0, options) }
            try await options.perform(UserBody.self, {
                try await $0.send(.POST, "/v1/users", json: UserInput(login: login, displayName: name, password: password))
            }) { print("user \($0.user.login) added\($0.user.canSignIn ? "" : " (no account password yet)")") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List user accounts (the operator only).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var page: PageOptions
        @Option(name: .long, help: "Only logins or names that begin with this (case ignored).") var search: String?
        func run() async throws {
            try await options.list(UserList.self, "/v1/users", query: search.map { [("q", $0)] } ?? [], page: page) { list in
                Output.table(["LOGIN", "NAME", "SIGN-IN", "CREATED"], list.users.map {
                    [$0.login, $0.displayName, $0.canSignIn ? "yes" : "no password", Output.date($0.createdAt)]
                })
            }
        }
    }

    struct Password: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set an account password: the operator for anyone, a user their own (with the current one).")
        @OptionGroup var options: GlobalOptions
        @Argument var login: String
        @Option(name: .customLong("new-password-file"), help: ArgumentHelp("The new password from this file (- for standard input); else it is asked for.", valueName: "path"))
        var newFile: String?
        @OptionGroup var current: PasswordOptions

        func run() async throws {
            let password = try newFile.map { try Secret.read(file: $0, options) } ?? Secret.prompt("new account password: ", options)
            let currentPassword = try current.read(options)
            try await options.perform(UserBody.self, {
                try await $0.send(.PUT, "/v1/users/\(ControlClient.segment(login))/password", json: PosternCore.PasswordInput(password: password, current: currentPassword))
            }) { print("account password of \($0.user.login) set") }
        }
    }
}

struct MemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member", abstract: "The members of an organization and their roles.", subcommands: [List.self, Set.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organization's members.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var page: PageOptions
        @Argument(help: "The organization.") var organization: String
        @Option(name: .long, help: "Only logins or names that begin with this (case ignored).") var search: String?
        func run() async throws {
            try await options.list(MemberList.self, "/v1/organizations/\(ControlClient.segment(organization))/members",
                                   query: search.map { [("q", $0)] } ?? [], page: page) { list in
                Output.table(["LOGIN", "NAME", "ROLE"], list.members.map { [$0.login, $0.displayName, $0.role.label] })
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a member, or change their role (legal-representative, administrator, collaborator, external).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The organization.") var organization: String
        @Argument(help: "Their login (a new one becomes a user account).") var login: String
        @Option(name: .long, help: "Their role.") var role: String
        @Option(name: .long, help: "Their display name, for a new user.") var name: String?
        @OptionGroup var confirm: PasswordOptions

        func run() async throws {
            let password = try confirm.read(options)
            try await options.perform(MemberChange.self, {
                try await $0.send(.PUT, "/v1/organizations/\(ControlClient.segment(organization))/members/\(ControlClient.segment(login))",
                                  json: MemberInput(role: role, displayName: name, password: password))
            }) { change in
                let now = change.member.role.label
                print(change.previous.map { "role of \(change.member.login) in \(organization): \($0.label) → \(now)" }
                      ?? "\(change.member.login) joined \(organization) as \(now)")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a member: shows what goes; with --confirm LOGIN (their login typed back) removes it.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The organization.") var organization: String
        @Argument var login: String
        @Option(name: .long, help: "Their login typed back, to do it.") var confirm: String?
        @OptionGroup var password: PasswordOptions

        func run() async throws {
            let path = "/v1/organizations/\(ControlClient.segment(organization))/members/\(ControlClient.segment(login))"
            guard let confirm else {
                try await options.perform(MemberRemoval.self, { try await $0.send(.GET, path + "/removal") }) { preview in
                    print("removing \(preview.member.login) (\(preview.member.role.label)) from \(organization) would take away:")
                    for access in preview.mailboxAccess { print("  access to \(access.mailbox): \(access.permissions.names.joined(separator: ","))") }
                    for service in preview.services { print("  mail service \(service)") }
                    for token in preview.tokens { print("  \(token.kind == .token ? "API token \"\(token.name)\"" : "session") (id \(token.id))") }
                    print("run again with --confirm \(preview.member.login) to do it")
                }
                return
            }
            let typed = try password.read(options)
            try await options.perform(MemberRemoval.self, {
                try await $0.send(.DELETE, path, json: RemovalInput(confirm: confirm, password: typed))
            }) { print("\($0.member.login) removed from \(organization) with \($0.mailboxAccess.count) mailbox access(es)") }
        }
    }
}

struct AccessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access", abstract: "Who may do what on a mailbox: the eleven permissions.",
        discussion: "Permissions: \(MailboxPermission.named.map { "\($0.name) (\($0.means))" }.joined(separator: "; ")); or all, or none.",
        subcommands: [List.self, Grant.self, Set.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List who has access to a mailbox.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var page: PageOptions
        @Argument var address: String
        func run() async throws {
            try await options.list(AccessList.self, "/v1/mailboxes/\(ControlClient.segment(address))/access", page: page) { list in
                Output.table(["LOGIN", "PERMISSIONS"], list.access.map { [$0.login, $0.permissions.names.joined(separator: ",")] })
            }
        }
    }

    static func put(_ options: GlobalOptions, _ address: String, _ login: String, _ permissions: [String], _ password: PasswordOptions) async throws {
        let set = permissions.isEmpty ? nil : try MailboxPermission(names: permissions)
        let typed = try password.read(options)
        try await options.perform(AccessChange.self, {
            try await $0.send(.PUT, "/v1/mailboxes/\(ControlClient.segment(address))/access/\(ControlClient.segment(login))",
                              json: AccessInput(permissions: set, password: typed))
        }) { change in
            print("access of \(change.access.login) to \(change.access.mailbox): \(change.access.permissions.names.joined(separator: ",").nonEmpty ?? "no permission")")
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a member access to a mailbox (without --permissions: the mail service's defaults).")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var login: String
        @Option(name: .long, help: "Permissions, such as devices,history.") var permissions: [String] = []
        @OptionGroup var password: PasswordOptions
        func run() async throws { try await AccessCommand.put(options, address, login, permissions, password) }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a user's permissions on a mailbox.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var login: String
        @Option(name: .long, help: "Permissions, such as devices,history, or all, or none.") var permissions: [String]
        @OptionGroup var password: PasswordOptions
        func run() async throws { try await AccessCommand.put(options, address, login, permissions.isEmpty ? ["none"] : permissions, password) }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a user's access to a mailbox away.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var login: String
        @OptionGroup var password: PasswordOptions
        func run() async throws {
            let typed = try password.read(options)
            try await options.perform(AccessChange.self, {
                try await $0.send(.DELETE, "/v1/mailboxes/\(ControlClient.segment(address))/access/\(ControlClient.segment(login))",
                                  json: RemovalInput(confirm: nil, password: typed))
            }) { print("access of \($0.access.login) to \($0.access.mailbox) revoked") }
        }
    }
}

struct DefaultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "defaults", abstract: "A mail service's default permissions, pre-selected when a user gets one of its mailboxes.",
        subcommands: [Show.self, Set.self, Apply.self])

    struct Show: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The mail service.") var service: String
        func run() async throws {
            try await options.perform(ServiceDefaults.self, { try await $0.send(.GET, "/v1/services/\(ControlClient.segment(service))/defaults") }) {
                print("\($0.service): \($0.permissions.names.joined(separator: ",").nonEmpty ?? "no permission")")
            }
        }
    }

    struct Set: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The mail service.") var service: String
        @Option(name: .long, help: "Permissions, such as devices,history, or all, or none.") var permissions: [String]
        func run() async throws {
            let set = try MailboxPermission(names: permissions)
            try await options.perform(ServiceDefaults.self, {
                try await $0.send(.PUT, "/v1/services/\(ControlClient.segment(service))/defaults", json: DefaultsInput(permissions: set))
            }) { print("defaults of \($0.service): \($0.permissions.names.joined(separator: ",").nonEmpty ?? "no permission")") }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give every user of these mailboxes (or only --user's access) exactly the defaults.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The mail service.") var service: String
        @Argument(help: "Its mailboxes.") var mailboxes: [String]
        @Option(name: .long, help: "Only this user's access.") var user: String?
        @OptionGroup var password: PasswordOptions
        func run() async throws {
            let typed = try password.read(options)
            try await options.perform(AccessChanges.self, {
                try await $0.send(.POST, "/v1/services/\(ControlClient.segment(service))/defaults/apply",
                                  json: ApplyDefaultsInput(mailboxes: mailboxes, login: user, password: typed))
            }) { print("\($0.changed.count) access(es) set to the defaults of \(service)") }
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "API tokens, for scripts on the TCP control listener (Authorization: Bearer …).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an API token; its secret is printed this once and never again.")
        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "What it is for, such as \"backup script\".") var name: String
        @Option(name: .long, help: "Days until it stops working (1 to 366).") var days = 90
        @Option(name: .long, help: "Whose token (the operator only; default: your own).") var user: String?

        func run() async throws {
            try await options.perform(NewToken.self, {
                try await $0.send(.POST, "/v1/tokens", json: TokenInput(name: name, days: days, login: user))
            }) { made in
                print("API token \"\(made.token.name)\" (id \(made.token.id)) of \(made.token.login), until \(Output.date(made.token.expiresAt)):")
                print("  \(made.secret)")
                print("It is shown this once: keep it now.")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens and sessions (yours; the operator: everyone's, or --user's).")
        @OptionGroup var options: GlobalOptions
        @Option(name: .long, help: "Only this user's.") var user: String?
        @OptionGroup var page: PageOptions

        func run() async throws {
            try await options.list(TokenList.self, "/v1/tokens", query: user.map { [("login", $0)] } ?? [], page: page) { list in
                Output.table(["ID", "USER", "KIND", "NAME", "UNTIL", "LAST USE"], list.tokens.map {
                    ["\($0.id)", $0.login, $0.kind.rawValue, $0.name, Output.date($0.expiresAt),
                     $0.lastUsedAt.map { Output.date($0) } ?? "never"]
                })
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token or a session: it fails from the next request on.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Its id (`postern token list`).") var id: Int64

        func run() async throws {
            try await options.perform(TokenBody.self, { try await $0.send(.DELETE, "/v1/tokens/\(id)") }) {
                print("\($0.token.kind == .token ? "API token \"\($0.token.name)\"" : "session") (id \($0.token.id)) of \($0.token.login) revoked")
            }
        }
    }
}
