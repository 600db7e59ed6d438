"""Types of the compiled module crnn._gemmtime (src/crnn/_gemmtime.pyx)."""

from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

_F = TypeVar("_F", np.float32, np.float64)

def repeat_gemm(
    trans_a: Literal["N", "T"],
    trans_b: Literal["N", "T"],
    a: npt.NDArray[_F],
    b: npt.NDArray[_F],
    c: npt.NDArray[_F],
    count: int,
) -> None: ...
