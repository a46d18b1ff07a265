// Vectorised exp, tanh and sigmoid of one float vector, and the vector types they use (VF, VI, VFU,
// VLANES), for the templates that include this file (vmath_template.h, and cells_vector.h for the
// cell templates); the includer undefines the type names when done.
// Parameters: VB (vector bytes), VATTR (function attributes), VNAME(x) (name suffixing), and
// VSCALEF, defined where the vector is one AVX-512 register (exp then scales with vscalefps).
#define VF VNAME(vf)
#define VI VNAME(vi)
#define VFU VNAME(vfu)
typedef float VF __attribute__((vector_size(VB)));
typedef int VI __attribute__((vector_size(VB)));
typedef float VFU __attribute__((vector_size(VB), aligned(4)));
#define VLANES ((long)(VB / sizeof(float)))

static inline VATTR VF VNAME(splat)(float v) { return (VF){0} + v; }
static inline VATTR VF VNAME(blend)(VI mask, VF a, VF b) { return (VF)((mask & (VI)a) | (~mask & (VI)b)); }

// e^x: x = n ln2 + r with |r| <= ln2/2 (Cody–Waite split of ln2), e^r by its degree-7 Taylor
// polynomial (truncation error < 1e-8 relative), scaled by 2^n built in the exponent bits.
// Overflows to +inf above 88.72; results below FLT_MIN (x < -87.33) flush to 0. NaN stays NaN.
static inline VATTR VF VNAME(exp)(VF x) {
    const VF hi = VNAME(splat)(88.72283935546875f), lo = VNAME(splat)(-87.33654022216797f);
    VI over = x > hi, under = x < lo;
    VF xc = VNAME(blend)(over, hi, VNAME(blend)(under, lo, x));
    const VF magic = VNAME(splat)(12582912.0f); // 1.5 * 2^23: adding it rounds to an integer
    VF t = xc * 1.44269502162933349609375f + magic;
    VF n = t - magic;
    VF r = xc - n * 0.693145751953125f;           // ln2 high part (exact product)
    r = r - n * 1.428606765330187045e-06f;         // ln2 low part
    VF p = VNAME(splat)(1.0f / 5040);
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
#if defined(VSCALEF)
    // p·2^n in one instruction (vscalefps), where the lines below take nine. The same bits for
    // every float x, checked over all 2^32: both are p·2^n rounded once, and the only results that
    // would round (below FLT_MIN) are flushed to 0 after.
    VF result = __builtin_ia32_scalefps512_mask(p, n, p, (unsigned short)0xffff, 4 /* current rounding */);
#else
    // 2^n as two factors 2^(n/2) and 2^(n - n/2), each a normal float over the whole range of n.
    VI ni = __builtin_convertvector(n, VI);
    VI n1 = ni >> 1, n2 = ni - n1;
    VF result = p * (VF)((n1 + 127) << 23) * (VF)((n2 + 127) << 23);
#endif
    result = VNAME(blend)(over, VNAME(splat)(__builtin_inff()), result);
    return VNAME(blend)(under & (x == x), VNAME(splat)(0.0f), result);
}

// tanh: x P(x^2) / Q(x^2), a 13/6-degree rational approximation (the coefficients of Eigen's
// float tanh), on x clamped to [-9, 9], where tanh already rounds to +-1 in float. One division and
// eleven multiply-adds, no exp and no branches: worst relative error 3.4e-7 over every positive
// float below 20 with fused multiply-adds, 4.2e-7 without. NaN stays NaN, -0 stays -0.
static inline VATTR VF VNAME(tanh)(VF x) {
    VF c = VNAME(blend)(x > 9.0f, VNAME(splat)(9.0f), VNAME(blend)(x < -9.0f, VNAME(splat)(-9.0f), x));
    VF c2 = c * c;
    VF p = VNAME(splat)(-2.76076847742355e-16f);
    p = p * c2 + 2.00018790482477e-13f;
    p = p * c2 - 8.60467152213735e-11f;
    p = p * c2 + 5.12229709037114e-08f;
    p = p * c2 + 1.48572235717979e-05f;
    p = p * c2 + 6.37261928875436e-04f;
    p = p * c2 + 4.89352455891786e-03f;
    VF q = VNAME(splat)(1.19825839466702e-06f);
    q = q * c2 + 1.18534705686654e-04f;
    q = q * c2 + 2.26843463243900e-03f;
    q = q * c2 + 4.89352518554385e-03f;
    return c * p / q;
}

// sigmoid: 1 / (1 + e^{-x}); e^{-x} overflowing to +inf gives exactly 0.
static inline VATTR VF VNAME(sigmoid)(VF x) {
    return 1.0f / (1.0f + VNAME(exp)(-x));
}

