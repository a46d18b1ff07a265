// Fused elementwise math of one recurrent time step (LSTM, GRU, tanh/ReLU RNN) over a block of rows,
// instantiated per instruction set by cells.c. The gate pre-activations come from GEMMs; these
// kernels do everything between them in one pass over the row, vector by vector.
//
// Floating-point contraction is off inside them, so each value is computed by exactly the
// operations, in exactly the order, of Ember's plain (Swift) step code; sigmoid and tanh are the
// same vector functions ember_vsigmoidf and ember_vtanhf use. Results are therefore bitwise those of
// the plain path at the same kernel level, whatever the vector width: each lane is computed alone.
// (cells.c also instantiates them with vectors of two registers on AVX2 and in the portable build,
// for rows of whole pairs: see there.)
// Parameters: VB (vector bytes), VATTR (function attributes), VNAME(x) (name suffixing), VSCALEF
// (see vmath_functions.h).
#include "cells_vector.h"

static VATTR void VNAME(lstm_forward)(long n, long H, const float *xw, const float *bih,
                                      const float *gh, const float *bhh, const float *cPrev,
                                      float *gates, float *c, float *h, int streamed) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        const float *x = xw + b * 4 * H, *hh = gh + b * 4 * H, *cp = cPrev + b * H;
        float *g = gates + b * 4 * H, *cb = c + b * H, *hb = h + b * H;
        VROW(H, {
            VF i = VNAME(sigmoid)(VBIASED(x, bih, 0) + VBIASED(hh, bhh, 0));
            VF f = VNAME(sigmoid)(VBIASED(x, bih, H) + VBIASED(hh, bhh, H));
            VF gg = VNAME(tanh)(VBIASED(x, bih, 2 * H) + VBIASED(hh, bhh, 2 * H));
            VF o = VNAME(sigmoid)(VBIASED(x, bih, 3 * H) + VBIASED(hh, bhh, 3 * H));
            VF cv = f * VLOAD(cp + j) + i * gg;
            VF t = VNAME(tanh)(cv);
            VPUT(g + j, i);
            VPUT(g + H + j, f);
            VPUT(g + 2 * H + j, gg);
            VPUT(g + 3 * H + j, o);
            VSTORE(cb + j, cv);
            VSTORE(hb + j, o * t);
        })
    }
    if (streamed) EMBER_STREAM_FENCE();
}

static VATTR void VNAME(lstm_backward)(long n, long H, const float *dh, const float *out,
                                       long outStride, const float *gates, const float *c,
                                       const float *cPrev, float *dc, float *dz) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        const float *dhb = dh + b * H, *ob = out + b * outStride, *g = gates + b * 4 * H;
        const float *cb = c + b * H, *cp = cPrev + b * H;
        float *dcb = dc + b * H, *z = dz + b * 4 * H;
        VROW(H, {
            VF dht = VLOAD(dhb + j) + VLOAD(ob + j);
            VF i = VLOAD(g + j), f = VLOAD(g + H + j), gg = VLOAD(g + 2 * H + j), o = VLOAD(g + 3 * H + j);
            VF t = VNAME(tanh)(VLOAD(cb + j));   // what the forward step computed, recomputed rather than stored
            VF dct = VLOAD(dcb + j) + dht * o * (1.0f - t * t);
            VSTORE(z + j, dct * gg * i * (1.0f - i));
            VSTORE(z + H + j, dct * VLOAD(cp + j) * f * (1.0f - f));
            VSTORE(z + 2 * H + j, dct * i * (1.0f - gg * gg));
            VSTORE(z + 3 * H + j, dht * t * o * (1.0f - o));
            VSTORE(dcb + j, dct * f);
        })
    }
}

