/// `map`, `filter` and `compactMap` for transforms that await (a store read per element), one
/// element after the other in the sequence's order.
extension Sequence {
    public func mapInOrder<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var all: [T] = []
        all.reserveCapacity(underestimatedCount)
        for element in self { all.append(try await transform(element)) }
        return all
    }

    public func compactMapInOrder<T>(_ transform: (Element) async throws -> T?) async rethrows -> [T] {
        var all: [T] = []
        for element in self { if let value = try await transform(element) { all.append(value) } }
        return all
    }

    public func filterInOrder(_ isIncluded: (Element) async throws -> Bool) async rethrows -> [Element] {
        var all: [Element] = []
        for element in self where try await isIncluded(element) { all.append(element) }
        return all
    }
}
