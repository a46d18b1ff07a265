// GEMM for Ember: packed, cache-blocked, register-blocked, vectorised; one instantiation of
// gemm_template.h per element type and instruction set, chosen at run time.
#include "CEmberKernels.h"
#include "dispatch.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// `acc += scalar * vector`: clang contracts this into an FMA where the target has one
// (-ffp-contract=on is its default for C), and the scalar is splatted without extra instructions.
// One macro serves every path: whether it fuses depends on the target, not on the spelling.
#define EMBER_MULTIPLY_ADD(acc, a, b) ((acc) += (a) * (b))

// MARK: - Prefetches spread over a product (ember_prefetch_during_next_product)

// Regions queued for this thread's next product: `rows` rows of `rowLines` cache lines, `stride`
// bytes apart, the next line to issue being line `line` of the row at `row`.
typedef struct {
    const char *row;
    long line, rowLines, rows, stride;
    int write;
} ember_prefetch_region;

#define EMBER_PREFETCH_REGIONS 8
static _Thread_local ember_prefetch_region prefetchQueue[EMBER_PREFETCH_REGIONS];
static _Thread_local int prefetchRegions;

void ember_prefetch_rows_during_next_product(const void *p, long rowBytes, long rows, long stride, int write) {
    if (rowBytes <= 0 || rows <= 0 || prefetchRegions == EMBER_PREFETCH_REGIONS) return;
    // Every line a row touches, from the one holding its first byte (rows `stride` apart are
    // taken to start as far into a line as the first).
    long offset = (long)((uintptr_t)p & 63);
    prefetchQueue[prefetchRegions++] =
        (ember_prefetch_region){(const char *)p - offset, 0, (offset + rowBytes + 63) / 64, rows, stride, write};
}

void ember_prefetch_during_next_product(const void *p, long bytes, int write) {
    ember_prefetch_rows_during_next_product(p, bytes, 1, 0, write);
}

long ember_prefetch_lines_queued(void) {
    long lines = 0;
    for (int q = 0; q < prefetchRegions; q++) {
        const ember_prefetch_region *r = &prefetchQueue[q];
        lines += r->rows * r->rowLines - r->line;
    }
    return lines;
}

// Issues up to `count` queued lines, first region first, row by row; the queue empties as they go.
static inline void prefetch_queued(long count) {
    while (count > 0 && prefetchRegions > 0) {
        ember_prefetch_region *r = &prefetchQueue[0];
        long n = r->rowLines - r->line < count ? r->rowLines - r->line : count;
        const char *at = r->row + 64 * r->line;
        if (r->write)
            for (long i = 0; i < n; i++) __builtin_prefetch(at + 64 * i, 1, 2);
        else
            for (long i = 0; i < n; i++) __builtin_prefetch(at + 64 * i, 0, 2);
        count -= n;
        r->line += n;
        if (r->line == r->rowLines) {
            r->line = 0;
            r->row += r->stride;
            r->rows--;
        }
        if (r->rows == 0) {
            for (int q = 1; q < prefetchRegions; q++) prefetchQueue[q - 1] = prefetchQueue[q];
            prefetchRegions--;
        }
    }
}

// MARK: - Counting the products' floating-point operations (ember_gemm_count_flops)

static int countingFlops;
static long long flopsCounted;

void ember_gemm_count_flops(int on) {
    if (on) __atomic_store_n(&flopsCounted, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&countingFlops, on != 0, __ATOMIC_RELAXED);
}

long long ember_gemm_flops_counted(void) { return __atomic_load_n(&flopsCounted, __ATOMIC_RELAXED); }

static inline void count_flops(long M, long N, long K) {
    if (__atomic_load_n(&countingFlops, __ATOMIC_RELAXED))
        __atomic_fetch_add(&flopsCounted, 2LL * M * N * K, __ATOMIC_RELAXED);
}

// MARK: - Portable (baseline target: SSE2 on x86-64, NEON on arm64)

