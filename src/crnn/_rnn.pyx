# cython: language_level=3
"""The vanilla RNN's entry points into the engine (``_engine.pyx``): forward and backward
over a whole sequence.

A sequence of T steps of (n, m) blocks is one column-major ``(n, m·T)`` matrix whose
column ``j·T + t`` is batch column j of step t: the order of numpy's C-order reshape
``arr.reshape(n, m*T)``. So the caller's C-ordered ``x`` (the course's layout) is that
matrix without a copy, read transposed by BLAS, and the weight gradients over all steps
are one gemm each. crnn's own buffers hold it with unit stride down a column: step t
is then the block starting at column t with columns ``n·T`` apart, which BLAS and the
C loops take as a leading dimension.

The Python layer (``crnn.rnn``) validates and allocates; the entry points here convert
an input only when BLAS cannot read it in place (``np.require``, once), check what they
are handed (dtype, alignment, layout, shapes) with numpy's C macros, then run the
engine's time loop in one ``with nogil:`` block with no Python object in it. Arrays are taken as
ndarrays rather than typed memoryviews: acquiring a dozen memoryviews costs more than
the whole course-sized computation.
"""
import numpy as np

cimport numpy as cnp
from libc.string cimport memset

from crnn._arrays cimport (
    Operand, blas_ready, contiguous_matrix, fits_blas, fortran_ordered, in_layout,
    kernel_type, layout_ready, new_matrix, new_sequence_of, operand, plain, plain_float_input,
    plain_matrix, sequence, strided, strided_matrix, vector,
)
from crnn._blas cimport blas_int
from crnn._engine cimport RNN_RELU, RNN_TANH, Backward, Forward, Recurrence
from crnn._engine cimport run_backward as engine_backward, run_forward as engine_forward

cnp.import_array()


# --- the engine's loops, for the RNN ---------------------------------------------------

cdef inline void describe(Recurrence *r, blas_int n_x, blas_int n_a, blas_int m, blas_int T,
                          Operand x, Operand a0, Operand Wax, Operand Waa,
                          bint relu) noexcept nogil:
    """r, the RNN described for the engine: one gate, Wx = Wax and Wa = Waa."""
    memset(r, 0, sizeof(Recurrence))
    r.kind = RNN_RELU if relu else RNN_TANH
    r.n_x, r.n_a, r.m, r.T, r.rows = n_x, n_a, m, T, n_a
    r.x, r.a0, r.Wx, r.Wa = x, a0, Wax, Waa


cdef object untransposed_waa(int typenum, Operand Waa, Py_ssize_t n_a, Py_ssize_t m):
    """Work space for the forward loop to copy a C-ordered Waa into Fortran order, where
    that makes the per-step products faster; else None.

    OpenBLAS's kernels for small products (64×16×64 here: 2.7 µs against 4.0 µs in
    float64, 1.2 against 2.6 in float32) are much faster on an untransposed A, and in
    float64 its packed products stay a few percent faster at every size measured; in
    float32 the transposed one is up to 8% faster from n_a = 512 on
    (``python -m crnn bench`` times both for its floor). The copy costs n_a² elements
    once per sequence.
    """
    if Waa.trans != c'T' or (typenum == cnp.NPY_FLOAT and n_a * n_a * m > 2**22):
        return None
    return new_matrix(typenum, n_a, n_a, 1)


cdef inline void run_forward(int typenum, blas_int n_x, blas_int n_a, blas_int n_y,
                             blas_int m, blas_int T, Operand x, Operand a0, Operand Wax,
                             Operand Waa, const void *ba, Operand Wya, const void *by,
                             void *a, void *y, void *waa_f, bint relu) noexcept nogil:
    """The engine's forward loop: a (n_a×m·T) and y (n_y×m·T) in the kernels' layout;
    waa_f, unless NULL, (n_a×n_a) work space for a Fortran-ordered copy of a C-ordered
    Waa (see ``untransposed_waa``)."""
    cdef Recurrence r
    cdef Forward f
    describe(&r, n_x, n_a, m, T, x, a0, Wax, Waa, relu)
    r.n_y, r.b, r.Wy, r.by = n_y, ba, Wya, by
    memset(&f, 0, sizeof(Forward))
    f.gates, f.a, f.y, f.wa_f = a, a, y, waa_f  # the RNN's gate is its state
    engine_forward(typenum, &r, &f)


