/*
 * The template of crnn's elementwise loops, instantiated for double and float by
 * crnn_instantiate.h, which defines CRNN_T, CRNN_SFX and CRNN_FN; CRNN_FMT(NAME) is the
 * constant NAME of CRNN_T's format (crnn_elementwise.c): its unsigned integer of the
 * same size, fabs, copysign, and the constants of exp and tanh.
 *
 * exp and tanh are branch-free, so that the loops vectorise: y = k·ln2 + r with
 * |r| <= ln2/2, expm1(r) by its Taylor series, 2^k built in the exponent bits.
 */
/* 2^k for an integer-valued k with -CRNN_FMT(EXP_BIAS) < k <= CRNN_FMT(EXP_BIAS). */
CRNN_INLINE CRNN_T CRNN_FN(crnn_pow2)(CRNN_T k)
{
    CRNN_T shifted = k + CRNN_FMT(SHIFTER); /* k sits in the low bits of the mantissa */
    CRNN_FMT(UINT) bits;
    memcpy(&bits, &shifted, sizeof bits);
    bits = (bits + CRNN_FMT(EXP_BIAS)) << CRNN_FMT(MANT_BITS);
    memcpy(&shifted, &bits, sizeof bits);
    return shifted;
}

/* Split y into k·ln2 + r, |r| <= ln2/2, and return expm1(r); *k receives k. */
CRNN_INLINE CRNN_T CRNN_FN(crnn_expm1_reduced)(CRNN_T y, CRNN_T *k)
{
    CRNN_T kd = (y * CRNN_FMT(LOG2E) + CRNN_FMT(SHIFTER)) - CRNN_FMT(SHIFTER);
    CRNN_T r = (y - kd * CRNN_FMT(LN2_HI)) - kd * CRNN_FMT(LN2_LO);
    *k = kd;
    /* r + r^2 (1/2! + r (1/3! + ... )), Horner's scheme written out for vectorisers */
    return r + r * r * CRNN_FMT(EXPM1_SERIES)(r);
}

/*
 * tanh(x) = sign(x) · -e / (2 + e) with e = expm1(-2|x|), exact to a few ulp.
 * It saturates to ±1 past CRNN_FMT(TANH_SATURATE), keeps the sign of ±0, and a NaN passes
 * through (the clamp compares so that NaN is kept).
 */
CRNN_INLINE CRNN_T CRNN_FN(crnn_tanh)(CRNN_T x)
{
    CRNN_T ax = CRNN_FMT(FABS)(x);
    CRNN_T k, p, s, e;
    ax = ax > CRNN_FMT(TANH_SATURATE) ? CRNN_FMT(TANH_SATURATE) : ax;
    p = CRNN_FN(crnn_expm1_reduced)(-2 * ax, &k);
    s = CRNN_FN(crnn_pow2)(k);
    e = s * p + (s - 1);
    return CRNN_FMT(COPYSIGN)(-e / (2 + e), x);
}

/*
 * exp(y) for y <= 0 (the softmax's shifted logits); underflows to 0 smoothly, 2^k
 * applied in two halves so that each stays a normal number. NaN passes through.
 */
CRNN_INLINE CRNN_T CRNN_FN(crnn_exp_nonpositive)(CRNN_T y)
{
    CRNN_T k, p, half;
    y = y < CRNN_FMT(EXP_MIN) ? CRNN_FMT(EXP_MIN) : y;
    p = CRNN_FN(crnn_expm1_reduced)(y, &k);
    half = (k * (CRNN_T)0.5 + CRNN_FMT(SHIFTER)) - CRNN_FMT(SHIFTER);
    return ((p + 1) * CRNN_FN(crnn_pow2)(half)) * CRNN_FN(crnn_pow2)(k - half);
}

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
 * The gradient through a = tanh(z), for the (n, ncols) blocks d and a (columns ld
 * apart) and g (element (i, j) at g[i*gs0 + j*gs1], any strides):
 *   accumulate == 0:  d = g * (1 - a*a)
 *   accumulate != 0:  d = (d + g) * (1 - a*a)
 * where d holds the gradient that flowed back from the next step.
 */
CRNN_CLONES
void CRNN_FN(crnn_tanh_grad)(CRNN_T *d, const CRNN_T *g, ptrdiff_t gs0, ptrdiff_t gs1,
                             const CRNN_T *a, ptrdiff_t n, ptrdiff_t ncols, ptrdiff_t ld,
                             int accumulate)
{
    ptrdiff_t i, j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *CRNN_RESTRICT dd = d + ld * j;
        const CRNN_T *aa = a + ld * j;
        const CRNN_T *gg = g + gs1 * j;
        if (accumulate) {
            for (i = 0; i < n; ++i) {
                dd[i] = (dd[i] + gg[i * gs0]) * ((CRNN_T)1 - aa[i] * aa[i]);
            }
        } else {
            for (i = 0; i < n; ++i) {
                dd[i] = gg[i * gs0] * ((CRNN_T)1 - aa[i] * aa[i]);
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
