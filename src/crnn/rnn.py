"""The course's vanilla RNN functions, computed by the recurrence engine (``crnn._engine``).

Same signatures, shapes, cache tuples and gradient dicts as the course's numpy code
(see ``crnn.reference``); ``rnn_backward`` returns the real ``da0``.
"""

from typing import Any, Literal, TypeAlias

import numpy.typing as npt

from crnn import _engine
from crnn._caches import (
    CellCache,
    ForwardCaches,
    ReluCache,
    cache_is_relu,
    check_activation,
    first_cache,
    sequence_caches,
    states_before,
)
from crnn._cellspec import CellSpec, Gate
from crnn._typing import Array, Parameters
from crnn._validate import as_array

__all__ = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward"]

# (a_next, a_prev, xt, parameters)
_CellCache: TypeAlias = tuple[Array, Any, Any, Parameters]
# (list of the T_x cell caches, x)
_Caches: TypeAlias = tuple[list[_CellCache], Any]

#: The form of rnn_cell_forward's cache.
_CACHE = CellCache(("a_next", "a_prev", "xt", "parameters"), "rnn_cell_forward")

#: The cell as the engine runs it, by activation: one gate, Waa and Wax kept apart.
SPECS = {
    activation: CellSpec("rnn", f"rnn_{activation}", [Gate("Waa", "ba", "Wax")], "Wya", _CACHE)
    for activation in ("tanh", "relu")
}


def rnn_cell_forward(
    xt: npt.ArrayLike,
    a_prev: npt.ArrayLike,
    parameters: Parameters,
    *,
    activation: Literal["tanh", "relu"] = "tanh",
) -> tuple[Array, Array, _CellCache]:
    """One step of the RNN cell.

    Arguments:
    xt -- input at step t, of shape (n_x, m)
    a_prev -- hidden state at step t-1, of shape (n_a, m)
    parameters -- dict with "Wax" (n_a, n_x), "Waa" (n_a, n_a), "Wya" (n_y, n_a),
                  "ba" (n_a, 1), "by" (n_y, 1)
    activation -- "tanh" (the course's) or "relu": g in a_next = g(Waa·a_prev + Wax·xt + ba)

    Returns:
    a_next -- next hidden state, of shape (n_a, m)
    yt_pred -- prediction at step t, of shape (n_y, m)
    cache -- (a_next, a_prev, xt, parameters), holding the arguments themselves; with
             relu, a tuple marked activation = "relu" for the backward pass
    """
    relu = check_activation(activation)
    out = SPECS[activation].forward(xt, a_prev, parameters, one_step=True)
    a_next = out.a[:, :, 0]
    cache = (a_next, a_prev, xt, parameters)
    return a_next, out.y[:, :, 0], ReluCache(cache) if relu else cache


def rnn_forward(
    x: npt.ArrayLike,
    a0: npt.ArrayLike,
    parameters: Parameters,
    *,
    activation: Literal["tanh", "relu"] = "tanh",
    lengths: npt.ArrayLike | None = None,
    reverse: bool = False,
) -> tuple[Array, Array, _Caches]:
    """The RNN over a whole sequence, in one call into the engine.

    Arguments:
    x -- input for every step, of shape (n_x, m, T_x)
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- dict as for rnn_cell_forward
    activation -- "tanh" (the course's) or "relu", as for rnn_cell_forward
    lengths -- None (every example runs T_x steps), or m integers in 1..T_x: example i
               runs its first lengths[i] steps, and keeps its state over the others,
               where its prediction is zero (see docs/SEQUENCES.md)
    reverse -- run each example from its last step down to step 0; a0 is the state
               before its last step

    Returns:
    a -- hidden states of every step, of shape (n_a, m, T_x)
    y_pred -- predictions of every step, of shape (n_y, m, T_x)
    caches -- (list of the T_x cell caches (a_next, a_prev, xt, parameters), x);
              the caches hold views into a and x, not copies; with lengths or reverse,
              the tuple is marked with them for rnn_backward
    """
    relu = check_activation(activation)
    out = SPECS[activation].forward(x, a0, parameters, lengths=lengths, reverse=reverse)
    return out.a, out.y, caches_of(out, x, a0, parameters, reverse, relu)


def caches_of(out, x, a0, parameters, reverse=False, relu=False):
    """The course's caches of a forward pass (the Buffers out of the spec) over x from a0."""
    xa = as_array("x", x)
    # a_prev of step t is the very view a_next of the step before, as in the course's loop
    states, inputs = _engine.steps(out.a), _engine.steps(xa)
    caches = [
        (a_t, a_prev, xt, parameters)
        for a_t, a_prev, xt in zip(states, states_before(states, a0, reverse), inputs)
    ]
    if relu:
        caches = [ReluCache(cache) for cache in caches]
    return sequence_caches(
        ForwardCaches(caches, out.a, None, None, None, xa, None),
        x,
        out.lengths,
        reverse,
        out.sorted,
    )


def _spec_of(cache, name):
    """The spec of the activation a cell cache is marked with."""
    return SPECS["relu" if cache_is_relu(cache, name) else "tanh"]


def rnn_cell_backward(da_next: npt.ArrayLike, cache: _CellCache) -> dict[str, Array]:
    """The backward pass of one RNN step.

    Arguments:
    da_next -- gradient of the loss with respect to a_next, of shape (n_a, m)
    cache -- (a_next, a_prev, xt, parameters), the output of rnn_cell_forward (its
             activation, tanh or relu, is read from the cache)

    Returns:
    gradients -- dict with "dxt" (n_x, m), "da_prev" (n_a, m), "dWax" (n_a, n_x),
                 "dWaa" (n_a, n_a), "dba" (n_a, 1)
    """
    dxt, da_prev, _, grads = _spec_of(cache, "cache").backward_step(da_next, cache)
    return {"dxt": dxt, "da_prev": da_prev, **grads}


def rnn_backward(da: npt.ArrayLike, caches: _Caches) -> dict[str, Array]:
    """The backward pass of the RNN over a whole sequence, in one call into the engine.

    Arguments:
    da -- upstream gradients of every hidden state, of shape (n_a, m, T_x); with fewer
          steps than the caches, the first T_x caches are used, as in the course
    caches -- (list of cell caches, x), the output of rnn_forward (crnn's or the course's);
              the activation, tanh or relu, is read from the first cell cache, and the
              lengths and direction from the tuple

    Returns:
    gradients -- dict with "dx" (n_x, m, T_x), "da0" (n_a, m), "dWax" (n_a, n_x),
                 "dWaa" (n_a, n_a), "dba" (n_a, 1); da0 is the gradient that reaches a0
    """
    first = first_cache(caches)
    spec = SPECS["tanh"] if first is None else _spec_of(first, "caches[0][0]")
    dx, da0, _, grads = spec.backward_sequence(da, caches)
    return {"dx": dx, "da0": da0, **grads}
