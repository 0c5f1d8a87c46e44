import Hummingbird
import NIOCore
import PosternControl
import PosternCore
import Prometheus

/// This node's own answers: its health, and its metrics for Prometheus.
enum NodeRoutes {
    static func collection(_ planes: Planes, metrics: PrometheusCollectorRegistry?) -> RouteCollection<ControlContext> {
        let routes = RouteCollection(context: ControlContext.self)
        routes.get("/metrics") { _, context in
            let actor = try context.who()
            try await planes.authorize(actor, .readMetrics)
            if planes.store.kind == .postgres { planes.feed.recordGauges() }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics?.emitToBuffer() ?? [])))
        }
        routes.get("/v1/health") { _, _ in try health(planes) }
        return routes
    }

    /// Health from memory: the check's index, this node's place in the change log, the last write.
    static func health(_ planes: Planes) throws -> Health {
        let count = planes.index.count
        let feed = planes.store.kind == .postgres ? planes.feed.status : nil
        // A node behind the others refuses logins (temp_fail): the first thing to say.
        if let feed, feed.stale {
            throw PosternError(.nodeStale, feed.problem ?? "node \(feed.node) has not been in step with the database for "
                + "\(Int(feed.lagSeconds)) s (change \(feed.lastApplied) applied): logins get a temporary failure until it catches up; check that PostgreSQL is reachable")
        }
        // Checks go on from memory; what fails is every change: say so, with a 503.
        if let failure = planes.store.writeFailure {
            throw PosternError(.storeUnavailable, "the last write to the database failed (\(failure)); logins go on, changes fail")
        }
        // Logins and changes go on; a script or folder is not in place: "degraded", with why.
        let outbox = planes.outbox.status()
        let problem = outbox.degraded
            ? "\(outbox.failed) mail-server task(s) (Sieve scripts, folders) failing for \(Int(outbox.oldestFailureSeconds ?? 0)) s; "
                + "the mailboxes' history says why (script not installed: …); posternd retries them" : nil
        return Health(status: outbox.degraded ? "degraded" : "ok", devicePasswords: count.devices, genericPasswords: count.generic, feed: feed,
                      outbox: outbox, problem: problem)
    }
}

extension Health: ResponseEncodable {}
