// One GEMM (packing, micro-kernel, blocked driver) instantiated per element type and instruction
// set by gemm.c. Parameters, all defined by the includer:
//   GT       element type (float or double)
//   GVB      vector width in bytes (16, 32 or 64)
//   GMR      rows of C per micro-tile
//   GNV      vectors per micro-tile row (the tile is GMR x GNV*lanes)
//   GKC,GMC,GNC  cache blocking of K, M and N (GMC a multiple of GMR)
//   GATTR    function attributes (target("avx2,fma") ...), may be empty
//   GFMA(acc, a, b)  acc += a * b on vectors (fused where the instruction set has it)
//   GNAME    name of the public driver to define
//   GFULLTILE(kc, a, lda, form, b, ldb, c, ldc, accumulate)  optional: a hand-written kernel for whole
//            GMR x GNR tiles, with microRows's arguments and results
//   GPACKBT(src, ldb, kc, panel)  optional: packs a whole panel of a transposed B (see packB)
//   GKBLOCK  optional: the depth `ember_sgemm_k_block` reports, when not GKC (see kBlock)
//   GKCALIGNEDB  optional: the block of K when the driver reads B in place for `transposed`
//            (`alignedB`), when not GKC
//   GTRANSPOSES  optional: defined, products that `transposes` picks are formed transposed
// All of them are undefined again at the end of this file.
#ifndef GKCALIGNEDB
#define GKCALIGNEDB GKC
#endif
#define GCAT2(a, b) a##_##b
#define GCAT(a, b) GCAT2(a, b)
#define GVEC GCAT(GNAME, vec)
#define GUVEC GCAT(GNAME, uvec)
#define GLANES ((long)(GVB / sizeof(GT)))
#define GNR (GNV * GLANES)
// How much longer than a block of K the rows of a copied A are (see the driver).
#define GAPAD 16
// Where A's values are for the micro-kernel (see microRows).
#define GFORM_PACKED 0
#define GFORM_ROWS 1
#define GFORM_COLUMNS 2

typedef GT GVEC __attribute__((vector_size(GVB)));
typedef GT GUVEC __attribute__((vector_size(GVB), aligned(sizeof(GT))));

// Packs op(B)[pc ..< pc+kc, jc ..< jc+nc] into panels of GNR columns: panel jr holds kc rows of GNR
// values, zero padded past nc.
GATTR static void GCAT(GNAME, packB)(int transB, const GT *B, long ldb, long pc, long jc, long kc,
                                     long nc, GT *restrict dst) {
    if (!transB) {
        // Sixteen rows of B at a time, and within them panel by panel, in vector moves: each panel's
        // sixteen rows are one run of stores, and the sixteen rows read stay in L1. Dealing each whole
        // row out to every panel instead sent the stores to as many streams as panels, kc·GNR values
        // apart (8 KiB for kc = 128 on AVX2, so all in a few L1 sets): 64x128 · 128x512 ran at 91
        // GFLOP/s packed that way against 106 (AVX2 on Zen 5, BENCHMARKS.md).
        for (long p0 = 0; p0 < kc; p0 += 16) {
            long pEnd = p0 + 16 < kc ? p0 + 16 : kc;
            long jr = 0;
            for (; jr + GNR <= nc; jr += GNR) {
                GT *d = dst + jr * kc;
                const GT *src = B + pc * ldb + jc + jr;
                for (long p = p0; p < pEnd; p++)
                    _Pragma("clang loop unroll(full)") for (long v = 0; v < GNV; v++)
                        *(GVEC *)(d + p * GNR + v * GLANES) = *(const GUVEC *)(src + p * ldb + v * GLANES);
            }
            if (jr < nc) {
                GT *d = dst + jr * kc;
                const GT *src = B + pc * ldb + jc + jr;
                for (long p = p0; p < pEnd; p++) {
                    long j = 0;
                    for (; j < nc - jr; j++) d[p * GNR + j] = src[p * ldb + j];
                    for (; j < GNR; j++) d[p * GNR + j] = 0;
                }
            }
        }
        return;
    }
    // Transposed: strided stores, left scalar. Vectorized, they become scatters, which are slow
    // here (BENCHMARKS.md).
    for (long jr = 0; jr < nc; jr += GNR) {
        long w = nc - jr < GNR ? nc - jr : GNR;
        GT *panel = dst + jr * kc;
#ifdef GPACKBT
        if (w == GNR) {
            GPACKBT(B + (jc + jr) * ldb + pc, ldb, kc, panel);
            continue;
        }
#endif
        for (long j = 0; j < GNR; j++) {
            if (j < w) {
                const GT *src = B + (jc + jr + j) * ldb + pc;
                _Pragma("clang loop vectorize(disable)") for (long p = 0; p < kc; p++) panel[p * GNR + j] = src[p];
            } else {
                _Pragma("clang loop vectorize(disable)") for (long p = 0; p < kc; p++) panel[p * GNR + j] = 0;
            }
        }
    }
}

