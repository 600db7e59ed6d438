# cython: language_level=3
"""The recurrence engine's driver: the time loops of every cell.

Every cell keeps the weights of its G gates as two operands: ``Wx`` (G·n_a × n_x), the
input part, and ``Wa`` (G·n_a × n_a), the recurrent part; the LSTM's and the GRU's are
the two column blocks of one packed ``W = [Wa | Wx]`` applied to ``[a_prev; xt]``, the
RNN's are ``Wax`` and ``Waa``. The driver computes the input part of every gate at every
step in one gemm before the time loop, runs the per-step recurrent products and the
cell's C loops (``_cells.pxd``) in one ``with nogil:`` block, then computes ``dx`` and
the weight gradients as whole-sequence gemms. ``_engine.pxd`` describes a cell and the
buffers of a pass to it; the entry points below fill them for every cell, from the
arrays a cell spec (``crnn._cellspec``) hands over.

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
import numpy as np

cimport numpy as cnp
from cython cimport floating
from libc.string cimport memcmp, memcpy, memset

from crnn._arrays cimport (
    Operand, contiguous_matrix, fits_blas, fortran_ordered, in_layout, kernel_type, new_matrix,
    new_sequence_of, operand, plain, plain_float_input, plain_matrix, sequence, strided,
    strided_matrix, vector,
)
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


cdef inline Py_ssize_t col_offset(Operand A, Py_ssize_t j) noexcept nogil:
    """Where column j of the matrix A describes starts in its data, in elements."""
    return j * <Py_ssize_t>A.ld if A.trans == c'N' else j


cdef inline blas_int running(const Recurrence *r, Py_ssize_t t) noexcept nogil:
    """How many examples run step t: the first r.active[t] of a batch sorted by
    decreasing length, or every one; none outside 0 <= t < T."""
    if t < 0 or t >= r.T:
        return 0
    return r.m if r.active == NULL else <blas_int>r.active[t]


cdef Py_ssize_t gather_columns(const Recurrence *r, char trans, Py_ssize_t n,
                               const floating *src, Py_ssize_t ld, floating *dst,
                               Py_ssize_t ldd) noexcept nogil:
    """dst = the columns of op(src) (n×m·T, as BLAS reads src with trans and ld) of the
    steps the examples run, each example's first L_j side by side (S = r.steps of them):
    for trans 'N' column-major n×S, columns ldd apart; for 'T' its transpose (S×n,
    column-major), which BLAS reads back with 'T'. Returns the leading dimension of dst."""
    cdef Py_ssize_t i, j, k, L, s = 0, S = r.steps, T = r.T
    cdef size_t size = sizeof(floating)
    for j in range(r.m):
        L = r.lengths[j]
        if trans == c'T':
            for i in range(n):
                memcpy(dst + s + i * S, src + j * T + i * ld, L * size)
        elif ld == n and ldd == n:
            memcpy(dst + s * n, src + j * T * n, n * L * size)
        else:
            for k in range(L):
                memcpy(dst + (s + k) * ldd, src + (j * T + k) * ld, n * size)
        s += L
    return S if trans == c'T' else ldd


cdef void scatter_columns(const Recurrence *r, Py_ssize_t n, const floating *src, floating *dst,
                          Py_ssize_t ld) noexcept nogil:
    """The inverse of ``gather_columns``: the columns of src (n×S, column-major) to those
    of the steps the examples run in dst (n×m·T, columns ld apart)."""
    cdef Py_ssize_t j, k, L, s = 0, T = r.T
    cdef size_t size = sizeof(floating)
    for j in range(r.m):
        L = r.lengths[j]
        if ld == n:
            memcpy(dst + j * T * n, src + s * n, n * L * size)
        else:
            for k in range(L):
                memcpy(dst + (j * T + k) * ld, src + (s + k) * n, n * size)
        s += L


cdef void map_columns(const Recurrence *r, char ta, char tb, blas_int M, blas_int K,
                      const floating *A, blas_int lda, const floating *B, blas_int ldb,
                      floating beta, floating *C, blas_int ldc, const floating *by) noexcept nogil:
    """C (M×m·T) = op(A) (M×K) · op(B) (K×m·T) + beta·C over the columns of the steps
    the examples run, then with by (else NULL) softmax(C + by) per column (ldc = M).
    With lengths, one product over those columns gathered side by side in r.work; C's
    columns past an example's end are left as they are."""
    cdef blas_int S = <blas_int>r.steps, ldbc
    cdef floating *Bc
    cdef floating *Cc
    if r.lengths == NULL:
        gemm(ta, tb, M, r.m * r.T, K, 1, A, lda, B, ldb, beta, C, ldc)
        if by != NULL:
            bias_softmax(C, by, M, r.m * r.T)
        return
    Bc = <floating *>r.work
    Cc = Bc + <Py_ssize_t>K * S
    ldbc = <blas_int>gather_columns(r, tb, K, B, ldb, Bc, K)
    if beta != 0:
        gather_columns(r, c'N', M, C, ldc, Cc, M)
    # Cc (M×S) = op(A) (M×K) · op(Bc) (K×S) + beta·Cc
    gemm(ta, tb, M, S, K, 1, A, lda, Bc, ldbc, beta, Cc, M)
    if by != NULL:
        bias_softmax(Cc, by, M, S)
    scatter_columns(r, M, Cc, C, ldc)


cdef const floating *gathered(const Recurrence *r, Py_ssize_t n, const floating *d,
                              Py_ssize_t ld, floating *out) noexcept nogil:
    """d (n×m·T, columns ld apart) as ``reduce_columns`` reads it: itself, or with lengths
    the columns of the steps the examples run, side by side in out (columns ld apart)."""
    if r.lengths == NULL:
        return d
    gather_columns(r, c'N', n, d, ld, out, ld)
    return out


cdef void reduce_columns(const Recurrence *r, char ta, blas_int M, blas_int N,
                         const floating *A, blas_int lda, const floating *B, blas_int ldb,
                         floating *C, blas_int ldc, floating *work) noexcept nogil:
    """C (M×N) = op(A) (M×m·T) · B.T (m·T×N), summed over the columns of the steps the
    examples run: B (N×m·T, columns ldb apart) as ``gathered`` gives it; with lengths,
    op(A)'s columns of those steps are gathered side by side in work first (the others
    are never read)."""
    cdef blas_int K = r.m * r.T
    if r.lengths != NULL:
        K = <blas_int>r.steps
        lda = <blas_int>gather_columns(r, ta, M, A, lda, work, M)
        A = work
    # C (M×N) = op(A) (M×K) · B.T (K×N)
    gemm(ta, c'T', M, N, K, 1, A, lda, B, ldb, 0, C, ldc)


cdef inline void running_row_sums(const Recurrence *r, const floating *d, Py_ssize_t n,
                                  floating *out) noexcept nogil:
    """out (n) = the sums of the rows of d (n×m·T, contiguous columns, as ``gathered``
    gives it) over the columns of the steps the examples run."""
    row_sums(d, n, r.m * r.T if r.lengths == NULL else r.steps, out)


cdef void forward_columns(const Recurrence *r, const Forward *f, const Operand *Wa,
                          Py_ssize_t t, blas_int j0, blas_int j1, const floating *a_prev,
                          blas_int ld_prev, char op_prev,
                          const floating *c_prev, blas_int ld_c) noexcept nogil:
    """Step t of the batch columns j0 <= j < j1: the recurrent products and the cell's C
    loop, from the states before it, a_prev (its column j0 first, ld_prev and op_prev
    as for BLAS; Fortran-ordered for the GRU, whose loops read it) and the LSTM's c_prev
    (column j0 first, columns ld_c apart)."""
    cdef blas_int n_a = r.n_a, n = j1 - j0, rows = r.rows, n2 = 2 * r.n_a
    cdef blas_int ld = n_a * r.T, ldg = rows * r.T
    if n <= 0:
        return
    cdef const floating *b = <const floating *>r.b
    cdef floating *g_t = <floating *>f.gates + t * rows + j0 * <Py_ssize_t>ldg
    cdef floating *a_t = <floating *>f.a + t * n_a + j0 * <Py_ssize_t>ld
    cdef floating *aux_t = NULL
    cdef floating *h = NULL
    if f.aux != NULL:
        aux_t = <floating *>f.aux + t * n_a + j0 * <Py_ssize_t>ld
    if r.kind == GRU_AFTER:
        h = <floating *>f.h + j0 * <Py_ssize_t>rows
        # h (rows×n) = Wa (rows×n_a) · a_prev (n_a×n), a block of its own
        gemm(Wa.trans, op_prev, rows, n, n_a, 1, <const floating *>Wa.data, Wa.ld, a_prev,
             ld_prev, 0, h, rows)
        gru_after(g_t, ldg, h, b, <const floating *>r.bca, a_prev, ld_prev, aux_t, ld, a_t,
                  ld, n_a, n)
    elif r.kind == GRU:
        # g_t[:2n_a] (2n_a×n) += Wa[:2n_a] (2n_a×n_a) · a_prev (n_a×n)
        gemm(Wa.trans, op_prev, n2, n, n_a, 1, <const floating *>Wa.data, Wa.ld, a_prev,
             ld_prev, 1, g_t, ldg)
        gru_gates(g_t, ldg, b, a_prev, ld_prev, aux_t, ld, n_a, n)
        # g_t[2n_a:] (n_a×n) += Wa[2n_a:] (n_a×n_a) · (r*a_prev) (n_a×n)
        gemm(Wa.trans, c'N', n_a, n, n_a, 1, <const floating *>Wa.data + row_offset(Wa[0], n2),
             Wa.ld, aux_t, ld, 1, g_t + n2, ldg)
        gru_state(g_t, ldg, b, a_prev, ld_prev, a_t, ld, n_a, n)
    else:
        # g_t (rows×n) += Wa (rows×n_a) · a_prev (n_a×n)
        gemm(Wa.trans, op_prev, rows, n, n_a, 1, <const floating *>Wa.data, Wa.ld, a_prev,
             ld_prev, 1, g_t, ldg)
        if r.kind == LSTM:
            lstm_gates(g_t, ldg, b, c_prev, ld_c,
                       <floating *>f.c + t * n_a + j0 * <Py_ssize_t>ld, a_t, ld, n_a, n)
        else:  # the RNN's gates are its states
            bias_activation(g_t, b, n_a, n, ldg, r.kind == RNN_RELU)


