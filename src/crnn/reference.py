"""Plain-numpy implementations of the course's functions, written from the formulas.

This module is crnn's oracle: the tests compare every kernel against it, and the
benchmarks use it as the baseline. It is the course's code, with the seed's bug fixed
(``rnn_backward`` returns the real ``da0``), a softmax that is stable column by
column, and the LSTM's two extensions, ``lstm_forward(..., c0=)`` and ``"dc0"``. It
shares no code with the fast path, so a bug in one cannot hide in the other.
"""

import numpy as np

__all__ = [
    "softmax",
    "sigmoid",
    "rnn_cell_forward",
    "rnn_forward",
    "rnn_cell_backward",
    "rnn_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "lstm_cell_backward",
    "lstm_backward",
    "gru_cell_forward",
    "gru_forward",
    "gru_cell_backward",
    "gru_backward",
]


def softmax(z):
    """Softmax of each column of z (axis 0), stable for large logits.

    Arguments:
    z -- array of logits, of shape (n_y, ...)

    Returns:
    s -- array of the shape of z whose columns sum to 1
    """
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def sigmoid(z):
    """The logistic function 1 / (1 + exp(-z))."""
    return 1 / (1 + np.exp(-z))


class _ReluCache(tuple):
    """A relu RNN step's cache: the course's 4-tuple, marked with its activation."""

    __slots__ = ()
    activation = "relu"


def rnn_cell_forward(xt, a_prev, parameters, *, activation="tanh"):
    """One step of the RNN cell.

    Arguments:
    xt -- input at step t, of shape (n_x, m)
    a_prev -- hidden state at step t-1, of shape (n_a, m)
    parameters -- dict with "Wax" (n_a, n_x), "Waa" (n_a, n_a), "Wya" (n_y, n_a),
                  "ba" (n_a, 1), "by" (n_y, 1)
    activation -- "tanh" (the course's) or "relu"

    Returns:
    a_next -- next hidden state, of shape (n_a, m)
    yt_pred -- prediction at step t, of shape (n_y, m)
    cache -- (a_next, a_prev, xt, parameters), marked activation = "relu" for relu
    """
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]
    Wya = parameters["Wya"]
    ba = parameters["ba"]
    by = parameters["by"]
    z = np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba
    a_next = np.maximum(z, 0) if activation == "relu" else np.tanh(z)
    yt_pred = softmax(np.dot(Wya, a_next) + by)
    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, _ReluCache(cache) if activation == "relu" else cache


def rnn_forward(x, a0, parameters, *, activation="tanh"):
    """The RNN over a whole sequence.

    Arguments:
    x -- input for every step, of shape (n_x, m, T_x)
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- dict as for rnn_cell_forward
    activation -- "tanh" or "relu", as for rnn_cell_forward

    Returns:
    a -- hidden states of every step, of shape (n_a, m, T_x)
    y_pred -- predictions of every step, of shape (n_y, m, T_x)
    caches -- (list of the T_x cell caches, x)
    """
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    a_next = a0
    for t in range(T_x):
        a_next, yt_pred, cache = rnn_cell_forward(
            x[:, :, t], a_next, parameters, activation=activation
        )
        a[:, :, t] = a_next
        y_pred[:, :, t] = yt_pred
        caches.append(cache)
    return a, y_pred, (caches, x)


def rnn_cell_backward(da_next, cache):
    """The backward pass of one RNN step.

    Arguments:
    da_next -- gradient of the loss with respect to a_next, of shape (n_a, m)
    cache -- (a_next, a_prev, xt, parameters), the output of rnn_cell_forward

    Returns:
    gradients -- dict with "dxt" (n_x, m), "da_prev" (n_a, m), "dWax" (n_a, n_x),
                 "dWaa" (n_a, n_a), "dba" (n_a, 1)
    """
    a_next, a_prev, xt, parameters = cache
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]
    if getattr(cache, "activation", "tanh") == "relu":
        dtanh = (a_next > 0) * da_next  # the gradient of the pre-activation
    else:
        dtanh = (1 - a_next**2) * da_next
    return {
        "dxt": np.dot(Wax.T, dtanh),
        "da_prev": np.dot(Waa.T, dtanh),
        "dWax": np.dot(dtanh, xt.T),
        "dWaa": np.dot(dtanh, a_prev.T),
        "dba": np.sum(dtanh, axis=1, keepdims=True),
    }


