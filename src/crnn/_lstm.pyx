# cython: language_level=3
"""The LSTM kernels: forward and backward over a whole sequence.

Buffers are column-major and, unlike ``_rnn.pyx``'s, Fortran-ordered: an ``(n, m, T)``
array is the ``(n, m·T)`` matrix whose columns ``t·m .. t·m+m-1`` are step t.

The four gates share one packed weight ``W = [Wf; Wi; Wc; Wo]`` of shape
``(4·n_a, n_a+n_x)``, C-ordered, so one product fills every gate: read column-major it
is ``W.T`` with leading dimension ``n_a+n_x``, whose first ``n_a`` rows are the
recurrent part ``W[:, :n_a].T`` and whose rows from ``n_a`` on (pointer ``W + n_a``)
are the input part ``W[:, n_a:].T``. The gates of a step are a ``(4·n_a, m)`` block:
forget, update, candidate, output, ``n_a`` rows each (``csrc/crnn_lstm.h``).

The Python layer (``crnn.lstm``) validates, converts, packs and allocates; the time
loops here run in one ``with nogil:`` block with no Python object in it.
"""
from cython cimport floating
from libc.stddef cimport ptrdiff_t

from crnn._blas cimport blas_int, gemm
from crnn._elementwise cimport bias_softmax, row_sums


cdef extern from "crnn_lstm.h" nogil:
    void crnn_lstm_gates_d(double *g, const double *b, const double *c_prev, double *c,
                           double *a, ptrdiff_t n, ptrdiff_t ncols)
    void crnn_lstm_gates_s(float *g, const float *b, const float *c_prev, float *c,
                           float *a, ptrdiff_t n, ptrdiff_t ncols)
    void crnn_lstm_gates_grad_d(double *dg, double *dc, const double *da,
                                const double *da_flow, const double *g, const double *c,
                                const double *c_prev, ptrdiff_t n, ptrdiff_t ncols)
    void crnn_lstm_gates_grad_s(float *dg, float *dc, const float *da,
                                const float *da_flow, const float *g, const float *c,
                                const float *c_prev, ptrdiff_t n, ptrdiff_t ncols)


cdef inline void lstm_gates(floating *g, const floating *b, const floating *c_prev,
                            floating *c, floating *a, Py_ssize_t n,
                            Py_ssize_t ncols) noexcept nogil:
    if floating is double:
        crnn_lstm_gates_d(g, b, c_prev, c, a, n, ncols)
    else:
        crnn_lstm_gates_s(g, b, c_prev, c, a, n, ncols)


cdef inline void lstm_gates_grad(floating *dg, floating *dc, const floating *da,
                                 const floating *da_flow, const floating *g,
                                 const floating *c, const floating *c_prev, Py_ssize_t n,
                                 Py_ssize_t ncols) noexcept nogil:
    if floating is double:
        crnn_lstm_gates_grad_d(dg, dc, da, da_flow, g, c, c_prev, n, ncols)
    else:
        crnn_lstm_gates_grad_s(dg, dc, da, da_flow, g, c, c_prev, n, ncols)


# --- the time loops ------------------------------------------------------------------