// Rows of the tile that starts `rest` rows before the end of a block of M: GMR, except that the
// last GMR + 1 or GMR + 2 rows are two tiles of about equal height, not a whole tile and one of one
// or two rows. Such a tile has two or four accumulators, too few to cover the FMA's latency: it
// ran at half the rate of the others or less (BENCHMARKS.md).
static inline long GCAT(GNAME, tileRows)(long rest) {
    return rest > GMR && rest < GMR + 3 ? (rest + 1) / 2 : rest < GMR ? rest : GMR;
}

// While packing row p of a transposed A (rows lda apart, kc of them), asks for `bytes` bytes of the
// row 16 ahead, from `src`'s column on: the hardware does not prefetch such strided reads
// (BENCHMARKS.md).
static inline __attribute__((always_inline)) void GCAT(GNAME, prefetchRowAhead)(const GT *src, long lda, long p,
                                                                                 long kc, long bytes) {
    if (p + 16 >= kc) return;
    const char *ahead = (const char *)(src + 16 * lda);
    for (long offset = 0; offset < bytes; offset += 64) __builtin_prefetch(ahead + offset);
}

// packA's transposed A with alpha 1, for the first `tiles` tiles, all whole (GMR rows): at each step
// of K a straight copy of GMR values per tile from one row of the stored A, prefetched as packA's.
// Out of line, so that its loop keeps its pointers in registers: inlined into the driver, the loop
// spilled them, re-derived each tile's height, and ran at half the speed (BENCHMARKS.md).
GATTR __attribute__((noinline)) static void GCAT(GNAME, packATransposedTiles)(const GT *A, long lda, long kc,
                                                                              long tiles, GT *restrict dst) {
    const long panel = GMR * kc;
    for (long p = 0; p < kc; p++) {
        const GT *src = A + p * lda;
        GCAT(GNAME, prefetchRowAhead)(src, lda, p, kc, tiles * GMR * (long)sizeof(GT));
        GT *d = dst + p * GMR;
        for (long t = 0; t < tiles; t++) __builtin_memcpy(d + t * panel, src + t * GMR, GMR * sizeof(GT));
    }
}

