# cython: language_level=3
"""The vanilla RNN kernels: forward and backward over a whole sequence.

A sequence of T steps of (n, m) blocks is one column-major ``(n, m·T)`` matrix whose
column ``j·T + t`` is batch column j of step t: the order of numpy's C-order reshape
``arr.reshape(n, m*T)``. So the caller's C-ordered ``x`` (the course's layout) is that
matrix without a copy, read transposed by BLAS, and the weight gradients over all steps
are one gemm each. crnn's own buffers hold it with unit stride down a column: step t
is then the block starting at column t with columns ``n·T`` apart, which BLAS and the
C loops take as a leading dimension.

The Python layer (``crnn.rnn``) validates and allocates; the entry points here convert
an input only when BLAS cannot read it in place (``np.require``, once), check what they
are handed (dtype, alignment, layout, shapes) with numpy's C macros, then run the time
loop in one ``with nogil:`` block with no Python object in it. Arrays are taken as
ndarrays rather than typed memoryviews: acquiring a dozen memoryviews costs more than
the whole course-sized computation.
"""
cimport numpy as cnp
from cython cimport floating

from crnn._arrays cimport (
    Operand, blas_ready, kernel_type, layout_ready, operand, sequence, strided, vector,
)
from crnn._blas cimport blas_int, gemm
from crnn._elementwise cimport bias_softmax, bias_tanh, tanh_grad
from crnn._sequence cimport weight_gradients

cnp.import_array()


# --- the time loops ------------------------------------------------------------------

cdef void forward_loop(blas_int n_x, blas_int n_a, blas_int n_y, blas_int m, blas_int T,
                       Operand x, Operand a0, Operand Wax, Operand Waa,
                       const floating *ba, Operand Wya, const floating *by,
                       floating *a, floating *y) noexcept nogil:
    """a_t = tanh(Waa·a_{t-1} + Wax·x_t + ba);  y_t = softmax(Wya·a_t + by).

    a (n_a×m·T) and y (n_y×m·T) are crnn's buffers: step t starts at column t, its
    columns n·T apart.
    """
    cdef blas_int mT = m * T
    cdef blas_int ld_step = n_a * T
    cdef Py_ssize_t t
    cdef const floating *a_prev = <const floating *>a0.data
    cdef blas_int ld_prev = a0.ld
    cdef char op_prev = a0.trans
    cdef floating *a_t
    if n_a > 0:
        # A (n_a×m·T) = Wax (n_a×n_x) · X (n_x×m·T): the input part of every step at once
        gemm(Wax.trans, x.trans, n_a, mT, n_x, 1, <const floating *>Wax.data, Wax.ld,
             <const floating *>x.data, x.ld, 0, a, n_a)
        for t in range(T):
            a_t = a + t * <Py_ssize_t>n_a
            # a_t (n_a×m) += Waa (n_a×n_a) · a_prev (n_a×m)
            gemm(Waa.trans, op_prev, n_a, m, n_a, 1, <const floating *>Waa.data, Waa.ld,
                 a_prev, ld_prev, 1, a_t, ld_step)
            bias_tanh(a_t, ba, n_a, m, ld_step)
            a_prev, ld_prev, op_prev = a_t, ld_step, c'N'
    # Y (n_y×m·T) = Wya (n_y×n_a) · A (n_a×m·T), then a softmax per column
    gemm(Wya.trans, c'N', n_y, mT, n_a, 1, <const floating *>Wya.data, Wya.ld, a, n_a,
         0, y, n_y)
    bias_softmax(y, by, n_y, mT)


