/// A binary min-heap of timer deadlines.
///
/// Removal is lazy: ``IOLoop/removeTimeout(_:)`` forgets the callback and the
/// entry is dropped when it reaches the top, which keeps removal O(1).
struct TimerHeap {
    struct Entry {
        var deadline: UInt64
        var id: UInt64  // also the tie-breaker: timers with equal deadlines fire in creation order
    }

    private var entries: [Entry] = []

    var isEmpty: Bool { entries.isEmpty }
    var first: Entry? { entries.first }

    mutating func insert(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeFirst() -> Entry? {
        guard !entries.isEmpty else { return nil }
        let top = entries[0]
        let last = entries.removeLast()
        guard !entries.isEmpty else { return top }
        entries[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count && Self.less(entries[left], entries[smallest]) { smallest = left }
            if right < entries.count && Self.less(entries[right], entries[smallest]) { smallest = right }
            if smallest == parent { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }

    var count: Int { entries.count }

    /// Drops the entries `shouldRemove` picks and restores the heap order (a sorted array is a heap).
    mutating func removeAll(where shouldRemove: (Entry) -> Bool) {
        entries.removeAll(where: shouldRemove)
        entries.sort(by: Self.less)
    }

    private static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.id < b.id
    }
}