// Packs alpha * op(A)[ic ..< ic+mc, pc ..< pc+kc] into one panel per tile (tileRows): the panel
// of the tile of h rows at row ir starts at ir * kc and holds kc columns of h values.
GATTR static void GCAT(GNAME, packA)(int transA, const GT *A, long lda, long ic, long pc, long mc,
                                     long kc, GT alpha, GT *restrict dst) {
    if (transA) {
        // Row p of the stored A holds column p of op(A): read each row once, front to back, and
        // deal its values out to the panels (reading panel by panel would stride through the rows
        // once per panel).
        // The rows are far apart (a weight gradient's dG has 4H values per row): each row's part is
        // prefetched 16 rows ahead (prefetchRowAhead). With alpha 1 the leading whole tiles are
        // copied by packATransposedTiles, the rest here.
        long first = 0;
        if (alpha == 1) {
            long tiles = 0;
            while (tiles * GMR < mc && GCAT(GNAME, tileRows)(mc - tiles * GMR) == GMR) tiles++;
            if (tiles > 0) GCAT(GNAME, packATransposedTiles)(A + pc * lda + ic, lda, kc, tiles, dst);
            first = tiles * GMR;
        }
        for (long p = 0; first < mc && p < kc; p++) {
            const GT *src = A + (pc + p) * lda + ic;
            GCAT(GNAME, prefetchRowAhead)(src + first, lda, p, kc, (mc - first) * (long)sizeof(GT));
            for (long ir = first, h; ir < mc; ir += h) {
                h = GCAT(GNAME, tileRows)(mc - ir);
                GT *d = dst + ir * kc + p * h;
                if (h == GMR) {
                    _Pragma("clang loop unroll(full)") for (long i = 0; i < GMR; i++) d[i] = alpha * src[ir + i];
                } else {
                    for (long i = 0; i < h; i++) d[i] = alpha * src[ir + i];
                }
            }
        }
        return;
    }
    for (long ir = 0, h; ir < mc; ir += h) {
        h = GCAT(GNAME, tileRows)(mc - ir);
        GT *panel = dst + ir * kc;
        if (h == GMR) {
            // A whole panel column by column, so the writes are sequential. Left scalar: the
            // vectorizer turns the twelve stores into scatters, which are slower here.
            const GT *rows = A + (ic + ir) * lda + pc;
            _Pragma("clang loop vectorize(disable)") for (long p = 0; p < kc; p++) {
                _Pragma("clang loop unroll(full)") for (long i = 0; i < GMR; i++)
                    panel[p * GMR + i] = alpha * rows[i * lda + p];
            }
            continue;
        }
        for (long i = 0; i < h; i++) {
            const GT *src = A + (ic + ir + i) * lda + pc;
            _Pragma("clang loop vectorize(disable)") for (long p = 0; p < kc; p++) panel[p * h + i] = alpha * src[p];
        }
    }
}

// C[0..<rows, 0..<nr] (+)= A (rows x kc) times b-panel (kc x GNR, rows ldb apart: GNR when packed);
// accumulators stay in registers, and with `accumulate` they start from C.
// `form` says where A's value (i, p) is: GFORM_PACKED a[p * rows + i] (a packed panel of `rows` rows,
// see packA), GFORM_ROWS a[i * lda + p] (read in place), GFORM_COLUMNS a[p * lda + i] (a
// transposed A read in place). Always inlined with constant `rows` and `form`, so every row count
// and every form of A get their own fully unrolled kernel, and a partial tile costs only its rows.
GATTR static inline __attribute__((always_inline)) void GCAT(GNAME, microRows)(
    long kc, const GT *restrict a, long lda, const int form, const GT *restrict b, long ldb,
    GT *restrict c, long ldc, const int rows, long nr, int accumulate) {
    // The accumulators start from C when accumulating (a later block of K, or beta != 0), so that
    // every element of C is one chain of multiply-adds over all of K, in order, from its initial
    // value: the same bits whatever the blocking of K, the tile shape or the vector width.
    GVEC acc[GMR][GNV];
    if (accumulate && nr == GNR) {
        _Pragma("clang loop unroll(full)") for (int i = 0; i < rows; i++)
            _Pragma("clang loop unroll(full)") for (int v = 0; v < GNV; v++)
                acc[i][v] = *(const GUVEC *)(c + i * ldc + v * GLANES);
    } else if (accumulate) {
        _Pragma("clang loop unroll(full)") for (int i = 0; i < rows; i++) {
            GVEC tile[GNV];
            _Pragma("clang loop unroll(full)") for (int v = 0; v < GNV; v++) tile[v] = (GVEC){0};
            GT *t = (GT *)tile;
            for (long j = 0; j < nr; j++) t[j] = c[i * ldc + j];
            _Pragma("clang loop unroll(full)") for (int v = 0; v < GNV; v++) acc[i][v] = tile[v];
        }
    } else {
        _Pragma("clang loop unroll(full)") for (int i = 0; i < rows; i++)
            _Pragma("clang loop unroll(full)") for (int v = 0; v < GNV; v++) acc[i][v] = (GVEC){0};
    }
    for (long p = 0; p < kc; p++) {
        GVEC bv[GNV];
        _Pragma("clang loop unroll(full)") for (int v = 0; v < GNV; v++)
            bv[v] = *(const GUVEC *)(b + p * ldb + v * GLANES);
        _Pragma("clang loop unroll(full)") for (int i = 0; i < rows; i++) {
            // Splatted by the vector arithmetic below.
            GT ai = form == GFORM_ROWS ? a[i * lda + p] : form == GFORM_COLUMNS ? a[p * lda + i] : a[p * rows + i];
            _Pragma("clang loop unroll(full)") for (int v = 0; v < GNV; v++) GFMA(acc[i][v], ai, bv[v]);
        }
    }
    if (nr == GNR) {
        _Pragma("clang loop unroll(full)") for (int i = 0; i < rows; i++)
            _Pragma("clang loop unroll(full)") for (int v = 0; v < GNV; v++) *(GUVEC *)(c + i * ldc + v * GLANES) = acc[i][v];
    } else {
        // Unrolled like the rest, so the accumulators are never indexed by a variable (which would
        // put them all in memory, zeroed by a call to memset, for every partial tile).
        _Pragma("clang loop unroll(full)") for (int i = 0; i < rows; i++) {
            GVEC tile[GNV];
            _Pragma("clang loop unroll(full)") for (int v = 0; v < GNV; v++) tile[v] = acc[i][v];
            const GT *t = (const GT *)tile;
            for (long j = 0; j < nr; j++) c[i * ldc + j] = t[j];
        }
    }
}

