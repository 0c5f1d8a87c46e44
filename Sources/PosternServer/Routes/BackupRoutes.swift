import Hummingbird
import PosternControl
import PosternCore

/// The backup plane over HTTP.
enum BackupRoutes {
    /// `serverKeyPath`: the key file copied beside the database; nil: this listener backs nothing up.
    static func collection(_ backups: BackupPlane, serverKeyPath: String?) -> RouteCollection<ControlContext> {
        let routes = RouteCollection(context: ControlContext.self)
        routes.on(.post, "/v1/backup", body: BackupInput.self) { call, input in
            guard let serverKeyPath else { throw PosternError(.noBackup, "this control API has no server key to back up") }
            return try await backups.backup(to: input.directory, serverKeyPath: serverKeyPath, actor: call.actor)
        }
        return routes
    }
}

extension BackupManifest: ResponseEncodable {}