#if defined(__aarch64__)
// arm64: NEON has 32 128-bit registers (x86-64's baseline SSE2 has 16), so the tile is 8 rows by 3
// vectors: 24 accumulators, 3 vectors of B and A's values broadcast from its lanes, the shape of
// BLIS's armv8a and OpenBLAS's NEON SGEMM micro-kernels (8 x 12 floats), and K in blocks of 512
// (BLIS's armv8a blocks K by 640 for floats). Its speed has not been measured (no arm64 hardware
// here); its results are the other FMA paths' bits (the accumulation order does not depend on the
// blocking; Tests/KernelHashes checks it under qemu).
#define EMBER_PORTABLE_MR 8
#define EMBER_PORTABLE_NV 3
#define EMBER_PORTABLE_KC 512
#else
#define EMBER_PORTABLE_MR 6
#define EMBER_PORTABLE_NV 2
#define EMBER_PORTABLE_KC 256
#endif

#define GT float
#define GVB 16
#define GMR EMBER_PORTABLE_MR
#define GNV EMBER_PORTABLE_NV
#define GKC EMBER_PORTABLE_KC
#define GMC 120
#define GNC 2048
#define GATTR
#define GFMA EMBER_MULTIPLY_ADD
#define GNAME sgemm_portable
#include "gemm_template.h"

#define GT double
#define GVB 16
#define GMR EMBER_PORTABLE_MR
#define GNV EMBER_PORTABLE_NV
#define GKC 256
#define GMC 120
#define GNC 1024
#define GATTR
#define GFMA EMBER_MULTIPLY_ADD
#define GNAME dgemm_portable
#include "gemm_template.h"

#if defined(__x86_64__)

// MARK: - AVX2 + FMA

#include "gemm_avx2_tile.h"

// K in blocks of 1024, M of 48, N of 1024: fewer passes over C (each starts its accumulators from
// C) and a B panel streamed from L2 rather than reloaded; the 1024-deep panel no longer fits L1
// but the 6 x 16 kernel needs only one line of it every 6 cycles. Single thread on Zen 4, forced
// AVX2, fastest of 3 alternating rounds of 21 (out-of-tree harness, load 5): 1024³ 100.3 →
// 110.2 GFLOP/s, dW_hh = dGᵀ·H (K = 1792) 94.3 → 101.5, the others within ±1 % (BENCHMARKS.md).
// The fused recurrent sequence kernel keeps its limit of 256 (GKBLOCK, ember_sgemm_k_block).
// A product formed transposed reads its B in place with rows far apart (dW_ih's dG, 2 KiB): there
// K goes in blocks of 512 (GKCALIGNEDB). dW_ih (1792x512)ᵀ · 1792x28, 300 alternating calls: 1.038
// of blocks of 1024 in the host's fast phases, 1.059 in its slow ones (blocks of 256: 1.033, 1.053).
#define GT float
#define GVB 32
#define GMR 6
#define GNV 2
#define GKC 1024
#define GMC 48
#define GNC 1024
#define GKBLOCK 256
#define GKCALIGNEDB 512
#define GTRANSPOSES
#define GATTR __attribute__((target("avx2,fma")))
#define GFMA EMBER_MULTIPLY_ADD
#define GFULLTILE ember_sgemm_avx2_tile6x16
#define GPACKBT(src, ldb, kc, panel) ember_sgemm_avx2_packBT(src, ldb, kc, panel, 16)
#define GNAME sgemm_avx2
#include "gemm_template.h"

#define GT double
#define GVB 32
#define GMR 6
#define GNV 2
#define GKC 256
#define GMC 120
#define GNC 1024
#define GATTR __attribute__((target("avx2,fma")))
#define GFMA EMBER_MULTIPLY_ADD
#define GNAME dgemm_avx2
#include "gemm_template.h"

// MARK: - AVX-512

#define GT float
#define GVB 64
#define GMR 12
#define GNV 2
#define GKC 512
#define GMC 48
#define GNC 2048
#define GATTR __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define GFMA EMBER_MULTIPLY_ADD
// AVX-512's panels of a transposed B are copied by the AVX2 transposing copy too: scalar, they held
// h·W_hhᵀ, 64x128 · (512x128)ᵀ with B packed per call, at 147 GFLOP/s median against 194 (Zen 5,
// whose AVX-512 peak is 236; BENCHMARKS.md).
#define GPACKBT(src, ldb, kc, panel) ember_sgemm_avx2_packBT(src, ldb, kc, panel, 32)
#define GNAME sgemm_avx512
#include "gemm_template.h"

