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
import numpy as np

from crnn import _arrays, _engine
from crnn._caches import CellCache, ForwardCaches, backward_inputs, forward_buffers, no_steps, stack_steps
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

__all__ = ["gru_cell_forward", "gru_forward", "gru_cell_backward", "gru_backward",
           "parameter_shapes", "torch_gru_parameters"]

#: The form of gru_cell_forward's cache.
_CACHE = CellCache(("a_next", "a_prev", "ut", "rt", "cct", "xt", "parameters"), "gru_cell_forward")


def parameter_shapes(n_x, n_a, reset_after=False):
    """The GRU cell's parameters (output layer excluded), in the order of its gradients.

    Returns:
    dict name -> (shape, blocks); blocks lists (role, first column, last column) with role
    "input", "recurrent" or "bias", the parts an initialiser fills separately
    """
    weight = ((n_a, n_a + n_x), [("recurrent", 0, n_a), ("input", n_a, n_a + n_x)])
    bias = ((n_a, 1), [("bias", 0, 1)])
    shapes = {"Wu": weight, "bu": bias, "Wr": weight, "br": bias}
    if reset_after:
        shapes.update(Wcx=((n_a, n_x), [("input", 0, n_x)]),
                      Wca=((n_a, n_a), [("recurrent", 0, n_a)]), bcx=bias, bca=bias)
    else:
        shapes.update(Wc=weight, bc=bias)
    return shapes


def torch_gru_parameters(weight_ih, weight_hh, bias_ih=None, bias_hh=None):
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
        raise ValueError(f"weight_hh must be (3n_a, n_a) and weight_ih (3n_a, n_x), got "
                         f"{W_h.shape} and {W_i.shape}")
    zeros = np.zeros(3 * n_a, W_h.dtype)
    b_i = zeros if bias_ih is None else np.asarray(bias_ih)
    b_h = zeros if bias_hh is None else np.asarray(bias_hh)
    for name, b in (("bias_ih", b_i), ("bias_hh", b_h)):
        if b.shape != (3 * n_a,):
            raise ValueError(f"{name} must be ({3 * n_a},), got {b.shape}")
    r, z, n = slice(0, n_a), slice(n_a, 2 * n_a), slice(2 * n_a, 3 * n_a)
    return {
        "Wu": -np.concatenate((W_h[z], W_i[z]), axis=1), "bu": -(b_i[z] + b_h[z])[:, None],
        "Wr": np.concatenate((W_h[r], W_i[r]), axis=1), "br": (b_i[r] + b_h[r])[:, None],
        "Wcx": W_i[n].copy(), "Wca": W_h[n].copy(),
        "bcx": b_i[n][:, None].copy(), "bca": b_h[n][:, None].copy(),
    }


def _packed(parameters, n_a, n_x, reset_after, context):
    """The packed weight W (3n_a, n_a+n_x) = [Wu; Wr; Wc] (the candidate's row block
    [Wca | Wcx] with reset_after), the packed bias b (3n_a) and bca (n_a) or None, all
    checked against n_a and n_x, in their promoted dtype.

    context -- what the sizes came from, for the messages (e.g. "a0 of shape (4, 5) and
               x of shape (3, 5, 6)")
    """
    blocks = []
    keys = ("Wu", "Wr") if reset_after else ("Wu", "Wr", "Wc")
    for key in keys:
        W = weight(parameters, key, "(n_a, n_a + n_x)")
        if W.shape != (n_a, n_a + n_x):
            raise ValueError(f'parameters["{key}"] must have shape (n_a, n_a + n_x) = '
                             f"{(n_a, n_a + n_x)} for {context}, got {W.shape}")
        blocks.append(W)
    if reset_after:
        Wcx = weight(parameters, "Wcx", "(n_a, n_x)")
        Wca = weight(parameters, "Wca", "(n_a, n_a)")
        for key, W, form, shape in (("Wcx", Wcx, "(n_a, n_x)", (n_a, n_x)),
                                    ("Wca", Wca, "(n_a, n_a)", (n_a, n_a))):
            if W.shape != shape:
                raise ValueError(f'parameters["{key}"] must have shape {form} = {shape} for '
                                 f"{context}, got {W.shape}")
        blocks.append(np.concatenate((Wca, Wcx), axis=1))
    biases = [bias(parameters, key, n_a) for key in ("bu", "br", "bcx" if reset_after else "bc")]
    bca = bias(parameters, "bca", n_a) if reset_after else None
    return np.concatenate(blocks), np.concatenate(biases), bca


