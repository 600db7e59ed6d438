# cython: language_level=3
"""The vanilla RNN kernels: forward and backward over a whole sequence.

Every buffer is column-major, so that the block of step t is contiguous for BLAS:
an ``(n, m, T)`` array in Fortran order is the column-major ``(n, m·T)`` matrix whose
columns ``t·m .. t·m+m-1`` are step t. Weights arrive C-ordered; see ``_blas.pxd``.

The Python layer (``crnn.rnn``) validates, converts and allocates; the kernels here
only take pointers, so the time loop runs in one ``with nogil:`` block with no Python
object in it. Empty operands are passed as NULL and never touched (``_blas.gemm``).
"""
from cython cimport floating

from crnn._blas cimport blas_int, gemm
from crnn._elementwise cimport bias_softmax, bias_tanh, row_sums, tanh_grad


# --- the time loops ------------------------------------------------------------------

cdef void forward_loop(blas_int n_x, blas_int n_a, blas_int n_y, blas_int m, blas_int T,
                       const floating *x, const floating *a0,
                       const floating *Wax, const floating *Waa, const floating *ba,
                       const floating *Wya, const floating *by,
                       floating *a, floating *y) noexcept nogil:
    """a_t = tanh(Waa·a_{t-1} + Wax·x_t + ba);  y_t = softmax(Wya·a_t + by)."""
    cdef blas_int mT = m * T
    cdef Py_ssize_t step = <Py_ssize_t>n_a * m
    cdef Py_ssize_t t
    cdef const floating *a_prev = a0
    cdef floating *a_t
    if n_a > 0:
        # A (n_a×m·T) = Wax (n_a×n_x) · X (n_x×m·T): the input part of every step at once
        gemm(c'T', c'N', n_a, mT, n_x, 1, Wax, n_x, x, n_x, 0, a, n_a)
        for t in range(T):
            a_t = a + t * step
            # a_t (n_a×m) += Waa (n_a×n_a) · a_prev (n_a×m)
            gemm(c'T', c'N', n_a, m, n_a, 1, Waa, n_a, a_prev, n_a, 1, a_t, n_a)
            bias_tanh(a_t, ba, n_a, m)
            a_prev = a_t
    # Y (n_y×m·T) = Wya (n_y×n_a) · A (n_a×m·T), then a softmax per column
    gemm(c'T', c'N', n_y, mT, n_a, 1, Wya, n_a, a, n_a, 0, y, n_y)
    bias_softmax(y, by, n_y, mT)


cdef void backward_loop(blas_int n_x, blas_int n_a, blas_int m, blas_int T,
                        const floating *da, const floating *a, const floating *a0,
                        const floating *a_prev_rest, const floating *x,
                        const floating *Wax, const floating *Waa,
                        floating *dz, floating *dx, floating *da0,
                        floating *dWax, floating *dWaa, floating *dba) noexcept nogil:
    """Back through the sequence: dz_t is the gradient of step t's pre-activation.

    dz_t = (da_t + Waa.T·dz_{t+1}) * (1 - a_t²), and the weight gradients are sums
    over steps, each one product over the whole sequence. Needs n_a, m, T >= 1.
    """
    cdef blas_int mT = m * T
    cdef Py_ssize_t step = <Py_ssize_t>n_a * m
    cdef Py_ssize_t t = T - 1
    tanh_grad(dz + t * step, da + t * step, a + t * step, step, 0)
    for t in range(T - 2, -1, -1):
        # dz_t (n_a×m) = Waa.T (n_a×n_a) · dz_{t+1} (n_a×m), the flow into a_t
        gemm(c'N', c'N', n_a, m, n_a, 1, Waa, n_a, dz + (t + 1) * step, n_a,
             0, dz + t * step, n_a)
        tanh_grad(dz + t * step, da + t * step, a + t * step, step, 1)
    # da0 (n_a×m) = Waa.T (n_a×n_a) · dz_0 (n_a×m)
    gemm(c'N', c'N', n_a, m, n_a, 1, Waa, n_a, dz, n_a, 0, da0, n_a)
    # dX (n_x×m·T) = Wax.T (n_x×n_a) · dZ (n_a×m·T)
    gemm(c'N', c'N', n_x, mT, n_a, 1, Wax, n_x, dz, n_a, 0, dx, n_x)
    # dWax.T (n_x×n_a) = X (n_x×m·T) · dZ.T (m·T×n_a); C-ordered dWax is column-major dWax.T
    gemm(c'N', c'T', n_x, n_a, mT, 1, x, n_x, dz, n_a, 0, dWax, n_x)
    # dWaa.T (n_a×n_a) = a0 (n_a×m) · dz_0.T (m×n_a)
    gemm(c'N', c'T', n_a, n_a, m, 1, a0, n_a, dz, n_a, 0, dWaa, n_a)
    # dWaa.T (n_a×n_a) += A_prev (n_a×m·(T-1)) · dZ_{1..T-1}.T (m·(T-1)×n_a)
    gemm(c'N', c'T', n_a, n_a, mT - m, 1, a_prev_rest, n_a, dz + step, n_a,
         1, dWaa, n_a)
    # dba (n_a) = dZ (n_a×m·T) summed over its columns
    row_sums(dz, n_a, mT, dba)


