"""The course's vanilla RNN functions, computed by crnn's Cython kernels.

Same signatures, shapes, cache tuples and gradient dicts as the course's numpy code
(see ``crnn.reference``); ``rnn_backward`` returns the real ``da0``.
"""
import numpy as np

from crnn import _arrays, _rnn
from crnn._caches import (
    CellCache,
    ForwardCaches,
    ReluCache,
    cache_is_relu,
    check_activation,
    backward_inputs,
    forward_buffers,
    no_steps,
    stack_steps,
)
from crnn._validate import (
    BLAS_INT_MAX,
    as_array,
    bias,
    check_blas_sizes,
    check_parameters,
    compute_dtype,
    expect_ndim,
    mismatch,
    weight,
)

__all__ = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward"]


#: The form of rnn_cell_forward's cache.
_CACHE = CellCache(("a_next", "a_prev", "xt", "parameters"), "rnn_cell_forward")


# --- forward -------------------------------------------------------------------------


def _forward(x, x_name, a_prev, a_name, parameters, relu):
    """Validate, then run the forward kernel over x of shape (n_x, m, T), or (n_x, m)
    for one step; the activation is relu if relu, else tanh.

    Returns the arrays a (n_a, m, T) and y (n_y, m, T), in the kernels' layout.
    """
    expect_ndim(a_name, a_prev, "(n_a, m)")
    check_parameters(parameters)
    Wax = weight(parameters, "Wax", "(n_a, n_x)")
    Waa = weight(parameters, "Waa", "(n_a, n_a)")
    Wya = weight(parameters, "Wya", "(n_y, n_a)")
    n_x, m, T = x.shape if x.ndim == 3 else (*x.shape, 1)
    n_a = a_prev.shape[0]
    n_y = Wya.shape[0]
    if Waa.shape != (n_a, n_a):
        raise mismatch('parameters["Waa"]', Waa, a_name, a_prev, "Waa must be (n_a, n_a)")
    if Wax.shape[0] != n_a:
        raise mismatch('parameters["Wax"]', Wax, a_name, a_prev, "Wax must be (n_a, n_x)")
    if Wax.shape[1] != n_x:
        raise mismatch('parameters["Wax"]', Wax, x_name, x, "Wax must be (n_a, n_x)")
    if a_prev.shape[1] != m:
        raise mismatch(a_name, a_prev, x_name, x, "the batch sizes m disagree")
    if Wya.shape[1] != n_a:
        raise mismatch('parameters["Wya"]', Wya, a_name, a_prev, "Wya must be (n_y, n_a)")
    if n_y == 0:
        raise ValueError(f'n_y must be at least 1, got parameters["Wya"] of shape {Wya.shape}')
    ba = bias(parameters, "ba", n_a)
    by = bias(parameters, "by", n_y)
    if max(n_x, n_a, n_y, m, T, m * T, n_a * T) > BLAS_INT_MAX:
        check_blas_sizes(x_name, x, n_x=n_x, m=m, T_x=T, **{"m*T_x": m * T})
        # n_a·T_x is the distance between a step's columns in crnn's buffers
        check_blas_sizes(a_name, a_prev, n_a=n_a, **{"n_a*T_x": n_a * T})
        check_blas_sizes('parameters["Wya"]', Wya, n_y=n_y)

    dtype = compute_dtype(x, a_prev, Wax, Waa, Wya, ba, by)
    a = _arrays.new_sequence(n_a, m, T, dtype)
    y = _arrays.new_sequence(n_y, m, T, dtype)
    if m and T:
        # the kernel reads the inputs in place where it can, else converts each once
        _rnn.rnn_forward_kernel(x.reshape(n_x, m * T), a_prev, Wax, Waa, ba, Wya, by, a, y, relu)
    return a, y


def rnn_cell_forward(xt, a_prev, parameters, *, activation="tanh"):
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
    fast = _rnn.rnn_forward_fast(xt, a_prev, parameters, True, relu)  # None unless the common case
    if fast is None:
        x = as_array("xt", xt)
        expect_ndim("xt", x, "(n_x, m)")
        fast = _forward(x, "xt", as_array("a_prev", a_prev), "a_prev", parameters, relu)
    a, y = fast
    a_next = a[:, :, 0]
    cache = (a_next, a_prev, xt, parameters)
    return a_next, y[:, :, 0], ReluCache(cache) if relu else cache