cdef void forward_loop(const Recurrence *r, const Forward *f, floating *null) noexcept nogil:
    """Every step of the cell forward, then y_t = softmax(Wy·a_t + by) for every t.

    The cell's pre-activations are G = Wx·X + Wa·a_prev + b (rows × m per step); each
    kind then runs its C loop between, or after, the recurrent products. With lengths,
    step t runs the examples still running (``running``), and the steps past an
    example's length keep its state; with reverse, time runs from each example's last
    step down to step 0. null only selects the dtype.
    """
    cdef blas_int n_a = r.n_a, T = r.T, rows = r.rows
    cdef blas_int ld = n_a * T, mt, mn
    cdef floating *a = <floating *>f.a
    cdef floating *c = <floating *>f.c
    cdef const floating *a0 = <const floating *>r.a0.data
    cdef const floating *c0 = <const floating *>f.c0
    cdef Operand Wa = r.Wa
    cdef Py_ssize_t s, t
    if f.wa_f != NULL and Wa.trans == c'T':
        # Wa (rows×n_a), Fortran-ordered, from its C-ordered (column-major Waᵀ) data
        gather_steps(<floating *>f.wa_f, rows, <const floating *>Wa.data, Wa.ld, 0, 1, rows,
                     1, n_a)
        Wa.data, Wa.ld, Wa.trans, Wa.flip = f.wa_f, rows, c'N', c'T'
    if n_a > 0:
        # G (rows×m·T) = Wx (rows×n_x) · X (n_x×m·T): the input part of every step at once
        map_columns(r, r.Wx.trans, r.x.trans, rows, r.n_x, <const floating *>r.Wx.data, r.Wx.ld,
                    <const floating *>r.x.data, r.x.ld, 0, <floating *>f.gates, rows, NULL)
        for s in range(T):
            t = T - 1 - s if r.reverse else s
            mt = running(r, t)
            if not r.reverse:
                # every example that runs step t ran step t-1 (or starts from a0)
                if t == 0:
                    forward_columns(r, f, &Wa, t, 0, mt, a0, r.a0.ld, r.a0.trans, c0, n_a)
                else:
                    forward_columns(r, f, &Wa, t, 0, mt, a + (t - 1) * n_a, ld, c'N',
                                    c + (t - 1) * n_a if c != NULL else NULL, ld)
                continue
            # reverse: the first mn examples ran step t+1; the others start here from a0
            mn = running(r, t + 1)
            forward_columns(r, f, &Wa, t, 0, mn, a + (t + 1) * n_a, ld, c'N',
                            c + (t + 1) * n_a if c != NULL else NULL, ld)
            forward_columns(r, f, &Wa, t, mn, mt, a0 + col_offset(r.a0, mn), r.a0.ld,
                            r.a0.trans, c0 + mn * n_a if c0 != NULL else NULL, n_a)
        if r.lengths != NULL:
            past_the_ends(r, f, null)
    if r.n_y == 0:
        return
    # Y (n_y×m·T) = softmax(Wy (n_y×n_a) · A (n_a×m·T) + by), a softmax per column
    map_columns(r, r.Wy.trans, c'N', r.n_y, n_a, <const floating *>r.Wy.data, r.Wy.ld, a, n_a,
                0, <floating *>f.y, r.n_y, <const floating *>r.by)
    if r.lengths != NULL:
        zero_past_the_ends(<floating *>f.y, r.n_y, r)


cdef void past_the_ends(const Recurrence *r, const Forward *f, floating *null) noexcept nogil:
    """The steps t >= L_j of each example j keep its state: a and c of its last step
    (forward), or a0 and c0 (reverse, whose last step is step 0; a0 Fortran-ordered);
    its gates and aux there are zeros."""
    cdef Py_ssize_t j, t, L, n_a = r.n_a, T = r.T, ld = r.n_a * r.T, rows = r.rows
    cdef Py_ssize_t ldg = rows * T, size = n_a * sizeof(floating)
    cdef floating *a = <floating *>f.a
    cdef floating *c = <floating *>f.c
    cdef floating *g = <floating *>f.gates
    cdef floating *aux = <floating *>f.aux
    cdef const floating *src
    cdef const floating *csrc = NULL
    for j in range(r.m):
        L = r.lengths[j]
        if r.reverse:
            src = <const floating *>r.a0.data + j * <Py_ssize_t>r.a0.ld
            if c != NULL:
                csrc = <const floating *>f.c0 + j * n_a
        else:
            src = a + (L - 1) * n_a + j * ld
            if c != NULL:
                csrc = c + (L - 1) * n_a + j * ld
        for t in range(L, T):
            memcpy(a + t * n_a + j * ld, src, size)
            if c != NULL:
                memcpy(c + t * n_a + j * ld, csrc, size)
            if g != a:
                memset(g + t * rows + j * ldg, 0, rows * sizeof(floating))
            if aux != NULL:
                memset(aux + t * n_a + j * ld, 0, size)


cdef void zero_past_the_ends(floating *y, Py_ssize_t n, const Recurrence *r) noexcept nogil:
    """y (n×m·T, the kernels' layout) = 0 at the steps t >= L_j of each example j."""
    cdef Py_ssize_t j, t
    for j in range(r.m):
        for t in range(r.lengths[j], r.T):
            memset(y + t * n + j * n * r.T, 0, n * sizeof(floating))


cdef void fold_past_the_ends(floating *flow, const Backward *bk,
                             const Recurrence *r) noexcept nogil:
    """flow[:, j] += da[:, j, t] summed over the steps t >= L_j of each example j: the
    gradient of the states they keep (da read with its element strides)."""
    cdef Py_ssize_t i, j, t
    cdef const floating *da_ij
    cdef floating total
    for j in range(r.m):
        for i in range(r.n_a):
            # along the steps: the innermost stride of the course's C-ordered da
            da_ij = <const floating *>bk.da + i * bk.ds[0] + j * bk.ds[1]
            total = 0
            for t in range(r.lengths[j], r.T):
                total += da_ij[t * bk.ds[2]]
            flow[i + j * r.n_a] += total


cdef void backward_step(const Recurrence *r, const Backward *bk, const Operand *Wa,
                        Py_ssize_t t, const floating *da_t, Py_ssize_t ldd) noexcept nogil:
    """Step t backward for the examples that ran it: dz_t from da_t + the flow, then the
    flow into the states before the step."""
    cdef blas_int n_a = r.n_a, rows = r.rows, n2 = 2 * r.n_a, m = running(r, t)
    cdef blas_int ld = n_a * r.T, ldg = rows * r.T
    if m == 0:
        return
    cdef const floating *gates = <const floating *>bk.gates
    cdef const floating *a = <const floating *>bk.a
    cdef const floating *c = <const floating *>bk.c
    cdef floating *dz_t = <floating *>bk.dz + t * rows
    cdef floating *flow = <floating *>bk.da0
    cdef const floating *p_t
    cdef const floating *cp_t
    cdef Py_ssize_t ldp, ldcp
    if bk.a_prev != NULL:
        p_t, ldp = <const floating *>bk.a_prev + t * n_a, ld
    elif t:
        p_t, ldp = a + (t - 1) * n_a, ld
    else:
        p_t, ldp = <const floating *>r.a0.data, r.a0.ld
    if r.kind == RNN_TANH or r.kind == RNN_RELU:
        rnn_grad(dz_t, ldg, da_t, ldd, flow, a + t * n_a, ld, n_a, m, r.kind == RNN_RELU)
    elif r.kind == LSTM:
        if bk.c_prev != NULL:
            cp_t, ldcp = <const floating *>bk.c_prev + t * n_a, ld
        elif t:
            cp_t, ldcp = c + (t - 1) * n_a, ld
        else:
            cp_t, ldcp = <const floating *>bk.c0, n_a
        lstm_gates_grad(dz_t, gates + t * rows, ldg, <floating *>bk.dc0, flow, da_t, ldd,
                        c + t * n_a, ld, cp_t, ldcp, n_a, m)
    elif r.kind == GRU:
        gru_grad_before(dz_t, ldg, gates + t * rows, ldg, da_t, ldd, flow, p_t, ldp, n_a, m)
        # dra (n_a×m) = Wa[2n_a:].T (n_a×n_a) · dz_c (n_a×m): the gradient of r*a_prev
        gemm(Wa.flip, c'N', n_a, m, n_a, 1, <const floating *>Wa.data + row_offset(Wa[0], n2),
             Wa.ld, dz_t + n2, ldg, 0, <floating *>bk.dra, n_a)
        gru_grad_reset(dz_t, ldg, gates + t * rows, ldg, <const floating *>bk.dra, flow, p_t,
                       ldp, n_a, m)
    else:
        gru_grad_after(dz_t, ldg, <floating *>bk.dh + t * n_a, ld, gates + t * rows, ldg, da_t,
                       ldd, flow, p_t, ldp, <const floating *>bk.aux + t * n_a, ld, n_a, m)
    if r.kind == GRU:
        # flow (n_a×m) += Wa[:2n_a].T (n_a×2n_a) · dz_t[:2n_a] (2n_a×m), through u, r
        gemm(Wa.flip, c'N', n_a, m, n2, 1, <const floating *>Wa.data, Wa.ld, dz_t, ldg, 1,
             flow, n_a)
    elif r.kind == GRU_AFTER:
        # flow (n_a×m) += Wa.T (n_a×rows) · dz_t (rows×m): every product with a_prev
        gemm(Wa.flip, c'N', n_a, m, rows, 1, <const floating *>Wa.data, Wa.ld, dz_t, ldg, 1,
             flow, n_a)
    else:
        # flow (n_a×m) = Wa.T (n_a×rows) · dz_t (rows×m): the flow into a_prev
        gemm(Wa.flip, c'N', n_a, m, rows, 1, <const floating *>Wa.data, Wa.ld, dz_t, ldg, 0,
             flow, n_a)