// Dispatches a tile of mr <= GMR rows to the kernel unrolled for exactly that many rows and for
// A's form (see microRows).
GATTR static void GCAT(GNAME, micro)(long kc, const GT *restrict a, long lda, int form, const GT *restrict b,
                                     long ldb, GT *restrict c, long ldc, long mr, long nr, int accumulate) {
#ifdef GFULLTILE
    // A whole tile goes to the instruction set's own hand-written kernel when it has one.
    if (mr == GMR && nr == GNR) {
        GFULLTILE(kc, a, lda, form, b, ldb, c, ldc, accumulate);
        return;
    }
#endif
#define GROWS(n, form)                                                                             \
    case n:                                                                                        \
        if (n <= GMR) GCAT(GNAME, microRows)(kc, a, lda, form, b, ldb, c, ldc, n, nr, accumulate);      \
        return;
#define GFORM_CASES(form)                                                                          \
    switch (mr) {                                                                                  \
        GROWS(1, form) GROWS(2, form) GROWS(3, form) GROWS(4, form) GROWS(5, form) GROWS(6, form)  \
        GROWS(7, form) GROWS(8, form) GROWS(9, form) GROWS(10, form) GROWS(11, form) GROWS(12, form) \
    }
    if (form == GFORM_PACKED) {
        GFORM_CASES(GFORM_PACKED)
    } else if (form == GFORM_ROWS) {
        GFORM_CASES(GFORM_ROWS)
    } else {
        GFORM_CASES(GFORM_COLUMNS)
    }
#undef GFORM_CASES
#undef GROWS
}

// Where block (jc, pc) of a whole packed op(B) [K, N] starts: every block of GNC columns before it
// holds K x GNC values, and within its column block every block of GKC rows before it holds GKC x nc
// values (nc rounded up to whole panels).
#define GPACKED_OFFSET(jc, pc, nc, K) ((jc) * (K) + (pc) * ((((nc) + GNR - 1) / GNR) * GNR))

// Packs all of op(B) [K, N] once, block by block in the order the driver visits them, so products
// that reuse the same B (one per time step of a recurrence) skip packing it again. Part `part` of
// `parts` packs its share of each block's panels only (a contiguous run of them), so that threads can
// pack one B together: the parts write disjoint elements, and all of them make the whole.
GATTR static void GCAT(GNAME, packAllB)(int transB, const GT *B, long ldb, long K, long N,
                                        GT *restrict dst, long part, long parts) {
    for (long jc = 0; jc < N; jc += GNC) {
        long nc = N - jc < GNC ? N - jc : GNC;
        long panels = (nc + GNR - 1) / GNR;
        long first = panels * part / parts, end = panels * (part + 1) / parts;
        if (first == end) continue;
        long width = (end * GNR < nc ? end * GNR : nc) - first * GNR;
        for (long pc = 0; pc < K; pc += GKC) {
            long kc = K - pc < GKC ? K - pc : GKC;
            // Panel jr of the block lies jr·kc values in: these panels, packed as a block of their
            // own from column jc + first·GNR, land where the whole block's would.
            GCAT(GNAME, packB)(transB, B, ldb, pc, jc + first * GNR, kc, width,
                               dst + GPACKED_OFFSET(jc, pc, nc, K) + first * GNR * kc);
        }
    }
}

