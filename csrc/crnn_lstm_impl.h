/*
 * The template of crnn's LSTM gate loops, instantiated for double and float by
 * crnn_instantiate.h, which defines CRNN_T, CRNN_SFX and CRNN_FN. The gates use crnn's
 * branch-free sigmoid and tanh (crnn_fastmath_impl.h), so that the loops vectorise.
 */
#include "crnn_fastmath_impl.h"

/*
 * The loops of one column: restrict parameters (rather than restrict locals, which gcc
 * 12 does not trust across the four gates of one block) let the compiler vectorise them.
 */
CRNN_INLINE void CRNN_FN(crnn_lstm_column)(
    CRNN_T *CRNN_RESTRICT gf, CRNN_T *CRNN_RESTRICT gi, CRNN_T *CRNN_RESTRICT gc,
    CRNN_T *CRNN_RESTRICT go, const CRNN_T *CRNN_RESTRICT bf,
    const CRNN_T *CRNN_RESTRICT bi, const CRNN_T *CRNN_RESTRICT bc,
    const CRNN_T *CRNN_RESTRICT bo, const CRNN_T *CRNN_RESTRICT cp,
    CRNN_T *CRNN_RESTRICT cj, CRNN_T *CRNN_RESTRICT aj, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; ++i) {
        CRNN_T ft = CRNN_FN(crnn_sigmoid)(gf[i] + bf[i]);
        CRNN_T it = CRNN_FN(crnn_sigmoid)(gi[i] + bi[i]);
        CRNN_T cct = CRNN_FN(crnn_tanh)(gc[i] + bc[i]);
        CRNN_T ot = CRNN_FN(crnn_sigmoid)(go[i] + bo[i]);
        CRNN_T cn = ft * cp[i] + it * cct;
        gf[i] = ft;
        gi[i] = it;
        gc[i] = cct;
        go[i] = ot;
        cj[i] = cn;
        aj[i] = ot * CRNN_FN(crnn_tanh)(cn);
    }
}

CRNN_INLINE void CRNN_FN(crnn_lstm_column_grad)(
    CRNN_T *CRNN_RESTRICT df, CRNN_T *CRNN_RESTRICT di, CRNN_T *CRNN_RESTRICT dcc,
    CRNN_T *CRNN_RESTRICT dout, const CRNN_T *CRNN_RESTRICT gf,
    const CRNN_T *CRNN_RESTRICT gi, const CRNN_T *CRNN_RESTRICT gc,
    const CRNN_T *CRNN_RESTRICT go, CRNN_T *CRNN_RESTRICT dcj,
    const CRNN_T *CRNN_RESTRICT daj, const CRNN_T *CRNN_RESTRICT fj,
    const CRNN_T *CRNN_RESTRICT cj, const CRNN_T *CRNN_RESTRICT cp, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; ++i) {
        CRNN_T ft = gf[i], it = gi[i], cct = gc[i], ot = go[i];
        CRNN_T tc = CRNN_FN(crnn_tanh)(cj[i]);
        CRNN_T dan = daj[i] + fj[i];
        CRNN_T dcn = dcj[i] + ot * ((CRNN_T)1 - tc * tc) * dan;
        df[i] = dcn * cp[i] * ft * ((CRNN_T)1 - ft);
        di[i] = dcn * cct * it * ((CRNN_T)1 - it);
        dcc[i] = dcn * it * ((CRNN_T)1 - cct * cct);
        dout[i] = dan * tc * ot * ((CRNN_T)1 - ot);
        dcj[i] = dcn * ft;
    }
}

/*
 * One step of the LSTM cell, given z = W·[a_prev; xt] in the (4n, ncols) block g:
 *   ft = sigmoid(z_f + bf), it = sigmoid(z_i + bi), cct = tanh(z_c + bc),
 *   ot = sigmoid(z_o + bo), c = ft*c_prev + it*cct, a = ot*tanh(c).
 * The gates overwrite their pre-activations in g (the backward pass reads them);
 * b is the packed (4n) bias. The columns of g are ldg apart, those of c_prev ldp, those
 * of c and a ld. c_prev may not alias c or a.
 */
CRNN_CLONES
void CRNN_FN(crnn_lstm_gates)(CRNN_T *g, ptrdiff_t ldg, const CRNN_T *b,
                              const CRNN_T *c_prev, ptrdiff_t ldp, CRNN_T *c, CRNN_T *a,
                              ptrdiff_t ld, ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *gj = g + ldg * j;
        CRNN_FN(crnn_lstm_column)(gj, gj + n, gj + 2 * n, gj + 3 * n, b, b + n, b + 2 * n,
                                  b + 3 * n, c_prev + ldp * j, c + ld * j, a + ld * j, n);
    }
}

/*
 * The gradient through one LSTM step, given its gates g (ft, it, cct, ot), its cell
 * state c and the previous one c_prev. With da_next = da + flow (the upstream gradient
 * and the flow from step t+1) and dc holding dc_next on entry:
 *   dc   = dc_next + ot * (1 - tanh(c)^2) * da_next
 *   dg   = [dc*c_prev*ft*(1-ft); dc*cct*it*(1-it); dc*it*(1-cct^2); da_next*tanh(c)*ot*(1-ot)]
 *          (the gradients of the gates' pre-activations, a (4n, ncols) block)
 *   dc  <- dc * ft  (dc_prev, in place)
 * The columns of dg and g are ldg apart, those of da ldd, those of c ldc, those of
 * c_prev ldp; dc and flow are contiguous (n, ncols) blocks.
 */
CRNN_CLONES
void CRNN_FN(crnn_lstm_gates_grad)(CRNN_T *dg, const CRNN_T *g, ptrdiff_t ldg, CRNN_T *dc,
                                   const CRNN_T *flow, const CRNN_T *da, ptrdiff_t ldd,
                                   const CRNN_T *c, ptrdiff_t ldc, const CRNN_T *c_prev,
                                   ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *dgj = dg + ldg * j;
        const CRNN_T *gj = g + ldg * j;
        CRNN_FN(crnn_lstm_column_grad)(dgj, dgj + n, dgj + 2 * n, dgj + 3 * n, gj, gj + n,
                                       gj + 2 * n, gj + 3 * n, dc + n * j, da + ldd * j,
                                       flow + n * j, c + ldc * j, c_prev + ldp * j, n);
    }
}