#define GT double
#define GVB 64
#define GMR 12
#define GNV 2
#define GKC 256
#define GMC 192
#define GNC 1024
#define GATTR __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define GFMA EMBER_MULTIPLY_ADD
#define GNAME dgemm_avx512
#include "gemm_template.h"

#endif

// MARK: - Packing buffers

// Grow-only, 64-byte aligned scratch per thread, so a GEMM call allocates nothing in the steady state.
typedef struct {
    void *pointer;
    size_t bytes;
} ember_scratch;

static _Thread_local ember_scratch scratchA, scratchB, scratchC;

static void *scratch_reserve(ember_scratch *s, size_t bytes) {
    if (s->bytes < bytes) {
        free(s->pointer);
        s->pointer = NULL;
        s->bytes = 0;
        void *p = NULL;
        if (posix_memalign(&p, 64, bytes) != 0) return NULL;
        s->pointer = p;
        s->bytes = bytes;
    }
    return s->pointer;
}

// MARK: - Public entry points

/// The level a request runs at: the requested one, clamped to what the CPU supports.
#define clamp_level ember_kernel_usable_level

// Runs `call` with the instantiation for `level` substituted for its argument.
#define EMBER_AT_LEVEL(level, PORTABLE, AVX2, AVX512, call) EMBER_DISPATCH(level, call(PORTABLE), call(AVX2), call(AVX512))

