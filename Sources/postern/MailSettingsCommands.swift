import ArgumentParser
import Foundation
import PosternCore

/// Read-modify-write of one of a mailbox's settings: the change is sent as the whole setting.
enum Settings {
    static func get<T: Decodable>(_ type: T.Type, _ options: GlobalOptions, _ path: String) async throws -> T {
        do {
            let data = try await ControlClient(socket: options.socket, actingAs: options.actingAs).send(.GET, path)
            return try Output.decoder.decode(T.self, from: data)
        } catch let error as CLIError {
            throw Output.fail(error, json: options.json)
        }
    }

    static func path(_ address: String, _ what: String) -> String { "/v1/mailboxes/\(ControlClient.segment(address))/\(what)" }
}

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "A mailbox's sorting rules (the rules permission), compiled into its Sieve script.",
        discussion: """
            A rule file is JSON: {"rules": [{"name": "Invoices", "match": "all", "conditions": [{"field": "subject", "test": "contains", \
            "value": "invoice"}], "actions": [{"kind": "fileinto", "folder": "Finance"}, {"kind": "markread"}, {"kind": "stop"}]}]}. \
            Fields: from, to (to or cc), subject, header (with "header": NAME), size; tests: contains, is, matches, over and under \
            (size: 100K, 2M); actions: fileinto (folder), markread, flag, forward (address; a copy stays), discard, stop (last).
            """,
        subcommands: [Show.self, Set.self, Enable.self, Disable.self, Move.self, Remove.self])

    static func put(_ options: GlobalOptions, _ address: String, _ rules: [SortingRule]) async throws {
        try await options.perform(RulesBody.self, { try await $0.send(.PUT, Settings.path(address, "rules"), json: RulesInput(rules: rules)) }) {
            print("\($0.mailbox): \($0.rules.count) rule(s)")
        }
    }

    /// A rule by id (`#3` or `3`) or by name.
    static func find(_ reference: String, in rules: [SortingRule], _ options: GlobalOptions) throws -> Int {
        let id = Int64(reference.hasPrefix("#") ? String(reference.dropFirst()) : reference)
        guard let index = rules.firstIndex(where: { $0.id == id || $0.name == reference }) else {
            throw options.refuse("rule_not_found", "no rule '\(reference.prefix(80))' (`postern rules show` lists them)")
        }
        return index
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a mailbox's rules in their order.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        func run() async throws {
            try await options.perform(RulesBody.self, { try await $0.send(.GET, Settings.path(address, "rules")) }) { body in
                Output.table(["ID", "RULE", "ON", "DOES"], body.rules.map { rule in
                    ["#\(rule.id ?? 0)", rule.name, rule.enabled ? "yes" : "no",
                     rule.actions.map { $0.kind.rawValue + ($0.folder.map { " \($0)" } ?? "") + ($0.address.map { " \($0)" } ?? "") }.joined(separator: ", ")]
                })
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace a mailbox's rules with those of a JSON file (- for standard input).")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var file: String
        func run() async throws {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
            guard let data else { throw options.refuse("unreadable_file", "cannot read \(file)") }
            let rules: [SortingRule]
            do {
                if let wrapped = try? JSONDecoder().decode(RulesInput.self, from: data) {
                    rules = wrapped.rules
                } else {
                    rules = try JSONDecoder().decode([SortingRule].self, from: data)
                }
            } catch {
                throw options.refuse("invalid_rules", "\(file) is not a rule list: \(error)")
            }
            try await RulesCommand.put(options, address, rules)
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Turn a rule on.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var rule: String
        func run() async throws { try await RulesCommand.edit(options, address, rule) { $0[$1].enabled = true } }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Turn a rule off (it stays, out of the script).")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var rule: String
        func run() async throws { try await RulesCommand.edit(options, address, rule) { $0[$1].enabled = false } }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a rule to a position (1: first).")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var rule: String
        @Option(name: .long, help: "The new position, from 1.") var to: Int
        func run() async throws {
            try await RulesCommand.edit(options, address, rule) { rules, index in
                let moved = rules.remove(at: index)
                rules.insert(moved, at: min(max(to - 1, 0), rules.count))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a rule.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var rule: String
        func run() async throws { try await RulesCommand.edit(options, address, rule) { $0.remove(at: $1) } }
    }

    static func edit(_ options: GlobalOptions, _ address: String, _ reference: String, _ change: (inout [SortingRule], Int) -> Void) async throws {
        var rules = try await Settings.get(RulesBody.self, options, Settings.path(address, "rules")).rules
        let index = try find(reference, in: rules, options)
        change(&rules, index)
        try await put(options, address, rules)
    }
}

struct SpamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spam", abstract: "A mailbox's spam filter (the filters permission): mail at or over the score goes to a folder.",
        subcommands: [Show.self, Set.self])

    static func describe(_ spam: SpamFilter) -> String { spam.enabled ? "on: at \(spam.threshold) or more into \(spam.folder)" : "off" }

    struct Show: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        func run() async throws {
            try await options.perform(SpamFilterBody.self, { try await $0.send(.GET, Settings.path(address, "spam-filter")) }) {
                print("\($0.mailbox) spam filter \(SpamCommand.describe($0.spam))")
            }
        }
    }

    struct Set: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Flag(inversion: .prefixedNo, help: "Turn the filter on or off.") var on: Bool?
        @Option(help: "The score from which mail is spam.") var threshold: Int?
        @Option(help: "Where spam goes (default Junk).") var folder: String?
        func run() async throws {
            var spam = try await Settings.get(SpamFilterBody.self, options, Settings.path(address, "spam-filter")).spam
            if let on { spam.enabled = on }
            if let threshold { spam.threshold = threshold }
            if let folder { spam.folder = folder }
            try await options.perform(SpamFilterBody.self, { try await $0.send(.PUT, Settings.path(address, "spam-filter"), json: spam) }) {
                print("\($0.mailbox) spam filter \(SpamCommand.describe($0.spam))")
            }
        }
    }
}

