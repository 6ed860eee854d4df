#if arch(x86_64) && !PortableKernels
import LLMQCore

/// Y_i = X·W_iᵀ over whole tiles: the tiles of all N matrices form one index space that threads
/// take contiguous chunks of.
struct QuantizedProduct<let N: Int> {
    let w: InlineArray<N, WeightMatrix>
    let x: QuantizedActivations
    let count: Int
    let y: InlineArray<N, UnsafeMutablePointer<Float>>
    let pool: ThreadPool
    let kernels: MatVec.Kernels

    /// Rows per unit of the work split.
    static var rowsPerTile: Int { 4 }

    func run(_ rows: QuantizedRows) {
        let tile = Self.rowsPerTile
        var tiles = InlineArray<N, Int>(repeating: 0)
        for i in 0..<N { tiles[i] = (w[i].rows + tile - 1) / tile }
        let w = w, x = x, count = count, y = y, kernels = kernels
        // Integer kernels run at several elements per nanosecond: hand a thread ≥ 128K of them.
        let grain = max(1, 131_072 / max(tile * w[0].cols * count, 1))
        pool.parallelFor(MatVec.total(tiles), grain: grain) { range in
            MatVec.segments(tiles, range) { i, local in
                rows(w[i], local.lowerBound * tile..<min(w[i].rows, local.upperBound * tile), x, count, y[i], kernels)
            }
        }
    }
}

extension BlockKernel {
    static func rows<G: GroupSize>(_: G.Type) -> QuantizedRows {
        { w, rows, x, count, y, level in QuantizedRowKernel<Self, G>.rows(w, rows, x, count: count, y, level) }
    }
}

/// The rows of one matrix for one block type and group size. One input goes through
/// `VNNIDecode` at the `avx512vnni` level where the type has such a kernel, otherwise row by row
/// or in pairs (`decode`); a batch goes in groups of eight interleaved rows (`InterleavedTile`), and the
/// few rows left at the end of a thread's chunk two at a time over panels of inputs that stay
/// in cache.
enum QuantizedRowKernel<K: BlockKernel, G: GroupSize> {
    /// Inputs per panel: 64 vectors of a few KiB of int8 quants each stay in L2.
    static var panel: Int { 64 }

    /// Rows `rows` of one matrix, for every input.
    static func rows(_ w: WeightMatrix, _ rows: Range<Int>, _ x: QuantizedActivations, count: Int, _ y: UnsafeMutablePointer<Float>,
                     _ level: MatVec.Kernels) {
        if count == 1 {
            if level == .avx512vnni && VNNIDecode<K, G>.multiply(w, rows: rows, x, y) { return }
            return decode(w, rows: rows, x, y)
        }
        var first = rows.lowerBound
        let end = rows.upperBound
        if end - first >= InterleavedTile<K, G>.rows {
            first = interleaved(w, rows: first..<end, x, count: count, y, vnni: level == .avx512vnni)
        }
        var t0 = 0
        while t0 < count {
            let t1 = min(count, t0 + panel)
            var r = first
            while r + 2 <= end {
                inputs(QuantizedTile<2, 4>.self, QuantizedTile<2, 2>.self, QuantizedTile<2, 1>.self, w, r, x, t0..<t1, y)
                r += 2
            }
            if r < end {
                inputs(QuantizedTile<1, 4>.self, QuantizedTile<1, 2>.self, QuantizedTile<1, 1>.self, w, r, x, t0..<t1, y)
            }
            t0 = t1
        }
    }