#define EMBER_GEMM_ENTRY(NAME, T, PORTABLE, AVX2, AVX512)                                          \
    void NAME(int transA, int transB, long M, long N, long K, T alpha, const T *A, long lda,        \
              const T *B, long ldb, T beta, T *C, long ldc) {                                       \
        NAME##_at_level(ember_kernel_level_in_use(), transA, transB, M, N, K, alpha, A, lda, B,     \
                        ldb, beta, C, ldc);                                                         \
    }                                                                                               \
    /* Applies beta to C, except that with `storeFirst` and beta == 0 it leaves C alone: the      \
       driver's first block of K then stores without reading. Returns whether a product remains. */ \
    static int NAME##_scale(long M, long N, long K, T alpha, T beta, T *C, long ldc,               \
                            int storeFirst) {                                                       \
        if (M <= 0 || N <= 0) return 0;                                                             \
        int product = K > 0 && alpha != 0;                                                          \
        if (beta == 0) {                                                                            \
            if (!(storeFirst && product))                                                           \
                for (long i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(T));         \
        } else if (beta != 1) {                                                                     \
            for (long i = 0; i < M; i++)                                                            \
                for (long j = 0; j < N; j++) C[i * ldc + j] *= beta;                                \
        }                                                                                           \
        return product;                                                                             \
    }                                                                                               \
    void NAME##_at_level(ember_kernel_level requested, int transA, int transB, long M, long N,      \
                         long K, T alpha, const T *A, long lda, const T *B, long ldb, T beta, T *C, \
                         long ldc) {                                                                \
        /* Packing would cost more than the product. Ember's GEMM.tiny repeats this cut-off and   \
           loop in Swift for alpha 1 and beta 0, so that a tiny product from Swift makes no call. */ \
        int tiny = M * N * K <= 512;                                                                \
        if (!NAME##_scale(M, N, K, alpha, beta, C, ldc, 1)) return;                                 \
        count_flops(M, N, K);                                                                       \
        T driverBeta = beta == 0 ? 0 : 1;                                                           \
        ember_kernel_level level = clamp_level(requested);                                          \
        if (tiny) {                                                                                 \
            /* Each element as the micro-kernel forms it (one chain in the order of K from 0, or */ \
            /* from C when accumulating, fused where the level's kernel fuses), so that a tiny   */ \
            /* product has the bits a larger one would give its elements. */                        \
            int fused = level != EMBER_KERNEL_PORTABLE;                                             \
            for (long i = 0; i < M; i++)                                                            \
                for (long j = 0; j < N; j++) {                                                      \
                    T acc = driverBeta == 0 ? 0 : C[i * ldc + j];                                   \
                    for (long p = 0; p < K; p++) {                                                  \
                        T a = alpha * (transA ? A[p * lda + i] : A[i * lda + p]);                   \
                        T b = transB ? B[j * ldb + p] : B[p * ldb + j];                             \
                        if (fused) acc = __builtin_elementwise_fma(a, b, acc);                      \
                        else acc += a * b;                                                          \
                    }                                                                               \
                    C[i * ldc + j] = acc;                                                           \
                }                                                                                   \
            prefetch_queued(ember_prefetch_lines_queued());                                         \
            return;                                                                                 \
        }                                                                                           \
        long sizeA = PORTABLE##_packedASize, sizeB = PORTABLE##_packedBSize;                        \
        EMBER_GEMM_SIZES(AVX2, AVX512)                                                              \
        T *pa = scratch_reserve(&scratchA, (size_t)sizeA * sizeof(T));                              \
        T *pb = scratch_reserve(&scratchB, (size_t)sizeB * sizeof(T));                              \
        if (!pa || !pb) abort();                                                                    \
        EMBER_GEMM_TRANSPOSED(level, NAME, T, AVX2)                                                 \
        EMBER_AT_LEVEL(level, PORTABLE, AVX2, AVX512, NAME##_CALL_DRIVER);                          \
    }                                                                                               \
    long NAME##_packed_b_size(ember_kernel_level requested, long K, long N) {                       \
        if (K <= 0 || N <= 0) return 0;                                                             \
        ember_kernel_level level = clamp_level(requested);                                          \
        long size = 0;                                                                              \
        EMBER_AT_LEVEL(level, PORTABLE, AVX2, AVX512, NAME##_CALL_SIZE);                            \
        return size;                                                                                \
    }                                                                                               \
    void NAME##_pack_b(ember_kernel_level requested, int transB, long K, long N, const T *B,        \
                       long ldb, T *packed) {                                                       \
        NAME##_pack_b_part(requested, transB, K, N, B, ldb, packed, 0, 1);                          \
    }                                                                                               \
    void NAME##_pack_b_part(ember_kernel_level requested, int transB, long K, long N, const T *B,   \
                            long ldb, T *packed, long part, long parts) {                           \
        if (K <= 0 || N <= 0 || parts < 1 || part < 0 || part >= parts) return;                     \
        ember_kernel_level level = clamp_level(requested);                                          \
        EMBER_AT_LEVEL(level, PORTABLE, AVX2, AVX512, NAME##_CALL_PACK);                            \
    }                                                                                               \
    void NAME##_with_packed_b(ember_kernel_level requested, int transA, long M, long N, long K,     \
                              T alpha, const T *A, long lda, const T *packedB, T beta, T *C,        \
                              long ldc) {                                                           \
        if (!NAME##_scale(M, N, K, alpha, beta, C, ldc, 1)) return;                                 \
        count_flops(M, N, K);                                                                       \
        T driverBeta = beta == 0 ? 0 : 1;                                                           \
        ember_kernel_level level = clamp_level(requested);                                          \
        long sizeA = PORTABLE##_packedASize;                                                        \
        EMBER_GEMM_SIZE_A(AVX2, AVX512)                                                             \
        T *pa = scratch_reserve(&scratchA, (size_t)sizeA * sizeof(T));                              \
        if (!pa) abort();                                                                           \
        EMBER_AT_LEVEL(level, PORTABLE, AVX2, AVX512, NAME##_CALL_PACKED_DRIVER);                   \
    }

#if defined(__x86_64__)
#define EMBER_GEMM_SIZE_A(AVX2, AVX512)                                                             \
    if (AVX512##_packedASize > sizeA) sizeA = AVX512##_packedASize;                                 \
    if (AVX2##_packedASize > sizeA) sizeA = AVX2##_packedASize;
#define EMBER_GEMM_SIZES(AVX2, AVX512)                                                              \
    EMBER_GEMM_SIZE_A(AVX2, AVX512)                                                                 \
    if (AVX512##_packedBSize > sizeB) sizeB = AVX512##_packedBSize;                                 \
    if (AVX2##_packedBSize > sizeB) sizeB = AVX2##_packedBSize;
// The transposed form of a product (gemm_template.h's `transposed`), where the AVX2 single-
// precision instantiation picks it (the only one that defines GTRANSPOSES).
#define EMBER_GEMM_TRANSPOSED(level, NAME, T, AVX2)                                                 \
    if (EMBER_GEMM_HAS_TRANSPOSED_##T && level == EMBER_KERNEL_AVX2 &&                              \
        EMBER_GEMM_TRANSPOSES_##T(AVX2)) {                                                          \
        T *ct = scratch_reserve(&scratchC, (size_t)EMBER_GEMM_TRANSPOSED_SIZE_##T(AVX2) * sizeof(T)); \
        if (!ct) abort();                                                                           \
        EMBER_GEMM_CALL_TRANSPOSED_##T(AVX2);                                                       \
        return;                                                                                     \
    }
#define EMBER_GEMM_HAS_TRANSPOSED_float 1
#define EMBER_GEMM_TRANSPOSES_float(FN) FN##_transposes(transA, M, N, K, alpha, A, lda)
#define EMBER_GEMM_TRANSPOSED_SIZE_float(FN) FN##_transposedSize(M, N)
#define EMBER_GEMM_CALL_TRANSPOSED_float(FN) FN##_transposed(transB, M, N, K, A, lda, B, ldb, driverBeta, C, ldc, ct, pa, pb)
#define EMBER_GEMM_HAS_TRANSPOSED_double 0
#define EMBER_GEMM_TRANSPOSES_double(FN) 0
#define EMBER_GEMM_TRANSPOSED_SIZE_double(FN) 0
#define EMBER_GEMM_CALL_TRANSPOSED_double(FN) (void)0
#else
#define EMBER_GEMM_SIZE_A(AVX2, AVX512)
#define EMBER_GEMM_SIZES(AVX2, AVX512)
#define EMBER_GEMM_TRANSPOSED(level, NAME, T, AVX2)
#endif

// The calls EMBER_AT_LEVEL makes, one per entry point, with the instantiation's name as FN.
#define ember_sgemm_CALL_DRIVER(FN) FN(transA, transB, M, N, K, alpha, A, lda, B, ldb, driverBeta, C, ldc, pa, pb, NULL, 0)
#define ember_dgemm_CALL_DRIVER(FN) ember_sgemm_CALL_DRIVER(FN)
#define ember_sgemm_CALL_SIZE(FN) size = FN##_packedAllBSize(K, N)
#define ember_dgemm_CALL_SIZE(FN) ember_sgemm_CALL_SIZE(FN)
#define ember_sgemm_CALL_PACK(FN) FN##_packAllB(transB, B, ldb, K, N, packed, part, parts)
#define ember_dgemm_CALL_PACK(FN) ember_sgemm_CALL_PACK(FN)
#define ember_sgemm_CALL_PACKED_DRIVER(FN) FN(transA, 0, M, N, K, alpha, A, lda, NULL, 0, driverBeta, C, ldc, pa, NULL, packedB, 0)
#define ember_dgemm_CALL_PACKED_DRIVER(FN) ember_sgemm_CALL_PACKED_DRIVER(FN)

EMBER_GEMM_ENTRY(ember_sgemm, float, sgemm_portable, sgemm_avx2, sgemm_avx512)
EMBER_GEMM_ENTRY(ember_dgemm, double, dgemm_portable, dgemm_avx2, dgemm_avx512)

long ember_sgemm_k_block(ember_kernel_level level) {
#define ember_k_block_CALL(FN) return FN##_kBlock
    EMBER_AT_LEVEL(clamp_level(level), sgemm_portable, sgemm_avx2, sgemm_avx512, ember_k_block_CALL);
#undef ember_k_block_CALL
}
