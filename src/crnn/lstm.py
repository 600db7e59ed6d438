"""The course's LSTM functions, computed by crnn's Cython kernels.

Same signatures, shapes, cache tuples and gradient dicts as the course's numpy code
(see ``crnn.reference``); ``lstm_backward`` returns the real ``da0``. Two keyword-only
extensions keep the course's behaviour by default: ``lstm_forward(..., c0=)`` starts
from a given cell state instead of zeros, and ``lstm_backward`` adds the gradient that
reaches it as ``"dc0"``.

Inside crnn the four gate weights are packed into one ``(4·n_a, n_a+n_x)`` matrix, in
the order forget, update, candidate, output; the public dicts are unchanged.
"""
import numpy as np

from crnn import _arrays, _lstm
from crnn.memory import work_space as _work_space
from crnn._caches import (
    CellCache,
    ForwardCaches,
    backward_inputs,
    forward_buffers,
    no_steps,
    stack_steps,
)
from crnn._validate import (
    as_array,
    bias,
    check_blas_sizes,
    check_parameters,
    compute_dtype,
    expect_ndim,
    fortran,
    mismatch,
    weight,
)

__all__ = ["lstm_cell_forward", "lstm_forward", "lstm_cell_backward", "lstm_backward"]

#: The gates, in the order of the packed weight: forget, update, candidate, output.
_GATES = ("f", "i", "c", "o")

#: The form of lstm_cell_forward's cache.
_CACHE = CellCache(
    ("a_next", "c_next", "a_prev", "c_prev", "ft", "it", "cct", "ot", "xt", "parameters"),
    "lstm_cell_forward",
)


def _gate_weights(parameters, n_a, n_x, context):
    """Wf, Wi, Wc, Wo of parameters, each checked to be (n_a, n_a + n_x).

    context ends the message of a wrong shape, naming what fixed n_a and n_x.
    """
    check_parameters(parameters)
    weights = [weight(parameters, f"W{gate}", "(n_a, n_a + n_x)") for gate in _GATES]
    for gate, W in zip(_GATES, weights):
        if W.shape != (n_a, n_a + n_x):
            raise ValueError(
                f'parameters["W{gate}"] must have shape (n_a, n_a + n_x) = '
                f"{(n_a, n_a + n_x)} {context}, got {W.shape}"
            )
    return weights


def _check_gate_sizes(a_name, a, x_name, x, n_a, n_x, T):
    """The packed gates' sizes must fit BLAS too: 4·n_a rows of n_a + n_x columns, and
    4·n_a·T, the distance between a step's columns in the gates of T steps."""
    check_blas_sizes(a_name, a, **{"4*n_a": 4 * n_a, "4*n_a*T_x": 4 * n_a * T})
    check_blas_sizes(x_name, x, **{"n_a+n_x": n_a + n_x})


def _pack(arrays, dtype, name):
    """The gates' weights (or biases) stacked row-wise into the C-ordered work space name
    (see crnn.memory.work_space), of dtype."""
    shape = (sum(arr.shape[0] for arr in arrays), *arrays[0].shape[1:])
    return np.concatenate(arrays, axis=0, out=_work_space(name, shape, dtype))


def _gate_views(gates, n_a):
    """ft, it, cct, ot of every step, in step order: 4·T views into the (4n_a, m, T)
    gates in the kernels' layout, made at C speed."""
    _, m, T = gates.shape
    # the gate axis splits into (4, n_a), and the step axis (stride 4n_a) merges with
    # it, without a copy
    return list(gates.reshape(4, n_a, m, T).transpose(3, 0, 1, 2).reshape(4 * T, n_a, m))


# --- forward -------------------------------------------------------------------------


