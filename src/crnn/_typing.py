"""The types in the annotations of crnn's course functions (crnn.rnn, crnn.lstm, crnn.gru).

Inputs are anything numpy turns into an array; results are float32 when every input is
float32, float64 otherwise. Caches hold the arguments themselves, as in the course.
"""

from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

#: A result: a float32 or float64 array.
Array: TypeAlias = npt.NDArray[np.floating[Any]]

#: A parameters dict: each name to anything numpy turns into an array.
Parameters: TypeAlias = Mapping[str, npt.ArrayLike]
