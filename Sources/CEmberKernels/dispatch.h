// One way to run a kernel at a level: the requested level, clamped to what this CPU can run, picks
// the portable, AVX2 or AVX-512 instantiation. Off x86-64 only the portable one exists. (Internal to
// the C kernels; not part of the module's header.)
#ifndef EMBER_DISPATCH_H
#define EMBER_DISPATCH_H
#include "CEmberKernels.h"

/// `requested` clamped to [portable, the CPU's best level].
ember_kernel_level ember_kernel_usable_level(ember_kernel_level requested);

#if defined(__x86_64__)
#define EMBER_DISPATCH(level, PORTABLE_CALL, AVX2_CALL, AVX512_CALL)                                 \
    do {                                                                                            \
        switch (ember_kernel_usable_level(level)) {                                                 \
        case EMBER_KERNEL_AVX512: AVX512_CALL; break;                                               \
        case EMBER_KERNEL_AVX2: AVX2_CALL; break;                                                   \
        default: PORTABLE_CALL; break;                                                              \
        }                                                                                           \
    } while (0)
#else
#define EMBER_DISPATCH(level, PORTABLE_CALL, AVX2_CALL, AVX512_CALL)                                 \
    do { (void)(level); PORTABLE_CALL; } while (0)
#endif

#endif
