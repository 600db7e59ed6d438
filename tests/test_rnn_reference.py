"""crnn's vanilla RNN against crnn.reference, the plain-numpy course code: what is the
RNN's own (its kernel's thresholds, long float32 sequences, the softmax of large logits).
Every cell's agreement over shapes and dtypes is in test_reference.py."""

import numpy as np
import pytest
from conftest import assert_sequence_matches_reference

import crnn
from crnn import reference
from crnn.cells import CELLS
from crnn.testing import assert_close, random_rnn_problem

RNN = CELLS["rnn"]()


@pytest.mark.parametrize(
    "shape",
    [(5, 300, 4, 50, 3), (5, 37, 4, 3, 20)],
    ids=["n_a^2*m past 2^22", "n_a not a multiple of the C tiles"],
)
def test_recurrent_weight_copied_or_read_as_stored(shape, dtype):
    # the forward loop copies a C-ordered Waa into Fortran order (float64, and float32
    # while n_a²·m <= 2^22) or reads it in place, transposed; an F-ordered one as stored
    assert_sequence_matches_reference(RNN, shape, dtype, seed=5)
    x, a0, parameters, da = random_rnn_problem(*shape, dtype=dtype, seed=6)
    fortran = {**parameters, "Waa": np.asfortranarray(parameters["Waa"])}
    a, y, _ = crnn.rnn_forward(x, a0, fortran)
    a_ref, y_ref, _ = reference.rnn_forward(x, a0, parameters)
    assert_close(a, a_ref, dtype, "a")
    assert_close(y, y_ref, dtype, "y_pred")


def test_long_sequence_float32_stays_close():
    """A hundred steps at a stable gain: float32 rounding must not accumulate."""
    assert_sequence_matches_reference(RNN, (16, 32, 8, 4, 100), np.float32, seed=5)


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
