import Foundation
import PosternCore
import Testing

/// The rule set as a table: every action against every kind of actor.
@Suite struct PolicyTests {
    static let org: Int64 = 1, otherOrg: Int64 = 2
    static let service = ServiceTarget(id: 10, organizationID: org)
    static let otherService = ServiceTarget(id: 11, organizationID: org)
    static let mailbox = MailboxTarget(id: 100, address: "alice@example.org", service: service)
    static let foreign = MailboxTarget(id: 200, address: "eve@example.net", service: ServiceTarget(id: 20, organizationID: otherOrg))

    static let actors: [String: Rights] = [
        "operator": .operator,
        "legal": Rights(roles: [org: .legalRepresentative]),
        "admin": Rights(roles: [org: .administrator]),
        "collaborator with devices": Rights(roles: [org: .collaborator], mailboxes: [mailbox.id: [.devices]]),
        "collaborator given the service": Rights(roles: [org: .collaborator], services: [service.id]),
        "collaborator with nothing": Rights(roles: [org: .collaborator]),
        "external with history": Rights(roles: [org: .external], mailboxes: [mailbox.id: [.history]]),
        "member elsewhere": Rights(roles: [otherOrg: .administrator]),
        "access without membership": Rights(mailboxes: [mailbox.id: .all]),
        // A collaborator with nothing, as user 7 themselves and as the operator acting as them.
        "alice": Rights(roles: [org: .collaborator], user: alice),
        "operator as alice": Rights(roles: [org: .collaborator], user: alice, operatorAsUser: true),
    ]
    static let alice: Int64 = 7
    /// Alice's two ways in decide as the collaborator with nothing they are, unless a row says otherwise.
    static let asCollaboratorWithNothing: Set<String> = ["alice", "operator as alice"]

    typealias Row = (action: Action, expected: [String: Decision])

    static let allowedForManagers: [String: Decision] = ["operator": .allowed, "legal": .allowed, "admin": .allowed]

    static func row(_ action: Action, _ overrides: [String: Decision], otherwise: Decision) -> Row {
        (action, Dictionary(uniqueKeysWithValues: actors.keys.map { name in
            let alike = asCollaboratorWithNothing.contains(name) ? overrides["collaborator with nothing"] : nil
            return (name, overrides[name] ?? alike ?? otherwise)
        }))
    }

    static func operatorOnly(_ action: Action, _ what: String) -> Row {
        row(action, ["operator": .allowed], otherwise: .forbidden(.operator(what)))
    }

    /// One of the eleven permissions on a mailbox of the organization: managers have it, others only as given.
    static func permissionRow(_ permission: MailboxPermission, as action: Action? = nil) -> Row {
        var overrides = allowedForManagers
        for (name, held) in ["collaborator with devices": MailboxPermission.devices, "external with history": .history, "collaborator given the service": []] {
            overrides[name] = held.isSuperset(of: permission) && !held.isEmpty ? .allowed : .forbidden(.permission(permission, on: mailbox.address))
        }
        return row(action ?? .mailbox(mailbox, permission), overrides, otherwise: .hidden)
    }

