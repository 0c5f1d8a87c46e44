import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PosternCore
import PosternProtocols

/// The pages of administrators and legal representatives: members and roles, a mailbox's
/// permissions, the mail service's global configuration.
extension Pages {
    // MARK: members

    /// A page of the members, with a search box (login or name begins with).
    func members(_ context: WebContext, query: [String: String] = [:], notice: String? = nil) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let organization = try context.parameters.decoded("organization")
            let request = Pager.request(query)
            let (list, manages) = try await plane.people.membersOverview(organization: organization, page: request, actor: actor)
            let rows = list.items.map { member in
                MembersView.Row(login: member.login, displayName: member.displayName, roleLabel: member.role.label, orgPath: Self.segment(organization),
                                loginPath: Self.segment(member.login), csrf: context.csrf ?? "",
                                roles: Role.allCases.map { Choice(value: $0.rawValue, label: $0.label, selected: $0 == member.role) })
            }
            return page("members", MembersView(title: "Members", organization: organization, manages: manages, members: rows,
                                               pager: Pager(list, path: "/organizations/\(Self.segment(organization))/members",
                                                            search: request.search, searchable: true), notice: notice), context)
        }
    }

    func changeRole(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let role: String; let password: String? }
            let actor = try signedIn(context)
            let (organization, login) = (try context.parameters.decoded("organization"), try context.parameters.decoded("login"))
            let input = try await form(Form.self, request, context)
            let role = try Role(parsing: input.role)
            let change = try await plane.people.setMember(organization: organization, login: login, role: role, displayName: nil, password: input.password, actor: actor)
            return try await members(context, notice: "\(change.member.login) is now \(change.member.role.label).")
        }
    }

    func confirmRemoval(_ context: WebContext) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let (organization, login) = (try context.parameters.decoded("organization"), try context.parameters.decoded("login"))
            let preview = try await plane.people.memberRemovalPreview(organization: organization, login: login, actor: actor)
            return page("remove-member", RemoveMemberView(
                title: "Remove a member", organization: organization, login: preview.member.login, orgPath: Self.segment(organization),
                loginPath: Self.segment(preview.member.login), roleLabel: preview.member.role.label,
                access: preview.mailboxAccess.map { .init(mailbox: $0.mailbox, permissions: $0.permissions.names.joined(separator: ", ")) },
                services: preview.services,
                tokens: preview.tokens.map { .init(kind: $0.kind == .token ? "API token" : "session", name: $0.name) },
                anything: !(preview.mailboxAccess.isEmpty && preview.services.isEmpty && preview.tokens.isEmpty)), context)
        }
    }

    func removeMember(_ request: Request, _ context: WebContext) async throws -> Response {
        await run(context) {
            struct Form: Decodable { let confirm: String?; let password: String? }
            let actor = try signedIn(context)
            let (organization, login) = (try context.parameters.decoded("organization"), try context.parameters.decoded("login"))
            let input = try await form(Form.self, request, context)
            let removed = try await plane.people.removeMember(organization: organization, login: login, confirm: input.confirm, password: input.password, actor: actor)
            return try await members(context, notice: "\(removed.member.login) was removed, with \(removed.mailboxAccess.count) mailbox access(es).")
        }
    }
}

/// A mailbox's users and their eleven permissions; the mail service's global configuration.
extension Pages {
    /// The permissions as the pages show them: name (the form value) and label.
    static func permissionBoxes(_ held: MailboxPermission) -> [PermissionBox] {
        MailboxPermission.named.map { named in
            PermissionBox(name: named.name, label: String(named.means.split(separator: ":")[0]), checked: held.contains(named.permission))
        }
    }

