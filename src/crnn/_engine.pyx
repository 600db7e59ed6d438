# cython: language_level=3
"""The recurrence engine's driver: the time loops of every cell.

Every cell keeps the weights of its G gates as two operands: ``Wx`` (G·n_a × n_x), the
input part, and ``Wa`` (G·n_a × n_a), the recurrent part; the LSTM's and the GRU's are
the two column blocks of one packed ``W = [Wa | Wx]`` applied to ``[a_prev; xt]``, the
RNN's are ``Wax`` and ``Waa``. The driver computes the input part of every gate at every
step in one gemm before the time loop, runs the per-step recurrent products and the
cell's C loops (``_cells.pxd``) in one ``with nogil:`` block, then computes ``dx`` and
the weight gradients as whole-sequence gemms. ``_engine.pxd`` describes a cell and the
buffers of a pass to it; ``_rnn``, ``_lstm`` and the GRU's entry points below fill them.

Sequences are in the kernels' layout (``_arrays.pxd``): the ``(n, m·T)`` column-major
matrix whose column ``j·T + t`` is batch column j of step t; step t's block starts at
column t, its columns ``n·T`` apart.

The GRU (G = 3: update u, reset r, candidate c) comes in two conventions. In the
lecture's, the candidate's recurrent product reads ``r*a_prev``, so a step makes two
recurrent products with a C loop between them. With the reset gate after the product
(PyTorch's), the step's whole recurrent product lands in a block of its own, which the
reset gate scales. ``aux`` holds, per step, what the backward pass needs besides the
gates: ``r*a_prev`` (lecture) or ``Wca·a_prev + bca`` (reset after).
"""
cimport numpy as cnp
from cython cimport floating
from libc.string cimport memset

from crnn._arrays cimport Operand, kernel_type, new_matrix, operand, sequence, strided, vector
from crnn._blas cimport blas_int, gemm
from crnn._cells cimport (
    gru_after, gru_gates, gru_grad_after, gru_grad_before, gru_grad_reset, gru_state,
    lstm_gates, lstm_gates_grad, rnn_grad,
)
from crnn._elementwise cimport bias_activation, bias_softmax, gather_steps, row_sums
from crnn._sequence cimport weight_gradients

cnp.import_array()


# --- the driver ------------------------------------------------------------------------

cdef inline Py_ssize_t row_offset(Operand A, blas_int r0) noexcept nogil:
    """Where row r0 of the matrix A describes starts in its data, in elements."""
    return r0 if A.trans == c'N' else r0 * <Py_ssize_t>A.ld


