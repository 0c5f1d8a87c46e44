import ArgumentParser
import Foundation
import PosternCore
import NIOHTTP1

struct OrganizationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Organizations: the customers that own mail services.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an organization.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Its name, such as \"Example Ltd\".") var name: String

        func run() async throws {
            try await options.perform(OrganizationBody.self, { try await $0.send(.POST, "/v1/organizations", json: NameInput(name: name)) }) {
                print("organization \($0.organization.name) added")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organizations.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var page: PageOptions

        func run() async throws {
            try await options.list(OrganizationList.self, "/v1/organizations", page: page) { list in
                Output.table(["NAME", "CREATED"], list.organizations.map { [$0.name, Output.date($0.createdAt)] })
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an organization that has no mail services left.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() async throws {
            try await options.perform(OrganizationRemoved.self, {
                try await $0.send(.DELETE, "/v1/organizations/\(ControlClient.segment(name))")
            }) { print("organization \($0.removed.name) removed") }
        }
    }
}

struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service", abstract: "Mail services: the domains of an organization, holding mailboxes.",
        subcommands: [Add.self, List.self, Remove.self, Grant.self, Revoke.self, Grants.self])

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a collaborator a mail service: they see it and its mailboxes.")
        @OptionGroup var options: GlobalOptions
        @Argument var service: String
        @Argument var login: String
        func run() async throws {
            try await options.perform(ServiceGrants.self, {
                try await $0.send(.PUT, "/v1/services/\(ControlClient.segment(service))/grants/\(ControlClient.segment(login))")
            }) { print("\(login) given mail service \($0.service)") }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a mail service back from a collaborator.")
        @OptionGroup var options: GlobalOptions
        @Argument var service: String
        @Argument var login: String
        func run() async throws {
            try await options.perform(ServiceGrants.self, {
                try await $0.send(.DELETE, "/v1/services/\(ControlClient.segment(service))/grants/\(ControlClient.segment(login))")
            }) { print("\(login) no longer given mail service \($0.service)") }
        }
    }

    struct Grants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The collaborators given a mail service.")
        @OptionGroup var options: GlobalOptions
        @Argument var service: String
        func run() async throws {
            try await options.perform(ServiceGrants.self, { try await $0.send(.GET, "/v1/services/\(ControlClient.segment(service))/grants") }) {
                Output.table(["LOGIN"], $0.logins.map { [$0] })
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a mail service with its domains.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Its name, such as \"example\".") var name: String
        @Option(name: .long, help: "The organization that owns it.") var organization: String
        @Option(name: .long, help: "A domain it serves (repeat for more).") var domain: [String]

        func run() async throws {
            try await options.perform(ServiceBody.self, {
                try await $0.send(.POST, "/v1/services", json: ServiceInput(name: name, organization: organization, domains: domain))
            }) { print("mail service \($0.service.name) added: \($0.service.domains.joined(separator: ", "))") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List mail services.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var page: PageOptions

        func run() async throws {
            try await options.list(ServiceList.self, "/v1/services", page: page) { list in
                Output.table(["NAME", "ORGANIZATION", "DOMAINS"],
                             list.services.map { [$0.name, $0.organization, $0.domains.joined(separator: " ")] })
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a mail service that has no mailboxes left.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() async throws {
            try await options.perform(ServiceRemoved.self, {
                try await $0.send(.DELETE, "/v1/services/\(ControlClient.segment(name))")
            }) { print("mail service \($0.removed.name) removed") }
        }
    }
}