struct ResponderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "responder", abstract: "A mailbox's automatic reply (the responders permission), once per sender in --days.",
        subcommands: [Show.self, Set.self])

    static func describe(_ r: Responder) -> String {
        guard r.enabled else { return "off" }
        return "on" + (r.start.map { " from \($0)" } ?? "") + (r.end.map { " to \($0)" } ?? "") + ": \"\(r.subject)\""
    }

    struct Show: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        func run() async throws {
            try await options.perform(ResponderBody.self, { try await $0.send(.GET, Settings.path(address, "responder")) }) {
                print("\($0.mailbox) automatic reply \(ResponderCommand.describe($0.responder))")
            }
        }
    }

    struct Set: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Flag(inversion: .prefixedNo, help: "Turn the reply on or off.") var on: Bool?
        @Option var subject: String?
        @Option(help: "The reply's text.") var text: String?
        @Option(name: .customLong("text-file"), help: "Read the reply's text from this file.") var textFile: String?
        @Option(help: "First day (2026-12-24); \"\" for none.") var start: String?
        @Option(help: "Last day; \"\" for none.") var end: String?
        @Option(name: .customLong("only-own-domains"), help: "true: answer only senders of the organization's domains.") var onlyOwnDomains: Bool?
        @Option(help: "A sender is answered once in this many days.") var days: Int?
        func run() async throws {
            var r = try await Settings.get(ResponderBody.self, options, Settings.path(address, "responder")).responder
            if let on { r.enabled = on }
            if let subject { r.subject = subject }
            if let text { r.text = text }
            if let textFile {
                guard let data = FileManager.default.contents(atPath: textFile), let read = String(data: data, encoding: .utf8) else {
                    throw options.refuse("unreadable_file", "cannot read \(textFile)")
                }
                r.text = read
            }
            if let start { r.start = start.isEmpty ? nil : start }
            if let end { r.end = end.isEmpty ? nil : end }
            if let onlyOwnDomains { r.onlyOwnDomains = onlyOwnDomains }
            if let days { r.days = days }
            try await options.perform(ResponderBody.self, { try await $0.send(.PUT, Settings.path(address, "responder"), json: r) }) {
                print("\($0.mailbox) automatic reply \(ResponderCommand.describe($0.responder))")
            }
        }
    }
}

struct SendersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "senders", abstract: "A mailbox's blocked and approved senders (the security permission): addresses or domains.",
        discussion: "Approved senders skip the blocked list and the spam filter. Blocked mail is filed into the spam folder (junk) or discarded.",
        subcommands: [Show.self, Block.self, Unblock.self, Approve.self, Unapprove.self, Action.self])

    static func edit(_ options: GlobalOptions, _ address: String, _ change: (inout SenderLists) -> Void) async throws {
        var lists = try await Settings.get(SenderListsBody.self, options, Settings.path(address, "senders")).senders
        change(&lists)
        try await options.perform(SenderListsBody.self, { try await $0.send(.PUT, Settings.path(address, "senders"), json: lists) }) {
            print("\($0.mailbox): \($0.senders.blocked.count) blocked (\($0.senders.blockedAction.rawValue)), \($0.senders.approved.count) approved")
        }
    }

    struct Show: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        func run() async throws {
            try await options.perform(SenderListsBody.self, { try await $0.send(.GET, Settings.path(address, "senders")) }) { body in
                Output.table(["LIST", "SENDER"], body.senders.blocked.map { ["blocked (\(body.senders.blockedAction.rawValue))", $0] }
                                                     + body.senders.approved.map { ["approved", $0] })
            }
        }
    }

    struct Block: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument(help: "Addresses or domains.") var senders: [String]
        func run() async throws { try await SendersCommand.edit(options, address) { $0.blocked += senders } }
    }

    struct Unblock: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var senders: [String]
        func run() async throws {
            try await SendersCommand.edit(options, address) { lists in lists.blocked.removeAll { entry in senders.contains { $0.lowercased().trimmingCharacters(in: ["@"]) == entry.lowercased() } } }
        }
    }

    struct Approve: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument(help: "Addresses or domains.") var senders: [String]
        func run() async throws { try await SendersCommand.edit(options, address) { $0.approved += senders } }
    }

    struct Unapprove: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var senders: [String]
        func run() async throws {
            try await SendersCommand.edit(options, address) { lists in lists.approved.removeAll { entry in senders.contains { $0.lowercased().trimmingCharacters(in: ["@"]) == entry.lowercased() } } }
        }
    }

    struct Action: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What happens to blocked mail: junk (filed into the spam folder) or discard.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var action: String
        func run() async throws {
            guard let parsed = SenderLists.BlockedAction(rawValue: action) else {
                throw options.refuse("invalid_action", "blocked mail is junk or discard, not '\(action.prefix(40))'")
            }
            try await SendersCommand.edit(options, address) { $0.blockedAction = parsed }
        }
    }
}