def _forward(x, x_name, a_prev, a_name, c_prev, c_name, parameters):
    """Validate, then run the forward kernel over x of shape (n_x, m, T), or (n_x, m)
    for one step.

    c_prev None means zeros. Returns the arrays a, c (n_a, m, T), y (n_y, m, T) and
    gates (4n_a, m, T), in the kernels' layout, and the initial cell state used.
    """
    expect_ndim(a_name, a_prev, "(n_a, m)")
    if c_prev is not None:
        expect_ndim(c_name, c_prev, "(n_a, m)")
    n_x, m, T = x.shape if x.ndim == 3 else (*x.shape, 1)
    n_a = a_prev.shape[0]
    weights = _gate_weights(
        parameters,
        n_a,
        n_x,
        f"for {a_name} of shape {a_prev.shape} and {x_name} of shape {x.shape}",
    )
    Wy = weight(parameters, "Wy", "(n_y, n_a)")
    n_y = Wy.shape[0]
    if a_prev.shape[1] != m:
        raise mismatch(a_name, a_prev, x_name, x, "the batch sizes m disagree")
    if c_prev is not None and c_prev.shape != a_prev.shape:
        raise mismatch(c_name, c_prev, a_name, a_prev, f"{c_name} must have the shape of {a_name}")
    if Wy.shape[1] != n_a:
        raise mismatch('parameters["Wy"]', Wy, a_name, a_prev, "Wy must be (n_y, n_a)")
    if n_y == 0:
        raise ValueError(f'n_y must be at least 1, got parameters["Wy"] of shape {Wy.shape}')
    biases = [bias(parameters, f"b{gate}", n_a) for gate in _GATES]
    by = bias(parameters, "by", n_y)
    check_blas_sizes(x_name, x, n_x=n_x, m=m, T_x=T, **{"m*T_x": m * T})
    check_blas_sizes(a_name, a_prev, n_a=n_a)
    check_blas_sizes('parameters["Wy"]', Wy, n_y=n_y)
    _check_gate_sizes(a_name, a_prev, x_name, x, n_a, n_x, T)

    given = () if c_prev is None else (c_prev,)
    dtype = compute_dtype(x, a_prev, *given, *weights, *biases, Wy, by)
    c0 = np.zeros((n_a, m), dtype, order="F") if c_prev is None else fortran(c_prev, dtype)
    gates = _arrays.new_sequence(4 * n_a, m, T, dtype)
    a = _arrays.new_sequence(n_a, m, T, dtype)
    c = _arrays.new_sequence(n_a, m, T, dtype)
    y = _arrays.new_sequence(n_y, m, T, dtype)
    if m and T:
        # the kernel reads the inputs in place where it can, else converts each once
        _lstm.lstm_forward_kernel(
            x.reshape(n_x, m * T), a_prev, c0, _pack(weights, dtype, "W"),
            _pack(biases, dtype, "b"),
            Wy, by, gates, a, c, y,
        )
    return a, c, y, gates, c0


def lstm_cell_forward(xt, a_prev, c_prev, parameters):
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
    fast = _lstm.lstm_forward_fast(xt, a_prev, parameters, c_prev, True)  # None unless common
    if fast is None:
        x = as_array("xt", xt)
        expect_ndim("xt", x, "(n_x, m)")
        fast = _forward(
            x,
            "xt",
            as_array("a_prev", a_prev),
            "a_prev",
            as_array("c_prev", c_prev),
            "c_prev",
            parameters,
        )
    a, c, y, gates, _ = fast
    a_next, c_next = a[:, :, 0], c[:, :, 0]
    cache = (a_next, c_next, a_prev, c_prev, *_gate_views(gates, a.shape[0]), xt, parameters)
    return a_next, c_next, y[:, :, 0], cache


def lstm_forward(x, a0, parameters, *, c0=None):
    """The LSTM over a whole sequence, in one call into the kernel.

    Arguments:
    x -- input for every step, of shape (n_x, m, T_x)
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- dict as for lstm_cell_forward
    c0 -- initial cell state, of shape (n_a, m); zeros when None, as in the course

    Returns:
    a -- hidden states of every step, of shape (n_a, m, T_x)
    y -- predictions of every step, of shape (n_y, m, T_x)
    c -- cell states of every step, of shape (n_a, m, T_x)
    caches -- (list of the T_x cell caches, x); the caches hold views into a, c, the
              gates and x, not copies
    """
    fast = _lstm.lstm_forward_fast(x, a0, parameters, c0)  # None unless the common case
    if fast is None:
        xa = as_array("x", x)
        expect_ndim("x", xa, "(n_x, m, T_x)")
        c0a = None if c0 is None else as_array("c0", c0)
        a, c, y, gates, c_start = _forward(
            xa, "x", as_array("a0", a0), "a0", c0a, "c0", parameters
        )
    else:
        (a, c, y, gates, c_start), xa = fast, x
    # iterating over the step axis gives each step's view at C speed; a_prev (c_prev) of
    # step t is the very view a_next (c_next) of step t-1, as in the course's loop
    states, cells = list(a.transpose(2, 0, 1)), list(c.transpose(2, 0, 1))
    gate_views = _gate_views(gates, a.shape[0])
    states_prev = [a0, *states[:-1]]
    cells_prev = [c_start if c0 is None else c0, *cells[:-1]]
    caches = [
        (states[t], cells[t], states_prev[t], cells_prev[t], *gate_views[4 * t : 4 * t + 4],
         xt, parameters)
        for t, xt in enumerate(xa.transpose(2, 0, 1))
    ]
    return a, y, c, (ForwardCaches(caches, a, c, gates, xa), x)


