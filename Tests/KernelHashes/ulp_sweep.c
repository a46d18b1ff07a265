// Measures the error of Ember's own elementary functions (Sources/CEmberKernels/emath.c) against a
// more precise reference, in units in the last place: the float functions against double libm over
// every `step`-th float bit pattern, the double ones against x86-64's 80-bit long double libm over
// `points` dense and random points per range, ember_powi against powl. The numbers quoted in
// CEmberKernels.h come from `ulp_sweep 64 200000` (x86-64, glibc).
// Build: clang -O2 -I Sources/CEmberKernels/include Tests/KernelHashes/ulp_sweep.c \
//            Sources/CEmberKernels/emath.c -lm -o /tmp/ulp_sweep
// Usage: /tmp/ulp_sweep [step (default 64)] [points (default 200000)]
#include "CEmberKernels.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The spacing of floats (doubles) in the binade of the reference value.
static double float_ulp(double r) { return ldexp(1.0, (r == 0 ? -126 : fmax(ilogb(r), -126)) - 23); }
static long double double_ulp(long double r) { return ldexpl(1.0L, (r == 0 ? -1022 : (int)fmax(ilogbl(r), -1022)) - 52); }

static double log1p_double(double x) { return log1p(x); }

static void sweep_float(const char *name, float (*f)(float), double (*reference)(double), unsigned step) {
    double worst = 0;
    float at = 0;
    long mismatched_specials = 0;
    for (uint64_t i = 0; i < (1ull << 32); i += step) {
        uint32_t u = (uint32_t)i;
        float x;
        memcpy(&x, &u, sizeof x);
        float y = f(x);
        double r = reference((double)x);
        if (isnan(r) || isnan(y) || isinf(y) || fabs(r) > 0x1.fffffep127) {
            if (!(isnan(r) && isnan(y)) && (float)r != y) mismatched_specials++;
            continue;
        }
        double e = fabs((double)y - r) / float_ulp(r);
        if (e > worst) { worst = e; at = x; }
    }
    printf("%-7s max %.6f ulp at %a (every %u-th float), %ld special values differ from libm\n", name, worst, at,
           step, mismatched_specials);
}

static void sweep_double(const char *name, double (*f)(double), long double (*reference)(long double), double low,
                         double high, long points) {
    long double worst = 0;
    double at = 0;
    srand48(1);
    for (long i = 0; i < points; i++) {
        double x = i % 2 ? low + (high - low) * drand48() : low + (high - low) * ((double)i / (double)points);
        long double r = reference((long double)x);
        long double e = fabsl((long double)f(x) - r) / double_ulp(r);
        if (e > worst) { worst = e; at = x; }
    }
    printf("%-7s max %.4Lf ulp over [%g, %g] at %a (%ld points)\n", name, worst, low, high, at, points);
}

int main(int argc, char **argv) {
    unsigned step = argc > 1 ? (unsigned)atoi(argv[1]) : 64;
    long points = argc > 2 ? atol(argv[2]) : 200000;
    sweep_float("expf", ember_expf, exp, step);
    sweep_float("logf", ember_logf, log, step);
    sweep_float("log1pf", ember_log1pf, log1p_double, step);
    sweep_float("tanhf", ember_tanhf, tanh, step);
    sweep_double("exp", ember_exp, expl, -745, 709.78, points);
    sweep_double("exp", ember_exp, expl, -1, 1, points);
    sweep_double("log", ember_log, logl, 0, 4, points);
    sweep_double("log", ember_log, logl, 0.5, 2, points);
    sweep_double("log", ember_log, logl, 0, 1e300, points);
    sweep_double("log", ember_log, logl, 0x1p-1074, 0x1p-1020, points);
    sweep_double("log1p", ember_log1p, log1pl, -0.999, 10, points);
    sweep_double("log1p", ember_log1p, log1pl, -1e-6, 1e-6, points);
    sweep_double("cos", ember_cos, cosl, 0, 6.283185307179586, points);
    sweep_double("cos", ember_cos, cosl, -1e5, 1e5, points);
    sweep_double("sin", ember_sin, sinl, 0, 6.283185307179586, points);
    sweep_double("sin", ember_sin, sinl, -1e5, 1e5, points);
    // powf: random bases and exponents (and negative bases with integer exponents) against pow.
    srand48(4);
    double worst = 0;
    for (long i = 0; i < 4 * points; i++) {
        float x = (float)(drand48() * 10), y = (float)(drand48() * 20 - 10);
        if (i & 1) { x = -x; y = (float)(lrand48() % 21 - 10); }
        double r = pow((double)x, (double)y);
        if (isinf(r) || r == 0 || fabs(r) > 0x1.fffffep127) continue;
        double e = fabs((double)ember_powf(x, y) - r) / float_ulp(r);
        if (e > worst) worst = e;
    }
    printf("powf    max %.6f ulp (%ld random cases)\n", worst, 4 * points);
    // powi against powl, where the result is normal and not extreme.
    long double worst_powi = 0;
    long above_half = 0, glibc_above_half = 0;
    srand48(3);
    for (long i = 0; i < 5 * points; i++) {
        double x = 0.5 + 1.5 * drand48();
        long n = lrand48() % 2001 - 1000;
        if (i % 2) { x = 0.9 + 0.1 * drand48(); n = lrand48() % 100000; }
        long double r = powl((long double)x, (long double)n);
        if (fabsl(r) < 0x1p-975L || fabsl(r) > 0x1p975L) continue;
        long double e = fabsl((long double)ember_powi(x, n) - r) / double_ulp(r);
        if (e > worst_powi) worst_powi = e;
        above_half += e > 0.5L;
        glibc_above_half += fabsl((long double)pow(x, (double)n) - r) / double_ulp(r) > 0.5L;
    }
    printf("powi    max %.4Lf ulp (%ld random cases), %ld above 0.5 ulp (glibc's pow: %ld)\n", worst_powi, 5 * points,
           above_half, glibc_above_half);
    return 0;
}