cdef inline void run_backward(int typenum, blas_int n_x, blas_int n_a, blas_int m,
                              blas_int T, const void *da, Py_ssize_t ds0, Py_ssize_t ds1,
                              Py_ssize_t ds2, const void *a, Operand a0, const void *a_prev,
                              Operand x, Operand Wax, Operand Waa, void *dz, void *dx,
                              void *da0, void *dWax, void *dWaa, void *dba,
                              bint relu) noexcept nogil:
    """The engine's backward loop: dz (n_a×m·T) is work space, dx (n_x×m·T) in the
    kernels' layout, da0 (n_a×m) Fortran-ordered, dWax and dWaa C-ordered, dba (n_a).
    The RNN's gate gradient dz_t is computed in place from da_t, so da is gathered into
    dz itself, every step at once (one pass over da is faster than a few steps at a
    time here)."""
    cdef Recurrence r
    cdef Backward bk
    describe(&r, n_x, n_a, m, T, x, a0, Wax, Waa, relu)
    memset(&bk, 0, sizeof(Backward))
    bk.da, bk.ds[0], bk.ds[1], bk.ds[2] = da, ds0, ds1, ds2
    bk.gates, bk.a, bk.a_prev = a, a, a_prev
    bk.dz, bk.da_block, bk.block, bk.dx, bk.da0 = dz, dz, T, dx, da0
    bk.dWx, bk.ld_wx, bk.dWa, bk.ld_wa, bk.db = dWax, n_x, dWaa, n_a, dba
    engine_backward(typenum, &r, &bk)


# --- entry points: arrays in, pointers to the loops ----------------------------------

def rnn_forward_kernel(x, a0, Wax, Waa, ba, Wya, by, a, y, bint relu=False):
    """Fill ``a`` (n_a, m, T) and ``y`` (n_y, m, T) from ``x`` (n_x, m·T) and ``a0``;
    the activation is tanh, or relu with ``relu``.

    a and y, in the kernels' layout, set the dtype (float64 or float32). The inputs are
    read in place when they are aligned, of that dtype and C- or Fortran-contiguous,
    else converted once. Biases are 1-D. Sizes are checked by the caller to fit
    ``blas_int``; m, T, n_y >= 1.
    """
    cdef int typenum = kernel_type(a)
    cdef Py_ssize_t n_a = a.shape[0], m = a.shape[1], T = a.shape[2], n_y = y.shape[0]
    cdef Py_ssize_t n_x = x.shape[0], mT = m * T
    if min(m, T, n_y) < 1:
        raise ValueError(f"a {a.shape} and y {y.shape} must have m, T, n_y >= 1")
    cdef Operand ox, oa0, oWax, oWaa, oWya
    x, a0, Wax = blas_ready(x, typenum), blas_ready(a0, typenum), blas_ready(Wax, typenum)
    Waa, Wya = blas_ready(Waa, typenum), blas_ready(Wya, typenum)
    ba, by = blas_ready(ba, typenum), blas_ready(by, typenum)
    operand(x, typenum, n_x, mT, "x", &ox, False, False)
    operand(a0, typenum, n_a, m, "a0", &oa0, False, False)
    operand(Wax, typenum, n_a, n_x, "Wax", &oWax, False, False)
    operand(Waa, typenum, n_a, n_a, "Waa", &oWaa, False, False)
    operand(Wya, typenum, n_y, n_a, "Wya", &oWya, False, False)
    cdef void *pba = vector(ba, typenum, n_a, "ba")
    cdef void *pby = vector(by, typenum, n_y, "by")
    cdef void *pa = sequence(a, typenum, n_a, m, T, "a", True)
    cdef void *py = sequence(y, typenum, n_y, m, T, "y", True)
    work = untransposed_waa(typenum, oWaa, n_a, m)
    cdef void *pwork = NULL if work is None else cnp.PyArray_DATA(<cnp.ndarray>work)
    with nogil:
        run_forward(typenum, n_x, n_a, n_y, m, T, ox, oa0, oWax, oWaa, pba, oWya, pby, pa, py,
                    pwork, relu)