struct FolderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "folder", abstract: "A mailbox's IMAP folders (the folders permission), through doveadm (folders.doveadm).",
        subcommands: [List.self, Create.self, Rename.self, Delete.self])

    struct List: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        func run() async throws {
            try await options.perform(FolderList.self, { try await $0.send(.GET, Settings.path(address, "folders")) }) { list in
                for folder in list.folders { print(folder) }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var name: String
        func run() async throws {
            try await options.perform(FolderBody.self, { try await $0.send(.POST, Settings.path(address, "folders"), json: FolderInput(name: name)) }) {
                print("folder \($0.folder) created in \($0.mailbox)")
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a folder; rules that file into it follow.")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var name: String
        @Argument var new: String
        func run() async throws {
            try await options.perform(FolderBody.self, {
                try await $0.send(.PUT, Settings.path(address, "folders/\(ControlClient.segment(name))"), json: FolderInput(name: new))
            }) { print("folder \(name) is now \($0.folder)") }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a folder and its mail (refused while a rule files into it).")
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Argument var name: String
        func run() async throws {
            try await options.perform(FolderBody.self, { try await $0.send(.DELETE, Settings.path(address, "folders/\(ControlClient.segment(name))")) }) {
                print("folder \($0.folder) deleted from \($0.mailbox)")
            }
        }
    }
}

struct SignatureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signature", abstract: "Your signature and reply-to address for a mailbox (the signatures permission), for webmail.",
        discussion: "A signature is a user's own: the operator uses --as LOGIN. The reply-to is the mailbox or one of its aliases.",
        subcommands: [Show.self, Set.self])

    struct Show: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        func run() async throws {
            try await options.perform(Signature.self, { try await $0.send(.GET, Settings.path(address, "signature")) }) {
                print("reply-to: \($0.replyTo ?? "none")\n\($0.text)")
            }
        }
    }

    struct Set: AsyncParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var address: String
        @Option var text: String?
        @Option(name: .customLong("text-file")) var textFile: String?
        @Option(name: .customLong("reply-to"), help: "The mailbox or one of its aliases; \"\" for none.") var replyTo: String?
        func run() async throws {
            var current = try await Settings.get(Signature.self, options, Settings.path(address, "signature"))
            if let text { current.text = text }
            if let textFile {
                guard let data = FileManager.default.contents(atPath: textFile), let read = String(data: data, encoding: .utf8) else {
                    throw options.refuse("unreadable_file", "cannot read \(textFile)")
                }
                current.text = read
            }
            if let replyTo { current.replyTo = replyTo.isEmpty ? nil : replyTo }
            try await options.perform(Signature.self, {
                try await $0.send(.PUT, Settings.path(address, "signature"), json: SignatureInput(text: current.text, replyTo: current.replyTo))
            }) { print("signature of \($0.login) for \($0.mailbox) saved; reply-to: \($0.replyTo ?? "none")") }
        }
    }
}

struct SieveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sieve", abstract: "Mailboxes' Sieve scripts (operator).", subcommands: [Rewrite.self])

    struct Rewrite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the scripts again, after sieve.scriptPath was set or changed or a backup was restored (no address: every mailbox with settings).")
        @OptionGroup var options: GlobalOptions
        @Argument var addresses: [String] = []
        func run() async throws {
            try await options.perform(SieveRewrite.self, {
                try await $0.send(.POST, "/v1/sieve/rewrite", json: SieveRewriteInput(mailboxes: addresses.isEmpty ? nil : addresses))
            }) { print("\($0.written.count) script(s) written\($0.written.isEmpty ? "" : ": " + $0.written.joined(separator: ", "))") }
        }
    }
}
