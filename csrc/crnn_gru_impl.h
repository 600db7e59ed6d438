/*
 * The template of crnn's GRU loops, instantiated for double and float by
 * crnn_instantiate.h, which defines CRNN_T, CRNN_SFX and CRNN_FN. The gates use crnn's
 * branch-free sigmoid and tanh (crnn_fastmath_impl.h), so that the loops vectorise.
 * Each loop runs over the columns and calls a column function whose restrict
 * parameters let the compiler vectorise it.
 */
#include "crnn_fastmath_impl.h"

#define ONE ((CRNN_T)1)

/* --- forward ----------------------------------------------------------------------- */

CRNN_INLINE void CRNN_FN(crnn_gru_gates_column)(
    CRNN_T *CRNN_RESTRICT gu, CRNN_T *CRNN_RESTRICT gr, const CRNN_T *CRNN_RESTRICT bu,
    const CRNN_T *CRNN_RESTRICT br, const CRNN_T *CRNN_RESTRICT ap,
    CRNN_T *CRNN_RESTRICT ra, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; ++i) {
        CRNN_T u = CRNN_FN(crnn_sigmoid)(gu[i] + bu[i]);
        CRNN_T r = CRNN_FN(crnn_sigmoid)(gr[i] + br[i]);
        gu[i] = u;
        gr[i] = r;
        ra[i] = r * ap[i];
    }
}

/*
 * The lecture's GRU, first half of a step: with g's rows u and r holding
 * W[:2n]·[a_prev; xt], u = sigmoid(g_u + bu) and r = sigmoid(g_r + br) overwrite them,
 * and ra = r * a_prev, the recurrent operand of the candidate's product.
 */
CRNN_CLONES
void CRNN_FN(crnn_gru_gates)(CRNN_T *g, ptrdiff_t ldg, const CRNN_T *b,
                             const CRNN_T *a_prev, ptrdiff_t ldp, CRNN_T *ra, ptrdiff_t ldr,
                             ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *gj = g + ldg * j;
        CRNN_FN(crnn_gru_gates_column)(gj, gj + n, b, b + n, a_prev + ldp * j, ra + ldr * j, n);
    }
}

CRNN_INLINE void CRNN_FN(crnn_gru_state_column)(
    const CRNN_T *CRNN_RESTRICT gu, CRNN_T *CRNN_RESTRICT gc,
    const CRNN_T *CRNN_RESTRICT bc, const CRNN_T *CRNN_RESTRICT ap,
    CRNN_T *CRNN_RESTRICT aj, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; ++i) {
        CRNN_T cc = CRNN_FN(crnn_tanh)(gc[i] + bc[i]);
        gc[i] = cc;
        aj[i] = gu[i] * cc + (ONE - gu[i]) * ap[i];
    }
}

/*
 * The lecture's GRU, second half: with g's row c holding Wc·[r*a_prev; xt],
 * cc = tanh(g_c + bc) overwrites it and a = u*cc + (1 - u)*a_prev.
 */
CRNN_CLONES
void CRNN_FN(crnn_gru_state)(CRNN_T *g, ptrdiff_t ldg, const CRNN_T *b,
                             const CRNN_T *a_prev, ptrdiff_t ldp, CRNN_T *a, ptrdiff_t lda,
                             ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *gj = g + ldg * j;
        CRNN_FN(crnn_gru_state_column)(gj, gj + 2 * n, b + 2 * n, a_prev + ldp * j,
                                       a + lda * j, n);
    }
}

