// Runs Ember's C kernels (GEMM, the recurrent cells, exp/tanh/sigmoid, Adam, and Ember's own
// elementary functions) on fixed inputs at one
// kernel level and prints a 64-bit FNV-1a hash of each result's bytes, one line per case:
// `<case> <hash>`. The same lines must come out on every FMA path (AVX2, AVX-512, arm64 NEON under
// qemu): `.ci/kernel-hashes` compares them with golden.txt beside this file.
// Usage: kernel_hashes [portable|avx2|avx512]   (default: the best level this CPU has)
#include "CEmberKernels.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < count; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

// Values in [low, high) from a 64-bit LCG (Knuth's MMIX constants), so every platform draws the same.
static uint64_t state;
static float uniform(float low, float high) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return low + (high - low) * (float)(state >> 40) / (float)(1ull << 24);
}
static float *filled(long n, float low, float high) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!p) { fprintf(stderr, "kernel_hashes: out of memory\n"); exit(70); }
    for (long i = 0; i < n; i++) p[i] = uniform(low, high);
    return p;
}
// n floats, uninitialized, at a multiple of 64 bytes.
static float *aligned(long n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (size_t)n * sizeof(float)) != 0) abort();
    return p;
}

static void report(const char *name, const float *p, long n) {
    printf("%s %016llx\n", name, (unsigned long long)fnv1a(p, (size_t)n * sizeof(float)));
}

static void gemmCases(ember_kernel_level level) {
    // Shapes of the recurrent products and ones that cross every path's blocks of K, M and N.
    static const long shapes[][3] = {{64, 128, 32}, {64, 512, 128}, {1792, 128, 28}, {157, 512, 256},
                                     {33, 47, 700}, {130, 258, 1030}, {5, 3, 2}, {1, 96, 600}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        long M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        for (int form = 0; form < 4; form++) {
            int transA = form & 1, transB = form >> 1;
            state = 1000 + s * 10 + form;
            float *A = filled(M * K, -1, 1), *B = filled(K * N, -1, 1), *C = filled(M * N, -1, 1);
            float beta = form == 3 ? 0.5f : (float)(form & 1);
            ember_sgemm_at_level(level, transA, transB, M, N, K, form == 2 ? 0.75f : 1.0f, A, transA ? M : K, B,
                                 transB ? K : N, beta, C, N);
            char name[64];
            snprintf(name, sizeof name, "sgemm_%ldx%ldx%ld_t%d%d", M, N, K, transA, transB);
            report(name, C, M * N);
            free(A); free(B); free(C);
        }
    }
    // The packed-B form the recurrences use, accumulating onto C.
    long M = 64, N = 512, K = 300;
    state = 77;
    float *A = filled(M * K, -1, 1), *B = filled(N * K, -1, 1), *C = filled(M * N, -1, 1);
    float *packed = malloc((size_t)ember_sgemm_packed_b_size(level, K, N) * sizeof(float));
    ember_sgemm_pack_b(level, 1, K, N, B, K, packed);
    ember_sgemm_with_packed_b(level, 0, M, N, K, 1, A, K, packed, 1, C, N);
    report("sgemm_packed_64x512x300", C, M * N);
    free(A); free(B); free(C); free(packed);
}

static void vmathCases(ember_kernel_level level) {
    long n = 100003;
    state = 5;
    float *x = filled(n, -100, 100), *y = malloc((size_t)n * sizeof(float));
    x[0] = 0; x[1] = -0.0f; x[2] = 88.8f; x[3] = -87.5f;
    ember_vexpf_at_level(level, x, y, n);
    report("vexp", y, n);
    for (long i = 0; i < n; i++) x[i] *= 0.1f;
    ember_vtanhf_at_level(level, x, y, n);
    report("vtanh", y, n);
    ember_vsigmoidf_at_level(level, x, y, n);
    report("vsigmoid", y, n);
    free(x); free(y);
}

