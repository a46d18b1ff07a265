#if os(Linux)
import Glibc
#endif

// MARK: - Buffers for the kernels

/// An array whose every element the caller overwrites before reading (trivial scalar types only).
/// Arrays of 8 MB or more ask the kernel for 2 MB pages (where transparent huge pages are on
/// request), so filling them costs a few page faults rather than one per 4 KB.
@inline(__always)
func uninitializedScalars<Scalar: TensorScalar>(_ count: Int) -> [Scalar] {
    [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
        if let base = buffer.baseAddress { adviseHugePages(base, bytes: count * MemoryLayout<Scalar>.stride) }
        initialized = count
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