CRNN_INLINE void CRNN_FN(crnn_gru_after_column)(
    CRNN_T *CRNN_RESTRICT gu, CRNN_T *CRNN_RESTRICT gr, CRNN_T *CRNN_RESTRICT gc,
    const CRNN_T *CRNN_RESTRICT hu, const CRNN_T *CRNN_RESTRICT hr,
    const CRNN_T *CRNN_RESTRICT hh, const CRNN_T *CRNN_RESTRICT bu,
    const CRNN_T *CRNN_RESTRICT br, const CRNN_T *CRNN_RESTRICT bc,
    const CRNN_T *CRNN_RESTRICT bca, const CRNN_T *CRNN_RESTRICT ap,
    CRNN_T *CRNN_RESTRICT hcj, CRNN_T *CRNN_RESTRICT aj, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; ++i) {
        CRNN_T u = CRNN_FN(crnn_sigmoid)(gu[i] + hu[i] + bu[i]);
        CRNN_T r = CRNN_FN(crnn_sigmoid)(gr[i] + hr[i] + br[i]);
        CRNN_T hc = hh[i] + bca[i];
        CRNN_T cc = CRNN_FN(crnn_tanh)(gc[i] + bc[i] + r * hc);
        gu[i] = u;
        gr[i] = r;
        gc[i] = cc;
        hcj[i] = hc;
        aj[i] = u * cc + (ONE - u) * ap[i];
    }
}

/*
 * One step of the GRU with the reset gate after the product: g holds the input part
 * Wx·xt of the pre-activations and h (3n, ncols, contiguous) the recurrent part
 * Wa·a_prev.
 *   u = sigmoid(g_u + h_u + bu), r = sigmoid(g_r + h_r + br), hc = h_c + bca,
 *   cc = tanh(g_c + bc + r*hc), a = u*cc + (1 - u)*a_prev;
 * u, r and cc overwrite g, and hc is kept for the backward pass.
 */
CRNN_CLONES
void CRNN_FN(crnn_gru_after)(CRNN_T *g, ptrdiff_t ldg, const CRNN_T *h, const CRNN_T *b,
                             const CRNN_T *bca, const CRNN_T *a_prev, ptrdiff_t ldp,
                             CRNN_T *hc, ptrdiff_t ldhc, CRNN_T *a, ptrdiff_t lda,
                             ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *gj = g + ldg * j;
        const CRNN_T *hj = h + 3 * n * j;
        CRNN_FN(crnn_gru_after_column)(gj, gj + n, gj + 2 * n, hj, hj + n, hj + 2 * n, b,
                                       b + n, b + 2 * n, bca, a_prev + ldp * j,
                                       hc + ldhc * j, a + lda * j, n);
    }
}

/* --- backward ---------------------------------------------------------------------- */

CRNN_INLINE void CRNN_FN(crnn_gru_grad_before_column)(
    CRNN_T *CRNN_RESTRICT du, CRNN_T *CRNN_RESTRICT dc, const CRNN_T *CRNN_RESTRICT gu,
    const CRNN_T *CRNN_RESTRICT gc, const CRNN_T *CRNN_RESTRICT daj,
    CRNN_T *CRNN_RESTRICT fj, const CRNN_T *CRNN_RESTRICT ap, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; ++i) {
        CRNN_T d = daj[i] + fj[i];
        CRNN_T u = gu[i], cc = gc[i];
        dc[i] = d * u * (ONE - cc * cc);
        du[i] = d * (cc - ap[i]) * u * (ONE - u);
        fj[i] = d * (ONE - u);
    }
}

/*
 * The lecture's GRU, first half of a step's gradient. With d = da + flow (the upstream
 * gradient and the flow from step t+1):
 *   dz_c = d*u*(1 - cc^2), dz_u = d*(cc - a_prev)*u*(1 - u), flow <- d*(1 - u)
 * (the gradients of the candidate's and the update gate's pre-activations, and the part
 * of da_prev that passes the update gate).
 */
CRNN_CLONES
void CRNN_FN(crnn_gru_grad_before)(CRNN_T *dz, ptrdiff_t ldz, const CRNN_T *g,
                                   ptrdiff_t ldg, const CRNN_T *da, ptrdiff_t ldd,
                                   CRNN_T *flow, const CRNN_T *a_prev, ptrdiff_t ldp,
                                   ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *dzj = dz + ldz * j;
        const CRNN_T *gj = g + ldg * j;
        CRNN_FN(crnn_gru_grad_before_column)(dzj, dzj + 2 * n, gj, gj + 2 * n, da + ldd * j,
                                             flow + n * j, a_prev + ldp * j, n);
    }
}