def rnn_backward_kernel(da, a, a0, a_prev, x, Wax, Waa, dz, dx, da0, dWax, dWaa, dba,
                        bint relu=False):
    """Fill the gradients from ``da`` (n_a, m, T) and the forward's states (of a tanh
    RNN, or a relu one with ``relu``).

    ``a`` (n_a, m, T) holds a_t of every step; ``a_prev`` is None when the state before
    step t is a0 for t = 0 and a_{t-1} after, else the (n_a, m, T) states before every
    step; ``x`` is (n_x, m·T). The inputs are read in place when they can be (da with any
    strides, a and a_prev in the kernels' layout, the others C- or Fortran-contiguous),
    else converted once. ``dz`` is (n_a, m·T) Fortran-ordered work space, and sets the
    dtype; dx (n_x, m, T) is in the kernels' layout, da0 (n_a, m) Fortran-ordered, dWax
    and dWaa C-ordered, dba 1-D. Sizes are checked by the caller to fit ``blas_int``;
    n_a, m, T >= 1.
    """
    cdef int typenum = kernel_type(dz)
    cdef Py_ssize_t dims[3]
    cdef Py_ssize_t ds[3]
    cdef void *pda
    da = strided(da, typenum, "da", dims, ds, &pda)
    cdef Py_ssize_t n_a = dims[0], m = dims[1], T = dims[2], n_x = x.shape[0], mT = m * T
    cdef Operand oa0, ox, oWax, oWaa, odz, oda0, odWax, odWaa
    a, a0, x = layout_ready(a, typenum), blas_ready(a0, typenum), blas_ready(x, typenum)
    Wax, Waa = blas_ready(Wax, typenum), blas_ready(Waa, typenum)
    cdef void *pa = sequence(a, typenum, n_a, m, T, "a", False)
    cdef void *pprev = NULL
    if a_prev is not None:
        a_prev = layout_ready(a_prev, typenum)
        pprev = sequence(a_prev, typenum, n_a, m, T, "a_prev", False)
    operand(a0, typenum, n_a, m, "a0", &oa0, False, False)
    operand(x, typenum, n_x, mT, "x", &ox, False, False)
    operand(Wax, typenum, n_a, n_x, "Wax", &oWax, False, False)
    operand(Waa, typenum, n_a, n_a, "Waa", &oWaa, False, False)
    operand(dz, typenum, n_a, mT, "dz", &odz, True, True)
    cdef void *pdx = sequence(dx, typenum, n_x, m, T, "dx", True)
    operand(da0, typenum, n_a, m, "da0", &oda0, True, True)
    # C-ordered (n_a, n_x) gradients are their Fortran-ordered transposes
    operand(dWax.T, typenum, n_x, n_a, "dWax.T", &odWax, True, True)
    operand(dWaa.T, typenum, n_a, n_a, "dWaa.T", &odWaa, True, True)
    cdef void *pdba = vector(dba, typenum, n_a, "dba")
    with nogil:
        run_backward(typenum, n_x, n_a, m, T, pda, ds[0], ds[1], ds[2], pa, oa0, pprev, ox,
                     oWax, oWaa, odz.data, pdx, oda0.data, odWax.data, odWaa.data, pdba,
                     relu)


# --- fast paths: the common case of rnn_forward and rnn_backward, checked in C -------
#
# At the course's sizes a whole call takes tens of microseconds, most of them spent in
# crnn.rnn's Python checks. The common case (plain ndarrays of one float dtype,
# C-ordered, of sizes that agree) is recognised here in C and run without conversion;
# anything else gets None, and crnn.rnn's checks take over and name what is wrong.