cdef void dx_products(const Recurrence *r, const Backward *bk, const floating *dz,
                      const floating *dh) noexcept nogil:
    """dx of every step, one product over the whole sequence from dz (and the reset-after
    GRU's dh); zero past each example's end with lengths."""
    cdef blas_int n_a = r.n_a, rows = r.rows
    cdef blas_int n2 = 2 * n_a
    if r.kind == GRU_AFTER:
        # dX (n_x×m·T) = Wx[:2n_a].T (n_x×2n_a) · dZ[:2n_a] + Wx[2n_a:].T (n_x×n_a) · dH:
        # the candidate's rows of dZ are the recurrent side's
        map_columns(r, r.Wx.flip, c'N', r.n_x, n2, <const floating *>r.Wx.data, r.Wx.ld, dz,
                    rows, 0, <floating *>bk.dx, r.n_x, NULL)
        map_columns(r, r.Wx.flip, c'N', r.n_x, n_a,
                    <const floating *>r.Wx.data + row_offset(r.Wx, n2), r.Wx.ld, dh, n_a, 1,
                    <floating *>bk.dx, r.n_x, NULL)
    else:
        # dX (n_x×m·T) = Wx.T (n_x×rows) · dZ (rows×m·T)
        map_columns(r, r.Wx.flip, c'N', r.n_x, rows, <const floating *>r.Wx.data, r.Wx.ld, dz,
                    rows, 0, <floating *>bk.dx, r.n_x, NULL)
    if r.lengths != NULL:
        zero_past_the_ends(<floating *>bk.dx, r.n_x, r)


cdef void backward_loop(const Recurrence *r, const Backward *bk, floating *null) noexcept nogil:
    """Back through every step, in the reverse of the forward's order: dz_t, the gradient
    of step t's pre-activations, from da_t and the flow (bk.da0, which ends as the
    gradient of a0); then dx and the weight gradients, each one product over the whole
    sequence. In reverse, bk.a_prev (and the LSTM's bk.c_prev) hold the
    states before every step. Needs n_a, m, T >= 1.
    """
    cdef blas_int n_a = r.n_a, m = r.m, T = r.T, rows = r.rows
    cdef Py_ssize_t block = bk.block, ldd = n_a * bk.block
    cdef floating *dz = <floating *>bk.dz
    cdef floating *dh = <floating *>bk.dh
    cdef floating *flow = <floating *>bk.da0
    cdef floating *da_block = <floating *>bk.da_block
    cdef Py_ssize_t t, t0, t1
    memset(flow, 0, n_a * <Py_ssize_t>m * sizeof(floating))
    if r.lengths != NULL and not r.reverse:
        fold_past_the_ends(flow, bk, r)  # the da past an example's end reaches its last state
    t0 = t1 = 0 if r.reverse else T
    while (t1 < T) if r.reverse else (t0 > 0):
        if r.reverse:
            t1 = t0 + block if t0 + block < T else T
        else:
            t0 = t1 - block if t1 > block else 0
        # da_t for t0 <= t < t1 into da_block (n_a×m·block), step t - t0 from column
        # t - t0, by cache-sized tiles (rather than each step's strided reads of da)
        gather_steps(da_block, ldd, <const floating *>bk.da + t0 * bk.ds[2], bk.ds[0],
                     bk.ds[1], bk.ds[2], n_a, running(r, t0), t1 - t0)
        if r.reverse:
            for t in range(t0, t1):
                backward_step(r, bk, &r.Wa, t, da_block + (t - t0) * n_a, ldd)
            t0 = t1
        else:
            for t in range(t1 - 1, t0 - 1, -1):
                backward_step(r, bk, &r.Wa, t, da_block + (t - t0) * n_a, ldd)
            t1 = t0
    if r.lengths != NULL and r.reverse:
        fold_past_the_ends(flow, bk, r)  # the da past an example's end reaches a0
    # with lengths, the products below read only the columns of the steps run: those
    # past an example's end have no gradient of their own
    if bk.dx != NULL:
        dx_products(r, bk, dz, dh)
    if r.kind == GRU or r.kind == GRU_AFTER:
        gru_weight_gradients(r, bk, dz)
    elif r.lengths != NULL:
        running_weight_gradients(r, bk, dz)
    else:
        # C-ordered (rows, n) gradients are their column-major transposes
        weight_gradients(r.n_x, n_a, rows, m, T, r.x, <const floating *>bk.a, r.a0,
                         <const floating *>bk.a_prev, dz, <floating *>bk.dWx, bk.ld_wx,
                         <floating *>bk.dWa, bk.ld_wa, <floating *>bk.db)


cdef void running_weight_gradients(const Recurrence *r, const Backward *bk,
                                   const floating *dz) noexcept nogil:
    """The RNN's and the LSTM's weight gradients with lengths, over the steps the
    examples run (``weight_gradients`` does it for whole sequences)."""
    cdef blas_int n_a = r.n_a, rows = r.rows, S = <blas_int>r.steps
    cdef Py_ssize_t j, L, s = 0
    cdef floating *d = <floating *>r.work
    cdef floating *p = d + rows * <Py_ssize_t>S
    cdef const floating *a = <const floating *>bk.a
    dz = gathered(r, rows, dz, rows, d)
    # dWx.T (n_x×rows) = X (n_x×m·T) · dZ.T (m·T×rows)
    reduce_columns(r, r.x.trans, r.n_x, rows, <const floating *>r.x.data, r.x.ld, dz, rows,
                   <floating *>bk.dWx, bk.ld_wx, p)
    running_row_sums(r, dz, rows, <floating *>bk.db)
    if bk.a_prev != NULL:
        # dWa.T (n_a×rows) = A_prev (n_a×m·T) · dZ.T (m·T×rows)
        reduce_columns(r, c'N', n_a, rows, <const floating *>bk.a_prev, n_a, dz, rows,
                       <floating *>bk.dWa, bk.ld_wa, p)
        return
    # P (n_a×S) = the state before each step run: a0, then a of the step before
    for j in range(r.m):
        L = r.lengths[j]
        memcpy(p + s * n_a, <const floating *>r.a0.data + j * <Py_ssize_t>r.a0.ld,
               n_a * sizeof(floating))
        memcpy(p + (s + 1) * n_a, a + j * r.T * <Py_ssize_t>n_a, (L - 1) * n_a * sizeof(floating))
        s += L
    # dWa.T (n_a×rows) = P (n_a×S) · dZ.T (S×rows)
    gemm(c'N', c'T', n_a, rows, S, 1, p, n_a, dz, rows, 0, <floating *>bk.dWa, bk.ld_wa)


cdef inline void gru_weight_gradients(const Recurrence *r, const Backward *bk,
                                      const floating *dz) noexcept nogil:
    """The GRU's weight gradients, bk.a_prev given. The lecture's: every row of dZ is the
    gradient of a gate's pre-activation, whose recurrent weight multiplies a_{t-1}, but
    the candidate's, which multiplies r*a_{t-1} (aux). Reset after: every row of dZ
    multiplies a_{t-1}, and dH is the candidate's input side."""
    cdef blas_int n_a = r.n_a, rows = r.rows, n2 = 2 * r.n_a
    cdef Py_ssize_t S = r.steps
    cdef const floating *p = <const floating *>bk.a_prev
    cdef const floating *dh = <const floating *>bk.dh
    cdef floating *dWx = <floating *>bk.dWx
    cdef floating *dWa = <floating *>bk.dWa
    cdef floating *db = <floating *>bk.db
    cdef floating *work = <floating *>r.work
    cdef Py_ssize_t i
    dz = gathered(r, rows, dz, rows, work)
    if r.kind == GRU:
        if work != NULL:  # the work space of the products over the steps run (lengths)
            work = work + rows * S
        # dWx.T (n_x×rows) = X (n_x×m·T) · dZ.T (m·T×rows)
        reduce_columns(r, r.x.trans, r.n_x, rows, <const floating *>r.x.data, r.x.ld, dz, rows,
                       dWx, bk.ld_wx, work)
        # dWa[:2n_a].T (n_a×2n_a) = P (n_a×m·T) · dZ[:2n_a].T (m·T×2n_a)
        reduce_columns(r, c'N', n_a, n2, p, n_a, dz, rows, dWa, bk.ld_wa, work)
        # dWa[2n_a:].T (n_a×n_a) = (R*P) (n_a×m·T) · dZ[2n_a:].T (m·T×n_a)
        reduce_columns(r, c'N', n_a, n_a, <const floating *>bk.aux, n_a, dz + n2, rows,
                       dWa + n2 * <Py_ssize_t>bk.ld_wa, bk.ld_wa, work)
        running_row_sums(r, dz, rows, db)
        return
    if work != NULL:  # the work space of the products over the steps run (lengths)
        dh = gathered(r, n_a, dh, n_a, work + rows * S)
        work = work + (rows + n_a) * S
    # dWx[:2n_a].T (n_x×2n_a) = X (n_x×m·T) · dZ[:2n_a].T (m·T×2n_a)
    reduce_columns(r, r.x.trans, r.n_x, n2, <const floating *>r.x.data, r.x.ld, dz, rows,
                   dWx, bk.ld_wx, work)
    # dWcx.T (n_x×n_a) = X (n_x×m·T) · dH.T (m·T×n_a)
    reduce_columns(r, r.x.trans, r.n_x, n_a, <const floating *>r.x.data, r.x.ld, dh, n_a,
                   dWx + n2 * <Py_ssize_t>bk.ld_wx, bk.ld_wx, work)
    # dWa.T (n_a×rows) = P (n_a×m·T) · dZ.T (m·T×rows)
    reduce_columns(r, c'N', n_a, rows, p, n_a, dz, rows, dWa, bk.ld_wa, work)
    # the sums of dZ's rows are dbu, dbr and dbca; those of dH, dbcx
    running_row_sums(r, dz, rows, db)
    for i in range(n_a):
        (<floating *>bk.dbca)[i] = db[n2 + i]
    running_row_sums(r, dh, n_a, db + n2)


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
#
# Every cell enters through the same functions. The weights arrive packed, as the cell
# spec (``crnn._cellspec``) packs them: one C-ordered W (rows × n_a+n_x) = [Wa | Wx],
# one bias b (rows). ``forward_kernel`` and ``backward_kernel`` take arrays the Python
# layer has validated and converted; ``common_forward`` recognises the course's
# arguments in their common form in C and runs them without the Python layer.