    static let table: [Row] = [
        operatorOnly(.addOrganization, "add organizations"),
        operatorOnly(.removeOrganization, "remove organizations"),
        operatorOnly(.addUser, "add user accounts"),
        operatorOnly(.listUsers, "list every user account"),
        operatorOnly(.importPasswdFile, "import passwd-files"),
        operatorOnly(.backUp, "back up posternd"),
        operatorOnly(.readMetrics, "read the metrics"),
        operatorOnly(.rewriteSieveScripts, "rewrite Sieve scripts"),
        operatorOnly(.readGenericReport, "read the report of every generic password"),
        operatorOnly(.listEveryonesTokens, "list every user's tokens"),
        row(.manageTokens(owner: alice), ["operator": .allowed, "alice": .allowed, "operator as alice": .allowed],
            otherwise: .forbidden(.operator("manage another user's tokens"))),
        row(.setAccountPassword(of: alice), ["operator": .allowed, "alice": .allowed,
                                             "operator as alice": .forbidden(.ownAccount("a user may change only their own account password"))],
            otherwise: .forbidden(.ownAccount("a user may change only their own account password"))),
        row(.skipReconfirmation, ["operator": .allowed, "operator as alice": .allowed, "alice": .forbidden(.ownAccount("this change needs your own account password to confirm it"))],
            otherwise: .forbidden(.ownAccount("this change needs your own account password to confirm it"))),
        row(.viewOrganization(org), ["member elsewhere": .hidden, "access without membership": .hidden], otherwise: .allowed),
        row(.viewMembers(org), allowedForManagers.merging([
            "collaborator with devices": .allowed, "collaborator given the service": .allowed, "collaborator with nothing": .allowed,
            "external with history": .forbidden(.role(.collaborator)),
        ]) { a, _ in a }, otherwise: .hidden),
        row(.manageMembers(org), allowedForManagers.merging([
            "collaborator with devices": .forbidden(.role(.administrator)), "collaborator given the service": .forbidden(.role(.administrator)),
            "collaborator with nothing": .forbidden(.role(.administrator)), "external with history": .forbidden(.role(.administrator)),
        ]) { a, _ in a }, otherwise: .hidden),
        row(.manageOrganization(org), allowedForManagers.merging([
            "collaborator with devices": .forbidden(.role(.administrator)), "collaborator given the service": .forbidden(.role(.administrator)),
            "collaborator with nothing": .forbidden(.role(.administrator)), "external with history": .forbidden(.role(.administrator)),
        ]) { a, _ in a }, otherwise: .hidden),
        row(.appointLegalRepresentative(org), ["operator": .allowed, "legal": .allowed, "admin": .forbidden(.role(.legalRepresentative)),
            "collaborator with devices": .forbidden(.role(.legalRepresentative)), "collaborator given the service": .forbidden(.role(.legalRepresentative)),
            "collaborator with nothing": .forbidden(.role(.legalRepresentative)), "external with history": .forbidden(.role(.legalRepresentative))],
            otherwise: .hidden),
        row(.viewService(service), allowedForManagers.merging(["collaborator given the service": .allowed]) { a, _ in a }, otherwise: .hidden),
        row(.viewService(otherService), allowedForManagers, otherwise: .hidden),
        row(.manageService(service), allowedForManagers.merging(["collaborator given the service": .forbidden(.role(.administrator))]) { a, _ in a },
            otherwise: .hidden),
        row(.viewMailbox(mailbox), allowedForManagers.merging([
            "collaborator with devices": .allowed, "collaborator given the service": .allowed, "external with history": .allowed,
        ]) { a, _ in a }, otherwise: .hidden),
        row(.giveRoleAddress(service), allowedForManagers.merging(["collaborator given the service": .forbidden(.role(.administrator))]) { a, _ in a },
            otherwise: .hidden),
        row(.mailbox(mailbox, .devices), allowedForManagers.merging([
            "collaborator with devices": .allowed,
            "collaborator given the service": .forbidden(.permission(.devices, on: mailbox.address)),
            "external with history": .forbidden(.permission(.devices, on: mailbox.address)),
        ]) { a, _ in a }, otherwise: .hidden),
        row(.mailbox(mailbox, .history), allowedForManagers.merging([
            "collaborator with devices": .forbidden(.permission(.history, on: mailbox.address)),
            "collaborator given the service": .forbidden(.permission(.history, on: mailbox.address)),
            "external with history": .allowed,
        ]) { a, _ in a }, otherwise: .hidden),
        row(.manageAccess(mailbox), allowedForManagers.merging([
            "collaborator with devices": .forbidden(.role(.administrator)), "collaborator given the service": .forbidden(.role(.administrator)),
            "external with history": .forbidden(.role(.administrator)),
        ]) { a, _ in a }, otherwise: .hidden),
        row(.removeMailbox(mailbox), allowedForManagers.merging([
            "collaborator with devices": .forbidden(.role(.administrator)), "collaborator given the service": .forbidden(.role(.administrator)),
            "external with history": .forbidden(.role(.administrator)),
        ]) { a, _ in a }, otherwise: .hidden),
        row(.mailbox(foreign, .devices), ["operator": .allowed, "member elsewhere": .allowed], otherwise: .hidden),
        permissionRow(.folders, as: .moveRulesWithFolder(mailbox)),
    ] + MailboxPermission.named.map { permissionRow($0.permission) } + [
        row(.manageMembers(otherOrg), ["operator": .allowed, "member elsewhere": .allowed], otherwise: .hidden),
    ]