cdef void forward_loop(const Recurrence *r, const Forward *f, floating *null) noexcept nogil:
    """Every step of the cell forward, then y_t = softmax(Wy·a_t + by) for every t.

    The cell's pre-activations are G = Wx·X + Wa·a_{t-1} + b (rows × m per step); each
    kind then runs its C loop between, or after, the recurrent products. null only
    selects the dtype.
    """
    cdef blas_int n_a = r.n_a, m = r.m, T = r.T, rows = r.rows, mT = r.m * r.T
    cdef blas_int ld = n_a * T, ldg = rows * T, n2 = 2 * n_a
    cdef floating *gates = <floating *>f.gates
    cdef floating *a = <floating *>f.a
    cdef floating *aux = <floating *>f.aux
    cdef const floating *b = <const floating *>r.b
    cdef const floating *a_prev = <const floating *>r.a0.data
    cdef blas_int ld_prev = r.a0.ld
    cdef char op_prev = r.a0.trans
    cdef const floating *c_prev = <const floating *>f.c0
    cdef blas_int ld_c = n_a
    cdef Operand Wa = r.Wa
    cdef floating *g_t
    cdef Py_ssize_t t
    if f.wa_f != NULL and Wa.trans == c'T':
        # Wa (rows×n_a), Fortran-ordered, from its C-ordered (column-major Waᵀ) data
        gather_steps(<floating *>f.wa_f, rows, <const floating *>Wa.data, Wa.ld, 0, 1, rows,
                     1, n_a)
        Wa.data, Wa.ld, Wa.trans, Wa.flip = f.wa_f, rows, c'N', c'T'
    if n_a > 0:
        # G (rows×m·T) = Wx (rows×n_x) · X (n_x×m·T): the input part of every step at once
        gemm(r.Wx.trans, r.x.trans, rows, mT, r.n_x, 1, <const floating *>r.Wx.data, r.Wx.ld,
             <const floating *>r.x.data, r.x.ld, 0, gates, rows)
        for t in range(T):
            g_t = gates + t * rows
            if r.kind == GRU_AFTER:
                # h (rows×m) = Wa (rows×n_a) · a_prev (n_a×m), a block of its own
                gemm(Wa.trans, op_prev, rows, m, n_a, 1, <const floating *>Wa.data, Wa.ld,
                     a_prev, ld_prev, 0, <floating *>f.h, rows)
                gru_after(g_t, ldg, <const floating *>f.h, b, <const floating *>r.bca, a_prev,
                          ld_prev, aux + t * n_a, ld, a + t * n_a, ld, n_a, m)
            elif r.kind == GRU:
                # g_t[:2n_a] (2n_a×m) += Wa[:2n_a] (2n_a×n_a) · a_prev (n_a×m)
                gemm(Wa.trans, op_prev, n2, m, n_a, 1, <const floating *>Wa.data, Wa.ld, a_prev,
                     ld_prev, 1, g_t, ldg)
                gru_gates(g_t, ldg, b, a_prev, ld_prev, aux + t * n_a, ld, n_a, m)
                # g_t[2n_a:] (n_a×m) += Wa[2n_a:] (n_a×n_a) · (r*a_prev) (n_a×m)
                gemm(Wa.trans, c'N', n_a, m, n_a, 1, <const floating *>Wa.data + row_offset(Wa, n2), Wa.ld,
                     aux + t * n_a, ld, 1, g_t + n2, ldg)
                gru_state(g_t, ldg, b, a_prev, ld_prev, a + t * n_a, ld, n_a, m)
            else:
                # g_t (rows×m) += Wa (rows×n_a) · a_prev (n_a×m)
                gemm(Wa.trans, op_prev, rows, m, n_a, 1, <const floating *>Wa.data, Wa.ld,
                     a_prev, ld_prev, 1, g_t, ldg)
                if r.kind == LSTM:
                    lstm_gates(g_t, ldg, b, c_prev, ld_c, <floating *>f.c + t * n_a,
                               a + t * n_a, ld, n_a, m)
                    c_prev, ld_c = <floating *>f.c + t * n_a, ld
                else:  # the RNN's gates are its states
                    bias_activation(g_t, b, n_a, m, ldg, r.kind == RNN_RELU)
            a_prev, ld_prev, op_prev = a + t * n_a, ld, c'N'
    # Y (n_y×m·T) = Wy (n_y×n_a) · A (n_a×m·T), then a softmax per column
    gemm(r.Wy.trans, c'N', r.n_y, mT, n_a, 1, <const floating *>r.Wy.data, r.Wy.ld, a, n_a,
         0, <floating *>f.y, r.n_y)
    bias_softmax(<floating *>f.y, <const floating *>r.by, r.n_y, mT)


