# cython: language_level=3
"""BLAS for crnn's kernels, through the function pointers scipy hands over.

One small wrapper per BLAS routine over Cython's fused ``floating`` type, in the manner
of scikit-learn's ``_cython_blas``. BLAS is column-major, and so are all of crnn's
kernel buffers: a C-ordered ``(r, c)`` weight matrix is read as its column-major
transpose ``(c, r)`` with leading dimension ``c``, so ``trans_a=c'T'`` applies it.

Sizes are ``blas_int``. Callers check, with the GIL held and before any allocation,
that every size fits (``crnn._validate.BLAS_INT_MAX``); a change to a 64-bit BLAS
integer is the one line below.
"""
from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm

ctypedef int blas_int


cdef inline void gemm(char trans_a, char trans_b, blas_int m, blas_int n, blas_int k,
                      floating alpha, const floating *a, blas_int lda,
                      const floating *b, blas_int ldb,
                      floating beta, floating *c, blas_int ldc) noexcept nogil:
    """C (m×n) = alpha · op(A) (m×k) · op(B) (k×n) + beta · C, column-major.

    Empty products call no BLAS: with m or n zero there is nothing to write; with k
    zero, C = beta · C (set to zeros, not scaled, when beta is zero, so that memory
    from ``np.empty`` is never read). Pointers of empty operands are never touched.
    """
    cdef Py_ssize_t i, j
    cdef floating *col
    if m == 0 or n == 0:
        return
    if k == 0:
        # C (m×n) = beta · C; the columns of C are ldc apart
        for j in range(n):
            col = c + j * <Py_ssize_t>ldc
            for i in range(m):
                col[i] = 0 if beta == 0 else beta * col[i]
        return
    if floating is double:
        dgemm(&trans_a, &trans_b, &m, &n, &k, &alpha, <double *>a, &lda,
              <double *>b, &ldb, &beta, c, &ldc)
    else:
        sgemm(&trans_a, &trans_b, &m, &n, &k, &alpha, <float *>a, &lda,
              <float *>b, &ldb, &beta, c, &ldc)
