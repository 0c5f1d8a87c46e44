import Foundation
import PosternCore
import PosternStore

/// A user's signature and reply-to address for a mailbox ("signatures" permission), kept for
/// webmail to read. The reply-to is the mailbox or one of its aliases.
extension MailSettingsPlane {
    public func signature(mailbox address: String, actor: Actor) async throws -> Signature {
        let address = try MailAddress(address)
        let user = try Self.signatureOwner(actor)
        return try await store.read { db in
            let box = try await Access.mailbox(address, .signatures, actor: actor, in: db)
            let stored = try await db.signature(mailboxID: box.id!, userID: user.id)
            return Signature(mailbox: address.description, login: user.login, text: stored?.text ?? "", replyTo: stored?.replyTo)
        }
    }

    public func setSignature(mailbox address: String, text: String, replyTo: String?, actor: Actor) async throws -> Signature {
        let address = try MailAddress(address)
        let user = try Self.signatureOwner(actor)
        guard text.count <= 10_000, !text.contains("\u{0}") else {
            throw PosternError(.invalidSignature, "a signature is at most 10,000 characters")
        }
        let replyTo = try replyTo.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : try MailAddress($0.trimmingCharacters(in: .whitespaces)) }
        return try await store.write { db in
            let box = try await Access.mailbox(address, .signatures, actor: actor, in: db)
            if let replyTo {
                let own = try await [box.address.description] + (db.aliases(mailboxID: box.id!).map(\.address))
                guard own.contains(where: { RoutingTable.fold($0) == RoutingTable.fold(replyTo.description) }) else {
                    let others = own.dropFirst().joined(separator: ", ")
                    throw PosternError(.replyToNotOwn, """
                        the reply-to address must be \(address) or one of its aliases (\(others.isEmpty ? "none" : others))
                        """)
                }
            }
            try await db.setSignature(mailboxID: box.id!, userID: user.id, text: text, replyTo: replyTo?.description)
            try await ActionLog.record(.signatureSet(login: user.login, replyTo: replyTo?.description), mailbox: address.description, by: actor, in: db)
            return Signature(mailbox: address.description, login: user.login, text: text, replyTo: replyTo?.description)
        }
    }

    /// The mailbox's aliases, the other addresses a reply-to may be (for whoever sets signatures).
    public func aliasesForReplyTo(mailbox address: String, actor: Actor) async throws -> [String] {
        let address = try MailAddress(address)
        return try await store.read { db in
            let box = try await Access.mailbox(address, .signatures, actor: actor, in: db)
            return try await db.aliases(mailboxID: box.id!).map(\.address)
        }
    }

    /// A signature is a user's own: the operator sets one with `--as LOGIN`.
    static func signatureOwner(_ actor: Actor) throws -> Actor.UserRef {
        guard let user = actor.user else {
            throw PosternError(.noUser, "a signature belongs to a user: act as one (postern --as LOGIN)")
        }
        return user
    }
}