#: The engine's cells, by the names the cell specs give them.
KINDS = {"rnn_tanh": RNN_TANH, "rnn_relu": RNN_RELU, "lstm": LSTM, "gru": GRU,
         "gru_after": GRU_AFTER}


cdef inline Py_ssize_t gate_count(int kind) noexcept:
    """G, the gates of a cell: the rows of its packed weight per unit of state."""
    if kind == RNN_TANH or kind == RNN_RELU:
        return 1
    return 4 if kind == LSTM else 3


cdef object untransposed(int kind, int typenum, Py_ssize_t n_a, Py_ssize_t m):
    """Work space (rows×n_a, Fortran-ordered) for the forward loop to copy the recurrent
    part of the C-ordered W into, where that makes the per-step products faster; else
    None.

    OpenBLAS's kernels for small products are much faster on an untransposed A. For
    large ones the transposed A is as fast or faster in float32, and for the LSTM in
    float64 too (``python -m crnn bench`` times both for its floor). The copy costs
    rows·n_a elements once per sequence.
    """
    cdef Py_ssize_t work = n_a * n_a * m
    cdef bint copy
    if kind == GRU or kind == GRU_AFTER:
        copy = True
    elif kind == LSTM:
        copy = work <= (2**22 if typenum == cnp.NPY_DOUBLE else 2**20)
    else:
        copy = typenum == cnp.NPY_DOUBLE or work <= 2**22
    return new_matrix(typenum, gate_count(kind) * n_a, n_a, 1) if copy else None


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


cdef int describe(Recurrence *r, int kind, int typenum, Operand x, object a0,
                  Py_ssize_t n_x, Py_ssize_t n_a, Py_ssize_t m, Py_ssize_t T) except -1:
    """r, the cell kind over the input x (n_x × m·T) from a0 (n_a, m; C- or
    Fortran-ordered, Fortran-ordered for the GRU, whose loops read it); its weights are
    set apart (``packed_weights``, ``weights_apart``)."""
    if kind < RNN_TANH or kind > GRU_AFTER:
        raise ValueError(f"kind must be one of {sorted(KINDS.values())}, got {kind}")
    if n_x < 0:
        raise ValueError(f"W must have n_a + n_x columns, n_a = {n_a}; n_x = {n_x}")
    memset(r, 0, sizeof(Recurrence))
    r.kind = kind
    r.n_x, r.n_a, r.m, r.T, r.rows = n_x, n_a, m, T, gate_count(kind) * n_a
    r.x = x
    operand(a0, typenum, n_a, m, "a0", &r.a0, False, kind == GRU or kind == GRU_AFTER)
    return 0


cdef int packed_weights(Recurrence *r, int typenum, object W) except -1:
    """r's weights: the column blocks Wa = W[:, :n_a] and Wx = W[:, n_a:] of the packed
    C-ordered W (rows, n_a+n_x), read as the transposes of column-major blocks."""
    cdef Py_ssize_t n_a = r.n_a
    cdef char *data = <char *>c_matrix(W, typenum, r.rows, n_a + r.n_x, "W", False)
    r.Wa.data, r.Wa.ld, r.Wa.trans, r.Wa.flip = data, n_a + r.n_x, c'T', c'N'
    r.Wx = r.Wa
    r.Wx.data = data + n_a * cnp.PyArray_ITEMSIZE(<cnp.ndarray>W)
    return 0


cdef int describe_packed(Recurrence *r, int kind, int typenum, object x, object a0,
                         object W, Py_ssize_t n_a, Py_ssize_t m, Py_ssize_t T) except -1:
    """r, the cell kind over x (n_x, m·T; C- or Fortran-contiguous) from a0 with the
    packed weight W (G·n_a, n_a+n_x), n_x read from W: the kernels' arrays checked."""
    cdef Py_ssize_t wdims[2]
    cdef Operand ox
    sizes(W, "W", 2, wdims)
    operand(x, typenum, wdims[1] - n_a, m * T, "x", &ox, False, False)
    describe(r, kind, typenum, ox, a0, wdims[1] - n_a, n_a, m, T)
    packed_weights(r, typenum, W)
    return 0


cdef object common_weights(Recurrence *r, int typenum, dict p, tuple spec):
    """r's weights from the parameters p in the common form: one gate's weights kept
    apart (the RNN's) read in place, else packed (``packed_weight``). Returns what must
    live as long as r runs, or None unless every weight is plain of its shape."""
    cdef Py_ssize_t n_a = r.n_a, n_x = r.n_x
    cdef tuple joint = spec[1], inputs = spec[2]
    if r.rows == n_a and inputs[0] is not None:
        Wa, Wx = p.get(joint[0]), p.get(inputs[0])
        if not (plain_matrix(Wa, typenum, n_a, n_a) and plain_matrix(Wx, typenum, n_a, n_x)):
            return None
        operand(Wa, typenum, n_a, n_a, "Wa", &r.Wa, False, False)
        operand(Wx, typenum, n_a, n_x, "Wx", &r.Wx, False, False)
        return Wa, Wx
    W = packed_weight(p, joint, inputs, typenum, n_a, n_x)
    if W is not None:
        packed_weights(r, typenum, W)
    return W


cdef inline Operand c_sequence(object x, Py_ssize_t m, Py_ssize_t T) noexcept:
    """The (n_x × m·T) input of a plain (see ``_arrays.plain``) (n_x, m, T) x: the
    course's C-ordered x is that matrix's transpose, column-major."""
    cdef Operand o
    o.data, o.ld, o.trans, o.flip = cnp.PyArray_DATA(<cnp.ndarray>x), max(m * T, 1), c'T', c'N'
    return o


cdef inline object state_operand(int kind, object a0):
    """a0 as the engine takes it for kind: itself (C- or Fortran-contiguous), or a
    Fortran-ordered copy for the GRU, whose loops read it."""
    return fortran_ordered(a0) if kind == GRU or kind == GRU_AFTER else a0


cdef int forward_into(Recurrence *r, int typenum, object a, object y, object gates,
                      object aux, object c, object c0) except -1:
    """Run the forward loop of r (its weights, biases and sizes set) into a, y and the
    cell's own buffers (see ``forward_kernel``)."""
    cdef Forward f
    cdef Operand oc0
    cdef Py_ssize_t n_a = r.n_a, m = r.m, T = r.T
    memset(&f, 0, sizeof(Forward))
    f.a = sequence(a, typenum, n_a, m, T, "a", True)
    f.y = sequence(y, typenum, r.n_y, m, T, "y", True)
    # the RNN's one gate is its state
    f.gates = f.a if r.rows == n_a else sequence(gates, typenum, r.rows, m, T, "gates", True)
    if r.kind == LSTM:
        f.c = sequence(c, typenum, n_a, m, T, "c", True)
        operand(c0, typenum, n_a, m, "c0", &oc0, False, True)
        f.c0 = oc0.data
    elif r.kind == GRU or r.kind == GRU_AFTER:
        f.aux = sequence(aux, typenum, n_a, m, T, "aux", True)
    h = new_matrix(typenum, r.rows, m, 1) if r.kind == GRU_AFTER else None
    f.h = NULL if h is None else cnp.PyArray_DATA(<cnp.ndarray>h)
    wa_f = untransposed(r.kind, typenum, n_a, m)
    f.wa_f = NULL if wa_f is None else cnp.PyArray_DATA(<cnp.ndarray>wa_f)
    with nogil:
        run_forward(typenum, r, &f)
    return 0


def forward_kernel(int kind, x, a0, c0, W, b, bca, Wy, by, gates, aux, a, c, y,
                   lengths=None, bint reverse=False):
    """Fill ``a`` (n_a, m, T), ``y`` (n_y, m, T) and the cell's own buffers: ``gates``
    (G·n_a, m, T; None for the RNN, whose gate is its state), ``aux`` (n_a, m, T; the
    GRU's) and ``c`` (n_a, m, T; the LSTM's, from ``c0``).

    ``x`` is the (n_x, m·T) reshape of the course's x, C- or Fortran-contiguous; ``a0``
    and ``c0`` (n_a, m) Fortran-ordered; ``W`` the packed C-ordered (G·n_a, n_a+n_x)
    weight [Wa | Wx], ``b`` (G·n_a) its bias, ``bca`` the (n_a) recurrent bias of
    GRU_AFTER's candidate (else None); ``Wy`` (n_y, n_a) C- or Fortran-ordered and
    ``by`` (n_y; n_y = 0: no output layer). The outputs, in the kernels' layout, set the
    dtype; every input must have it. Sizes are checked by the caller to fit ``blas_int``;
    m, T >= 1.
    ``lengths`` (None, or each example's steps: a non-increasing 1-D intp array of values
    in 1..T) and ``reverse`` (time runs from each example's last step down to step 0)
    need a0 Fortran-ordered.
    """
    cdef int typenum = kernel_type(a)
    cdef Py_ssize_t dims[3]
    sizes(a, "a", 3, dims)
    cdef Py_ssize_t n_a = dims[0], m = dims[1], T = dims[2]
    sizes(y, "y", 3, dims)
    cdef Py_ssize_t n_y = dims[0]
    if min(m, T) < 1:
        raise ValueError(f"a {a.shape} and y {y.shape} must have m, T >= 1")
    cdef Recurrence r
    describe_packed(&r, kind, typenum, x, a0, W, n_a, m, T)
    _kept = set_lengths(&r, lengths, reverse, typenum, n_y)
    r.n_y = n_y
    r.b = vector(b, typenum, r.rows, "b")
    r.bca = vector(bca, typenum, n_a, "bca") if kind == GRU_AFTER else NULL
    operand(Wy, typenum, n_y, n_a, "Wy", &r.Wy, False, False)
    r.by = vector(by, typenum, n_y, "by")
    forward_into(&r, typenum, a, y, gates, aux, c, c0)


