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
            let code = switch error.status {
            case .notFound: "no_such_route"
            case .badRequest: "bad_request"
            case .contentTooLarge: "too_large"
            case .methodNotAllowed: "method_not_allowed"
            default: "http_\(error.status.code)"
            }
            throw APIError(status: error.status, code: code, message: error.body ?? error.status.reasonPhrase)
        } catch is NIOTooManyBytesError {
            throw APIError(status: .contentTooLarge, code: "too_large", message: "the request body is larger than \(ControlContext.maxJSONBytes) bytes (a passwd-file import has no limit)")
        } catch let error as HTTPParserError {
            // A body the client garbled (a bad chunk size, say) is its mistake, not ours.
            throw APIError(status: .badRequest, code: "bad_request", message: "the request could not be read as HTTP (\(error)); nothing was changed")
        } catch is DecodingError {
            throw APIError(status: .badRequest, code: "bad_request", message: "the JSON body does not match what this route expects (see openapi.yaml)")
        } catch {
            context.logger.error("control request failed: \(error)")
            throw APIError(status: .internalServerError, code: "internal", message: "internal error; see the posternd log")
        }
    }
}

struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    init(status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    init(_ error: PosternError) {
        let status: HTTPResponse.Status = switch error.kind {
        case .invalid: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .forbidden: .forbidden
        case .unauthenticated: .unauthorized
        case .unavailable: .serviceUnavailable
        case .internal: .internalServerError
        }
        self.init(status: status, code: error.code, message: error.message)
    }

    private struct Body: Encodable {
        struct Detail: Encodable { let code: String; let message: String }
        let error: Detail
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try context.responseEncoder.encode(Body(error: .init(code: code, message: message)), from: request, context: context)
        response.status = status
        return response
    }
}
