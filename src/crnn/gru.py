"""The GRU in the course's style, computed by the recurrence engine (``crnn._engine``).

Two conventions, chosen by ``reset_after`` in the forward functions and read back from
the parameters' keys by the backward ones:

- the lecture's (``reset_after=False``): ``Wu``, ``Wr``, ``Wc`` (n_a, n_a+n_x) applied
  to ``[a_prev; xt]`` as the LSTM's are, the reset gate scaling ``a_prev`` inside the
  candidate's product, and biases ``bu``, ``br``, ``bc`` (n_a, 1);
- PyTorch's, Keras's default and cuDNN's (``reset_after=True``): the candidate keeps
  ``Wcx`` (n_a, n_x) and ``Wca`` (n_a, n_a) apart, with biases ``bcx`` and ``bca``, and
  the reset gate scales ``Wca·a_prev + bca``.

Both have the output layer ``Wy`` (n_y, n_a), ``by`` (n_y, 1). ``crnn.reference`` holds
the formulas in plain numpy. A cell cache is ``(a_next, a_prev, ut, rt, cct, xt,
parameters)``; a sequence's caches are ``(list of cell caches, x)``.
"""

from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from crnn import _engine
from crnn._caches import CellCache, ForwardCaches, first_cache, sequence_caches, states_before
from crnn._cellspec import CellSpec, Gate
from crnn._typing import Array, Parameters
from crnn._validate import as_array, check_parameters

__all__ = [
    "gru_cell_forward",
    "gru_forward",
    "gru_cell_backward",
    "gru_backward",
    "parameter_shapes",
    "torch_gru_parameters",
]

# (a_next, a_prev, ut, rt, cct, xt, parameters)
_CellCache: TypeAlias = tuple[Array, Any, Array, Array, Array, Any, Parameters]
# (list of the T_x cell caches, x)
_Caches: TypeAlias = tuple[list[_CellCache], Any]
# name -> (shape, blocks of (role, first column, last column))
_Shapes: TypeAlias = dict[str, tuple[tuple[int, int], list[tuple[str, int, int]]]]

#: The form of gru_cell_forward's cache.
_CACHE = CellCache(("a_next", "a_prev", "ut", "rt", "cct", "xt", "parameters"), "gru_cell_forward")

_GATES = [Gate("Wu", "bu"), Gate("Wr", "br")]

#: The cell as the engine runs it, by reset_after: update, reset and candidate gates over
#: [a_prev; xt]; with reset_after the candidate's recurrent and input weights apart.
SPECS = {
    False: CellSpec(
        "gru", "gru", [*_GATES, Gate("Wc", "bc")], "Wy", _CACHE, gate_fields=("ut", "rt", "cct")
    ),
    True: CellSpec(
        "gru",
        "gru_after",
        [*_GATES, Gate("Wca", "bcx", "Wcx")],
        "Wy",
        _CACHE,
        gate_fields=("ut", "rt", "cct"),
        recurrent_bias="bca",
    ),
}


def parameter_shapes(n_x: int, n_a: int, reset_after: bool = False) -> _Shapes:
    """The GRU cell's parameters (output layer excluded), in the order of its gradients.

    Returns:
    dict name -> (shape, blocks); blocks lists (role, first column, last column) with role
    "input", "recurrent" or "bias", the parts an initialiser fills separately
    """
    return SPECS[reset_after].parameter_shapes(n_x, n_a)


