"""Types of the compiled module crnn._rnn (src/crnn/_rnn.pyx).

Every argument is a float32 or float64 array, all of one dtype (Cython's fused
``floating``); ``x``-like inputs and outputs are Fortran-ordered 2-D, weights C-ordered.
The kernels return nothing: they fill the output arrays they are given.
"""
from typing import TypeVar

import numpy as np
import numpy.typing as npt

_F = TypeVar("_F", np.float32, np.float64)

#: True in a debug build (CRNN_DEBUG=1): Cython's bounds and initialisation checks are on.
DEBUG_BUILD: bool

def rnn_forward_kernel(
    x: npt.NDArray[_F],
    a0: npt.NDArray[_F],
    Wax: npt.NDArray[_F],
    Waa: npt.NDArray[_F],
    ba: npt.NDArray[_F],
    Wya: npt.NDArray[_F],
    by: npt.NDArray[_F],
    a: npt.NDArray[_F],
    y: npt.NDArray[_F],
) -> None: ...
def rnn_backward_kernel(
    da: npt.NDArray[_F],
    a: npt.NDArray[_F],
    a0: npt.NDArray[_F],
    a_prev_rest: npt.NDArray[_F],
    x: npt.NDArray[_F],
    Wax: npt.NDArray[_F],
    Waa: npt.NDArray[_F],
    dz: npt.NDArray[_F],
    dx: npt.NDArray[_F],
    da0: npt.NDArray[_F],
    dWax: npt.NDArray[_F],
    dWaa: npt.NDArray[_F],
    dba: npt.NDArray[_F],
) -> None: ...
