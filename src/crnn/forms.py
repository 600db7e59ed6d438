"""The RNN forms of the seed's section 四, as parts to build models from.

- many-to-many with T_y = T_x (tagging): the output layer reads every state ``a``.
- many-to-one (classification): the output layer reads one state per example, the last
  one or a pool of all of them: ``pool_states`` / ``pool_states_backward``.
- one-to-many (generation): ``sample`` runs one step at a time and feeds each sampled
  output back as the next input.
- encoder-decoder with T_x != T_y: an encoder's last state starts a decoder; see
  ``examples/encoder_decoder.py``, built from the parts here and in ``crnn.training``.
"""

import numpy as np

from crnn._validate import as_array, expect_ndim

__all__ = ["OUTPUTS", "pool_states", "pool_states_backward", "running_steps", "sample"]

#: What the output layer reads: "sequence" (many-to-many) or a pooled state (many-to-one).
OUTPUTS = ("sequence", "last", "mean")


def _check_output(output):
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")


def running_steps(lengths, T):
    """(m, T) booleans: the steps each example has."""
    return np.arange(T)[None, :] < np.asarray(lengths)[:, None]


def pool_states(a, output, lengths=None):
    """The states the output layer reads.

    Arguments:
    a -- hidden states of every step, (n_a, m, T_x)
    output -- "sequence" (a itself), "last" (a[:, :, -1]) or "mean" (over the steps)
    lengths -- None, or each example's steps (see crnn.rnn_forward): "mean" then
               averages its own; "last" needs nothing more, a[:, :, -1] holding each
               example's last state

    Returns:
    h -- (n_a, m, T_x) for "sequence", else (n_a, m)
    """
    _check_output(output)
    if output == "sequence":
        return a
    if a.shape[2] == 0:
        raise ValueError(f"a many-to-one output needs at least one step, got a of shape {a.shape}")
    if output == "last":
        return a[:, :, -1]
    if lengths is not None:
        return np.einsum("nmt,mt->nm", a, running_steps(lengths, a.shape[2])) / lengths
    return a.mean(axis=2)


def pool_states_backward(dh, a, output, lengths=None):
    """The gradient of every state from the gradient of the pooled states.

    Arguments:
    dh -- gradient of the loss with respect to pool_states(a, output)
    a -- hidden states of every step, (n_a, m, T_x)
    output, lengths -- as for pool_states

    Returns:
    da -- (n_a, m, T_x) in the layout of a (the cell's own, which its backward pass reads
          in place), the upstream gradient for the backward pass
    """
    _check_output(output)
    if output == "sequence":
        return dh
    da = np.zeros_like(a, dh.dtype)
    if output == "last":
        da[:, :, -1] = dh
    elif lengths is not None:
        da[...] = (dh / lengths)[:, :, None] * running_steps(lengths, a.shape[2])
    else:
        da[...] = (dh / a.shape[2])[:, :, None]
    return da


def sample(parameters, a0, T_y, x0=None, seed=None, greedy=False, cell="rnn"):
    """Generate T_y steps, feeding each sampled output back as the next input (one-to-many).

    Step t reads x_t, the one-hot of the output sampled at step t-1 (x0 at step 0), so the
    inputs and outputs share one vocabulary: n_x = n_y.

    Arguments:
    parameters -- the cell's parameters dict, its output layer included
    a0 -- initial hidden state, (n_a, m)
    T_y -- number of steps to generate
    x0 -- first input, (n_x, m); zeros when None, as in the course's sampling
    seed -- int or numpy.random.Generator for the draws
    greedy -- take the most likely output at each step instead of drawing one
    cell -- "rnn" (or another name in crnn.cells.CELLS)

    Returns:
    indices -- the sampled outputs, (m, T_y) ints
    probabilities -- the distribution each was drawn from, (n_y, m, T_y)
    """
    from crnn.cells import get_cell  # crnn.cells reads this module's pooling

    cell = get_cell(cell)
    a0 = as_array("a0", a0)
    expect_ndim("a0", a0, "(n_a, m)")
    m = a0.shape[1]
    n_y = as_array(f'parameters["{cell.output_weight}"]', parameters[cell.output_weight]).shape[0]
    if x0 is None:
        x0 = np.zeros((n_y, m), a0.dtype)
    xt = as_array("x0", x0)
    expect_ndim("x0", xt, "(n_x, m)")
    if xt.shape[0] != n_y:
        raise ValueError(
            f"sample feeds outputs back as inputs, so n_x must equal n_y = {n_y}; "
            f"x0 has shape {xt.shape}"
        )
    rng = np.random.default_rng(seed)
    indices = np.empty((m, T_y), np.intp)
    probabilities = []
    columns = np.arange(m)
    state = cell.initial_state(a0)
    for t in range(T_y):
        state, p = cell.step(xt, state, parameters)
        probabilities.append(p)
        if greedy:
            idx = np.argmax(p, axis=0)
        else:
            # inverse CDF per column; min() guards against a last cumsum just below u
            idx = np.minimum((np.cumsum(p, axis=0) < rng.random(m)).sum(axis=0), n_y - 1)
        indices[:, t] = idx
        xt = np.zeros_like(p)
        xt[idx, columns] = 1
    if not probabilities:
        return indices, np.empty((n_y, m, 0))
    return indices, np.stack(probabilities, axis=2)
