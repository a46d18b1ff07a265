// CEmberKernels: the hot loops of Ember that benefit from explicit vector code.
// Nothing here knows about tensors or autograd; everything works on raw, row-major buffers.
#ifndef CEMBER_KERNELS_H
#define CEMBER_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels the kernels can run at. Higher levels are used only when the CPU and the
/// operating system support them.
typedef enum {
    EMBER_KERNEL_PORTABLE = 0, ///< plain C, compiled for the baseline target (SSE2 on x86-64)
    EMBER_KERNEL_AVX2 = 1,     ///< AVX2 + FMA (x86-64 only)
    EMBER_KERNEL_AVX512 = 2,   ///< AVX-512F (x86-64 only)
} ember_kernel_level;

/// The best level this CPU supports.
ember_kernel_level ember_kernel_best_level(void);
/// The level in use: the best supported one, or the one set by `EMBER_KERNEL=portable|avx2|avx512`
/// in the environment or by `ember_kernel_set_level` (clamped to what the CPU supports). When
/// `EMBER_KERNEL` asks for a level the CPU lacks, or is none of those names, the first call says on
/// stderr which level it uses instead (once per process; see `ember_kernel_choose`).
ember_kernel_level ember_kernel_level_in_use(void);

/// 1 when Ember set glibc's malloc thresholds as the library loaded (malloc_tuning.c: freed memory
/// stays mapped for the next training step), 0 when it did not: not glibc, or the program's
/// environment sets them (`MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TOP_PAD_`,
/// `GLIBC_TUNABLES`), or `EMBER_MALLOC_DEFAULTS` asks for glibc's defaults.
int ember_malloc_tuned(void);

/// The level that `EMBER_KERNEL=requested` gives on a CPU whose best level is `best`: the requested
/// one if the CPU has it, otherwise `best`. `requested` may be NULL or empty (not set: `best`, no
/// note). When the request cannot be followed, one line for stderr is written to `note` (at most
/// `note_size` bytes with the terminating zero, no newline), e.g. "ember: EMBER_KERNEL=avx512 asks
/// for AVX-512, which this CPU lacks; using avx2"; otherwise `note` is set to "". `note` may be NULL.
ember_kernel_level ember_kernel_choose(const char *requested, ember_kernel_level best, char *note, size_t note_size);
/// Forces a level (clamped to the supported one); returns the level now in use.
ember_kernel_level ember_kernel_set_level(ember_kernel_level level);

/// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major.
/// op(A) is A [M,K] with row stride lda, or, when transA != 0, the transpose of A [K,M] (row stride lda).
/// op(B) is B [K,N] with row stride ldb, or, when transB != 0, the transpose of B [N,K] (row stride ldb).
/// When beta == 0, C is not read (it may hold anything, NaN included).
void ember_sgemm(int transA, int transB, long M, long N, long K, float alpha,
                 const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc);
/// Double-precision version of `ember_sgemm`.
void ember_dgemm(int transA, int transB, long M, long N, long K, double alpha,
                 const double *A, long lda, const double *B, long ldb, double beta, double *C, long ldc);

/// `ember_sgemm` at a given level (clamped to what the CPU supports), for testing every path.
void ember_sgemm_at_level(ember_kernel_level level, int transA, int transB, long M, long N, long K,
                          float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                          float *C, long ldc);
/// `ember_dgemm` at a given level (clamped to what the CPU supports), for testing every path.
void ember_dgemm_at_level(ember_kernel_level level, int transA, int transB, long M, long N, long K,
                          double alpha, const double *A, long lda, const double *B, long ldb,
                          double beta, double *C, long ldc);

/// Queues the `bytes` bytes at `p` to be prefetched into the second-level cache during this
/// thread's next GEMM (`ember_sgemm`, `ember_dgemm` or their `_with_packed_b` forms): the driver
/// spreads one software prefetch per 64-byte line over its register tiles (PREFETCHW when `write`
/// is nonzero, for lines about to be stored to, else PREFETCHT1), so that the fetches run while the
/// product computes, and issues any left at its end. For data a recurrent step reads or writes
/// from memory right after its products (the gate cache the forward pass stored past the caches).
/// Up to 8 regions wait at once (more are dropped); nothing is read or changed, so no value can
/// differ. bytes <= 0 queues nothing.
void ember_prefetch_during_next_product(const void *p, long bytes, int write);
/// As `ember_prefetch_during_next_product`, for `rows` rows of `rowBytes` bytes each, `stride`
/// bytes apart from `p` (the rows of one time step in a batch-first [B, T, H] tensor). One region
/// of the 8. rowBytes <= 0 or rows <= 0 queues nothing.
void ember_prefetch_rows_during_next_product(const void *p, long rowBytes, long rows, long stride, int write);
/// The lines still queued on this thread by the two functions above: 0 after any
/// product with M, N and K above 0 and alpha not 0 (one with nothing to multiply leaves the queue
/// for the next).
long ember_prefetch_lines_queued(void);

