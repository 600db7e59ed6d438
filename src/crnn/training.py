"""A whole training step in one call: forward, loss, and every gradient.

The states come from the cell's sequence forward (one kernel call), the logits of every
step from one matmul, the loss and its gradient from ``crnn.losses``, the output layer's
gradients from two matmuls, and the rest from the cell's sequence backward (one kernel
call). No Python code loops over time.
"""

import numpy as np

from crnn._cellspec import check_lengths
from crnn._validate import as_array, expect_ndim
from crnn.cells import get_cell
from crnn.forms import running_steps
from crnn.layers import Stack
from crnn.losses import sigmoid_binary_cross_entropy, softmax_cross_entropy
from crnn.output_layer import output_layer_backward, output_layer_forward

__all__ = ["LOSSES", "loss_and_grads", "rnn_loss_and_grads"]

#: The losses by the name ``loss=`` takes.
LOSSES = {"softmax": softmax_cross_entropy, "sigmoid": sigmoid_binary_cross_entropy}


def loss_and_grads(
    x,
    y,
    a0,
    parameters,
    loss="softmax",
    reduction="sum",
    output="sequence",
    cell="rnn",
    lengths=None,
    *,
    want_dx=True,
):
    """Forward pass, loss and full backward pass of a recurrent network with an output layer.

    Arguments:
    x -- inputs, of shape (n_x, m, T_x)
    y -- labels: for loss="softmax", class indices (m, T_x) or one-hot (n_y, m, T_x);
         for loss="sigmoid", 0/1 labels (n_y, m, T_x), or (m, T_x) when n_y = 1; with a
         many-to-one output, the same without the T_x axis
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- the cell's dict, output layer included ("Wya", "by" for the RNN)
    loss -- "softmax" (cross-entropy of the softmax) or "sigmoid" (the seed's per-step
            binary cross-entropy)
    reduction -- "sum" over the steps and examples, as in the seed, or "mean"
    output -- "sequence" (many-to-many, a label per step), or "last" or "mean" (many-to-one,
              a label per example from the last state or the mean of the states)
    cell -- "rnn" (or another name in crnn.cells.CELLS), a cell of crnn.cells, or a
            crnn.layers.Stack (then parameters is its flat dict)
    lengths -- None, or m integers in 1..T_x: example i has lengths[i] steps (see the
               course's sequence functions); the steps past them leave the loss out
               (their labels are not read), "last" reads each example's last step and
               "mean" averages its own steps; "mean" reduction averages over the steps
               that count
    want_dx -- False to leave "dx" out (not computed): training needs only the
               parameters' gradients

    Returns:
    loss -- a Python float
    gradients -- dict with "d" + name for every parameter (e.g. "dWax", "dWaa", "dba",
                 "dWya", "dby"), "da0" (n_a, m) and "dx" (n_x, m, T_x) with want_dx
    """
    if not isinstance(cell, Stack):
        cell = get_cell(cell)
    try:
        loss_fn = LOSSES[loss]
    except (KeyError, TypeError):
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}") from None
    x = as_array("x", x)
    expect_ndim("x", x, "(n_x, m, T_x)")
    if lengths is not None:
        lengths = check_lengths(lengths, x.shape[1], x.shape[2])
    a, caches = cell.forward(x, a0, parameters, lengths=lengths)
    h = cell.pool(a, output, lengths)
    logits = output_layer_forward(h, parameters, cell.output_weight)
    value, dlogits = _loss_of(loss_fn, logits, y, reduction, output, lengths)
    head = output_layer_backward(dlogits, h, parameters, cell.output_weight)
    dh = head.pop("da")
    da = cell.pool_backward(dh, a, output, lengths)
    gradients = cell.backward(da, caches, want_dx)
    gradients.update(head)
    return value, gradients


def _loss_of(loss_fn, logits, y, reduction, output, lengths):
    """The loss and dlogits of the logits of every step (or every example), with
    lengths over the steps that count only, dlogits zero at the others."""
    if lengths is None or output != "sequence":
        return loss_fn(logits, y, reduction)
    valid = running_steps(lengths, logits.shape[2])  # the steps that count, by example
    y = as_array("y", y)
    m, T = logits.shape[1:]
    if y.shape not in ((m, T), logits.shape):
        raise ValueError(
            f"y must have shape (m, T_x) = {(m, T)} or (n_y, m, T_x) = "
            f"{logits.shape} with lengths, got {y.shape}"
        )
    value, d_valid = loss_fn(logits[:, valid], y[valid] if y.ndim == 2 else y[:, valid], reduction)
    dlogits = np.zeros_like(logits)
    dlogits[:, valid] = d_valid
    return value, dlogits


def model_loss(
    x, y, a0, parameters, cell, loss="softmax", reduction="mean", output="sequence", lengths=None
):
    """The loss of loss_and_grads, from a forward pass alone (no caches, no gradients):
    a validation loss. The arguments are loss_and_grads's, checked by the caller
    (crnn.models)."""
    a = cell.states(x, a0, parameters, lengths=lengths)
    h = cell.pool(a, output, lengths)
    logits = output_layer_forward(h, parameters, cell.output_weight)
    return _loss_of(LOSSES[loss], logits, y, reduction, output, lengths)[0]


def rnn_loss_and_grads(x, y, a0, parameters, loss="softmax", reduction="sum", output="sequence"):
    """``loss_and_grads`` for the course's vanilla RNN.

    Arguments:
    x, y, a0, loss, reduction, output -- as for loss_and_grads
    parameters -- dict with "Wax" (n_a, n_x), "Waa" (n_a, n_a), "Wya" (n_y, n_a),
                  "ba" (n_a, 1), "by" (n_y, 1)

    Returns:
    loss -- a Python float
    gradients -- dict with "dWax", "dWaa", "dba", "dWya", "dby", "da0" and "dx"
    """
    return loss_and_grads(x, y, a0, parameters, loss, reduction, output, cell="rnn")
