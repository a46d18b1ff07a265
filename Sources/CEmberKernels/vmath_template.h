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

// One Adam step over n floats with the roundings of PyTorch's CPU kernels (Ember's AdamBase.update
// spells out the same operations in Swift; a test checks the two bit for bit at every level):
// m = fma(w1, g - m, m), or fma(w1 - 1, g - m, g) when |w1| >= 0.5 (lerp); v = fma(w2·g, g, v·β2);
// v̂ = amsgrad ? maximum(v̂, v) : v (NaN if either is, as torch.maximum);
// p = p + (nss·m) / (sqrt(v̂) / c2 + eps), nss = -step size.
static VATTR void VNAME(adam)(long n, float *p, const float *g, float *m, float *v, float *vMax,
                              int amsgrad, float w1, float beta2, float w2, float c2, float eps,
                              float nss) {
#pragma clang fp contract(off)
    const int small = w1 < 0.5f && w1 > -0.5f;
    const float coeff = small ? w1 : w1 - 1;
    const VF vcoeff = (VF){0} + coeff, vbeta2 = (VF){0} + beta2, vw2 = (VF){0} + w2;
    const VF vc2 = (VF){0} + c2, veps = (VF){0} + eps, vnss = (VF){0} + nss;
    long i = 0;
    for (; i + VLANES <= n; i += VLANES) {
        VF gi = *(const VFU *)(g + i), mi = *(VFU *)(m + i), vi = *(VFU *)(v + i);
        VF mn = __builtin_elementwise_fma(vcoeff, gi - mi, small ? mi : gi);
        VF vn = __builtin_elementwise_fma(vw2 * gi, gi, vi * vbeta2);
        *(VFU *)(m + i) = mn;
        *(VFU *)(v + i) = vn;
        VF vh = vn;
        if (amsgrad) {
            VF old = *(VFU *)(vMax + i);
            // torch.maximum(old, vn): vn where vn >= old or vn is NaN, else old (NaN if old is).
            VI take = (vn >= old) | (vn != vn);
            vh = (VF)((take & (VI)vn) | (~take & (VI)old));
            *(VFU *)(vMax + i) = vh;
        }
        VF denominator = __builtin_elementwise_sqrt(vh) / vc2 + veps;
        *(VFU *)(p + i) = *(VFU *)(p + i) + vnss * mn / denominator;
    }
    for (; i < n; i++) {
        float gi = g[i], mi = m[i];
        float mn = __builtin_fmaf(coeff, gi - mi, small ? mi : gi);
        float vn = __builtin_fmaf(w2 * gi, gi, v[i] * beta2);
        m[i] = mn;
        v[i] = vn;
        float vh = vn;
        if (amsgrad) {
            vh = vn >= vMax[i] || vn != vn ? vn : vMax[i];
            vMax[i] = vh;
        }
        float denominator = __builtin_sqrtf(vh) / c2 + eps;
        p[i] = p[i] + nss * mn / denominator;
    }
}
#undef VF
#undef VI
#undef VFU
#undef VLANES
