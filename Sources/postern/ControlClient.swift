import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The control API over posternd's unix socket.
struct ControlClient {
    let socket: String

    /// Sends one request; returns the body of a 2xx answer, throws the API's error otherwise.
    func send(_ method: HTTPMethod, _ path: String, json: (any Encodable)? = nil, text: String? = nil) async throws -> Data {
        guard let url = URL(httpURLWithSocketPath: socket, uri: path) else {
            throw CLIError(code: "bad_socket", message: "cannot use \(socket) as a socket path")
        }
        // Fail fast with a clear message when nothing listens (the HTTP client would keep retrying).
        close(try UnixSocket.connect(socket, what: "posternd's control socket", timeoutSeconds: 5))
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.headers.add(name: "X-Postern-Actor", value: Self.actor)
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601  // as posternd reads dates (openapi.yaml)
            request.body = .bytes(try encoder.encode(json))
        } else if let text {
            request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            request.body = .bytes(Data(text.utf8))
        }
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
            body = try await response.body.collect(upTo: 256 << 20)
        } catch {
            throw CLIError(code: "unreachable",
                           message: "cannot reach posternd at \(socket) (\(error)); is it running? `scripts/run` starts it, --socket or POSTERN_SOCKET point elsewhere")
        }
        let data = Data(body.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            struct Envelope: Decodable { struct Detail: Decodable { let code: String; let message: String }; let error: Detail }
            if let envelope = try? JSONDecoder().decode(Envelope.self, from: data) {
                throw CLIError(code: envelope.error.code, message: envelope.error.message)
            }
            throw CLIError(code: "http_\(response.status.code)", message: "posternd answered \(response.status.code) \(response.status.reasonPhrase)")
        }
        return data
    }

    /// Who is acting, for the action history: the login name of the user running the command.
    static var actor: String {
        if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return "uid \(getuid())"
    }

    /// Percent-encodes one path segment (addresses, device names).
    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
