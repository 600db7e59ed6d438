/*
 * The template of crnn's elementwise loops, instantiated for double and float by
 * crnn_instantiate.h, which defines CRNN_T, CRNN_SFX, CRNN_TANH, CRNN_EXP and CRNN_FN.
 */

/* z[:, j] = tanh(z[:, j] + b) for every column j of the (n, ncols) block z. */
void CRNN_FN(crnn_bias_tanh)(CRNN_T *z, const CRNN_T *b, ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t i, j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *CRNN_RESTRICT col = z + n * j;
        for (i = 0; i < n; ++i) {
            col[i] = CRNN_TANH(col[i] + b[i]);
        }
    }
}

/*
 * z[:, j] = softmax(z[:, j] + b) for every column j, stably: the column's own
 * maximum is subtracted before exp, so no column can overflow or underflow whole.
 * A NaN in a column stays in that column.
 */
void CRNN_FN(crnn_bias_softmax)(CRNN_T *z, const CRNN_T *b, ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t i, j;
    if (n <= 0) {
        return;
    }
    for (j = 0; j < ncols; ++j) {
        CRNN_T *CRNN_RESTRICT col = z + n * j;
        CRNN_T mx, total, inv;
        for (i = 0; i < n; ++i) {
            col[i] += b[i];
        }
        mx = col[0];
        for (i = 1; i < n; ++i) {
            mx = col[i] > mx ? col[i] : mx;
        }
        total = 0;
        for (i = 0; i < n; ++i) {
            col[i] = CRNN_EXP(col[i] - mx);
            total += col[i];
        }
        inv = (CRNN_T)1 / total;
        for (i = 0; i < n; ++i) {
            col[i] *= inv;
        }
    }
}

/*
 * The gradient through a = tanh(z), over len contiguous entries:
 *   accumulate == 0:  d = g * (1 - a*a)
 *   accumulate != 0:  d = (d + g) * (1 - a*a)
 * where d holds the gradient that flowed back from the next step.
 */
void CRNN_FN(crnn_tanh_grad)(CRNN_T *d, const CRNN_T *g, const CRNN_T *a, ptrdiff_t len,
                             int accumulate)
{
    ptrdiff_t i;
    CRNN_T *CRNN_RESTRICT dd = d;
    if (accumulate) {
        for (i = 0; i < len; ++i) {
            dd[i] = (dd[i] + g[i]) * ((CRNN_T)1 - a[i] * a[i]);
        }
    } else {
        for (i = 0; i < len; ++i) {
            dd[i] = g[i] * ((CRNN_T)1 - a[i] * a[i]);
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