// Elements a whole packed op(B) [K, N] needs.
static long GCAT(GNAME, packedAllBSize)(long K, long N) { return K * (((N + GNR - 1) / GNR) * GNR); }

// The blocked driver. `prepackedB`, when not NULL, is op(B) packed by packAllB (and B, transB and
// packedB are unused); otherwise each block of B is packed into packedB as it is reached.
// `alignedB` (see transposed) reads a B of whole panels in place whatever its size and spacing.
GATTR static void GNAME(int transA, int transB, long M, long N, long K, GT alpha, const GT *A,
                        long lda, const GT *B, long ldb, GT beta, GT *C, long ldc,
                        GT *packedA, GT *packedB, const GT *prepackedB, int alignedB) {
    // A is read in place, unpacked, when it needs no transposing or scaling, unless its rows are
    // short (K < 64) and each is reused across many panels of B: then a packed copy reads faster.
    // Rows a multiple of 4 KiB apart all fall in the same L1 set, so the tile's rows evict each
    // other: such an A is packed. (Measurements of both rules: BENCHMARKS.md.)
    // B is read in place too when it is small (its packed copy would cost about as much as the
    // product's own reads of it), needs no transposing, holds whole panels, and its rows are not
    // a multiple of 512 bytes apart: a panel's kc rows would then fall in 1/8 or fewer of L1's
    // sets and evict each other (at 4 KiB, see A; the weight gradient dW_hh = dGᵀ·H with H's rows
    // 128 floats apart ran at 73 % of the FMA peak read in place and 78 % packed, AVX2 on Zen 4).
    int directB = !prepackedB && !transB && N % GNR == 0 && K * N * (long)sizeof(GT) <= (1L << 20) &&
                  (ldb * (long)sizeof(GT)) % 512 != 0;
    if (alignedB && !prepackedB && !transB && N % GNR == 0) directB = 1;
    int directA = !transA && alpha == 1 && (K >= 64 || N <= 64) && (lda * (long)sizeof(GT)) % 4096 != 0;
    // A transposed A is read in place too, a column of GMR values per step of K, when few panels of
    // B reuse it (N at most two panels, as the input weights' gradient dW_ih = dGᵀ·X with 28 inputs):
    // packing it would then cost as much as the product (AVX2 on Zen 4: dW_ih at 47 % of the FMA
    // peak packed).
    int columnsA = transA && alpha == 1 && N <= 2 * GNR;
    // The block of K. A B read in place for `transposed` has rows far apart, so a deep block's
    // panel spans many pages (1024 rows of dW_ih's dG, 2 KiB apart, span 512 pages).
    const long kcBlock = alignedB ? GKCALIGNEDB : GKC;
    // Queued prefetches (ember_prefetch_during_next_product), a share after each register tile.
    long prefetches = ember_prefetch_lines_queued(), perTile = 0;
    if (prefetches > 0) {
        long tiles = ((M + GMR - 1) / GMR) * ((N + GNR - 1) / GNR) * ((K + kcBlock - 1) / kcBlock);
        perTile = (prefetches + tiles - 1) / tiles;
    }
    for (long jc = 0; jc < N; jc += GNC) {
        long nc = N - jc < GNC ? N - jc : GNC;
        for (long pc = 0; pc < K; pc += kcBlock) {
            long kc = K - pc < kcBlock ? K - pc : kcBlock;
            const GT *bBlock;
            long bStride = GNR;
            if (directB) {
                bBlock = B + pc * ldb + jc;
                bStride = ldb;
            } else if (prepackedB) {
                bBlock = prepackedB + GPACKED_OFFSET(jc, pc, nc, K);
            } else {
                GCAT(GNAME, packB)(transB, B, ldb, pc, jc, kc, nc, packedB);
                bBlock = packedB;
            }
            int accumulate = pc > 0 || beta != 0;
            for (long ic = 0; ic < M; ic += GMC) {
                long mc = M - ic < GMC ? M - ic : GMC;
                // An A that would be read in place but for its rows' 4 KiB spacing is copied row by row
                // into rows GAPAD values longer, and read in place from there: a plain copy costs less
                // than packing (BENCHMARKS.md), and the kernel reads the same values.
                int copiedA = !directA && !transA && alpha == 1 && kc >= 64;
                const long copiedLda = kc + GAPAD;
                if (copiedA) {
                    for (long i = 0; i < mc; i++) memcpy(packedA + i * copiedLda, A + (ic + i) * lda + pc, (size_t)kc * sizeof(GT));
                } else if (!directA && !columnsA) {
                    GCAT(GNAME, packA)(transA, A, lda, ic, pc, mc, kc, alpha, packedA);
                }
                for (long jr = 0; jr < nc; jr += GNR) {
                    long nr = nc - jr < GNR ? nc - jr : GNR;
                    for (long ir = 0, mr; ir < mc; ir += mr) {
                        mr = GCAT(GNAME, tileRows)(mc - ir);
                        const GT *a = directA ? A + (ic + ir) * lda + pc : copiedA ? packedA + ir * copiedLda
                                    : columnsA ? A + pc * lda + ic + ir : packedA + ir * kc;
                        GCAT(GNAME, micro)(kc, a, directA ? lda : copiedA ? copiedLda : columnsA ? lda : 0,
                                           directA || copiedA ? GFORM_ROWS : columnsA ? GFORM_COLUMNS : GFORM_PACKED,
                                           bBlock + (directB ? jr : jr * kc), bStride, C + (ic + ir) * ldc + jc + jr, ldc,
                                           mr, nr, accumulate);
                        if (perTile) prefetch_queued(perTile);
                    }
                }
            }
        }
    }
    if (perTile) prefetch_queued(prefetches);
}