cdef void backward_loop(blas_int n_x, blas_int n_a, blas_int m, blas_int T,
                        const floating *da, Py_ssize_t ds0, Py_ssize_t ds1, Py_ssize_t ds2,
                        const floating *a, Operand a0, const floating *a_prev,
                        Operand x, Operand Wax, Operand Waa,
                        floating *dz, floating *dx, floating *da0,
                        floating *dWax, floating *dWaa, floating *dba) noexcept nogil:
    """Back through the sequence: dz_t is the gradient of step t's pre-activation.

    dz_t = (da_t + Waa.T·dz_{t+1}) * (1 - a_t²), and the weight gradients are sums
    over steps, each one product over the whole sequence. da is read with its own
    element strides; a, a_prev (NULL: a0 then a shifted by one step), dz and dx are
    crnn's buffers. Needs n_a, m, T >= 1.
    """
    cdef blas_int mT = m * T
    cdef blas_int ld_step = n_a * T
    cdef Py_ssize_t t = T - 1
    tanh_grad(dz + t * n_a, da + t * ds2, ds0, ds1, a + t * n_a, n_a, m, ld_step, 0)
    for t in range(T - 2, -1, -1):
        # dz_t (n_a×m) = Waa.T (n_a×n_a) · dz_{t+1} (n_a×m), the flow into a_t
        gemm(Waa.flip, c'N', n_a, m, n_a, 1, <const floating *>Waa.data, Waa.ld,
             dz + (t + 1) * n_a, ld_step, 0, dz + t * n_a, ld_step)
        tanh_grad(dz + t * n_a, da + t * ds2, ds0, ds1, a + t * n_a, n_a, m, ld_step, 1)
    # da0 (n_a×m) = Waa.T (n_a×n_a) · dz_0 (n_a×m)
    gemm(Waa.flip, c'N', n_a, m, n_a, 1, <const floating *>Waa.data, Waa.ld, dz, ld_step,
         0, da0, n_a)
    # dX (n_x×m·T) = Wax.T (n_x×n_a) · dZ (n_a×m·T)
    gemm(Wax.flip, c'N', n_x, mT, n_a, 1, <const floating *>Wax.data, Wax.ld, dz, n_a,
         0, dx, n_x)
    # dWax, dWaa and dba: C-ordered (n_a, n) gradients are their column-major transposes
    weight_gradients(n_x, n_a, n_a, m, T, x, a, a0, a_prev, dz, dWax, n_x, dWaa, n_a, dba)


# --- entry points: arrays in, pointers to the loops ----------------------------------

def rnn_forward_kernel(x, a0, Wax, Waa, ba, Wya, by, a, y):
    """Fill ``a`` (n_a, m, T) and ``y`` (n_y, m, T) from ``x`` (n_x, m·T) and ``a0``.

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
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            forward_loop[double](n_x, n_a, n_y, m, T, ox, oa0, oWax, oWaa, <double *>pba,
                                 oWya, <double *>pby, <double *>pa, <double *>py)
        else:
            forward_loop[float](n_x, n_a, n_y, m, T, ox, oa0, oWax, oWaa, <float *>pba,
                                oWya, <float *>pby, <float *>pa, <float *>py)


def rnn_backward_kernel(da, a, a0, a_prev, x, Wax, Waa, dz, dx, da0, dWax, dWaa, dba):
    """Fill the gradients from ``da`` (n_a, m, T) and the forward's states.

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
        if typenum == cnp.NPY_DOUBLE:
            backward_loop[double](n_x, n_a, m, T, <double *>pda, ds[0], ds[1], ds[2],
                                  <double *>pa, oa0, <double *>pprev, ox, oWax, oWaa,
                                  <double *>odz.data, <double *>pdx, <double *>oda0.data,
                                  <double *>odWax.data, <double *>odWaa.data,
                                  <double *>pdba)
        else:
            backward_loop[float](n_x, n_a, m, T, <float *>pda, ds[0], ds[1], ds[2],
                                 <float *>pa, oa0, <float *>pprev, ox, oWax, oWaa,
                                 <float *>odz.data, <float *>pdx, <float *>oda0.data,
                                 <float *>odWax.data, <float *>odWaa.data, <float *>pdba)


cdef extern from *:
    """
    #ifndef CRNN_DEBUG
    #define CRNN_DEBUG 0
    #endif
    """
    const int CRNN_DEBUG

#: True in a debug build (CRNN_DEBUG=1): Cython's bounds and initialisation checks are on.
DEBUG_BUILD = bool(CRNN_DEBUG)