def torch_gru_parameters(
    weight_ih: npt.ArrayLike,
    weight_hh: npt.ArrayLike,
    bias_ih: npt.ArrayLike | None = None,
    bias_hh: npt.ArrayLike | None = None,
) -> dict[str, Array]:
    """The reset_after parameters of one layer and direction of PyTorch's nn.GRU.

    PyTorch stacks its gates as [reset; update; new] and computes
    h' = (1 - z)*n + z*h, so crnn's update gate is 1 - z: ``Wu = -[W_hz | W_iz]`` and
    ``bu = -(b_iz + b_hz)``. The others map as they are: ``Wr = [W_hr | W_ir]``,
    ``br = b_ir + b_hr``, ``Wcx = W_in``, ``Wca = W_hn``, ``bcx = b_in``, ``bca = b_hn``.

    Arguments:
    weight_ih -- (3n_a, n_x) numpy array, PyTorch's weight_ih_l0 (any layer, direction)
    weight_hh -- (3n_a, n_a), weight_hh_l0
    bias_ih, bias_hh -- (3n_a,), or None for a GRU made with bias=False

    Returns:
    parameters -- dict with "Wu", "bu", "Wr", "br", "Wcx", "Wca", "bcx", "bca" in the
                  dtype of the weights (the output layer is not PyTorch's GRU's)
    """
    W_i, W_h = np.asarray(weight_ih), np.asarray(weight_hh)
    n_a = W_h.shape[1]
    if W_h.shape != (3 * n_a, n_a) or W_i.ndim != 2 or W_i.shape[0] != 3 * n_a:
        raise ValueError(
            f"weight_hh must be (3n_a, n_a) and weight_ih (3n_a, n_x), got "
            f"{W_h.shape} and {W_i.shape}"
        )
    zeros = np.zeros(3 * n_a, W_h.dtype)
    b_i = zeros if bias_ih is None else np.asarray(bias_ih)
    b_h = zeros if bias_hh is None else np.asarray(bias_hh)
    for name, b in (("bias_ih", b_i), ("bias_hh", b_h)):
        if b.shape != (3 * n_a,):
            raise ValueError(f"{name} must be ({3 * n_a},), got {b.shape}")
    r, z, n = slice(0, n_a), slice(n_a, 2 * n_a), slice(2 * n_a, 3 * n_a)
    return {
        "Wu": -np.concatenate((W_h[z], W_i[z]), axis=1),
        "bu": -(b_i[z] + b_h[z])[:, None],
        "Wr": np.concatenate((W_h[r], W_i[r]), axis=1),
        "br": (b_i[r] + b_h[r])[:, None],
        "Wcx": W_i[n].copy(),
        "Wca": W_h[n].copy(),
        "bcx": b_i[n][:, None].copy(),
        "bca": b_h[n][:, None].copy(),
    }


def _check_reset_after(reset_after):
    if reset_after not in (False, True):
        raise ValueError(f"reset_after must be True or False, got {reset_after!r}")
    return bool(reset_after)


def _step_caches(out, a0, xa, parameters, reverse):
    """The cell caches of every step: views into the buffers and the caller's x."""
    n_a = out.a.shape[0]
    states, gates, inputs = _engine.steps(out.a), _engine.steps(out.gates), _engine.steps(xa)
    return [
        (a_t, a_prev, g[:n_a], g[n_a : 2 * n_a], g[2 * n_a :], xt, parameters)
        for a_t, a_prev, g, xt in zip(states, states_before(states, a0, reverse), gates, inputs)
    ]


def gru_cell_forward(
    xt: npt.ArrayLike, a_prev: npt.ArrayLike, parameters: Parameters, *, reset_after: bool = False
) -> tuple[Array, Array, _CellCache]:
    """One step of the GRU cell.

    Arguments:
    xt -- input at step t, of shape (n_x, m)
    a_prev -- hidden state at step t-1, of shape (n_a, m)
    parameters -- dict with "Wu", "Wr" (n_a, n_a + n_x), "bu", "br" (n_a, 1), "Wy"
                  (n_y, n_a), "by" (n_y, 1), and "Wc" (n_a, n_a + n_x), "bc" (n_a, 1);
                  with reset_after, "Wcx" (n_a, n_x), "Wca" (n_a, n_a), "bcx", "bca"
                  (n_a, 1) instead of "Wc" and "bc"
    reset_after -- False: the lecture's GRU, the reset gate inside the candidate's
                   product; True: PyTorch's and Keras's, the reset gate after it

    Returns:
    a_next -- next hidden state, of shape (n_a, m)
    yt_pred -- prediction at step t, of shape (n_y, m)
    cache -- (a_next, a_prev, ut, rt, cct, xt, parameters), holding the arguments themselves
    """
    out = SPECS[_check_reset_after(reset_after)].forward(xt, a_prev, parameters, one_step=True)
    n_a = out.a.shape[0]
    g = out.gates[:, :, 0]
    a_next = out.a[:, :, 0]
    return (
        a_next,
        out.y[:, :, 0],
        (a_next, a_prev, g[:n_a], g[n_a : 2 * n_a], g[2 * n_a :], xt, parameters),
    )


