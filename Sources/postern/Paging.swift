import ArgumentParser
import Foundation
import PosternCore

/// `--limit`, `--after`, `--all` of every list command: one page of the API's keyset paging, or
/// every page (following `next`).
struct PageOptions: ParsableArguments {
    @Option(name: .long, help: "How many to show (1 to \(PageRequest.maxLimit)).") var limit = PageRequest.defaultLimit
    @Option(name: .long, help: ArgumentHelp("Start after this one (the `next` a page ends with).", valueName: "cursor")) var after: String?
    @Flag(name: .long, help: "Every page, one after the other (--limit is then the page size).") var all = false

    func validate() throws {
        guard (1...PageRequest.maxLimit).contains(limit) else { throw ValidationError("--limit must be between 1 and \(PageRequest.maxLimit)") }
        if all, after != nil { throw ValidationError("give --after or --all, not both") }
    }

    /// `limit=…&after=…` for the first call, then with the `next` of the page before.
    func query(after cursor: String?) -> [(String, String)] {
        [("limit", String(limit))] + ((cursor ?? after).map { [("after", $0)] } ?? [])
    }
}

/// A list answer: its items, and the cursor of the page after it.
protocol PagedList: Codable {
    var next: String? { get set }
    /// This page followed by `page`'s items.
    mutating func append(_ page: Self)
}

extension MailboxList: PagedList { mutating func append(_ page: Self) { mailboxes += page.mailboxes } }
extension OrganizationList: PagedList { mutating func append(_ page: Self) { organizations += page.organizations } }
extension ServiceList: PagedList { mutating func append(_ page: Self) { services += page.services } }
extension HistoryList: PagedList { mutating func append(_ page: Self) { history += page.history } }
extension DeviceList: PagedList { mutating func append(_ page: Self) { devices += page.devices } }
extension UserList: PagedList { mutating func append(_ page: Self) { users += page.users } }
extension MemberList: PagedList { mutating func append(_ page: Self) { members += page.members } }
extension AccessList: PagedList { mutating func append(_ page: Self) { access += page.access } }
extension TokenList: PagedList { mutating func append(_ page: Self) { tokens += page.tokens } }
extension AliasList: PagedList { mutating func append(_ page: Self) { aliases += page.aliases } }

extension GlobalOptions {
    /// Runs a list command: GET `path` with the page's query (and `query`), once, or with --all
    /// until there is no `next`. With --json, one JSON object (with --all, every item in it).
    func list<T: PagedList>(_ type: T.Type, _ path: String, query: [(String, String)] = [], page: PageOptions, text: (T) -> Void) async throws {
        do {
            let client = ControlClient(socket: socket, actingAs: actingAs)
            func get(_ cursor: String?) async throws -> Data {
                let items = query + page.query(after: cursor)
                return try await client.send(.GET, path + "?" + items.map { "\($0.0)=\(ControlClient.queryValue($0.1))" }.joined(separator: "&"))
            }
            let first = try await get(nil)
            if json, !page.all { return Output.printJSON(first) }
            var list = try Output.decoder.decode(T.self, from: first)
            if page.all {
                while let next = list.next {
                    var more = try Output.decoder.decode(T.self, from: try await get(next))
                    let after = more.next
                    more.next = nil
                    list.append(more)
                    list.next = after
                }
            }
            if json { return Output.printJSON(list) }
            text(list)
            if let next = list.next {
                FileHandle.standardError.write(Data("more: --after \(next) (or --all)\n".utf8))
            }
        } catch let error as CLIError {
            throw Output.fail(error, json: json)
        }
    }
}