    /// Groups of eight rows through `InterleavedTile` — with `vnni`, of sixteen through
    /// `VNNITile` first — each packed once for all the inputs (a few KiB that stay in L1 while
    /// the inputs stream from L2); returns the first row left. Both levels leave the same rows to
    /// the in-place tiles, so their results are identical.
    private static func interleaved(_ w: WeightMatrix, rows: Range<Int>, _ x: QuantizedActivations, count: Int,
                                    _ y: UnsafeMutablePointer<Float>, vnni: Bool) -> Int {
        typealias Tile = InterleavedTile<K, G>
        typealias Wide = VNNITile<K, G>
        let subBlocks = x.blocksPerVector
        let bytes = max(Tile.scratchBytes(subBlocks: subBlocks), vnni ? Wide.scratchBytes(subBlocks: subBlocks) : 0)
        return withUnsafeTemporaryAllocation(byteCount: bytes, alignment: 64) { scratch in
            var r = rows.lowerBound
            while vnni && r + Wide.rows <= rows.upperBound {
                Wide.pack(w, row: r, subBlocks: subBlocks, into: scratch.baseAddress!)
                Wide.multiply(scratch.baseAddress!, subBlocks: subBlocks, x, inputs: 0..<count, y + r, ldy: w.rows)
                r += Wide.rows
            }
            while r + Tile.rows <= rows.upperBound {
                Tile.pack(w, row: r, subBlocks: subBlocks, into: scratch.baseAddress!)
                Tile.multiply(scratch.baseAddress!, subBlocks: subBlocks, x, inputs: 0..<count, y + r, ldy: w.rows)
                r += Tile.rows
            }
            return r
        }
    }

    /// One input: every weight byte is used once, so the speed is how fast rows arrive from memory.
    /// Several interleaved rows (the batched tile's four) defeat the hardware prefetchers, so rows
    /// go one by one (`decodeRows` 1) or, for types with more work per byte, in pairs (one row's
    /// chain of dependent FMAs would limit them) that prefetch eight rows ahead, which the pair's
    /// two streams need (docs/benchmarks.md has the measurements).
    @inline(__always)
    private static func decode(_ w: WeightMatrix, rows: Range<Int>, _ x: QuantizedActivations, _ y: UnsafeMutablePointer<Float>) {
        var r = rows.lowerBound
        if K.decodeRows == 2 {
            while r + 2 <= rows.upperBound {
                QuantizedTile<2, 1>.multiply(K.self, G.self, w.row(r), rowBytes: w.rowBytes, x, first: 0, y + r, ldy: w.rows,
                                             prefetchRows: 8)
                r += 2
            }
        }
        while r < rows.upperBound {
            QuantizedTile<1, 1>.multiply(K.self, G.self, w.row(r), rowBytes: w.rowBytes, x, first: 0, y + r, ldy: w.rows)
            r += 1
        }
    }

    /// One tile of rows at `r` over inputs `range`, four inputs at a time, then two, then one.
    /// Two rows by four inputs keeps eight accumulators in registers and unpacks each weight
    /// sub-block once for four inputs; wider tiles spill.
    @inline(__always)
    private static func inputs<let R: Int>(
        _: QuantizedTile<R, 4>.Type, _: QuantizedTile<R, 2>.Type, _: QuantizedTile<R, 1>.Type,
        _ w: WeightMatrix, _ r: Int, _ x: QuantizedActivations, _ range: Range<Int>, _ y: UnsafeMutablePointer<Float>
    ) {
        var t = range.lowerBound
        while t + 4 <= range.upperBound {
            QuantizedTile<R, 4>.multiply(K.self, G.self, w.row(r), rowBytes: w.rowBytes, x, first: t, y + t * w.rows + r, ldy: w.rows)
            t += 4
        }
        if t + 2 <= range.upperBound {
            QuantizedTile<R, 2>.multiply(K.self, G.self, w.row(r), rowBytes: w.rowBytes, x, first: t, y + t * w.rows + r, ldy: w.rows)
            t += 2
        }
        if t < range.upperBound {
            QuantizedTile<R, 1>.multiply(K.self, G.self, w.row(r), rowBytes: w.rowBytes, x, first: t, y + t * w.rows + r, ldy: w.rows)
        }
    }
}
#endif
