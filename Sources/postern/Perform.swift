import ArgumentParser
import Foundation
import PosternCore

extension GlobalOptions {
    /// Runs one control call: prints the JSON body with --json, else decodes it and prints text.
    func perform<T: Decodable>(_ type: T.Type, _ call: (ControlClient) async throws -> Data, text: (T) -> Void) async throws {
        do {
            let data = try await call(ControlClient(socket: socket, actingAs: actingAs))
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

