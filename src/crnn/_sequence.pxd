# cython: language_level=3
"""What the RNN's and the LSTM's backward passes share: the weight gradients, each one
product over the whole sequence (``_arrays.pxd`` gives the layout).

An inline function, compiled into each kernel that cimports it.
"""
from cython cimport floating
from libc.string cimport memset

from crnn._arrays cimport Operand
from crnn._blas cimport blas_int, gemm
from crnn._elementwise cimport row_sums


cdef inline void weight_gradients(blas_int n_x, blas_int n_a, blas_int G, blas_int m,
                                  blas_int T, Operand x, const floating *a, Operand a0,
                                  const floating *a_prev, floating *dz, floating *dWx,
                                  blas_int ldx, floating *dWa, blas_int lda,
                                  floating *db) noexcept nogil:
    """The gradients of the weights Wx (G×n_x) and Wa (G×n_a) and of the bias b (G) of
    z_t = Wx·x_t + Wa·a_{t-1} + b, summed over the steps, from dZ (G×m·T, Fortran-ordered),
    the gradient of every z_t.

    x is the input (n_x×m·T), a crnn's buffer of the states a_t (n_a×m·T), a0 the state
    before step 0, and a_prev the states before every step, or NULL when they are a0 then
    a shifted by one step. dWx and dWa are C-ordered, rows ldx and lda apart (their
    column-major transposes); db is contiguous. dZ's step-0 columns are zeroed when
    a_prev is NULL. Needs n_a, m, T >= 1.
    """
    cdef blas_int mT = m * T
    cdef Py_ssize_t j
    # dWx.T (n_x×G) = X (n_x×m·T) · dZ.T (m·T×G)
    gemm(x.trans, c'T', n_x, G, mT, 1, <const floating *>x.data, x.ld, dz, G, 0, dWx, ldx)
    # db (G) = dZ (G×m·T) summed over its columns
    row_sums(dz, G, mT, db)
    if a_prev != NULL:
        # dWa.T (n_a×G) = A_prev (n_a×m·T) · dZ.T (m·T×G)
        gemm(c'N', c'T', n_a, G, mT, 1, a_prev, n_a, dz, G, 0, dWa, lda)
        return
    # dWa.T (n_a×G) = a0 (n_a×m) · dz_0.T (m×G); dz_0's columns are G·T apart
    gemm(a0.trans, c'T', n_a, G, m, 1, <const floating *>a0.data, a0.ld, dz, G * T,
         0, dWa, lda)
    if T > 1:
        # column k of A pairs with column k+1 of dZ: a_{t-1} with dz_t, except where
        # k+1 is step 0 of the next batch column; those dz_0 (used above) become zeros
        for j in range(m):
            memset(dz + j * <Py_ssize_t>G * T, 0, G * sizeof(floating))
        # dWa.T (n_a×G) += A (n_a×m·T-1) · dZ[:, 1:].T (m·T-1×G)
        gemm(c'N', c'T', n_a, G, mT - 1, 1, a, n_a, dz + G, G, 1, dWa, lda)
