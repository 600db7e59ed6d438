"""Types of crnn's vanilla RNN functions (src/crnn/rnn.py).

Inputs are anything numpy turns into an array; results are float32 when every input is
float32, float64 otherwise. Caches hold the arguments themselves, as in the course.
"""
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward"]

_Array: TypeAlias = npt.NDArray[np.floating[Any]]
_Parameters: TypeAlias = Mapping[str, npt.ArrayLike]
# (a_next, a_prev, xt, parameters)
_CellCache: TypeAlias = tuple[_Array, Any, Any, _Parameters]
# (list of the T_x cell caches, x)
_Caches: TypeAlias = tuple[list[_CellCache], Any]

def rnn_cell_forward(
    xt: npt.ArrayLike, a_prev: npt.ArrayLike, parameters: _Parameters, *,
    activation: Literal["tanh", "relu"] = "tanh",
) -> tuple[_Array, _Array, _CellCache]: ...
def rnn_forward(
    x: npt.ArrayLike, a0: npt.ArrayLike, parameters: _Parameters, *,
    activation: Literal["tanh", "relu"] = "tanh", lengths: npt.ArrayLike | None = None,
    reverse: bool = False,
) -> tuple[_Array, _Array, _Caches]: ...
def rnn_cell_backward(da_next: npt.ArrayLike, cache: _CellCache) -> dict[str, _Array]: ...
def rnn_backward(da: npt.ArrayLike, caches: _Caches) -> dict[str, _Array]: ...