// The step kernels for n rows of H units; each case's name gets `suffix`. With `streamed`, the
// forward kernels store their gates past the caches (into 64-byte-aligned buffers, so that every
// whole vector is streamed): the same values as stored plainly, hence the same golden lines.
static void stepCases(ember_kernel_level level, long n, long H, const char *suffix, int streamed) {
    char name[64];
#define REPORT(label, p, count) (snprintf(name, sizeof name, "%s%s", label, suffix), report(name, p, count))
    state = 9;
    float *xw = filled(n * 4 * H, -2, 2), *gh = filled(n * 4 * H, -2, 2), *bih = filled(4 * H, -1, 1);
    float *bhh = filled(4 * H, -1, 1), *prev = filled(n * H, -1, 1), *dh = filled(n * H, -1, 1);
    float *gates = aligned(n * 4 * H), *c = aligned(n * H);
    float *h = malloc((size_t)n * H * sizeof(float)), *dc = filled(n * H, -1, 1);
    float *dz = malloc((size_t)n * 4 * H * sizeof(float)), *dzh = malloc((size_t)n * 3 * H * sizeof(float));
    float *direct = malloc((size_t)n * H * sizeof(float));
    ember_lstm_forward_f(level, n, H, xw, bih, gh, bhh, prev, gates, c, h, streamed);
    REPORT("lstm_forward_gates", gates, n * 4 * H);
    REPORT("lstm_forward_h", h, n * H);
    ember_lstm_backward_f(level, n, H, dh, h, H, gates, c, prev, dc, dz);
    REPORT("lstm_backward_dz", dz, n * 4 * H);
    REPORT("lstm_backward_dc", dc, n * H);
    ember_gru_forward_f(level, n, H, xw, bih, gh, bhh, prev, gates, c, h, streamed);
    REPORT("gru_forward_gates", gates, n * 3 * H);
    REPORT("gru_forward_h", h, n * H);
    ember_gru_backward_f(level, n, H, dh, h, H, gates, c, prev, dz, dzh, direct);
    REPORT("gru_backward_dzx", dz, n * 3 * H);
    REPORT("gru_backward_dzh", dzh, n * 3 * H);
    for (int relu = 0; relu < 2; relu++) {
        memcpy(h, xw, (size_t)n * H * sizeof(float));
        ember_rnn_forward_f(level, relu, n, H, h, H, gh, bih, bhh);
        REPORT(relu ? "rnn_relu_forward" : "rnn_tanh_forward", h, n * H);
        ember_rnn_backward_f(level, relu, n, H, dh, h, H, h, dz);
        REPORT(relu ? "rnn_relu_backward" : "rnn_tanh_backward", dz, n * H);
    }
#undef REPORT
    free(xw); free(gh); free(bih); free(bhh); free(prev); free(dh); free(gates); free(c); free(h);
    free(dc); free(dz); free(dzh); free(direct);
}

static void cellCases(ember_kernel_level level) {
    stepCases(level, 13, 37, "", 0);      // partial vectors at every width (single-register kernels)
    stepCases(level, 5, 48, "_h48", 1);   // whole vectors at every width (AVX2's and portable pairs), streamed
    // The sequence kernel takes the first H = 37 case's biases: the same draws again.
    state = 9;
    free(filled(13 * 4 * 37, -2, 2));
    free(filled(13 * 4 * 37, -2, 2));
    float *bih = filled(4 * 37, -1, 1), *bhh = filled(4 * 37, -1, 1);
    long B = 11, T = 9, I = 28, HS = 40;
    state = 21;
    float *x = filled(B * T * I, -1, 1), *wih = filled(HS * I, -0.3f, 0.3f), *whh = filled(HS * HS, -0.3f, 0.3f);
    float *y = malloc((size_t)B * T * HS * sizeof(float));
    if (ember_rnn_sequence_f(level, 0, B, T, I, HS, x, T * I, I, wih, whh, bih, bhh, NULL, y, T * HS, HS))
        report("rnn_sequence", y, B * T * HS);
    free(bih); free(bhh); free(x); free(wih); free(whh); free(y);
}

static void adamCases(ember_kernel_level level) {
    long n = 1001;
    for (int amsgrad = 0; amsgrad < 2; amsgrad++) {
        state = 31 + amsgrad;
        float *p = filled(n, -1, 1), *g = filled(n, -0.1f, 0.1f), *m = filled(n, -0.01f, 0.01f);
        float *v = filled(n, 0, 0.001f), *vMax = filled(n, 0, 0.001f);
        for (int step = 0; step < 3; step++)
            ember_adam_f(level, n, p, g, m, v, vMax, amsgrad, 0.1f, 0.999f, 0.001f, 0.03f, 1e-8f, -0.001f);
        report(amsgrad ? "adam_amsgrad" : "adam", p, n);
        free(p); free(g); free(m); free(v); free(vMax);
    }
}

