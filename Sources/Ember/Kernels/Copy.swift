// Memory movement for shape operations. These work on raw bytes (elements of 1, 2, 4 or 8 bytes:
// Bool, Float, Double, Int), so they run at full speed from generic code without being specialised
// per element type.

/// Copies `count` blocks of `blockBytes` from `src` (blocks `srcStride` bytes apart) to `dst`
/// (blocks `dstStride` bytes apart).
func copyBlocks(from src: UnsafeRawPointer, srcStride: Int, to dst: UnsafeMutableRawPointer,
                dstStride: Int, blockBytes: Int, count: Int) {
    guard blockBytes > 0 else { return }
    for i in 0..<count {
        (dst + i * dstStride).copyMemory(from: src + i * srcStride, byteCount: blockBytes)
    }
}

/// Writes the permutation of a row-major array: `dst` has shape `shape[perm[0]], shape[perm[1]], ...`
/// and element `(i0, i1, ...)` of `dst` is element `i_k` along axis `perm[k]` of `src`.
func permuteCopy(from src: UnsafeRawPointer, to dst: UnsafeMutableRawPointer, elementSize: Int,
                 shape: [Int], perm: [Int]) {
    let rank = shape.count
    let total = shape.reduce(1, *)
    guard total > 0 else { return }
    if rank == 3 && perm == [1, 0, 2] {
        // The first two axes swapped (batch-first to time-major and back): rows of shape[2] values
        // copied in a plain loop, not by the general walk below, which calls memmove per row (slow
        // for rows of 28 values; BENCHMARKS.md).
        func swapped<T>(_: T.Type) {
            let s = src.assumingMemoryBound(to: T.self), d = dst.assumingMemoryBound(to: T.self)
            let (a, b, c) = (shape[0], shape[1], shape[2])
            for j in 0..<b {
                for i in 0..<a {
                    let from = s + (i &* b &+ j) &* c, to = d + (j &* a &+ i) &* c
                    for k in 0..<c { to[k] = from[k] }
                }
            }
        }
        switch elementSize {
        case 4: return swapped(UInt32.self)
        case 8: return swapped(UInt64.self)
        case 1: return swapped(UInt8.self)
        default: break
        }
    }
    var strides = [Int](repeating: 1, count: rank)
    for i in stride(from: rank - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * shape[i + 1] }
    let outShape = perm.map { shape[$0] }
    let outStrides = perm.map { strides[$0] }          // source stride of each output axis
    let inner = outShape[rank - 1], innerStride = outStrides[rank - 1]
    var index = [Int](repeating: 0, count: rank - 1)
    var srcOffset = 0, dstOffset = 0
    func gather<T>(_ type: T.Type) {
        let s = src.assumingMemoryBound(to: T.self), d = dst.assumingMemoryBound(to: T.self)
        while true {
            if innerStride == 1 {
                (d + dstOffset).update(from: s + srcOffset, count: inner)
            } else {
                for j in 0..<inner { d[dstOffset + j] = s[srcOffset + j * innerStride] }
            }
            dstOffset += inner
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                srcOffset += outStrides[axis]
                if index[axis] < outShape[axis] { break }
                srcOffset -= outStrides[axis] * outShape[axis]
                index[axis] = 0
                axis -= 1
            }
            if axis < 0 { return }
        }
    }
    switch elementSize {
    case 4: gather(UInt32.self)
    case 8: gather(UInt64.self)
    case 1: gather(UInt8.self)
    case 2: gather(UInt16.self)
    default: requireFailure("permuteCopy: unsupported element size \(elementSize)")
    }
}
