import Hummingbird
import NIOCore
import NIOHTTP1
import PosternControl
import PosternCore

/// The import plane over HTTP: a passwd-file read as it arrives, with no size limit;
/// `Accept: application/x-ndjson` also gets progress lines.
enum ImportRoutes {
    static func collection(_ imports: ImportPlane, gate: ImportGate) -> RouteCollection<ControlContext> {
        let routes = RouteCollection(context: ControlContext.self)
        routes.post("/v1/import/passwd-file") { request, context -> Response in
            let actor = try context.who()
            guard request.headers[.accept]?.contains("application/x-ndjson") == true else {
                return try await imports.importPasswdFile(streaming: request.body, actor: actor, gate: gate).response(from: request, context: context)
            }
            let ticket = try gate.begin()  // refused before the 200 is sent
            gate.end(ticket)
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
                func send(_ event: ImportEvent) async throws {
                    var line = try ControlAPI.encoder.encodeAsByteBuffer(event, allocator: ByteBufferAllocator())
                    line.writeString("\n")
                    try await writer.write(line)
                }
                do {
                    let report = try await imports.importPasswdFile(streaming: request.body, actor: actor, gate: gate) {
                        try await send(ImportEvent(progress: $0))
                    }
                    try await send(ImportEvent(report: report))
                } catch let error as PosternError {
                    try await send(ImportEvent(error: .init(code: error.code, message: error.message)))
                } catch let error as HTTPParserError {
                    let error = PosternError(.badRequest, "the request could not be read as HTTP (\(error)); lines after the last batch written were not imported")
                    try await send(ImportEvent(error: .init(code: error.code, message: error.message)))
                }
                try await writer.finish(nil)
            })
        }
        return routes
    }
}

extension ImportReport: ResponseEncodable {}
