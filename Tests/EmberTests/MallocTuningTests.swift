import CEmberKernels
import Foundation
import Testing

#if canImport(Glibc)
import Glibc

/// Ember sets glibc's malloc thresholds when it loads (malloc_tuning.c), so that the buffers a
/// training step frees stay mapped for the next step instead of going back to the system and
/// faulting in again.
@Suite struct MallocTuningTests {
    static let overrides = ["EMBER_MALLOC_DEFAULTS", "GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_",
                            "MALLOC_TOP_PAD_"]
    static var overridden: Bool { overrides.contains { ProcessInfo.processInfo.environment[$0] != nil } }

    /// The thresholds were set, unless the environment sets its own.
    @Test func thresholdsAreSetAtLoad() {
        #expect(ember_malloc_tuned() == (Self.overridden ? 0 : 1))
    }

    /// In a process of its own (nothing else allocating): an 8 MiB block, freed and allocated again,
    /// comes back without page faults. With glibc's defaults the first is a mapping of its own,
    /// returned to the system when freed, and the second grows the heap: 2,048 pages fault in.
    @Test(.enabled(if: !overridden)) func freedMemoryStaysMapped() async {
        await #expect(processExitsWith: .success) {
            func minorFaults() -> Int {
                var usage = rusage()
                getrusage(__rusage_who_t(1), &usage)   // RUSAGE_THREAD (Linux; not imported into Swift)
                return usage.ru_minflt
            }
            let size = 8 << 20
            for round in 0..<2 {
                let before = minorFaults()
                guard let block = malloc(size) else { exit(3) }
                memset(block, Int32(round + 1), size)
                free(block)
                if round == 1 && minorFaults() - before > 64 { exit(1) }
            }
        }
    }
}
#endif
