"""Types of the compiled module crnn._engine (src/crnn/_engine.pyx).

The outputs (gates, aux, a, y; dx, da0, dW, db, dbca) set the dtype, float32 or
float64, and must have the layout each kernel documents; every input must have that
dtype (da: any strides). The kernels return nothing: they fill the output arrays they
are given.
"""
from typing import TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

_F = TypeVar("_F", np.float32, np.float64)

# every array of one call has one dtype, float32 or float64
_A: TypeAlias = npt.NDArray[_F]

def gru_forward_kernel(
    x: _A[_F], a0: _A[_F], W: _A[_F], b: _A[_F], bca: _A[_F] | None, Wy: _A[_F],
    by: _A[_F], gates: _A[_F], aux: _A[_F], a: _A[_F], y: _A[_F],
) -> None: ...
def gru_backward_kernel(
    da: _A[_F], gates: _A[_F], aux: _A[_F], p: _A[_F], x: _A[_F], W: _A[_F], after: bool,
    dx: _A[_F], da0: _A[_F], dW: _A[_F], db: _A[_F], dbca: _A[_F] | None,
) -> None: ...
