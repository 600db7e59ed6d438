/*
 * The template of crnn's LSTM gate loops, instantiated for double and float by
 * crnn_instantiate.h, which defines CRNN_T, CRNN_SFX and CRNN_FN. The gates use crnn's
 * branch-free sigmoid and tanh (crnn_fastmath_impl.h), so that the loops vectorise.
 */
#include "crnn_fastmath_impl.h"

/*
 * One step of the LSTM cell, given z = W·[a_prev; xt] in the (4n, ncols) block g:
 *   ft = sigmoid(z_f + bf), it = sigmoid(z_i + bi), cct = tanh(z_c + bc),
 *   ot = sigmoid(z_o + bo), c = ft*c_prev + it*cct, a = ot*tanh(c).
 * The gates overwrite their pre-activations in g (the backward pass reads them);
 * b is the packed (4n) bias. c_prev may not alias c or a.
 */
CRNN_CLONES
void CRNN_FN(crnn_lstm_gates)(CRNN_T *g, const CRNN_T *b, const CRNN_T *c_prev, CRNN_T *c,
                              CRNN_T *a, ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t i, j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *CRNN_RESTRICT gf = g + 4 * n * j;
        CRNN_T *CRNN_RESTRICT gi = gf + n;
        CRNN_T *CRNN_RESTRICT gc = gf + 2 * n;
        CRNN_T *CRNN_RESTRICT go = gf + 3 * n;
        const CRNN_T *cp = c_prev + n * j;
        CRNN_T *CRNN_RESTRICT cj = c + n * j;
        CRNN_T *CRNN_RESTRICT aj = a + n * j;
        for (i = 0; i < n; ++i) {
            CRNN_T ft = CRNN_FN(crnn_sigmoid)(gf[i] + b[i]);
            CRNN_T it = CRNN_FN(crnn_sigmoid)(gi[i] + b[n + i]);
            CRNN_T cct = CRNN_FN(crnn_tanh)(gc[i] + b[2 * n + i]);
            CRNN_T ot = CRNN_FN(crnn_sigmoid)(go[i] + b[3 * n + i]);
            CRNN_T cn = ft * cp[i] + it * cct;
            gf[i] = ft;
            gi[i] = it;
            gc[i] = cct;
            go[i] = ot;
            cj[i] = cn;
            aj[i] = ot * CRNN_FN(crnn_tanh)(cn);
        }
    }
}

/*
 * The gradient through one LSTM step, given its gates g (ft, it, cct, ot), its cell
 * state c and the previous one c_prev. With da_next = da + da_flow (the upstream
 * gradient and the flow from step t+1) and dc holding dc_next on entry:
 *   dc   = dc_next + ot * (1 - tanh(c)^2) * da_next
 *   dg   = [dc*c_prev*ft*(1-ft); dc*cct*it*(1-it); dc*it*(1-cct^2); da_next*tanh(c)*ot*(1-ot)]
 *          (the gradients of the gates' pre-activations, a (4n, ncols) block)
 *   dc  <- dc * ft  (dc_prev, in place)
 */
CRNN_CLONES
void CRNN_FN(crnn_lstm_gates_grad)(CRNN_T *dg, CRNN_T *dc, const CRNN_T *da,
                                   const CRNN_T *da_flow, const CRNN_T *g, const CRNN_T *c,
                                   const CRNN_T *c_prev, ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t i, j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *CRNN_RESTRICT df = dg + 4 * n * j;
        const CRNN_T *gf = g + 4 * n * j;
        CRNN_T *CRNN_RESTRICT dcj = dc + n * j;
        const CRNN_T *daj = da + n * j;
        const CRNN_T *dfj = da_flow + n * j;
        const CRNN_T *cj = c + n * j;
        const CRNN_T *cp = c_prev + n * j;
        for (i = 0; i < n; ++i) {
            CRNN_T ft = gf[i], it = gf[n + i], cct = gf[2 * n + i], ot = gf[3 * n + i];
            CRNN_T tc = CRNN_FN(crnn_tanh)(cj[i]);
            CRNN_T dan = daj[i] + dfj[i];
            CRNN_T dcn = dcj[i] + ot * ((CRNN_T)1 - tc * tc) * dan;
            df[i] = dcn * cp[i] * ft * ((CRNN_T)1 - ft);
            df[n + i] = dcn * cct * it * ((CRNN_T)1 - it);
            df[2 * n + i] = dcn * it * ((CRNN_T)1 - cct * cct);
            df[3 * n + i] = dan * tc * ot * ((CRNN_T)1 - ot);
            dcj[i] = dcn * ft;
        }
    }
}