cdef void forward_loop(blas_int n_x, blas_int n_a, blas_int n_y, blas_int m, blas_int T,
                       const floating *x, const floating *a0, const floating *c0,
                       const floating *W, const floating *b, const floating *Wy,
                       const floating *by, floating *gates, floating *a, floating *c,
                       floating *y) noexcept nogil:
    """gates_t = W·[a_{t-1}; x_t] + b through the gate functions, c_t, a_t; y_t = softmax(Wy·a_t + by)."""
    cdef blas_int n4 = 4 * n_a, ldw = n_a + n_x, mT = m * T
    cdef Py_ssize_t step = <Py_ssize_t>n_a * m
    cdef Py_ssize_t t
    cdef const floating *a_prev = a0
    cdef const floating *c_prev = c0
    cdef floating *g_t
    if n_a > 0:
        # G (4n_a×m·T) = W[:, n_a:] (4n_a×n_x) · X (n_x×m·T): the input part of every
        # gate at every step at once
        gemm(c'T', c'N', n4, mT, n_x, 1, W + n_a, ldw, x, n_x, 0, gates, n4)
        for t in range(T):
            g_t = gates + 4 * t * step
            # g_t (4n_a×m) += W[:, :n_a] (4n_a×n_a) · a_prev (n_a×m)
            gemm(c'T', c'N', n4, m, n_a, 1, W, ldw, a_prev, n_a, 1, g_t, n4)
            lstm_gates(g_t, b, c_prev, c + t * step, a + t * step, n_a, m)
            a_prev = a + t * step
            c_prev = c + t * step
    # Y (n_y×m·T) = Wy (n_y×n_a) · A (n_a×m·T), then a softmax per column
    gemm(c'T', c'N', n_y, mT, n_a, 1, Wy, n_a, a, n_a, 0, y, n_y)
    bias_softmax(y, by, n_y, mT)


cdef void backward_loop(blas_int n_x, blas_int n_a, blas_int m, blas_int T,
                        const floating *da, const floating *gates, const floating *c,
                        const floating *c_prev0, const floating *c_prev_rest,
                        const floating *a_prev0, const floating *a_prev_rest,
                        const floating *x, const floating *W, floating *dgates,
                        floating *dx, floating *da0, floating *dc0, floating *dW,
                        floating *db) noexcept nogil:
    """Back through the sequence: dgates_t is the gradient of step t's gate pre-activations.

    da0 and dc0 carry the flows between steps: on entry da0 holds zeros and dc0 the
    dc_next of the last step; on exit they hold the gradients reaching a0 and c0. The
    weight gradients are sums over steps, each one product over the whole sequence.
    Needs n_a, m, T >= 1.
    """
    cdef blas_int n4 = 4 * n_a, ldw = n_a + n_x, mT = m * T
    cdef Py_ssize_t step = <Py_ssize_t>n_a * m
    cdef Py_ssize_t t
    cdef floating *dg_t
    for t in range(T - 1, -1, -1):
        dg_t = dgates + 4 * t * step
        lstm_gates_grad(dg_t, dc0, da + t * step, da0, gates + 4 * t * step, c + t * step,
                        c_prev_rest + (t - 1) * step if t else c_prev0, n_a, m)
        # da0 (n_a×m) = W[:, :n_a].T (n_a×4n_a) · dg_t (4n_a×m): the flow into a_{t-1}
        gemm(c'N', c'N', n_a, m, n4, 1, W, ldw, dg_t, n4, 0, da0, n_a)
    # dX (n_x×m·T) = W[:, n_a:].T (n_x×4n_a) · dG (4n_a×m·T)
    gemm(c'N', c'N', n_x, mT, n4, 1, W + n_a, ldw, dgates, n4, 0, dx, n_x)
    # dW[:, :n_a].T (n_a×4n_a) = a0 (n_a×m) · dg_0.T (m×4n_a); C-ordered dW is
    # column-major dW.T, with leading dimension n_a+n_x
    gemm(c'N', c'T', n_a, n4, m, 1, a_prev0, n_a, dgates, n4, 0, dW, ldw)
    # dW[:, :n_a].T (n_a×4n_a) += A_prev (n_a×m·(T-1)) · dG_{1..T-1}.T (m·(T-1)×4n_a)
    gemm(c'N', c'T', n_a, n4, mT - m, 1, a_prev_rest, n_a, dgates + 4 * step, n4,
         1, dW, ldw)
    # dW[:, n_a:].T (n_x×4n_a) = X (n_x×m·T) · dG.T (m·T×4n_a)
    gemm(c'N', c'T', n_x, n4, mT, 1, x, n_x, dgates, n4, 0, dW + n_a, ldw)
    # db (4n_a) = dG (4n_a×m·T) summed over its columns
    row_sums(dgates, n4, mT, db)


# --- entry points: memoryviews in, pointers to the loops -----------------------------

