import Dispatch
import Foundation
import Synchronization

// MARK: - Threads

let threadCountSetting = Atomic<Int>(1)

/// How many cores Ember's kernels may use (default 1). Large matrix products are split into blocks
/// of rows or columns of the result across this many threads; each element is computed by the same
/// sequence of operations either way, so results do not depend on the thread count.
public var emberThreadCount: Int {
    get { threadCountSetting.load(ordering: .relaxed) }
    set {
        require(newValue >= 1, "emberThreadCount: expected at least 1, got \(newValue)")
        threadCountSetting.store(newValue, ordering: .relaxed)
    }
}

/// Raw pointers handed to worker threads (each thread writes a disjoint part).
struct SendablePointers<Scalar>: @unchecked Sendable {
    let a: UnsafePointer<Scalar>, b: UnsafePointer<Scalar>, c: UnsafeMutablePointer<Scalar>
}

// MARK: - A low-latency worker pool

/// Persistent worker threads that spin briefly between jobs, so a parallel region costs about a
/// microsecond to start (a dispatch queue's wake-up costs tens), then sleep. One region runs at a
/// time; the calling thread takes part, and runs chunk 0 first: with two threads, a region whose
/// chunks are the same rows as the region before (a recurrent layer's blocks of rows, forward then
/// backward) finds each block's rows where the same core left them. The other chunks are claimed
/// dynamically. Each chunk's work is fixed by its index, so results never depend on which thread ran it.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()
    /// How long an idle worker spins, in nanoseconds, before it sleeps until the next region.
    static let spinBudget: UInt64 = 20_000_000

    private let regionLock = NSLock()
    private var workerCount = 0
    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let chunkCount = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    /// One per worker: whether it sleeps (or is about to), and its own semaphore to wake it. With
    /// one semaphore for all, a worker done with a region that fell asleep again could take the
    /// wake-up meant for one that had not started it yet, leaving the region waiting for that one
    /// forever (seen with more threads than cores under load).
    private var sleepers: [Sleeper] = []
    /// Workers that have finished with the current region; the next region starts only when all have,
    /// so no worker can still be claiming chunks of an old region while the next is set up.
    private let acknowledged = Atomic<Int>(0)
    nonisolated(unsafe) private var body: ((Int) -> Void)?

    /// Marks threads that are running a region's chunks: work they start runs on their own thread
    /// (a nested region would wait for workers that are busy with the outer one).
    private static let insideKey = ThreadLocalKey("the worker pool")

    /// Whether this thread is running a chunk of a parallel region.
    static var isInsideRegion: Bool {
        @inline(__always) get { insideKey.value != nil }
    }

    /// Runs `body(0..<chunks)` on up to `threads` threads (the caller included) and returns when all are done.
    /// Called from inside a chunk, it runs every chunk on the calling thread.
    func run(chunks: Int, threads: Int, _ body: (Int) -> Void) {
        guard chunks > 1, threads > 1, !WorkerPool.isInsideRegion else {
            for i in 0..<chunks { body(i) }
            return
        }
        regionLock.lock()
        defer { regionLock.unlock() }
        while workerCount < threads - 1 { startWorker() }
        // The body only lives for the region: `run` returns after every chunk has finished and the
        // workers have let go of it.
        withoutActuallyEscaping(body) { body in
            self.body = body
            chunkCount.store(chunks, ordering: .sequentiallyConsistent)
            pending.store(chunks, ordering: .sequentiallyConsistent)
            nextChunk.store(1, ordering: .sequentiallyConsistent)
            acknowledged.store(0, ordering: .sequentiallyConsistent)
            generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
            for sleeper in sleepers where sleeper.asleep.exchange(false, ordering: .sequentiallyConsistent) {
                sleeper.wake.signal()
            }
            work(first: 0)
            var spins = 0
            while pending.load(ordering: .acquiring) > 0 || acknowledged.load(ordering: .acquiring) < workerCount {
                spins += 1
                // With more threads than free cores, the workers need this core.
                if spins & 1023 == 0 { sched_yield() } else { spinPause() }
            }
            self.body = nil
        }
    }

    /// Runs chunk `first` when given (the caller's chunk 0, which no worker claims), then claims and
    /// runs chunks until none are left.
    private func work(first: Int? = nil) {
        let wasInside = WorkerPool.isInsideRegion
        WorkerPool.insideKey.value = ThreadLocalKey.set
        defer { if !wasInside { WorkerPool.insideKey.value = nil } }
        if let first {
            body?(first)
            pending.wrappingSubtract(1, ordering: .releasing)
        }
        while true {
            let c = nextChunk.wrappingAdd(1, ordering: .acquiringAndReleasing).oldValue
            guard c < chunkCount.load(ordering: .acquiring) else { return }
            body?(c)
            pending.wrappingSubtract(1, ordering: .releasing)
        }
    }

    private func startWorker() {
        workerCount += 1
        // Read before the thread starts, so a region begun meanwhile is not missed.
        let startGeneration = generation.load(ordering: .acquiring)
        let sleeper = Sleeper()
        sleepers.append(sleeper)
        let thread = Thread { [self] in
            var seen = startGeneration
            while true {
                // Spin for up to `spinBudget` after a region before sleeping: a training loop starts
                // its next region within milliseconds, and a core woken from sleep runs the first
                // milliseconds of its chunk slowly (BENCHMARKS.md).
                var spins = 0
                var idleSince: UInt64 = 0
                while generation.load(ordering: .acquiring) == seen {
                    spins += 1
                    if spins & 1023 != 0 { spinPause(); continue }
                    let now = DispatchTime.now().uptimeNanoseconds
                    if idleSince == 0 { idleSince = now }
                    // Let any other thread waiting for this core run (the spin must never stand
                    // between the caller and a core).
                    if now - idleSince < WorkerPool.spinBudget { sched_yield(); continue }
                    sleeper.asleep.store(true, ordering: .sequentiallyConsistent)
                    if generation.load(ordering: .sequentiallyConsistent) == seen {
                        sleeper.wake.wait()   // the caller cleared `asleep` when it signalled
                    } else if !sleeper.asleep.exchange(false, ordering: .sequentiallyConsistent) {
                        sleeper.wake.wait()   // a caller cleared it and signals: take that signal
                    }
                    idleSince = 0
                }
                seen = generation.load(ordering: .acquiring)
                work()
                acknowledged.wrappingAdd(1, ordering: .releasing)
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// A worker's sleeping flag and wake-up (see `WorkerPool.sleepers`): the worker sets `asleep` before
/// it checks for a new region and sleeps; a caller starting a region signals each worker whose flag
/// it clears, so every signal is taken by the worker it was meant for.
final class Sleeper: Sendable {
    let asleep = Atomic<Bool>(false)
    let wake = DispatchSemaphore(value: 0)
}

@inline(__always) func spinPause() {
    #if arch(x86_64)
    _mm_pause_shim()
    #endif
}

#if arch(x86_64)
@inline(__always) func _mm_pause_shim() {
    // A short busy-wait hint; cheaper than a syscall and kind to the sibling core.
    for _ in 0..<4 { _ = threadCountSetting.load(ordering: .relaxed) }
}
#endif

extension GEMM {
    /// Products below this many multiply-adds run on one thread: splitting costs more than it saves.
    static let parallelThreshold = 1 << 18
}