cdef void shifted_states(floating *p, const floating *a, const floating *a0, Py_ssize_t ld0,
                         Py_ssize_t n_a, Py_ssize_t m, Py_ssize_t T) noexcept nogil:
    """p (n_a×m·T, the kernels' layout) = the state before every step: a0 (n_a×m,
    columns ld0 apart) at step 0, a (the kernels' layout) shifted by one step after."""
    cdef Py_ssize_t j
    # step t of column j sits n_a elements after step t-1; the step-0 slots that the
    # shift fills from the column before are then overwritten with a0
    memcpy(p + n_a, a, (n_a * m * T - n_a) * sizeof(floating))
    for j in range(m):
        memcpy(p + j * T * n_a, a0 + j * ld0, n_a * sizeof(floating))


cdef void states_before(const Recurrence *r, floating *p, const floating *s,
                        const floating *s0, Py_ssize_t ld0) noexcept nogil:
    """p (n_a×m·T, the kernels' layout) = the state before every step, in the direction
    time runs: s0 (n_a×m, columns ld0 apart) before each example's first step, else s (the
    kernels' layout) at the step before (t-1 forward, t+1 reverse). With lengths, past an
    example's end any state stands in: those steps have no gradient."""
    cdef Py_ssize_t j, t, L, n_a = r.n_a, T = r.T, ld = r.n_a * r.T
    if not r.reverse:
        shifted_states(p, s, s0, ld0, n_a, r.m, T)
        return
    for j in range(r.m):
        L = T if r.lengths == NULL else r.lengths[j]
        for t in range(T):
            if t + 1 < L:
                memcpy(p + t * n_a + j * ld, s + (t + 1) * n_a + j * ld, n_a * sizeof(floating))
            else:
                memcpy(p + t * n_a + j * ld, s0 + j * ld0, n_a * sizeof(floating))


cdef object new_states_before(const Recurrence *r, int typenum, const void *s, const void *s0,
                              Py_ssize_t ld0):
    """A new sequence of the states before every step (``states_before``)."""
    p = new_sequence_of(typenum, r.n_a, r.m, r.T)
    if typenum == cnp.NPY_DOUBLE:
        states_before(r, <double *>cnp.PyArray_DATA(p), <const double *>s, <const double *>s0, ld0)
    else:
        states_before(r, <float *>cnp.PyArray_DATA(p), <const float *>s, <const float *>s0, ld0)
    return p


cdef object set_lengths(Recurrence *r, object lengths, bint reverse, int typenum,
                        Py_ssize_t n_y):
    """r's lengths (None, or each example's steps, a non-increasing 1-D intp array of m
    values in 1..T), direction and, with lengths, the work space of the products over
    the steps run (``gather_columns``) for an output layer of n_y rows; returns what r
    then points into, to keep alive."""
    r.reverse = reverse
    if (lengths is not None or reverse) and r.a0.trans != c'N':
        raise ValueError("a0 must be Fortran-ordered with lengths or reverse")
    if lengths is None:
        return None
    if not (cnp.PyArray_Check(lengths) and cnp.PyArray_TYPE(<cnp.ndarray>lengths) == cnp.NPY_INTP
            and cnp.PyArray_NDIM(<cnp.ndarray>lengths) == 1
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>lengths)
            and cnp.PyArray_DIM(<cnp.ndarray>lengths, 0) == r.m):
        raise ValueError(f"lengths must be a contiguous 1-D intp array of {r.m} values")
    cdef const Py_ssize_t *L = <const Py_ssize_t *>cnp.PyArray_DATA(<cnp.ndarray>lengths)
    cdef Py_ssize_t j, t, steps = 0
    for j in range(r.m):
        if L[j] < 1 or L[j] > r.T or (j and L[j] > L[j - 1]):
            raise ValueError(f"lengths must be non-increasing, in 1..{r.T}")
        steps += L[j]
    active = np.zeros(r.T, np.intp)
    cdef Py_ssize_t *count = <Py_ssize_t *>cnp.PyArray_DATA(<cnp.ndarray>active)
    for j in range(r.m):
        for t in range(L[j]):
            count[t] += 1
    # the most any pass gathers at once: dZ, dH and one more operand, or the two
    # operands of a product
    work = new_matrix(typenum, steps, r.rows + r.n_a + max(r.n_x, r.n_a, n_y), 1)
    r.lengths, r.active, r.steps, r.work = L, count, steps, cnp.PyArray_DATA(work)
    return active, work


cdef void gru_aux(const Recurrence *r, const floating *gates, const floating *p,
                  floating *aux) noexcept nogil:
    """What the GRU's backward reads besides the gates, for every step (n_a×m·T, the
    kernels' layout) from the states before the steps p: r*a_prev (the lecture's), or
    Wca·a_prev + bca (reset after), with the weights the pass is given."""
    cdef Py_ssize_t i, k, n_a = r.n_a, mT = r.m * r.T, rows = r.rows
    if r.kind == GRU:
        for k in range(mT):
            for i in range(n_a):
                aux[i + k * n_a] = gates[n_a + i + k * rows] * p[i + k * n_a]
        return
    # aux (n_a×m·T) = Wca (n_a×n_a) · P (n_a×m·T), Wca = Wa[2n_a:], then + bca
    map_columns(r, r.Wa.trans, c'N', n_a, n_a,
                <const floating *>r.Wa.data + row_offset(r.Wa, 2 * n_a), r.Wa.ld, p, n_a, 0,
                aux, n_a, NULL)
    cdef Py_ssize_t j, steps
    for j in range(r.m):
        steps = r.T if r.lengths == NULL else r.lengths[j]
        for k in range(j * r.T, j * r.T + steps):
            for i in range(n_a):
                aux[i + k * n_a] += (<const floating *>r.bca)[i]


cdef int backward_into(Recurrence *r, Backward *bk, int typenum) except -1:
    """Run the backward loop of r over bk, whose arrays are set: allocate the work space
    (dz, the steps of da gathered at a time; the GRU's states before every step when
    bk.a_prev is NULL, its aux unless the lecture's is given, dra and dh), then run in one
    ``with nogil:`` block."""
    cdef Py_ssize_t n_a = r.n_a, m = r.m, T = r.T, itemsize
    itemsize = sizeof(double) if typenum == cnp.NPY_DOUBLE else sizeof(float)
    dz = new_matrix(typenum, r.rows, m * T, 1)
    bk.dz = cnp.PyArray_DATA(dz)
    da_block = p = aux = dra = dh = None
    if r.rows == n_a:
        # the RNN computes dz_t in place from da_t: da is gathered into dz, every step at
        # once (one pass over da is faster than a few steps at a time here)
        bk.da_block, bk.block = bk.dz, T
    else:
        # the steps of da that a cache line of a C-ordered da holds, gathered at a time
        bk.block = BLOCK_BYTES // itemsize
        da_block = new_matrix(typenum, n_a, m * bk.block, 1)
        bk.da_block = cnp.PyArray_DATA(da_block)
    c_prev = None
    if bk.a_prev == NULL and (r.kind == GRU or r.kind == GRU_AFTER or r.reverse):
        # the states before the steps as one matrix: the GRU's weight gradients read it,
        # and every cell's in reverse
        p = new_states_before(r, typenum, bk.a, r.a0.data, r.a0.ld)
        bk.a_prev = cnp.PyArray_DATA(p)
    if r.kind == LSTM and bk.c_prev == NULL and r.reverse:
        c_prev = new_states_before(r, typenum, bk.c, bk.c0, n_a)
        bk.c_prev = cnp.PyArray_DATA(c_prev)
    if r.kind == GRU or r.kind == GRU_AFTER:
        if bk.aux == NULL:
            aux = new_sequence_of(typenum, n_a, m, T)
            bk.aux = cnp.PyArray_DATA(aux)
            if typenum == cnp.NPY_DOUBLE:
                gru_aux(r, <const double *>bk.gates, <const double *>bk.a_prev, <double *>bk.aux)
            else:
                gru_aux(r, <const float *>bk.gates, <const float *>bk.a_prev, <float *>bk.aux)
        dra = new_matrix(typenum, n_a, m, 1)
        bk.dra = cnp.PyArray_DATA(dra)
        if r.kind == GRU_AFTER:
            dh = new_matrix(typenum, n_a, m * T, 1)
            bk.dh = cnp.PyArray_DATA(dh)
    with nogil:
        run_backward(typenum, r, bk)
    return 0


