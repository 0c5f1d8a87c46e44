import Foundation
import Logging
import PosternControl
import PosternCore

/// Demo data loaded when the database is created: `seeds/demo.json` (organizations, mail services,
/// mailboxes) and every `seeds/*.passwd` (imported as generic passwords).
enum Seeds {
    struct File: Decodable {
        struct Org: Decodable { let name: String; let services: [Service] }
        struct Service: Decodable { let name: String; let domains: [String] }
        struct Member: Decodable {
            let login: String
            let name: String?
            let password: String?
            let organization: String
            let role: String
            let access: [String: [String]]?
        }
        let organizations: [Org]
        let mailboxes: [String]
        /// Mailbox → its aliases.
        let aliases: [String: [String]]?
        let members: [Member]?
    }

    static func load(directory: String, into plane: Planes, logger: Logger) async throws {
        let seeds = Actor.system("seeds")
        let fm = FileManager.default
        guard fm.fileExists(atPath: directory) else {
            logger.warning("seeds directory \(directory) does not exist; starting empty")
            return
        }
        let jsonPath = (directory as NSString).appendingPathComponent("demo.json")
        if fm.fileExists(atPath: jsonPath) {
            let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: jsonPath)))
            for org in file.organizations {
                _ = try await plane.directory.addOrganization(org.name, actor: seeds)
                for service in org.services {
                    _ = try await plane.directory.addMailService(name: service.name, organization: org.name, domains: service.domains, actor: seeds)
                }
            }
            for address in file.mailboxes { _ = try await plane.directory.addMailbox(address, actor: seeds) }
            for (address, aliases) in (file.aliases ?? [:]).sorted(by: { $0.key < $1.key }) {
                for alias in aliases { _ = try await plane.routing.addAlias(mailbox: address, alias: alias, actor: seeds) }
            }
            for member in file.members ?? [] {
                _ = try await plane.people.addUser(login: member.login, displayName: member.name ?? "", password: member.password, actor: seeds)
                _ = try await plane.people.setMember(organization: member.organization, login: member.login, role: try Role(parsing: member.role),
                                        displayName: nil, password: nil, actor: seeds)
                for (address, names) in (member.access ?? [:]).sorted(by: { $0.key < $1.key }) {
                    _ = try await plane.people.setAccess(mailbox: address, login: member.login, permissions: try MailboxPermission(names: names),
                                            password: nil, actor: seeds)
                }
            }
        }
        for name in try fm.contentsOfDirectory(atPath: directory).sorted() where name.hasSuffix(".passwd") {
            let text = try String(contentsOfFile: (directory as NSString).appendingPathComponent(name), encoding: .utf8)
            let report = try await plane.imports.importPasswdFile(text, actor: seeds)
            for error in report.errors { logger.warning("seeds \(name): \(error.message)") }
            logger.info("seeds \(name): \(report.imported) generic password(s) imported")
        }
        logger.info("demo data loaded from \(directory)")
    }
}