def _check_sizes(n_x, n_a, n_y, m, T, x_name, x, a_name, a):
    """ValueError before any allocation if a size handed to BLAS passes its 32-bit limit."""
    if max(n_x + n_a, 3 * n_a, n_y, m * T, 3 * n_a * T) > BLAS_INT_MAX:
        check_blas_sizes(x_name, x, **{"n_a+n_x": n_x + n_a, "m*T_x": m * T})
        check_blas_sizes(a_name, a, **{"3*n_a": 3 * n_a, "3*n_a*T_x": 3 * n_a * T})
        check_blas_sizes(x_name, x, n_y=n_y)


# --- forward -------------------------------------------------------------------------


def _forward(x, x_name, a0, a_name, parameters, reset_after):
    """Validate, then run the GRU over x (n_x, m, T).

    Returns the arrays a (n_a, m, T), y (n_y, m, T), gates (3n_a, m, T) and aux
    (n_a, m, T), in the kernels' layout, and x as the kernel read it (C-ordered, the
    compute dtype).
    """
    expect_ndim(a_name, a0, "(n_a, m)")
    check_parameters(parameters)
    Wy = weight(parameters, "Wy", "(n_y, n_a)")
    n_x, m, T = x.shape
    n_a = a0.shape[0]
    n_y = Wy.shape[0]
    if a0.shape[1] != m:
        raise mismatch(a_name, a0, x_name, x, "the batch sizes m disagree")
    if Wy.shape[1] != n_a:
        raise mismatch('parameters["Wy"]', Wy, a_name, a0, "Wy must be (n_y, n_a)")
    if n_y == 0:
        raise ValueError(f'n_y must be at least 1, got parameters["Wy"] of shape {Wy.shape}')
    W, b, bca = _packed(parameters, n_a, n_x, reset_after,
                        f"{a_name} of shape {a0.shape} and {x_name} of shape {x.shape}")
    by = bias(parameters, "by", n_y)
    _check_sizes(n_x, n_a, n_y, m, T, x_name, x, a_name, a0)
    dtype = compute_dtype(x, a0, W, b, Wy, by, *(() if bca is None else (bca,)))
    a = _arrays.new_sequence(n_a, m, T, dtype)
    y = _arrays.new_sequence(n_y, m, T, dtype)
    gates = _arrays.new_sequence(3 * n_a, m, T, dtype)
    aux = _arrays.new_sequence(n_a, m, T, dtype)
    xc = np.require(x, dtype, ("C", "A"))
    if n_a and m and T:
        W, b, by = (np.require(arr, dtype, ("C", "A")) for arr in (W, b, by))
        bca = None if bca is None else np.require(bca, dtype, ("C", "A"))
        _engine.gru_forward_kernel(
            xc.reshape(n_x, m * T), np.require(a0, dtype, ("F", "A")), W, b, bca,
            np.require(Wy, dtype, "A"), by, gates, aux, a, y,
        )
    elif m and T:
        # n_a = 0: no state; the output layer sees nothing but its bias
        a.fill(0)
        gates.fill(0)
        y[...] = _softmax_of_bias(by.astype(dtype), n_y)[:, None, None]
    return a, y, gates, aux, xc


def _softmax_of_bias(by, n_y):
    e = np.exp(by - by.max())
    return e / e.sum()


def _step_caches(a, a0, gates, xa, parameters):
    """The cell caches of every step: views into a, gates and the caller's x."""
    n_a, _, T = a.shape
    caches = []
    a_prev = a0
    for t in range(T):
        a_t = a[:, :, t]
        g = gates[:, :, t]
        caches.append((a_t, a_prev, g[:n_a], g[n_a:2 * n_a], g[2 * n_a:], xa[:, :, t], parameters))
        a_prev = a_t
    return caches


