#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Thread-local values

/// One pointer-sized value per thread, `nil` on a thread that never set it: the worker pool's
/// "inside a region" flag, grad mode and anomaly detection each keep theirs in one. (Swift has no
/// thread-local storage of its own on Linux; POSIX keys cost one call to read.)
struct ThreadLocalKey: @unchecked Sendable {
    private let key: pthread_key_t

    /// A new key; `purpose` names it in the message if the system has no keys left.
    init(_ purpose: String) {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        require(status == 0, "Ember: could not create the thread-local key for \(purpose) (\(status))")
        self.key = key
    }

    /// This thread's value.
    var value: UnsafeMutableRawPointer? {
        @inline(__always) get { pthread_getspecific(key) }
        nonmutating set { pthread_setspecific(key, newValue) }
    }

    /// A non-nil value that points to nothing, for flags.
    static var set: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: 1)! }
}