cdef void backward_loop(const Recurrence *r, const Backward *bk, floating *null) noexcept nogil:
    """Back through every step: dz_t, the gradient of step t's pre-activations, from da_t
    and the flow from step t+1 (bk.da0, which ends as the gradient of a0); then dx and the
    weight gradients, each one product over the whole sequence. Needs n_a, m, T >= 1.
    """
    cdef blas_int n_a = r.n_a, m = r.m, T = r.T, rows = r.rows, mT = r.m * r.T
    cdef blas_int ld = n_a * T, ldg = rows * T, n2 = 2 * n_a
    cdef Py_ssize_t block = bk.block, ldd = n_a * bk.block
    cdef Operand Wa = r.Wa
    cdef const floating *gates = <const floating *>bk.gates
    cdef const floating *a = <const floating *>bk.a
    cdef const floating *c = <const floating *>bk.c
    cdef const floating *a_prev = <const floating *>bk.a_prev
    cdef floating *dz = <floating *>bk.dz
    cdef floating *dh = <floating *>bk.dh
    cdef floating *flow = <floating *>bk.da0
    cdef floating *da_block = <floating *>bk.da_block
    cdef const floating *p_t
    cdef const floating *cp_t
    cdef const floating *da_t
    cdef Py_ssize_t t, t0, t1 = T, ldp, ldcp
    memset(flow, 0, n_a * <Py_ssize_t>m * sizeof(floating))
    while t1 > 0:
        t0 = t1 - block if t1 > block else 0
        # da_t for t0 <= t < t1 into da_block (n_a×m·block), step t - t0 from column
        # t - t0, by cache-sized tiles (rather than each step's strided reads of da)
        gather_steps(da_block, ldd, <const floating *>bk.da + t0 * bk.ds[2], bk.ds[0],
                     bk.ds[1], bk.ds[2], n_a, m, t1 - t0)
        for t in range(t1 - 1, t0 - 1, -1):
            da_t = da_block + (t - t0) * n_a
            if a_prev != NULL:
                p_t, ldp = a_prev + t * n_a, ld
            elif t:
                p_t, ldp = a + (t - 1) * n_a, ld
            else:
                p_t, ldp = <const floating *>r.a0.data, r.a0.ld
            if r.kind == RNN_TANH or r.kind == RNN_RELU:
                rnn_grad(dz + t * rows, ldg, da_t, ldd, flow, a + t * n_a, ld, n_a, m,
                         r.kind == RNN_RELU)
            elif r.kind == LSTM:
                if bk.c_prev != NULL:
                    cp_t, ldcp = <const floating *>bk.c_prev + t * n_a, ld
                elif t:
                    cp_t, ldcp = c + (t - 1) * n_a, ld
                else:
                    cp_t, ldcp = <const floating *>bk.c0, n_a
                lstm_gates_grad(dz + t * rows, gates + t * rows, ldg, <floating *>bk.dc0, flow,
                                da_t, ldd, c + t * n_a, ld, cp_t, ldcp, n_a, m)
            elif r.kind == GRU:
                gru_grad_before(dz + t * rows, ldg, gates + t * rows, ldg, da_t, ldd, flow, p_t,
                                ldp, n_a, m)
                # dra (n_a×m) = Wa[2n_a:].T (n_a×n_a) · dz_c (n_a×m): the gradient of r*a_prev
                gemm(Wa.flip, c'N', n_a, m, n_a, 1, <const floating *>Wa.data + row_offset(Wa, n2), Wa.ld,
                     dz + t * rows + n2, ldg, 0, <floating *>bk.dra, n_a)
                gru_grad_reset(dz + t * rows, ldg, gates + t * rows, ldg,
                               <const floating *>bk.dra, flow, p_t, ldp, n_a, m)
            else:
                gru_grad_after(dz + t * rows, ldg, dh + t * n_a, ld, gates + t * rows, ldg,
                               da_t, ldd, flow, p_t, ldp, <const floating *>bk.aux + t * n_a,
                               ld, n_a, m)
            if r.kind == GRU:
                # flow (n_a×m) += Wa[:2n_a].T (n_a×2n_a) · dz_t[:2n_a] (2n_a×m), through u, r
                gemm(Wa.flip, c'N', n_a, m, n2, 1, <const floating *>Wa.data, Wa.ld,
                     dz + t * rows, ldg, 1, flow, n_a)
            elif r.kind == GRU_AFTER:
                # flow (n_a×m) += Wa.T (n_a×rows) · dz_t (rows×m): every product with a_{t-1}
                gemm(Wa.flip, c'N', n_a, m, rows, 1, <const floating *>Wa.data, Wa.ld,
                     dz + t * rows, ldg, 1, flow, n_a)
            else:
                # flow (n_a×m) = Wa.T (n_a×rows) · dz_t (rows×m): the flow into a_{t-1}
                gemm(Wa.flip, c'N', n_a, m, rows, 1, <const floating *>Wa.data, Wa.ld,
                     dz + t * rows, ldg, 0, flow, n_a)
        t1 = t0
    if r.kind == GRU_AFTER:
        # dX (n_x×m·T) = Wx[:2n_a].T (n_x×2n_a) · dZ[:2n_a] + Wx[2n_a:].T (n_x×n_a) · dH:
        # the candidate's rows of dZ are the recurrent side's
        gemm(r.Wx.flip, c'N', r.n_x, mT, n2, 1, <const floating *>r.Wx.data, r.Wx.ld, dz,
             rows, 0, <floating *>bk.dx, r.n_x)
        gemm(r.Wx.flip, c'N', r.n_x, mT, n_a, 1,
             <const floating *>r.Wx.data + row_offset(r.Wx, n2), r.Wx.ld, dh, n_a, 1,
             <floating *>bk.dx, r.n_x)
    else:
        # dX (n_x×m·T) = Wx.T (n_x×rows) · dZ (rows×m·T)
        gemm(r.Wx.flip, c'N', r.n_x, mT, rows, 1, <const floating *>r.Wx.data, r.Wx.ld, dz,
             rows, 0, <floating *>bk.dx, r.n_x)
    if r.kind == GRU or r.kind == GRU_AFTER:
        gru_weight_gradients(r, bk, dz)
    else:
        # C-ordered (rows, n) gradients are their column-major transposes
        weight_gradients(r.n_x, n_a, rows, m, T, r.x, a, r.a0, a_prev, dz,
                         <floating *>bk.dWx, bk.ld_wx, <floating *>bk.dWa, bk.ld_wa,
                         <floating *>bk.db)


