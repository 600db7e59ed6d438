# cython: language_level=3
"""The recurrence engine's driver, for cells whose gates share one packed weight.

A cell with G gates keeps its weights packed in one C-ordered ``W`` of shape
``(G·n_a, n_a+n_x)``: its first ``n_a`` columns multiply the previous state, the rest
the input, as the LSTM's ``[a_prev; xt]``. The driver computes the input part of every
gate at every step in one gemm before the time loop, runs the per-step recurrent
products and the cell's C loops (``csrc/crnn_<cell>.h``) in one ``with nogil:`` block,
then computes ``dx`` and the weight gradients as whole-sequence gemms.

Sequences are in the kernels' layout (``_arrays.pxd``): the ``(n, m·T)`` column-major
matrix whose column ``j·T + t`` is batch column j of step t; step t's block starts at
column t, its columns ``n·T`` apart. The caller (``crnn.gru``) validates, packs and
allocates; the entry points check what they are handed, then run the loops.

The GRU (G = 3: update u, reset r, candidate c) comes in two conventions. In the
lecture's, the candidate's recurrent product reads ``r*a_prev``, so a step makes two
recurrent products with a C loop between them. With the reset gate after the product
(PyTorch's), the step's whole recurrent product lands in a block of its own, which the
reset gate scales. ``aux`` holds, per step, what the backward pass needs besides the
gates: ``r*a_prev`` (lecture) or ``Wca·a_prev + bca`` (reset after).
"""
cimport numpy as cnp
from cython cimport floating
from libc.stddef cimport ptrdiff_t
from libc.string cimport memset

from crnn._arrays cimport Operand, kernel_type, new_matrix, operand, sequence, strided, vector
from crnn._blas cimport blas_int, gemm
from crnn._elementwise cimport bias_softmax, gather_steps, row_sums

cnp.import_array()


cdef extern from "crnn_gru.h" nogil:
    void crnn_gru_gates_d(double *g, ptrdiff_t ldg, const double *b, const double *a_prev,
                          ptrdiff_t ldp, double *ra, ptrdiff_t ldr, ptrdiff_t n,
                          ptrdiff_t ncols)
    void crnn_gru_gates_s(float *g, ptrdiff_t ldg, const float *b, const float *a_prev,
                          ptrdiff_t ldp, float *ra, ptrdiff_t ldr, ptrdiff_t n,
                          ptrdiff_t ncols)
    void crnn_gru_state_d(double *g, ptrdiff_t ldg, const double *b, const double *a_prev,
                          ptrdiff_t ldp, double *a, ptrdiff_t lda, ptrdiff_t n,
                          ptrdiff_t ncols)
    void crnn_gru_state_s(float *g, ptrdiff_t ldg, const float *b, const float *a_prev,
                          ptrdiff_t ldp, float *a, ptrdiff_t lda, ptrdiff_t n,
                          ptrdiff_t ncols)
    void crnn_gru_after_d(double *g, ptrdiff_t ldg, const double *h, const double *b,
                          const double *bca, const double *a_prev, ptrdiff_t ldp,
                          double *hc, ptrdiff_t ldhc, double *a, ptrdiff_t lda,
                          ptrdiff_t n, ptrdiff_t ncols)
    void crnn_gru_after_s(float *g, ptrdiff_t ldg, const float *h, const float *b,
                          const float *bca, const float *a_prev, ptrdiff_t ldp,
                          float *hc, ptrdiff_t ldhc, float *a, ptrdiff_t lda,
                          ptrdiff_t n, ptrdiff_t ncols)
    void crnn_gru_grad_before_d(double *dz, ptrdiff_t ldz, const double *g, ptrdiff_t ldg,
                                const double *da, ptrdiff_t ldd, double *flow,
                                const double *a_prev, ptrdiff_t ldp, ptrdiff_t n,
                                ptrdiff_t ncols)
    void crnn_gru_grad_before_s(float *dz, ptrdiff_t ldz, const float *g, ptrdiff_t ldg,
                                const float *da, ptrdiff_t ldd, float *flow,
                                const float *a_prev, ptrdiff_t ldp, ptrdiff_t n,
                                ptrdiff_t ncols)
    void crnn_gru_grad_reset_d(double *dz, ptrdiff_t ldz, const double *g, ptrdiff_t ldg,
                               const double *dra, double *flow, const double *a_prev,
                               ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols)
    void crnn_gru_grad_reset_s(float *dz, ptrdiff_t ldz, const float *g, ptrdiff_t ldg,
                               const float *dra, float *flow, const float *a_prev,
                               ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols)
    void crnn_gru_grad_after_d(double *dz, ptrdiff_t ldz, double *dh, ptrdiff_t ldh,
                               const double *g, ptrdiff_t ldg, const double *da,
                               ptrdiff_t ldd, double *flow, const double *a_prev,
                               ptrdiff_t ldp, const double *hc, ptrdiff_t ldhc,
                               ptrdiff_t n, ptrdiff_t ncols)
    void crnn_gru_grad_after_s(float *dz, ptrdiff_t ldz, float *dh, ptrdiff_t ldh,
                               const float *g, ptrdiff_t ldg, const float *da,
                               ptrdiff_t ldd, float *flow, const float *a_prev,
                               ptrdiff_t ldp, const float *hc, ptrdiff_t ldhc,
                               ptrdiff_t n, ptrdiff_t ncols)


