import ArgumentParser
import Foundation
import PosternCore

/// Where a policy is set: exactly one of an organization, a mail service or a mailbox.
struct PolicyTarget: ParsableArguments {
    @Option(name: .long, help: "An organization: every mailbox of its mail services.") var organization: String?
    @Option(name: .customLong("mail-service"), help: "A mail service: every mailbox of its domains.") var mailService: String?
    @Option(name: .long, help: "One mailbox, by address.") var mailbox: String?

    func validate() throws {
        guard [organization, mailService, mailbox].compactMap({ $0 }).count == 1 else {
            throw ValidationError("name exactly one of --organization, --mail-service or --mailbox")
        }
    }

    var path: String {
        let (level, name): (PolicyLevel, String) =
            if let organization { (.organization, organization) } else if let mailService { (.service, mailService) } else { (.mailbox, mailbox!) }
        return "/v1/policies/generic/\(level.rawValue)/\(ControlClient.segment(name))"
    }
}

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy", abstract: "Policies of organizations, mail services and mailboxes.",
                                                    subcommands: [Generic.self])

    struct Generic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generic", abstract: "Retire generic passwords for mail protocols, on your schedule.",
            discussion: """
                A refused generic password fails exactly like a wrong one; device passwords keep working. The closest \
                level wins: a mailbox's policy over its mail service's, a mail service's over its organization's.
                  postern policy generic set --organization "Example Ltd" --refuse all --from 2027-03-01
                  postern policy generic set --mailbox ceo@example.org --allow
                """,
            subcommands: [Show.self, Set.self, Clear.self])
    }

    static func show(_ body: GenericPolicyBody) {
        let what = "\(body.level.rawValue) \(body.name)"
        print(body.policy.map { "\(what): generic password \($0.summary)" } ?? "\(what): no policy of its own")
        print("\(body.genericPasswords) generic password(s) under it")
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the policy set at one level.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: PolicyTarget

        func run() async throws {
            try await options.perform(GenericPolicyBody.self, { try await $0.send(.GET, target.path) }) { PolicyCommand.show($0) }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse (or allow) the generic passwords under one level.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: PolicyTarget
        @Option(name: .long, help: "A service to refuse: imap, pop3, smtp, submission, sieve, or all (repeat for more).") var refuse: [String] = []
        @Flag(name: .long, help: "Allow the generic password here, whatever the levels above say.") var allow = false
        @Option(name: .long, help: "The day the refusal starts (YYYY-MM-DD, UTC); default: now.") var from: String?

        func validate() throws {
            guard refuse.isEmpty != !allow else { throw ValidationError("give --refuse SERVICE (repeatable) or --allow") }
        }

        func run() async throws {
            var day: Date?
            if let from {
                guard let parsed = try? Date(from + "T00:00:00Z", strategy: .iso8601) else {
                    throw options.refuse("invalid_date", "--from \(from) is not a day such as 2027-03-01")
                }
                day = parsed
            }
            try await options.perform(GenericPolicyBody.self, {
                try await $0.send(.PUT, target.path, json: GenericPolicyInput(refuse: allow ? [] : refuse, from: day))
            }) { PolicyCommand.show($0) }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove one level's policy: the level above applies again.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: PolicyTarget

        func run() async throws {
            try await options.perform(GenericPolicyBody.self, { try await $0.send(.DELETE, target.path) }) { PolicyCommand.show($0) }
        }
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Reports across mailboxes.", subcommands: [Generic.self])

    struct Generic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generic", abstract: "Mailboxes that still have a generic password: last use, and whether a policy refuses it yet.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await options.perform(GenericReport.self, { try await $0.send(.GET, "/v1/reports/generic") }) { report in
                guard !report.mailboxes.isEmpty else { return print("no mailbox has a generic password") }
                Output.table(["MAILBOX", "SINCE", "LAST USED", "FROM", "SERVICE", "POLICY", "REFUSED NOW"], report.mailboxes.map { e in
                    [e.address, Output.date(e.since), Output.date(e.lastUse?.at), e.lastUse?.ip ?? "-", e.lastUse?.service ?? "-",
                     e.policy.map { "\($0.summary) (\(e.policyLevel?.rawValue ?? "?"))" } ?? "none",
                     e.refusedNow.isEmpty ? "-" : e.refusedNow.joined(separator: ",")]
                })
            }
        }
    }
}
