/*
 * crnn_lstm.h -- the fused gate loops of crnn's LSTM kernels.
 *
 * Plain C99, portable to gcc, clang and MSVC, column-major like crnn_elementwise.h.
 * The four gates of a step are packed in one (4n, ncols) block g: rows 0..n-1 the forget
 * gate, then the update gate, the candidate, the output gate, matching the packed
 * weight (4n, n + n_x) whose product with [a_prev; xt] fills the block. Every other
 * block is (n, ncols). Each block's columns are a leading dimension apart (ld...), as
 * in crnn's sequence buffers, where step t's columns are those of the whole sequence. Each loop comes in a double ("_d") and a float ("_s") version
 * from one template, crnn_lstm_impl.h.
 */
#ifndef CRNN_LSTM_H
#define CRNN_LSTM_H

#include <stddef.h>

#include "crnn_elementwise.h" /* CRNN_RESTRICT */

#define CRNN_LSTM_DECLARE(T, SFX)                                                      \
    void crnn_lstm_gates_##SFX(T *g, ptrdiff_t ldg, const T *b, const T *c_prev,       \
                               ptrdiff_t ldp, T *c, T *a, ptrdiff_t ld, ptrdiff_t n,    \
                               ptrdiff_t ncols);                                       \
    void crnn_lstm_gates_grad_##SFX(T *dg, const T *g, ptrdiff_t ldg, T *dc,           \
                                    const T *flow, const T *da, ptrdiff_t ldd,         \
                                    const T *c, ptrdiff_t ldc, const T *c_prev,        \
                                    ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols);

CRNN_LSTM_DECLARE(double, d)
CRNN_LSTM_DECLARE(float, s)

#undef CRNN_LSTM_DECLARE

#endif /* CRNN_LSTM_H */
