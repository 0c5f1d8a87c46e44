import Foundation
import HTTPTypes
import Hummingbird
import PosternControl
import PosternCore

/// What one control-API request brings a plane call: who asks, the path's parameters (with
/// their percent-encoding removed) and the query.
struct APICall: Sendable {
    let actor: Actor
    let parameters: Parameters
    let query: [String: String]

    init(_ request: Request, _ context: ControlContext) throws {
        actor = try context.who()
        parameters = context.parameters
        query = request.queryValues
    }

    /// `?limit=&after=&before=&q=`: which page of a list (limit 1 to 500, default 50).
    var page: PageRequest {
        get throws { try PageRequest(query: query) }
    }

    /// A path parameter: `:address`, `:device`.
    subscript(_ name: String) -> String {
        get throws { try parameters.decoded(name) }
    }
}

extension Request {
    /// The query parameters, percent-decoded (the last of a repeated one).
    var queryValues: [String: String] {
        var query: [String: String] = [:]
        for (name, value) in uri.queryParameters { query[String(name)] = String(value) }
        return query
    }
}

/// The one decode–call–encode step of every control-API route: the body (if the route takes one)
/// is decoded, the plane is called (it suspends on the store, never blocks a thread), and its
/// answer is encoded with `status`. A route holds no logic of its own.
extension RouteCollection where Context == ControlContext {
    /// A route without a body.
    @discardableResult
    func on<Output: ResponseGenerator & Sendable>(_ method: HTTPRequest.Method, _ path: RouterPath, status: HTTPResponse.Status = .ok,
                                                 _ call: @escaping @Sendable (APICall) async throws -> Output) -> Self {
        on(path, method: method) { request, context -> EditedResponse<Output> in
            let input = try APICall(request, context)
            return EditedResponse(status: status, response: try await call(input))
        }
    }

    /// A route whose JSON body is `Body`.
    @discardableResult
    func on<Body: Decodable & Sendable, Output: ResponseGenerator & Sendable>(
        _ method: HTTPRequest.Method, _ path: RouterPath, body: Body.Type, status: HTTPResponse.Status = .ok,
        _ call: @escaping @Sendable (APICall, Body) async throws -> Output) -> Self {
        on(path, method: method) { request, context -> EditedResponse<Output> in
            let input = try APICall(request, context)
            let body = try await request.decode(as: Body.self, context: context)
            return EditedResponse(status: status, response: try await call(input, body))
        }
    }

    /// A route whose body may be left out (a confirmation): nil when there is none or it does not parse.
    @discardableResult
    func on<Body: Decodable & Sendable, Output: ResponseGenerator & Sendable>(
        _ method: HTTPRequest.Method, _ path: RouterPath, optionalBody: Body.Type, status: HTTPResponse.Status = .ok,
        _ call: @escaping @Sendable (APICall, Body?) async throws -> Output) -> Self {
        on(path, method: method) { request, context -> EditedResponse<Output> in
            let input = try APICall(request, context)
            let body = try? await request.decode(as: Body.self, context: context)
            return EditedResponse(status: status, response: try await call(input, body))
        }
    }
}
