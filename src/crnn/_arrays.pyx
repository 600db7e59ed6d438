# cython: language_level=3
"""The kernels' checks of the arrays they are handed (see ``_arrays.pxd``)."""
import numpy as np

cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_New

cnp.import_array()


# --- operands: an ndarray as a column-major matrix -----------------------------------

cdef int operand(object arr, int typenum, Py_ssize_t rows, Py_ssize_t cols, str name,
                 Operand *out, bint writable, bint fortran_only) except -1:
    """Check arr (a 2-D aligned ndarray of typenum, rows×cols, C- or Fortran-contiguous)
    and describe it for BLAS; ValueError or TypeError otherwise."""
    cdef cnp.ndarray a = checked(arr, typenum, 2, name, writable)
    if a.shape[0] != rows or a.shape[1] != cols:
        raise ValueError(f"{name} must have shape ({rows}, {cols}), got {arr.shape}")
    out.data = cnp.PyArray_DATA(a)
    if cnp.PyArray_IS_F_CONTIGUOUS(a):
        out.ld, out.trans, out.flip = max(rows, 1), c'N', c'T'
    elif cnp.PyArray_IS_C_CONTIGUOUS(a) and not fortran_only:
        out.ld, out.trans, out.flip = max(cols, 1), c'T', c'N'
    else:
        raise ValueError(f"{name} must be {'Fortran' if fortran_only else 'C or Fortran'}"
                         "-contiguous")
    return 0


cdef void *vector(object arr, int typenum, Py_ssize_t n, str name) except NULL:
    """The data of arr, a contiguous aligned 1-D ndarray of typenum and length n."""
    cdef cnp.ndarray a = checked(arr, typenum, 1, name, False)
    if a.shape[0] != n or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"{name} must be contiguous of shape ({n},), got {arr.shape}")
    return cnp.PyArray_DATA(a)


cdef cnp.ndarray checked(object arr, int typenum, int ndim, str name, bint writable):
    """arr as an ndarray, if it has ndim dimensions, dtype typenum, and is aligned
    (and writable if asked); TypeError or ValueError otherwise."""
    if not cnp.PyArray_Check(arr):
        raise TypeError(f"{name} must be a numpy array, got {type(arr).__name__}")
    cdef cnp.ndarray a = <cnp.ndarray>arr
    if cnp.PyArray_TYPE(a) != typenum or not cnp.PyArray_ISALIGNED(a) or (
        writable and not cnp.PyArray_ISWRITEABLE(a)
    ):
        raise TypeError(f"{name} must be an aligned{' writable' if writable else ''} "
                        f"array of the kernel's dtype, got {arr.dtype}")
    if cnp.PyArray_NDIM(a) != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    return a


cdef int kernel_type(object arr) except -1:
    """NPY_DOUBLE or NPY_FLOAT, the dtype of the output arr that selects the kernel."""
    if cnp.PyArray_Check(arr):
        typenum = cnp.PyArray_TYPE(<cnp.ndarray>arr)
        if typenum == cnp.NPY_DOUBLE or typenum == cnp.NPY_FLOAT:
            return typenum
    raise TypeError(f"the kernels compute in float64 or float32 arrays, got {type(arr)}")


cdef inline object dtype_of(int typenum):
    return np.float64 if typenum == cnp.NPY_DOUBLE else np.float32


cdef inline bint of_type(object arr, int typenum):
    return (cnp.PyArray_Check(arr) and cnp.PyArray_TYPE(<cnp.ndarray>arr) == typenum
            and cnp.PyArray_ISALIGNED(<cnp.ndarray>arr))


cdef object aligned_ready(object arr, int typenum):
    """arr itself if it is an aligned ndarray of typenum (any strides), else a copy."""
    return arr if of_type(arr, typenum) else np.require(arr, dtype_of(typenum), "A")


# --- sequences: (n, m, T) arrays -----------------------------------------------------

cdef bint in_layout(object seq, int typenum):
    """Whether seq is an aligned (n, m, T) ndarray of typenum in the kernels' layout:
    strides (1, n·T, n) elements (any stride along a dimension of size 1)."""
    if not of_type(seq, typenum) or cnp.PyArray_NDIM(<cnp.ndarray>seq) != 3:
        return False
    cdef cnp.ndarray a = <cnp.ndarray>seq
    cdef Py_ssize_t n = a.shape[0], m = a.shape[1], T = a.shape[2]
    cdef Py_ssize_t s = cnp.PyArray_ITEMSIZE(a)
    return ((n <= 1 or a.strides[0] == s) and (T <= 1 or a.strides[2] == s * n)
            and (m <= 1 or a.strides[1] == s * n * T))


cdef object layout_ready(object seq, int typenum):
    """seq (n, m, T) itself if it is in the kernels' layout, else a copy into it."""
    if in_layout(seq, typenum):
        return seq
    return np.require(seq.transpose(1, 2, 0), dtype_of(typenum), ("C", "A")).transpose(2, 0, 1)


cdef void *sequence(object seq, int typenum, Py_ssize_t n, Py_ssize_t m, Py_ssize_t T,
                    str name, bint writable) except NULL:
    """The data of seq, an (n, m, T) array in the kernels' layout (the (n, m·T) matrix
    of ``_arrays.pxd``); TypeError or ValueError otherwise."""
    cdef cnp.ndarray a = checked(seq, typenum, 3, name, writable)
    if a.shape[0] != n or a.shape[1] != m or a.shape[2] != T or not in_layout(seq, typenum):
        raise ValueError(f"{name} must be ({n}, {m}, {T}) in the kernels' layout, got "
                         f"shape {seq.shape} and strides {seq.strides}")
    return cnp.PyArray_DATA(a)


