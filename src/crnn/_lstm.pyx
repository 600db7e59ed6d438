# cython: language_level=3
"""The LSTM kernels: forward and backward over a whole sequence.

Sequences are in the kernels' layout of ``_arrays.pxd``, like ``_rnn.pyx``'s: the
``(n, m·T)`` matrix whose column ``j·T + t`` is batch column j of step t, so the
course's C-ordered ``x`` and ``da`` are read in place, and crnn's buffers hold step t
from column t with columns ``n·T`` apart.

The four gates share one packed weight ``W = [Wf; Wi; Wc; Wo]`` of shape
``(4·n_a, n_a+n_x)``, so one product fills every gate: its first ``n_a`` columns are
the recurrent part ``W[:, :n_a]`` and the rest the input part ``W[:, n_a:]``. The gates
of a step are a ``(4·n_a, m)`` block: forget, update, candidate, output, ``n_a`` rows
each (``csrc/crnn_lstm.h``).

The Python layer (``crnn.lstm``) validates, packs and allocates; the entry points here
convert an input only when BLAS cannot read it in place and check what they are handed,
then run the time loop in one ``with nogil:`` block with no Python object in it.
"""
cimport numpy as cnp
from cython cimport floating
from libc.stddef cimport ptrdiff_t
from libc.string cimport memcpy, memset

from crnn._arrays cimport (
    Operand, blas_ready, contiguous_matrix, fits_blas, fortran_ordered, in_layout,
    kernel_type, layout_ready, new_matrix, new_sequence_of, operand, plain, plain_float_input,
    plain_matrix, sequence, strided, strided_matrix, vector,
)
from crnn._blas cimport blas_int, gemm
from crnn._elementwise cimport bias_softmax, gather_steps
from crnn._sequence cimport weight_gradients

from crnn.memory import work_space as _work_space

cnp.import_array()


cdef extern from "crnn_lstm.h" nogil:
    void crnn_lstm_gates_d(double *g, ptrdiff_t ldg, const double *b, const double *c_prev,
                           ptrdiff_t ldp, double *c, double *a, ptrdiff_t ld, ptrdiff_t n,
                           ptrdiff_t ncols)
    void crnn_lstm_gates_s(float *g, ptrdiff_t ldg, const float *b, const float *c_prev,
                           ptrdiff_t ldp, float *c, float *a, ptrdiff_t ld, ptrdiff_t n,
                           ptrdiff_t ncols)
    void crnn_lstm_gates_grad_d(double *dg, const double *g, ptrdiff_t ldg, double *dc,
                                const double *flow, const double *da, ptrdiff_t ldd,
                                const double *c, ptrdiff_t ldc, const double *c_prev,
                                ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols)
    void crnn_lstm_gates_grad_s(float *dg, const float *g, ptrdiff_t ldg, float *dc,
                                const float *flow, const float *da, ptrdiff_t ldd,
                                const float *c, ptrdiff_t ldc, const float *c_prev,
                                ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols)


cdef inline void lstm_gates(floating *g, Py_ssize_t ldg, const floating *b,
                            const floating *c_prev, Py_ssize_t ldp, floating *c, floating *a,
                            Py_ssize_t ld, Py_ssize_t n, Py_ssize_t ncols) noexcept nogil:
    if floating is double:
        crnn_lstm_gates_d(g, ldg, b, c_prev, ldp, c, a, ld, n, ncols)
    else:
        crnn_lstm_gates_s(g, ldg, b, c_prev, ldp, c, a, ld, n, ncols)


cdef inline void lstm_gates_grad(floating *dg, const floating *g, Py_ssize_t ldg,
                                 floating *dc, const floating *flow, const floating *da,
                                 Py_ssize_t ldd, const floating *c, Py_ssize_t ldc,
                                 const floating *c_prev, Py_ssize_t ldp, Py_ssize_t n,
                                 Py_ssize_t ncols) noexcept nogil:
    if floating is double:
        crnn_lstm_gates_grad_d(dg, g, ldg, dc, flow, da, ldd, c, ldc, c_prev, ldp, n, ncols)
    else:
        crnn_lstm_gates_grad_s(dg, g, ldg, dc, flow, da, ldd, c, ldc, c_prev, ldp, n, ncols)


cdef inline const floating *input_part(const floating *W, Operand oW,
                                       blas_int n_a) noexcept nogil:
    """W[:, n_a:], the input part of the packed weight W (oW its operand)."""
    return W + (n_a if oW.trans == c'T' else n_a * <Py_ssize_t>oW.ld)


# --- the time loops ------------------------------------------------------------------