def lstm_forward_kernel(const floating[::1, :] x, const floating[::1, :] a0,
                        const floating[::1, :] c0, const floating[:, ::1] W,
                        const floating[::1] b, const floating[:, ::1] Wy,
                        const floating[::1] by, floating[::1, :] gates,
                        floating[::1, :] a, floating[::1, :] c, floating[::1, :] y):
    """Fill ``gates`` (4n_a, m·T), ``a``, ``c`` (n_a, m·T) and ``y`` (n_y, m·T).

    ``x`` is (n_x, m·T), ``a0`` and ``c0`` (n_a, m), ``W`` the packed (4n_a, n_a+n_x)
    weight and ``b`` the packed (4n_a) bias. All sizes are checked by the caller to fit
    ``blas_int``; m, T, n_y >= 1.
    """
    cdef blas_int n_x = x.shape[0], n_a = a0.shape[0], n_y = Wy.shape[0]
    cdef blas_int m = a0.shape[1]
    cdef blas_int T = x.shape[1] // m
    cdef const floating *px = &x[0, 0] if n_x else NULL
    cdef const floating *pa0 = &a0[0, 0] if n_a else NULL
    cdef const floating *pc0 = &c0[0, 0] if n_a else NULL
    cdef const floating *pW = &W[0, 0] if n_a else NULL
    cdef const floating *pb = &b[0] if n_a else NULL
    cdef const floating *pWy = &Wy[0, 0] if n_a else NULL
    cdef floating *pg = &gates[0, 0] if n_a else NULL
    cdef floating *pa = &a[0, 0] if n_a else NULL
    cdef floating *pc = &c[0, 0] if n_a else NULL
    with nogil:
        forward_loop(n_x, n_a, n_y, m, T, px, pa0, pc0, pW, pb, pWy, &by[0], pg, pa, pc,
                     &y[0, 0])


def lstm_backward_kernel(const floating[::1, :] da, const floating[::1, :] gates,
                         const floating[::1, :] c, const floating[::1, :] c_prev0,
                         const floating[::1, :] c_prev_rest, const floating[::1, :] a_prev0,
                         const floating[::1, :] a_prev_rest, const floating[::1, :] x,
                         const floating[:, ::1] W, floating[::1, :] dgates,
                         floating[::1, :] dx, floating[::1, :] da0, floating[::1, :] dc0,
                         floating[:, ::1] dW, floating[::1] db):
    """Fill the gradients from ``da`` (n_a, m·T) and the forward's arrays.

    ``gates`` (4n_a, m·T) and ``c`` (n_a, m·T) hold every step's gates and cell state;
    ``c_prev0``/``a_prev0`` the states before step 0 and ``c_prev_rest``/``a_prev_rest``
    (n_a, m·(T-1)) those before steps 1..T-1. ``da0`` must hold zeros and ``dc0`` the
    gradient of the last cell state. ``dgates`` is work space of the gates' shape; ``dW``
    (4n_a, n_a+n_x) and ``db`` (4n_a) are packed like ``W``. All sizes are checked by the
    caller to fit ``blas_int``; n_a, m, T >= 1.
    """
    cdef blas_int n_x = x.shape[0], n_a = a_prev0.shape[0], m = a_prev0.shape[1]
    cdef blas_int T = da.shape[1] // m
    cdef const floating *pcrest = &c_prev_rest[0, 0] if T > 1 else NULL
    cdef const floating *parest = &a_prev_rest[0, 0] if T > 1 else NULL
    cdef const floating *px = &x[0, 0] if n_x else NULL
    cdef floating *pdx = &dx[0, 0] if n_x else NULL
    with nogil:
        backward_loop(n_x, n_a, m, T, &da[0, 0], &gates[0, 0], &c[0, 0], &c_prev0[0, 0],
                      pcrest, &a_prev0[0, 0], parest, px, &W[0, 0], &dgates[0, 0], pdx,
                      &da0[0, 0], &dc0[0, 0], &dW[0, 0], &db[0])
