"""Types of the compiled module crnn._arrays (src/crnn/_arrays.pyx).

Its checks of the kernels' arrays are C functions that crnn._rnn and crnn._lstm cimport
(src/crnn/_arrays.pxd); its one Python function makes the kernels' sequences.
"""
from typing import TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

_F = TypeVar("_F", np.float32, np.float64)
_A: TypeAlias = npt.NDArray[_F]

def new_sequence(n: int, m: int, T: int, dtype: type[_F] | np.dtype[_F]) -> _A[_F]: ...