def rnn_backward(da, caches):
    """The backward pass of the RNN over a whole sequence.

    Arguments:
    da -- upstream gradients of every hidden state, of shape (n_a, m, T_x)
    caches -- (list of cell caches, x), the output of rnn_forward

    Returns:
    gradients -- dict with "dx" (n_x, m, T_x), "da0" (n_a, m), "dWax" (n_a, n_x),
                 "dWaa" (n_a, n_a), "dba" (n_a, 1)
    """
    cell_caches, x = caches
    n_a, m, T_x = da.shape
    n_x = cell_caches[0][2].shape[0]
    dx = np.zeros((n_x, m, T_x))
    dWax = np.zeros((n_a, n_x))
    dWaa = np.zeros((n_a, n_a))
    dba = np.zeros((n_a, 1))
    da_prevt = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        grads = rnn_cell_backward(da[:, :, t] + da_prevt, cell_caches[t])
        da_prevt = grads["da_prev"]
        dx[:, :, t] = grads["dxt"]
        dWax += grads["dWax"]
        dWaa += grads["dWaa"]
        dba += grads["dba"]
    # the seed's "da0 = None" is a bug: the gradient reaching a0 is da_prev of step 0
    return {"dx": dx, "da0": da_prevt, "dWax": dWax, "dWaa": dWaa, "dba": dba}


