"""Types of crnn's LSTM functions (src/crnn/lstm.py).

Inputs are anything numpy turns into an array; results are float32 when every input is
float32, float64 otherwise. Caches hold the arguments themselves, as in the course.
"""
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]

_Array: TypeAlias = npt.NDArray[np.floating[Any]]
_Parameters: TypeAlias = Mapping[str, npt.ArrayLike]
# (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
_CellCache: TypeAlias = tuple[
    _Array, _Array, Any, Any, _Array, _Array, _Array, _Array, Any, _Parameters
]
# (list of the T_x cell caches, x)
_Caches: TypeAlias = tuple[list[_CellCache], Any]

def lstm_cell_forward(
    xt: npt.ArrayLike, a_prev: npt.ArrayLike, c_prev: npt.ArrayLike, parameters: _Parameters
) -> tuple[_Array, _Array, _Array, _CellCache]: ...
def lstm_forward(
    x: npt.ArrayLike, a0: npt.ArrayLike, parameters: _Parameters, *, c0: npt.ArrayLike | None = None,
    lengths: npt.ArrayLike | None = None, reverse: bool = False,
) -> tuple[_Array, _Array, _Array, _Caches]: ...
def lstm_cell_backward(
    da_next: npt.ArrayLike, dc_next: npt.ArrayLike, cache: _CellCache
) -> dict[str, _Array]: ...
def lstm_backward(da: npt.ArrayLike, caches: _Caches) -> dict[str, _Array]: ...