// Ember's own elementary functions (emath.c): no dispatch, so the level does not matter, but the
// same bits must come out on x86-64 and arm64. Float functions over every 509th float bit pattern
// (8.4 million inputs, every sign, exponent and special value) and their edges; double functions
// over dense ranges. Inputs are built from integers, with no float arithmetic that a compiler could
// contract differently on each target.
#pragma clang fp contract(off)
static void reportDoubles(const char *name, const double *p, long n) {
    printf("%s %016llx\n", name, (unsigned long long)fnv1a(p, (size_t)n * sizeof(double)));
}
static void elementaryCases(void) {
    const long n = (long)(0x100000000ull / 509) + 1;
    float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
    for (long i = 0; i < n; i++) { uint32_t u = (uint32_t)((uint64_t)i * 509); memcpy(&x[i], &u, 4); }
    static float (*const functions[])(float) = {ember_expf, ember_logf, ember_log1pf, ember_tanhf};
    static const char *const names[] = {"expf", "logf", "log1pf", "tanhf"};
    for (int f = 0; f < 4; f++) {
        for (long i = 0; i < n; i++) y[i] = functions[f](x[i]);
        report(names[f], y, n);
    }
    // pow over a grid of bases and exponents: 2001 x 1025 cases, bases of both signs.
    long m = 0;
    float *p = malloc((size_t)2001 * 1025 * sizeof(float));
    for (int i = -1000; i <= 1000; i++)
        for (int j = -512; j <= 512; j++) {
            float base = (float)i / 97.0f, exponent = (float)j / 16.0f;
            p[m++] = ember_powf(base, exponent);
        }
    report("powf", p, m);
    free(p);
    free(x); free(y);
    const long dn = 1000000;
    double *dx = malloc((size_t)dn * sizeof(double)), *dy = malloc((size_t)dn * sizeof(double));
    static const struct { const char *name; double (*f)(double); double low, high; } ranges[] = {
        {"exp", ember_exp, -745.2, 709.8}, {"log", ember_log, 0, 1e6}, {"log_near_1", ember_log, 0.5, 2},
        {"log1p", ember_log1p, -1, 4}, {"cos", ember_cos, -7, 7}, {"sin", ember_sin, -7, 7},
        {"cos_wide", ember_cos, -1e6, 1e6}};
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        double step = (ranges[r].high - ranges[r].low) / (double)dn;
        for (long i = 0; i < dn; i++) { double t = (double)i * step; dx[i] = ranges[r].low + t; }
        for (long i = 0; i < dn; i++) dy[i] = ranges[r].f(dx[i]);
        reportDoubles(ranges[r].name, dy, dn);
    }
    long k = 0;
    for (int i = 1; i <= 1000; i++)
        for (int t = -500; t < 500; t++) dy[k++] = ember_powi((double)i / 1000.0 + 0.0001, t * 37);
    reportDoubles("powi", dy, k);
    free(dx); free(dy);
}

int main(int argc, char **argv) {
    ember_kernel_level level = ember_kernel_best_level();
    if (argc > 1) {
        if (!strcmp(argv[1], "portable")) level = EMBER_KERNEL_PORTABLE;
        else if (!strcmp(argv[1], "avx2")) level = EMBER_KERNEL_AVX2;
        else if (!strcmp(argv[1], "avx512")) level = EMBER_KERNEL_AVX512;
        else { fprintf(stderr, "kernel_hashes: unknown level '%s' (portable, avx2, avx512)\n", argv[1]); return 64; }
        if (level > ember_kernel_best_level()) {
            fprintf(stderr, "kernel_hashes: this CPU cannot run %s\n", argv[1]);
            return 69;
        }
    }
    ember_kernel_set_level(level);
    gemmCases(level);
    vmathCases(level);
    cellCases(level);
    adamCases(level);
    elementaryCases();
    return 0;
}