cdef inline void gru_weight_gradients(const Recurrence *r, const Backward *bk,
                                      floating *dz) noexcept nogil:
    """The GRU's weight gradients, bk.a_prev given. The lecture's: every row of dZ is the
    gradient of a gate's pre-activation, whose recurrent weight multiplies a_{t-1}, but
    the candidate's, which multiplies r*a_{t-1} (aux). Reset after: every row of dZ
    multiplies a_{t-1}, and dH is the candidate's input side."""
    cdef blas_int n_a = r.n_a, mT = r.m * r.T, rows = r.rows, n2 = 2 * r.n_a
    cdef const floating *p = <const floating *>bk.a_prev
    cdef const floating *dh = <const floating *>bk.dh
    cdef floating *dWx = <floating *>bk.dWx
    cdef floating *dWa = <floating *>bk.dWa
    cdef floating *db = <floating *>bk.db
    cdef Py_ssize_t i
    if r.kind == GRU:
        # dWx.T (n_x×rows) = X (n_x×m·T) · dZ.T (m·T×rows)
        gemm(r.x.trans, c'T', r.n_x, rows, mT, 1, <const floating *>r.x.data, r.x.ld, dz, rows,
             0, dWx, bk.ld_wx)
        # dWa[:2n_a].T (n_a×2n_a) = P (n_a×m·T) · dZ[:2n_a].T (m·T×2n_a)
        gemm(c'N', c'T', n_a, n2, mT, 1, p, n_a, dz, rows, 0, dWa, bk.ld_wa)
        # dWa[2n_a:].T (n_a×n_a) = (R*P) (n_a×m·T) · dZ[2n_a:].T (m·T×n_a)
        gemm(c'N', c'T', n_a, n_a, mT, 1, <const floating *>bk.aux, n_a, dz + n2, rows, 0,
             dWa + n2 * <Py_ssize_t>bk.ld_wa, bk.ld_wa)
        row_sums(dz, rows, mT, db)
        return
    # dWx[:2n_a].T (n_x×2n_a) = X (n_x×m·T) · dZ[:2n_a].T (m·T×2n_a)
    gemm(r.x.trans, c'T', r.n_x, n2, mT, 1, <const floating *>r.x.data, r.x.ld, dz, rows, 0,
         dWx, bk.ld_wx)
    # dWcx.T (n_x×n_a) = X (n_x×m·T) · dH.T (m·T×n_a)
    gemm(r.x.trans, c'T', r.n_x, n_a, mT, 1, <const floating *>r.x.data, r.x.ld, dh, n_a, 0,
         dWx + n2 * <Py_ssize_t>bk.ld_wx, bk.ld_wx)
    # dWa.T (n_a×rows) = P (n_a×m·T) · dZ.T (m·T×rows)
    gemm(c'N', c'T', n_a, rows, mT, 1, p, n_a, dz, rows, 0, dWa, bk.ld_wa)
    # the sums of dZ's rows are dbu, dbr and dbca; those of dH, dbcx
    row_sums(dz, rows, mT, db)
    for i in range(n_a):
        (<floating *>bk.dbca)[i] = db[n2 + i]
    row_sums(dh, n_a, mT, db + n2)


cdef void run_forward(int typenum, const Recurrence *r, const Forward *f) noexcept nogil:
    """forward_loop in the dtype typenum (NPY_DOUBLE or NPY_FLOAT) of the data."""
    if typenum == cnp.NPY_DOUBLE:
        forward_loop[double](r, f, NULL)
    else:
        forward_loop[float](r, f, NULL)


