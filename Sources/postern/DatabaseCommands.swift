import ArgumentParser
import Foundation
import PosternStore

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "database", abstract: "Move posternd's record between databases.",
                                                    subcommands: [Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy",
            abstract: "Copy every row of one database into a new, empty one: SQLite to PostgreSQL, to run several nodes.",
            discussion: """
                Stop posternd first: the copy reads one consistent snapshot, and what is written after it is not copied. \
                The target is created (migrated) if need be and must hold no rows; the copy is one transaction, so a failure \
                leaves it empty. Then point every node's database.url at the target and give each the same server key.
                Example: postern database copy --from sqlite:./var/postern.sqlite --to 'postgres://postern@db.example.net/postern'
                """)
        @Option(name: .long, help: ArgumentHelp("The database to copy (database.url).", valueName: "url"))
        var from = "sqlite:" + (ProcessInfo.processInfo.environment["POSTERN_DATABASE_PATH"] ?? "./var/postern.sqlite")
        @Option(name: .long, help: ArgumentHelp("The new, empty database: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.", valueName: "url"))
        var to: String
        @Flag(name: .long, help: "Print exactly one JSON object instead of text.") var json = false

        func run() async throws {
            do {
                if case let .sqlite(path) = try DatabaseURL(from), !FileManager.default.fileExists(atPath: path) {
                    throw CLIError(code: "no_database", message: "there is no SQLite database at \(path)")
                }
                let source = try await Store.open(url: from, timeout: .seconds(600))
                let target = try await Store.open(url: to, timeout: .seconds(600))
                defer { source.shutdown(); target.shutdown() }
                let report = try await StoreCopy.copy(from: source, to: target)
                if json {
                    Output.printJSON(report)
                } else {
                    for table in StoreCopy.tables where report.rows[table, default: 0] > 0 { print("\(table): \(report.rows[table]!) row(s)") }
                    print(String(format: "copied %d row(s) in %.1f s", report.rows.values.reduce(0, +), report.seconds))
                }
            } catch let error as CLIError {
                throw Output.fail(error, json: json)
            } catch {
                throw Output.fail(CLIError(code: "copy_failed", message: "\(error)"), json: json)
            }
        }
    }
}
