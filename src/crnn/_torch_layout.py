"""One layer and direction of a recurrent cell in PyTorch's layout, and crnn's parameters.

PyTorch's layout is crnn.interop's common ground (Keras's and ONNX's weights are
reordered to it): ``(w_ih (G·n_a, n_in), w_hh (G·n_a, n_a), b_ih (G·n_a,), b_hh (G·n_a,))``
with the G gates stacked in PyTorch's order: the RNN's one; the LSTM's i, f, g, o (the
course's update, forget, candidate and output gates); the GRU's r, z, n, PyTorch's
update gate z being 1 - u of crnn's. The GRU in the lecture's convention, which
``nn.GRU`` does not compute, keeps that order, its candidate's recurrent weight applied
to ``r·a_prev`` (ONNX's ``linear_before_reset=0``, Keras's ``reset_after=False``).
"""

import numpy as np

from crnn.gru import torch_gru_parameters

#: The gates of each cell, in PyTorch's order.
GATES = {"rnn": ("h",), "lstm": ("i", "f", "c", "o"), "gru": ("r", "z", "n")}


def gate_blocks(w, order):
    """w's G gate blocks of rows (each len(w) / G long) in the given order: the
    permutation between PyTorch's gate order and another framework's."""
    n = w.shape[0] // len(order)
    return np.concatenate([w[k * n : (k + 1) * n] for k in order])


def _rows(n_a, k):
    return slice(k * n_a, (k + 1) * n_a)


def to_crnn(cell, reset_after, w_ih, w_hh, b_ih, b_hh):
    """crnn's parameters of one layer and direction (new arrays, in the weights' dtype).

    Arguments:
    cell -- "rnn", "lstm" or "gru"
    reset_after -- for the GRU, its convention (see crnn.gru)
    w_ih, w_hh, b_ih, b_hh -- the layer in PyTorch's layout, numpy arrays

    Returns:
    parameters -- the cell's dict, without an output layer
    """
    n_a = w_hh.shape[1]
    b = b_ih + b_hh
    if cell == "rnn":
        return {"Wax": w_ih.copy(), "Waa": w_hh.copy(), "ba": b[:, None]}
    if cell == "gru" and reset_after:
        return torch_gru_parameters(w_ih, w_hh, b_ih, b_hh)

    def gate(k, sign=1):
        rows = _rows(n_a, k)
        return sign * np.concatenate((w_hh[rows], w_ih[rows]), axis=1), sign * b[rows, None]

    if cell == "lstm":
        parameters = {}
        for k, g in enumerate(GATES["lstm"]):
            parameters["W" + g], parameters["b" + g] = gate(k)
        return parameters
    (Wr, br), (Wu, bu), (Wc, bc) = gate(0), gate(1, -1), gate(2)
    return {"Wu": Wu, "bu": bu, "Wr": Wr, "br": br, "Wc": Wc, "bc": bc}


def from_crnn(cell, reset_after, parameters):
    """One layer and direction of crnn's parameters in PyTorch's layout (to_crnn's
    inverse): (w_ih, w_hh, b_ih, b_hh), b_hh zero but for the reset_after GRU's
    candidate, which keeps its recurrent bias apart."""
    if cell == "rnn":
        w_ih, w_hh, b = parameters["Wax"], parameters["Waa"], parameters["ba"]
    elif cell == "lstm":
        W = np.concatenate([parameters["W" + g] for g in GATES["lstm"]])
        b = np.concatenate([parameters["b" + g] for g in GATES["lstm"]])
        n_a = W.shape[0] // 4
        w_ih, w_hh = W[:, n_a:], W[:, :n_a]
    elif reset_after:
        Wu, Wr = parameters["Wu"], parameters["Wr"]
        n_a = Wu.shape[0]
        w_ih = np.concatenate((Wr[:, n_a:], -Wu[:, n_a:], parameters["Wcx"]))
        w_hh = np.concatenate((Wr[:, :n_a], -Wu[:, :n_a], parameters["Wca"]))
        b = np.concatenate((parameters["br"], -parameters["bu"], parameters["bcx"]))
        b_hh = np.concatenate((np.zeros_like(b[: 2 * n_a]), parameters["bca"]))
        return w_ih, w_hh, b.reshape(-1), b_hh.reshape(-1)
    else:
        W = np.concatenate((parameters["Wr"], -parameters["Wu"], parameters["Wc"]))
        b = np.concatenate((parameters["br"], -parameters["bu"], parameters["bc"]))
        n_a = W.shape[0] // 3
        w_ih, w_hh = W[:, n_a:], W[:, :n_a]
    w_ih, w_hh, b = (np.array(w, copy=True) for w in (w_ih, w_hh, b.reshape(-1)))
    return w_ih, w_hh, b, np.zeros_like(b)
