# cython: language_level=3
"""The kernels' checks of the arrays they are handed, for the engine's entry points.

Entry points take ndarrays rather than typed memoryviews (acquiring a dozen memoryviews
costs more than a course-sized computation), convert an input only when BLAS cannot read
it in place, and check the rest with numpy's C macros (``_arrays.pyx``).

The sequence layout: a sequence of T steps of (n, m) blocks is one column-major
``(n, m·T)`` matrix whose column ``j·T + t`` is batch column j of step t, the order of
numpy's C-order reshape ``arr.reshape(n, m*T)``. crnn's own buffers hold it with unit
stride down a column, as ``np.empty((m, T, n)).transpose(2, 0, 1)``: step t is then the
block starting at column t with columns ``n·T`` apart.
"""
cimport numpy as cnp

from crnn._blas cimport blas_int


cdef struct Operand:
    # a matrix M (rows×cols) in memory: op(data) = M with op given by ``trans``
    void *data
    blas_int ld
    char trans      # 'N': Fortran-ordered, M itself; 'T': C-ordered, read as Mᵀ's transpose
    char flip       # the op that reads Mᵀ instead


cdef int operand(object arr, int typenum, Py_ssize_t rows, Py_ssize_t cols, str name,
                 Operand *out, bint writable, bint fortran_only) except -1
cdef void *vector(object arr, int typenum, Py_ssize_t n, str name) except NULL
cdef int kernel_type(object arr) except -1
cdef bint in_layout(object seq, int typenum)
cdef cnp.ndarray new_matrix(int typenum, Py_ssize_t rows, Py_ssize_t cols, int fortran)
cdef cnp.ndarray new_sequence_of(int typenum, Py_ssize_t n, Py_ssize_t m, Py_ssize_t T)
cdef object layout_ready(object seq, int typenum)
cdef void *sequence(object seq, int typenum, Py_ssize_t n, Py_ssize_t m, Py_ssize_t T,
                    str name, bint writable) except NULL
cdef object strided(object arr, int typenum, str name, Py_ssize_t *shape,
                    Py_ssize_t *strides, void **data)


# --- the common case's checks, inline for the engine's recognisers ------------------------

cdef inline bint plain(object arr, int typenum, int ndim) noexcept:
    """Whether arr is an ndarray (not a subclass) of typenum with ndim dimensions,
    aligned and C-contiguous."""
    if not cnp.PyArray_CheckExact(arr):
        return False
    cdef cnp.ndarray a = <cnp.ndarray>arr
    return (cnp.PyArray_TYPE(a) == typenum and cnp.PyArray_NDIM(a) == ndim
            and cnp.PyArray_ISALIGNED(a) and cnp.PyArray_IS_C_CONTIGUOUS(a))


cdef inline int plain_float_input(object x, object parameters, int ndim) noexcept:
    """The type (NPY_DOUBLE or NPY_FLOAT) of a fast path's x when x is plain (see
    ``plain``) with ndim dimensions and parameters is a dict; else -1."""
    if type(parameters) is not dict or not cnp.PyArray_CheckExact(x):
        return -1
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>x)
    if (typenum != cnp.NPY_DOUBLE and typenum != cnp.NPY_FLOAT) or not plain(
            x, typenum, ndim):
        return -1
    return typenum


cdef inline bint plain_matrix(object arr, int typenum, Py_ssize_t rows,
                              Py_ssize_t cols) noexcept:
    """Whether arr is plain (see ``plain``), 2-D and rows×cols."""
    return (plain(arr, typenum, 2) and cnp.PyArray_DIM(<cnp.ndarray>arr, 0) == rows
            and cnp.PyArray_DIM(<cnp.ndarray>arr, 1) == cols)


cdef inline bint fits_blas(Py_ssize_t size) noexcept:
    return size <= 2147483647


cdef inline bint contiguous_matrix(object arr, int typenum, Py_ssize_t rows,
                                   Py_ssize_t cols) noexcept:
    """Whether arr is an ndarray (not a subclass) of typenum, rows×cols, aligned, and C-
    or Fortran-contiguous: a matrix ``operand`` takes as it is."""
    if not cnp.PyArray_CheckExact(arr):
        return False
    cdef cnp.ndarray a = <cnp.ndarray>arr
    return (cnp.PyArray_TYPE(a) == typenum and cnp.PyArray_NDIM(a) == 2
            and cnp.PyArray_DIM(a, 0) == rows and cnp.PyArray_DIM(a, 1) == cols
            and cnp.PyArray_ISALIGNED(a)
            and (cnp.PyArray_IS_C_CONTIGUOUS(a) or cnp.PyArray_IS_F_CONTIGUOUS(a)))


cdef inline bint strided_matrix(object arr, int typenum, Py_ssize_t rows,
                                Py_ssize_t cols) noexcept:
    """Whether arr is an ndarray (not a subclass) of typenum, rows×cols and aligned, with
    strides of whole elements: a matrix the backward loop reads with its own strides."""
    if not cnp.PyArray_CheckExact(arr):
        return False
    cdef cnp.ndarray a = <cnp.ndarray>arr
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(a)
    return (cnp.PyArray_TYPE(a) == typenum and cnp.PyArray_NDIM(a) == 2
            and cnp.PyArray_DIM(a, 0) == rows and cnp.PyArray_DIM(a, 1) == cols
            and cnp.PyArray_ISALIGNED(a)
            and a.strides[0] % itemsize == 0 and a.strides[1] % itemsize == 0)


cdef inline object fortran_ordered(object arr):
    """arr (an ndarray of any strides) itself if it is Fortran-contiguous, else a
    Fortran-ordered copy."""
    if cnp.PyArray_IS_F_CONTIGUOUS(<cnp.ndarray>arr):
        return arr
    return cnp.PyArray_NewCopy(<cnp.ndarray>arr, cnp.NPY_FORTRANORDER)
