/// A first-in first-out queue on an array with a moving head, so popping is O(1) and the storage
/// is reused. Shared with the client modules of this package, inlinable so they specialise it.
@usableFromInline
package struct FIFO<Element> {
    @usableFromInline var items: [Element] = []
    @usableFromInline var head = 0

    @inlinable package init() {}

    @inlinable package var isEmpty: Bool { head == items.count }
    @inlinable package var count: Int { items.count - head }

    /// The queued elements, first to last.
    @inlinable package var elements: ArraySlice<Element> { items[head...] }
    @inlinable package var first: Element? { isEmpty ? nil : items[head] }

    @inlinable package mutating func append(_ element: Element) {
        items.append(element)
    }

    @inlinable package mutating func popFirst() -> Element? {
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