#: The LSTM's gates, in the order of their weights "Wf", "Wi", "Wc", "Wo".
_LSTM_GATES = ("f", "i", "c", "o")


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
    cache -- (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    """
    concat = np.concatenate((a_prev, xt), axis=0)
    ft = sigmoid(np.dot(parameters["Wf"], concat) + parameters["bf"])
    it = sigmoid(np.dot(parameters["Wi"], concat) + parameters["bi"])
    cct = np.tanh(np.dot(parameters["Wc"], concat) + parameters["bc"])
    c_next = ft * c_prev + it * cct
    ot = sigmoid(np.dot(parameters["Wo"], concat) + parameters["bo"])
    a_next = ot * np.tanh(c_next)
    yt_pred = softmax(np.dot(parameters["Wy"], a_next) + parameters["by"])
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, yt_pred, cache


def lstm_forward(x, a0, parameters, *, c0=None):
    """The LSTM over a whole sequence.

    Arguments:
    x -- input for every step, of shape (n_x, m, T_x)
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- dict as for lstm_cell_forward
    c0 -- initial cell state, of shape (n_a, m); zeros when None, as in the course

    Returns:
    a -- hidden states of every step, of shape (n_a, m, T_x)
    y -- predictions of every step, of shape (n_y, m, T_x)
    c -- cell states of every step, of shape (n_a, m, T_x)
    caches -- (list of the T_x cell caches, x)
    """
    caches = []
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    a = np.zeros((n_a, m, T_x))
    c = np.zeros((n_a, m, T_x))
    y = np.zeros((n_y, m, T_x))
    a_next = a0
    c_next = np.zeros(a0.shape) if c0 is None else c0
    for t in range(T_x):
        a_next, c_next, yt, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a[:, :, t] = a_next
        c[:, :, t] = c_next
        y[:, :, t] = yt
        caches.append(cache)
    return a, y, c, (caches, x)


def lstm_cell_backward(da_next, dc_next, cache):
    """The backward pass of one LSTM step.

    Arguments:
    da_next -- gradient of the loss with respect to a_next, of shape (n_a, m)
    dc_next -- gradient of the loss with respect to c_next, of shape (n_a, m)
    cache -- (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters),
             the output of lstm_cell_forward

    Returns:
    gradients -- dict with "dxt" (n_x, m), "da_prev" (n_a, m), "dc_prev" (n_a, m),
                 "dWf", "dWi", "dWc", "dWo" (n_a, n_a + n_x), "dbf", "dbi", "dbc",
                 "dbo" (n_a, 1)
    """
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters = cache
    n_a = a_next.shape[0]
    tanh_c = np.tanh(c_next)
    dc = dc_next + ot * (1 - tanh_c**2) * da_next
    gate_grads = {
        "f": dc * c_prev * ft * (1 - ft),
        "i": dc * cct * it * (1 - it),
        "c": dc * it * (1 - cct**2),
        "o": da_next * tanh_c * ot * (1 - ot),
    }
    concat = np.concatenate((a_prev, xt), axis=0)
    gradients = {"dxt": 0, "da_prev": 0, "dc_prev": dc * ft}
    for gate in _LSTM_GATES:
        d = gate_grads[gate]
        W = parameters["W" + gate]
        gradients["da_prev"] = gradients["da_prev"] + np.dot(W[:, :n_a].T, d)
        gradients["dxt"] = gradients["dxt"] + np.dot(W[:, n_a:].T, d)
        gradients["dW" + gate] = np.dot(d, concat.T)
        gradients["db" + gate] = np.sum(d, axis=1, keepdims=True)
    return gradients


def lstm_backward(da, caches):
    """The backward pass of the LSTM over a whole sequence.

    Arguments:
    da -- upstream gradients of every hidden state, of shape (n_a, m, T_x)
    caches -- (list of cell caches, x), the output of lstm_forward

    Returns:
    gradients -- dict with "dx" (n_x, m, T_x), "da0" (n_a, m), "dWf", "dWi", "dWc",
                 "dWo" (n_a, n_a + n_x), "dbf", "dbi", "dbc", "dbo" (n_a, 1), and
                 "dc0" (n_a, m), the gradient that reaches the initial cell state
    """
    cell_caches, x = caches
    n_a, m, T_x = da.shape
    n_x = cell_caches[0][8].shape[0]
    dx = np.zeros((n_x, m, T_x))
    sums = {}
    for gate in _LSTM_GATES:
        sums["dW" + gate] = np.zeros((n_a, n_a + n_x))
        sums["db" + gate] = np.zeros((n_a, 1))
    da_prevt = np.zeros((n_a, m))
    dc_prevt = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        step = lstm_cell_backward(da[:, :, t] + da_prevt, dc_prevt, cell_caches[t])
        da_prevt = step["da_prev"]
        dc_prevt = step["dc_prev"]
        dx[:, :, t] = step["dxt"]
        for key in sums:
            sums[key] += step[key]
    return {"dx": dx, "da0": da_prevt, **sums, "dc0": dc_prevt}


# --- GRU ------------------------------------------------------------------------------
# The lecture's convention: the reset gate scales a_prev before the candidate's product,
#   ut = sigmoid(Wu·[a_prev; xt] + bu),  rt = sigmoid(Wr·[a_prev; xt] + br),
#   cct = tanh(Wc·[rt*a_prev; xt] + bc),  a_next = ut*cct + (1 - ut)*a_prev.
# With reset_after (PyTorch's, Keras's default, cuDNN's) the candidate's recurrent part
# keeps its own weight and bias, and the reset gate scales their sum:
#   cct = tanh(Wcx·xt + bcx + rt*(Wca·a_prev + bca)).
# The parameter keys say which: "Wc" and "bc", or "Wcx", "Wca", "bcx" and "bca".


def _gru_reset_after(parameters):
    return "Wca" in parameters


def gru_cell_forward(xt, a_prev, parameters, *, reset_after=False):
    """One step of the GRU cell.

    Arguments:
    xt -- input at step t, of shape (n_x, m)
    a_prev -- hidden state at step t-1, of shape (n_a, m)
    parameters -- dict with "Wu", "Wr" (n_a, n_a + n_x), "bu", "br" (n_a, 1), "Wy"
                  (n_y, n_a), "by" (n_y, 1), and "Wc" (n_a, n_a + n_x), "bc" (n_a, 1);
                  with reset_after, "Wcx" (n_a, n_x), "Wca" (n_a, n_a), "bcx", "bca"
                  (n_a, 1) instead of "Wc" and "bc"
    reset_after -- which convention (see above)

    Returns:
    a_next -- next hidden state, of shape (n_a, m)
    yt_pred -- prediction at step t, of shape (n_y, m)
    cache -- (a_next, a_prev, ut, rt, cct, xt, parameters)
    """
    concat = np.concatenate((a_prev, xt), axis=0)
    ut = sigmoid(np.dot(parameters["Wu"], concat) + parameters["bu"])
    rt = sigmoid(np.dot(parameters["Wr"], concat) + parameters["br"])
    if reset_after:
        hc = np.dot(parameters["Wca"], a_prev) + parameters["bca"]
        cct = np.tanh(np.dot(parameters["Wcx"], xt) + parameters["bcx"] + rt * hc)
    else:
        gated = np.concatenate((rt * a_prev, xt), axis=0)
        cct = np.tanh(np.dot(parameters["Wc"], gated) + parameters["bc"])
    a_next = ut * cct + (1 - ut) * a_prev
    yt_pred = softmax(np.dot(parameters["Wy"], a_next) + parameters["by"])
    return a_next, yt_pred, (a_next, a_prev, ut, rt, cct, xt, parameters)


def gru_forward(x, a0, parameters, *, reset_after=False):
    """The GRU over a whole sequence.

    Arguments:
    x -- input for every step, of shape (n_x, m, T_x)
    a0 -- initial hidden state, of shape (n_a, m)
    parameters -- dict as for gru_cell_forward
    reset_after -- as for gru_cell_forward

    Returns:
    a -- hidden states of every step, of shape (n_a, m, T_x)
    y_pred -- predictions of every step, of shape (n_y, m, T_x)
    caches -- (list of the T_x cell caches, x)
    """
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wy"].shape
    dtype = np.result_type(x, a0, *parameters.values())
    a = np.zeros((n_a, m, T_x), dtype)
    y_pred = np.zeros((n_y, m, T_x), dtype)
    caches = []
    a_next = a0
    for t in range(T_x):
        a_next, yt, cache = gru_cell_forward(
            x[:, :, t], a_next, parameters, reset_after=reset_after
        )
        a[:, :, t] = a_next
        y_pred[:, :, t] = yt
        caches.append(cache)
    return a, y_pred, (caches, x)


def gru_cell_backward(da_next, cache):
    """The backward pass of one GRU step; the convention is read from the cached
    parameters' keys.

    Arguments:
    da_next -- gradient of the loss with respect to a_next, of shape (n_a, m)
    cache -- (a_next, a_prev, ut, rt, cct, xt, parameters), the output of gru_cell_forward

    Returns:
    gradients -- dict with "dxt" (n_x, m), "da_prev" (n_a, m), and "d" + every key of
                 the cell's parameters: "dWu", "dbu", "dWr", "dbr", then "dWc", "dbc" or
                 "dWcx", "dWca", "dbcx", "dbca"
    """
    a_next, a_prev, ut, rt, cct, xt, parameters = cache
    n_a = a_prev.shape[0]
    dcct = da_next * ut * (1 - cct**2)  # the candidate's pre-activation
    dut = da_next * (cct - a_prev) * ut * (1 - ut)
    da_prev = da_next * (1 - ut)
    grads = {}
    if _gru_reset_after(parameters):
        hc = np.dot(parameters["Wca"], a_prev) + parameters["bca"]
        drt = dcct * hc * rt * (1 - rt)
        dhc = dcct * rt
        da_prev = da_prev + np.dot(parameters["Wca"].T, dhc)
        dxt = np.dot(parameters["Wcx"].T, dcct)
        candidate = {
            "dWcx": np.dot(dcct, xt.T),
            "dWca": np.dot(dhc, a_prev.T),
            "dbcx": np.sum(dcct, axis=1, keepdims=True),
            "dbca": np.sum(dhc, axis=1, keepdims=True),
        }
    else:
        Wc = parameters["Wc"]
        dgated = np.dot(Wc[:, :n_a].T, dcct)  # the gradient of rt*a_prev
        drt = dgated * a_prev * rt * (1 - rt)
        da_prev = da_prev + dgated * rt
        dxt = np.dot(Wc[:, n_a:].T, dcct)
        gated = np.concatenate((rt * a_prev, xt), axis=0)
        candidate = {"dWc": np.dot(dcct, gated.T), "dbc": np.sum(dcct, axis=1, keepdims=True)}
    concat = np.concatenate((a_prev, xt), axis=0)
    for gate, d in (("u", dut), ("r", drt)):
        W = parameters["W" + gate]
        da_prev = da_prev + np.dot(W[:, :n_a].T, d)
        dxt = dxt + np.dot(W[:, n_a:].T, d)
        grads["dW" + gate] = np.dot(d, concat.T)
        grads["db" + gate] = np.sum(d, axis=1, keepdims=True)
    return {"dxt": dxt, "da_prev": da_prev, **grads, **candidate}


def gru_backward(da, caches):
    """The backward pass of the GRU over a whole sequence.

    Arguments:
    da -- upstream gradients of every hidden state, of shape (n_a, m, T_x)
    caches -- (list of cell caches, x), the output of gru_forward

    Returns:
    gradients -- dict with "dx" (n_x, m, T_x), "da0" (n_a, m), and "d" + every key of
                 the cell's parameters, summed over the steps
    """
    cell_caches, x = caches
    n_a, m, T_x = da.shape
    n_x = cell_caches[0][5].shape[0]
    dx = np.zeros((n_x, m, T_x), da.dtype)
    sums = {}
    da_prevt = np.zeros((n_a, m), da.dtype)
    for t in reversed(range(T_x)):
        step = gru_cell_backward(da[:, :, t] + da_prevt, cell_caches[t])
        da_prevt = step.pop("da_prev")
        dx[:, :, t] = step.pop("dxt")
        for key, value in step.items():
            sums[key] = sums[key] + value if key in sums else value
    return {"dx": dx, "da0": da_prevt, **sums}


# --- losses (crnn.losses' oracle) ------------------------------------------------------


def softmax_cross_entropy(y_pred, y):
    """The summed cross-entropy of the course's softmax outputs against class indices.

    Arguments:
    y_pred -- softmax probabilities, of shape (n_y, m, T_y)
    y -- class indices, of shape (m, T_y)

    Returns:
    loss -- sum over steps and examples of -log y_pred[y]
    dlogits -- gradient of loss with respect to the logits: y_pred - one_hot(y)
    """
    n_y, m, T_y = y_pred.shape
    loss = 0.0
    dlogits = y_pred.copy()
    for t in range(T_y):
        for i in range(m):
            loss -= np.log(y_pred[y[i, t], i, t])
            dlogits[y[i, t], i, t] -= 1
    return loss, dlogits


def sigmoid_binary_cross_entropy(y_hat, y):
    """The seed's loss: sum over t of -y·log(ŷ) - (1-y)·log(1-ŷ), with ŷ = sigmoid(z).

    Arguments:
    y_hat -- sigmoid outputs, of shape (n_y, m, T_y)
    y -- 0/1 labels, of the shape of y_hat

    Returns:
    loss -- the sum over every output, step and example
    dlogits -- gradient of loss with respect to the logits: y_hat - y
    """
    loss = np.sum(-y * np.log(y_hat) - (1 - y) * np.log(1 - y_hat))
    return loss, y_hat - y


__all__ += ["softmax_cross_entropy", "sigmoid_binary_cross_entropy"]