# --- backward ------------------------------------------------------------------------


def _backward(da, dc_last, gates, c, c0, c_prev, a, a0, a_prev, x, weights):
    """Run the backward kernel over T steps; the arguments are validated real arrays,
    their sizes checked against BLAS's limit.

    Arguments:
    da -- upstream gradient of every hidden state, (n_a, m, T)
    dc_last -- gradient of the last cell state, (n_a, m), or None for zeros
    gates -- ft, it, cct, ot of every step, stacked, (4n_a, m, T)
    c, a -- the cell and hidden states c_t, a_t of every step, (n_a, m, T)
    c0, a0 -- the states before step 0, (n_a, m)
    c_prev, a_prev -- the states before every step, (n_a, m, T), or None when they are
                      c0 (a0) then c (a) shifted by one step (the common case, which
                      needs no copy)
    x -- the input of every step, (n_x, m, T)
    weights -- Wf, Wi, Wc, Wo, each (n_a, n_a + n_x)

    Returns:
    dx (n_x, m, T), da0 (n_a, m), dc0 (n_a, m), and dW (4n_a, n_a + n_x) and
    db (4n_a, 1), packed like the weights
    """
    n_a, m, T = da.shape
    n_x = x.shape[0]
    mT = m * T
    optional = [arr for arr in (dc_last, c_prev, a_prev) if arr is not None]
    dtype = compute_dtype(da, gates, c, c0, a, a0, x, *weights, *optional)
    dx = _arrays.new_sequence(n_x, m, T, dtype)
    da0 = np.empty((n_a, m), dtype, order="F")
    # dc0 carries the flow between steps: it starts as the last step's dc_next
    dc0 = (
        np.zeros((n_a, m), dtype, order="F")
        if dc_last is None
        else np.array(dc_last, dtype, order="F")
    )
    dW = np.empty((4 * n_a, n_a + n_x), dtype)
    db = np.empty((4 * n_a, 1), dtype)
    if n_a and m and T:
        # the kernel reads the inputs in place where it can, else converts each once
        _lstm.lstm_backward_kernel(
            da, gates, c, fortran(c0, dtype), c_prev, a, a0, a_prev, x.reshape(n_x, mT),
            _pack(weights, dtype, "W"), _work_space("dgates", (4 * n_a, mT), dtype, "F"),
            # the steps of da one cache line of a C-ordered da holds, gathered at a time
            _work_space("da", (n_a, m * (64 // dtype.itemsize)), dtype, "F"), dx, da0, dc0,
            dW, db.reshape(4 * n_a),
        )
    else:
        for arr in (dx, da0, dW, db):
            arr.fill(0)
    return dx, da0, dc0, dW, db


def _gate_gradients(dW, db):
    """The keys "dWf", "dbf", ... "dbo" of the packed dW and db, as views of their rows."""
    n_a = db.shape[0] // 4
    grads = {}
    for k, gate in enumerate(_GATES):
        grads[f"dW{gate}"] = dW[k * n_a : (k + 1) * n_a]
        grads[f"db{gate}"] = db[k * n_a : (k + 1) * n_a]
    return grads


def _sequence_gradients(dx, da0, dc0, dW, db):
    """lstm_backward's dict: the course's keys in the course's order, then "dc0"."""
    return {"dx": dx, "da0": da0, **_gate_gradients(dW, db), "dc0": dc0}


def lstm_cell_backward(da_next, dc_next, cache):
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
    grads = _lstm.lstm_cell_backward_fast(da_next, dc_next, cache)  # None unless common
    if grads is not None:
        return grads
    da_next = _CACHE.da_next(cache, da_next)
    dc_next = as_array("dc_next", dc_next)
    expect_ndim("dc_next", dc_next, "(n_a, m)")
    if dc_next.shape != da_next.shape:
        raise mismatch(
            "dc_next", dc_next, "da_next", da_next, "dc_next must have the shape of da_next"
        )
    n_x = _CACHE.xt_of(cache, "cache").shape[0]
    n_a, m = da_next.shape
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt = _CACHE.arrays(
        cache, "cache", n_a, m, n_x, "da_next"
    )
    weights = _gate_weights(cache[9], n_a, n_x, "to match the caches")
    check_blas_sizes("da_next", da_next, n_a=n_a, m=m)
    check_blas_sizes("cache[8] (xt)", xt, n_x=n_x)
    _check_gate_sizes("da_next", da_next, "cache[8] (xt)", xt, n_a, n_x, 1)
    gate_dtype = compute_dtype(ft, it, cct, ot)
    # the four gates stacked into the (4n_a, m) block of the kernels' layout, one copy
    gates = np.concatenate([g.T for g in (ft, it, cct, ot)], axis=1, dtype=gate_dtype).T
    dx, da_prev, dc_prev, dW, db = _backward(
        da_next[:, :, None], dc_next, gates[:, :, None], c_next[:, :, None], c_prev, None,
        a_next[:, :, None], a_prev, None, xt[:, :, None], weights,
    )
    return {"dxt": dx[:, :, 0], "da_prev": da_prev, "dc_prev": dc_prev, **_gate_gradients(dW, db)}


def _sequence_arrays(cell_caches, T, n_a, m, n_x):
    """The arrays of the first T steps that the backward kernel reads (see _backward).

    Returns gates, c, c0, c_prev, a, a0, a_prev and x. Caches made by ``lstm_forward``
    give views of its buffers; any other list of cell caches (the course's forward, a
    user's loop over lstm_cell_forward) is stacked once. The previous states are None
    when each step's a_prev (c_prev) is the a_next (c_next) of the step before (then the
    kernel reads them from the states). Needs T >= 1 and the first cache checked
    (CellCache.first_step).
    """
    first = cell_caches[0]
    buffers = forward_buffers(cell_caches)
    if buffers is not None:
        a_all, c_all, gates_all, x_all = buffers
        a0, c0 = (_CACHE.initial_state(first, "caches[0][0]", k, n_a, m) for k in (2, 3))
        return (
            gates_all[:, :, :T], c_all[:, :, :T], c0, None, a_all[:, :, :T], a0, None,
            x_all[:, :, :T],
        )
    steps = [_CACHE.arrays(cell_caches[t], f"caches[0][{t}]", n_a, m, n_x, "da") for t in range(T)]
    dtype = compute_dtype(*[arr for step in steps for arr in step])

    def stacked(k):
        """Item k of every step stacked into the kernels' layout, or None for a state
        before the step (k = 2, 3) that is the state of the step before (k = 0, 1)."""
        if k in (2, 3) and all(cell_caches[t][k] is cell_caches[t - 1][k - 2] for t in range(1, T)):
            return None
        return stack_steps([step[k] for step in steps], dtype)

    gates = stack_steps([np.concatenate(step[4:8]) for step in steps], dtype)
    a0, c0 = steps[0][2], steps[0][3]
    return gates, stacked(1), c0, stacked(3), stacked(0), a0, stacked(2), stacked(8)


def lstm_backward(da, caches):
    """The backward pass of the LSTM over a whole sequence, in one call into the kernel.

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
    if type(caches) is tuple and len(caches) == 2:
        buffers = forward_buffers(caches[0])
        # crnn's LSTM caches (not its RNN's): try the common case first
        if buffers is not None and len(buffers) == 4 and caches[0]:
            first = caches[0][0]
            grads = _lstm.lstm_backward_fast(da, *buffers, first[2], first[3], first[9])
            if grads is not None:
                return grads
    da, cell_caches, x = backward_inputs(da, caches, "lstm_forward")
    n_a, m, T = da.shape
    if not cell_caches:
        n_x, dtype = no_steps(da, x)
    else:
        xt0 = _CACHE.first_step(cell_caches, da)
        n_x = xt0.shape[0]
        _check_gate_sizes("da", da, "caches[0][0][8] (xt)", xt0, n_a, n_x, T)
        weights = _gate_weights(cell_caches[0][9], n_a, n_x, "to match the caches")
        dtype = compute_dtype(da, xt0, *weights)
        if T:
            arrays = _sequence_arrays(cell_caches, T, n_a, m, n_x)
            return _sequence_gradients(*_backward(da, None, *arrays, weights))
    # no step runs backward: every gradient is zero, shaped by da and the caches
    zeros = np.zeros((n_a, m), dtype)
    dW, db = np.zeros((4 * n_a, n_a + n_x), dtype), np.zeros((4 * n_a, 1), dtype)
    return _sequence_gradients(np.zeros((n_x, m, 0), dtype), zeros, zeros.copy(), dW, db)
