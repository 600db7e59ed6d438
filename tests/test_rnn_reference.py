"""crnn's vanilla RNN against crnn.reference, the plain-numpy course code."""
import numpy as np
import pytest

import crnn
from crnn import reference
from crnn.testing import assert_close, random_rnn_problem

DTYPES = [np.float64, np.float32]

# (n_x, n_a, n_y, m, T_x): all ones, the course's sizes, odd sizes, m = 1, T = 1
FIXED_SHAPES = [
    (1, 1, 1, 1, 1),
    (3, 5, 2, 10, 4),
    (7, 3, 4, 1, 9),
    (2, 9, 3, 5, 1),
    (13, 17, 11, 7, 5),
    (1, 31, 2, 3, 12),
    (40, 8, 1, 2, 6),
]


def _random_shapes(count, seed=1234):
    rng = np.random.default_rng(seed)
    shapes = rng.integers(1, 24, size=(count, 5))
    shapes[:, 4] = rng.integers(1, 16, size=count)  # T_x
    return [tuple(int(v) for v in s) for s in shapes]


RANDOM_SHAPES = _random_shapes(300)


def _check_sequence(shape, dtype, seed):
    x, a0, parameters, da = random_rnn_problem(*shape, dtype=dtype, seed=seed)
    a, y, caches = crnn.rnn_forward(x, a0, parameters)
    a_ref, y_ref, caches_ref = reference.rnn_forward(x, a0, parameters)
    assert a.dtype == dtype and y.dtype == dtype
    assert_close(a, a_ref, dtype, "a")
    assert_close(y, y_ref, dtype, "y_pred")
    grads = crnn.rnn_backward(da, caches)
    grads_ref = reference.rnn_backward(da, caches_ref)
    assert sorted(grads) == sorted(grads_ref) == ["dWaa", "dWax", "da0", "dba", "dx"]
    for key in grads_ref:
        assert grads[key].dtype == dtype, key
        assert_close(grads[key], grads_ref[key], dtype, key)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", FIXED_SHAPES)
def test_sequence_matches_reference(shape, dtype):
    _check_sequence(shape, dtype, seed=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 300, 4, 50, 3), (5, 37, 4, 3, 20)],
                         ids=["n_a^2*m past 2^22", "n_a not a multiple of the C tiles"])
def test_recurrent_weight_copied_or_read_as_stored(shape, dtype):
    # the forward loop copies a C-ordered Waa into Fortran order (float64, and float32
    # while n_a²·m <= 2^22) or reads it in place, transposed; an F-ordered one as stored
    _check_sequence(shape, dtype, seed=5)
    x, a0, parameters, da = random_rnn_problem(*shape, dtype=dtype, seed=6)
    fortran = {**parameters, "Waa": np.asfortranarray(parameters["Waa"])}
    a, y, _ = crnn.rnn_forward(x, a0, fortran)
    a_ref, y_ref, _ = reference.rnn_forward(x, a0, parameters)
    assert_close(a, a_ref, dtype, "a")
    assert_close(y, y_ref, dtype, "y_pred")


@pytest.mark.parametrize("dtype", DTYPES)
def test_sequence_matches_reference_on_random_shapes(dtype):
    for i, shape in enumerate(RANDOM_SHAPES):
        try:
            _check_sequence(shape, dtype, seed=i)
        except AssertionError as exc:
            raise AssertionError(f"shape {shape}: {exc}") from None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", FIXED_SHAPES)
def test_cell_matches_reference(shape, dtype):
    x, a0, parameters, da = random_rnn_problem(*shape, dtype=dtype, seed=1)
    xt = x[:, :, 0]
    a_next, yt, cache = crnn.rnn_cell_forward(xt, a0, parameters)
    a_ref, yt_ref, cache_ref = reference.rnn_cell_forward(xt, a0, parameters)
    assert_close(a_next, a_ref, dtype, "a_next")
    assert_close(yt, yt_ref, dtype, "yt_pred")
    grads = crnn.rnn_cell_backward(da[:, :, 0], cache)
    grads_ref = reference.rnn_cell_backward(da[:, :, 0], cache_ref)
    assert sorted(grads) == sorted(grads_ref) == ["dWaa", "dWax", "da_prev", "dba", "dxt"]
    for key in grads_ref:
        assert grads[key].dtype == dtype, key
        assert_close(grads[key], grads_ref[key], dtype, key)


def test_long_sequence_float32_stays_close():
    """A hundred steps at a stable gain: float32 rounding must not accumulate."""
    _check_sequence((16, 32, 8, 4, 100), np.float32, seed=5)


def test_softmax_is_stable_for_large_logits():
    x, a0, parameters, _ = random_rnn_problem(4, 6, 5, 3, 4, seed=2)
    parameters["by"] = np.array([[1000.0], [999.0], [-1000.0], [0.0], [1000.0]])
    _, y, _ = crnn.rnn_forward(x, a0, parameters)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y.sum(axis=0), 1.0, rtol=1e-12)
    _, y_ref, _ = reference.rnn_forward(x, a0, parameters)
    assert_close(y, y_ref, np.float64, "y_pred")


def test_float32_is_computed_in_float32():
    """float32 inputs must not be computed in float64 and rounded at the end."""
    x, a0, parameters, da = random_rnn_problem(20, 30, 5, 8, 30, dtype=np.float32, seed=3)
    a, _, caches = crnn.rnn_forward(x, a0, parameters)
    p64 = {k: v.astype(np.float64) for k, v in parameters.items()}
    a64, _, _ = reference.rnn_forward(x.astype(np.float64), a0.astype(np.float64), p64)
    # float32 arithmetic leaves a difference far above float64 rounding, yet small
    err = np.max(np.abs(a - a64))
    assert 1e-9 < err < 1e-4