def gru_forward(
    x: npt.ArrayLike,
    a0: npt.ArrayLike,
    parameters: Parameters,
    *,
    reset_after: bool = False,
    lengths: npt.ArrayLike | None = None,
    reverse: bool = False,
) -> tuple[Array, Array, _Caches]:
    """The GRU over a whole sequence, in one call into the engine.

    Arguments:
    x -- input for every step, of shape (n_x, m, T_x)
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- dict as for gru_cell_forward
    reset_after -- as for gru_cell_forward
    lengths -- None (every example runs T_x steps), or m integers in 1..T_x: example i
               runs its first lengths[i] steps, and keeps its state over the others,
               where its prediction is zero (see docs/SEQUENCES.md)
    reverse -- run each example from its last step down to step 0; a0 is the state
               before its last step

    Returns:
    a -- hidden states of every step, of shape (n_a, m, T_x)
    y_pred -- predictions of every step, of shape (n_y, m, T_x)
    caches -- (list of the T_x cell caches (a_next, a_prev, ut, rt, cct, xt, parameters),
              x); the caches hold views into a, the gates and x, not copies; with
              lengths or reverse, the tuple is marked with them for gru_backward
    """
    reset_after = _check_reset_after(reset_after)
    out = SPECS[reset_after].forward(x, a0, parameters, lengths=lengths, reverse=reverse)
    return out.a, out.y, caches_of(out, x, a0, parameters, reverse, reset_after)


def caches_of(out, x, a0, parameters, reverse=False, reset_after=False):
    """The course's caches of a forward pass (the Buffers out of the spec) over x from a0."""
    xa = as_array("x", x)
    caches = _step_caches(out, a0, xa, parameters, reverse)
    kept = SPECS[reset_after].recurrent_weights(parameters, out.a.dtype)
    return sequence_caches(
        ForwardCaches(caches, out.a, out.gates, out.aux, None, xa, kept),
        x,
        out.lengths,
        reverse,
        out.sorted,
    )


def _spec_of(parameters):
    """The spec of the convention of a cache's parameters: reset_after if "Wca" is a key."""
    check_parameters(parameters)
    return SPECS["Wca" in parameters]


def gru_cell_backward(da_next: npt.ArrayLike, cache: _CellCache) -> dict[str, Array]:
    """The backward pass of one GRU step; the convention is read from the cached
    parameters' keys ("Wca" present: reset_after).

    Arguments:
    da_next -- gradient of the loss with respect to a_next, of shape (n_a, m)
    cache -- (a_next, a_prev, ut, rt, cct, xt, parameters), the output of gru_cell_forward

    Returns:
    gradients -- dict with "dxt" (n_x, m), "da_prev" (n_a, m), and "d" + each key of the
                 cell's parameters: "dWu", "dbu", "dWr", "dbr", then "dWc", "dbc" or
                 "dWcx", "dWca", "dbcx", "dbca"
    """
    spec = _spec_of(_CACHE.check(cache, "cache")[-1])
    dxt, da_prev, _, grads = spec.backward_step(da_next, cache)
    return {"dxt": dxt, "da_prev": da_prev, **grads}


def gru_backward(da: npt.ArrayLike, caches: _Caches) -> dict[str, Array]:
    """The backward pass of the GRU over a whole sequence, in one call into the engine;
    the convention is read from the cached parameters' keys, as in gru_cell_backward.

    Arguments:
    da -- gradient of the loss with respect to every hidden state, (n_a, m, T_x); given
          for fewer steps than there are caches, it runs over the first T_x of them
    caches -- (list of cell caches, x) from gru_forward, crnn's or crnn.reference's, or
              a list a loop over gru_cell_forward made

    Returns:
    gradients -- dict with "dx" (n_x, m, T_x), "da0" (n_a, m), the gradient that reaches
                 a0, and "d" + each key of the cell's parameters, summed over the steps
    """
    first = first_cache(caches)
    spec = SPECS[False] if first is None else _spec_of(_CACHE.check(first, "caches[0][0]")[-1])
    dx, da0, _, grads = spec.backward_sequence(da, caches)
    return {"dx": dx, "da0": da0, **grads}
