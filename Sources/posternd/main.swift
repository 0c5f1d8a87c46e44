import ArgumentParser
import Foundation
import PosternServer
import PosternStore

@main
struct Posternd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "posternd",
        abstract: "The Postern daemon: device passwords for mailboxes, checked for Postfix and Dovecot.",
        discussion: "Every key of the configuration file can be overridden by an environment variable: auth.socket → POSTERN_AUTH_SOCKET.")

    @Option(name: .long, help: "The YAML configuration file (see conf/postern.yaml). Without it, built-in defaults and POSTERN_* variables apply.")
    var config: String?

    func run() async throws {
        let settings: DaemonConfig
        do {
            settings = try await DaemonConfig.load(file: config ?? ProcessInfo.processInfo.environment["POSTERN_CONFIG"])
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("posternd: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
        do {
            try await Daemon.run(config: settings)
        } catch let error as StartupError {
            FileHandle.standardError.write(Data("posternd: \(error)\n".utf8))
            throw ExitCode(error.exitCode)
        } catch let error as StoreOpenError {
            FileHandle.standardError.write(Data("posternd: \(error)\n".utf8))
            throw ExitCode(78)
        }
    }
}
