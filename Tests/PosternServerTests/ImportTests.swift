import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import PosternAuth
@testable import PosternControl
import PosternCore
@testable import PosternServer
import Testing

/// The passwd-file import as it streams: batches, stops, bounded reports.
@Suite struct ImportTests {
    /// Lines of a fast scheme (a {PLAIN} line costs a SHA512-CRYPT on the way in).
    static func lines(_ range: ClosedRange<Int>, prefix: String = "u", password: String = sha256) -> String {
        range.map { "\(prefix)\($0)@example.org:\(password)\n" }.joined()
    }

    static let sha256 = "{SHA256.HEX}4104d36f8da2c254349f85836793ebe029e0c957063a34c91c2e9203187b5631"

    @Test func aStopEndsTheImportBetweenBatchesAndTheRunAgainFinishesIt() async throws {
        let plane = try await makePlane()
        let gate = ImportGate()
        let (body, feed) = AsyncStream.makeStream(of: ByteBuffer.self)
        let batch = ImportPlane.importBatchLines
        let running = Task { try await plane.imports.importPasswdFile(streaming: body, actor: .op, gate: gate) }
        feed.yield(ByteBuffer(string: Self.lines(1...(2 * batch + 10))))
        try await eventually("two batches in the index") { plane.index.count.generic == 2 * batch }
        #expect(throws: PosternError.self) { _ = try gate.begin() }  // one import at a time
        gate.stop()
        feed.yield(ByteBuffer(string: Self.lines((2 * batch + 11)...(3 * batch))))
        let outcome = await running.result
        #expect(throws: PosternError.self) { try outcome.get() }
        if case let .failure(error as PosternError) = outcome {
            #expect(error.code == "import_stopped")
            #expect(error.message.contains("lines 1 to \(2 * batch) done"))
        }
        #expect(plane.index.count.generic == 2 * batch, "whole batches only")
        #expect(try await Self.mailboxCount(plane) == 2 * batch)
        feed.finish()

        let again = try await plane.imports.importPasswdFile(Self.lines(1...(3 * batch)), actor: .op)
        #expect(again.unchanged == 2 * batch && again.imported == batch && again.errorCount == 0)
        #expect(plane.index.count.generic == 3 * batch)
    }

    @Test func aBodyThatBreaksOffWritesNoHalfLine() async throws {
        let plane = try await makePlane()
        let (body, feed) = AsyncThrowingStream.makeStream(of: ByteBuffer.self)
        feed.yield(ByteBuffer(string: "a@example.org:{PLAIN}whole\nb@example.org:{PLAIN}cut sh"))
        struct Gone: Error {}
        feed.finish(throwing: Gone())
        await #expect(throws: Gone.self) { _ = try await plane.imports.importPasswdFile(streaming: body, actor: .op) }
        #expect(plane.index.generic(for: "b@example.org") == nil)
        #expect(plane.index.generic(for: "a@example.org") == nil, "a batch not yet written is dropped with its connection")
    }

