// The AVX2 single-precision micro-kernel for a whole 6 x 16 tile, written out by hand: the shape of
// BLIS's haswell and zen SGEMM kernels (6 rows x 2 vectors of 8: 12 accumulators, 2 vectors of B, one
// broadcast of A at a time, 15 of the 16 ymm registers), K unrolled by 4 in order, C's rows fetched
// into L1 before the loop, and the stream of A prefetched a few iterations ahead. Each accumulator
// gets its multiply-adds in the order of K from C's value (or zero), as the generic kernel's do, so
// the results are its bits (Tests/KernelHashes). Included by gemm.c on x86-64 only.
#include <immintrin.h>

// One step of K: row i of A times the two vectors of B, into row i's accumulators.
#define EMBER_T6_ROW(i, ai)                                                                         \
    do {                                                                                            \
        __m256 s = _mm256_broadcast_ss(ai);                                                         \
        c##i##0 = _mm256_fmadd_ps(s, b0, c##i##0);                                                  \
        c##i##1 = _mm256_fmadd_ps(s, b1, c##i##1);                                                  \
    } while (0)
#define EMBER_T6_STEP(ap, rowStride, bp)                                                            \
    do {                                                                                            \
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps((bp) + 8);                            \
        EMBER_T6_ROW(0, (ap));                                                                      \
        EMBER_T6_ROW(1, (ap) + (rowStride));                                                        \
        EMBER_T6_ROW(2, (ap) + 2 * (rowStride));                                                    \
        EMBER_T6_ROW(3, (ap) + 3 * (rowStride));                                                    \
        EMBER_T6_ROW(4, (ap) + 4 * (rowStride));                                                    \
        EMBER_T6_ROW(5, (ap) + 5 * (rowStride));                                                    \
    } while (0)

// C[6, 16] (+)= A[6, kc] · B[kc, 16], B's rows ldb apart. A's value (i, p) is at a[p * 6 + i] for
// form 0 (packed), a[i * lda + p] for form 1 (rows in place), a[p * lda + i] for form 2 (columns in
// place), as gemm_template.h's microRows.
__attribute__((target("avx2,fma"))) static inline __attribute__((always_inline)) void
ember_sgemm_avx2_tile6x16(long kc, const float *restrict a, long lda, int form, const float *restrict b,
                          long ldb, float *restrict c, long ldc, int accumulate) {
    // This tile's rows of C (read again for every block of K), so the first loads find them nearer.
    for (int i = 0; i < 6; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);
    }
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (accumulate) {
        c00 = _mm256_loadu_ps(c), c01 = _mm256_loadu_ps(c + 8);
        c10 = _mm256_loadu_ps(c + ldc), c11 = _mm256_loadu_ps(c + ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    }
    long p = 0;
    if (form == 0) {
        for (; p + 4 <= kc; p += 4) {
            _mm_prefetch((const char *)(a + 96), _MM_HINT_T0);
            EMBER_T6_STEP(a, 1, b);
            EMBER_T6_STEP(a + 6, 1, b + ldb);
            _mm_prefetch((const char *)(a + 112), _MM_HINT_T0);
            EMBER_T6_STEP(a + 12, 1, b + 2 * ldb);
            EMBER_T6_STEP(a + 18, 1, b + 3 * ldb);
            a += 24;
            b += 4 * ldb;
        }
        for (; p < kc; p++) {
            EMBER_T6_STEP(a, 1, b);
            a += 6;
            b += ldb;
        }
    } else if (form == 2) {
        // Each step of K is a new cache line, lda values on: ask for each 16 steps ahead.
        for (; p + 4 <= kc; p += 4) {
            _mm_prefetch((const char *)(a + 16 * lda), _MM_HINT_T0);
            EMBER_T6_STEP(a, 1, b);
            _mm_prefetch((const char *)(a + 17 * lda), _MM_HINT_T0);
            EMBER_T6_STEP(a + lda, 1, b + ldb);
            _mm_prefetch((const char *)(a + 18 * lda), _MM_HINT_T0);
            EMBER_T6_STEP(a + 2 * lda, 1, b + 2 * ldb);
            _mm_prefetch((const char *)(a + 19 * lda), _MM_HINT_T0);
            EMBER_T6_STEP(a + 3 * lda, 1, b + 3 * ldb);
            a += 4 * lda;
            b += 4 * ldb;
        }
        for (; p < kc; p++) {
            EMBER_T6_STEP(a, 1, b);
            a += lda;
            b += ldb;
        }
    } else {
        for (; p + 4 <= kc; p += 4) {
            EMBER_T6_STEP(a, lda, b);
            EMBER_T6_STEP(a + 1, lda, b + ldb);
            EMBER_T6_STEP(a + 2, lda, b + 2 * ldb);
            EMBER_T6_STEP(a + 3, lda, b + 3 * ldb);
            a += 4;
            b += 4 * ldb;
        }
        for (; p < kc; p++) {
            EMBER_T6_STEP(a, lda, b);
            a += 1;
            b += ldb;
        }
    }
    _mm256_storeu_ps(c, c00), _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + ldc, c10), _mm256_storeu_ps(c + ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}
#undef EMBER_T6_ROW
#undef EMBER_T6_STEP

// Packs a whole panel of op(B) = Bᵀ, `width` columns wide (a multiple of 8: 16 for the AVX2 6 x 16
// kernel, 32 for AVX-512's 12 x 32): panel[p * width + j] = src[j * ldb + p] for j < width, p < kc,
// where src points at B's row jc+jr, column pc. Eight rows of B at a time, eight values of each,
// transposed in registers (unpack, shuffle, swap of 128-bit halves) and stored as eight values in
// each of eight rows of the panel; the values are moved, never changed.
__attribute__((target("avx2,fma"))) static void ember_sgemm_avx2_packBT(const float *src, long ldb, long kc,
                                                                        float *restrict panel, long width) {
    long p = 0;
    for (; p + 8 <= kc; p += 8) {
        for (long group = 0; group < width / 8; group++) {
            const float *s = src + group * 8 * ldb + p;
            __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ldb), r2 = _mm256_loadu_ps(s + 2 * ldb),
                   r3 = _mm256_loadu_ps(s + 3 * ldb), r4 = _mm256_loadu_ps(s + 4 * ldb),
                   r5 = _mm256_loadu_ps(s + 5 * ldb), r6 = _mm256_loadu_ps(s + 6 * ldb),
                   r7 = _mm256_loadu_ps(s + 7 * ldb);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *d = panel + p * width + group * 8;
            _mm256_storeu_ps(d + 0 * width, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + 1 * width, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 2 * width, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 3 * width, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 4 * width, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 5 * width, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 6 * width, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 7 * width, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    }
    for (; p < kc; p++)
        for (long j = 0; j < width; j++) panel[p * width + j] = src[j * ldb + p];
}