cdef void forward_loop(blas_int n_x, blas_int n_a, blas_int n_y, blas_int m, blas_int T,
                       Operand x, Operand a0, const floating *c0, Operand oW,
                       const floating *b, Operand Wy, const floating *by,
                       floating *gates, floating *a, floating *c, floating *y,
                       floating *w_f) noexcept nogil:
    """gates_t = W·[a_{t-1}; x_t] + b through the gate functions, c_t, a_t;
    y_t = softmax(Wy·a_t + by).

    gates (4n_a×m·T), a, c (n_a×m·T) and y (n_y×m·T) are crnn's buffers: step t starts
    at column t, its columns 4n_a·T (n_a·T) apart; c0 is Fortran-ordered (n_a×m). w_f,
    unless NULL, is (4n_a×n_a) work space for a Fortran-ordered copy of the recurrent
    part of a C-ordered W (see ``untransposed_recurrent``).
    """
    cdef blas_int n4 = 4 * n_a, mT = m * T
    cdef blas_int ldg = n4 * T, ld = n_a * T
    cdef Py_ssize_t t
    cdef const floating *W = <const floating *>oW.data
    cdef const floating *a_prev = <const floating *>a0.data
    cdef const floating *c_prev = c0
    cdef blas_int ld_a = a0.ld, ld_c = n_a
    cdef char op_prev = a0.trans
    cdef floating *g_t
    # the recurrent part W[:, :n_a] (4n_a×n_a): as stored, its rows first in W's
    cdef const floating *Wa = W
    cdef blas_int ld_wa = oW.ld
    cdef char op_wa = oW.trans
    if w_f != NULL and oW.trans == c'T':
        # W[:, :n_a] Fortran-ordered, from the C-ordered (column-major Wᵀ) packed W
        gather_steps(w_f, n4, W, oW.ld, 0, 1, n4, 1, n_a)
        Wa, ld_wa, op_wa = w_f, n4, c'N'
    if n_a > 0:
        # G (4n_a×m·T) = W[:, n_a:] (4n_a×n_x) · X (n_x×m·T): the input part of every
        # gate at every step at once
        gemm(oW.trans, x.trans, n4, mT, n_x, 1, input_part(W, oW, n_a), oW.ld,
             <const floating *>x.data, x.ld, 0, gates, n4)
        for t in range(T):
            g_t = gates + t * n4
            # g_t (4n_a×m) += W[:, :n_a] (4n_a×n_a) · a_prev (n_a×m)
            gemm(op_wa, op_prev, n4, m, n_a, 1, Wa, ld_wa, a_prev, ld_a, 1, g_t, ldg)
            lstm_gates(g_t, ldg, b, c_prev, ld_c, c + t * n_a, a + t * n_a, ld, n_a, m)
            a_prev, ld_a, op_prev = a + t * n_a, ld, c'N'
            c_prev, ld_c = c + t * n_a, ld
    # Y (n_y×m·T) = Wy (n_y×n_a) · A (n_a×m·T), then a softmax per column
    gemm(Wy.trans, c'N', n_y, mT, n_a, 1, <const floating *>Wy.data, Wy.ld, a, n_a,
         0, y, n_y)
    bias_softmax(y, by, n_y, mT)


cdef void backward_loop(blas_int n_x, blas_int n_a, blas_int m, blas_int T,
                        const floating *da, Py_ssize_t ds0, Py_ssize_t ds1, Py_ssize_t ds2,
                        const floating *gates, const floating *c, const floating *c0,
                        const floating *c_prev, const floating *a, Operand a0,
                        const floating *a_prev, Operand x, Operand oW, floating *dgates,
                        floating *da_block, Py_ssize_t block, floating *dx, floating *da0,
                        floating *dc0, floating *dW, blas_int ldw,
                        floating *db) noexcept nogil:
    """Back through the sequence: dgates_t is the gradient of step t's gate pre-activations.

    da is read with its own element strides, block steps at a time gathered into
    da_block (n_a×m·block, Fortran-ordered); gates, c, dgates and dx are crnn's
    buffers, as are c_prev and a_prev, the states before every step, or NULL when they
    are c0 (a0) then c (a) shifted by one step. da0 and dc0 (n_a×m) carry the flows
    between steps: on entry dc0 holds the dc_next of the last step; on exit they hold
    the gradients reaching a0 and c0. The weight gradients are sums over steps, each one
    product over the whole sequence; dW is C-ordered with rows ldw apart. Needs
    n_a, m, T >= 1.
    """
    cdef blas_int n4 = 4 * n_a, mT = m * T
    cdef blas_int ldg = n4 * T, ld = n_a * T
    cdef Py_ssize_t t, t0, t1 = T
    cdef const floating *W = <const floating *>oW.data
    cdef const floating *Wx = input_part(W, oW, n_a)
    cdef const floating *c_prev_t
    cdef floating *dg_t
    cdef Py_ssize_t ldd = n_a * block, ldp
    memset(da0, 0, n_a * m * sizeof(floating))
    while t1 > 0:
        t0 = t1 - block if t1 > block else 0
        # da_t for t0 <= t < t1 into da_block (n_a×m·block), step t - t0 from column
        # t - t0, by cache-sized tiles (rather than each step's strided reads of da)
        gather_steps(da_block, ldd, da + t0 * ds2, ds0, ds1, ds2, n_a, m, t1 - t0)
        for t in range(t1 - 1, t0 - 1, -1):
            dg_t = dgates + t * n4
            if c_prev != NULL:
                c_prev_t, ldp = c_prev + t * n_a, ld
            elif t:
                c_prev_t, ldp = c + (t - 1) * n_a, ld
            else:
                c_prev_t, ldp = c0, n_a
            lstm_gates_grad(dg_t, gates + t * n4, ldg, dc0, da0, da_block + (t - t0) * n_a,
                            ldd, c + t * n_a, ld, c_prev_t, ldp, n_a, m)
            # da0 (n_a×m) = W[:, :n_a].T (n_a×4n_a) · dg_t (4n_a×m): the flow into a_{t-1}
            gemm(oW.flip, c'N', n_a, m, n4, 1, W, oW.ld, dg_t, ldg, 0, da0, n_a)
        t1 = t0
    # dX (n_x×m·T) = W[:, n_a:].T (n_x×4n_a) · dG (4n_a×m·T)
    gemm(oW.flip, c'N', n_x, mT, n4, 1, Wx, oW.ld, dgates, n4, 0, dx, n_x)
    # dW[:, n_a:], dW[:, :n_a] and db: C-ordered dW is column-major dW.T, rows ldw apart
    weight_gradients(n_x, n_a, n4, m, T, x, a, a0, a_prev, dgates, dW + n_a, ldw, dW, ldw, db)