    @Test func duplicatesAcrossBatchesAndTheErrorCap() async throws {
        let plane = try await makePlane()
        let batch = ImportPlane.importBatchLines
        var text = Self.lines(1...150, password: "{PLAIN}pw") + Self.lines(151...batch)
        text += "u1@example.org:{PLAIN}pw1\n"  // the same user again, in the next batch
        text += (1...250).map { "garbage \($0)\n" }.joined()
        text += "u7@EXAMPLE.org:{PLAIN}other\n"
        let report = try await plane.imports.importPasswdFile(text, actor: .op)
        #expect(report.imported == batch)
        #expect(report.errorCount == 252)
        #expect(report.errors.count == ImportReport.maxListed)
        #expect(report.errors.first == .init(line: batch + 1, code: .duplicateUser,
                                             message: "line \(batch + 1): u1@example.org already appears on line 1"))
        #expect(report.errors.dropFirst().allSatisfy { $0.code == "invalid_line" })
        #expect(report.lines == batch + 252)
        #expect(report.warningCount == 150 && report.warnings.count == ImportReport.maxListed, "{PLAIN} is a warning each")
    }

    @Test func aClearTextPasswordIsStoredAsSHA512CryptAndLogsIn() async throws {
        let plane = try await makePlane()
        let report = try await plane.imports.importPasswdFile("c@example.org:{CLEARTEXT}clear secret\n", actor: .op)
        #expect(report.imported == 1 && report.warnings.first?.code == "plain_password")
        #expect(report.warnings.first?.message.contains("{SHA512-CRYPT}") == true)
        let box = try #require(try await plane.store.read { try await $0.mailbox(try MailAddress("c@example.org")) })
        let stored = try #require(try await plane.store.read { try await $0.genericPassword(mailboxID: box.id!) })
        #expect(stored.scheme == .sha512Crypt && !stored.stored.contains("clear secret"))
        #expect(plane.index.generic(for: "c@example.org")?.password == stored)
        #expect(LegacyHash.verify(password: Array("clear secret".utf8), against: stored))
        #expect(try await plane.store.read { try await $0.changes(containing: "clear secret") }.isEmpty)
        let again = try await plane.imports.importPasswdFile("c@example.org:{PLAIN}clear secret\n", actor: .op)
        #expect(again.unchanged == 1 && again.errorCount == 0, "the same line again is the same hash")
    }

    @Test func clearTextStoredByAnEarlierVersionIsHashedAtStartInTheTableAndTheLog() async throws {
        let plane = try await makePlane()
        let plain = try GenericPassword(parsing: "{PLAIN}old secret")
        let box = try await plane.store.write { db in try await db.createMailbox(try MailAddress("old@example.org")) }
        let device = try await plane.store.write { db in try await db.setGenericPassword(mailboxID: box.id!, plain) }
        // What an earlier version logged for the other nodes, beside another change that stays as it was.
        let logged = NodeChange.credentials([.setGeneric(GenericCredential(deviceID: device, address: "old@example.org", password: plain))])
        let other = NodeChange.routing([.addMailbox("old@example.org")])
        try await plane.store.write { db in
            for change in [logged, other] {
                _ = try await db.appendChange(String(decoding: try ChangeFeed.encoder.encode(change), as: UTF8.self), node: "old")
            }
        }
        _ = try await plane.node.loadIndex()
        #expect(try await plane.imports.hashStoredClearText() == 1)
        let stored = try #require(try await plane.store.read { try await $0.genericPassword(mailboxID: box.id!) })
        #expect(stored.scheme == .sha512Crypt && LegacyHash.verify(password: Array("old secret".utf8), against: stored))
        #expect(stored == (try PlainImport.hashed(plain, address: "old@example.org", key: plane.serverKey)), "as an import now stores it")
        #expect(plane.index.generic(for: "old@example.org")?.password == stored)
        let log = try await plane.store.read { try await $0.changes(after: 0) }
        #expect(!log.contains { $0.change.contains("old secret") || $0.change.contains("{PLAIN}") })
        let rewritten = try log.map { try JSONDecoder().decode(NodeChange.self, from: Data($0.change.utf8)) }
        #expect(rewritten.contains(.credentials([.setGeneric(GenericCredential(deviceID: device, address: "old@example.org", password: stored))])))
        #expect(rewritten.contains(other))
        #expect(try await plane.imports.hashStoredClearText() == 0, "once")
    }

    @Test func theProgressStreamEndsWithTheReport() async throws {
        let plane = try await makePlane()
        let app = Application(router: ControlAPI.router(plane, authenticator: FixedActor.op))
        try await app.test(.live) { client in
            let text = Self.lines(1...10) + "nonsense\n"
            try await client.execute(uri: "/v1/import/passwd-file", method: .post,
                                     headers: [.accept: "application/x-ndjson", .contentType: "text/plain"],
                                     body: ByteBuffer(string: text)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/x-ndjson")
                let events = String(buffer: response.body).split(separator: "\n").map {
                    try? ControlAPI.decoder.decode(ImportEvent.self, from: Data($0.utf8))
                }
                let report = try #require(events.last??.report)
                #expect(report.imported == 10 && report.errorCount == 1 && report.lines == 11)
                #expect(events.dropLast().allSatisfy { $0?.progress != nil })
            }
            // Without Accept: the report alone, as before.
            try await client.execute(uri: "/v1/import/passwd-file", method: .post, body: ByteBuffer(string: Self.lines(1...3))) { response in
                let report = try ControlAPI.decoder.decode(ImportReport.self, from: Data(buffer: response.body))
                #expect(report.unchanged == 3)
            }
        }
    }

    /// The mailboxes of example.org, every page of 500 walked.
    static func mailboxCount(_ plane: Planes) async throws -> Int {
        var count = 0
        var after: String?
        repeat {
            let page = try await plane.directory.mailboxes(domain: "example.org", page: try PageRequest(limit: 500, after: after), actor: .op)
            count += page.count
            after = page.next
        } while after != nil
        return count
    }
}