#ifdef GTRANSPOSES
// Whether `transposed` forms this product: op(A) = Aᵀ stored [K, M] with many columns whose rows
// are whole cache lines apart, alpha 1, and N a few values past whole panels (at most two panels,
// as dW_ih = dGᵀ·X with 28 inputs), where the columns of C past the last whole panel would waste
// their panel's other lanes (28 of 32 used, at most 87.5 % of the peak).
static int GCAT(GNAME, transposes)(int transA, long M, long N, long K, GT alpha, const GT *A, long lda) {
    return transA && alpha == 1 && N % GNR != 0 && N < 2 * GNR && M >= 4 * GNR && K >= 128 &&
           (lda * (long)sizeof(GT)) % 64 == 0 && (uintptr_t)A % sizeof(GT) == 0;
}

// Elements of scratch that `transposed` needs (`ct`): Cᵀ, and a block of K of the edge columns of A
// with their columns of Cᵀ (at most two panels each).
static long GCAT(GNAME, transposedSize)(long M, long N) { return N * (M + GAPAD) + (GKC + N) * 2 * GNR; }

// Forms C = Aᵀ·op(B) as Cᵀ = op(B)ᵀ·A into `ct` (rows M + GAPAD apart, so the tile's rows do not
// share L1 sets), then writes it back transposed. Each element is the same chain of multiply-adds
// (a·b and b·a are one value, and so are fma(a, b, c) and fma(b, a, c); alpha is 1). The N rows of
// Cᵀ take ceil(N / GMR) tiles with no lanes wasted, and A, now the right-hand operand, is read in
// place, so that its 28 values per element of C are not copied first (copying dG cost as much as
// 17 % of dW_ih): its columns from the first one at a cache line's start are whole panels read in
// place, each row of a panel one line (a panel straddling lines ran dW_ih at 76 % of the FMA
// peak, one aligned to them at 88 %; AVX2 on Zen 4). The columns before and after those (fewer
// than a panel each) are copied side by side into whole panels: as two partial panels of their
// own they took 10 % of dW_ih's time for 3 % of its work.
GATTR static void GCAT(GNAME, transposed)(int transB, long M, long N, long K, const GT *A, long lda, const GT *B,
                                         long ldb, GT beta, GT *C, long ldc, GT *ct, GT *packedA, GT *packedB) {
    const long ldct = M + GAPAD;
    long head = (long)((64 - (uintptr_t)A % 64) % 64 / sizeof(GT));
    if (head > M) head = M;
    long end = head + (M - head) / GNR * GNR, tail = M - end, edge = head + tail;
    long ldEdge = (edge + GNR - 1) / GNR * GNR;
    GT *edgeA = ct + N * ldct, *edgeC = edgeA + GKC * ldEdge;
    // Column e of the edge is row edgeRow(e) of C: the head's, then the tail's.
#define GEDGE_ROW(e) ((e) < head ? (e) : end + (e) - head)
    if (beta != 0) {
        for (long i = head; i < end; i++)
            for (long j = 0; j < N; j++) ct[j * ldct + i] = C[i * ldc + j];
        for (long e = 0; e < ldEdge; e++)   // the padding's columns too, so that none is read unset
            for (long j = 0; j < N; j++) edgeC[j * ldEdge + e] = e < edge ? C[GEDGE_ROW(e) * ldc + j] : 0;
    }
    if (end > head)
        GNAME(!transB, 0, N, end - head, K, 1, B, ldb, A + head, lda, beta, ct + head, ldct, packedA, packedB, NULL, 1);
    // A block of K at a time, so the copy needs no more scratch whatever K is; each block's products
    // continue the chains from the last (driver beta 1).
    for (long pc = 0; edge > 0 && pc < K; pc += GKC) {
        long kc = K - pc < GKC ? K - pc : GKC;
        for (long p = 0; p < kc; p++) {
            GT *row = edgeA + p * ldEdge;
            const GT *src = A + (pc + p) * lda;
            long e = 0;
            for (; e < head; e++) row[e] = src[e];
            for (; e < edge; e++) row[e] = src[end + e - head];
            for (; e < ldEdge; e++) row[e] = 0;
        }
        GNAME(!transB, 0, N, ldEdge, kc, 1, transB ? B + pc : B + pc * ldb, ldb, edgeA, ldEdge, pc > 0 ? 1 : beta,
              edgeC, ldEdge, packedA, packedB, NULL, 1);
    }
    if (edge > 0) {
        for (long e = 0; e < edge; e++)
            for (long j = 0; j < N; j++) C[GEDGE_ROW(e) * ldc + j] = edgeC[j * ldEdge + e];
    }
#undef GEDGE_ROW
    for (long i = head; i < end; i++)
        for (long j = 0; j < N; j++) C[i * ldc + j] = ct[j * ldct + i];
}
#endif