def gru_cell_forward(xt, a_prev, parameters, *, reset_after=False):
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
    x = as_array("xt", xt)
    expect_ndim("xt", x, "(n_x, m)")
    a, y, gates, _, _ = _forward(x[:, :, None], "xt", as_array("a_prev", a_prev), "a_prev",
                                 parameters, reset_after)
    n_a = a.shape[0]
    g = gates[:, :, 0]
    a_next = a[:, :, 0]
    return a_next, y[:, :, 0], (a_next, a_prev, g[:n_a], g[n_a:2 * n_a], g[2 * n_a:], xt, parameters)


def gru_forward(x, a0, parameters, *, reset_after=False):
    """The GRU over a whole sequence, in one call into the engine.

    Arguments:
    x -- input for every step, of shape (n_x, m, T_x)
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- dict as for gru_cell_forward
    reset_after -- as for gru_cell_forward

    Returns:
    a -- hidden states of every step, of shape (n_a, m, T_x)
    y_pred -- predictions of every step, of shape (n_y, m, T_x)
    caches -- (list of the T_x cell caches (a_next, a_prev, ut, rt, cct, xt, parameters),
              x); the caches hold views into a, the gates and x, not copies
    """
    xa = as_array("x", x)
    expect_ndim("x", xa, "(n_x, m, T_x)")
    a0a = as_array("a0", a0)
    a, y, gates, aux, xc = _forward(xa, "x", a0a, "a0", parameters, reset_after)
    caches = _step_caches(a, a0, gates, xa, parameters)
    return a, y, (ForwardCaches(caches, a, gates, aux, xc, a0a), x)


# --- backward ------------------------------------------------------------------------


def _sequence(cell_caches, T, n_a, m, n_x):
    """The arrays of the first T steps: the states a (n_a, m, T), the states before every
    step p (n_a, m, T; None for crnn's caches: then a0 and a shifted by one step), a0
    (n_a, m), gates (3n_a, m, T), aux (n_a, m, T; None for caches not crnn's) and x
    (n_x, m, T); from crnn's buffers when the caches are crnn's and intact, else stacked
    from the caches, whose a_prev need not be the a_next of the step before."""
    buffers = forward_buffers(cell_caches)
    if buffers is not None:
        a, gates, aux, x, a0 = buffers
        a0 = _CACHE.initial_state(cell_caches[0], "caches[0][0]", 1, n_a, m)
        if T < a.shape[2]:
            a, gates, aux, x = (arr[:, :, :T] for arr in (a, gates, aux, x))
        return a, None, a0, gates, aux, x
    steps = [_CACHE.arrays(cell_caches[t], f"caches[0][{t}]", n_a, m, n_x, "da") for t in range(T)]
    dtype = np.result_type(*{arr.dtype for step in steps for arr in step})
    a, p, u, r, cc, x = (stack_steps([step[k] for step in steps], dtype) for k in range(6))
    # aux comes from the parameters and the previous states, once the dtype is known
    return a, p, steps[0][1], np.concatenate((u, r, cc)), None, x


