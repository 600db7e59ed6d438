/*
 * The template of crnn's elementwise loops, instantiated for double and float by
 * crnn_instantiate.h, which defines CRNN_T, CRNN_SFX and CRNN_FN. The loops use crnn's
 * branch-free tanh and exp (crnn_fastmath_impl.h), so that they vectorise.
 */
#include "crnn_fastmath_impl.h"

/* z[i, j] = tanh(z[i, j] + b[i]) for the (n, ncols) block z, columns ld apart. */
CRNN_CLONES
void CRNN_FN(crnn_bias_tanh)(CRNN_T *z, const CRNN_T *b, ptrdiff_t n, ptrdiff_t ncols,
                             ptrdiff_t ld)
{
    ptrdiff_t i, j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *CRNN_RESTRICT col = z + ld * j;
        for (i = 0; i < n; ++i) {
            col[i] = CRNN_FN(crnn_tanh)(col[i] + b[i]);
        }
    }
}

/* z[i, j] = max(z[i, j] + b[i], 0) for the (n, ncols) block z, columns ld apart. */
CRNN_CLONES
void CRNN_FN(crnn_bias_relu)(CRNN_T *z, const CRNN_T *b, ptrdiff_t n, ptrdiff_t ncols,
                             ptrdiff_t ld)
{
    ptrdiff_t i, j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *CRNN_RESTRICT col = z + ld * j;
        for (i = 0; i < n; ++i) {
            CRNN_T v = col[i] + b[i];
            col[i] = v > 0 ? v : (CRNN_T)0;
        }
    }
}

/*
 * The largest and the sum of the n values of col, each over CRNN_LANES independent
 * partial results, so that the loops vectorise without reassociating in the compiler
 * (a plain running sum is one long chain of dependent additions). A NaN among the
 * values reaches the sum; the maximum then may or may not be NaN, which the sum
 * carries through the softmax either way.
 */
#ifndef CRNN_LANES
#define CRNN_LANES 8
#endif
CRNN_INLINE CRNN_T CRNN_FN(crnn_col_max)(const CRNN_T *col, ptrdiff_t n)
{
    CRNN_T part[CRNN_LANES];
    ptrdiff_t i, k;
    for (k = 0; k < CRNN_LANES; ++k) {
        part[k] = col[0];
    }
    for (i = 0; i + CRNN_LANES <= n; i += CRNN_LANES) {
        for (k = 0; k < CRNN_LANES; ++k) {
            part[k] = col[i + k] > part[k] ? col[i + k] : part[k];
        }
    }
    for (; i < n; ++i) {
        part[0] = col[i] > part[0] ? col[i] : part[0];
    }
    for (k = 1; k < CRNN_LANES; ++k) {
        part[0] = part[k] > part[0] ? part[k] : part[0];
    }
    return part[0];
}

CRNN_INLINE CRNN_T CRNN_FN(crnn_col_sum)(const CRNN_T *col, ptrdiff_t n)
{
    CRNN_T part[CRNN_LANES] = {0};
    ptrdiff_t i, k;
    for (i = 0; i + CRNN_LANES <= n; i += CRNN_LANES) {
        for (k = 0; k < CRNN_LANES; ++k) {
            part[k] += col[i + k];
        }
    }
    for (; i < n; ++i) {
        part[0] += col[i];
    }
    for (k = 1; k < CRNN_LANES; ++k) {
        part[0] += part[k];
    }
    return part[0];
}

/*
 * z[:, j] = softmax(z[:, j] + b) for every column j of the contiguous (n, ncols) block,
 * stably: the column's own maximum is subtracted before exp, so no column can overflow
 * or underflow whole. A NaN in a column stays in that column. The exp runs over many
 * columns at once, so that it vectorises however short the columns are; the three passes
 * go by chunks of columns of about CRNN_CHUNK elements, which stay in cache between them.
 */
#ifndef CRNN_CHUNK
#define CRNN_CHUNK 4096
#endif
CRNN_CLONES
void CRNN_FN(crnn_bias_softmax)(CRNN_T *z, const CRNN_T *b, ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t i, j, j0, step;
    if (n <= 0) {
        return;
    }
    step = CRNN_CHUNK / n > 1 ? CRNN_CHUNK / n : 1;
    for (j0 = 0; j0 < ncols; j0 += step) {
        ptrdiff_t j1 = j0 + step < ncols ? j0 + step : ncols, size = n * (j1 - j0);
        CRNN_T *CRNN_RESTRICT chunk = z + n * j0;
        for (j = j0; j < j1; ++j) {
            CRNN_T *CRNN_RESTRICT col = z + n * j;
            CRNN_T mx;
            for (i = 0; i < n; ++i) {
                col[i] += b[i];
            }
            mx = CRNN_FN(crnn_col_max)(col, n);
            for (i = 0; i < n; ++i) {
                col[i] -= mx;
            }
        }
        for (i = 0; i < size; ++i) {
            chunk[i] = CRNN_FN(crnn_exp_nonpositive)(chunk[i]);
        }
        for (j = j0; j < j1; ++j) {
            CRNN_T *CRNN_RESTRICT col = z + n * j;
            CRNN_T inv = (CRNN_T)1 / CRNN_FN(crnn_col_sum)(col, n);
            for (i = 0; i < n; ++i) {
                col[i] *= inv;
            }
        }
    }
}

