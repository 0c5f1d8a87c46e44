import Foundation
import PosternCore
import Synchronization

/// The rules of members and accounts, as plain decisions over values.
enum PeopleRules {
    /// An organization keeps at least one legal representative.
    static func checkNotLast(_ login: String, of organization: String, count: Int, removing: Bool = false) throws(PosternError) {
        guard count <= 1 else { return }
        throw PosternError(.lastLegalRepresentative, removing
            ? "\(login) is the last legal representative of \(organization) and cannot be removed; make someone else legal representative first"
            : "\(login) is the last legal representative of \(organization); make someone else legal representative first")
    }

    /// Removing a member is confirmed by typing their login back.
    static func checkTypedBack(_ confirm: String?, _ removal: MemberRemoval) throws(PosternError) {
        guard let confirm, (try? User.login(confirm)) == removal.member.login else {
            throw PosternError(.confirmationRequired, """
                removing \(removal.member.login) takes away \(removal.mailboxAccess.count) mailbox access(es), \
                \(removal.services.count) service(s) and \(removal.tokens.count) token(s) and session(s); type their login back as confirm to do it
                """)
        }
    }

    /// posternd itself (demo data) changes no one's role as far as they are told: it mails nobody.
    static func isPosternItself(_ actor: Actor) -> Bool {
        if case .system = actor { return true }
        return false
    }
}
