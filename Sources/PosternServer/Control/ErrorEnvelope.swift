import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import PosternCore

/// Turns every error into `{"error": {"code": …, "message": …}}` with a fitting status.
struct ErrorEnvelope<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as PosternError {
            throw APIError(error)
        } catch let error as HTTPError {
            let message = error.body ?? error.status.reasonPhrase
            switch error.status {
            case .notFound: throw APIError(PosternError(.noSuchRoute, message))
            case .contentTooLarge: throw APIError(PosternError(.tooLarge, message))
            case .methodNotAllowed: throw APIError(PosternError(.methodNotAllowed, message))
            case .badRequest: throw APIError(PosternError(.badRequest, message))
            // One Hummingbird raises without a name of ours keeps its status: http_STATUS.
            default: throw APIError(status: error.status, code: "http_\(error.status.code)", message: message)
            }
        } catch is NIOTooManyBytesError {
            throw APIError(PosternError(.tooLarge, "the request body is larger than \(ControlContext.maxJSONBytes) bytes (a passwd-file import has no limit)"))
        } catch let error as HTTPParserError {
            // A body the client garbled (a bad chunk size, say) is its mistake, not ours.
            throw APIError(PosternError(.badRequest, "the request could not be read as HTTP (\(error)); nothing was changed"))
        } catch is DecodingError {
            throw APIError(PosternError(.badRequest, "the JSON body does not match what this route expects (see openapi.yaml)"))
        } catch {
            context.logger.error("control request failed: \(error)")
            throw APIError(PosternError(.internal, "internal error; see the posternd log"))
        }
    }
}

/// A refusal as the control API sends it: the status its kind says, and `{"error": {code, message}}`.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    /// Seconds, sent as `Retry-After` (a throttled request).
    var retryAfter: Int?

    init(_ error: PosternError) {
        self.init(status: .init(code: error.kind.httpStatus), code: error.code, message: error.message)
        retryAfter = error.retryAfterSeconds
    }

    init(status: HTTPResponse.Status, code: String, message: String) {
        (self.status, self.code, self.message) = (status, code, message)
    }

    private struct Body: Encodable {
        struct Detail: Encodable { let code: String; let message: String }
        let error: Detail
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try context.responseEncoder.encode(Body(error: .init(code: code, message: message)), from: request, context: context)
        response.status = status
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }
}
