import ArgumentParser
import Foundation
import PosternCore

extension GlobalOptions {
    /// Runs one control call: prints the JSON body with --json, else decodes it and prints text.
    func perform<T: Decodable>(_ type: T.Type, _ call: (ControlClient) async throws -> Data, text: (T) -> Void) async throws {
        do {
            let data = try await call(ControlClient(socket: socket))
            if json {
                Output.printJSON(data)
            } else {
                text(try Output.decoder.decode(T.self, from: data))
            }
        } catch let error as CLIError {
            throw Output.fail(error, json: json)
        }
    }

    /// Reports an error found before any call (bad input), in the requested form.
    func refuse(_ code: String, _ message: String) -> ExitCode {
        Output.fail(CLIError(code: code, message: message), json: json)
    }
}

// Response bodies, as the control API sends them.
struct OrganizationList: Decodable { let organizations: [Organization] }
struct OrganizationBody: Decodable { let organization: Organization }
struct OrganizationRemoved: Decodable { let removed: Organization }
struct ServiceList: Decodable { let services: [MailService] }
struct ServiceBody: Decodable { let service: MailService }
struct ServiceRemoved: Decodable { let removed: MailService }
struct MailboxList: Decodable { let mailboxes: [Mailbox] }
struct MailboxBody: Decodable { let mailbox: Mailbox }
struct MailboxRemoved: Decodable { let removed: Mailbox }
struct DeviceList: Decodable { let devices: [Device] }
struct NewSecret: Decodable { let device: Device; let password: String }
struct Disconnected: Decodable { let disconnected: [Device] }
struct HistoryList: Decodable { let history: [HistoryEntry] }
struct ImportReport: Decodable {
    let imported: Int
    let mailboxesCreated: Int
    let unchanged: Int
    let errors: [PasswdFile.LineError]
}
