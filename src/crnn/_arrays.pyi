"""Types of the compiled module crnn._arrays (src/crnn/_arrays.pyx).

Its checks of the kernels' arrays are C functions that crnn._engine cimports
(src/crnn/_arrays.pxd); its Python functions make the kernels' large arrays (in the
memory of crnn's pool, csrc/crnn_memory.h) and manage that pool.
"""

from typing import TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

_F = TypeVar("_F", np.float32, np.float64)
_A: TypeAlias = npt.NDArray[_F]

def new_sequence(n: int, m: int, T: int, dtype: type[_F] | np.dtype[_F]) -> _A[_F]: ...
def as_sequence(seq: npt.NDArray[np.generic], dtype: type[_F] | np.dtype[_F]) -> _A[_F]: ...
def pool_info() -> tuple[int, int, int]: ...
def pool_set_limit(limit: int) -> int: ...
def pool_release() -> int: ...
