/// A first-in first-out queue (shared with the client modules of this package) on an array with a moving head, so popping is O(1)
/// and the storage is reused.
package struct FIFO<Element> {
    private var items: [Element] = []
    private var head = 0

    package init() {}

    package var isEmpty: Bool { head == items.count }
    package var count: Int { items.count - head }

    /// The queued elements, first to last.
    package var elements: ArraySlice<Element> { items[head...] }
    package var first: Element? { isEmpty ? nil : items[head] }

    package mutating func append(_ element: Element) {
        items.append(element)
    }

    package mutating func popFirst() -> Element? {
        guard head < items.count else { return nil }
        let element = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return element
    }
}