def _backward(da, cell_caches):
    """The gradients of the first da.shape[2] steps of cell_caches (checked by form);
    returns dx (n_x, m, T), da0 (n_a, m) and the parameters' gradients by key."""
    n_a, m, T = da.shape
    xt0 = _CACHE.first_step(cell_caches, da)
    n_x = xt0.shape[0]
    parameters = cell_caches[0][-1]
    check_parameters(parameters)
    reset_after = "Wca" in parameters
    W, b, bca = _packed(parameters, n_a, n_x, reset_after, "the caches")
    a, p, a0, gates, aux, x = _sequence(cell_caches, T, n_a, m, n_x)
    dtype = compute_dtype(da, a, a0, gates, x, W)
    if p is None:
        p = _arrays.new_sequence(n_a, m, T, dtype)
        p[:, :, 0] = a0
        p[:, :, 1:] = a[:, :, :T - 1]
    p = _arrays.as_sequence(p, dtype)
    gates = _arrays.as_sequence(gates, dtype)
    if aux is None:
        # what the forward kept besides the gates: r*a_prev, or Wca·a_prev + bca
        aux = _arrays.new_sequence(n_a, m, T, dtype)
        if reset_after:
            hc = W[2 * n_a:, :n_a].astype(dtype) @ p.reshape(n_a, m * T) + bca.astype(dtype)[:, None]
            aux.reshape(n_a, m * T)[...] = hc
        else:
            np.multiply(gates[n_a:2 * n_a], p, out=aux)
    aux = _arrays.as_sequence(aux, dtype)
    dx = _arrays.new_sequence(n_x, m, T, dtype)
    da0 = np.empty((n_a, m), dtype, order="F")
    dW = np.empty(W.shape, dtype)
    db = np.empty(3 * n_a, dtype)
    dbca = np.empty(n_a, dtype) if reset_after else None
    _engine.gru_backward_kernel(
        da, gates, aux, p, np.require(x, dtype, ("C", "A")).reshape(n_x, m * T),
        np.require(W, dtype, ("C", "A")), reset_after, dx, da0, dW, db, dbca,
    )
    grads = {"dWu": dW[:n_a], "dbu": db[:n_a, None], "dWr": dW[n_a:2 * n_a], "dbr": db[n_a:2 * n_a, None]}
    if reset_after:
        grads.update(dWcx=dW[2 * n_a:, n_a:], dWca=dW[2 * n_a:, :n_a], dbcx=db[2 * n_a:, None],
                     dbca=dbca[:, None])
    else:
        grads.update(dWc=dW[2 * n_a:], dbc=db[2 * n_a:, None])
    return dx, da0, grads


def gru_cell_backward(da_next, cache):
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
    da_next = _CACHE.da_next(cache, da_next)
    _CACHE.xt_of(cache, "cache")
    if 0 in da_next.shape:
        grads = _zero_gradients(da_next[:, :, None], [cache])
    else:
        dx, da0, grads = _backward(da_next[:, :, None], [cache])
        grads = {"dx": dx, "da0": da0, **grads}
    return {"dxt": grads.pop("dx")[:, :, 0], "da_prev": grads.pop("da0"), **grads}


def gru_backward(da, caches):
    """The backward pass of the GRU over a whole sequence, in one call into the engine.

    Arguments:
    da -- upstream gradients of every hidden state, of shape (n_a, m, T_x); with fewer
          steps than the caches, the first T_x caches are used, as in the course
    caches -- (list of cell caches, x), the output of gru_forward (crnn's or crnn.reference's)

    Returns:
    gradients -- dict with "dx" (n_x, m, T_x), "da0" (n_a, m), and "d" + each key of the
                 cell's parameters, summed over the steps; da0 is the gradient that
                 reaches a0
    """
    da, cell_caches, x = backward_inputs(da, caches, "gru_forward")
    if not cell_caches or 0 in da.shape:
        return _zero_gradients(da, cell_caches, x)
    dx, da0, grads = _backward(da, cell_caches)
    return {"dx": dx, "da0": da0, **grads}


def _zero_gradients(da, cell_caches, x=None):
    """The zero gradients of a backward pass with an empty n_a, m or T, shaped by da
    (n_a, m, T), by n_x and by the keys of the cached parameters (the lecture's when
    there are no caches: then n_x comes from x)."""
    n_a, m, T = da.shape
    if cell_caches:
        xt0 = _CACHE.first_step(cell_caches, da) if T else _CACHE.xt_of(cell_caches[0], "caches[0][0]")
        n_x, dtype = xt0.shape[0], compute_dtype(da, xt0)
        check_parameters(cell_caches[0][-1])
        reset_after = "Wca" in cell_caches[0][-1]
    else:
        (n_x, dtype), reset_after = no_steps(da, x), False
    grads = {"d" + key: np.zeros(shape, dtype)
             for key, (shape, _) in parameter_shapes(n_x, n_a, reset_after).items()}
    return {"dx": np.zeros((n_x, m, T), dtype), "da0": np.zeros((n_a, m), dtype), **grads}
