/*
 * crnn_gru.h -- the fused per-step loops of crnn's GRU, on the engine's driver.
 *
 * Plain C99, portable to gcc, clang and MSVC, column-major like crnn_elementwise.h. The
 * three gates of a step are one (3n, ncols) block g: rows 0..n-1 the update gate u, then
 * the reset gate r, then the candidate cc, matching the packed weight (3n, n + n_x)
 * whose recurrent part multiplies a_prev. On entry a step's g holds the input part of
 * its pre-activations (and, in the lecture's convention, the recurrent part too); on
 * exit it holds the gates' values, which the backward pass reads. Every other block is
 * (n, ncols), its columns a leading dimension (ld...) apart; "flow" blocks are
 * contiguous (ld = n). Each loop comes in a double ("_d") and a float ("_s") version
 * from one template, crnn_gru_impl.h.
 */
#ifndef CRNN_GRU_H
#define CRNN_GRU_H

#include <stddef.h>

#include "crnn_elementwise.h" /* CRNN_RESTRICT */

#define CRNN_GRU_DECLARE(T, SFX)                                                        \
    void crnn_gru_gates_##SFX(T *g, ptrdiff_t ldg, const T *b, const T *a_prev,          \
                              ptrdiff_t ldp, T *ra, ptrdiff_t ldr, ptrdiff_t n,          \
                              ptrdiff_t ncols);                                          \
    void crnn_gru_state_##SFX(T *g, ptrdiff_t ldg, const T *b, const T *a_prev,          \
                              ptrdiff_t ldp, T *a, ptrdiff_t lda, ptrdiff_t n,           \
                              ptrdiff_t ncols);                                          \
    void crnn_gru_after_##SFX(T *g, ptrdiff_t ldg, const T *h, const T *b,               \
                              const T *bca, const T *a_prev, ptrdiff_t ldp, T *hc,       \
                              ptrdiff_t ldhc, T *a, ptrdiff_t lda, ptrdiff_t n,          \
                              ptrdiff_t ncols);                                          \
    void crnn_gru_grad_before_##SFX(T *dz, ptrdiff_t ldz, const T *g, ptrdiff_t ldg,     \
                                    const T *da, ptrdiff_t ldd, T *flow,                 \
                                    const T *a_prev, ptrdiff_t ldp, ptrdiff_t n,         \
                                    ptrdiff_t ncols);                                    \
    void crnn_gru_grad_reset_##SFX(T *dz, ptrdiff_t ldz, const T *g, ptrdiff_t ldg,      \
                                   const T *dra, T *flow, const T *a_prev,               \
                                   ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols);         \
    void crnn_gru_grad_after_##SFX(T *dz, ptrdiff_t ldz, T *dh, ptrdiff_t ldh,           \
                                   const T *g, ptrdiff_t ldg, const T *da, ptrdiff_t ldd, \
                                   T *flow, const T *a_prev, ptrdiff_t ldp,              \
                                   const T *hc, ptrdiff_t ldhc, ptrdiff_t n,             \
                                   ptrdiff_t ncols);

CRNN_GRU_DECLARE(double, d)
CRNN_GRU_DECLARE(float, s)

#undef CRNN_GRU_DECLARE

#endif /* CRNN_GRU_H */