    @Test(arguments: table.indices)
    func everyActorGetsTheDecisionOfTheTable(row: Int) {
        let (action, expected) = Self.table[row]
        for (name, rights) in Self.actors {
            #expect(Policy.decide(rights, action) == expected[name], "\(name): \(action)")
        }
    }

    /// A new kind of decision without its row in the table fails here.
    @Test func everyKindOfActionHasARow() {
        let covered = Set(Self.table.map(\.action.kind))
        #expect(covered == Set(Action.Kind.allCases), "no row for \(Set(Action.Kind.allCases).subtracting(covered).map(\.rawValue).sorted())")
        let permissions = Set(Self.table.compactMap { row -> UInt16? in
            if case let .mailbox(_, permission) = row.action { permission.rawValue } else { nil }
        })
        #expect(MailboxPermission.named.allSatisfy { permissions.contains($0.permission.rawValue) }, "every permission has its row")
    }

    @Test func rolesAreOrderedAndParsed() throws {
        #expect(Role.legalRepresentative > .administrator && Role.administrator > .collaborator && Role.collaborator > .external)
        #expect(try Role(parsing: "Legal representative") == .legalRepresentative)
        #expect(try Role(parsing: "admin") == .administrator)
        #expect(throws: PosternError.self) { try Role(parsing: "owner") }
    }

    @Test func theElevenPermissionsAreOneIntegerAndNamedOneByOne() throws {
        #expect(MailboxPermission.named.count == 11)
        #expect(MailboxPermission.all.rawValue == 0x7FF)
        #expect(Set(MailboxPermission.named.map(\.permission.rawValue)).count == 11)
        #expect(try MailboxPermission(names: ["devices,history", "rules"]) == [.devices, .history, .rules])
        #expect(try MailboxPermission(names: ["all"]).names == MailboxPermission.named.map(\.name))
        #expect(try MailboxPermission(names: ["none"]) == [])
        #expect(MailboxPermission(rawValue: 0xFFFF) == .all, "bits past the eleven are dropped")
        let error = #expect(throws: PosternError.self) { try MailboxPermission(names: ["devices", "root"]) }
        #expect(error?.code == "unknown_permission")
    }
}

@Suite struct RoleChangeMailTests {
    @Test func theSummarySaysWhoWhatAndWhenInPlainHeaders() {
        let mail = RoleChangeMail(to: "cole@corp.test", displayName: "Cole", organization: "Exémple Ltd", before: .collaborator,
                                  after: .external, changedBy: "adam@corp.test", at: Date(timeIntervalSince1970: 1_796_000_000))
        let text = mail.render(from: "postern@mail.example", messageID: "1@postern")
        let (head, body) = (text.components(separatedBy: "\n\n")[0], text)
        #expect(head.split(separator: "\n").allSatisfy { $0.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }, "headers are ASCII")
        #expect(head.contains("To: cole@corp.test") && head.contains("Subject: =?UTF-8?B?"))
        #expect(head.contains("Date: Mon, 30 Nov 2026 00:53:20 +0000"), "\(head)")
        #expect(body.contains("before: collaborator") && body.contains("now:    external") && body.contains("by:     adam@corp.test"))
        let added = RoleChangeMail(to: "x@corp.test", displayName: "", organization: "Acme", before: nil, after: .administrator,
                                   changedBy: "operator", at: Date())
        #expect(added.subject == "You are now administrator of Acme")
        #expect(added.render(from: "p@x.test", messageID: "2@p").contains("role:   administrator"))
    }
}
