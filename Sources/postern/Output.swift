import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum ProcessInfoShim {
    static func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
}

/// A failure the CLI reports: the API's error, or its own (cannot reach the socket, bad input).
struct CLIError: Error {
    let code: String
    let message: String
}

enum Output {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    static func printJSON(_ data: Data) {
        // Re-indent the server's JSON so --json output is stable and readable.
        if let object = try? JSONSerialization.jsonObject(with: data),
           let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]) {
            standardOutput(pretty + Data("\n".utf8))
        } else {
            standardOutput(data + Data("\n".utf8))
        }
    }

    /// Writes to standard output. A reader that went away (`postern … --json | head`) ends the
    /// command quietly with status 0, as Unix tools do, instead of a crash on EPIPE.
    static func standardOutput(_ data: Data) {
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written >= 0 { offset += written; continue }
                if errno == EINTR || errno == EAGAIN { continue }
                if errno == EPIPE { exit(0) }
                FileHandle.standardError.write(Data("postern: cannot write to standard output: \(String(cString: strerror(errno)))\n".utf8))
                exit(1)
            }
        }
    }

    static func printJSON<T: Encodable>(_ value: T) {
        printJSON((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    static func fail(_ error: CLIError, json: Bool) -> ExitCode {
        if json {
            printJSON(["error": ["code": error.code, "message": error.message]])
        } else {
            FileHandle.standardError.write(Data("postern: \(error.message)\n".utf8))
        }
        return ExitCode(1)
    }

    static func date(_ date: Date?) -> String {
        guard let date else { return "-" }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: date)
    }

    /// Left-aligned columns.
    static func table(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        for row in all {
            let line = row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            print(line.joined(separator: "  "))
        }
    }
}
