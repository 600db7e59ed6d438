"""Types of the compiled module crnn._engine (src/crnn/_engine.pyx).

The kernels' outputs (a, y, gates, aux, c; dx, da0, dc0, dW, db, dbca) set the dtype,
float32 or float64, and must have the layout each kernel documents; every input must
have that dtype (da: any strides). The kernels return nothing: they fill the output
arrays they are given. The ``common_*`` functions take the course's arguments in their
common form (checked in C) and return the results, or None for anything else; ``spec``
is a cell spec's ``common`` tuple (crnn._cellspec).
"""

from typing import TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

_F = TypeVar("_F", np.float32, np.float64)

# every array of one call has one dtype, float32 or float64
_A: TypeAlias = npt.NDArray[_F]

#: The engine's cells by name: "rnn_tanh", "rnn_relu", "lstm", "gru", "gru_after".
KINDS: dict[str, int]

#: True in a debug build (CRNN_DEBUG=1): Cython's bounds and initialisation checks are on.
DEBUG_BUILD: bool

def forward_kernel(
    kind: int,
    x: _A[_F],
    a0: _A[_F],
    c0: _A[_F] | None,
    W: _A[_F],
    b: _A[_F],
    bca: _A[_F] | None,
    Wy: _A[_F],
    by: _A[_F],
    gates: _A[_F] | None,
    aux: _A[_F] | None,
    a: _A[_F],
    c: _A[_F] | None,
    y: _A[_F],
    lengths: npt.NDArray[np.intp] | None = None,
    reverse: bool = False,
) -> None: ...
def backward_kernel(
    kind: int,
    da: _A[_F],
    gates: _A[_F] | None,
    aux: _A[_F] | None,
    a: _A[_F],
    c: _A[_F] | None,
    c0: _A[_F] | None,
    c_prev: _A[_F] | None,
    a0: _A[_F],
    a_prev: _A[_F] | None,
    x: _A[_F],
    W: _A[_F],
    bca: _A[_F] | None,
    dx: _A[_F] | None,
    da0: _A[_F],
    dc0: _A[_F] | None,
    dW: _A[_F],
    db: _A[_F],
    dbca: _A[_F] | None,
    lengths: npt.NDArray[np.intp] | None = None,
    reverse: bool = False,
) -> None: ...

# (a, y, gates, aux, c, c0, lengths): the lengths a copy of those the pass ran with
_Buffers: TypeAlias = tuple[
    _A[_F],
    _A[_F],
    _A[_F] | None,
    _A[_F] | None,
    _A[_F] | None,
    _A[_F] | None,
    npt.NDArray[np.intp] | None,
]

def common_forward(
    spec: tuple[object, ...],
    x: object,
    a0: object,
    c0: object,
    parameters: object,
    one_step: bool,
    lengths: object = None,
    reverse: bool = False,
    output: bool = True,
) -> _Buffers[np.float64] | _Buffers[np.float32] | None: ...

_Gradients: TypeAlias = tuple[_A[_F] | None, _A[_F], _A[_F] | None, dict[str, _A[_F]]]

def common_backward(
    spec: tuple[object, ...],
    da: object,
    buffers: tuple[object, ...],
    a0: object,
    c0: object,
    parameters: object,
    lengths: object = None,
    reverse: bool = False,
    dx: bool = True,
) -> _Gradients[np.float64] | _Gradients[np.float32] | None: ...
def common_step_backward(
    spec: tuple[object, ...],
    fields: tuple[object, ...],
    da_next: object,
    dc_next: object,
    cache: object,
) -> _Gradients[np.float64] | _Gradients[np.float32] | None: ...
def gradients(
    spec: tuple[object, ...], dW: _A[_F], db: _A[_F], dbca: _A[_F] | None
) -> dict[str, _A[_F]]: ...
def steps(seq: npt.NDArray[np.generic]) -> list[npt.NDArray[np.generic]]: ...
