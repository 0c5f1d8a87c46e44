import ArgumentParser
import Foundation
import NIOHTTP1
import PosternCore

struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device", abstract: "Device passwords: one generated password per mail client.",
        subcommands: [Add.self, List.self, Rotate.self, Scope.self, Expiry.self, Disconnect.self, DisconnectAll.self, Failures.self])

    struct Failures: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a mailbox's failed logins of the last 30 days, per client IP, service and mechanism.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String

        func run() async throws {
            try await options.perform(FailedLoginList.self, {
                try await $0.send(.GET, "/v1/mailboxes/\(ControlClient.segment(address))/failures")
            }) { list in
                if list.failures.isEmpty { return print("no failed logins for \(address) in the last 30 days") }
                Output.table(["FROM", "SERVICE", "MECHANISM", "FIRST", "LAST", "COUNT", "THROTTLED"], list.failures.map {
                    [$0.ip ?? "-", $0.service, $0.mechanism, Output.date($0.first), Output.date($0.last), String($0.count), String($0.throttled)]
                })
            }
        }
    }

    struct Expiry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set when a device password stops working, or (with --never) let it work until disconnected.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument(help: "The device's name or id.") var device: String
        @Option(name: .long, help: "A day (2027-03-01) or a date-time (2027-03-01T18:00:00Z), in the future.") var at: String?
        @Flag(name: .long, help: "Never expire.") var never = false

        func validate() throws {
            guard (at == nil) == never else { throw ValidationError("give --at DATE or --never") }
        }

        func run() async throws {
            let expiry = try at.map { try DeviceCommand.parseDate($0, options) }
            try await options.perform(DeviceBody.self, {
                try await $0.send(.PUT, DeviceCommand.devicePath(address, "/\(ControlClient.segment(device))/expiry"), json: ExpiryInput(expiresAt: expiry))
            }) { body in
                print("device \"\(body.device.name)\" " + (body.device.expiresAt.map { "expires \(Output.date($0))" } ?? "no longer expires"))
            }
        }
    }

    static func devicePath(_ address: String, _ rest: String = "") -> String {
        "/v1/mailboxes/\(ControlClient.segment(address))/devices\(rest)"
    }

    /// A day (UTC midnight) or an ISO 8601 date-time, as --expires and --at take them.
    static func parseDate(_ text: String, _ options: GlobalOptions) throws -> Date {
        if let day = try? Date(text + "T00:00:00Z", strategy: .iso8601) { return day }
        if let time = try? Date(text, strategy: .iso8601) { return time }
        throw options.refuse("invalid_date", "\(text) is not a day such as 2027-03-01 or a date-time such as 2027-03-01T18:00:00Z")
    }

    static func showSecret(_ secret: NewSecret, verb: String) {
        print("""
            \(verb) device "\(secret.device.name)" (id \(secret.device.id)). Its password, shown this once:

                \(secret.password)

            Type it in the mail client as the password (dashes optional). Postern keeps only a digest of it.
            """)
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a device and show its generated password once.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The mailbox address.") var address: String
        @Option(name: .long, help: "What the user will recognise, such as \"iPhone\".") var name: String
        @Option(name: .long, help: "Limit the password to a service: imap, pop3, smtp, submission, sieve (repeat for more; default: all).")
        var scope: [String] = []
        @Option(name: .long, help: "When the password stops working: a day (2027-03-01, UTC midnight) or a date-time (2027-03-01T18:00:00Z).")
        var expires: String?

        func run() async throws {
            let expiry = try expires.map { try DeviceCommand.parseDate($0, options) }
            try await options.perform(NewSecret.self, {
                try await $0.send(.POST, DeviceCommand.devicePath(address),
                                  json: DeviceInput(name: name, scopes: scope.isEmpty ? nil : scope, expiresAt: expiry))
            }) { DeviceCommand.showSecret($0, verb: "Added") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a mailbox's devices and their last use (never their passwords).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var page: PageOptions
        @Argument var address: String

        func run() async throws {
            try await options.list(DeviceList.self, DeviceCommand.devicePath(address), page: page) { list in
                if list.devices.isEmpty { print("\(address) has no devices; add one with: postern device add \(address) --name NAME") }
                else {
                    let now = Date()
                    Output.table(["ID", "NAME", "KIND", "SCOPES", "CREATED", "LAST USED", "FROM", "SERVICE", "UNUSED SINCE", "EXPIRES"], list.devices.map {
                        [String($0.id), $0.name, $0.kind.rawValue, $0.scope.stored ?? "all", Output.date($0.createdAt), Output.date($0.lastUse?.at),
                         $0.lastUse?.ip ?? "-", $0.lastUse?.service ?? "-", Output.date($0.unusedSince),
                         $0.expiresAt.map { ($0 <= now ? "expired " : "") + Output.date($0) } ?? "never"]
                    })
                }
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a device's password: a new one is shown once, the old one stops working at once.",
            discussion: "The generic password cannot be rotated: add a device password instead.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument(help: "The device's name or id.") var device: String

        func run() async throws {
            try await options.perform(NewSecret.self, {
                try await $0.send(.POST, DeviceCommand.devicePath(address, "/\(ControlClient.segment(device))/rotate"))
            }) { DeviceCommand.showSecret($0, verb: "Rotated") }
        }
    }

    struct Scope: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Limit a device password to some services, or (with --all) let it log in everywhere again.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument(help: "The device's name or id.") var device: String
        @Option(name: .long, help: "A service it may log in to: imap, pop3, smtp, submission, sieve (repeat for more).") var scope: [String] = []
        @Flag(name: .long, help: "Every service.") var all = false

        func validate() throws {
            if all == !scope.isEmpty { throw ValidationError("give one or more --scope, or --all") }
        }

        func run() async throws {
            try await options.perform(DeviceBody.self, {
                try await $0.send(.PUT, DeviceCommand.devicePath(address, "/\(ControlClient.segment(device))/scopes"),
                                  json: ScopeInput(scopes: all ? nil : scope))
            }) { print("device \"\($0.device.name)\" of \(address) now logs in to \($0.device.scope.stored ?? "every service")") }
        }
    }

    struct Disconnect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disconnect a device: it and its password are deleted.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument(help: "The device's name or id (\"\(DeviceRules.genericName)\" for the generic password).") var device: String

        func run() async throws {
            try await options.perform(Disconnected.self, {
                try await $0.send(.DELETE, DeviceCommand.devicePath(address, "/\(ControlClient.segment(device))"))
            }) { for d in $0.disconnected { print("disconnected \(d.kind == .generic ? "the generic password" : "device \"\(d.name)\"") of \(address)") } }
        }
    }

    struct DisconnectAll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disconnect-all", abstract: "Disconnect every device of a mailbox, generic password included.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Flag(name: .long, help: "Confirm: without it nothing changes.") var yes = false

        func run() async throws {
            try await options.perform(Disconnected.self, {
                try await $0.send(.POST, "/v1/mailboxes/\(ControlClient.segment(address))/disconnect-all", json: ConfirmInput(confirm: yes))
            }) { print("disconnected \($0.disconnected.count) device(s) of \(address)") }
        }
    }
}
