"""Types of the compiled module crnn._rnn (src/crnn/_rnn.pyx).

The outputs (a, y; dz, dx, da0, dWax, dWaa, dba) set the dtype, float32 or float64, and
must have the layout each kernel documents; the inputs are read in place when they are
of that dtype, aligned and C- or Fortran-contiguous (da: any strides), else converted
once. The kernels return nothing: they fill the output arrays they are given.
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
    a: _A[_F], y: _A[_F], relu: bool = False,
) -> None: ...
def rnn_backward_kernel(
    da: _A[_F], a: _A[_F], a0: _A[_F], a_prev: _A[_F] | None, x: _A[_F], Wax: _A[_F],
    Waa: _A[_F], dz: _A[_F], dx: _A[_F], da0: _A[_F], dWax: _A[_F], dWaa: _A[_F],
    dba: _A[_F], relu: bool = False,
) -> None: ...

# the common case of rnn_forward and rnn_backward, recognised in C; None otherwise
def step_caches(
    a: _A[_F], a0: object, x: npt.NDArray[np.generic], parameters: object
) -> list[tuple[_A[_F], object, npt.NDArray[np.generic], object]]: ...
def rnn_forward_fast(
    x: object, a0: object, parameters: object, one_step: bool = False, relu: bool = False
) -> tuple[_A[np.float64], _A[np.float64]] | tuple[_A[np.float32], _A[np.float32]] | None: ...
def rnn_backward_fast(
    da: object, a: npt.NDArray[np.generic], a0: object, x: object, parameters: object,
    relu: bool = False,
) -> dict[str, _A[np.float64]] | dict[str, _A[np.float32]] | None: ...
def rnn_cell_backward_fast(
    da_next: object, cache: object
) -> dict[str, _A[np.float64]] | dict[str, _A[np.float32]] | None: ...