def backward_kernel(int kind, da, gates, aux, a, c, c0, c_prev, a0, a_prev, x, W, bca, dx,
                    da0, dc0, dW, db, dbca, lengths=None, bint reverse=False):
    """Fill ``dx`` (n_x, m, T, the kernels' layout), ``da0`` (n_a, m, Fortran-ordered),
    ``dW`` (G·n_a, n_a+n_x, C-ordered, packed like W), ``db`` (G·n_a), and the cell's
    own: ``dc0`` (the LSTM's, (n_a, m) Fortran-ordered, holding the last cell state's
    gradient on entry) and ``dbca`` (GRU_AFTER's, (n_a)).

    ``da`` (n_a, m, T) may have any strides (it is converted if it is not aligned or of
    the dtype). ``gates`` (None for the RNN), ``aux`` (the GRU's, or None to compute it
    from the states and weights given), ``a`` and ``c`` (the LSTM's) are the forward's
    buffers in the kernels' layout; ``bca`` is GRU_AFTER's (n_a) bias; ``a0`` and ``c0`` (n_a, m)
    Fortran-ordered the states before step 0; ``a_prev`` and ``c_prev`` None when the
    state before every step is a0 (c0) then a (c) shifted by one step, else (n_a, m, T)
    in the kernels' layout (with lengths or reverse, in the direction time ran). ``x``,
    ``W``, ``lengths`` and ``reverse`` as for ``forward_kernel``. Sizes are checked by the
    caller to fit ``blas_int``; n_a, m, T >= 1.
    """
    cdef int typenum = kernel_type(da0)
    cdef Py_ssize_t shape[3]
    cdef Py_ssize_t ds[3]
    cdef void *pda
    da = strided(da, typenum, "da", shape, ds, &pda)
    cdef Py_ssize_t n_a = shape[0], m = shape[1], T = shape[2]
    cdef Recurrence r
    cdef Backward bk
    cdef Operand o
    describe_packed(&r, kind, typenum, x, a0, W, n_a, m, T)
    _kept = set_lengths(&r, lengths, reverse, typenum, 0)
    cdef Py_ssize_t rows = r.rows, n_x = r.n_x
    memset(&bk, 0, sizeof(Backward))
    bk.da, bk.ds[0], bk.ds[1], bk.ds[2] = pda, ds[0], ds[1], ds[2]
    bk.a = sequence(a, typenum, n_a, m, T, "a", False)
    bk.gates = bk.a if rows == n_a else sequence(gates, typenum, rows, m, T, "gates", False)
    if a_prev is not None:
        bk.a_prev = sequence(a_prev, typenum, n_a, m, T, "a_prev", False)
    if dx is not None:
        bk.dx = sequence(dx, typenum, n_x, m, T, "dx", True)
    operand(da0, typenum, n_a, m, "da0", &o, True, True)
    bk.da0 = o.data
    gradients_into(&bk, dW, db, dbca, typenum, kind, rows, n_a, n_x)
    if kind == LSTM:
        bk.c = sequence(c, typenum, n_a, m, T, "c", False)
        operand(c0, typenum, n_a, m, "c0", &o, False, True)
        bk.c0 = o.data
        if c_prev is not None:
            bk.c_prev = sequence(c_prev, typenum, n_a, m, T, "c_prev", False)
        operand(dc0, typenum, n_a, m, "dc0", &o, True, True)
        bk.dc0 = o.data
    elif kind == GRU or kind == GRU_AFTER:
        if aux is not None:
            bk.aux = sequence(aux, typenum, n_a, m, T, "aux", False)
        if kind == GRU_AFTER:
            r.bca = vector(bca, typenum, n_a, "bca")
    backward_into(&r, &bk, typenum)


cdef int gradients_into(Backward *bk, object dW, object db, object dbca, int typenum,
                        int kind, Py_ssize_t rows, Py_ssize_t n_a,
                        Py_ssize_t n_x) except -1:
    """bk's weight gradients: dW (rows, n_a+n_x) C-ordered, packed like W, db (rows) and
    GRU_AFTER's dbca (n_a)."""
    cdef char *pdW = <char *>c_matrix(dW, typenum, rows, n_a + n_x, "dW", True)
    bk.dWa, bk.dWx = pdW, pdW + n_a * cnp.PyArray_ITEMSIZE(<cnp.ndarray>dW)
    bk.ld_wa = bk.ld_wx = n_a + n_x
    bk.db = vector(db, typenum, rows, "db")
    if kind == GRU_AFTER:
        bk.dbca = vector(dbca, typenum, n_a, "dbca")
    return 0


# --- the common case, checked in C -----------------------------------------------------
#
# At the course's sizes a whole call takes tens of microseconds, most of them spent in
# Python's checks. The common case (a dict of plain ndarrays of one float dtype, C-ordered,
# of sizes that agree) is recognised here in C, for every cell, and run without
# conversion; anything else gets None, and the Python layer's checks take over and name
# what is wrong.

cdef object packed_weight(dict p, tuple joint, tuple inputs, int typenum, Py_ssize_t n_a,
                          Py_ssize_t n_x):
    """The cell's weight packed into a new C-ordered (G·n_a, n_a+n_x) array [Wa | Wx],
    gate k from p[joint[k]] (n_a, n_a+n_x) when inputs[k] is None, else from the
    recurrent p[joint[k]] (n_a, n_a) and the input p[inputs[k]] (n_a, n_x); None unless
    every one is plain (see ``_arrays.plain``) of those shapes."""
    cdef Py_ssize_t G = len(joint), k, i, cols = n_a + n_x
    cdef Py_ssize_t itemsize = cnp.PyArray_DescrFromType(typenum).itemsize
    for k in range(G):
        if inputs[k] is None:
            if not plain_matrix(p.get(joint[k]), typenum, n_a, cols):
                return None
        elif not (plain_matrix(p.get(joint[k]), typenum, n_a, n_a)
                  and plain_matrix(p.get(inputs[k]), typenum, n_a, n_x)):
            return None
    out = new_matrix(typenum, G * n_a, cols, 0)
    cdef char *dst = cnp.PyArray_BYTES(out)
    cdef char *wa
    cdef char *wx
    for k in range(G):
        wa = cnp.PyArray_BYTES(<cnp.ndarray>p[joint[k]])
        if inputs[k] is None:
            memcpy(dst + k * n_a * cols * itemsize, wa, n_a * cols * itemsize)
            continue
        wx = cnp.PyArray_BYTES(<cnp.ndarray>p[inputs[k]])
        for i in range(n_a):
            memcpy(dst + (k * n_a + i) * cols * itemsize, wa + i * n_a * itemsize,
                   n_a * itemsize)
            memcpy(dst + ((k * n_a + i) * cols + n_a) * itemsize, wx + i * n_x * itemsize,
                   n_x * itemsize)
    return out


cdef object packed_bias(dict p, tuple keys, int typenum, Py_ssize_t n):
    """p[key] for every key, each plain (n, 1), stacked into a new (len(keys)·n) array
    (one key: that array itself, whose data is the same); None unless every one is."""
    cdef Py_ssize_t k, G = len(keys)
    cdef Py_ssize_t nbytes = n * cnp.PyArray_DescrFromType(typenum).itemsize
    for k in range(G):
        if not plain_matrix(p.get(keys[k]), typenum, n, 1):
            return None
    if G == 1:
        return p[keys[0]]
    cdef cnp.npy_intp dims[1]
    dims[0] = G * n
    out = cnp.PyArray_EMPTY(1, dims, typenum, 0)
    for k in range(G):
        memcpy(cnp.PyArray_BYTES(<cnp.ndarray>out) + k * nbytes,
               cnp.PyArray_DATA(<cnp.ndarray>p[keys[k]]), nbytes)
    return out


cdef bint common_lengths(object lengths, Py_ssize_t m, Py_ssize_t T):
    """Whether lengths is None or in the form ``set_lengths`` takes: a contiguous 1-D intp
    ndarray of m non-increasing values in 1..T."""
    if lengths is None:
        return True
    if not (cnp.PyArray_CheckExact(lengths)
            and cnp.PyArray_TYPE(<cnp.ndarray>lengths) == cnp.NPY_INTP
            and cnp.PyArray_NDIM(<cnp.ndarray>lengths) == 1
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>lengths)
            and cnp.PyArray_ISALIGNED(<cnp.ndarray>lengths)
            and cnp.PyArray_DIM(<cnp.ndarray>lengths, 0) == m):
        return False
    cdef const Py_ssize_t *L = <const Py_ssize_t *>cnp.PyArray_DATA(<cnp.ndarray>lengths)
    cdef Py_ssize_t j
    for j in range(m):
        if L[j] < 1 or L[j] > T or (j and L[j] > L[j - 1]):
            return False
    return True


