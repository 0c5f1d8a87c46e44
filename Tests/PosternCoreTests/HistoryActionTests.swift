import Foundation
import PosternCore
import Testing

/// Every kind of history line: its typed case renders the stored action string and sentence the
/// history API has always shown, and the stored string reads back as the same kind.
@Suite struct HistoryActionTests {
    static let phone = HistoryAction.DeviceName("phone", id: 7)
    static let day = Date(timeIntervalSince1970: 1_798_000_000)  // 2026-12-23T04:26:40Z
    static let redirect = Redirection(mailbox: "alice@example.org", targets: ["bob@example.org", "x@elsewhere.test"], keepCopy: true)
    static let policy = GenericPolicy(refused: [.imap], from: day)

    /// One example of each kind, with what it must store: the switch makes a new kind add its row.
    static func example(_ kind: HistoryAction.Kind) -> (HistoryAction, detail: String, before: String?, after: String?) {
        switch kind {
        case .deviceAdd: (.deviceAdded(device: phone, scope: try! ServiceScope(names: ["imap"]), expiresAt: day),
                          #"device "phone" (id 7) created for imap, expires 2026-12-23T04:26:40Z"#, nil, nil)
        case .deviceRotate: (.deviceRotated(phone), #"device "phone" (id 7) got a new password"#, nil, nil)
        case .deviceScope: (.deviceScoped(phone, .all), #"device "phone" (id 7) now logs in to every service"#, nil, nil)
        case .deviceExpiry: (.deviceExpirySet(phone, expiresAt: nil), #"device "phone" (id 7) no longer expires"#, nil, nil)
        case .deviceDisconnect: (.deviceDisconnected(HistoryAction.DeviceName("generic password", id: 3), generic: true),
                                 "generic password (id 3) disconnected", nil, nil)
        case .deviceDisconnectAll: (.allDevicesDisconnected(count: 4), "all 4 device(s) disconnected", nil, nil)
        case .deviceExpired: (.deviceExpired(phone, at: day), #"device "phone" (id 7) expired at 2026-12-23T04:26:40Z; its password no longer logs in"#, nil, nil)
        case .deviceRemovedUnused: (.unusedDeviceRemoved(phone, unusedSince: day, days: 90),
                                    #"device "phone" (id 7) removed: unused since 2026-12-23T04:26:40Z, more than 90 days"#, nil, nil)
        case .loginThrottled: (.loginsThrottled(failures: 12, minutes: 10, ips: ["192.0.2.7"]),
                               "12 failed logins within 10 min from 192.0.2.7; further attempts are delayed, then refused", nil, nil)
        case .revocationHookFailed: (.revocationHookFailed("doveadm kick exited 75 after 3 attempt(s)"), "doveadm kick exited 75 after 3 attempt(s)", nil, nil)
        case .policyGeneric: (.genericPolicySet(.service, name: "example", nil), "generic password policy of service example removed", nil, nil)
        case .genericImport: (.genericImported(scheme: "SHA512-CRYPT", mailboxCreated: true), "generic password imported ({SHA512-CRYPT}), mailbox created", nil, nil)
        case .genericRefused: (.genericRefused(service: "imap", ip: "192.0.2.7", policy),
                               "generic password refused for imap from 192.0.2.7 by policy (\(policy.summary)); further refusals today are not recorded", nil, nil)
        case .tokenCreate: (.tokenCreated(name: "ci", id: 2, owner: "adam@corp.test", until: day),
                            #"API token "ci" (id 2) of adam@corp.test, until 2026-12-23T04:26:40Z"#, nil, nil)
        case .tokenRevoke: (.tokenRevoked(name: nil, id: 5, owner: "adam@corp.test"), "session (id 5) of adam@corp.test revoked", nil, nil)
        case .sessionOpen: (.sessionOpened, "signed in", nil, nil)
        case .userAdd: (.userAdded(login: "cole@corp.test", displayName: "Cole"), "user cole@corp.test (Cole) added", nil, nil)
        case .userPassword: (.accountPasswordSet(login: "cole@corp.test"), "account password of cole@corp.test set", nil, nil)
        case .memberAdd: (.memberAdded(login: "cole@corp.test", organization: "Corp", .collaborator), "cole@corp.test joined Corp as collaborator",
                          nil, "collaborator")
        case .memberRole: (.memberRoleChanged(login: "cole@corp.test", organization: "Corp", from: .collaborator, to: .legalRepresentative),
                           "role of cole@corp.test in Corp: collaborator → legal representative", "collaborator", "legal-representative")
        case .memberRemove: (.memberRemoved(login: "cole@corp.test", organization: "Corp", .external, mailboxAccess: 2, tokens: 1),
                             "cole@corp.test (external) removed from Corp with 2 mailbox access(es) and 1 token(s) and session(s)", "external", nil)
        case .accessGrant: (.accessGranted(login: "cole@corp.test", [.devices, .rules]), "access of cole@corp.test: none → devices,rules", nil, "devices,rules")
        case .accessChange: (.accessChanged(login: "cole@corp.test", from: [], to: [.history], defaultsOf: "example"),
                             "access of cole@corp.test: no permission → history (defaults of example)", "no permission", "history")
        case .accessRevoke: (.accessRevoked(login: "cole@corp.test", [.history]), "access of cole@corp.test: history → none", "history", nil)
        case .accessService: (.serviceGrant(login: "cole@corp.test", service: "example", given: false), "cole@corp.test no longer given mail service example",
                              "example", nil)
        case .defaultsSet: (.defaultsSet(service: "example", from: [], to: .all),
                            "default permissions of example: no permission → \(MailboxPermission.all.names.joined(separator: ","))",
                            "no permission", MailboxPermission.all.names.joined(separator: ","))
        case .organizationAdd: (.organizationAdded("Corp"), "organization Corp", nil, nil)
        case .organizationRemove: (.organizationRemoved("Corp"), "organization Corp", nil, nil)
        case .serviceAdd: (.serviceAdded(name: "example", domains: ["example.org", "example.net"], organization: "Corp"),
                           "mail service example (example.org, example.net) of Corp", nil, nil)
        case .serviceRemove: (.serviceRemoved("example"), "mail service example", nil, nil)
        case .mailboxAdd: (.mailboxAdded, "mailbox created", nil, nil)
        case .mailboxRemove: (.mailboxRemoved(devices: 2, aliases: ["info@example.org"], redirectedBy: ["bob@example.org"]),
                              "mailbox removed with 2 device(s), aliases info@example.org; no longer a redirection target of bob@example.org", nil, nil)
        case .aliasAdd: (.aliasAdded("info@example.org"), "alias info@example.org added", nil, "info@example.org")
        case .aliasRemove: (.aliasRemoved("info@example.org"), "alias info@example.org removed", "info@example.org", nil)
        case .redirectionSet: (.redirectionSet(from: nil, to: redirect, because: "carl@example.org"),
                               "redirection: none → bob@example.org, x@elsewhere.test (copy kept) (carl@example.org was removed)",
                               nil, "bob@example.org, x@elsewhere.test (copy kept)")
        case .redirectionClear: (.redirectionCleared(from: redirect, because: nil), "redirection: bob@example.org, x@elsewhere.test (copy kept) → none",
                                 "bob@example.org, x@elsewhere.test (copy kept)", nil)
        case .redirectionScope: (.redirectionScopeSet(organization: "Corp", from: .any, to: .ownDomains),
                                 "redirections of Corp may reach: any → own-domains", "any", "own-domains")
        case .rulesSet: (.rulesSet(from: [], to: [SortingRule(name: "Invoices", enabled: false, conditions: [], actions: [])]),
                         "rules: none → Invoices (off)", "none", "Invoices (off)")
        case .spamSet: (.spamFilterSet(from: SpamFilter(), to: SpamFilter(enabled: true, threshold: 5, folder: "Junk")),
                        "spam filter: off → on, at 5 into Junk", "off", "on, at 5 into Junk")
        case .responderSet: (.responderSet(from: Responder(), to: Responder()), "automatic reply: off → off", "off", "off")
        case .sendersSet: (.sendersSet(from: SenderLists(), to: SenderLists(blocked: ["spam@x.test"])),
                           "senders: 0 blocked (junk), 0 approved → 1 blocked (junk), 0 approved", "0 blocked (junk), 0 approved", "1 blocked (junk), 0 approved")
        case .signatureSet: (.signatureSet(login: "cole@corp.test", replyTo: nil), "signature of cole@corp.test changed, no reply-to", nil, nil)
        case .folderCreate: (.folderCreated("Invoices"), "folder Invoices created", nil, "Invoices")
        case .folderRename: (.folderRenamed(from: "Invoices", to: "Bills"), "folder Invoices renamed Bills", "Invoices", "Bills")
        case .folderDelete: (.folderDeleted("Bills"), "folder Bills deleted", "Bills", nil)
        case .scriptNotInstalled: (.scriptNotInstalled("sievec was killed (signal 9)"),
                                   "script not installed: sievec was killed (signal 9); the change is stored, the old script stays until it is", nil, nil)
        case .scriptInstalled: (.scriptInstalled(attempts: 2), "script installed after 2 failed attempt(s)", nil, nil)
        case .folderFailed: (.folderNotChanged("doveadm exited 75"), "folder change not made yet: doveadm exited 75; retried", nil, nil)
        case .backup: (.backedUp(devices: 3, directory: "/srv/backup/1"), "backup of 3 device(s) to /srv/backup/1", nil, nil)
        }
    }

    @Test(arguments: HistoryAction.Kind.allCases)
    func eachKindStoresItsStringAndSentence(kind: HistoryAction.Kind) {
        let (action, detail, before, after) = Self.example(kind)
        #expect(action.kind == kind, "the example of \(kind.rawValue) is of its kind")
        let entry = action.entry(mailbox: "alice@example.org", actor: "operator (uid 0)", actorKind: "operator", origin: "socket uid 0")
        #expect(entry.action == kind.rawValue)
        #expect(HistoryAction.Kind(rawValue: entry.action) == kind, "the stored string reads back as the same kind")
        #expect(entry.detail == detail)
        #expect(entry.before == before && entry.after == after, "\(kind.rawValue): before \(entry.before ?? "nil"), after \(entry.after ?? "nil")")
    }

    @Test func theStoredStringsAreOnePerKind() {
        let strings = HistoryAction.Kind.allCases.map(\.rawValue)
        #expect(Set(strings).count == strings.count)
        #expect(strings.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "." || $0 == "_" } })
    }
}