CRNN_INLINE void CRNN_FN(crnn_gru_grad_reset_column)(
    CRNN_T *CRNN_RESTRICT dr, const CRNN_T *CRNN_RESTRICT gr,
    const CRNN_T *CRNN_RESTRICT draj, CRNN_T *CRNN_RESTRICT fj,
    const CRNN_T *CRNN_RESTRICT ap, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; ++i) {
        CRNN_T r = gr[i];
        dr[i] = draj[i] * ap[i] * r * (ONE - r);
        fj[i] += draj[i] * r;
    }
}

/*
 * The lecture's GRU, second half: with dra = Wc[:, :n].T·dz_c, the gradient of r*a_prev
 * (contiguous), dz_r = dra*a_prev*r*(1 - r) and flow += dra*r.
 */
CRNN_CLONES
void CRNN_FN(crnn_gru_grad_reset)(CRNN_T *dz, ptrdiff_t ldz, const CRNN_T *g, ptrdiff_t ldg,
                                  const CRNN_T *dra, CRNN_T *flow, const CRNN_T *a_prev,
                                  ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t j;
    for (j = 0; j < ncols; ++j) {
        CRNN_FN(crnn_gru_grad_reset_column)(dz + ldz * j + n, g + ldg * j + n, dra + n * j,
                                            flow + n * j, a_prev + ldp * j, n);
    }
}

CRNN_INLINE void CRNN_FN(crnn_gru_grad_after_column)(
    CRNN_T *CRNN_RESTRICT du, CRNN_T *CRNN_RESTRICT dr, CRNN_T *CRNN_RESTRICT dc,
    CRNN_T *CRNN_RESTRICT dhj, const CRNN_T *CRNN_RESTRICT gu,
    const CRNN_T *CRNN_RESTRICT gr, const CRNN_T *CRNN_RESTRICT gc,
    const CRNN_T *CRNN_RESTRICT daj, CRNN_T *CRNN_RESTRICT fj,
    const CRNN_T *CRNN_RESTRICT ap, const CRNN_T *CRNN_RESTRICT hcj, ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; ++i) {
        CRNN_T d = daj[i] + fj[i];
        CRNN_T u = gu[i], r = gr[i], cc = gc[i];
        CRNN_T dcc = d * u * (ONE - cc * cc);
        dhj[i] = dcc;
        du[i] = d * (cc - ap[i]) * u * (ONE - u);
        dr[i] = dcc * hcj[i] * r * (ONE - r);
        dc[i] = dcc * r;
        fj[i] = d * (ONE - u);
    }
}

/*
 * The gradient through one step of the GRU with the reset gate after the product. With
 * d = da + flow and dn = d*u*(1 - cc^2), the gradient of the candidate's pre-activation:
 *   dz = [d*(cc - a_prev)*u*(1 - u); dn*hc*r*(1 - r); dn*r], the gradients of the
 *        products with a_prev (the last, of hc = Wca·a_prev + bca);
 *   dh = dn, that of Wcx·xt + bcx;  flow <- d*(1 - u).
 */
CRNN_CLONES
void CRNN_FN(crnn_gru_grad_after)(CRNN_T *dz, ptrdiff_t ldz, CRNN_T *dh, ptrdiff_t ldh,
                                  const CRNN_T *g, ptrdiff_t ldg, const CRNN_T *da,
                                  ptrdiff_t ldd, CRNN_T *flow, const CRNN_T *a_prev,
                                  ptrdiff_t ldp, const CRNN_T *hc, ptrdiff_t ldhc,
                                  ptrdiff_t n, ptrdiff_t ncols)
{
    ptrdiff_t j;
    for (j = 0; j < ncols; ++j) {
        CRNN_T *dzj = dz + ldz * j;
        const CRNN_T *gj = g + ldg * j;
        CRNN_FN(crnn_gru_grad_after_column)(dzj, dzj + n, dzj + 2 * n, dh + ldh * j, gj,
                                            gj + n, gj + 2 * n, da + ldd * j, flow + n * j,
                                            a_prev + ldp * j, hc + ldhc * j, n);
    }
}

#undef ONE
