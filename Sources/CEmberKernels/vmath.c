// Vectorised float exp, tanh and sigmoid with run-time choice of instruction set.
#include "CEmberKernels.h"
#include "dispatch.h"

#define VB 16
#define VATTR
#define VNAME(x) x##_portable
#include "vmath_template.h"
#undef VB
#undef VATTR
#undef VNAME

#if defined(__x86_64__)
#define VB 32
#define VATTR __attribute__((target("avx2,fma")))
#define VNAME(x) x##_avx2
#include "vmath_template.h"
#undef VB
#undef VATTR
#undef VNAME

#define VB 64
#define VSCALEF
#define VATTR __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#define VNAME(x) x##_avx512
#include "vmath_template.h"
#undef VB
#undef VSCALEF
#undef VATTR
#undef VNAME
#endif

#define EMBER_VMATH_ENTRY(FN)                                                                      \
    void ember_v##FN##f_at_level(ember_kernel_level level, const float *x, float *y, long n) {     \
        EMBER_DISPATCH(level, map_##FN##_portable(x, y, n), map_##FN##_avx2(x, y, n),              \
                       map_##FN##_avx512(x, y, n));                                                \
    }                                                                                              \
    void ember_v##FN##f(const float *x, float *y, long n) {                                        \
        ember_v##FN##f_at_level(ember_kernel_level_in_use(), x, y, n);                             \
    }

EMBER_VMATH_ENTRY(exp)
EMBER_VMATH_ENTRY(tanh)
EMBER_VMATH_ENTRY(sigmoid)

void ember_adam_f(ember_kernel_level level, long n, float *p, const float *g, float *m, float *v,
                  float *vMax, int amsgrad, float w1, float beta2, float w2, float c2, float eps,
                  float nss) {
    EMBER_DISPATCH(level, adam_portable(n, p, g, m, v, vMax, amsgrad, w1, beta2, w2, c2, eps, nss),
                   adam_avx2(n, p, g, m, v, vMax, amsgrad, w1, beta2, w2, c2, eps, nss),
                   adam_avx512(n, p, g, m, v, vMax, amsgrad, w1, beta2, w2, c2, eps, nss));
}
