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

/*
 * z[:, j] = softmax(z[:, j] + b) for every column j of the contiguous (n, ncols) block,
 * stably: the column's own maximum is subtracted before exp, so no column can overflow
 * or underflow whole. A NaN in a column stays in that column. The exp runs once over
 * the whole block, so that it vectorises however short the columns are.
 */
CRNN_CLONES
void CRNN_FN(crnn_bias_softmax)(CRNN_T *z, const CRNN_T *b, ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t i, j, size = n * ncols;
    CRNN_T *CRNN_RESTRICT all = z;
    if (n <= 0) {
        return;
    }
    for (j = 0; j < ncols; ++j) {
        CRNN_T *CRNN_RESTRICT col = z + n * j;
        CRNN_T mx;
        for (i = 0; i < n; ++i) {
            col[i] += b[i];
        }
        mx = col[0];
        for (i = 1; i < n; ++i) {
            mx = col[i] > mx ? col[i] : mx;
        }
        for (i = 0; i < n; ++i) {
            col[i] -= mx;
        }
    }
    for (i = 0; i < size; ++i) {
        all[i] = CRNN_FN(crnn_exp_nonpositive)(all[i]);
    }
    for (j = 0; j < ncols; ++j) {
        CRNN_T *CRNN_RESTRICT col = z + n * j;
        CRNN_T total = 0, inv;
        for (i = 0; i < n; ++i) {
            total += col[i];
        }
        inv = (CRNN_T)1 / total;
        for (i = 0; i < n; ++i) {
            col[i] *= inv;
        }
    }
}

/*
 * d = d * (1 - a*a): the gradient through a = tanh(z), for the (n, ncols) blocks d and
 * a, columns ld apart, where d holds the gradient reaching a.
 */
CRNN_CLONES
void CRNN_FN(crnn_tanh_grad)(CRNN_T *d, const CRNN_T *a, ptrdiff_t n, ptrdiff_t ncols,
                             ptrdiff_t ld)
{
    ptrdiff_t i, j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *CRNN_RESTRICT dd = d + ld * j;
        const CRNN_T *aa = a + ld * j;
        for (i = 0; i < n; ++i) {
            dd[i] *= (CRNN_T)1 - aa[i] * aa[i];
        }
    }
}

/*
 * dst = src for an (n, m, nsteps) sequence: element (i, j, t) is src[i*s0 + j*s1 + t*s2]
 * (any strides) and dst[i + n*(j*nsteps + t)] (the kernels' layout). The copy goes by tiles
 * of CRNN_TILE steps by CRNN_TILE rows, so that a C-ordered src, contiguous along t, and
 * dst, contiguous along i, are both read and written a whole cache line at a time.
 */
#ifndef CRNN_TILE
#define CRNN_TILE 16
#endif
void CRNN_FN(crnn_gather_steps)(CRNN_T *dst, const CRNN_T *src, ptrdiff_t s0, ptrdiff_t s1,
                                ptrdiff_t s2, ptrdiff_t n, ptrdiff_t m, ptrdiff_t nsteps)
{
    ptrdiff_t i, j, t, i0, t0;
    for (j = 0; j < m; ++j) {
        for (t0 = 0; t0 < nsteps; t0 += CRNN_TILE) {
            ptrdiff_t t1 = t0 + CRNN_TILE < nsteps ? t0 + CRNN_TILE : nsteps;
            for (i0 = 0; i0 < n; i0 += CRNN_TILE) {
                ptrdiff_t i1 = i0 + CRNN_TILE < n ? i0 + CRNN_TILE : n;
                for (t = t0; t < t1; ++t) {
                    CRNN_T *CRNN_RESTRICT out = dst + n * (j * nsteps + t);
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