cdef object untransposed_recurrent(int typenum, Operand oW, Py_ssize_t n_a, Py_ssize_t m):
    """Work space for the forward loop to copy the recurrent part of a C-ordered packed W
    into Fortran order, where that makes the per-step products faster; else None.

    As for the RNN's Waa (``_rnn.untransposed_waa``): OpenBLAS's products on the
    untransposed A are much faster at small sizes (256×16×64: 56 against 25 GFLOP/s in
    float64, 107 against 60 in float32) and a few percent faster up to n_a²·m = 2²² in
    float64 (2²⁰ in float32); beyond, the transposed one is as fast or faster
    (``python -m crnn bench`` times both for its floor). The copy costs 4n_a² elements
    once per sequence.
    """
    if oW.trans != c'T' or n_a * n_a * m > (2**22 if typenum == cnp.NPY_DOUBLE else 2**20):
        return None
    return new_matrix(typenum, 4 * n_a, n_a, 1)


cdef void run_forward(int typenum, blas_int n_x, blas_int n_a, blas_int n_y, blas_int m,
                      blas_int T, Operand x, Operand a0, void *c0, Operand W, void *b,
                      Operand Wy, void *by, void *gates, void *a, void *c, void *y):
    """forward_loop in the dtype typenum (NPY_DOUBLE or NPY_FLOAT) of the data, with the
    recurrent weights copied where that is faster (``untransposed_recurrent``)."""
    work = untransposed_recurrent(typenum, W, n_a, m)
    cdef void *pwork = NULL if work is None else cnp.PyArray_DATA(<cnp.ndarray>work)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            forward_loop[double](n_x, n_a, n_y, m, T, x, a0, <double *>c0, W, <double *>b,
                                 Wy, <double *>by, <double *>gates, <double *>a,
                                 <double *>c, <double *>y, <double *>pwork)
        else:
            forward_loop[float](n_x, n_a, n_y, m, T, x, a0, <float *>c0, W, <float *>b, Wy,
                                <float *>by, <float *>gates, <float *>a, <float *>c,
                                <float *>y, <float *>pwork)


cdef inline void run_backward(int typenum, blas_int n_x, blas_int n_a, blas_int m,
                              blas_int T, void *da, Py_ssize_t *ds, void *gates, void *c,
                              void *c0, void *c_prev, void *a, Operand a0, void *a_prev,
                              Operand x, Operand W, void *dgates, void *da_block,
                              Py_ssize_t block, void *dx, void *da0, void *dc0, void *dW,
                              blas_int ldw, void *db) noexcept nogil:
    """backward_loop in the dtype typenum (NPY_DOUBLE or NPY_FLOAT) of the data; ds holds
    da's three element strides."""
    if typenum == cnp.NPY_DOUBLE:
        backward_loop[double](n_x, n_a, m, T, <double *>da, ds[0], ds[1], ds[2],
                              <double *>gates, <double *>c, <double *>c0, <double *>c_prev,
                              <double *>a, a0, <double *>a_prev, x, W, <double *>dgates,
                              <double *>da_block, block, <double *>dx, <double *>da0,
                              <double *>dc0, <double *>dW, ldw, <double *>db)
    else:
        backward_loop[float](n_x, n_a, m, T, <float *>da, ds[0], ds[1], ds[2],
                             <float *>gates, <float *>c, <float *>c0, <float *>c_prev,
                             <float *>a, a0, <float *>a_prev, x, W, <float *>dgates,
                             <float *>da_block, block, <float *>dx, <float *>da0,
                             <float *>dc0, <float *>dW, ldw, <float *>db)