def rnn_forward(x, a0, parameters, *, activation="tanh"):
    """The RNN over a whole sequence, in one call into the kernel.

    Arguments:
    x -- input for every step, of shape (n_x, m, T_x)
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- dict as for rnn_cell_forward
    activation -- "tanh" (the course's) or "relu", as for rnn_cell_forward

    Returns:
    a -- hidden states of every step, of shape (n_a, m, T_x)
    y_pred -- predictions of every step, of shape (n_y, m, T_x)
    caches -- (list of the T_x cell caches (a_next, a_prev, xt, parameters), x);
              the caches hold views into a and x, not copies
    """
    relu = check_activation(activation)
    fast = _rnn.rnn_forward_fast(x, a0, parameters, False, relu)  # None unless the common case
    if fast is None:
        xa = as_array("x", x)
        expect_ndim("x", xa, "(n_x, m, T_x)")
        a, y = _forward(xa, "x", as_array("a0", a0), "a0", parameters, relu)
    else:
        (a, y), xa = fast, x
    # a_prev of step t is the very view a_next of step t-1, as in the course's loop
    caches = _rnn.step_caches(a, a0, xa, parameters)
    if relu:
        caches = [ReluCache(cache) for cache in caches]
    return a, y, (ForwardCaches(caches, a, xa), x)


# --- backward ------------------------------------------------------------------------


def _backward(da, a, a0, a_prev, x, Wax, Waa, relu):
    """Run the backward kernel over T steps; the arguments are validated real arrays,
    their sizes checked against BLAS's limit; relu: the activation is relu, else tanh.

    Arguments:
    da -- upstream gradient of every state, (n_a, m, T)
    a -- the state a_t of every step, (n_a, m, T)
    a0 -- the state before step 0, (n_a, m)
    a_prev -- the state before every step, (n_a, m, T), or None when it is a0 then a
              shifted by one step (the common case, which needs no copy)
    x -- the input of every step, (n_x, m, T)
    Wax, Waa -- the weights, (n_a, n_x) and (n_a, n_a)

    Returns:
    dx (n_x, m, T), da0 (n_a, m), dWax (n_a, n_x), dWaa (n_a, n_a), dba (n_a, 1)
    """
    n_a, m, T = da.shape
    n_x = x.shape[0]
    mT = m * T
    arrays = (da, a, a0, x, Wax, Waa) if a_prev is None else (da, a, a0, a_prev, x, Wax, Waa)
    dtype = compute_dtype(*arrays)
    dx = _arrays.new_sequence(n_x, m, T, dtype)
    da0 = np.empty((n_a, m), dtype, order="F")
    dWax = np.empty((n_a, n_x), dtype)
    dWaa = np.empty((n_a, n_a), dtype)
    dba = np.empty((n_a, 1), dtype)
    if n_a and m and T:
        # the kernel reads the inputs in place where it can, else converts each once
        _rnn.rnn_backward_kernel(
            da, a, a0, a_prev, x.reshape(n_x, mT), Wax, Waa,
            _arrays.new_fortran_matrix(n_a, mT, dtype), dx, da0, dWax, dWaa, dba.reshape(n_a),
            relu,
        )
    else:
        for arr in (dx, da0, dWax, dWaa, dba):
            arr.fill(0)
    return dx, da0, dWax, dWaa, dba


def _backward_weights(parameters, n_a, n_x):
    """Wax and Waa of the cache's parameters, checked against n_a and n_x."""
    check_parameters(parameters)
    Wax = weight(parameters, "Wax", "(n_a, n_x)")
    Waa = weight(parameters, "Waa", "(n_a, n_a)")
    for key, arr, shape in (("Wax", Wax, (n_a, n_x)), ("Waa", Waa, (n_a, n_a))):
        if arr.shape != shape:
            raise ValueError(
                f'parameters["{key}"] must have shape {shape} to match the caches, '
                f"got {arr.shape}"
            )
    return Wax, Waa


