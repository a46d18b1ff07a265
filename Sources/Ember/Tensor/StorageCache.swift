import Synchronization

// MARK: - Reusing the storage of large results

/// Large arrays Ember handed out as results, kept so that their storage can be reused once their
/// owner lets go of them.
///
/// A fresh allocation of many megabytes comes straight from the operating system, which zeroes
/// every page on first touch: evaluating the 10,000 MNIST test images in one batch spent a quarter
/// to a third of its time with the system zeroing the 36 MB output (`ember-bench eval`, perf). An operation that
/// makes such a result takes an array of the same size from here when nobody else references it
/// any more, and its pages are already mapped.
///
/// Only arrays of `minimumBytes` or more are kept, at most `maximumEntries` of them and
/// `maximumBytes` in all, newest first. An array is reused only while the cache holds the sole
/// reference, so a result still in use is never overwritten; a result its owner mutates in place
/// while the cache also references it is copied first (copy-on-write), as any shared array is.
enum StorageCache {
    static let minimumBytes = 8 << 20
    static let maximumEntries = 4
    static let maximumBytes = 512 << 20

    /// The static type the cache gives an array's storage object (an array is one strong reference
    /// to it). Never instantiated and never used for anything but `isKnownUniquelyReferenced`, which
    /// reads only the object's reference count. Not `AnyObject`: in the Swift 6 language mode,
    /// `isKnownUniquelyReferenced` of an `AnyObject` variable answered false for a sole reference
    /// (swiftc 6.3, in Ember's debug and release builds alike), while a class type answers correctly.
    final class Storage {}

    /// One remembered array: its storage object, its element type, element count and size in bytes.
    /// Sendable: the storage is only ever reused by the one thread that finds the cache its sole
    /// owner, under the lock.
    struct Entry: @unchecked Sendable {
        var storage: Storage
        let type: ObjectIdentifier
        let count: Int
        let bytes: Int
    }

    static let entries = Mutex<[Entry]>([])

    /// Whether an array of `S` is one strong reference to its storage object, checked on a live array
    /// once: Swift offers no public test of whether an array's storage is shared, so the cache asks
    /// `isKnownUniquelyReferenced` about the storage object itself, and must find it first. If this
    /// layout ever changes, the cache turns itself off rather than guess.
    static func layoutIsKnown<S: TensorScalar>(_: S.Type) -> Bool {
        guard MemoryLayout<[S]>.size == MemoryLayout<Storage>.size else { return false }
        var probe = [S](repeating: 0, count: 4)
        var object = unsafeBitCast(probe, to: Storage.self)
        let header = UnsafeRawPointer(Unmanaged.passUnretained(object).toOpaque())
        let elements = probe.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) }
        let offset = elements - header
        guard offset > 0 && offset <= 64 else { return false }   // the elements follow the object's header
        // And the uniqueness test answers both ways on it.
        let shared = withExtendedLifetime(probe) { !isKnownUniquelyReferenced(&object) }
        probe = []
        return shared && isKnownUniquelyReferenced(&object)
    }

    static let floatLayoutIsKnown = layoutIsKnown(Float.self)
    static let doubleLayoutIsKnown = layoutIsKnown(Double.self)

    static func enabled<S: TensorScalar>(_: S.Type) -> Bool {
        S.self == Float.self ? floatLayoutIsKnown : S.self == Double.self ? doubleLayoutIsKnown : false
    }

    /// An array of `count` elements whose contents the caller overwrites entirely before reading:
    /// a remembered one nobody else references any more, or else a new one (`uninitializedScalars`).
    /// The caller owns it alone, so writing to it never copies.
    static func take<S: TensorScalar>(_ count: Int) -> [S] {
        if count * MemoryLayout<S>.stride >= minimumBytes && enabled(S.self) {
            let type = ObjectIdentifier(S.self)
            let reused: Entry? = entries.withLock { list in
                for i in list.indices where list[i].type == type && list[i].count == count {
                    if isKnownUniquelyReferenced(&list[i].storage) { return list.remove(at: i) }
                }
                return nil
            }
            if let reused { return unsafeBitCast(reused.storage, to: [S].self) }
        }
        return uninitializedScalars(count)
    }

    /// Remembers `array` (once the caller has finished writing it) so that a later `take` of its size
    /// can reuse its storage after its owners let it go. Small arrays are not kept.
    static func remember<S: TensorScalar>(_ array: [S]) {
        let bytes = array.count * MemoryLayout<S>.stride
        guard bytes >= minimumBytes, bytes <= maximumBytes, enabled(S.self) else { return }
        let entry = Entry(storage: unsafeBitCast(array, to: Storage.self), type: ObjectIdentifier(S.self),
                          count: array.count, bytes: bytes)
        let evicted: [Entry] = entries.withLock { list in
            list.insert(entry, at: 0)
            var kept = 0, total = 0
            while kept < list.count && kept < maximumEntries && total + list[kept].bytes <= maximumBytes {
                total += list[kept].bytes
                kept += 1
            }
            let dropped = Array(list[kept...])
            list.removeSubrange(kept...)
            return dropped
        }
        _ = evicted   // released here, outside the lock
    }

    /// The bytes of storage the cache holds (in use by their owners or not).
    static var bytes: Int { entries.withLock { $0.reduce(0) { $0 + $1.bytes } } }
}

/// Lets go of the storage Ember keeps for reuse: large results (8 MB or more, at most 512 MB in all)
/// are remembered after their owners drop them, so that the next result of the same size reuses
/// their memory pages instead of new ones the system must zero first. Their memory returns to the
/// system once their owners have also let go. Like `torch.cuda.empty_cache()` for PyTorch's caching
/// allocator; nothing else changes.
public func releaseCachedStorage() {
    let dropped = StorageCache.entries.withLock { list -> [StorageCache.Entry] in
        defer { list.removeAll() }
        return list
    }
    _ = dropped
}
