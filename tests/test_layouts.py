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


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", list(_orders(np.zeros((1, 1, 1)))))
def test_memory_orders_of_x_and_da(order, dtype):
    x, a0, parameters, da = random_rnn_problem(*SHAPE, dtype=dtype, seed=3)
    a_ref, y_ref, caches_ref = reference.rnn_forward(x, a0, parameters)
    want = reference.rnn_backward(da, caches_ref)
    xo, dao = _orders(x)[order], _orders(da)[order]
    a, y, caches = crnn.rnn_forward(xo, a0, parameters)
    assert_close(a, a_ref, dtype, "a")
    assert_close(y, y_ref, dtype, "y")
    for source, cc in (("crnn", caches), ("course", caches_ref)):
        got = crnn.rnn_backward(dao, cc)
        for key in want:
            assert_close(got[key], want[key], dtype, f"{source} caches: {key}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", list(_orders(np.zeros((1, 1, 1)))))
def test_lstm_memory_orders_of_x_and_da(order, dtype):
    x, a0, parameters, da = random_lstm_problem(*SHAPE, dtype=dtype, seed=3)
    a_ref, y_ref, c_ref, caches_ref = reference.lstm_forward(x, a0, parameters)
    want = reference.lstm_backward(da, caches_ref)
    xo, dao = _orders(x)[order], _orders(da)[order]
    before = xo.copy(), dao.copy()
    a, y, c, caches = crnn.lstm_forward(xo, a0, parameters)
    assert_close(a, a_ref, dtype, "a")
    assert_close(y, y_ref, dtype, "y")
    assert_close(c, c_ref, dtype, "c")
    for source, cc in (("crnn", caches), ("course", caches_ref)):
        got = crnn.lstm_backward(dao, cc)
        for key in want:
            assert_close(got[key], want[key], dtype, f"{source} caches: {key}")
    np.testing.assert_array_equal(xo, before[0])
    np.testing.assert_array_equal(dao, before[1])
