"""crnn's own vectorised tanh and exp (csrc/), seen through the public functions.

With n_x = n_a = 1, Wax = 1, Waa = 0, ba = 0 and T_x = 1, rnn_forward's states are
exactly tanh(x) of every batch column; with Wya = (0, s) and by = (0, b), y[1] is the
softmax (logistic) of s·a + b, which goes through crnn's exp.
"""

import math

import numpy as np
import pytest

import crnn
from crnn.reference import softmax

ULP_TOLERANCE = 4


def _tanh_through_rnn(values, dtype):
    x = np.asarray(values, dtype).reshape(1, -1, 1)
    parameters = {
        "Wax": np.ones((1, 1), dtype),
        "Waa": np.zeros((1, 1), dtype),
        "Wya": np.ones((1, 1), dtype),
        "ba": np.zeros((1, 1), dtype),
        "by": np.zeros((1, 1), dtype),
    }
    a, _, _ = crnn.rnn_forward(x, np.zeros((1, x.shape[1]), dtype), parameters)
    return a.ravel()


def _ulps(got, want):
    """Distance in units in the last place, for finite arrays of one float dtype."""
    kind = {4: np.int32, 8: np.int64}[got.dtype.itemsize]
    g, w = got.view(kind).astype(np.int64), want.view(kind).astype(np.int64)
    # map the sign-magnitude bit patterns onto a monotonic integer line
    lo = np.iinfo(kind).min
    g = np.where(g < 0, lo - g, g)
    w = np.where(w < 0, lo - w, w)
    return np.abs(g - w)


def test_tanh_within_a_few_ulp_of_libm(dtype):
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.uniform(-25, 25, 40000),
            rng.uniform(-1, 1, 40000),
            rng.uniform(-1e-3, 1e-3, 10000),
            np.ldexp(rng.uniform(-1, 1, 10000), rng.integers(-140, 0, 10000)),
            np.linspace(-30, 30, 20001),
        ]
    ).astype(dtype)
    got = _tanh_through_rnn(values, dtype)
    libm = math.tanh if dtype == np.float64 else (lambda v: np.float32(math.tanh(v)))
    want = np.array([libm(float(v)) for v in values], dtype)
    assert got.dtype == dtype
    assert _ulps(got, want).max() <= ULP_TOLERANCE


def test_tanh_saturates_and_passes_nan(dtype):
    special = [np.inf, -np.inf, 25.0, -25.0, 1e30, -1e30, np.nan, 0.0]
    got = _tanh_through_rnn(special, dtype)
    np.testing.assert_array_equal(got[:6], [1, -1, 1, -1, 1, -1])
    assert np.isnan(got[6]) and got[7] == 0
    # tiny inputs keep full relative precision (no 1 - (1 - x) cancellation)
    tiny = np.array([1e-30, -3e-20, 1e-8], dtype)
    np.testing.assert_array_equal(_tanh_through_rnn(tiny, dtype), tiny)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 2e-15), (np.float32, 1e-6)])
def test_softmax_exp_matches_numpy(dtype, rtol):
    rng = np.random.default_rng(1)
    n = 20000
    x = rng.uniform(-3, 3, (1, n, 1)).astype(dtype)
    # logits down to -800 (float64) and -120 (float32): exp underflows to subnormals and 0
    scale = 800 if dtype == np.float64 else 120
    parameters = {
        "Wax": np.ones((1, 1), dtype),
        "Waa": np.zeros((1, 1), dtype),
        "Wya": np.array([[0.0], [scale]], dtype),
        "ba": np.zeros((1, 1), dtype),
        "by": np.array([[0.0], [0.5]], dtype),
    }
    a, y, _ = crnn.rnn_forward(x, np.zeros((1, n), dtype), parameters)
    # the logits rounded as crnn rounds them (one product, one sum, in dtype)
    z = (parameters["Wya"] @ a[:, :, 0] + parameters["by"]).astype(np.float64)
    want = softmax(z)
    got = y[:, :, 0].astype(np.float64)
    # relative where representable, absolute near underflow
    tiny = np.finfo(dtype).tiny
    assert np.all(np.abs(got - want) <= rtol * want + 2 * tiny)
    underflow = want[1].astype(dtype) == 0
    assert np.any(underflow) and np.all(got[1][underflow] == 0)
