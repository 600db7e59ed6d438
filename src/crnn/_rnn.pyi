"""Types of the compiled module crnn._rnn (src/crnn/_rnn.pyx).

Every argument is a float32 or float64 array, all of one dtype (Cython's fused
``floating``); ``x``-like inputs and outputs are Fortran-ordered 2-D, weights C-ordered.
The kernels return nothing: they fill the output arrays they are given.
"""
from typing import TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

_F = TypeVar("_F", np.float32, np.float64)

#: True in a debug build (CRNN_DEBUG=1): Cython's bounds and initialisation checks are on.
DEBUG_BUILD: bool

# every array of one call has one dtype, float32 or float64
_A: TypeAlias = npt.NDArray[_F]

def rnn_forward_kernel(
    x: _A[_F], a0: _A[_F], Wax: _A[_F], Waa: _A[_F], ba: _A[_F], Wya: _A[_F], by: _A[_F],
    a: _A[_F], y: _A[_F],
) -> None: ...
def rnn_backward_kernel(
    da: _A[_F], a: _A[_F], a0: _A[_F], a_prev_rest: _A[_F], x: _A[_F], Wax: _A[_F],
    Waa: _A[_F], dz: _A[_F], dx: _A[_F], da0: _A[_F], dWax: _A[_F], dWaa: _A[_F],
    dba: _A[_F],
) -> None: ...
