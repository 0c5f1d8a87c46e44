/// One page of a list, asked for by keyset: at most `limit` items after (or before) a cursor,
/// the cursor being the key of the last item seen (an address, a login, an id). A page costs the
/// same wherever it is in the list and whatever the list's size: no offset is counted through.
public struct PageRequest: Sendable, Equatable {
    public static let defaultLimit = 50
    public static let maxLimit = 500

    public let limit: Int
    /// The items whose key comes after this one (the "next" of the page before).
    public let after: String?
    /// The items whose key comes before this one (a "previous" link); `after` wins when both are given.
    public let before: String?
    /// Only the items whose key (an address, a login, a name) begins with this, case ignored.
    public let search: String?

    public init(limit: Int = PageRequest.defaultLimit, after: String? = nil, before: String? = nil, search: String? = nil) throws(PosternError) {
        guard (1...Self.maxLimit).contains(limit) else {
            throw PosternError(.invalidLimit, "limit must be between 1 and \(Self.maxLimit) (default \(Self.defaultLimit)); follow `next` for more")
        }
        for (name, cursor) in [("after", after), ("before", before)] {
            if let cursor, cursor.isEmpty || cursor.utf8.count > 512 || cursor.contains(where: \.isNewline) {
                throw PosternError(.invalidCursor, "\(name) must be the `next` of an earlier page (1 to 512 characters, one line)")
            }
        }
        self.limit = limit
        self.after = after
        self.before = after == nil ? before : nil
        let search = search?.trimmingCharacters(in: .whitespaces)
        self.search = search.flatMap { $0.isEmpty ? nil : String($0.prefix(254)) }
    }

    /// The first page of `limit` items (clamped to 1…500).
    public static func first(_ limit: Int = PageRequest.defaultLimit) -> PageRequest {
        PageRequest(checkedLimit: max(1, min(limit, maxLimit)))
    }

    private init(checkedLimit: Int) {
        limit = checkedLimit
        after = nil
        before = nil
        search = nil
    }

    /// The request's query parameters: `limit`, `after`, `before`, `q` (as in the API).
    public init(query: [String: String]) throws(PosternError) {
        var limit = Self.defaultLimit
        if let text = query["limit"] {
            guard let n = Int(text) else { throw PosternError(.invalidLimit, "limit must be a number between 1 and \(Self.maxLimit)") }
            limit = n
        }
        try self.init(limit: limit, after: query["after"], before: query["before"], search: query["q"])
    }
}

/// A page of a list: its items in the list's order, and the cursors around them.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Pass as `after` for the items that follow; nil on the last page.
    public var next: String?
    /// Pass as `before` for the items that come before; nil on the first page.
    public var previous: String?

    public init(items: [Item], next: String? = nil, previous: String? = nil) {
        self.items = items
        self.next = next
        self.previous = previous
    }

    /// A page made of up to `limit + 1` rows read in the direction the request asks: the extra row
    /// says there is more that way. `key` gives an item's cursor.
    public init(rows: [Item], request: PageRequest, key: (Item) -> String) {
        if request.before != nil {
            // Read backwards from `before`: nearest first.
            let more = rows.count > request.limit
            items = Array(rows.prefix(request.limit).reversed())
            previous = more ? items.first.map(key) : nil
            next = items.last.map(key)
        } else {
            let more = rows.count > request.limit
            items = Array(rows.prefix(request.limit))
            next = more ? items.last.map(key) : nil
            previous = request.after != nil ? items.first.map(key) : nil
        }
    }

    /// The same page of other items (the cursors stay).
    public func mapItems<T: Sendable>(_ transform: (Item) throws -> T) rethrows -> Page<T> {
        Page<T>(items: try items.map(transform), next: next, previous: previous)
    }

    /// The same, for a transform that reads the store.
    public func mapItems<T: Sendable>(_ transform: (Item) async throws -> T) async rethrows -> Page<T> {
        Page<T>(items: try await items.mapInOrder(transform), next: next, previous: previous)
    }
}

/// A page is the collection of its items.
extension Page: RandomAccessCollection {
    public var startIndex: Int { items.startIndex }
    public var endIndex: Int { items.endIndex }
    public subscript(position: Int) -> Item { items[position] }
}