def step_caches(a, a0, x, parameters):
    """The cell caches (a_next, a_prev, xt, parameters) of every step of rnn_forward.

    Arguments:
    a -- the states, (n_a, m, T), crnn's buffer
    a0 -- the initial state the caller gave, itself the a_prev of step 0
    x -- the inputs the caller gave, an ndarray (n_x, m, T) of any strides
    parameters -- the caller's dict

    Returns:
    caches -- list of T tuples holding views a[:, :, t], a[:, :, t-1] (a0 for t = 0),
              x[:, :, t] and parameters itself, as the course's loop makes them
    """
    cdef Py_ssize_t t, T = a.shape[2]
    cdef list caches = []
    cdef object a_prev = a0, a_t
    for t in range(T):
        a_t = step_view(a, t)
        caches.append((a_t, a_prev, step_view(x, t), parameters))
        a_prev = a_t
    return caches


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


def rnn_forward_fast(x, a0, parameters, bint one_step=False, bint relu=False):
    """(a, y) of rnn_forward, or with one_step of rnn_cell_forward (T = 1), for inputs in
    the common form, else None.

    The common form: parameters a dict; x (n_x, m, T), or (n_x, m) with one_step, a0 (n_a, m), its
    Wax (n_a, n_x), Waa (n_a, n_a), Wya (n_y, n_a), ba (n_a, 1) and by (n_y, 1) plain
    (see ``plain``) ndarrays of one dtype, float64 or float32; every size at least 1
    and within ``blas_int``.
    """
    cdef int typenum = plain_float_input(x, parameters, 2 if one_step else 3)
    if typenum < 0:
        return None
    cdef dict p = <dict>parameters
    Wax, Waa, Wya = p.get("Wax"), p.get("Waa"), p.get("Wya")
    ba, by = p.get("ba"), p.get("by")
    cdef Py_ssize_t n_x = x.shape[0], m = x.shape[1]
    cdef Py_ssize_t T = 1 if one_step else x.shape[2]
    if not plain(a0, typenum, 2) or not plain(Wya, typenum, 2):
        return None
    cdef Py_ssize_t n_a = a0.shape[0], n_y = Wya.shape[0]
    if not (a0.shape[1] == m and plain_matrix(Wax, typenum, n_a, n_x)
            and plain_matrix(Waa, typenum, n_a, n_a) and Wya.shape[1] == n_a
            and plain_matrix(ba, typenum, n_a, 1) and plain_matrix(by, typenum, n_y, 1)
            and min(n_x, n_a, n_y, m, T) >= 1
            and fits_blas(max(n_x, n_a, n_y)) and fits_blas(m * T) and fits_blas(n_a * T)):
        return None
    cdef Operand ox, oa0, oWax, oWaa, oWya
    # C-ordered x (n_x, m, T) is the (n_x, m·T) matrix of the module's docstring
    ox.data, ox.ld, ox.trans, ox.flip = cnp.PyArray_DATA(<cnp.ndarray>x), m * T, c'T', c'N'
    operand(a0, typenum, n_a, m, "a0", &oa0, False, False)
    operand(Wax, typenum, n_a, n_x, "Wax", &oWax, False, False)
    operand(Waa, typenum, n_a, n_a, "Waa", &oWaa, False, False)
    operand(Wya, typenum, n_y, n_a, "Wya", &oWya, False, False)
    cdef void *pba = cnp.PyArray_DATA(<cnp.ndarray>ba)
    cdef void *pby = cnp.PyArray_DATA(<cnp.ndarray>by)
    a = new_sequence_of(typenum, n_a, m, T)
    y = new_sequence_of(typenum, n_y, m, T)
    cdef void *pa = cnp.PyArray_DATA(<cnp.ndarray>a)
    cdef void *py = cnp.PyArray_DATA(<cnp.ndarray>y)
    work = untransposed_waa(typenum, oWaa, n_a, m)
    cdef void *pwork = NULL if work is None else cnp.PyArray_DATA(<cnp.ndarray>work)
    with nogil:
        run_forward(typenum, n_x, n_a, n_y, m, T, ox, oa0, oWax, oWaa, pba, oWya, pby, pa, py,
                    pwork, relu)
    return a, y