cdef void run_backward(int typenum, const Recurrence *r, const Backward *bk) noexcept nogil:
    """backward_loop in the dtype typenum (NPY_DOUBLE or NPY_FLOAT) of the data."""
    if typenum == cnp.NPY_DOUBLE:
        backward_loop[double](r, bk, NULL)
    else:
        backward_loop[float](r, bk, NULL)


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
    cdef Recurrence r
    cdef Forward f
    memset(&r, 0, sizeof(r))
    r.kind = GRU if bca is None else GRU_AFTER
    r.n_x, r.n_a, r.n_y, r.m, r.T, r.rows = n_x, n_a, n_y, m, T, 3 * n_a
    operand(x, typenum, n_x, m * T, "x", &r.x, False, False)
    operand(a0, typenum, n_a, m, "a0", &r.a0, False, True)
    packed_operands(W, typenum, 3 * n_a, n_a, n_x, &r.Wx, &r.Wa)
    operand(Wy, typenum, n_y, n_a, "Wy", &r.Wy, False, False)
    r.b = vector(b, typenum, 3 * n_a, "b")
    r.bca = NULL if bca is None else vector(bca, typenum, n_a, "bca")
    r.by = vector(by, typenum, n_y, "by")
    f.gates = sequence(gates, typenum, 3 * n_a, m, T, "gates", True)
    f.aux = sequence(aux, typenum, n_a, m, T, "aux", True)
    f.a = sequence(a, typenum, n_a, m, T, "a", True)
    f.y = sequence(y, typenum, n_y, m, T, "y", True)
    f.c, f.c0 = NULL, NULL
    work = None if bca is None else new_matrix(typenum, 3 * n_a, m, 1)
    f.h = NULL if work is None else cnp.PyArray_DATA(<cnp.ndarray>work)
    wa = new_matrix(typenum, 3 * n_a, n_a, 1)
    f.wa_f = cnp.PyArray_DATA(<cnp.ndarray>wa)
    with nogil:
        run_forward(typenum, &r, &f)


cdef int packed_operands(object W, int typenum, Py_ssize_t rows, Py_ssize_t n_a,
                         Py_ssize_t n_x, Operand *Wx, Operand *Wa) except -1:
    """Wx and Wa, the column blocks W[:, n_a:] and W[:, :n_a] of a packed C-ordered
    (rows, n_a+n_x) weight W."""
    cdef char *data = <char *>c_matrix(W, typenum, rows, n_a + n_x, "W", False)
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(<cnp.ndarray>W)
    Wa.data, Wa.ld, Wa.trans, Wa.flip = data, n_a + n_x, c'T', c'N'
    Wx.data, Wx.ld, Wx.trans, Wx.flip = data + n_a * itemsize, n_a + n_x, c'T', c'N'
    return 0


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
    cdef Recurrence r
    cdef Backward bk
    memset(&r, 0, sizeof(r))
    memset(&bk, 0, sizeof(bk))
    r.kind = GRU_AFTER if after else GRU
    r.n_x, r.n_a, r.m, r.T, r.rows = n_x, n_a, m, T, 3 * n_a
    operand(x, typenum, n_x, m * T, "x", &r.x, False, False)
    packed_operands(W, typenum, 3 * n_a, n_a, n_x, &r.Wx, &r.Wa)
    cdef char *pdW = <char *>c_matrix(dW, typenum, 3 * n_a, n_a + n_x, "dW", True)
    bk.dWa, bk.dWx = pdW, pdW + n_a * cnp.PyArray_ITEMSIZE(<cnp.ndarray>dW)
    bk.ld_wa = bk.ld_wx = n_a + n_x
    cdef Operand oda0
    operand(da0, typenum, n_a, m, "da0", &oda0, True, True)
    bk.da0, bk.dc0 = oda0.data, NULL
    bk.da, bk.ds[0], bk.ds[1], bk.ds[2] = pda, ds[0], ds[1], ds[2]
    bk.gates = sequence(gates, typenum, 3 * n_a, m, T, "gates", False)
    bk.aux = sequence(aux, typenum, n_a, m, T, "aux", False)
    bk.a_prev = sequence(p, typenum, n_a, m, T, "p", False)
    bk.a = bk.c = bk.c0 = bk.c_prev = NULL
    bk.dx = sequence(dx, typenum, n_x, m, T, "dx", True)
    bk.db = vector(db, typenum, 3 * n_a, "db")
    bk.dbca = vector(dbca, typenum, n_a, "dbca") if after else NULL
    bk.block = BLOCK_BYTES // cnp.PyArray_ITEMSIZE(<cnp.ndarray>dx)
    da_block = new_matrix(typenum, n_a, m * bk.block, 1)
    dz = new_matrix(typenum, 3 * n_a, m * T, 1)
    dh = new_matrix(typenum, n_a, m * T, 1) if after else None
    dra = new_matrix(typenum, n_a, m, 1)
    bk.da_block = cnp.PyArray_DATA(<cnp.ndarray>da_block)
    bk.dz = cnp.PyArray_DATA(<cnp.ndarray>dz)
    bk.dh = NULL if dh is None else cnp.PyArray_DATA(<cnp.ndarray>dh)
    bk.dra = cnp.PyArray_DATA(<cnp.ndarray>dra)
    with nogil:
        run_backward(typenum, &r, &bk)