// Sizes of the packing buffers this instantiation needs, in elements.
static const long GCAT(GNAME, packedASize) = GMC * (GKC + GAPAD);
static const long GCAT(GNAME, packedBSize) = GKC * (((GNC + GNR - 1) / GNR) * GNR);
// The depth of K that `ember_sgemm_k_block` reports: the block of K unless the instantiation
// blocks K deeper than the fused recurrent kernels were measured with (every product is one chain
// of multiply-adds per element whatever its K).
#ifndef GKBLOCK
#define GKBLOCK GKC
#endif
static const long GCAT(GNAME, kBlock) = GKBLOCK;

#undef GPACKED_OFFSET
#undef GVEC
#undef GUVEC
#undef GLANES
#undef GNR
#undef GAPAD
#undef GFORM_PACKED
#undef GFORM_ROWS
#undef GFORM_COLUMNS
#undef GCAT
#undef GCAT2
// The instantiation's parameters, so the next one can define its own.
#undef GT
#undef GVB
#undef GMR
#undef GNV
#undef GKC
#undef GMC
#undef GNC
#undef GATTR
#undef GFMA
#undef GNAME
#undef GFULLTILE
#undef GPACKBT
#undef GKBLOCK
#undef GKCALIGNEDB
#undef GTRANSPOSES