/// Counting the products' floating-point operations, for measuring how close a workload runs to the
/// FMA peak (`ember-bench steps --roofline`). While counting is on (`on` nonzero; turning it on
/// starts from 0), every product `ember_sgemm`, `ember_dgemm` and their `_at_level` and
/// `_with_packed_b` forms compute, on any thread, adds 2·M·N·K (a multiply and an add per term,
/// the usual GEMM count) to a process-wide total, which `ember_gemm_flops_counted` returns. A
/// product with nothing to multiply (M, N or K 0, or alpha 0) adds nothing; neither do the products
/// of at most 512 terms that Ember's Swift code forms itself (`GEMM.tiny`) and the fused RNN
/// sequence kernel's. Off, it costs one relaxed load per product.
void ember_gemm_count_flops(int on);
long long ember_gemm_flops_counted(void);

/// Products that reuse one right-hand operand (a recurrence's weights at every time step) can pack
/// it once: `ember_sgemm_packed_b_size` gives the elements op(B) [K,N] needs when packed for
/// `level`, `ember_sgemm_pack_b` packs it into a 64-byte-aligned buffer of that size, and
/// `ember_sgemm_with_packed_b` computes C[M,N] = alpha * op(A)[M,K] * op(B) + beta * C from it.
/// The three calls must be given the same level (each clamps it to what the CPU supports); the
/// results are bitwise those of `ember_sgemm_at_level` with op(B) unpacked (above its tiny cutoff).
long ember_sgemm_packed_b_size(ember_kernel_level level, long K, long N);
void ember_sgemm_pack_b(ember_kernel_level level, int transB, long K, long N, const float *B,
                        long ldb, float *packed);
/// Part `part` (0 ..< `parts`) of `ember_sgemm_pack_b`: a share of the packed elements, disjoint
/// from the other parts' and together with them the whole, so that threads can pack one B at once.
void ember_sgemm_pack_b_part(ember_kernel_level level, int transB, long K, long N, const float *B,
                             long ldb, float *packed, long part, long parts);
void ember_sgemm_with_packed_b(ember_kernel_level level, int transA, long M, long N, long K,
                               float alpha, const float *A, long lda, const float *packedB,
                               float beta, float *C, long ldc);
/// Double-precision versions of the packed-operand calls.
long ember_dgemm_packed_b_size(ember_kernel_level level, long K, long N);
void ember_dgemm_pack_b(ember_kernel_level level, int transB, long K, long N, const double *B,
                        long ldb, double *packed);
void ember_dgemm_pack_b_part(ember_kernel_level level, int transB, long K, long N, const double *B,
                             long ldb, double *packed, long part, long parts);
void ember_dgemm_with_packed_b(ember_kernel_level level, int transA, long M, long N, long K,
                               double alpha, const double *A, long lda, const double *packedB,
                               double beta, double *C, long ldc);

/// y[i] = e^x[i] for i < n, vectorised (within 2 ulp of the C library where the result is a
/// normal float; +inf above 88.72, 0 where the result would be subnormal). x and y may alias.
void ember_vexpf(const float *x, float *y, long n);
/// y[i] = tanh(x[i]) for i < n, vectorised (relative error below 1e-6). x and y may alias.
void ember_vtanhf(const float *x, float *y, long n);
/// y[i] = 1 / (1 + e^-x[i]) for i < n, vectorised (relative error below 1e-6). x and y may alias.
void ember_vsigmoidf(const float *x, float *y, long n);
/// The same at a given level (clamped to what the CPU supports), for testing every path.
void ember_vexpf_at_level(ember_kernel_level level, const float *x, float *y, long n);
void ember_vtanhf_at_level(ember_kernel_level level, const float *x, float *y, long n);
void ember_vsigmoidf_at_level(ember_kernel_level level, const float *x, float *y, long n);