/*
 * dz = (da + flow) * g'(z) for one step of the vanilla RNN, from its output a = g(z):
 * g' = 1 - a*a for tanh, (a > 0) for relu. dz, da and a are (n, ncols) blocks with
 * columns ldz, ldd and lda apart; flow, the gradient reaching a from the step after, is
 * contiguous. da may be dz itself (then ldd = ldz): each element is read before it is
 * written.
 */
CRNN_CLONES
void CRNN_FN(crnn_rnn_grad)(CRNN_T *dz, ptrdiff_t ldz, const CRNN_T *da, ptrdiff_t ldd,
                            const CRNN_T *flow, const CRNN_T *a, ptrdiff_t lda, ptrdiff_t n,
                            ptrdiff_t ncols, int relu)
{
    ptrdiff_t i, j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *dd = dz + ldz * j;
        const CRNN_T *dj = da + ldd * j;
        const CRNN_T *fj = flow + n * j;
        const CRNN_T *aa = a + lda * j;
        if (relu) {
            for (i = 0; i < n; ++i) {
                dd[i] = aa[i] > 0 ? dj[i] + fj[i] : (CRNN_T)0;
            }
        } else {
            for (i = 0; i < n; ++i) {
                dd[i] = (dj[i] + fj[i]) * ((CRNN_T)1 - aa[i] * aa[i]);
            }
        }
    }
}

/*
 * dst = src for an (n, m, nsteps) sequence: element (i, j, t) is src[i*s0 + j*s1 + t*s2]
 * (any strides) and dst[i + j*ld + t*n] (the kernels' layout, ld = n·T for a whole
 * sequence of T steps). The copy goes by bands of CRNN_BAND rows, and in a band by tiles
 * of CRNN_TILE steps: a C-ordered src is read along t, CRNN_BAND streams at a time, and
 * dst is written along i, CRNN_BAND elements at a time. With src cold in memory, 64 rows
 * were fastest of 16 to 256 (64×16×100 float64: 2.9 ms against 3.6-4.5 for 16 rows;
 * 512×128×100: 11.5-14.7 ms against 15.5-22.6).
 */
#ifndef CRNN_BAND
#define CRNN_BAND 64
#endif
#ifndef CRNN_TILE
#define CRNN_TILE 16
#endif
void CRNN_FN(crnn_gather_steps)(CRNN_T *dst, ptrdiff_t ld, const CRNN_T *src, ptrdiff_t s0,
                                ptrdiff_t s1, ptrdiff_t s2, ptrdiff_t n, ptrdiff_t m,
                                ptrdiff_t nsteps)
{
    ptrdiff_t i, j, t, i0, t0;
    for (i0 = 0; i0 < n; i0 += CRNN_BAND) {
        ptrdiff_t i1 = i0 + CRNN_BAND < n ? i0 + CRNN_BAND : n;
        for (j = 0; j < m; ++j) {
            for (t0 = 0; t0 < nsteps; t0 += CRNN_TILE) {
                ptrdiff_t t1 = t0 + CRNN_TILE < nsteps ? t0 + CRNN_TILE : nsteps;
                for (t = t0; t < t1; ++t) {
                    CRNN_T *CRNN_RESTRICT out = dst + j * ld + t * n;
                    const CRNN_T *in = src + j * s1 + t * s2;
                    for (i = i0; i < i1; ++i) {
                        out[i] = in[i * s0];
                    }
                }
            }
        }
    }
}

/* out[i] = sum over j of d[i, j], for the (n, ncols) block d. */
void CRNN_FN(crnn_row_sums)(const CRNN_T *d, ptrdiff_t n, ptrdiff_t ncols, CRNN_T *out)
{
    ptrdiff_t i, j;
    CRNN_T *CRNN_RESTRICT acc = out;
    for (i = 0; i < n; ++i) {
        acc[i] = 0;
    }
    for (j = 0; j < ncols; ++j) {
        const CRNN_T *col = d + n * j;
        for (i = 0; i < n; ++i) {
            acc[i] += col[i];
        }
    }
}