# --- entry points: arrays in, pointers to the loops ----------------------------------

def lstm_forward_kernel(x, a0, c0, W, b, Wy, by, gates, a, c, y):
    """Fill ``gates`` (4n_a, m, T), ``a``, ``c`` (n_a, m, T) and ``y`` (n_y, m, T).

    ``x`` is (n_x, m·T), ``a0`` (n_a, m), ``c0`` (n_a, m) Fortran-ordered, ``W`` the
    packed (4n_a, n_a+n_x) weight and ``b`` the packed (4n_a) bias. The outputs, in the
    kernels' layout, set the dtype (float64 or float32); the inputs are read in place
    when they are aligned, of that dtype and C- or Fortran-contiguous, else converted
    once. Biases are 1-D. Sizes are checked by the caller to fit ``blas_int``;
    m, T, n_y >= 1.
    """
    cdef int typenum = kernel_type(a)
    cdef Py_ssize_t n_a = a.shape[0], m = a.shape[1], T = a.shape[2], n_y = y.shape[0]
    cdef Py_ssize_t n_x = x.shape[0], mT = m * T
    if min(m, T, n_y) < 1:
        raise ValueError(f"a {a.shape} and y {y.shape} must have m, T, n_y >= 1")
    cdef Operand ox, oa0, oc0, oW, oWy
    x, a0, W = blas_ready(x, typenum), blas_ready(a0, typenum), blas_ready(W, typenum)
    Wy, b, by = blas_ready(Wy, typenum), blas_ready(b, typenum), blas_ready(by, typenum)
    operand(x, typenum, n_x, mT, "x", &ox, False, False)
    operand(a0, typenum, n_a, m, "a0", &oa0, False, False)
    operand(c0, typenum, n_a, m, "c0", &oc0, False, True)
    operand(W, typenum, 4 * n_a, n_a + n_x, "W", &oW, False, False)
    operand(Wy, typenum, n_y, n_a, "Wy", &oWy, False, False)
    cdef void *pb = vector(b, typenum, 4 * n_a, "b")
    cdef void *pby = vector(by, typenum, n_y, "by")
    cdef void *pg = sequence(gates, typenum, 4 * n_a, m, T, "gates", True)
    cdef void *pa = sequence(a, typenum, n_a, m, T, "a", True)
    cdef void *pc = sequence(c, typenum, n_a, m, T, "c", True)
    cdef void *py = sequence(y, typenum, n_y, m, T, "y", True)
    run_forward(typenum, n_x, n_a, n_y, m, T, ox, oa0, oc0.data, oW, pb, oWy, pby, pg, pa,
                pc, py)


