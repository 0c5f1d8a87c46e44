import Foundation

/// The names people give to organizations, mail services and devices: printable text, shown in
/// terminals and pages as typed, so nothing in it may rewrite what is around it.
public enum Names {
    /// A name as stored: trimmed, 1 to `max` characters, without control or format characters
    /// (NUL, ESC, BEL, bidi overrides, zero-width joiners and spaces, line separators), not
    /// starting with `#` (which marks an id) and not only digits (which would read as an id).
    public static func validate(_ raw: String, what: String, max: Int = 128) throws(PosternError) -> String {
        let name = raw.trimmingSpaces()
        guard !name.isEmpty, name.count <= max else {
            throw PosternError(.invalidName, "\(what) must be 1 to \(max) characters")
        }
        if let bad = name.unicodeScalars.first(where: isForbidden) {
            throw PosternError(.invalidName,
                               "\(what) may not hold control or invisible formatting characters (found U+\(String(bad.value, radix: 16, uppercase: true)))")
        }
        guard !name.hasPrefix("#"), !name.allSatisfy(\.isNumber) else {
            throw PosternError(.invalidName, "\(what) may not start with # or be only digits: those refer to ids")
        }
        return name
    }

    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: true
        default: false
        }
    }

    /// How two names compare for "is this the same name?": case and compatibility forms folded,
    /// so that "GENERIC PASSWORD" or its full-width twin cannot pass for the generic password.
    public static func folded(_ name: String) -> String {
        name.precomposedStringWithCompatibilityMapping.lowercased()
    }
}
