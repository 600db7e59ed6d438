"""Types of the compiled module crnn._lstm (src/crnn/_lstm.pyx).

The outputs (gates, a, c, y; dgates, dx, da0, dc0, dW, db) set the dtype, float32 or
float64, and must have the layout each kernel documents; the inputs are read in place
when they are of that dtype, aligned and C- or Fortran-contiguous (da: any strides; the
sequences of the backward pass: the kernels' layout), else converted once. The kernels
return nothing: they fill the output arrays they are given. The fast functions take the
course's arguments in their common form (checked in C) and return the results, or None
for anything else.
"""
from typing import TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

_F = TypeVar("_F", np.float32, np.float64)

# every array of one call has one dtype, float32 or float64
_A: TypeAlias = npt.NDArray[_F]

def lstm_forward_kernel(
    x: _A[_F], a0: _A[_F], c0: _A[_F], W: _A[_F], b: _A[_F], Wy: _A[_F], by: _A[_F],
    gates: _A[_F], a: _A[_F], c: _A[_F], y: _A[_F],
) -> None: ...
def lstm_backward_kernel(
    da: _A[_F], gates: _A[_F], c: _A[_F], c0: _A[_F], c_prev: _A[_F] | None, a: _A[_F],
    a0: _A[_F], a_prev: _A[_F] | None, x: _A[_F], W: _A[_F], dgates: _A[_F],
    da_block: _A[_F], dx: _A[_F], da0: _A[_F], dc0: _A[_F], dW: _A[_F], db: _A[_F],
) -> None: ...
def lstm_forward_fast(
    x: object, a0: object, parameters: object, c0: object = None, one_step: bool = False
) -> (
    tuple[_A[np.float64], _A[np.float64], _A[np.float64], _A[np.float64], _A[np.float64]]
    | tuple[_A[np.float32], _A[np.float32], _A[np.float32], _A[np.float32], _A[np.float32]]
    | None
): ...
def lstm_backward_fast(
    da: object, a: npt.NDArray[np.generic], c: object, gates: object, x: object, a0: object,
    c0: object, parameters: object,
) -> dict[str, _A[np.float64]] | dict[str, _A[np.float32]] | None: ...
def lstm_cell_backward_fast(
    da_next: object, dc_next: object, cache: object
) -> dict[str, _A[np.float64]] | dict[str, _A[np.float32]] | None: ...