def common_forward(tuple spec, x, a0, c0, parameters, bint one_step,
                   lengths=None, bint reverse=False, bint output=True):
    """(a, y, gates, aux, c, c0, lengths) of a forward pass for the course's arguments in
    their common form, else None: the state and output of every step, then the cell's
    own buffers (gates None for the RNN; aux the GRU's; c and the c0 it started from, the
    LSTM's), as ``forward_kernel`` fills them, and a copy of the lengths it ran with.

    spec -- the cell's keys as ``crnn._cellspec.CellSpec.common`` lists them: the
            engine's kind, the gates' weights, input weights (None where a gate's weight
            is over [a_prev; xt]) and biases, the recurrent bias (or None), the output
            weight, and the names of the gradients

    The common form: parameters a dict; x (n_x, m, T), or (n_x, m) with one_step, a0
    (n_a, m), the weights, the biases (n, 1), the output layer and c0 (the LSTM's, or
    None for zeros) plain (see ``_arrays.plain``) ndarrays of one dtype, float64 or
    float32, of the cell's shapes; every size at least 1 and within ``blas_int``;
    lengths None or sorted (``common_lengths``), and reverse as for ``forward_kernel``.
    Without output, the cell alone: the output layer is not read, and y has no rows.
    """
    cdef int typenum = plain_float_input(x, parameters, 2 if one_step else 3)
    if typenum < 0:
        return None
    cdef int kind = spec[0]
    cdef dict p = <dict>parameters
    Wy, by = p.get(spec[5]), p.get("by")
    if not plain(a0, typenum, 2) or (output and not plain(Wy, typenum, 2)):
        return None
    cdef Py_ssize_t n_x = x.shape[0], m = x.shape[1], T = 1 if one_step else x.shape[2]
    cdef Py_ssize_t n_a = a0.shape[0], rows = gate_count(kind) * n_a
    cdef Py_ssize_t n_y = Wy.shape[0] if output else 0
    if output and not (Wy.shape[1] == n_a and n_y >= 1 and plain_matrix(by, typenum, n_y, 1)):
        return None
    if not (a0.shape[1] == m
            and (c0 is None or (kind == LSTM and plain_matrix(c0, typenum, n_a, m)))
            and min(n_x, n_a, m, T) >= 1 and fits_blas(max(n_x, n_y, rows, n_a + n_x))
            and fits_blas(m * T) and fits_blas(rows * T) and common_lengths(lengths, m, T)):
        return None
    b = packed_bias(p, spec[3], typenum, n_a)
    bca = None if spec[4] is None else packed_bias(p, (spec[4],), typenum, n_a)
    if b is None or (spec[4] is not None and bca is None):
        return None
    cdef Recurrence r
    a0 = fortran_ordered(a0) if lengths is not None or reverse else state_operand(kind, a0)
    describe(&r, kind, typenum, c_sequence(x, m, T), a0, n_x, n_a, m, T)
    weights = common_weights(&r, typenum, p, spec)
    if weights is None:
        return None
    if lengths is not None:
        lengths = lengths.copy()
    _kept = set_lengths(&r, lengths, reverse, typenum, n_y)
    if kind == LSTM:
        c0 = zeros_fortran(typenum, n_a, m) if c0 is None else fortran_ordered(c0)
    r.n_y = n_y
    r.b = cnp.PyArray_DATA(<cnp.ndarray>b)
    r.bca = NULL if bca is None else cnp.PyArray_DATA(<cnp.ndarray>bca)
    if output:
        operand(Wy, typenum, n_y, n_a, "Wy", &r.Wy, False, False)
        r.by = cnp.PyArray_DATA(<cnp.ndarray>by)
    a, y = new_sequence_of(typenum, n_a, m, T), new_sequence_of(typenum, n_y, m, T)
    gates = None if rows == n_a else new_sequence_of(typenum, rows, m, T)
    aux = new_sequence_of(typenum, n_a, m, T) if kind == GRU or kind == GRU_AFTER else None
    c = new_sequence_of(typenum, n_a, m, T) if kind == LSTM else None
    forward_into(&r, typenum, a, y, gates, aux, c, c0)
    return a, y, gates, aux, c, c0, lengths


def gradients(tuple spec, dW, db, dbca):
    """The parameters' gradients by name ("dWax", "dWf", ...), in the order of the
    cell's keys, as views of the packed dW (G·n_a, n_a+n_x), db (G·n_a, 1) and dbca
    ((n_a, 1), the reset-after GRU's, else None)."""
    cdef tuple joint = spec[1], names = spec[6]
    cdef Py_ssize_t k, n_a = db.shape[0] // len(joint)
    cdef dict grads = {}
    for k in range(len(joint)):
        d_weight, d_bias, d_input = names[k]
        rows = slice(k * n_a, (k + 1) * n_a)
        if d_input is None:
            grads[d_weight] = dW[rows]
        else:
            grads[d_input] = dW[rows, n_a:]
            grads[d_weight] = dW[rows, :n_a]
        grads[d_bias] = db[rows]
    if spec[7] is not None:
        grads[spec[7]] = dbca
    return grads


cdef tuple common_gradients(Recurrence *r, Backward *bk, int typenum, object dc0,
                            tuple spec, bint want_dx=True):
    """Allocate the gradients of a backward pass of r into bk (set but for them), run it,
    and return (dx, da0, dc0, grads): dx in the kernels' layout (None, not computed,
    without want_dx), da0 Fortran-ordered, and the parameters' gradients by name (see
    ``gradients``)."""
    cdef Py_ssize_t n_a = r.n_a, n_x = r.n_x, rows = r.rows
    dx = new_sequence_of(typenum, n_x, r.m, r.T) if want_dx else None
    da0 = new_matrix(typenum, n_a, r.m, 1)
    db = new_matrix(typenum, rows, 1, 0)
    bk.dx = cnp.PyArray_DATA(<cnp.ndarray>dx) if want_dx else NULL
    bk.da0, bk.db = cnp.PyArray_DATA(da0), cnp.PyArray_DATA(db)
    if rows == n_a and spec[2][0] is not None:
        # one gate, its weights apart (the RNN's): their gradients apart too, C-ordered
        dWa, dWx = new_matrix(typenum, n_a, n_a, 0), new_matrix(typenum, n_a, n_x, 0)
        bk.dWa, bk.ld_wa = cnp.PyArray_DATA(dWa), n_a
        bk.dWx, bk.ld_wx = cnp.PyArray_DATA(dWx), n_x
        backward_into(r, bk, typenum)
        d_weight, d_bias, d_input = spec[6][0]
        return dx, da0, dc0, {d_input: dWx, d_weight: dWa, d_bias: db}
    dW = new_matrix(typenum, rows, n_a + n_x, 0)
    dbca = new_matrix(typenum, n_a, 1, 0) if r.kind == GRU_AFTER else None
    bk.dWa = cnp.PyArray_DATA(dW)
    bk.dWx = cnp.PyArray_BYTES(dW) + n_a * cnp.PyArray_ITEMSIZE(dW)
    bk.ld_wa = bk.ld_wx = n_a + n_x
    bk.dbca = NULL if dbca is None else cnp.PyArray_DATA(<cnp.ndarray>dbca)
    backward_into(r, bk, typenum)
    return dx, da0, dc0, gradients(spec, dW, db, dbca)


cdef object zeros_fortran(int typenum, Py_ssize_t rows, Py_ssize_t cols):
    """A new Fortran-ordered rows×cols array of zeros."""
    out = new_matrix(typenum, rows, cols, 1)
    memset(cnp.PyArray_DATA(out), 0, cnp.PyArray_NBYTES(out))
    return out


cdef bint same_recurrent_weights(object kept, object Wca, object bca, int typenum,
                                 Py_ssize_t n_a):
    """Whether kept (what the reset-after GRU's forward pass read: Wca then bca, raveled)
    holds the values of Wca (n_a, n_a) and bca (n_a, 1), plain, in typenum."""
    cdef Py_ssize_t itemsize = cnp.PyArray_DescrFromType(typenum).itemsize
    if not (plain(kept, typenum, 1) and cnp.PyArray_DIM(<cnp.ndarray>kept, 0) == n_a * n_a + n_a
            and plain_matrix(Wca, typenum, n_a, n_a)):
        return False
    cdef char *k = cnp.PyArray_BYTES(<cnp.ndarray>kept)
    return (memcmp(k, cnp.PyArray_DATA(<cnp.ndarray>Wca), n_a * n_a * itemsize) == 0
            and memcmp(k + n_a * n_a * itemsize, cnp.PyArray_DATA(<cnp.ndarray>bca),
                       n_a * itemsize) == 0)


def common_backward(tuple spec, da, tuple buffers, a0, c0, parameters, lengths=None,
                    bint reverse=False, bint dx=True):
    """(dx, da0, dc0, grads) of a backward pass over crnn's own forward buffers for
    arguments in the common form, else None (see ``common_gradients``).

    spec -- as for ``common_forward``
    buffers -- (a, gates, aux, c, x, kept): crnn's forward buffers
               (``_caches.ForwardCaches``), the x the caches hold, and the reset-after
               GRU's Wca and bca as the forward pass read them (else None)
    a0, c0 -- the state and (the LSTM's, else None) cell state before the first step
              run: the first cache's a_prev and c_prev, the last cache's in reverse
    lengths, reverse -- of the forward pass; lengths as ``common_lengths`` takes them
    dx -- whether to compute dx (else it is None)

    The common form: parameters a dict whose weights are plain (see ``_arrays.plain``)
    ndarrays of the cell's shapes; x plain and da plain or in the kernels' layout, of a's
    dtype, da of a's shape; a0 and
    c0 C- or Fortran-contiguous (n_a, m); every size at least 1.
    """
    if type(parameters) is not dict or len(buffers) != 6:
        return None
    a, gates, aux, c, x, kept = buffers
    if not cnp.PyArray_Check(a):
        return None
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>a), kind = spec[0]
    # da C-ordered (a user's), or in the kernels' layout (the output layer's, in training)
    cdef bint da_in_layout = in_layout(da, typenum)
    if not (in_layout(a, typenum) and (da_in_layout or plain(da, typenum, 3))
            and plain(x, typenum, 3)):
        return None
    cdef Py_ssize_t n_a = a.shape[0], m = a.shape[1], T = a.shape[2], n_x = x.shape[0]
    cdef Py_ssize_t rows = gate_count(kind) * n_a
    if not (da.shape == a.shape and x.shape[1] == m and x.shape[2] == T
            and contiguous_matrix(a0, typenum, n_a, m) and min(n_x, n_a, m, T) >= 1
            and fits_blas(max(n_x, rows, n_a + n_x)) and fits_blas(m * T)
            and fits_blas(rows * T) and common_lengths(lengths, m, T)):
        return None
    if rows != n_a and not (in_layout(gates, typenum) and gates.shape == (rows, m, T)):
        return None
    if kind == LSTM and not (in_layout(c, typenum) and c.shape == a.shape
                             and contiguous_matrix(c0, typenum, n_a, m)):
        return None
    if (kind == GRU or kind == GRU_AFTER) and not (in_layout(aux, typenum)
                                                   and aux.shape == a.shape):
        return None
    bca = None
    if kind == GRU_AFTER:
        bca = (<dict>parameters).get(spec[4])
        if not plain_matrix(bca, typenum, n_a, 1):
            return None
        if not same_recurrent_weights(kept, (<dict>parameters).get(spec[1][2]), bca, typenum,
                                      n_a):
            aux = None  # Wca·a_prev + bca, computed anew with the weights of the dict
    cdef Recurrence r
    cdef Backward bk
    a0 = fortran_ordered(a0) if lengths is not None or reverse else state_operand(kind, a0)
    describe(&r, kind, typenum, c_sequence(x, m, T), a0, n_x, n_a, m, T)
    weights = common_weights(&r, typenum, <dict>parameters, spec)
    if weights is None:
        return None
    if lengths is not None:
        lengths = lengths.copy()  # what the pass reads, whatever happens to the caller's
    _kept_lengths = set_lengths(&r, lengths, reverse, typenum, 0)
    memset(&bk, 0, sizeof(Backward))
    bk.da = cnp.PyArray_DATA(<cnp.ndarray>da)
    if da_in_layout:
        bk.ds[0], bk.ds[1], bk.ds[2] = 1, n_a * T, n_a
    else:
        # C-ordered da (n_a, m, T): element strides m·T, T, 1
        bk.ds[0], bk.ds[1], bk.ds[2] = m * T, T, 1
    bk.a = cnp.PyArray_DATA(<cnp.ndarray>a)
    bk.gates = bk.a if rows == n_a else cnp.PyArray_DATA(<cnp.ndarray>gates)
    dc0 = None
    if kind == LSTM:
        c0f, dc0 = fortran_ordered(c0), zeros_fortran(typenum, n_a, m)
        bk.c, bk.c0 = cnp.PyArray_DATA(<cnp.ndarray>c), cnp.PyArray_DATA(<cnp.ndarray>c0f)
        bk.dc0 = cnp.PyArray_DATA(<cnp.ndarray>dc0)
    elif kind == GRU or kind == GRU_AFTER:
        bk.aux = NULL if aux is None else cnp.PyArray_DATA(<cnp.ndarray>aux)
        r.bca = NULL if bca is None else cnp.PyArray_DATA(<cnp.ndarray>bca)
    return common_gradients(&r, &bk, typenum, dc0, spec, dx)


