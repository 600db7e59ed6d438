"""The course's LSTM functions, computed by the recurrence engine (``crnn._engine``).

Same signatures, shapes, cache tuples and gradient dicts as the course's numpy code
(see ``crnn.reference``); ``lstm_backward`` returns the real ``da0``. Two keyword-only
extensions keep the course's behaviour by default: ``lstm_forward(..., c0=)`` starts
from a given cell state instead of zeros, and ``lstm_backward`` adds the gradient that
reaches it as ``"dc0"``.

Inside crnn the four gate weights are packed into one ``(4·n_a, n_a+n_x)`` matrix, in
the order forget, update, candidate, output; the public dicts are unchanged.
"""

from typing import Any, TypeAlias

import numpy.typing as npt

from crnn import _engine
from crnn._caches import CellCache, ForwardCaches, sequence_caches, states_before
from crnn._cellspec import CellSpec, Gate
from crnn._typing import Array, Parameters
from crnn._validate import as_array

__all__ = ["lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]

# (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
_CellCache: TypeAlias = tuple[Array, Array, Any, Any, Array, Array, Array, Array, Any, Parameters]
# (list of the T_x cell caches, x)
_Caches: TypeAlias = tuple[list[_CellCache], Any]

#: The form of lstm_cell_forward's cache.
_CACHE = CellCache(
    ("a_next", "c_next", "a_prev", "c_prev", "ft", "it", "cct", "ot", "xt", "parameters"),
    "lstm_cell_forward",
)

#: The cell as the engine runs it: forget, update, candidate and output gates over
#: [a_prev; xt].
SPEC = CellSpec(
    "lstm",
    "lstm",
    [Gate(f"W{g}", f"b{g}") for g in "fico"],
    "Wy",
    _CACHE,
    gate_fields=("ft", "it", "cct", "ot"),
)


def _gate_views(gates, n_a):
    """ft, it, cct, ot of every step, in step order: 4·T views into the (4n_a, m, T)
    gates in the kernels' layout, made at C speed."""
    _, m, T = gates.shape
    # the gate axis splits into (4, n_a), and the step axis (stride 4n_a) merges with
    # it, without a copy
    return list(gates.reshape(4, n_a, m, T).transpose(3, 0, 1, 2).reshape(4 * T, n_a, m))


def lstm_cell_forward(
    xt: npt.ArrayLike, a_prev: npt.ArrayLike, c_prev: npt.ArrayLike, parameters: Parameters
) -> tuple[Array, Array, Array, _CellCache]:
    """One step of the LSTM cell.

    Arguments:
    xt -- input at step t, of shape (n_x, m)
    a_prev -- hidden state at step t-1, of shape (n_a, m)
    c_prev -- cell state at step t-1, of shape (n_a, m)
    parameters -- dict with "Wf", "Wi", "Wc", "Wo" (n_a, n_a + n_x), "bf", "bi", "bc",
                  "bo" (n_a, 1), "Wy" (n_y, n_a), "by" (n_y, 1)

    Returns:
    a_next -- next hidden state, of shape (n_a, m)
    c_next -- next cell state, of shape (n_a, m)
    yt_pred -- prediction at step t, of shape (n_y, m)
    cache -- (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters),
             holding the arguments themselves
    """
    if c_prev is None:
        as_array("c_prev", c_prev)  # the course's cell state is not optional
    out = SPEC.forward(xt, a_prev, parameters, c_prev, one_step=True)
    a_next, c_next = out.a[:, :, 0], out.c[:, :, 0]
    cache = (
        a_next,
        c_next,
        a_prev,
        c_prev,
        *_gate_views(out.gates, out.a.shape[0]),
        xt,
        parameters,
    )
    return a_next, c_next, out.y[:, :, 0], cache


def lstm_forward(
    x: npt.ArrayLike,
    a0: npt.ArrayLike,
    parameters: Parameters,
    *,
    c0: npt.ArrayLike | None = None,
    lengths: npt.ArrayLike | None = None,
    reverse: bool = False,
) -> tuple[Array, Array, Array, _Caches]:
    """The LSTM over a whole sequence, in one call into the engine.

    Arguments:
    x -- input for every step, of shape (n_x, m, T_x)
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- dict as for lstm_cell_forward
    c0 -- initial cell state, of shape (n_a, m); zeros when None, as in the course
    lengths -- None (every example runs T_x steps), or m integers in 1..T_x: example i
               runs its first lengths[i] steps, and keeps its states a and c over the
               others, where its prediction is zero (see docs/SEQUENCES.md)
    reverse -- run each example from its last step down to step 0; a0 and c0 are the
               states before its last step

    Returns:
    a -- hidden states of every step, of shape (n_a, m, T_x)
    y -- predictions of every step, of shape (n_y, m, T_x)
    c -- cell states of every step, of shape (n_a, m, T_x)
    caches -- (list of the T_x cell caches, x); the caches hold views into a, c, the
              gates and x, not copies; with lengths or reverse, the tuple is marked with
              them for lstm_backward
    """
    out = SPEC.forward(x, a0, parameters, c0, lengths=lengths, reverse=reverse)
    return out.a, out.y, out.c, caches_of(out, x, a0, parameters, reverse, c0)


def caches_of(out, x, a0, parameters, reverse=False, c0=None):
    """The course's caches of a forward pass (the Buffers out of the spec) over x from
    a0 and c0 (None: the zeros it started from)."""
    xa = as_array("x", x)
    # a_prev (c_prev) of step t is the very view a_next (c_next) of step t-1, as in the
    # course's loop
    states, cells, inputs = _engine.steps(out.a), _engine.steps(out.c), _engine.steps(xa)
    gate_views = _gate_views(out.gates, out.a.shape[0])
    states_prev = states_before(states, a0, reverse)
    cells_prev = states_before(cells, out.c0 if c0 is None else c0, reverse)
    caches = [
        (
            states[t],
            cells[t],
            states_prev[t],
            cells_prev[t],
            *gate_views[4 * t : 4 * t + 4],
            inputs[t],
            parameters,
        )
        for t in range(len(states))
    ]
    return sequence_caches(
        ForwardCaches(caches, out.a, out.gates, None, out.c, xa, None),
        x,
        out.lengths,
        reverse,
        out.sorted,
    )


def lstm_cell_backward(
    da_next: npt.ArrayLike, dc_next: npt.ArrayLike, cache: _CellCache
) -> dict[str, Array]:
    """The backward pass of one LSTM step.

    Arguments:
    da_next -- gradient of the loss with respect to a_next, of shape (n_a, m)
    dc_next -- gradient of the loss with respect to c_next, of shape (n_a, m)
    cache -- (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters),
             the output of lstm_cell_forward

    Returns:
    gradients -- dict with "dxt" (n_x, m), "da_prev" (n_a, m), "dc_prev" (n_a, m),
                 "dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo": each weight's
                 (n_a, n_a + n_x) and each bias's (n_a, 1)
    """
    dxt, da_prev, dc_prev, grads = SPEC.backward_step(da_next, cache, dc_next)
    return {"dxt": dxt, "da_prev": da_prev, "dc_prev": dc_prev, **grads}


def lstm_backward(da: npt.ArrayLike, caches: _Caches) -> dict[str, Array]:
    """The backward pass of the LSTM over a whole sequence, in one call into the engine.

    Arguments:
    da -- upstream gradients of every hidden state, of shape (n_a, m, T_x); with fewer
          steps than the caches, the first T_x caches are used, as in the course
    caches -- (list of cell caches, x), the output of lstm_forward (crnn's or the course's)

    Returns:
    gradients -- dict with "dx" (n_x, m, T_x), "da0" (n_a, m), "dWf", "dbf", "dWi",
                 "dbi", "dWc", "dbc", "dWo", "dbo" (each weight's (n_a, n_a + n_x) and
                 each bias's (n_a, 1)), and "dc0" (n_a, m); da0 and dc0 are the
                 gradients that reach a0 and the initial cell state
    """
    dx, da0, dc0, grads = SPEC.backward_sequence(da, caches)
    return {"dx": dx, "da0": da0, **grads, "dc0": dc0}