# --- entry points: memoryviews in, pointers to the loops -----------------------------

def rnn_forward_kernel(const floating[::1, :] x, const floating[::1, :] a0,
                       const floating[:, ::1] Wax, const floating[:, ::1] Waa,
                       const floating[::1] ba, const floating[:, ::1] Wya,
                       const floating[::1] by, floating[::1, :] a, floating[::1, :] y):
    """Fill ``a`` (n_a, m·T) and ``y`` (n_y, m·T) from ``x`` (n_x, m·T) and ``a0``.

    All sizes are checked by the caller to fit ``blas_int``; m, T, n_y >= 1.
    """
    cdef blas_int n_x = x.shape[0], n_a = a0.shape[0], n_y = Wya.shape[0]
    cdef blas_int m = a0.shape[1]
    cdef blas_int T = x.shape[1] // m
    cdef const floating *px = &x[0, 0] if n_x else NULL
    cdef const floating *pa0 = &a0[0, 0] if n_a else NULL
    cdef const floating *pWax = &Wax[0, 0] if n_a and n_x else NULL
    cdef const floating *pWaa = &Waa[0, 0] if n_a else NULL
    cdef const floating *pba = &ba[0] if n_a else NULL
    cdef const floating *pWya = &Wya[0, 0] if n_a else NULL
    cdef floating *pa = &a[0, 0] if n_a else NULL
    with nogil:
        forward_loop(n_x, n_a, n_y, m, T, px, pa0, pWax, pWaa, pba, pWya, &by[0],
                     pa, &y[0, 0])


def rnn_backward_kernel(const floating[::1, :] da, const floating[::1, :] a,
                        const floating[::1, :] a0, const floating[::1, :] a_prev_rest,
                        const floating[::1, :] x, const floating[:, ::1] Wax,
                        const floating[:, ::1] Waa, floating[::1, :] dz,
                        floating[::1, :] dx, floating[::1, :] da0,
                        floating[:, ::1] dWax, floating[:, ::1] dWaa, floating[::1] dba):
    """Fill the gradients from ``da`` (n_a, m·T) and the forward's states.

    ``a`` holds a_t for every step, ``a0`` the state before step 0 and ``a_prev_rest``
    (n_a, m·(T-1)) the states before steps 1..T-1. ``dz`` is work space of da's shape.
    All sizes are checked by the caller to fit ``blas_int``; n_a, m, T >= 1.
    """
    cdef blas_int n_x = x.shape[0], n_a = a0.shape[0], m = a0.shape[1]
    cdef blas_int T = da.shape[1] // m
    cdef const floating *prest = &a_prev_rest[0, 0] if T > 1 else NULL
    cdef const floating *px = &x[0, 0] if n_x else NULL
    cdef const floating *pWax = &Wax[0, 0] if n_x else NULL
    cdef floating *pdx = &dx[0, 0] if n_x else NULL
    cdef floating *pdWax = &dWax[0, 0] if n_x else NULL
    with nogil:
        backward_loop(n_x, n_a, m, T, &da[0, 0], &a[0, 0], &a0[0, 0], prest, px, pWax,
                      &Waa[0, 0], &dz[0, 0], pdx, &da0[0, 0], pdWax, &dWaa[0, 0],
                      &dba[0])


cdef extern from *:
    """
    #ifndef CRNN_DEBUG
    #define CRNN_DEBUG 0
    #endif
    """
    const int CRNN_DEBUG

#: True in a debug build (CRNN_DEBUG=1): Cython's bounds and initialisation checks are on.
DEBUG_BUILD = bool(CRNN_DEBUG)
