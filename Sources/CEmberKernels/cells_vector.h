// The vector helpers of the recurrent-cell templates (cells_template.h, rnn_sequence_template.h):
// loads and stores of a row's last, partial vector, the bias addition and ReLU, and VROW, which runs
// a body over a row vector by vector. Each includer ends with cells_vector_end.h, which undefines
// them (VLOAD, VSTORE, VROW and the vector type names).
// Parameters: VB (vector bytes), VATTR (function attributes), VNAME(x) (name suffixing), VSCALEF
// (see vmath_functions.h).
#include "vmath_functions.h"
#include <stdint.h>

// The first `w` lanes of p (the rest zero); `w` is VLANES except at a row's end.
static inline VATTR VF VNAME(load)(const float *p, long w) {
    if (w == VLANES) return *(const VFU *)p;
    VF v = {0};
    for (long j = 0; j < w; j++) v[j] = p[j];
    return v;
}

static inline VATTR void VNAME(store)(float *p, VF v, long w) {
    if (w == VLANES) {
        *(VFU *)p = v;
        return;
    }
    for (long j = 0; j < w; j++) p[j] = v[j];
}

// p[j ..< j+w], plus bias[j ..< j+w] when there is a bias: the values a separate pass adding the
// bias row would have left in p. (No bias adds nothing, not zero, which would turn -0 into +0.)
static inline VATTR VF VNAME(biased)(const float *p, const float *bias, long j, long w) {
    VF v = VNAME(load)(p + j, w);
    return bias ? v + VNAME(load)(bias + j, w) : v;
}

// max(x, 0) with NaN kept (torch.relu): 0 where x <= 0 (-0 included: +0), else x.
static inline VATTR VF VNAME(relu)(VF x) { return VNAME(blend)(x <= 0.0f, VNAME(splat)(0.0f), x); }

// Stores v at p as `store` does, except that with `streamed`, a whole vector at an address that is a
// multiple of its size goes past the caches (a non-temporal store): for a training step's gate
// cache, which only the backward pass reads, long after. A plain store of a line not in cache first
// reads it from memory, and the cache then holds data nothing reads soon; on the Zen 4 VM of
// BENCHMARKS.md the LSTM forward kernel's share of a training step fell by a quarter (9.7 to 7.2 %).
// The stored values are the same. A kernel that streams ends with EMBER_STREAM_FENCE.
static inline VATTR void VNAME(put)(float *p, VF v, long w, int streamed) {
    if (streamed && w == VLANES && ((uintptr_t)p & (VB - 1)) == 0) {
        __builtin_nontemporal_store(v, (VF *)p);
        return;
    }
    VNAME(store)(p, v, w);
}

#ifndef EMBER_STREAM_FENCE
// Orders the non-temporal stores before every later store (x86 orders them only with a fence), so
// that the thread that next reads them, after the parallel region's release and acquire, sees them.
#if defined(__x86_64__)
#define EMBER_STREAM_FENCE() __builtin_ia32_sfence()
#else
#define EMBER_STREAM_FENCE() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif
#endif

#define VLOAD(p) VNAME(load)((p), w)
#define VBIASED(p, bias, k) VNAME(biased)((p), (bias), (k) + j, w)
#define VSTORE(p, v) VNAME(store)((p), (v), w)
#define VPUT(p, v) VNAME(put)((p), (v), w, streamed)
// Runs the body (the macro's last argument) for a row of H values a vector at a time, `j` being the
// first column and `w` the vector's width: the whole vectors with `w` the constant VLANES, so that
// their loads and stores are plain vector moves, then the partial one at the row's end, if any.
// (With `w` variable in one loop, the compiler branched around every load and spilled registers;
// the measurement is in BENCHMARKS.md.)
#define VROW(H, ...)                                                                                \
    {                                                                                               \
        long j = 0;                                                                                 \
        for (const long w = VLANES; j + VLANES <= (H); j += VLANES) __VA_ARGS__                     \
        if (j < (H)) {                                                                              \
            const long w = (H) - j;                                                                 \
            __VA_ARGS__                                                                             \
        }                                                                                           \
    }