/// Ember's own elementary functions (Sources/CEmberKernels/emath.c), used wherever a transcendental
/// function's result feeds training or initialisation, so that those give the same bits with any C
/// library on any CPU. Each is a fixed sequence of IEEE-754 round-to-nearest operations with no fused
/// multiply-add (contraction off): the same bits on x86-64 (every kernel level, the portable one
/// included) and arm64, and no dependence on the kernel level. The double algorithms and coefficients
/// are fdlibm's (Sun, 1993): Cody-Waite reduction by ln 2 or π/2 and minimax polynomials. Errors
/// measured against x86-64 long double libm over 200 000 dense and random points per range (Tests/
/// KernelHashes/ulp_sweep.c): exp 0.85 ulp over [-745, 709.78]; log 0.80 ulp (subnormals included);
/// log1p 1.2 ulp; cos and sin 0.78 ulp for |x| < 1e5. The float functions evaluate those in double
/// and round once: within 0.5 ulp plus about 2^-20 ulp of the exact result (at most 0.500000 ulp
/// measured against double libm over every 64th float, 67 million inputs, each function). Special values are C99's: exp(+inf) = +inf,
/// exp(-inf) = 0, overflow to +inf above 709.78 (88.72 in float), results below the smallest
/// subnormal round to 0 (subnormal results are produced); log(±0) = -inf, log(x < 0) = NaN,
/// log(+inf) = +inf; NaN in, NaN out.
///
/// e^x: x = k·ln2 + r, e^r = 1 + r + r·c/(2 - c) with c = r - r²·P(r²), P of degree 4.
double ember_exp(double x);
/// log x: x = 2^k·(1 + f), 1 + f in [√2/2, √2), log(1 + f) = f - f²/2 + s·(f²/2 + R(s²)) with
/// s = f/(2 + f), R of degree 7 in s². Subnormal x are scaled by 2^54 first.
double ember_log(double x);
/// log(1 + x): log(u) - ((u - 1) - x)/u with u = 1 + x rounded (the second term restores what the
/// rounding of u lost); x when 1 + x rounds to 1.
double ember_log1p(double x);
/// cos x, sin x: x = n·π/2 + y with π/2 in three 33-bit pieces (exact for |x| < 2^20·π/2 ≈ 1.6e6),
/// then fdlibm's degree-14 (cos) and degree-13 (sin) minimax polynomials on [-π/4, π/4].
/// Beyond 2^20·π/2 they call the C library's cos and sin (Ember never does: its seeded normal draws
/// take cos of [0, 2π)); ±inf and NaN give NaN.
double ember_cos(double x);
double ember_sin(double x);
/// x^n for an integer n (Adam's bias corrections β^t, StepLR's γ^k): binary powering in
/// double-double (Dekker's exact products, no FMA), rounded once: within 0.5005 ulp of x86-64's
/// long double powl (whose own error is about 0.0005 ulp) in 1 000 000 random cases (|n| < 100 000;
/// glibc's pow was more than 0.5 ulp off in 416 of them). Results beyond 2^±980 go through ember_exp(n·ember_log|x|) (relative error up to about
/// |n·log x|·2^-52 there). For n < 0 the double-double is inverted before rounding. x^0 = 1 (NaN too).
double ember_powi(double x, long n);
/// e^x, log x, log(1 + x) in float: the double functions, rounded once to float.
float ember_expf(float x);
float ember_logf(float x);
float ember_log1pf(float x);
/// tanh x in float: x itself for |x| < 2^-12 (where tanh rounds to x), ±1 for |x| >= 20, else
/// (e - 1)/(e + 1) with e = ember_exp(2|x|) in double, rounded once (0.5000 ulp measured).
float ember_tanhf(float x);
/// x^y in float: ember_exp(y·ember_log|x|) in double, rounded once (the double exponent's error is at
/// most about 2^-44 relative for any result in float's range), the sign from an odd integer y.
/// Special cases as C99's powf: x^0 = 1 and 1^y = 1 even for NaN; (-1)^±inf = 1; NaN for a finite
/// negative x with a non-integer y; ±0 and ±inf bases give ±0 or ±inf by the sign of y and its parity.
float ember_powf(float x, float y);

/// One Adam/AdamW step over n floats in place (p, m, v and, with amsgrad, vMax), rounded as PyTorch's
/// CPU kernels round it: m = lerp(m, g, w1) (fused), v = fma(w2·g, g, v·beta2),
/// p += (nss·m) / (sqrt(v̂) / c2 + eps) with nss the negative step size. Bitwise equal on every level.
void ember_adam_f(ember_kernel_level level, long n, float *p, const float *g, float *m, float *v,
                  float *vMax, int amsgrad, float w1, float beta2, float w2, float c2, float eps,
                  float nss);

/// Fused elementwise math of one recurrent time step over `n` rows of `H` hidden units, in float.
/// Row b of a [n, G·H] or [n, H] argument starts at b·G·H or b·H; only `out` (the gradient flowing
/// into this step's output) has its own row stride. Gates are stored activated, in PyTorch's order.
/// Each computes exactly what Ember's plain step code computes, bit for bit at the same level.
///
/// The forward kernels take the biases of both projections, bih and bhh ([G·H], either may be NULL
/// for none): each pre-activation is (xw + bih) + (gh + bhh), bit for bit what adding each bias row
/// in a pass of its own and then calling the kernel without biases gives.
///
/// The forward kernels' `streamed` (1 or 0): whether the gates (and GRU's hn) are a cache that only a
/// backward pass reads, long after. Then their whole vectors at addresses a multiple of the vector's
/// size are stored past the caches (non-temporal stores, fenced before the kernel returns); the
/// values are the same either way.
///
/// LSTM forward: gates = (σ, σ, tanh, σ)(xw + gh) as i, f, g, o; c = f·cPrev + i·g;
/// h = o·tanh(c). xw, gh, gates: [n, 4H]; cPrev, c, h: [n, H].
void ember_lstm_forward_f(ember_kernel_level level, long n, long H, const float *xw, const float *bih,
                          const float *gh, const float *bhh, const float *cPrev, float *gates,
                          float *c, float *h, int streamed);
