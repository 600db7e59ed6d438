"""Finite-difference checks of crnn's gradients, in float64: the RNN's in detail, then
every cell of the registry (crnn.cells.variants())."""

import numpy as np
import pytest
from conftest import assert_course_pass_matches_finite_differences

import crnn
from crnn.testing import numeric_gradient


def _problem(seed=0, n_x=3, n_a=4, n_y=2, m=3, T=5):
    rng = np.random.default_rng(seed)
    parameters = {
        "Wax": rng.standard_normal((n_a, n_x)) * 0.7,
        "Waa": rng.standard_normal((n_a, n_a)) * 0.5,
        "Wya": rng.standard_normal((n_y, n_a)),
        "ba": rng.standard_normal((n_a, 1)) * 0.3,
        "by": rng.standard_normal((n_y, 1)) * 0.3,
    }
    x = rng.standard_normal((n_x, m, T))
    a0 = rng.standard_normal((n_a, m)) * 0.5
    # the loss L = sum(G * a): its gradient with respect to a is G
    G = rng.standard_normal((n_a, m, T))
    return x, a0, parameters, G


def _loss(x, a0, parameters, G):
    a, _, _ = crnn.rnn_forward(x, a0, parameters)
    return float(np.sum(G * a))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", ["x", "a0", "Wax", "Waa", "ba"])
def test_rnn_backward_matches_finite_differences(name, seed):
    x, a0, parameters, G = _problem(seed)
    _, _, caches = crnn.rnn_forward(x, a0, parameters)
    grads = crnn.rnn_backward(G, caches)
    target = {"x": x, "a0": a0}.get(name)
    if target is None:
        target = parameters[name]
    numeric = numeric_gradient(lambda: _loss(x, a0, parameters, G), target)
    analytic = grads[{"x": "dx", "a0": "da0"}.get(name, "d" + name)]
    assert analytic.shape == target.shape
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_da0_is_the_real_gradient_not_none():
    """The seed ends rnn_backward with `da0 = None`; crnn returns the gradient."""
    x, a0, parameters, G = _problem(4)
    _, _, caches = crnn.rnn_forward(x, a0, parameters)
    da0 = crnn.rnn_backward(G, caches)["da0"]
    assert isinstance(da0, np.ndarray) and da0.shape == a0.shape
    assert np.max(np.abs(da0)) > 1e-3


@pytest.mark.parametrize("name", ["xt", "a_prev", "Wax", "Waa", "ba"])
def test_rnn_cell_backward_matches_finite_differences(name):
    x, a0, parameters, G = _problem(7)
    xt = x[:, :, 0].copy()
    g = G[:, :, 0]

    def loss():
        a_next, _, _ = crnn.rnn_cell_forward(xt, a0, parameters)
        return float(np.sum(g * a_next))

    _, _, cache = crnn.rnn_cell_forward(xt, a0, parameters)
    grads = crnn.rnn_cell_backward(g, cache)
    target = {"xt": xt, "a_prev": a0}.get(name)
    if target is None:
        target = parameters[name]
    numeric = numeric_gradient(loss, target)
    analytic = grads[{"xt": "dxt", "a_prev": "da_prev"}.get(name, "d" + name)]
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_every_cell_matches_finite_differences(cell):
    """Every parameter of every cell, x and a0: the gradients of L = sum(G * a)."""
    assert_course_pass_matches_finite_differences(cell, *cell.problem(3, 4, 2, 3, 5, seed=11))
