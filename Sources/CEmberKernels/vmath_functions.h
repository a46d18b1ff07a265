// Vectorised exp, tanh and sigmoid of one float vector, and the vector types they use (VF, VI, VFU,
// VLANES), for the templates that include this file (vmath_template.h, cells_template.h); the
// includer undefines the type names when done.
// Parameters: VB (vector bytes), VATTR (function attributes), VNAME(x) (name suffixing).
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
    // 2^n as two factors 2^(n/2) and 2^(n - n/2), each a normal float over the whole range of n.
    VI ni = __builtin_convertvector(n, VI);
    VI n1 = ni >> 1, n2 = ni - n1;
    VF result = p * (VF)((n1 + 127) << 23) * (VF)((n2 + 127) << 23);
    result = VNAME(blend)(over, VNAME(splat)(__builtin_inff()), result);
    return VNAME(blend)(under & (x == x), VNAME(splat)(0.0f), result);
}

// tanh: an odd Taylor polynomial (to x^19) below |x| = 0.55, where 1 - 2/(e^{2|x|} + 1) would
// cancel; that formula above; the sign restored from x.
static inline VATTR VF VNAME(tanh)(VF x) {
    VI signbit = (VI)x & (int)0x80000000;
    VF a = (VF)((VI)x & 0x7fffffff);
    VF a2 = a * a;
    VF p = VNAME(splat)(-2.3912911424355248e-04f);
    p = p * a2 + 5.90027440945586e-04f;
    p = p * a2 - 1.4558343870513183e-03f;
    p = p * a2 + 3.592128036572481e-03f;
    p = p * a2 - 8.863235529902197e-03f;
    p = p * a2 + 2.1869488536155203e-02f;
    p = p * a2 - 5.396825396825397e-02f;
    p = p * a2 + 1.3333333333333333e-01f;
    p = p * a2 - 3.333333333333333e-01f;
    VF small = a + a * a2 * p;
    VF e = VNAME(exp)(a + a);
    VF big = 1.0f - 2.0f / (e + 1.0f);
    VF r = VNAME(blend)(a < 0.55f, small, big);
    return (VF)((VI)r | signbit);
}

// sigmoid: 1 / (1 + e^{-x}); e^{-x} overflowing to +inf gives exactly 0.
static inline VATTR VF VNAME(sigmoid)(VF x) {
    return 1.0f / (1.0f + VNAME(exp)(-x));
}