static VATTR void VNAME(gru_forward)(long n, long H, const float *xw, const float *bih,
                                     const float *gh, const float *bhh, const float *hPrev,
                                     float *gates, float *hn, float *h, int streamed) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        const float *x = xw + b * 3 * H, *hh = gh + b * 3 * H, *hp = hPrev + b * H;
        float *g = gates + b * 3 * H, *nb = hn + b * H, *hb = h + b * H;
        VROW(H, {
            VF r = VNAME(sigmoid)(VBIASED(x, bih, 0) + VBIASED(hh, bhh, 0));
            VF z = VNAME(sigmoid)(VBIASED(x, bih, H) + VBIASED(hh, bhh, H));
            VF hnv = VBIASED(hh, bhh, 2 * H);
            VF nv = VNAME(tanh)(VBIASED(x, bih, 2 * H) + r * hnv);
            VPUT(g + j, r);
            VPUT(g + H + j, z);
            VPUT(g + 2 * H + j, nv);
            VPUT(nb + j, hnv);
            VSTORE(hb + j, (1.0f - z) * nv + z * VLOAD(hp + j));
        })
    }
    if (streamed) EMBER_STREAM_FENCE();
}

static VATTR void VNAME(gru_backward)(long n, long H, const float *dh, const float *out,
                                      long outStride, const float *gates, const float *hn,
                                      const float *hPrev, float *dzx, float *dzh, float *direct) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        const float *dhb = dh + b * H, *ob = out + b * outStride, *g = gates + b * 3 * H;
        const float *nb = hn + b * H, *hp = hPrev + b * H;
        float *zx = dzx + b * 3 * H, *zh = dzh + b * 3 * H, *dir = direct + b * H;
        VROW(H, {
            VF dht = VLOAD(dhb + j) + VLOAD(ob + j);
            VF r = VLOAD(g + j), z = VLOAD(g + H + j), nv = VLOAD(g + 2 * H + j);
            VF dnPre = dht * (1.0f - z) * (1.0f - nv * nv);
            VF dr = dnPre * VLOAD(nb + j) * r * (1.0f - r);
            VF dzv = dht * (VLOAD(hp + j) - nv) * z * (1.0f - z);
            VSTORE(zx + j, dr);
            VSTORE(zx + H + j, dzv);
            VSTORE(zx + 2 * H + j, dnPre);
            VSTORE(zh + j, dr);
            VSTORE(zh + H + j, dzv);
            VSTORE(zh + 2 * H + j, dnPre * r);
            VSTORE(dir + j, dht * z);
        })
    }
}

static VATTR void VNAME(rnn_backward)(int relu, long n, long H, const float *dh, const float *out,
                                      long outStride, const float *h, float *dz) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        const float *dhb = dh + b * H, *ob = out + b * outStride, *hb = h + b * H;
        float *z = dz + b * H;
        VROW(H, {
            VF d = VLOAD(dhb + j) + VLOAD(ob + j);
            VF hv = VLOAD(hb + j);
            // 0 where h <= 0, else d: the gradient passes where h is NaN (threshold_backward).
            if (relu) VSTORE(z + j, VNAME(blend)(hv <= 0.0f, VNAME(splat)(0.0f), d));
            else VSTORE(z + j, d * (1.0f - hv * hv));
        })
    }
}

// One evaluation step of a tanh (relu = 0) or ReLU RNN over rows `ldy` apart, in place: y holds
// x·W_ihᵀ on entry and leaves as act((y + bih) + (gh + bhh)), a NULL bias being left out. These
// are the additions of the recording path's input projection, hidden projection and step, in its
// order, so the values are its bits.
static VATTR void VNAME(rnn_forward)(int relu, long n, long H, float *y, long ldy, const float *gh,
                                     const float *bih, const float *bhh) {
#pragma clang fp contract(off)
    for (long b = 0; b < n; b++) {
        float *yb = y + b * ldy;
        const float *g = gh + b * H;
        VROW(H, {
            VF x = VLOAD(yb + j);
            if (bih) x = x + VLOAD(bih + j);
            VF hh = VLOAD(g + j);
            if (bhh) hh = hh + VLOAD(bhh + j);
            VF v = x + hh;
            VSTORE(yb + j, relu ? VNAME(relu)(v) : VNAME(tanh)(v));
        })
    }
}

#include "cells_vector_end.h"
