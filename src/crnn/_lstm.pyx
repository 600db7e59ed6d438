# cython: language_level=3
"""The LSTM's entry points into the engine (``_engine.pyx``): forward and backward over a
whole sequence.

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
then run the engine's time loop in one ``with nogil:`` block with no Python object in it.
"""
cimport numpy as cnp
from libc.string cimport memcpy, memset

from crnn._arrays cimport (
    Operand, blas_ready, contiguous_matrix, fits_blas, fortran_ordered, in_layout,
    kernel_type, layout_ready, new_matrix, new_sequence_of, operand, plain, plain_float_input,
    plain_matrix, sequence, strided, strided_matrix, vector,
)
from crnn._blas cimport blas_int
from crnn._elementwise cimport gather_steps
from crnn._engine cimport LSTM, Backward, Forward, Recurrence
from crnn._engine cimport run_backward as engine_backward, run_forward as engine_forward

from crnn.memory import work_space as _work_space

cnp.import_array()


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
    """The engine's forward loop in the dtype typenum (NPY_DOUBLE or NPY_FLOAT) of the
    data, with the recurrent weights copied where that is faster
    (``untransposed_recurrent``): gates (4n_a×m·T), a, c (n_a×m·T) and y (n_y×m·T) in the
    kernels' layout from the packed W (4n_a×n_a+n_x) and b (4n_a), c0 Fortran-ordered."""
    work = untransposed_recurrent(typenum, W, n_a, m)
    cdef Recurrence r
    cdef Forward f
    describe(&r, typenum, n_x, n_a, m, T, x, a0, W)
    r.n_y, r.b, r.Wy, r.by = n_y, b, Wy, by
    f.gates, f.a, f.c, f.c0, f.y, f.aux, f.h = gates, a, c, c0, y, NULL, NULL
    f.wa_f = NULL if work is None else cnp.PyArray_DATA(<cnp.ndarray>work)
    with nogil:
        engine_forward(typenum, &r, &f)


cdef inline void describe(Recurrence *r, int typenum, blas_int n_x, blas_int n_a, blas_int m,
                          blas_int T, Operand x, Operand a0, Operand W) noexcept nogil:
    """r, the LSTM described for the engine: its packed W (4n_a×n_a+n_x) is Wa, its
    first n_a columns, then Wx, the rest."""
    cdef Py_ssize_t itemsize = sizeof(double) if typenum == cnp.NPY_DOUBLE else sizeof(float)
    memset(r, 0, sizeof(Recurrence))
    r.kind, r.n_x, r.n_a, r.m, r.T, r.rows, r.x, r.a0 = LSTM, n_x, n_a, m, T, 4 * n_a, x, a0
    r.Wa, r.Wx = W, W
    # W[:, n_a:] starts n_a elements into a C-ordered W, n_a columns of ld into a
    # Fortran-ordered one
    r.Wx.data = <char *>W.data + (n_a if W.trans == c'T' else n_a * <Py_ssize_t>W.ld) * itemsize


cdef inline void run_backward(int typenum, blas_int n_x, blas_int n_a, blas_int m,
                              blas_int T, void *da, Py_ssize_t *ds, void *gates, void *c,
                              void *c0, void *c_prev, void *a, Operand a0, void *a_prev,
                              Operand x, Operand W, void *dgates, void *da_block,
                              Py_ssize_t block, void *dx, void *da0, void *dc0, void *dW,
                              blas_int ldw, void *db) noexcept nogil:
    """The engine's backward loop in the dtype typenum (NPY_DOUBLE or NPY_FLOAT) of the
    data; ds holds da's three element strides, dW is C-ordered like the packed W with
    rows ldw apart."""
    cdef Recurrence r
    cdef Backward bk
    cdef Py_ssize_t itemsize = sizeof(double) if typenum == cnp.NPY_DOUBLE else sizeof(float)
    describe(&r, typenum, n_x, n_a, m, T, x, a0, W)
    memset(&bk, 0, sizeof(Backward))
    bk.da, bk.ds[0], bk.ds[1], bk.ds[2] = da, ds[0], ds[1], ds[2]
    bk.gates, bk.a, bk.c, bk.c0, bk.c_prev, bk.a_prev = gates, a, c, c0, c_prev, a_prev
    bk.dz, bk.da_block, bk.block, bk.dx, bk.da0, bk.dc0 = dgates, da_block, block, dx, da0, dc0
    bk.dWa, bk.dWx, bk.ld_wa, bk.ld_wx = dW, <char *>dW + n_a * itemsize, ldw, ldw
    bk.db = db
    engine_backward(typenum, &r, &bk)


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