cdef object stacked_steps(int typenum, tuple arrays, Py_ssize_t n, Py_ssize_t m):
    """The (n, m) arrays (of typenum, whole-element strides) stacked into a new
    Fortran-ordered (len(arrays)·n, m) matrix: one step's block in the kernels' layout."""
    cdef Py_ssize_t k, G = len(arrays), s0, s1
    cdef Py_ssize_t itemsize = cnp.PyArray_DescrFromType(typenum).itemsize
    cdef cnp.ndarray src
    out = new_matrix(typenum, G * n, m, 1)
    cdef char *dst = cnp.PyArray_BYTES(out)
    for k in range(G):
        src = <cnp.ndarray>arrays[k]
        s0, s1 = src.strides[0] // itemsize, src.strides[1] // itemsize
        if typenum == cnp.NPY_DOUBLE:
            gather_steps(<double *>(dst + k * n * itemsize), G * n,
                         <const double *>cnp.PyArray_DATA(src), s0, s1, 0, n, m, 1)
        else:
            gather_steps(<float *>(dst + k * n * itemsize), G * n,
                         <const float *>cnp.PyArray_DATA(src), s0, s1, 0, n, m, 1)
    return out


def common_step_backward(tuple spec, tuple fields, da_next, dc_next, cache):
    """(dxt, da_prev, dc_prev, grads) of one cell cache's backward pass for arguments in
    the common form, else None.

    spec -- as for ``common_forward``
    fields -- where the cache holds a_next, a_prev, c_next, c_prev (-1 without), the gate
              fields (a tuple, in row-block order; empty for the RNN) and xt; and its length

    The common form: cache a tuple of the cell's length whose last item is a dict of
    plain weights of the cell's shapes (and, reset after, its recurrent bias); its arrays,
    da_next and (the LSTM's) dc_next ndarrays of one dtype, float64 or float32, of
    agreeing shapes with any whole-element strides (those BLAS or the loop cannot read
    are copied, one step's worth); every size at least 1 and within ``blas_int``.
    """
    cdef int kind = spec[0]
    cdef Py_ssize_t length = fields[6]
    if not isinstance(cache, tuple) or len(<tuple>cache) != length:
        return None
    cdef tuple items = <tuple>cache
    parameters, a_next, xt = items[length - 1], items[fields[0]], items[fields[5]]
    if (type(parameters) is not dict or not cnp.PyArray_CheckExact(a_next)
            or not cnp.PyArray_CheckExact(xt)):
        return None
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>a_next)
    # the dimensions before the shapes: with bounds checks off, reading a size past an
    # array's last dimension reads past its shape
    if ((typenum != cnp.NPY_DOUBLE and typenum != cnp.NPY_FLOAT)
            or cnp.PyArray_NDIM(<cnp.ndarray>a_next) != 2
            or cnp.PyArray_NDIM(<cnp.ndarray>xt) != 2):
        return None
    cdef Py_ssize_t n_a = a_next.shape[0], m = a_next.shape[1], n_x = xt.shape[0]
    cdef Py_ssize_t rows = gate_count(kind) * n_a
    cdef tuple gate_fields = fields[4]
    a_prev = items[fields[1]]
    if not (strided_matrix(a_next, typenum, n_a, m) and strided_matrix(a_prev, typenum, n_a, m)
            and strided_matrix(xt, typenum, n_x, m) and strided_matrix(da_next, typenum, n_a, m)
            and min(n_x, n_a, m) >= 1 and fits_blas(max(n_x, m, rows, n_a + n_x))):
        return None
    if kind == LSTM and not (strided_matrix(items[fields[2]], typenum, n_a, m)
                             and strided_matrix(items[fields[3]], typenum, n_a, m)
                             and strided_matrix(dc_next, typenum, n_a, m)):
        return None
    for k in gate_fields:
        if not strided_matrix(items[k], typenum, n_a, m):
            return None
    bca = None
    if kind == GRU_AFTER:
        bca = parameters.get(spec[4])
        if not plain_matrix(bca, typenum, n_a, 1):
            return None
    cdef Recurrence r
    cdef Backward bk
    cdef Operand ox
    # one step: a Fortran-ordered (n, m) matrix is the kernels' layout for T = 1
    a_f = fortran_ordered(a_next)
    a0 = state_operand(kind, a_prev if contiguous_matrix(a_prev, typenum, n_a, m)
                       else fortran_ordered(a_prev))
    xf = xt if contiguous_matrix(xt, typenum, n_x, m) else fortran_ordered(xt)
    operand(xf, typenum, n_x, m, "xt", &ox, False, False)
    describe(&r, kind, typenum, ox, a0, n_x, n_a, m, 1)
    weights = common_weights(&r, typenum, <dict>parameters, spec)
    if weights is None:
        return None
    memset(&bk, 0, sizeof(Backward))
    cdef cnp.ndarray gda = <cnp.ndarray>da_next
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(gda)
    bk.da, bk.ds[0], bk.ds[1], bk.ds[2] = (cnp.PyArray_DATA(gda), gda.strides[0] // itemsize,
                                           gda.strides[1] // itemsize, 0)
    bk.a = cnp.PyArray_DATA(<cnp.ndarray>a_f)
    bk.gates = bk.a
    dc0 = None
    if gate_fields:
        gates = stacked_steps(typenum, tuple(items[k] for k in gate_fields), n_a, m)
        bk.gates = cnp.PyArray_DATA(<cnp.ndarray>gates)
    if kind == LSTM:
        c_f, c0f = fortran_ordered(items[fields[2]]), fortran_ordered(items[fields[3]])
        dc0 = stacked_steps(typenum, (dc_next,), n_a, m)
        bk.c, bk.c0 = cnp.PyArray_DATA(<cnp.ndarray>c_f), cnp.PyArray_DATA(<cnp.ndarray>c0f)
        bk.dc0 = cnp.PyArray_DATA(<cnp.ndarray>dc0)
    elif kind == GRU_AFTER:
        r.bca = cnp.PyArray_DATA(<cnp.ndarray>bca)
    dx, da0, dc0, grads = common_gradients(&r, &bk, typenum, dc0, spec)
    return step_view(dx, 0), da0, dc0, grads


# --- the course's caches -------------------------------------------------------------

def steps(seq):
    """The views seq[:, :, t] of every step t of an (n, m, T) ndarray, made at C speed:
    plain ndarrays whose base is seq."""
    cdef Py_ssize_t t, T = seq.shape[2]
    return [step_view(seq, t) for t in range(T)]


cdef object step_view(cnp.ndarray seq, Py_ssize_t t):
    """seq[:, :, t] of an (n, m, T) ndarray seq, made directly: a plain ndarray view."""
    cdef cnp.npy_intp dims[2]
    cdef cnp.npy_intp strides[2]
    dims[0], dims[1] = seq.shape[0], seq.shape[1]
    strides[0], strides[1] = seq.strides[0], seq.strides[1]
    view = cnp.PyArray_New(np.ndarray, 2, dims, cnp.PyArray_TYPE(seq), strides,
                           cnp.PyArray_BYTES(seq) + t * seq.strides[2], 0,
                           cnp.NPY_ARRAY_WRITEABLE if cnp.PyArray_ISWRITEABLE(seq) else 0,
                           None)
    cnp.set_array_base(view, seq)
    cnp.PyArray_UpdateFlags(view, cnp.NPY_ARRAY_UPDATE_ALL)
    return view


cdef extern from *:
    """
    #ifndef CRNN_DEBUG
    #define CRNN_DEBUG 0
    #endif
    """
    const int CRNN_DEBUG

#: True in a debug build (CRNN_DEBUG=1): Cython's bounds and initialisation checks are on.
DEBUG_BUILD = bool(CRNN_DEBUG)
