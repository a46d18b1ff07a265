#if os(Linux)
import Glibc
#endif

// MARK: - Buffers for the kernels

/// An array whose every element the caller overwrites before reading (trivial scalar types only).
/// Arrays of 8 MB or more ask the kernel for 2 MB pages (where transparent huge pages are on
/// request), so filling them costs a few page faults rather than one per 4 KB.
@inline(__always)
func uninitializedScalars<Scalar: TensorScalar>(_ count: Int) -> [Scalar] {
    initializedArray(count: count) { base, count in adviseHugePages(base, bytes: count * MemoryLayout<Scalar>.stride) }
}

/// An array of `count` elements that `body` initialises (every one of them), given the start of the
/// storage and `count`; `body` is not called when `count` is 0. Trivial element types only (numbers,
/// `Bool`), whose storage may be handed out before it is written.
///
/// Faster than `Array(unsafeUninitializedCapacity:initializingWith:)` for small arrays: the standard
/// library allocates that one (and `Array(repeating:count:)`) in an unspecialised function that looks
/// up `_ContiguousArrayStorage<Element>`'s metadata in the runtime's locked cache on every call,
/// about 380 of a one-element array's 815 instructions (callgrind, swiftc 6.3), while an array
/// built from a collection is allocated in specialised code.
@inline(__always)
func initializedArray<Element>(count: Int, _ body: (UnsafeMutablePointer<Element>, Int) -> Void) -> [Element] {
    guard count > 0 else { return [] }
    var array = Array(UninitializedElements<Element>(count: count))
    array.withUnsafeMutableBufferPointer { body($0.baseAddress!, count) }
    return array
}

/// `count` copies of `value`. Arrays of 64 K elements or more are filled on all of
/// `emberThreadCount`'s threads, a share each: a training step's zero gradient of a recurrent
/// layer's whole output (`select`'s backward, [64, 28, 128] for LSTM-128) took a core about 80 µs
/// to fill while the other waited (BENCHMARKS.md).
func filledArray<Element>(_ value: Element, count: Int) -> [Element] {
    guard count >= 1 << 16, _isPOD(Element.self), emberThreadCount > 1 else { return [Element](repeating: value, count: count) }
    return initializedArray(count: count) { base, count in
        let parts = Swift.min(emberThreadCount, count >> 15)
        WorkerPool.shared.run(chunks: parts, threads: parts) { part in
            let start = count * part / parts
            (base + start).initialize(repeating: value, count: count * (part + 1) / parts - start)
        }
    }
}

/// `count` elements that exist only as storage to be written: `_copyContents`, the standard library's
/// hook for initialising an array from a collection in bulk, leaves the new storage as it is (see
/// `initializedArray`, which writes it next). Its elements cannot be read one by one.
struct UninitializedElements<Element>: RandomAccessCollection {
    let count: Int

    init(count: Int) {
        require(_isPOD(Element.self), "UninitializedElements: \(Element.self) is not a trivial type")
        self.count = count
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }
    subscript(position: Int) -> Element {
        requireFailure("UninitializedElements: its elements exist only once written into an array")
    }

    func _copyContents(initializing buffer: UnsafeMutableBufferPointer<Element>) -> (IndexingIterator<Self>, Int) {
        require(buffer.count >= count, "UninitializedElements: expected room for \(count) elements, got \(buffer.count)")
        return (IndexingIterator(_elements: self, _position: count), count)
    }
}

/// Asks the kernel for 2 MB pages for the whole 2 MB pages within `bytes` from `base`, when there
/// are 8 MB or more (where transparent huge pages are on request; nothing elsewhere).
@inline(__always)
func adviseHugePages(_ base: UnsafeMutableRawPointer, bytes: Int) {
    #if os(Linux)
    if bytes >= 8 << 20 {
        let huge = 2 << 20
        let start = (Int(bitPattern: base) + huge - 1) / huge * huge
        let end = (Int(bitPattern: base) + bytes) / huge * huge
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) }
    }
    #endif
}

/// A pointer to a generic scalar known to be Float, for the C kernels.
@inline(__always) func float<Scalar>(_ p: UnsafePointer<Scalar>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always) func float<Scalar>(_ p: UnsafeMutablePointer<Scalar>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}
