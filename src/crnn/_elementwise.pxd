# cython: language_level=3
"""The fused elementwise loops of csrc/crnn_elementwise.c, dispatched on ``floating``.

Shared by the engine and the kernels; each extension that cimports this compiles
``csrc/crnn_elementwise.c`` in (see ``setup.py``).
"""
from cython cimport floating
from libc.stddef cimport ptrdiff_t


cdef extern from "crnn_elementwise.h" nogil:
    void crnn_bias_tanh_d(double *z, const double *b, ptrdiff_t n, ptrdiff_t ncols,
                          ptrdiff_t ld)
    void crnn_bias_tanh_s(float *z, const float *b, ptrdiff_t n, ptrdiff_t ncols,
                          ptrdiff_t ld)
    void crnn_bias_relu_d(double *z, const double *b, ptrdiff_t n, ptrdiff_t ncols,
                          ptrdiff_t ld)
    void crnn_bias_relu_s(float *z, const float *b, ptrdiff_t n, ptrdiff_t ncols,
                          ptrdiff_t ld)
    void crnn_bias_softmax_d(double *z, const double *b, ptrdiff_t n, ptrdiff_t ncols)
    void crnn_bias_softmax_s(float *z, const float *b, ptrdiff_t n, ptrdiff_t ncols)
    void crnn_gather_steps_d(double *dst, ptrdiff_t ld, const double *src, ptrdiff_t s0,
                             ptrdiff_t s1, ptrdiff_t s2, ptrdiff_t n, ptrdiff_t m,
                             ptrdiff_t T)
    void crnn_gather_steps_s(float *dst, ptrdiff_t ld, const float *src, ptrdiff_t s0,
                             ptrdiff_t s1, ptrdiff_t s2, ptrdiff_t n, ptrdiff_t m,
                             ptrdiff_t T)
    void crnn_row_sums_d(const double *d, ptrdiff_t n, ptrdiff_t ncols, double *out)
    void crnn_row_sums_s(const float *d, ptrdiff_t n, ptrdiff_t ncols, float *out)


# --- the C loops, dispatched on the fused type -------------------------------------

cdef inline void bias_tanh(floating *z, const floating *b, Py_ssize_t n,
                           Py_ssize_t ncols, Py_ssize_t ld) noexcept nogil:
    if floating is double:
        crnn_bias_tanh_d(z, b, n, ncols, ld)
    else:
        crnn_bias_tanh_s(z, b, n, ncols, ld)


cdef inline void bias_activation(floating *z, const floating *b, Py_ssize_t n,
                                 Py_ssize_t ncols, Py_ssize_t ld, bint relu) noexcept nogil:
    """z = tanh(z + b), or relu(z + b) with relu, per column."""
    if not relu:
        bias_tanh(z, b, n, ncols, ld)
    elif floating is double:
        crnn_bias_relu_d(z, b, n, ncols, ld)
    else:
        crnn_bias_relu_s(z, b, n, ncols, ld)


cdef inline void bias_softmax(floating *z, const floating *b, Py_ssize_t n,
                              Py_ssize_t ncols) noexcept nogil:
    if floating is double:
        crnn_bias_softmax_d(z, b, n, ncols)
    else:
        crnn_bias_softmax_s(z, b, n, ncols)


cdef inline void gather_steps(floating *dst, Py_ssize_t ld, const floating *src,
                              Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t s2, Py_ssize_t n,
                              Py_ssize_t m, Py_ssize_t T) noexcept nogil:
    if floating is double:
        crnn_gather_steps_d(dst, ld, src, s0, s1, s2, n, m, T)
    else:
        crnn_gather_steps_s(dst, ld, src, s0, s1, s2, n, m, T)


cdef inline void row_sums(const floating *d, Py_ssize_t n, Py_ssize_t ncols,
                          floating *out) noexcept nogil:
    if floating is double:
        crnn_row_sums_d(d, n, ncols, out)
    else:
        crnn_row_sums_s(d, n, ncols, out)
