// Vectorised exp, tanh and sigmoid over arrays of float, instantiated per instruction set by vmath.c.
// Parameters: VB (vector bytes), VATTR (function attributes), VNAME(x) (name suffixing).
#include "vmath_functions.h"

#define VMAP(FN)                                                                                   \
    static VATTR void VNAME(map_##FN)(const float *x, float *y, long n) {                          \
        long i = 0;                                                                                \
        for (; i + VLANES <= n; i += VLANES) *(VFU *)(y + i) = VNAME(FN)(*(const VFU *)(x + i));  \
        if (i < n) {                                                                               \
            VF tail = {0};                                                                         \
            for (long j = 0; i + j < n; j++) tail[j] = x[i + j];                                   \
            tail = VNAME(FN)(tail);                                                                \
            for (long j = 0; i + j < n; j++) y[i + j] = tail[j];                                   \
        }                                                                                          \
    }
VMAP(exp)
VMAP(tanh)
VMAP(sigmoid)
#undef VMAP
#undef VF
#undef VI
#undef VFU
#undef VLANES
