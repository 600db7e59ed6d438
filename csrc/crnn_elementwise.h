/*
 * crnn_elementwise.h -- the fused elementwise loops of crnn's kernels.
 *
 * Plain C99 without VLAs or compiler extensions, portable to gcc, clang and MSVC.
 * Every matrix is column-major: element (i, j) of an (n, ncols) block is p[i + ld*j],
 * with ld = n unless a loop takes its own.
 * Each loop comes in a double ("_d") and a float ("_s") version, generated from one
 * template in crnn_elementwise_impl.h, so float32 data is computed in float32.
 * Sizes are ptrdiff_t: a product of dimensions never overflows a 32-bit int here.
 */
#ifndef CRNN_ELEMENTWISE_H
#define CRNN_ELEMENTWISE_H

#include <stddef.h>

#if defined(_MSC_VER)
#  define CRNN_RESTRICT __restrict
#elif defined(__GNUC__) || defined(__clang__)
#  define CRNN_RESTRICT __restrict__
#else
#  define CRNN_RESTRICT
#endif

#define CRNN_DECLARE(T, SFX)                                                          \
    void crnn_bias_tanh_##SFX(T *z, const T *b, ptrdiff_t n, ptrdiff_t ncols,         \
                              ptrdiff_t ld);                                          \
    void crnn_bias_relu_##SFX(T *z, const T *b, ptrdiff_t n, ptrdiff_t ncols,         \
                              ptrdiff_t ld);                                          \
    void crnn_rnn_grad_##SFX(T *dz, ptrdiff_t ldz, const T *da, ptrdiff_t ldd,        \
                             const T *flow, const T *a, ptrdiff_t lda, ptrdiff_t n,   \
                             ptrdiff_t ncols, int relu);                              \
    void crnn_bias_softmax_##SFX(T *z, const T *b, ptrdiff_t n, ptrdiff_t ncols);     \
    void crnn_gather_steps_##SFX(T *dst, ptrdiff_t ld, const T *src, ptrdiff_t s0,    \
                                 ptrdiff_t s1, ptrdiff_t s2, ptrdiff_t n, ptrdiff_t m, \
                                 ptrdiff_t nsteps);                                    \
    void crnn_row_sums_##SFX(const T *d, ptrdiff_t n, ptrdiff_t ncols, T *out);

CRNN_DECLARE(double, d)
CRNN_DECLARE(float, s)

#undef CRNN_DECLARE

#endif /* CRNN_ELEMENTWISE_H */
