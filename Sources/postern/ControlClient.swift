import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The control API over posternd's unix socket.
struct ControlClient {
    let socket: String
    /// The operator acting as this user (`--as`): that user's rights apply.
    var actingAs: String? = nil

    /// Sends one request; returns the body of a 2xx answer, throws the API's error otherwise.
    ///
    /// During a restart the control socket is away for a moment (posternd binds it itself; only
    /// the mail servers' sockets are handed over): a request that could not connect is sent again
    /// until the socket answers (for 5 s), and so is a read (GET) whose connection closed without
    /// an answer. A write that may have arrived is never sent twice.
    func send(_ method: HTTPMethod, _ path: String, json: (any Encodable)? = nil, text: String? = nil) async throws -> Data {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                return try await sendOnce(method, path, json: json, text: text)
            } catch let failure as Unsent {
                guard failure.retry || method == .GET, ContinuousClock.now < deadline else { throw failure.error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// No answer came: `retry` when nothing was sent at all (the socket did not connect).
    private struct Unsent: Error {
        let error: CLIError
        let retry: Bool
    }

    private func sendOnce(_ method: HTTPMethod, _ path: String, json: (any Encodable)?, text: String?) async throws -> Data {
        var request: HTTPClientRequest
        do { request = try makeRequest(method, path) } catch let error as CLIError where error.code == "unreachable" {
            throw Unsent(error: error, retry: true)
        }
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
            throw Unsent(error: unreachable(error), retry: false)
        }
        let data = Data(body.readableBytesView)
        try Self.check(response, data)
        return data
    }

    /// Streams `body` up with no time limit (an import takes as long as its file) and hands each
    /// line of the `application/x-ndjson` answer to `line` as it arrives.
    func streamLines(_ method: HTTPMethod, _ path: String, body: HTTPClientRequest.Body, line: (Data) throws -> Void) async throws {
        var request = try makeRequest(method, path)
        request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        request.headers.add(name: "Accept", value: "application/x-ndjson")
        request.body = body
        let response: HTTPClientResponse
        do { response = try await HTTPClient.shared.execute(request, deadline: .distantFuture) } catch { throw unreachable(error) }
        guard (200..<300).contains(response.status.code) else {
            let data = (try? await response.body.collect(upTo: 1 << 20)).map { Data($0.readableBytesView) } ?? Data()
            try Self.check(response, data)
            return
        }
        var pending = Data()
        do {
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let text = pending[pending.startIndex..<newline]
                    pending = Data(pending[pending.index(after: newline)...])
                    try line(Data(text))
                }
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(code: "connection_lost", message: "posternd closed the connection part way (\(error)); see its log")
        }
    }

    private func makeRequest(_ method: HTTPMethod, _ path: String) throws -> HTTPClientRequest {
        guard let url = URL(httpURLWithSocketPath: socket, uri: path) else {
            throw CLIError(code: "bad_socket", message: "cannot use \(socket) as a socket path")
        }
        // Fail fast with a clear message when nothing listens (the HTTP client would keep retrying).
        close(try UnixSocket.connect(socket, what: "posternd's control socket", timeoutSeconds: 5))
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        // Who is asking is posternd's to find out (the socket tells it our uid), not ours to say.
        if let actingAs { request.headers.add(name: "X-Postern-As", value: actingAs) }
        return request
    }

    private func unreachable(_ error: any Error) -> CLIError {
        CLIError(code: "unreachable",
                 message: "cannot reach posternd at \(socket) (\(error)); is it running? `scripts/run` starts it, --socket or POSTERN_SOCKET point elsewhere")
    }

    /// Throws the API's error for an answer that is not 2xx.
    private static func check(_ response: HTTPClientResponse, _ data: Data) throws {
        guard !(200..<300).contains(response.status.code) else { return }
        struct Envelope: Decodable { struct Detail: Decodable { let code: String; let message: String }; let error: Detail }
        if let envelope = try? JSONDecoder().decode(Envelope.self, from: data) {
            throw CLIError(code: envelope.error.code, message: envelope.error.message)
        }
        throw CLIError(code: "http_\(response.status.code)", message: "posternd answered \(response.status.code) \(response.status.reasonPhrase)")
    }

    /// Percent-encodes one path segment (addresses, device names).
    /// A query parameter's value, every character but the unreserved ones percent-encoded (a `+` too).
    static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~@"))) ?? text
    }

    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