/// LSTM backward: from dh (carried) + out, writes the pre-activation gradients dz [n, 4H] and
/// updates dc [n, H] in place to the gradient of cPrev. c is the step's cell state [n, H], whose
/// tanh it recomputes (the forward step's bits: the same function of the same values).
void ember_lstm_backward_f(ember_kernel_level level, long n, long H, const float *dh,
                           const float *out, long outStride, const float *gates, const float *c,
                           const float *cPrev, float *dc, float *dz);
/// GRU forward: r, z = σ(xw + gh); n = tanh(xw_n + r·gh_n); h = (1 - z)·n + z·hPrev. Writes gates
/// (r, z, n) [n, 3H], hn = gh_n (with its bias) [n, H] and h [n, H].
void ember_gru_forward_f(ember_kernel_level level, long n, long H, const float *xw, const float *bih,
                         const float *gh, const float *bhh, const float *hPrev, float *gates,
                         float *hn, float *h, int streamed);
/// GRU backward: writes the gradients of the input-side pre-activations dzx [n, 3H], of the
/// hidden-side ones dzh [n, 3H] and the direct part of hPrev's gradient, direct = dh_t·z [n, H].
void ember_gru_backward_f(ember_kernel_level level, long n, long H, const float *dh,
                          const float *out, long outStride, const float *gates, const float *hn,
                          const float *hPrev, float *dzx, float *dzh, float *direct);
/// tanh (relu = 0) or ReLU (relu = 1) RNN backward: dz = (dh + out)·(1 - h²), or (dh + out)
/// where h <= 0 is false (h > 0 or NaN: PyTorch's threshold_backward) and 0 elsewhere. h, dz: [n, H].
void ember_rnn_backward_f(ember_kernel_level level, int relu, long n, long H, const float *dh,
                          const float *out, long outStride, const float *h, float *dz);
/// tanh (relu = 0) or ReLU (relu = 1) RNN evaluation step in place over n rows ldy apart:
/// y = act((y + bih) + (gh + bhh)), with y holding x·W_ihᵀ on entry; a NULL bias is left out.
/// y: [n, H] rows ldy apart, gh: [n, H], biases: [H].
void ember_rnn_forward_f(ember_kernel_level level, int relu, long n, long H, float *y, long ldy,
                         const float *gh, const float *bih, const float *bhh);

/// A one-layer, one-direction tanh (relu = 0) or ReLU RNN evaluated over T steps for n rows:
/// y_t = act((x_t·W_ihᵀ + bih) + (h_{t-1}·W_hhᵀ + bhh)), h_{-1} = h0 (zeros when NULL), every h_t
/// written into y, where the next step reads it. Each value is bitwise what `ember_sgemm_at_level`
/// products followed by `ember_rnn_forward_f` give at the same level. Row (b, t) of x [.., I] is at
/// x + b·ldxb + t·ldxt and of y [.., H] at y + b·ldyb + t·ldyt; wih: [H, I], whh: [H, H] as stored
/// (row-major), bih/bhh: [H] or NULL, h0: [n, H] or NULL. Returns 0 without doing anything when
/// I or H exceeds the GEMM's K block at this level (`ember_sgemm_k_block`), else 1.
int ember_rnn_sequence_f(ember_kernel_level level, int relu, long n, long T, long I, long H,
                         const float *x, long ldxb, long ldxt, const float *wih, const float *whh,
                         const float *bih, const float *bhh, const float *h0, float *y, long ldyb,
                         long ldyt);

/// The largest I and H `ember_rnn_sequence_f` takes at `level` (clamped): the depth of one block of
/// K in `ember_sgemm` there, except on AVX2, whose GEMM blocks K by 1024 but whose fused kernel
/// keeps the limit of 256 it was measured with. Every product of `ember_sgemm` is one chain of
/// multiply-adds per element, whatever its K.
long ember_sgemm_k_block(ember_kernel_level level);

/// Runs `iterations` rounds of independent single-precision fused multiply-adds at the widest level
/// in use and returns the number of floating-point operations done (2 per lane per FMA).
/// `sink` receives a value derived from the result so the work cannot be optimised away.
double ember_fma_peak_probe(long iterations, float *sink);

#ifdef __cplusplus
}
#endif

#endif