cdef object strided(object arr, int typenum, str name, Py_ssize_t *shape,
                    Py_ssize_t *strides, void **data):
    """arr as an aligned 3-D ndarray of typenum with any strides (itself if it is one, else
    a copy) of which no dimension is empty: ``shape`` receives its shape, ``strides`` its
    strides in elements and ``data`` its data; TypeError or ValueError otherwise."""
    arr = aligned_ready(arr, typenum)
    cdef cnp.ndarray a = checked(arr, typenum, 3, name, False)
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(a), k
    for k in range(3):
        shape[k] = a.shape[k]
        strides[k] = a.strides[k] // itemsize
        if strides[k] * itemsize != a.strides[k]:
            raise ValueError(f"{name} must have whole-element strides, got {arr.strides}")
    if min(shape[0], shape[1], shape[2]) < 1:
        raise ValueError(f"{name} {arr.shape} must be non-empty")
    data[0] = cnp.PyArray_DATA(a)
    return arr


# --- new arrays: large ones in the memory of crnn's pool --------------------------------

cdef extern from *:
    """
    #include "crnn_memory.h"
    static PyDataMem_Handler crnn_pool_handler = {
        "crnn_pool", 1,
        {NULL, crnn_pool_malloc, crnn_pool_calloc, crnn_pool_realloc, crnn_pool_free}
    };
    """
    cnp.PyDataMem_Handler crnn_pool_handler
    const size_t CRNN_POOL_MIN_BYTES
    size_t crnn_pool_bytes() noexcept nogil
    size_t crnn_pool_blocks() noexcept nogil
    size_t crnn_pool_limit() noexcept nogil
    size_t crnn_pool_set_limit(size_t limit) noexcept nogil
    size_t crnn_pool_release() noexcept nogil
    int crnn_pool_init() noexcept nogil

# numpy's memory handler (NEP 49) of crnn's pool: an array made while it is set keeps it,
# and numpy hands the array's memory back to it when the array is freed
cdef object POOL_HANDLER = PyCapsule_New(&crnn_pool_handler, "mem_handler", NULL)
if crnn_pool_init() != 0:
    raise OSError("crnn's memory pool could not register its fork handlers")


cdef cnp.ndarray new_array(int nd, cnp.npy_intp *dims, int typenum, int fortran):
    """An empty array (``PyArray_EMPTY``); one of CRNN_POOL_MIN_BYTES or more is made in
    the memory of crnn's pool (``csrc/crnn_memory.h``), which keeps it when it is freed
    for the next such array: a training loop's arrays then reuse memory that is paged in
    already, rather than fresh pages the system zeroes at every step."""
    cdef Py_ssize_t nbytes = cnp.PyArray_DescrFromType(typenum).itemsize
    cdef int k
    for k in range(nd):
        nbytes *= dims[k]
    if nbytes < <Py_ssize_t>CRNN_POOL_MIN_BYTES:
        return cnp.PyArray_EMPTY(nd, dims, typenum, fortran)
    former = cnp.PyDataMem_SetHandler(POOL_HANDLER)
    try:
        return cnp.PyArray_EMPTY(nd, dims, typenum, fortran)
    finally:
        cnp.PyDataMem_SetHandler(former)


cdef cnp.ndarray new_matrix(int typenum, Py_ssize_t rows, Py_ssize_t cols, int fortran):
    """An empty (rows, cols) array of typenum, Fortran-ordered if fortran (``new_array``)."""
    cdef cnp.npy_intp dims[2]
    dims[0], dims[1] = rows, cols
    return new_array(2, dims, typenum, fortran)


cdef cnp.ndarray new_sequence_of(int typenum, Py_ssize_t n, Py_ssize_t m, Py_ssize_t T):
    """An empty (n, m, T) array of typenum in the kernels' layout (``new_array``)."""
    cdef cnp.npy_intp dims[3]
    cdef cnp.npy_intp perm[3]
    dims[0], dims[1], dims[2] = m, T, n
    perm[0], perm[1], perm[2] = 2, 0, 1
    cdef cnp.PyArray_Dims order
    order.ptr, order.len = perm, 3
    # an (m, T, n) C-ordered buffer, transposed: its C-order reshape to (n, m·T) is a
    # Fortran-ordered view, step t starting at column t
    return cnp.PyArray_Transpose(new_array(3, dims, typenum, 0), &order)


def new_sequence(n, m, T, dtype):
    """An empty (n, m, T) array of dtype (float32 or float64) in the kernels' layout."""
    return new_sequence_of(np.dtype(dtype).num, n, m, T)


def as_sequence(seq, dtype):
    """seq, an (n, m, T) ndarray, in the kernels' layout and dtype (float32 or float64):
    itself if it is, else a copy."""
    return layout_ready(seq, np.dtype(dtype).num)


def pool_info():
    """(bytes, blocks, limit): what crnn's memory pool keeps now, and the most it keeps."""
    return crnn_pool_bytes(), crnn_pool_blocks(), crnn_pool_limit()


def pool_set_limit(size_t limit):
    """Keep at most limit bytes in crnn's memory pool, giving back what is above it;
    returns the former limit."""
    return crnn_pool_set_limit(limit)


def pool_release():
    """Give every block crnn's memory pool keeps back to the system; returns their bytes."""
    return crnn_pool_release()
