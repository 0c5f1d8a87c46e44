// The password check without sockets: what one Dovecot-protocol request costs in posternd's own
// code (decode the AUTH line, PLAIN, keyed digest, index lookup, last use, answer), N devices in
// the index, requests cycling through them. Used by scripts/bench; the number is per check on one
// core, so it says how much of the socket benchmark's time is Postern's and how much is I/O.
//
//   postern-hotpath [DEVICES=100000] [CHECKS=2000000]
import Foundation
import NIOCore
import NIOPosix
import PosternAuth
import PosternCore
import PosternProtocols
import Crypto

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let devices = arguments.first ?? 100_000
let checks = arguments.dropFirst().first ?? 2_000_000

let key = ServerKey(key: SymmetricKey(size: .bits256))
let index = CredentialIndex()
index.reserve(devices: devices)
var lines: [[UInt8]] = []
lines.reserveCapacity(devices)
var changes: [CredentialIndex.Change] = []
for i in 0..<devices {
    let address = "user\(i)@bench.example"
    let password = DevicePassword.generate()
    changes.append(.addDevice(PasswordDigest(password: Array(password.utf8), key: key), DeviceCredential(deviceID: Int64(i + 1), address: address)))
    var line = AuthClientCodec.plain(id: UInt32(i % 1000 + 1), service: "smtp", login: address, password: Array(password.utf8), remoteIP: "127.0.0.1")
    line.removeLast()  // LF
    lines.append(line)
}
index.apply(changes)
let pool = NIOThreadPool(numberOfThreads: 1)
pool.start()
let check = PasswordCheck(key: key, index: index, lastUse: LastUseRecorder(), threadPool: pool)
let loop = MultiThreadedEventLoopGroup.singleton.next()

var connection = AuthServerConnection()
_ = connection.receive(line: Array("VERSION\t1\t2".utf8)[...])
_ = connection.receive(line: Array("CPID\t1".utf8)[...])
var out: [UInt8] = []
var ok = 0
let started = ContinuousClock.now
for n in 0..<checks {
    guard case let .check(attempt) = connection.receive(line: lines[n % devices][...]) else { fatalError("not a check") }
    let request = CheckRequest(login: attempt.login, password: attempt.password, service: attempt.service, remoteIP: attempt.remoteIP)
    guard case let .now(result) = check.check(request, on: loop), case let .ok(user, _) = result else { fatalError("not OK") }
    _ = connection.finish(id: attempt.id)
    AuthServerReply.ok(id: attempt.id, user: user).encode(into: &out)
    if out.count > 60_000 { out.removeAll(keepingCapacity: true) }
    ok += 1
}
let elapsed = ContinuousClock.now - started
let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
print(String(format: "hotpath devices=%d checks=%d ns_per_check=%.0f checks_per_core_second=%.0f", devices, ok, ns / Double(ok), Double(ok) / (ns / 1e9)))
