"""The output layer the course's backward functions leave out: logits = Wya·a + by.

The states of every step are one column-major (n_a, m·T) matrix, viewed without a copy
in the order of their columns: numpy's C order for the cells' ``a`` (the layout of
``crnn._arrays``), Fortran order for a Fortran-ordered ``a``. The logits and ``da`` are
made in that same layout, so each product over all steps is a single BLAS call; nothing
loops over time. The products go to scipy's BLAS, the library the cells' kernels call:
numpy's matmul would use numpy's own BLAS, whose threads then spin beside the kernels'
on the same cores. For the LSTM the weight is called "Wy" (``weight="Wy"``).
"""

import numpy as np
from scipy.linalg import blas

from crnn._validate import as_array, bias, check_parameters, compute_dtype, weight

__all__ = ["output_layer_forward", "output_layer_backward"]


def _order(a):
    """The order of a's columns: "F" for a Fortran-ordered a, else "C" (the cells'
    states, whose C-order reshape to (n_a, m·T) is a view)."""
    return "F" if a.flags.f_contiguous else "C"


def _columns(arr, dtype, order):
    """arr (n, ...) as the matrix (n, prod(...)), its columns in order; a view when arr
    is of dtype and in that layout."""
    return arr.astype(dtype, copy=False).reshape(arr.shape[0], -1, order=order)


def _empty(n, rest, dtype, order):
    """An empty (n, *rest) array whose reshape to (n, prod(rest)) in order is a
    Fortran-ordered view: Fortran order, or for "C" the layout of the cells' states."""
    if order == "F":
        return np.empty((n, *rest), dtype, order="F")
    return np.moveaxis(np.empty((*rest, n), dtype), -1, 0)


def _operand(matrix, transpose=False):
    """(array, trans) that scipy's gemm reads as matrix (or its transpose, with
    transpose) without a copy: a Fortran-ordered array, and whether gemm transposes it."""
    if transpose:
        matrix = matrix.T
    if matrix.flags.f_contiguous:
        return matrix, False
    if matrix.flags.c_contiguous:
        return matrix.T, True
    return np.asfortranarray(matrix), False


def _gemm(a, b, out, transpose_a=False, transpose_b=False):
    """out (Fortran-ordered) = op(a) · op(b), in scipy's BLAS; op transposes with
    transpose_a, transpose_b."""
    a, trans_a = _operand(a, transpose_a)
    b, trans_b = _operand(b, transpose_b)
    gemm = blas.dgemm if out.dtype == np.float64 else blas.sgemm
    result = gemm(1.0, a, b, 0.0, out, trans_a, trans_b, overwrite_c=True)
    if result is not out:  # not written in place: cannot happen for a Fortran-ordered out
        out[...] = result


def _weights(parameters, weight_key, a_name, a):
    check_parameters(parameters)
    W = weight(parameters, weight_key, "(n_y, n_a)")
    if a.ndim < 1 or W.shape[1] != a.shape[0]:
        raise ValueError(
            f'{weight_key} must be (n_y, n_a): parameters["{weight_key}"] has shape {W.shape} '
            f"but {a_name} has shape {a.shape}"
        )
    return W


def output_layer_forward(a, parameters, weight="Wya"):
    """The logits of every step: Wya·a_t + by.

    Arguments:
    a -- hidden states, of shape (n_a, m, T) (or (n_a, m) for one state per example)
    parameters -- dict holding weight (n_y, n_a) and "by" (n_y, 1)
    weight -- the key of the output weight: "Wya" (RNN) or "Wy" (LSTM)

    Returns:
    logits -- of shape (n_y, m, T) (or (n_y, m)), in the layout of a's columns
    """
    a = as_array("a", a)
    W = _weights(parameters, weight, "a", a)
    n_y = W.shape[0]
    by = bias(parameters, "by", n_y)
    dtype = compute_dtype(a, W, by)
    order = _order(a)
    z = _empty(n_y, a.shape[1:], dtype, order)
    z2 = z.reshape(n_y, -1, order=order)
    # Z (n_y×m·T) = W (n_y×n_a) · A (n_a×m·T)
    _gemm(W.astype(dtype, copy=False), _columns(a, dtype, order), z2)
    z2 += by.astype(dtype, copy=False)[:, None]
    return z


def output_layer_backward(dlogits, a, parameters, weight="Wya"):
    """Gradients of the output layer's weights and of the states it read.

    Arguments:
    dlogits -- gradient of the loss with respect to the logits, (n_y, m, T) (or (n_y, m))
    a -- the states the logits were computed from, (n_a, m, T) (or (n_a, m))
    parameters -- dict holding weight (n_y, n_a) and "by" (n_y, 1)
    weight -- the key of the output weight: "Wya" (RNN) or "Wy" (LSTM)

    Returns:
    gradients -- dict with "d" + weight (n_y, n_a), "dby" (n_y, 1), and "da" of the
                 shape of a, the upstream gradient for rnn_backward
    """
    a = as_array("a", a)
    dz = as_array("dlogits", dlogits)
    W = _weights(parameters, weight, "a", a)
    n_y = W.shape[0]
    if dz.shape != (n_y, *a.shape[1:]):
        raise ValueError(
            f"dlogits must have shape (n_y, ...) = {(n_y, *a.shape[1:])} to match "
            f'parameters["{weight}"] {W.shape} and a {a.shape}, got shape {dz.shape}'
        )
    dtype = compute_dtype(dz, a, W)
    order = _order(a)
    dz2 = _columns(dz, dtype, order)
    a2 = _columns(a, dtype, order)
    W = W.astype(dtype, copy=False)
    da = _empty(a.shape[0], a.shape[1:], dtype, order)
    # dA (n_a×m·T) = W.T (n_a×n_y) · dZ (n_y×m·T)
    _gemm(W, dz2, da.reshape(a.shape[0], -1, order=order), transpose_a=True)
    dW = np.empty((n_y, a.shape[0]), dtype)
    # dW.T (n_a×n_y) = A (n_a×m·T) · dZ.T (m·T×n_y): dW C-ordered, as the weights are
    _gemm(a2, dz2, dW.T, transpose_b=True)
    return {"d" + weight: dW, "dby": dz2.sum(axis=1, keepdims=True), "da": da}