def lstm_backward_kernel(da, gates, c, c0, c_prev, a, a0, a_prev, x, W, dgates, da_block,
                         dx, da0, dc0, dW, db):
    """Fill the gradients from ``da`` (n_a, m, T) and the forward's arrays.

    ``gates`` (4n_a, m, T) and ``c``, ``a`` (n_a, m, T) hold every step's gates and
    states; ``c0`` (Fortran-ordered) and ``a0`` (n_a, m) the states before step 0;
    ``c_prev`` and ``a_prev`` are None when the states before step t are c0 (a0) for
    t = 0 and c_{t-1} (a_{t-1}) after, else the (n_a, m, T) states before every step;
    ``x`` is (n_x, m·T). The inputs are read in place when they can be (da with any
    strides, the sequences in the kernels' layout, the others C- or
    Fortran-contiguous), else converted once. ``dgates`` is (4n_a, m·T)
    Fortran-ordered work space, and sets the dtype; ``da_block`` (n_a, m·B) Fortran-ordered
    work space for B steps of da at a time (the steps a cache line of a C-ordered da
    holds, say), B >= 1; dx (n_x, m, T) is in the kernels'
    layout, ``da0`` and ``dc0`` (n_a, m) Fortran-ordered, dc0 holding the gradient of
    the last cell state; ``dW`` (4n_a, n_a+n_x) C-ordered and ``db`` (4n_a) are packed
    like ``W``. Sizes are checked by the caller to fit ``blas_int``; n_a, m, T >= 1.
    """
    cdef int typenum = kernel_type(dgates)
    cdef Py_ssize_t dims[3]
    cdef Py_ssize_t ds[3]
    cdef void *pda
    da = strided(da, typenum, "da", dims, ds, &pda)
    cdef Py_ssize_t n_a = dims[0], m = dims[1], T = dims[2], n_x = x.shape[0], mT = m * T
    cdef Operand oc0, oa0, ox, oW, odg, odab, oda0, odc0, odW
    gates, c, a = (layout_ready(gates, typenum), layout_ready(c, typenum),
                   layout_ready(a, typenum))
    a0, x, W = blas_ready(a0, typenum), blas_ready(x, typenum), blas_ready(W, typenum)
    cdef void *pg = sequence(gates, typenum, 4 * n_a, m, T, "gates", False)
    cdef void *pc = sequence(c, typenum, n_a, m, T, "c", False)
    cdef void *pa = sequence(a, typenum, n_a, m, T, "a", False)
    cdef void *pcprev = NULL
    cdef void *paprev = NULL
    if c_prev is not None:
        c_prev = layout_ready(c_prev, typenum)
        pcprev = sequence(c_prev, typenum, n_a, m, T, "c_prev", False)
    if a_prev is not None:
        a_prev = layout_ready(a_prev, typenum)
        paprev = sequence(a_prev, typenum, n_a, m, T, "a_prev", False)
    operand(c0, typenum, n_a, m, "c0", &oc0, False, True)
    operand(a0, typenum, n_a, m, "a0", &oa0, False, False)
    operand(x, typenum, n_x, mT, "x", &ox, False, False)
    operand(W, typenum, 4 * n_a, n_a + n_x, "W", &oW, False, False)
    operand(dgates, typenum, 4 * n_a, mT, "dgates", &odg, True, True)
    # B, the steps da_block holds: its columns over m (its shape checked by operand)
    cdef Py_ssize_t block = max(da_block.shape[1] // m, 1)
    operand(da_block, typenum, n_a, m * block, "da_block", &odab, True, True)
    cdef void *pdx = sequence(dx, typenum, n_x, m, T, "dx", True)
    operand(da0, typenum, n_a, m, "da0", &oda0, True, True)
    operand(dc0, typenum, n_a, m, "dc0", &odc0, True, True)
    # the C-ordered (4n_a, n_a+n_x) gradient is its Fortran-ordered transpose
    operand(dW.T, typenum, n_a + n_x, 4 * n_a, "dW.T", &odW, True, True)
    cdef void *pdb = vector(db, typenum, 4 * n_a, "db")
    with nogil:
        run_backward(typenum, n_x, n_a, m, T, pda, ds, pg, pc, oc0.data, pcprev, pa, oa0,
                     paprev, ox, oW, odg.data, odab.data, block, pdx, oda0.data, odc0.data,
                     odW.data, odW.ld, pdb)


# --- the common case, checked in C ---------------------------------------------------

#: the gate weights and biases in the order of the packed W and b
cdef tuple WEIGHT_KEYS = ("Wf", "Wi", "Wc", "Wo")
cdef tuple BIAS_KEYS = ("bf", "bi", "bc", "bo")
#: the gradients of lstm_backward, in its dict's order (dx, da0 first, dc0 last)
cdef tuple GRADIENT_KEYS = ("dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo")


cdef object packed(dict parameters, tuple keys, int typenum, Py_ssize_t rows,
                   Py_ssize_t cols):
    """parameters[k] for the four keys stacked row-wise into a new C-ordered
    (4·rows, cols) array, if each is plain rows×cols (see ``_arrays.plain``); else None."""
    cdef Py_ssize_t k, nbytes = rows * cols * cnp.PyArray_DescrFromType(typenum).itemsize
    for key in keys:
        if not plain_matrix(parameters.get(key), typenum, rows, cols):
            return None
    out = new_matrix(typenum, 4 * rows, cols, 0)
    cdef char *dst = cnp.PyArray_BYTES(<cnp.ndarray>out)
    for k in range(4):
        memcpy(dst + k * nbytes, cnp.PyArray_DATA(<cnp.ndarray>parameters[keys[k]]), nbytes)
    return out


cdef object zeros_fortran(int typenum, Py_ssize_t rows, Py_ssize_t cols):
    """A new Fortran-ordered rows×cols array of zeros."""
    out = new_matrix(typenum, rows, cols, 1)
    memset(cnp.PyArray_DATA(<cnp.ndarray>out), 0, cnp.PyArray_NBYTES(<cnp.ndarray>out))
    return out


def lstm_forward_fast(x, a0, parameters, c0=None, bint one_step=False):
    """(a, c, y, gates, c0) of lstm_forward, or with one_step of lstm_cell_forward (T = 1),
    for inputs in the common form, else None; the c0 returned is the initial cell state
    used, Fortran-ordered (zeros when c0 is None).

    The common form: parameters a dict; x (n_x, m, T), or (n_x, m) with one_step, a0
    (n_a, m), its Wf, Wi, Wc, Wo (n_a, n_a+n_x), bf, bi, bc, bo (n_a, 1), Wy (n_y, n_a) and
    by (n_y, 1) plain (see ``_arrays.plain``) ndarrays of one dtype, float64 or float32,
    and c0 None or a C- or Fortran-contiguous (n_a, m) ndarray of that dtype; every size
    at least 1, and the packed gates' sizes (4·n_a, 4·n_a·T, n_a+n_x) within ``blas_int``.
    """
    cdef int typenum = plain_float_input(x, parameters, 2 if one_step else 3)
    if typenum < 0:
        return None
    cdef dict p = <dict>parameters
    Wy, by = p.get("Wy"), p.get("by")
    if not plain(a0, typenum, 2) or not plain(Wy, typenum, 2):
        return None
    cdef Py_ssize_t n_x = x.shape[0], m = x.shape[1], T = 1 if one_step else x.shape[2]
    cdef Py_ssize_t n_a = a0.shape[0], n_y = Wy.shape[0]
    if not (a0.shape[1] == m and Wy.shape[1] == n_a and plain_matrix(by, typenum, n_y, 1)
            and (c0 is None or contiguous_matrix(c0, typenum, n_a, m))
            and min(n_x, n_a, n_y, m, T) >= 1 and fits_blas(max(n_x, n_y, 4 * n_a, n_a + n_x))
            and fits_blas(m * T) and fits_blas(4 * n_a * T)):
        return None
    W = packed(p, WEIGHT_KEYS, typenum, n_a, n_a + n_x)
    b = packed(p, BIAS_KEYS, typenum, n_a, 1)
    if W is None or b is None:
        return None
    if c0 is None:
        c0 = zeros_fortran(typenum, n_a, m)
    elif not cnp.PyArray_IS_F_CONTIGUOUS(<cnp.ndarray>c0):
        c0 = cnp.PyArray_NewCopy(<cnp.ndarray>c0, cnp.NPY_FORTRANORDER)
    gates, a = new_sequence_of(typenum, 4 * n_a, m, T), new_sequence_of(typenum, n_a, m, T)
    c, y = new_sequence_of(typenum, n_a, m, T), new_sequence_of(typenum, n_y, m, T)
    cdef Operand ox, oa0, oW, oWy
    # C-ordered x (n_x, m, T) is the (n_x, m·T) matrix of the module's docstring
    ox.data, ox.ld, ox.trans, ox.flip = cnp.PyArray_DATA(<cnp.ndarray>x), m * T, c'T', c'N'
    operand(a0, typenum, n_a, m, "a0", &oa0, False, False)
    operand(W, typenum, 4 * n_a, n_a + n_x, "W", &oW, False, False)
    operand(Wy, typenum, n_y, n_a, "Wy", &oWy, False, False)
    run_forward(typenum, n_x, n_a, n_y, m, T, ox, oa0, cnp.PyArray_DATA(<cnp.ndarray>c0), oW,
                cnp.PyArray_DATA(<cnp.ndarray>b), oWy, cnp.PyArray_DATA(<cnp.ndarray>by),
                cnp.PyArray_DATA(<cnp.ndarray>gates), cnp.PyArray_DATA(<cnp.ndarray>a),
                cnp.PyArray_DATA(<cnp.ndarray>c), cnp.PyArray_DATA(<cnp.ndarray>y))
    return a, c, y, gates, c0


cdef tuple backward_gradients(int typenum, Py_ssize_t n_x, Py_ssize_t n_a, Py_ssize_t m,
                              Py_ssize_t T, void *da, Py_ssize_t *ds, object gates,
                              object c, object c0, object a, Operand a0, Operand x,
                              object W, object dc_last):
    """(dx, da0, dc0, dW, db) of the backward loop over checked arrays: gates, c and a in
    the kernels' layout, c0 Fortran-ordered, W packed and C-ordered, da read with the
    element strides ds; dc_last a Fortran-ordered (n_a, m) array of the last cell state's
    gradient, which becomes dc0, or None for zeros."""
    dtype = cnp.PyArray_DescrFromType(typenum)
    cdef Py_ssize_t block = 64 // dtype.itemsize  # the steps of da a cache line holds
    dgates = _work_space("dgates", (4 * n_a, m * T), dtype, "F")
    da_block = _work_space("da", (n_a, m * block), dtype, "F")
    dx = new_sequence_of(typenum, n_x, m, T)
    da0 = new_matrix(typenum, n_a, m, 1)
    dc0 = zeros_fortran(typenum, n_a, m) if dc_last is None else dc_last
    dW, db = new_matrix(typenum, 4 * n_a, n_a + n_x, 0), new_matrix(typenum, 4 * n_a, 1, 0)
    cdef Operand oW
    operand(W, typenum, 4 * n_a, n_a + n_x, "W", &oW, False, False)
    cdef void *pg = cnp.PyArray_DATA(<cnp.ndarray>gates)
    cdef void *pc = cnp.PyArray_DATA(<cnp.ndarray>c)
    cdef void *pc0 = cnp.PyArray_DATA(<cnp.ndarray>c0)
    cdef void *pa = cnp.PyArray_DATA(<cnp.ndarray>a)
    cdef void *pdg = cnp.PyArray_DATA(<cnp.ndarray>dgates)
    cdef void *pdab = cnp.PyArray_DATA(<cnp.ndarray>da_block)
    cdef void *pdx = cnp.PyArray_DATA(<cnp.ndarray>dx)
    cdef void *pda0 = cnp.PyArray_DATA(<cnp.ndarray>da0)
    cdef void *pdc0 = cnp.PyArray_DATA(<cnp.ndarray>dc0)
    cdef void *pdW = cnp.PyArray_DATA(<cnp.ndarray>dW)
    cdef void *pdb = cnp.PyArray_DATA(<cnp.ndarray>db)
    cdef blas_int ldw = n_a + n_x
    with nogil:
        run_backward(typenum, n_x, n_a, m, T, da, ds, pg, pc, pc0, NULL, pa, a0, NULL, x, oW,
                     pdg, pdab, block, pdx, pda0, pdc0, pdW, ldw, pdb)
    return dx, da0, dc0, dW, db


cdef dict gate_gradients(dict grads, object dW, object db, Py_ssize_t n_a):
    """grads with "dWf", "dbf", ... "dbo" added: the rows of the packed dW and db."""
    cdef Py_ssize_t k
    for k in range(4):
        grads[GRADIENT_KEYS[2 * k]] = dW[k * n_a:(k + 1) * n_a]
        grads[GRADIENT_KEYS[2 * k + 1]] = db[k * n_a:(k + 1) * n_a]
    return grads


def lstm_backward_fast(da, a, c, gates, x, a0, c0, parameters):
    """lstm_backward's gradients for crnn's caches in the common form, else None.

    Arguments:
    da -- upstream gradient of every state, (n_a, m, T)
    a, c, gates, x -- the states, cell states and gates (crnn's buffers) and the inputs of
                      the forward pass, for every step
    a0, c0 -- the states before step 0 (the first cache's a_prev and c_prev)
    parameters -- the dict of the forward pass

    The common form: da and x plain (see ``_arrays.plain``) ndarrays of a's dtype, da of
    a's shape; a, c and gates in the kernels' layout; a0 plain and c0 C- or
    Fortran-contiguous, (n_a, m); the four gate weights plain (n_a, n_a+n_x); every size
    at least 1 and within ``blas_int`` as for ``lstm_forward_fast``.
    """
    if not cnp.PyArray_Check(a) or type(parameters) is not dict:
        return None
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if not (in_layout(a, typenum) and in_layout(c, typenum) and in_layout(gates, typenum)
            and plain(da, typenum, 3) and plain(x, typenum, 3)):
        return None
    cdef Py_ssize_t n_a = a.shape[0], m = a.shape[1], T = a.shape[2], n_x = x.shape[0]
    if not (da.shape == a.shape and c.shape == a.shape and gates.shape == (4 * n_a, m, T)
            and x.shape[1] == m and x.shape[2] == T and plain_matrix(a0, typenum, n_a, m)
            and contiguous_matrix(c0, typenum, n_a, m) and min(n_x, n_a, m, T) >= 1
            and fits_blas(max(n_x, 4 * n_a, n_a + n_x)) and fits_blas(m * T)
            and fits_blas(4 * n_a * T)):
        return None
    W = packed(<dict>parameters, WEIGHT_KEYS, typenum, n_a, n_a + n_x)
    if W is None:
        return None
    cdef Operand oa0, ox
    operand(a0, typenum, n_a, m, "a0", &oa0, False, False)
    ox.data, ox.ld, ox.trans, ox.flip = cnp.PyArray_DATA(<cnp.ndarray>x), m * T, c'T', c'N'
    # C-ordered da (n_a, m, T): element strides m·T, T, 1
    cdef Py_ssize_t ds[3]
    ds[0], ds[1], ds[2] = m * T, T, 1
    dx, da0, dc0, dW, db = backward_gradients(
        typenum, n_x, n_a, m, T, cnp.PyArray_DATA(<cnp.ndarray>da), ds, gates, c,
        fortran_ordered(c0), a, oa0, ox, W, None)
    return gate_gradients({"dx": dx, "da0": da0}, dW, db, n_a) | {"dc0": dc0}


def lstm_cell_backward_fast(da_next, dc_next, cache):
    """lstm_cell_backward's gradients for arguments in the common form, else None.

    The common form: cache the 10-tuple of lstm_cell_forward (or a step of lstm_forward's
    caches) with a dict of parameters; its arrays, da_next and dc_next ndarrays of one
    dtype, float64 or float32, with agreeing shapes and any whole-element strides (those
    BLAS cannot read are copied, one step's worth); the four gate weights plain
    (n_a, n_a+n_x); every size at least 1 and within ``blas_int``.
    """
    if type(cache) is not tuple or len(<tuple>cache) != 10:
        return None
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters = cache
    if type(parameters) is not dict or not cnp.PyArray_CheckExact(a_next):
        return None
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>a_next)
    if ((typenum != cnp.NPY_DOUBLE and typenum != cnp.NPY_FLOAT)
            or cnp.PyArray_NDIM(<cnp.ndarray>a_next) != 2 or not cnp.PyArray_CheckExact(xt)
            or cnp.PyArray_NDIM(<cnp.ndarray>xt) != 2):
        return None
    cdef Py_ssize_t n_a = a_next.shape[0], m = a_next.shape[1], n_x = xt.shape[0]
    if not (strided_matrix(a_next, typenum, n_a, m) and strided_matrix(c_next, typenum, n_a, m)
            and strided_matrix(a_prev, typenum, n_a, m)
            and strided_matrix(c_prev, typenum, n_a, m) and strided_matrix(xt, typenum, n_x, m)
            and strided_matrix(da_next, typenum, n_a, m)
            and strided_matrix(dc_next, typenum, n_a, m)
            and strided_matrix(ft, typenum, n_a, m) and strided_matrix(it, typenum, n_a, m)
            and strided_matrix(cct, typenum, n_a, m) and strided_matrix(ot, typenum, n_a, m)
            and min(n_x, n_a, m) >= 1 and fits_blas(max(n_x, m, 4 * n_a, n_a + n_x))):
        return None
    W = packed(<dict>parameters, WEIGHT_KEYS, typenum, n_a, n_a + n_x)
    if W is None:
        return None
    # the four gates stacked into the (4n_a, m) block of one step in the kernels' layout
    gates = new_matrix(typenum, 4 * n_a, m, 1)
    cdef Py_ssize_t k, itemsize = cnp.PyArray_ITEMSIZE(<cnp.ndarray>a_next)
    cdef cnp.ndarray g
    for k, g in enumerate((ft, it, cct, ot)):
        copy_strided(typenum, cnp.PyArray_BYTES(<cnp.ndarray>gates) + k * n_a * itemsize,
                     4 * n_a, g, n_a, m)
    dc_last = new_matrix(typenum, n_a, m, 1)
    copy_strided(typenum, cnp.PyArray_BYTES(<cnp.ndarray>dc_last), n_a, dc_next, n_a, m)
    cdef Operand oa0, ox
    a_prev = a_prev if contiguous_matrix(a_prev, typenum, n_a, m) else fortran_ordered(a_prev)
    xt = xt if contiguous_matrix(xt, typenum, n_x, m) else fortran_ordered(xt)
    operand(a_prev, typenum, n_a, m, "a_prev", &oa0, False, False)
    operand(xt, typenum, n_x, m, "xt", &ox, False, False)
    cdef cnp.ndarray gda = <cnp.ndarray>da_next
    cdef Py_ssize_t ds[3]
    ds[0], ds[1], ds[2] = gda.strides[0] // itemsize, gda.strides[1] // itemsize, 0
    # one step: a Fortran-ordered c_next is the kernels' layout for T = 1; the states a
    # are read only from step 1 on (the recurrent part of dW), so any buffer of the
    # step's shape stands in for them
    c_t = fortran_ordered(c_next)
    dx, da_prev, dc_prev, dW, db = backward_gradients(
        typenum, n_x, n_a, m, 1, cnp.PyArray_DATA(gda), ds, gates, c_t,
        fortran_ordered(c_prev), c_t, oa0, ox, W, dc_last)
    grads = {"dxt": dx[:, :, 0], "da_prev": da_prev, "dc_prev": dc_prev}
    return gate_gradients(grads, dW, db, n_a)


cdef void copy_strided(int typenum, char *dst, Py_ssize_t ld, cnp.ndarray src, Py_ssize_t n,
                       Py_ssize_t m) noexcept:
    """dst (n×m, columns ld elements apart) = src, an (n, m) array of typenum with
    whole-element strides."""
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(src)
    cdef Py_ssize_t s0 = src.strides[0] // itemsize, s1 = src.strides[1] // itemsize
    if typenum == cnp.NPY_DOUBLE:
        gather_steps(<double *>dst, ld, <const double *>cnp.PyArray_DATA(src), s0, s1, 0, n,
                     m, 1)
    else:
        gather_steps(<float *>dst, ld, <const float *>cnp.PyArray_DATA(src), s0, s1, 0, n, m,
                     1)
