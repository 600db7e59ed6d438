"""Code using crnn's public API, for mypy: proof that the installed wheel is typed.

tools/check_wheel.sh runs ``mypy --strict --warn-unused-ignores`` on this file against the
installed wheel (from a folder without the sources), then runs it. ``assert_type`` fails
the check when a type is lost (an untyped module gives ``Any``); each ``type: ignore``
below marks a misuse that the stubs must reject, and an ignore that no error needs fails
the check too.
"""

from typing import Any, assert_type

import numpy as np
import numpy.typing as npt

import crnn
from crnn import _engine

Array = npt.NDArray[np.floating[Any]]

rng = np.random.default_rng(0)
x = rng.standard_normal((3, 10, 4))
a0 = rng.standard_normal((5, 10))
parameters = {
    "Waa": rng.standard_normal((5, 5)),
    "Wax": rng.standard_normal((5, 3)),
    "Wya": rng.standard_normal((2, 5)),
    "ba": rng.standard_normal((5, 1)),
    "by": rng.standard_normal((2, 1)),
}

a, y_pred, caches = crnn.rnn_forward(x, a0, parameters)
assert_type(a, Array)
assert_type(y_pred, Array)
gradients = crnn.rnn_backward(np.ones_like(a), caches)
assert_type(gradients, dict[str, Array])

a_next, yt_pred, cache = crnn.rnn_cell_forward(x[:, :, 0], a0, parameters)
assert_type(a_next, Array)
assert_type(crnn.rnn_cell_backward(np.ones_like(a_next), cache)["dWaa"], Array)

lstm_parameters = {
    **{f"W{gate}": rng.standard_normal((5, 8)) for gate in "fico"},
    **{f"b{gate}": rng.standard_normal((5, 1)) for gate in "fico"},
    "Wy": rng.standard_normal((2, 5)),
    "by": rng.standard_normal((2, 1)),
}
a, y, c, lstm_caches = crnn.lstm_forward(x, a0, lstm_parameters, c0=a0)
assert_type(c, Array)
lstm_gradients = crnn.lstm_backward(np.ones_like(a), lstm_caches)
assert_type(lstm_gradients, dict[str, Array])
a_next, c_next, yt_pred, lstm_cache = crnn.lstm_cell_forward(x[:, :, 0], a0, a0, lstm_parameters)
assert_type(crnn.lstm_cell_backward(np.ones_like(a_next), c_next, lstm_cache)["dc_prev"], Array)

gru_parameters = {
    **{f"W{gate}": rng.standard_normal((5, 8)) for gate in "urc"},
    **{f"b{gate}": rng.standard_normal((5, 1)) for gate in "urc"},
    "Wy": rng.standard_normal((2, 5)),
    "by": rng.standard_normal((2, 1)),
}
a, y_pred, gru_caches = crnn.gru_forward(x, a0, gru_parameters, reset_after=False)
assert_type(crnn.gru_backward(np.ones_like(a), gru_caches), dict[str, Array])
a_next, yt_pred, gru_cache = crnn.gru_cell_forward(x[:, :, 0], a0, gru_parameters)
assert_type(crnn.gru_cell_backward(np.ones_like(a_next), gru_cache)["da_prev"], Array)
assert_type(crnn.rnn_forward(x, a0, parameters, activation="relu")[0], Array)

assert_type(crnn.__version__, str)
assert_type(_engine.DEBUG_BUILD, bool)


def misuse() -> None:
    """Never called: each line is an error that the stubs must report."""
    crnn.rnn_forward(x, a0)  # type: ignore[call-arg]
    crnn.gru_forward(x, a0, gru_parameters, True)  # type: ignore[call-arg]
    crnn.rnn_backward(np.ones_like(a), "caches")  # type: ignore[arg-type]
    _ = crnn.rnn_cell_forward(x, a0, parameters).shape  # type: ignore[attr-defined]
    # the compiled kernels take arrays of one floating dtype
    i = np.zeros(1, np.int64)
    _engine.forward_kernel(0, i, i, None, i, i, None, i, i, None, None, i, None, i)  # type: ignore[type-var]
    crnn.lstm_forward(x, a0, lstm_parameters, a0)  # type: ignore[call-arg]
    crnn.lstm_cell_backward(np.ones_like(a_next), lstm_cache)  # type: ignore[call-arg]
    _engine.backward_kernel(0, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i)  # type: ignore[type-var]


print("typed API OK:", gradients["dWaa"].shape, lstm_gradients["dc0"].shape)
