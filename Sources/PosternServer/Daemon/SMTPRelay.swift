#if canImport(Glibc)
import Glibc
#endif
import PosternProtocols

/// Hands one message to an SMTP relay (no TLS, no AUTH: a relay on loopback or the local
/// network that trusts posternd, such as Postfix with `mynetworks`). Blocking, with a timeout on
/// every read and write: run it on a thread pool.
struct SMTPRelay: Sendable, Equatable {
    var host: String
    var port: Int
    var timeoutSeconds = 30

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func send(from: String, to: String, message: String, helo: String) throws(Failure) {
        let fd = try connect()
        defer { close(fd) }
        var reader = LineReader(fd: fd)
        func expect(_ what: String, _ ok: (Int) -> Bool) throws(Failure) {
            var partial: [String] = []
            while true {
                guard let line = reader.line() else { throw Failure(description: "the relay closed the connection \(what)") }
                let reply: SMTPClientCodec.Reply?
                do { reply = try SMTPClientCodec.decode(line, into: &partial) } catch {
                    throw Failure(description: "the relay answered \(what) with something that is not SMTP (\(error))")
                }
                guard let reply else { continue }
                guard ok(reply.code) else { throw Failure(description: "the relay refused \(what): \(reply.code) \(reply.lines.last ?? "")") }
                return
            }
        }
        func say(_ bytes: [UInt8]?) throws(Failure) {
            guard let bytes else { throw Failure(description: "an address holds a line break") }
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { throw Failure(description: "cannot write to the relay: \(String(cString: strerror(errno)))") }
                sent += n
            }
        }
        try expect("its greeting") { $0 == 220 }
        try say(SMTPClientCodec.command("EHLO", helo))
        try expect("EHLO") { $0 == 250 }
        try say(SMTPClientCodec.command("MAIL", "FROM:<\(from)>"))
        try expect("the sender") { $0 == 250 }
        try say(SMTPClientCodec.command("RCPT", "TO:<\(to)>"))
        try expect("the recipient") { $0 == 250 || $0 == 251 }
        try say(SMTPClientCodec.command("DATA"))
        try expect("DATA") { $0 == 354 }
        try say(SMTPClientCodec.data(message))
        try expect("the message") { $0 == 250 }
        try? say(SMTPClientCodec.command("QUIT"))
    }

    private func connect() throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw Failure(description: "cannot resolve the relay \(host)")
        }
        defer { freeaddrinfo(list) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        var lastError = "no address"
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            var limit = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            lastError = String(cString: strerror(errno))
            close(fd)
        }
        throw Failure(description: "cannot connect to the relay \(host):\(port): \(lastError)")
    }

    /// Lines of at most 4 KiB, CRLF or LF ended; nil at the end or on a timeout.
    private struct LineReader {
        let fd: Int32
        var buffer: [UInt8] = []

        mutating func line() -> String? {
            while true {
                if let newline = buffer.firstIndex(of: 10) {
                    var line = Array(buffer[..<newline])
                    buffer.removeFirst(newline + 1)
                    if line.last == 13 { line.removeLast() }
                    return String(decoding: line, as: UTF8.self)
                }
                guard buffer.count < 4096 else { return nil }
                var chunk = [UInt8](repeating: 0, count: 1024)
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { return nil }
                buffer.append(contentsOf: chunk[..<n])
            }
        }
    }
}