def rnn_cell_backward(da_next, cache):
    """The backward pass of one RNN step.

    Arguments:
    da_next -- gradient of the loss with respect to a_next, of shape (n_a, m)
    cache -- (a_next, a_prev, xt, parameters), the output of rnn_cell_forward (its
             activation, tanh or relu, is read from the cache)

    Returns:
    gradients -- dict with "dxt" (n_x, m), "da_prev" (n_a, m), "dWax" (n_a, n_x),
                 "dWaa" (n_a, n_a), "dba" (n_a, 1)
    """
    grads = _rnn.rnn_cell_backward_fast(da_next, cache)  # None unless the common case
    if grads is not None:
        return grads
    da_next = _CACHE.da_next(cache, da_next)
    n_x = _CACHE.xt_of(cache, "cache").shape[0]
    n_a, m = da_next.shape
    a_next, a_prev, xt = _CACHE.arrays(cache, "cache", n_a, m, n_x, "da_next")
    Wax, Waa = _backward_weights(cache[3], n_a, n_x)
    check_blas_sizes("da_next", da_next, n_a=n_a, m=m)
    check_blas_sizes("cache[2] (xt)", xt, n_x=n_x)
    dx, da_prev, dWax, dWaa, dba = _backward(
        da_next[:, :, None], a_next[:, :, None], a_prev, None, xt[:, :, None], Wax, Waa,
        cache_is_relu(cache, "cache"),
    )
    return {"dxt": dx[:, :, 0], "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}


def _sequence_arrays(cell_caches, T, n_a, m, xt0):
    """The states, first previous state, previous states and inputs of the first T steps.

    Caches made by ``rnn_forward`` give views of its buffers; any other list of cell
    caches (the course's forward, a user's loop over rnn_cell_forward) is stacked once.
    The first cache's a_next is known to be (n_a, m); xt0 is its xt, (n_x, m). The
    previous states are None when each step's a_prev is the a_next of the step before
    (then the kernel reads them from the states).

    Returns:
    a (n_a, m, T), a0 (n_a, m), a_prev (n_a, m, T) or None, x (n_x, m, T)
    """
    first = cell_caches[0]
    n_x = xt0.shape[0]
    buffers = forward_buffers(cell_caches)
    if buffers is not None:
        a_all, x_all = buffers
        a0 = _CACHE.initial_state(first, "caches[0][0]", 1, n_a, m)
        return a_all[:, :, :T], a0, None, x_all[:, :, :T]
    steps = [_CACHE.arrays(cell_caches[t], f"caches[0][{t}]", n_a, m, n_x, "da") for t in range(T)]
    if not steps:
        a0 = as_array("caches[0][0][1] (a_prev)", first[1])
        empty = np.empty((n_a, m, 0), a0.dtype)
        return empty, a0, None, np.empty((n_x, m, 0), xt0.dtype)
    dtype = np.result_type(*{arr.dtype for step in steps for arr in step})

    def stacked(k):
        """Item k of every step stacked into the kernels' layout."""
        return stack_steps([step[k] for step in steps], dtype)

    chained = all(cell_caches[t][1] is cell_caches[t - 1][0] for t in range(1, T))
    a_prev = None if chained else stacked(1)
    return stacked(0), steps[0][1], a_prev, stacked(2)


def rnn_backward(da, caches):
    """The backward pass of the RNN over a whole sequence, in one call into the kernel.

    Arguments:
    da -- upstream gradients of every hidden state, of shape (n_a, m, T_x); with fewer
          steps than the caches, the first T_x caches are used, as in the course
    caches -- (list of cell caches, x), the output of rnn_forward (crnn's or the course's);
              the activation, tanh or relu, is read from the first cell cache

    Returns:
    gradients -- dict with "dx" (n_x, m, T_x), "da0" (n_a, m), "dWax" (n_a, n_x),
                 "dWaa" (n_a, n_a), "dba" (n_a, 1); da0 is the gradient that reaches a0
    """
    if type(caches) is tuple and len(caches) == 2:
        buffers = forward_buffers(caches[0])
        if buffers is not None and caches[0]:  # crnn's caches: try the common case first
            first = caches[0][0]
            grads = _rnn.rnn_backward_fast(da, buffers[0], first[1], buffers[1], first[3],
                                           type(first) is ReluCache)
            if grads is not None:
                return grads
    da, cell_caches, x = backward_inputs(da, caches, "rnn_forward")
    n_a, m, T = da.shape
    if not cell_caches:
        # nothing ran forward: every gradient is zero, shaped by da and x
        n_x, dtype = no_steps(da, x)
        return {
            "dx": np.zeros((n_x, m, 0), dtype),
            "da0": np.zeros((n_a, m), dtype),
            "dWax": np.zeros((n_a, n_x), dtype),
            "dWaa": np.zeros((n_a, n_a), dtype),
            "dba": np.zeros((n_a, 1), dtype),
        }
    xt0 = _CACHE.first_step(cell_caches, da)
    n_x = xt0.shape[0]
    a, a0, a_prev, xs = _sequence_arrays(cell_caches, T, n_a, m, xt0)
    Wax, Waa = _backward_weights(cell_caches[0][3], n_a, n_x)
    dx, da0, dWax, dWaa, dba = _backward(da, a, a0, a_prev, xs, Wax, Waa,
                                         cache_is_relu(cell_caches[0], "caches[0][0]"))
    return {"dx": dx, "da0": da0, "dWax": dWax, "dWaa": dWaa, "dba": dba}
