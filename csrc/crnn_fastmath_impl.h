/*
 * The template of crnn's branch-free exp and tanh, included at the top of each loop
 * template that uses them (crnn_elementwise_impl.h, crnn_lstm_impl.h), once per floating
 * type; CRNN_FMT(NAME) is the constant NAME of CRNN_T's format (crnn_fastmath.h).
 *
 * y = k·ln2 + r with |r| <= ln2/2, expm1(r) by its Taylor series, 2^k built in the
 * exponent bits: no branch, so the loops that call these vectorise.
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

/*
 * 1 / (1 + exp(-z)), stably and without a branch: exp is only taken of -|z| <= 0, so it
 * never overflows, and a large negative z gives a tiny number rather than 0. NaN passes.
 */
CRNN_INLINE CRNN_T CRNN_FN(crnn_sigmoid)(CRNN_T z)
{
    CRNN_T e = CRNN_FN(crnn_exp_nonpositive)(-CRNN_FMT(FABS)(z));
    CRNN_T r = (CRNN_T)1 / ((CRNN_T)1 + e);
    return z >= 0 ? r : e * r;
}