def rnn_backward_fast(da, a, a0, x, parameters, bint relu=False):
    """rnn_backward's gradients for inputs in the common form, else None.

    Arguments:
    da -- upstream gradient of every state, (n_a, m, T)
    a, a0, x -- the states (crnn's buffer), initial state and inputs of the forward
                pass, for every step
    parameters -- the dict of the forward pass

    The common form: da, a0, x and the parameters' Wax and Waa plain (see ``plain``)
    ndarrays of a's dtype, da of a's shape; every size at least 1.
    """
    if not cnp.PyArray_Check(a) or type(parameters) is not dict:
        return None
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if not (in_layout(a, typenum) and plain(da, typenum, 3) and plain(x, typenum, 3)):
        return None
    cdef Py_ssize_t n_a = a.shape[0], m = a.shape[1], T = a.shape[2], n_x = x.shape[0]
    cdef dict p = <dict>parameters
    Wax, Waa = p.get("Wax"), p.get("Waa")
    if not (da.shape == a.shape and x.shape[1] == m and x.shape[2] == T
            and plain_matrix(a0, typenum, n_a, m) and plain_matrix(Wax, typenum, n_a, n_x)
            and plain_matrix(Waa, typenum, n_a, n_a) and min(n_x, n_a, m, T) >= 1
            and fits_blas(max(n_x, n_a)) and fits_blas(m * T) and fits_blas(n_a * T)):
        return None
    cdef Operand oa0, ox, oWax, oWaa
    operand(a0, typenum, n_a, m, "a0", &oa0, False, False)
    ox.data, ox.ld, ox.trans, ox.flip = cnp.PyArray_DATA(<cnp.ndarray>x), m * T, c'T', c'N'
    operand(Wax, typenum, n_a, n_x, "Wax", &oWax, False, False)
    operand(Waa, typenum, n_a, n_a, "Waa", &oWaa, False, False)
    # C-ordered da (n_a, m, T): element strides m·T, T, 1
    dx, da0, dWax, dWaa, dba = backward_gradients(typenum, n_x, n_a, m, T, da, m * T, T, 1,
                                                  a, oa0, ox, oWax, oWaa, relu)
    return {"dx": dx, "da0": da0, "dWax": dWax, "dWaa": dWaa, "dba": dba}


cdef tuple backward_gradients(int typenum, Py_ssize_t n_x, Py_ssize_t n_a, Py_ssize_t m,
                              Py_ssize_t T, object da, Py_ssize_t ds0, Py_ssize_t ds1,
                              Py_ssize_t ds2, object a, Operand a0, Operand x, Operand Wax,
                              Operand Waa, bint relu):
    """Allocate the gradients and run the backward loop, the state before each step
    being a0 then a shifted by one step; for the fast paths, whose arguments are checked.

    Returns:
    dx (n_x, m, T) in the kernels' layout, da0 (n_a, m), dWax (n_a, n_x),
    dWaa (n_a, n_a), dba (n_a, 1)
    """
    dz = new_matrix(typenum, n_a, m * T, 1)
    dx = new_sequence_of(typenum, n_x, m, T)
    da0 = new_matrix(typenum, n_a, m, 1)
    dWax, dWaa = new_matrix(typenum, n_a, n_x, 0), new_matrix(typenum, n_a, n_a, 0)
    dba = new_matrix(typenum, n_a, 1, 0)
    cdef void *pda = cnp.PyArray_DATA(<cnp.ndarray>da)
    cdef void *pa = cnp.PyArray_DATA(<cnp.ndarray>a)
    cdef void *pdz = cnp.PyArray_DATA(<cnp.ndarray>dz)
    cdef void *pdx = cnp.PyArray_DATA(<cnp.ndarray>dx)
    cdef void *pda0 = cnp.PyArray_DATA(<cnp.ndarray>da0)
    cdef void *pdWax = cnp.PyArray_DATA(<cnp.ndarray>dWax)
    cdef void *pdWaa = cnp.PyArray_DATA(<cnp.ndarray>dWaa)
    cdef void *pdba = cnp.PyArray_DATA(<cnp.ndarray>dba)
    with nogil:
        run_backward(typenum, n_x, n_a, m, T, pda, ds0, ds1, ds2, pa, a0, NULL, x, Wax, Waa,
                     pdz, pdx, pda0, pdWax, pdWaa, pdba, relu)
    return dx, da0, dWax, dWaa, dba