# --- the GRU's C loops, dispatched on the fused type ---------------------------------

cdef inline void gru_gates(floating *g, Py_ssize_t ldg, const floating *b,
                           const floating *a_prev, Py_ssize_t ldp, floating *ra,
                           Py_ssize_t ldr, Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_gates_d(g, ldg, b, a_prev, ldp, ra, ldr, n, m)
    else:
        crnn_gru_gates_s(g, ldg, b, a_prev, ldp, ra, ldr, n, m)


cdef inline void gru_state(floating *g, Py_ssize_t ldg, const floating *b,
                           const floating *a_prev, Py_ssize_t ldp, floating *a,
                           Py_ssize_t lda, Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_state_d(g, ldg, b, a_prev, ldp, a, lda, n, m)
    else:
        crnn_gru_state_s(g, ldg, b, a_prev, ldp, a, lda, n, m)


cdef inline void gru_after(floating *g, Py_ssize_t ldg, const floating *h, const floating *b,
                           const floating *bca, const floating *a_prev, Py_ssize_t ldp,
                           floating *hc, Py_ssize_t ldhc, floating *a, Py_ssize_t lda,
                           Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_after_d(g, ldg, h, b, bca, a_prev, ldp, hc, ldhc, a, lda, n, m)
    else:
        crnn_gru_after_s(g, ldg, h, b, bca, a_prev, ldp, hc, ldhc, a, lda, n, m)


cdef inline void gru_grad_before(floating *dz, Py_ssize_t ldz, const floating *g,
                                 Py_ssize_t ldg, const floating *da, Py_ssize_t ldd,
                                 floating *flow, const floating *a_prev, Py_ssize_t ldp,
                                 Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_grad_before_d(dz, ldz, g, ldg, da, ldd, flow, a_prev, ldp, n, m)
    else:
        crnn_gru_grad_before_s(dz, ldz, g, ldg, da, ldd, flow, a_prev, ldp, n, m)


cdef inline void gru_grad_reset(floating *dz, Py_ssize_t ldz, const floating *g,
                                Py_ssize_t ldg, const floating *dra, floating *flow,
                                const floating *a_prev, Py_ssize_t ldp, Py_ssize_t n,
                                Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_grad_reset_d(dz, ldz, g, ldg, dra, flow, a_prev, ldp, n, m)
    else:
        crnn_gru_grad_reset_s(dz, ldz, g, ldg, dra, flow, a_prev, ldp, n, m)


cdef inline void gru_grad_after(floating *dz, Py_ssize_t ldz, floating *dh, Py_ssize_t ldh,
                                const floating *g, Py_ssize_t ldg, const floating *da,
                                Py_ssize_t ldd, floating *flow, const floating *a_prev,
                                Py_ssize_t ldp, const floating *hc, Py_ssize_t ldhc,
                                Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_grad_after_d(dz, ldz, dh, ldh, g, ldg, da, ldd, flow, a_prev, ldp, hc,
                              ldhc, n, m)
    else:
        crnn_gru_grad_after_s(dz, ldz, dh, ldh, g, ldg, da, ldd, flow, a_prev, ldp, hc,
                              ldhc, n, m)


# --- the time loops ------------------------------------------------------------------

cdef void gru_forward_loop(blas_int n_x, blas_int n_a, blas_int n_y, blas_int m,
                           blas_int T, Operand x, const floating *a0, blas_int ld_a0,
                           const floating *W, blas_int ldw, const floating *b,
                           const floating *bca, Operand Wy, const floating *by,
                           floating *gates, floating *aux, floating *a, floating *y,
                           floating *h, floating *wa) noexcept nogil:
    """The GRU over T steps: gates (3n_a×m·T), aux and a (n_a×m·T), y (n_y×m·T) in the
    kernels' layout. a0 is Fortran-ordered (n_a×m, columns ld_a0 apart), W the packed
    C-ordered (3n_a×n_a+n_x) weight (rows ldw apart), b the packed (3n_a) bias. bca is
    NULL in the lecture's convention, else the candidate's recurrent bias (n_a), and h
    (3n_a×m) work space for the step's recurrent product. wa (3n_a×n_a) is work space
    for a Fortran-ordered copy of the recurrent part W[:, :n_a]: BLAS's per-step
    products are faster on an untransposed weight (see ``_rnn.untransposed_waa``).
    Needs n_a, m, T >= 1.
    """
    cdef blas_int G = 3 * n_a, n2 = 2 * n_a, mT = m * T
    cdef blas_int ldg = G * T, ld = n_a * T
    cdef Py_ssize_t t
    cdef const floating *a_prev = a0
    cdef blas_int ld_prev = ld_a0
    cdef floating *g_t
    cdef floating *aux_t
    cdef floating *a_t
    # wa (3n_a×n_a) = W[:, :n_a], Fortran-ordered
    gather_steps(wa, G, W, ldw, 0, 1, G, 1, n_a)
    # G (3n_a×m·T) = W[:, n_a:] (3n_a×n_x) · X (n_x×m·T): the input part of every gate
    gemm(c'T', x.trans, G, mT, n_x, 1, W + n_a, ldw, <const floating *>x.data, x.ld, 0,
         gates, G)
    for t in range(T):
        g_t, aux_t, a_t = gates + t * G, aux + t * n_a, a + t * n_a
        if bca == NULL:
            # g_t[:2n_a] (2n_a×m) += W[:2n_a, :n_a] (2n_a×n_a) · a_prev (n_a×m)
            gemm(c'N', c'N', n2, m, n_a, 1, wa, G, a_prev, ld_prev, 1, g_t, ldg)
            gru_gates(g_t, ldg, b, a_prev, ld_prev, aux_t, ld, n_a, m)
            # g_t[2n_a:] (n_a×m) += W[2n_a:, :n_a] (n_a×n_a) · (r*a_prev) (n_a×m)
            gemm(c'N', c'N', n_a, m, n_a, 1, wa + n2, G, aux_t, ld, 1, g_t + n2, ldg)
            gru_state(g_t, ldg, b, a_prev, ld_prev, a_t, ld, n_a, m)
        else:
            # h (3n_a×m) = W[:, :n_a] (3n_a×n_a) · a_prev (n_a×m)
            gemm(c'N', c'N', G, m, n_a, 1, wa, G, a_prev, ld_prev, 0, h, G)
            gru_after(g_t, ldg, h, b, bca, a_prev, ld_prev, aux_t, ld, a_t, ld, n_a, m)
        a_prev, ld_prev = a_t, ld
    # Y (n_y×m·T) = Wy (n_y×n_a) · A (n_a×m·T), then a softmax per column
    gemm(Wy.trans, c'N', n_y, mT, n_a, 1, <const floating *>Wy.data, Wy.ld, a, n_a, 0, y,
         n_y)
    bias_softmax(y, by, n_y, mT)


cdef void gru_backward_loop(blas_int n_x, blas_int n_a, blas_int m, blas_int T,
                            const floating *da, Py_ssize_t ds0, Py_ssize_t ds1,
                            Py_ssize_t ds2, const floating *gates, const floating *aux,
                            const floating *p, Operand x, const floating *W, blas_int ldw,
                            bint after, floating *dA, floating *dz, floating *dh,
                            floating *dra, floating *dx, floating *da0, floating *dW,
                            floating *db, floating *dbca) noexcept nogil:
    """Back through the GRU: dz (3n_a×m·T) receives the gradient of every gate's
    pre-activation on the input's side, dh (n_a×m·T, reset after only) that of
    Wca·a_prev + bca. gates, aux and p (the state before every step) are in the kernels'
    layout, dA (n_a×m·T) is work space for da gathered into it, dra (n_a×m) work space;
    da0 (n_a×m, contiguous) carries the flow between steps and ends as the gradient of
    a0. dW is C-ordered like W. Needs n_a, m, T >= 1.
    """
    cdef blas_int G = 3 * n_a, n2 = 2 * n_a, mT = m * T
    cdef blas_int ldg = G * T, ld = n_a * T
    cdef Py_ssize_t t
    cdef const floating *Wc = W + n2 * <Py_ssize_t>ldw
    cdef floating *dz_t
    cdef const floating *g_t
    cdef const floating *p_t
    # dA (n_a×m·T): da in the kernels' layout, every step at once
    gather_steps(dA, ld, da, ds0, ds1, ds2, n_a, m, T)
    memset(da0, 0, n_a * <Py_ssize_t>m * sizeof(floating))
    for t in range(T - 1, -1, -1):
        dz_t, g_t, p_t = dz + t * G, gates + t * G, p + t * n_a
        if not after:
            gru_grad_before(dz_t, ldg, g_t, ldg, dA + t * n_a, ld, da0, p_t, ld, n_a, m)
            # dra (n_a×m) = W[2n_a:, :n_a].T (n_a×n_a) · dz_c (n_a×m): the gradient of r*a_prev
            gemm(c'N', c'N', n_a, m, n_a, 1, Wc, ldw, dz_t + n2, ldg, 0, dra, n_a)
            gru_grad_reset(dz_t, ldg, g_t, ldg, dra, da0, p_t, ld, n_a, m)
        else:
            gru_grad_after(dz_t, ldg, dh + t * n_a, ld, g_t, ldg, dA + t * n_a, ld, da0, p_t,
                           ld, aux + t * n_a, ld, n_a, m)
            # da0 (n_a×m) += W[2n_a:, :n_a].T (n_a×n_a) · dh_t (n_a×m), through Wca
            gemm(c'N', c'N', n_a, m, n_a, 1, Wc, ldw, dh + t * n_a, ld, 1, da0, n_a)
        # da0 (n_a×m) += W[:2n_a, :n_a].T (n_a×2n_a) · dz_t[:2n_a] (2n_a×m), through u and r
        gemm(c'N', c'N', n_a, m, n2, 1, W, ldw, dz_t, ldg, 1, da0, n_a)
    # dX (n_x×m·T) = W[:, n_a:].T (n_x×3n_a) · dZ (3n_a×m·T)
    gemm(c'N', c'N', n_x, mT, G, 1, W + n_a, ldw, dz, G, 0, dx, n_x)
    # dW[:, n_a:].T (n_x×3n_a) = X (n_x×m·T) · dZ.T (m·T×3n_a)
    gemm(x.trans, c'T', n_x, G, mT, 1, <const floating *>x.data, x.ld, dz, G, 0, dW + n_a,
         ldw)
    # dW[:2n_a, :n_a].T (n_a×2n_a) = P (n_a×m·T) · dZ[:2n_a].T (m·T×2n_a)
    gemm(c'N', c'T', n_a, n2, mT, 1, p, n_a, dz, G, 0, dW, ldw)
    if not after:
        # dW[2n_a:, :n_a].T (n_a×n_a) = (R*P) (n_a×m·T) · dZ[2n_a:].T (m·T×n_a)
        gemm(c'N', c'T', n_a, n_a, mT, 1, aux, n_a, dz + n2, G, 0, dW + n2 * <Py_ssize_t>ldw,
             ldw)
    else:
        # dWca.T (n_a×n_a) = P (n_a×m·T) · dH.T (m·T×n_a)
        gemm(c'N', c'T', n_a, n_a, mT, 1, p, n_a, dh, n_a, 0, dW + n2 * <Py_ssize_t>ldw, ldw)
        row_sums(dh, n_a, mT, dbca)
    row_sums(dz, G, mT, db)


# --- entry points: arrays in, pointers to the loops ----------------------------------

cdef void *c_matrix(object arr, int typenum, Py_ssize_t rows, Py_ssize_t cols, str name,
                    bint writable) except NULL:
    """The data of arr, an aligned C-contiguous (rows, cols) ndarray of typenum (rows
    cols apart); TypeError or ValueError otherwise."""
    cdef Operand unused
    operand(arr, typenum, rows, cols, name, &unused, writable, False)
    if not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>arr):
        raise ValueError(f"{name} must be C-contiguous")
    return cnp.PyArray_DATA(<cnp.ndarray>arr)


cdef int sizes(object arr, str name, int ndim, Py_ssize_t *out) except -1:
    """out receives the ndim sizes of arr, an ndarray of ndim dimensions; ValueError
    otherwise (read before any shape, so that a size past the last is never read)."""
    if not cnp.PyArray_Check(arr) or cnp.PyArray_NDIM(<cnp.ndarray>arr) != ndim:
        raise ValueError(f"{name} must be a {ndim}-D ndarray")
    cdef int k
    for k in range(ndim):
        out[k] = cnp.PyArray_DIM(<cnp.ndarray>arr, k)
    return 0


def gru_forward_kernel(x, a0, W, b, bca, Wy, by, gates, aux, a, y):
    """Fill ``gates`` (3n_a, m, T), ``aux``, ``a`` (n_a, m, T) and ``y`` (n_y, m, T).

    ``x`` is the C-ordered (n_x, m·T) reshape of the course's x, ``a0`` (n_a, m)
    Fortran-ordered, ``W`` the packed C-ordered (3n_a, n_a+n_x) weight, ``b`` the packed
    (3n_a) bias, ``bca`` None (the lecture's convention) or the (n_a) recurrent bias of
    the candidate, ``Wy`` (n_y, n_a) C- or Fortran-ordered, ``by`` (n_y). The outputs, in
    the kernels' layout, set the dtype; every input must have it. Sizes are checked by
    the caller to fit ``blas_int``; n_a, m, T, n_y >= 1.
    """
    cdef int typenum = kernel_type(a)
    cdef Py_ssize_t dims[3]
    cdef Py_ssize_t wdims[2]
    sizes(a, "a", 3, dims)
    sizes(W, "W", 2, wdims)
    cdef Py_ssize_t n_a = dims[0], m = dims[1], T = dims[2], n_x = wdims[1] - dims[0]
    sizes(y, "y", 3, dims)
    cdef Py_ssize_t n_y = dims[0]
    if min(n_a, m, T, n_y) < 1 or n_x < 0:
        raise ValueError(f"a {a.shape}, y {y.shape} and W {W.shape} must have n_a, m, T, "
                         "n_y >= 1 and W (3n_a, n_a+n_x)")
    cdef Operand ox, oa0, oWy
    operand(x, typenum, n_x, m * T, "x", &ox, False, False)
    operand(a0, typenum, n_a, m, "a0", &oa0, False, True)
    cdef void *pW = c_matrix(W, typenum, 3 * n_a, n_a + n_x, "W", False)
    operand(Wy, typenum, n_y, n_a, "Wy", &oWy, False, False)
    cdef void *pb = vector(b, typenum, 3 * n_a, "b")
    cdef void *pbca = NULL if bca is None else vector(bca, typenum, n_a, "bca")
    cdef void *pby = vector(by, typenum, n_y, "by")
    cdef void *pg = sequence(gates, typenum, 3 * n_a, m, T, "gates", True)
    cdef void *paux = sequence(aux, typenum, n_a, m, T, "aux", True)
    cdef void *pa = sequence(a, typenum, n_a, m, T, "a", True)
    cdef void *py = sequence(y, typenum, n_y, m, T, "y", True)
    work = None if bca is None else new_matrix(typenum, 3 * n_a, m, 1)
    cdef void *ph = NULL if work is None else cnp.PyArray_DATA(<cnp.ndarray>work)
    wa = new_matrix(typenum, 3 * n_a, n_a, 1)
    cdef void *pwa = cnp.PyArray_DATA(<cnp.ndarray>wa)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            gru_forward_loop[double](n_x, n_a, n_y, m, T, ox, <double *>oa0.data, oa0.ld,
                                     <double *>pW, n_a + n_x, <double *>pb, <double *>pbca,
                                     oWy, <double *>pby, <double *>pg, <double *>paux,
                                     <double *>pa, <double *>py, <double *>ph,
                                     <double *>pwa)
        else:
            gru_forward_loop[float](n_x, n_a, n_y, m, T, ox, <float *>oa0.data, oa0.ld,
                                    <float *>pW, n_a + n_x, <float *>pb, <float *>pbca,
                                    oWy, <float *>pby, <float *>pg, <float *>paux,
                                    <float *>pa, <float *>py, <float *>ph, <float *>pwa)


def gru_backward_kernel(da, gates, aux, p, x, W, bint after, dx, da0, dW, db, dbca):
    """Fill the gradients ``dx`` (n_x, m, T, the kernels' layout), ``da0`` (n_a, m,
    Fortran-ordered), ``dW`` (3n_a, n_a+n_x, C-ordered), ``db`` (3n_a) and, with
    ``after``, ``dbca`` (n_a).

    ``da`` (n_a, m, T) may have any strides (it is converted if it is not aligned or of
    the dtype); ``gates``, ``aux`` and ``p`` (the state before every step) are in the
    kernels' layout, ``x`` and ``W`` as for ``gru_forward_kernel``. Sizes are checked by
    the caller to fit ``blas_int``; n_a, m, T >= 1.
    """
    cdef int typenum = kernel_type(dx)
    cdef Py_ssize_t shape[3]
    cdef Py_ssize_t ds[3]
    cdef void *pda
    da = strided(da, typenum, "da", shape, ds, &pda)
    cdef Py_ssize_t xdims[3]
    sizes(dx, "dx", 3, xdims)
    cdef Py_ssize_t n_a = shape[0], m = shape[1], T = shape[2], n_x = xdims[0]
    cdef Operand ox, oda0
    operand(x, typenum, n_x, m * T, "x", &ox, False, False)
    cdef void *pW = c_matrix(W, typenum, 3 * n_a, n_a + n_x, "W", False)
    cdef void *pdW = c_matrix(dW, typenum, 3 * n_a, n_a + n_x, "dW", True)
    cdef blas_int ldw = n_a + n_x
    operand(da0, typenum, n_a, m, "da0", &oda0, True, True)
    cdef void *pg = sequence(gates, typenum, 3 * n_a, m, T, "gates", False)
    cdef void *paux = sequence(aux, typenum, n_a, m, T, "aux", False)
    cdef void *pp = sequence(p, typenum, n_a, m, T, "p", False)
    cdef void *pdx = sequence(dx, typenum, n_x, m, T, "dx", True)
    cdef void *pdb = vector(db, typenum, 3 * n_a, "db")
    cdef void *pdbca = vector(dbca, typenum, n_a, "dbca") if after else NULL
    dA = new_matrix(typenum, n_a, m * T, 1)
    dz = new_matrix(typenum, 3 * n_a, m * T, 1)
    dh = new_matrix(typenum, n_a, m * T, 1) if after else None
    dra = new_matrix(typenum, n_a, m, 1)
    cdef void *pdA = cnp.PyArray_DATA(<cnp.ndarray>dA)
    cdef void *pdz = cnp.PyArray_DATA(<cnp.ndarray>dz)
    cdef void *pdh = NULL if dh is None else cnp.PyArray_DATA(<cnp.ndarray>dh)
    cdef void *pdra = cnp.PyArray_DATA(<cnp.ndarray>dra)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            gru_backward_loop[double](n_x, n_a, m, T, <double *>pda, ds[0], ds[1], ds[2],
                                      <double *>pg, <double *>paux, <double *>pp, ox,
                                      <double *>pW, ldw, after, <double *>pdA,
                                      <double *>pdz, <double *>pdh, <double *>pdra,
                                      <double *>pdx, <double *>oda0.data,
                                      <double *>pdW, <double *>pdb, <double *>pdbca)
        else:
            gru_backward_loop[float](n_x, n_a, m, T, <float *>pda, ds[0], ds[1], ds[2],
                                     <float *>pg, <float *>paux, <float *>pp, ox,
                                     <float *>pW, ldw, after, <float *>pdA,
                                     <float *>pdz, <float *>pdh, <float *>pdra,
                                     <float *>pdx, <float *>oda0.data,
                                     <float *>pdW, <float *>pdb, <float *>pdbca)
