// glibc's malloc, tuned once when the library loads so that a training step's buffers stay mapped
// from one step to the next.
//
// By default glibc returns the free memory at the top of its heap to the system as soon as it
// exceeds a threshold that it adjusts as the program runs (`M_TRIM_THRESHOLD`, starting at 128 KiB),
// and serves blocks of 128 KiB or more (`M_MMAP_THRESHOLD`, also adjusted) with fresh mappings. A
// training step allocates and frees the same few hundred KiB to a few MiB every step, so the heap
// shrank and grew again several times per step: each growth is a brk system call, then a page fault
// and a zeroed page for every 4 KiB touched. On the Zen 4 VM of BENCHMARKS.md, RNN-32 training on two
// threads made 4 brk calls per step and ran at 0.50-0.73 ms per step instead of 0.21 (`ember-bench
// steps --cell rnn --hidden 32 --threads 2`; `strace -c -f` counts the calls); with the thresholds
// fixed high, as `MALLOC_TRIM_THRESHOLD_` and `MALLOC_TOP_PAD_` in the environment set them, 0.21.
//
// The setting keeps up to `trimThreshold` of freed memory at the top of the heap (it is reused by
// the next allocations, not lost) and maps blocks of `mmapThreshold` or more on their own. A program
// that sets either threshold itself, through `MALLOC_*_` variables or `GLIBC_TUNABLES`, keeps its own.
#include "CEmberKernels.h"
#include <stdlib.h>   // defines __GLIBC__ with glibc

static int tuned = 0;

int ember_malloc_tuned(void) { return tuned; }

#if defined(__GLIBC__)
#include <malloc.h>

static const int trimThreshold = 128 << 20;
static const int mmapThreshold = 32 << 20;   // glibc's largest on 64-bit systems

__attribute__((constructor)) static void ember_tune_malloc(void) {
    if (getenv("EMBER_MALLOC_DEFAULTS") || getenv("GLIBC_TUNABLES") || getenv("MALLOC_TRIM_THRESHOLD_") ||
        getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TOP_PAD_"))
        return;
    // mallopt answers 1 when it took the value.
    tuned = mallopt(M_MMAP_THRESHOLD, mmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, trimThreshold) == 1;
}
#endif