    func access(_ context: WebContext, query: [String: String] = [:], notice: String? = nil, problem: String? = nil,
                status: HTTPResponse.Status = .ok) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let address = try context.parameters.decoded("address")
            let request = Pager.request(query)
            let overview = try await plane.people.accessOverview(mailbox: address, page: request, actor: actor)
            let content = AccessContent(
                service: overview.service, servicePath: Self.segment(overview.service),
                defaults: overview.defaults.isEmpty ? "no permission" : overview.defaults.names.joined(separator: ", "),
                users: overview.access.items.map { entry, displayName in
                    AccessContent.User(login: entry.login, displayName: displayName, csrf: context.csrf ?? "", path: Self.segment(address),
                                       id: entry.login.map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined(),
                                       matchesDefaults: entry.permissions == overview.defaults, permissions: Self.permissionBoxes(entry.permissions))
                },
                others: overview.members.map { .init(login: $0.login, roleLabel: $0.role.label) },
                newPermissions: Self.permissionBoxes(overview.defaults),
                hasUsers: !overview.access.items.isEmpty || overview.access.previous != nil, hasOthers: !overview.members.isEmpty,
                pager: Pager(overview.access, path: "/mailboxes/\(Self.segment(address))/access"))
            return page("access", MailboxPage(title: "Permissions", address: address, path: Self.segment(address), notice: notice, problem: problem,
                                              content: content), context, status: status)
        }
    }

    /// Gives, changes or takes away one user's access: `do` is save, defaults or remove.
    func changeAccess(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let login: String; let permissions: [String]?; let password: String?; let `do`: String }
        return await submit(Form.self, request, context, redisplay: { try await access(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let address = try context.parameters.decoded("address")
            switch input.do {
            case "remove":
                let change = try await plane.people.revokeAccess(mailbox: address, login: input.login, password: input.password, actor: actor)
                return "\(change.access.login) no longer has access to \(address)."
            case "save", "defaults":
                let permissions = input.do == "defaults" ? nil : try MailboxPermission(names: input.permissions ?? [])
                let change = try await plane.people.setAccess(mailbox: address, login: input.login, permissions: permissions, password: input.password, actor: actor)
                let now = change.access.permissions.isEmpty ? "no permission" : change.access.permissions.names.joined(separator: ", ")
                return "\(change.access.login): \(now)" + (permissions == nil ? " (the global configuration)." : ".")
            default:
                throw PosternError(.unknownAction, "unknown action '\(input.do.prefix(32))'; nothing was changed")
            }
        }
    }

    /// Every user of this mailbox gets exactly the mail service's global configuration.
    func applyDefaultsToMailbox(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let password: String? }
        return await submit(Form.self, request, context, redisplay: { try await access(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let address = try context.parameters.decoded("address")
            let changes = try await plane.people.applyDefaults(toMailbox: address, password: input.password, actor: actor)
            return "The global configuration was applied to \(changes.count) user(s) of \(address)."
        }
    }

    func defaults(_ context: WebContext, query: [String: String] = [:], notice: String? = nil, problem: String? = nil,
                  status: HTTPResponse.Status = .ok) async throws -> Response {
        await run(context) {
            let actor = try signedIn(context)
            let service = try context.parameters.decoded("service")
            let request = Pager.request(query)
            let current = try await plane.people.defaults(service: service, actor: actor)
            let (mailboxes, count) = try await plane.people.mailboxes(service: service, page: request, actor: actor)
            let view = DefaultsView(title: "Global configuration", service: service, servicePath: Self.segment(service),
                                    permissions: Self.permissionBoxes(current.permissions),
                                    mailboxes: mailboxes.items.map { .init(address: $0.address.description, path: Self.segment($0.address.description)) },
                                    mailboxCount: count, pager: Pager(mailboxes, path: "/services/\(Self.segment(service))/defaults"),
                                    notice: notice, problem: problem)
            return page("defaults", view, context, status: status)
        }
    }

    /// Saves the global configuration (`do=save`), or applies it to every user of every mailbox of the service (`do=apply`).
    func changeDefaults(_ request: Request, _ context: WebContext) async throws -> Response {
        struct Form: Decodable { let permissions: [String]?; let password: String?; let `do`: String }
        return await submit(Form.self, request, context, redisplay: { try await defaults(context, notice: $0, problem: $1, status: $2) }) { actor, input in
            let service = try context.parameters.decoded("service")
            switch input.do {
            case "save":
                let permissions = try MailboxPermission(names: input.permissions ?? [])
                let saved = try await plane.people.setDefaults(service: service, permissions: permissions, actor: actor)
                let names = saved.permissions.isEmpty ? "no permission" : saved.permissions.names.joined(separator: ", ")
                return "The global configuration of \(service) is now: \(names). Apply it to give it to existing users."
            case "apply":
                let changes = try await plane.people.applyDefaultsToEveryMailbox(service: service, password: input.password, actor: actor)
                return "The global configuration was applied to \(changes.count) access(es) in \(service)."
            default:
                throw PosternError(.unknownAction, "unknown action '\(input.do.prefix(32))'; nothing was changed")
            }
        }
    }
}
