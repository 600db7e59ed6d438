"""Every memory order of x and da gives the reference's results, and leaves them untouched.

The kernels of both cells read the course's C-ordered x in place (BLAS transposed) and da
with its own strides; other orders are converted once. Each case below takes another path.
"""
import numpy as np
import pytest

import crnn
from crnn import reference
from crnn.testing import assert_close, random_lstm_problem, random_rnn_problem

SHAPE = (4, 6, 3, 5, 7)


def _orders(arr):
    """arr in several memory orders, each with the same values."""
    return {
        "C": arr,
        "F": np.asfortranarray(arr),
        "time-major": arr.transpose(2, 0, 1).copy().transpose(1, 2, 0),
        "batch-last": arr.transpose(2, 0, 1).copy(order="F").transpose(1, 2, 0),
        "reversed": arr[::-1, ::-1, ::-1].copy()[::-1, ::-1, ::-1],
    }


#: Each cell's random problem; its functions are named after it in crnn and crnn.reference.
CELLS = {"rnn": random_rnn_problem, "lstm": random_lstm_problem}


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", list(_orders(np.zeros((1, 1, 1)))))
def test_memory_orders_of_x_and_da(cell, order, dtype):
    x, a0, parameters, da = CELLS[cell](*SHAPE, dtype=dtype, seed=3)
    forward, backward = f"{cell}_forward", f"{cell}_backward"
    *outputs_ref, caches_ref = getattr(reference, forward)(x, a0, parameters)
    want = getattr(reference, backward)(da, caches_ref)
    xo, dao = _orders(x)[order], _orders(da)[order]
    before = xo.copy(), dao.copy()
    *outputs, caches = getattr(crnn, forward)(xo, a0, parameters)
    for k, (got, ref) in enumerate(zip(outputs, outputs_ref)):
        assert_close(got, ref, dtype, f"output {k}")  # a, y (and the LSTM's c)
    for source, cc in (("crnn", caches), ("course", caches_ref)):
        got = getattr(crnn, backward)(dao, cc)
        for key in want:
            assert_close(got[key], want[key], dtype, f"{source} caches: {key}")
    np.testing.assert_array_equal(xo, before[0])
    np.testing.assert_array_equal(dao, before[1])