def rnn_cell_backward_fast(da_next, cache):
    """rnn_cell_backward's gradients for arguments in the common form, else None.

    The common form: cache the 4-tuple of rnn_cell_forward (or a step of rnn_forward's
    caches); a_next, a_prev, xt and da_next ndarrays of one dtype, float64 or float32,
    with agreeing shapes and any whole-element strides (a step da[:, :, t] of the course's
    loop, say; those BLAS or the loop cannot read are copied, one step's worth); the
    parameters' Wax and Waa C- or Fortran-contiguous; every size at least 1.
    """
    if type(cache) is not tuple or len(<tuple>cache) != 4:
        return None
    a_next, a_prev, xt, parameters = cache
    if type(parameters) is not dict or not cnp.PyArray_CheckExact(a_next):
        return None
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>a_next)
    # the dimensions before the shapes: with bounds checks off, reading a size past an
    # array's last dimension reads past its shape
    if (cnp.PyArray_NDIM(<cnp.ndarray>a_next) != 2 or not cnp.PyArray_CheckExact(xt)
            or cnp.PyArray_NDIM(<cnp.ndarray>xt) != 2):
        return None
    cdef Py_ssize_t n_a = a_next.shape[0], m = a_next.shape[1], n_x = xt.shape[0]
    cdef dict p = <dict>parameters
    Wax, Waa = p.get("Wax"), p.get("Waa")
    if not ((typenum == cnp.NPY_DOUBLE or typenum == cnp.NPY_FLOAT)
            and strided_matrix(a_next, typenum, n_a, m)
            and strided_matrix(da_next, typenum, n_a, m)
            and strided_matrix(a_prev, typenum, n_a, m)
            and strided_matrix(xt, typenum, n_x, m)
            and contiguous_matrix(Wax, typenum, n_a, n_x)
            and contiguous_matrix(Waa, typenum, n_a, n_a)
            and min(n_x, n_a, m) >= 1 and fits_blas(max(n_x, n_a, m))):
        return None
    cdef Operand oa0, ox, oWax, oWaa
    a_prev = a_prev if contiguous_matrix(a_prev, typenum, n_a, m) else fortran_ordered(a_prev)
    xt = xt if contiguous_matrix(xt, typenum, n_x, m) else fortran_ordered(xt)
    operand(a_prev, typenum, n_a, m, "a_prev", &oa0, False, False)
    operand(xt, typenum, n_x, m, "xt", &ox, False, False)
    operand(Wax, typenum, n_a, n_x, "Wax", &oWax, False, False)
    operand(Waa, typenum, n_a, n_a, "Waa", &oWaa, False, False)
    cdef cnp.ndarray gda = <cnp.ndarray>da_next
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(gda)
    cdef Py_ssize_t ds0 = gda.strides[0] // itemsize, ds1 = gda.strides[1] // itemsize
    # one step: a Fortran-ordered a_next is the kernels' layout for T = 1
    dx, da0, dWax, dWaa, dba = backward_gradients(typenum, n_x, n_a, m, 1, da_next, ds0, ds1,
                                                  0, fortran_ordered(a_next), oa0, ox, oWax,
                                                  oWaa, False)
    return {"dxt": step_view(dx, 0), "da_prev": da0, "dWax": dWax, "dWaa": dWaa, "dba": dba}


cdef extern from *:
    """
    #ifndef CRNN_DEBUG
    #define CRNN_DEBUG 0
    #endif
    """
    const int CRNN_DEBUG

#: True in a debug build (CRNN_DEBUG=1): Cython's bounds and initialisation checks are on.
DEBUG_BUILD = bool(CRNN_DEBUG)
