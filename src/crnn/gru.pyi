"""Types of crnn's GRU functions (src/crnn/gru.py).

Inputs are anything numpy turns into an array; results are float32 when every input is
float32, float64 otherwise. Caches hold the arguments themselves, as in the course.
"""
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["gru_cell_forward", "gru_forward", "gru_cell_backward", "gru_backward",
           "parameter_shapes", "torch_gru_parameters"]

_Array: TypeAlias = npt.NDArray[np.floating[Any]]
_Parameters: TypeAlias = Mapping[str, npt.ArrayLike]
# (a_next, a_prev, ut, rt, cct, xt, parameters)
_CellCache: TypeAlias = tuple[_Array, Any, _Array, _Array, _Array, Any, _Parameters]
# (list of the T_x cell caches, x)
_Caches: TypeAlias = tuple[list[_CellCache], Any]
# name -> (shape, blocks of (role, first column, last column))
_Shapes: TypeAlias = dict[str, tuple[tuple[int, int], list[tuple[str, int, int]]]]

def parameter_shapes(n_x: int, n_a: int, reset_after: bool = False) -> _Shapes: ...
def torch_gru_parameters(
    weight_ih: npt.ArrayLike, weight_hh: npt.ArrayLike, bias_ih: npt.ArrayLike | None = None,
    bias_hh: npt.ArrayLike | None = None,
) -> dict[str, _Array]: ...
def gru_cell_forward(
    xt: npt.ArrayLike, a_prev: npt.ArrayLike, parameters: _Parameters, *, reset_after: bool = False
) -> tuple[_Array, _Array, _CellCache]: ...
def gru_forward(
    x: npt.ArrayLike, a0: npt.ArrayLike, parameters: _Parameters, *, reset_after: bool = False,
    lengths: npt.ArrayLike | None = None, reverse: bool = False,
) -> tuple[_Array, _Array, _Caches]: ...
def gru_cell_backward(da_next: npt.ArrayLike, cache: _CellCache) -> dict[str, _Array]: ...
def gru_backward(da: npt.ArrayLike, caches: _Caches) -> dict[str, _Array]: ...
