# cython: language_level=3
"""Time BLAS alone: one gemm shape, called many times with the GIL released.

``crnn.bench`` uses it for the GEMM-bound floor: the rate scipy's BLAS (the one crnn's
kernels call) reaches on each shape the RNN needs, without Python's call overhead,
which would dominate the tiny shapes.
"""
from cython cimport floating
from libc.stdint cimport int64_t

from crnn._blas cimport blas_int, gemm
from crnn._validate import BLAS_INT_MAX as _BLAS_INT_MAX


def repeat_gemm(str trans_a, str trans_b, floating[::1, :] a, floating[::1, :] b,
                floating[::1, :] c, int64_t count):
    """C = op(A) · op(B), count times, column-major, as crnn's kernels call it.

    Arguments:
    trans_a, trans_b -- "N" or "T": whether A and B are read as their transposes
    a, b -- Fortran-ordered operands; op(A) is (M, K) and op(B) is (K, N)
    c -- Fortran-ordered (M, N) output, overwritten
    count -- number of calls

    Raises ValueError if the shapes do not make a product.
    """
    if trans_a not in ("N", "T") or trans_b not in ("N", "T"):
        raise ValueError(f'trans_a and trans_b must be "N" or "T", got {trans_a!r}, {trans_b!r}')
    cdef Py_ssize_t M = c.shape[0], N = c.shape[1]
    cdef Py_ssize_t am = a.shape[1] if trans_a == "T" else a.shape[0]
    cdef Py_ssize_t K = a.shape[0] if trans_a == "T" else a.shape[1]
    cdef Py_ssize_t bk = b.shape[1] if trans_b == "T" else b.shape[0]
    cdef Py_ssize_t bn = b.shape[0] if trans_b == "T" else b.shape[1]
    if am != M or bn != N or bk != K or min(M, N, K) < 1 or max(M, N, K) > _BLAS_INT_MAX:
        raise ValueError(
            f"op(a) {am}x{K} times op(b) {bk}x{bn} does not make c {M}x{N} "
            f"(sizes from 1 to {_BLAS_INT_MAX})"
        )
    cdef char ta = ord(trans_a[0]), tb = ord(trans_b[0])
    cdef int64_t _i
    with nogil:
        for _i in range(count):
            gemm(ta, tb, <blas_int>M, <blas_int>N, <blas_int>K, 1, &a[0, 0],
                 <blas_int>a.shape[0], &b[0, 0], <blas_int>b.shape[0], 0, &c[0, 0],
                 <blas_int>M)
