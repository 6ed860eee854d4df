/// Re-cuts a stream of whole-row pieces (`Model.stream`) into pieces of exactly `rows` rows, the
/// last one fewer: a consumer that works on fixed groups of rows (chunks, heads) gets them whatever
/// its producer's piece size. Pieces already of the right size pass through; only rows that
/// straddle a boundary are copied.
public final class RowRegrouper {
    public let rowBytes: Int
    public let rows: Int
    private let carry: UnsafeMutableRawBufferPointer
    private var carried = 0

    public init(rowBytes: Int, rows: Int) {
        self.rowBytes = max(rowBytes, 1)
        self.rows = max(rows, 1)
        carry = .allocate(byteCount: self.rowBytes * self.rows, alignment: 64)
    }

    deinit { carry.deallocate() }

    public func add(_ piece: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let size = carry.count
        var rest = piece[...]
        if carried > 0 {
            let n = min(size - carried, rest.count)
            UnsafeMutableRawBufferPointer(rebasing: carry[carried..<carried + n]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest.prefix(n)))
            carried += n
            rest = rest.dropFirst(n)
            guard carried == size else { return }
            carried = 0
            try sink(UnsafeRawBufferPointer(carry))
        }
        while rest.count >= size {
            try sink(UnsafeRawBufferPointer(rebasing: rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        if !rest.isEmpty {
            UnsafeMutableRawBufferPointer(rebasing: carry[0..<rest.count]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest))
            carried = rest.count
        }
    }

    /// Hands over the rows still held (fewer than `rows`).
    public func finish(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard carried > 0 else { return }
        let n = carried
        carried = 0
        try sink(UnsafeRawBufferPointer(rebasing: carry[0..<n]))
    }
}
