// Ember's own elementary functions (exp, log, log1p, cos, sin in double; exp, log, log1p, tanh, pow
// in float), so that training and initialisation give the same bits whatever C library or CPU runs
// them. Every function here is a fixed sequence of IEEE-754 additions, multiplications, divisions
// and bit operations in round-to-nearest, with contraction into fused multiply-adds switched off:
// such a sequence gives the same result on every IEEE machine (x86-64 with or without FMA, arm64),
// whatever the compiler's target, and needs no run-time dispatch. The float functions evaluate the
// double ones and round once to float: about 0.5 ulp, far inside float's needs.
//
// The double algorithms are those of fdlibm (Sun Microsystems, 1993; still the basis of FreeBSD's
// and musl's libm): Cody–Waite range reduction, then a minimax polynomial or rational function on
// the reduced argument; their coefficients are fdlibm's. Measured errors are in the header.
#include "CEmberKernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma clang fp contract(off)

static inline uint64_t bits_of(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double double_of(uint64_t u) {
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/// 2^k for -1022 <= k <= 1023, built in the exponent bits.
static inline double power_of_two(int k) { return double_of((uint64_t)(k + 1023) << 52); }

/// x rounded to the nearest integer (ties to even) for |x| < 2^51, by adding and removing 1.5·2^52.
static inline double round_to_integer(double x) {
    const double shift = 0x1.8p52;
    return (x + shift) - shift;
}

// The NaN an invalid operation returns: the positive quiet NaN (x86's own default NaN has the sign bit
// set, arm64's does not; a constant keeps the bits the same).
static const double quiet_nan = __builtin_nan("");

// ln 2 split in two: the high part has 32 significant bits, so k·ln2_hi is exact for |k| < 2^21.
static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;

// MARK: - exp

double ember_exp(double x) {
    if (x != x) return x + x;
    if (x > 7.09782712893383973096e+02) return 0x1p1023 * 2.0; // overflow: +inf
    if (x < -7.45133219101941108420e+02) return 0;            // below half the smallest subnormal
    if (x < 0x1p-28 && x > -0x1p-28) return 1 + x;
    // x = k·ln2 + r, |r| <= ln2/2 (plus rounding), r = hi - lo carried in two parts.
    double kd = round_to_integer(x * 1.44269504088896338700e+00);
    int k = (int)kd;
    double hi = x - kd * ln2_hi, lo = kd * ln2_lo;
    double r = hi - lo;
    // e^r = 1 + r + r·c / (2 - c) with c = r - r²·P(r²), P a degree-4 minimax polynomial (fdlibm's
    // P1..P5) for r·(e^r + 1)/(e^r - 1) on [0, (ln2/2)²]; error below 2^-59.
    double t = r * r;
    double p = 4.13813679705723846039e-08;
    p = -1.65339022054652515390e-06 + t * p;
    p = 6.61375632143793436117e-05 + t * p;
    p = -2.77777777770155933842e-03 + t * p;
    p = 1.66666666666666019037e-01 + t * p;
    double c = r - t * p;
    double y = 1 - ((lo - (r * c) / (2 - c)) - hi);
    if (k >= -1021) {
        if (k == 1024) return y * 2.0 * 0x1p1023;
        return y * power_of_two(k);
    }
    return y * power_of_two(k + 1000) * 0x1p-1000; // subnormal result: one rounding, in the last product
}

// MARK: - log

double ember_log(double x) {
    uint64_t u = bits_of(x);
    uint32_t high = (uint32_t)(u >> 32);
    int k = 0;
    if (high < 0x00100000 || (high >> 31)) {           // x < 2^-1022, or the sign bit is set
        if ((u << 1) == 0) return -1 / (x * x);        // ±0: -inf
        if (x != x) return x + x;                      // a NaN with the sign bit set
        if (high >> 31) return quiet_nan;              // x < 0
        k -= 54;                                       // subnormal: scale into the normal range
        x *= 0x1p54;
        u = bits_of(x);
        high = (uint32_t)(u >> 32);
    } else if (high >= 0x7ff00000) {
        return x + x;                                  // +inf, NaN
    } else if (u == 0x3ff0000000000000ull) {
        return 0;                                      // log(1) = +0 exactly
    }
    // x = 2^k·m with m in [√2/2, √2): shift the exponent so that m's high word lands there.
    high += 0x3ff00000 - 0x3fe6a09e;
    k += (int)(high >> 20) - 0x3ff;
    high = (high & 0x000fffff) + 0x3fe6a09e;
    double m = double_of((uint64_t)high << 32 | (u & 0xffffffffull));
    // log(m) = log(1 + f) = 2·atanh(s) with s = f / (2 + f): f - f²/2 + s·(f²/2 + R(s²)), R a
    // degree-14 minimax polynomial in s (fdlibm's Lg1..Lg7), error below 2^-58.45.
    double f = m - 1.0;
    double hfsq = 0.5 * f * f;
    double s = f / (2.0 + f);
    double z = s * s, w = z * z;
    double t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    double t2 = z * (6.666666666666735130e-01 +
                     w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    double R = t2 + t1;
    double dk = k;
    return (((s * (hfsq + R) + dk * ln2_lo) - hfsq) + f) + dk * ln2_hi;
}

double ember_log1p(double x) {
    if (x != x) return x + x;
    if (x == (double)INFINITY) return x;
    if (x <= -1) return x == -1 ? -(double)INFINITY : quiet_nan;
    double u = 1 + x;
    if (u == 1) return x; // |x| < 2^-53: log1p(x) rounds to x (and -0 stays -0)
    // u = 1 + x + d with d the rounding error, recovered exactly as (u - 1) - x when u - 1 is exact
    // (u < 2^53); log(1 + x) = log(u) - d/u to first order.
    if (u >= 0x1p53) return ember_log(u);
    return ember_log(u) - ((u - 1) - x) / u;
}

// MARK: - cos, sin

// Kernels on [-π/4, π/4] for an argument x + y (y the tail of the reduction, |y| < ulp(x)/2):
// fdlibm's minimax polynomials (C1..C6 of degree 14 for cos, S1..S6 of degree 13 for sin).
static double cos_kernel(double x, double y) {
    double z = x * x, w = z * z;
    double r = z * (4.16666666666666019037e-02 + z * (-1.38888888888741095749e-03 + z * 2.48015872894767294178e-05)) +
               w * w * (-2.75573143513906633035e-07 + z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11));
    double hz = 0.5 * z;
    w = 1.0 - hz;
    return w + (((1.0 - w) - hz) + (z * r - x * y));
}

static double sin_kernel(double x, double y) {
    double z = x * x, w = z * z;
    double r = 8.33333333332248946124e-03 + z * (-1.98412698298579493134e-04 + z * 2.75573137070700676789e-06) +
               z * w * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10);
    double v = z * x;
    return x - ((z * (0.5 * y - v * r) - y) - v * -1.66666666666666324348e-01);
}

// x = n·π/2 + (y0 + y1) with |y0 + y1| <= π/4 (a little more after rounding n), for |x| < 2^20·π/2:
// π/2 in 33-bit pieces (fdlibm's pio2_1, pio2_2, pio2_3 and their tails), each product with n (at
// most 21 bits) exact. The first subtraction is exact; when it cancels many bits (x near a multiple
// of π/2) the next piece is taken in, and the next, each subtraction then exact by cancellation.
static int reduce_pi_over_2(double x, double *y0, double *y1) {
    double fn = round_to_integer(x * 6.36619772367581382433e-01);
    double r = x - fn * 1.57079632673412561417e+00;
    double w = fn * 6.07710050650619224932e-11;
    *y0 = r - w;
    int ex = (int)(bits_of(x) >> 52 & 0x7ff);
    if (ex - (int)(bits_of(*y0) >> 52 & 0x7ff) > 16) {
        double t = r;
        w = fn * 6.07710050630396597660e-11;
        r = t - w;
        w = fn * 2.02226624879595063154e-21 - ((t - r) - w);
        *y0 = r - w;
        if (ex - (int)(bits_of(*y0) >> 52 & 0x7ff) > 49) {
            t = r;
            w = fn * 2.02226624871116645580e-21;
            r = t - w;
            w = fn * 8.47842766036889956997e-32 - ((t - r) - w);
            *y0 = r - w;
        }
    }
    *y1 = (r - *y0) - w;
    return (int)fn;
}

double ember_cos(double x) {
    double a = x < 0 ? -x : x;
    if (!(a < 0x1p20 * 1.5707963267948966)) return x != x ? x + x : a == (double)INFINITY ? quiet_nan : cos(x);
    if (a < 0x1p-27) return 1.0;
    double y0, y1;
    switch (reduce_pi_over_2(x, &y0, &y1) & 3) {
    case 0: return cos_kernel(y0, y1);
    case 1: return -sin_kernel(y0, y1);
    case 2: return -cos_kernel(y0, y1);
    default: return sin_kernel(y0, y1);
    }
}

double ember_sin(double x) {
    double a = x < 0 ? -x : x;
    if (!(a < 0x1p20 * 1.5707963267948966)) return x != x ? x + x : a == (double)INFINITY ? quiet_nan : sin(x);
    if (a < 0x1p-27) return x;
    double y0, y1;
    switch (reduce_pi_over_2(x, &y0, &y1) & 3) {
    case 0: return sin_kernel(y0, y1);
    case 1: return cos_kernel(y0, y1);
    case 2: return -sin_kernel(y0, y1);
    default: return -cos_kernel(y0, y1);
    }
}

// MARK: - float

float ember_expf(float x) { return (float)ember_exp((double)x); }

float ember_logf(float x) { return (float)ember_log((double)x); }

float ember_log1pf(float x) {
    // For float x, 1 + x is exact in double when |x| >= 2^-29; below that log1p(x) rounds to x.
    if (x < 0x1p-29f && x > -0x1p-29f) return x;
    if (x == INFINITY || x != x) return x + x;
    return (float)ember_log(1 + (double)x);
}

float ember_tanhf(float x) {
    double a = x < 0 ? -(double)x : (double)x;
    if (!(a >= 0x1p-12)) return x;  // tanh(x) rounds to x below 2^-12; NaN, ±0 unchanged
    double t = 1.0;                 // tanh rounds to ±1 long before 20
    if (a < 20) {
        double e = ember_exp(2 * a); // (e - 1) loses at most 2^-41 of relative accuracy here
        t = (e - 1) / (e + 1);
    }
    return x < 0 ? -(float)t : (float)t;
}

float ember_powf(float x, float y) {
    if (y == 0 || x == 1) return 1.0f;
    if (x != x || y != y) return x + y;
    double ax = x < 0 ? -(double)x : (double)x;
    if (ax == 1 && (y == INFINITY || y == -INFINITY)) return 1.0f; // (-1)^±inf
    int odd = 0;
    if (signbit(x)) {
        float ay = y < 0 ? -y : y;
        if (ay < 0x1p24f) {
            int32_t i = (int32_t)y;
            if ((float)i == y) odd = i & 1;
            else if (x != 0 && x != -INFINITY) return (float)quiet_nan; // negative base, fractional power
        }
    }
    float r = (float)ember_exp((double)y * ember_log(ax));
    return odd ? -r : r;
}

// MARK: - integer powers

// a·b = p + e exactly (Dekker's product: each factor split into two 26-bit halves), for
// |a|, |b| < 2^995 and a product that neither overflows nor underflows.
static void exact_product(double a, double b, double *p, double *e) {
    const double split = 134217729.0; // 2^27 + 1
    *p = a * b;
    double t = split * a, ah = t - (t - a), al = a - ah;
    t = split * b;
    double bh = t - (t - b), bl = b - bh;
    *e = (((ah * bh - *p) + ah * bl) + al * bh) + al * bl;
}

// (xh + xl)·(yh + yl) in double-double, renormalised.
static void dd_multiply(double xh, double xl, double yh, double yl, double *h, double *l) {
    double p, e;
    exact_product(xh, yh, &p, &e);
    e = e + (xh * yl + xl * yh);
    *h = p + e;
    *l = e - (*h - p);
}

double ember_powi(double x, long n) {
    if (n == 0) return 1.0;
    if (x != x) return x + x;
    unsigned long m = n < 0 ? 0ul - (unsigned long)n : (unsigned long)n;
    int odd = (int)(m & 1);
    double a = x < 0 ? -x : x, r;
    double log_a = a == 0 || a == (double)INFINITY ? 0 : ember_log(a);
    if (a == 0 || a == (double)INFINITY) {
        r = n < 0 ? 1 / a : a;
    } else if ((double)m * (log_a < 0 ? -log_a : log_a) > 680) {
        r = ember_exp((double)n * log_a); // |x|^n beyond 2^±980: over/underflows, or nearly
    } else {
        // Binary powering in double-double: every partial product stays within 2^±981, where
        // Dekker's product is exact, so |x|^|n| carries a relative error near 2^-100.
        double bh = a, bl = 0, rh = 1, rl = 0;
        for (;;) {
            if (m & 1) dd_multiply(rh, rl, bh, bl, &rh, &rl);
            m >>= 1;
            if (!m) break;
            dd_multiply(bh, bl, bh, bl, &bh, &bl);
        }
        if (n < 0) { // 1/(rh + rl) in double-double: q + q·((1 - q·rh) - q·rl), q·rh exact
            double q = 1 / rh, p, e;
            exact_product(q, rh, &p, &e);
            rl = q * (((1 - p) - e) - q * rl);
            rh = q;
        }
        r = rh + rl; // the one rounding
    }
    return (x < 0 && odd) ? -r : r;
}
