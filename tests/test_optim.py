"""Each optimizer step against a hand-computed update; clipping; initialisers."""

import numpy as np
import pytest

import crnn
from crnn.testing import random_rnn_problem

# one parameter, two steps: the gradients g1 then g2, with hand-computed results
W0 = np.array([[1.0, -2.0]])
G1 = np.array([[0.5, -1.0]])
G2 = np.array([[-0.25, 2.0]])


def _two_steps(optimizer):
    params = {"W": W0.copy()}
    ref = params["W"]
    optimizer.step(params, {"dW": G1})
    after_one = params["W"].copy()
    optimizer.step(params, {"dW": G2})
    assert params["W"] is ref, "the update must be in place"
    return after_one, params["W"]


def test_sgd():
    one, two = _two_steps(crnn.SGD(0.1))
    np.testing.assert_allclose(one, [[0.95, -1.9]], rtol=1e-15)
    np.testing.assert_allclose(two, [[0.975, -2.1]], rtol=1e-15)


def test_sgd_with_the_courses_momentum():
    # v1 = 0.1·g1 = [0.05, -0.1];  v2 = 0.9·v1 + 0.1·g2 = [0.02, 0.11]
    one, two = _two_steps(crnn.SGD(0.1, momentum=0.9))
    np.testing.assert_allclose(one, [[0.995, -1.99]], rtol=1e-15)
    np.testing.assert_allclose(two, [[0.993, -2.001]], rtol=1e-14)


def test_adam():
    # step 1: v̂ = g1, ŝ = g1², so W -= lr·g1/(|g1| + ε) = lr·sign(g1)
    # step 2: v = 0.09·g1 + 0.1·g2 = [0.02, 0.11], s = 0.000999·g1² + 0.001·g2² =
    #         [0.00031225, 0.004999]; v̂ = v/0.19, ŝ = s/0.001999
    one, two = _two_steps(crnn.Adam(0.1, epsilon=0.0))
    np.testing.assert_allclose(one, [[0.9, -1.9]], rtol=1e-12)
    v_hat = np.array([0.02, 0.11]) / 0.19
    s_hat = np.array([0.00031225, 0.004999]) / 0.001999
    np.testing.assert_allclose(two, [[0.9, -1.9]] - 0.1 * v_hat / np.sqrt(s_hat), rtol=1e-12)


def test_adagrad():
    # G1 = g1² -> W -= 0.1·sign(g1);  G2 = g1² + g2² = [0.3125, 5]
    one, two = _two_steps(crnn.Adagrad(0.1, epsilon=0.0))
    np.testing.assert_allclose(one, [[0.9, -1.9]], rtol=1e-15)
    np.testing.assert_allclose(
        two, [[0.9 + 0.025 / np.sqrt(0.3125), -1.9 - 0.2 / np.sqrt(5)]], rtol=1e-14
    )


def test_optimizers_update_every_parameter_of_a_course_dict():
    x, a0, p, _ = random_rnn_problem(3, 4, 2, 5, 6)
    loss, grads = crnn.rnn_loss_and_grads(x, np.zeros((5, 6), int), a0, p)
    before = {k: v.copy() for k, v in p.items()}
    crnn.Adam(0.01).step(p, grads)
    for k in p:
        assert not np.array_equal(p[k], before[k]), k
    assert crnn.rnn_loss_and_grads(x, np.zeros((5, 6), int), a0, p)[0] < loss


def test_optimizer_errors():
    with pytest.raises(KeyError, match="dW"):
        crnn.SGD().step({"W": W0.copy()}, {"dV": G1})
    with pytest.raises(ValueError, match=r'gradients\["dW"\] has shape \(2,\)'):
        crnn.SGD().step({"W": W0.copy()}, {"dW": np.zeros(2)})
    with pytest.raises(TypeError, match=r'parameters\["W"\] must be a float numpy array'):
        crnn.SGD().step({"W": np.array([[1, 2]])}, {"dW": G1})
    with pytest.raises(ValueError, match="learning_rate"):
        crnn.Adam(0)
    with pytest.raises(ValueError, match="momentum"):
        crnn.SGD(momentum=1.0)


def test_the_courses_clip_is_elementwise_and_in_place():
    grads = {"dWaa": np.array([[12.0, -12.0, 3.0]]), "db": np.array([[-0.5]])}
    ref = grads["dWaa"]
    out = crnn.clip(grads, 10)
    assert out is grads and out["dWaa"] is ref
    np.testing.assert_array_equal(out["dWaa"], [[10.0, -10.0, 3.0]])
    np.testing.assert_array_equal(out["db"], [[-0.5]])


def test_clip_by_global_norm():
    grads = {"dW": np.array([3.0, 0.0]), "db": np.array([4.0]), "da0": np.array([100.0])}
    norm = crnn.clip_by_global_norm(grads, 1.0, keys=["dW", "db"])
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(grads["dW"], [0.6, 0.0])
    np.testing.assert_allclose(grads["db"], [0.8])
    assert grads["da0"][0] == 100.0
    small = {"dW": np.array([0.3, 0.4])}
    assert crnn.clip_by_global_norm(small, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(small["dW"], [0.3, 0.4])


def test_the_courses_small_random_initialisation():
    p = crnn.initialize_parameters(3, 50, 4, seed=0)
    assert {k: v.shape for k, v in p.items()} == {
        "Wax": (50, 3),
        "Waa": (50, 50),
        "ba": (50, 1),
        "Wya": (4, 50),
        "by": (4, 1),
    }
    assert not p["ba"].any() and not p["by"].any()
    assert 0.008 < p["Waa"].std() < 0.012
    q = crnn.initialize_parameters(3, 50, 4, seed=0)
    assert all(np.array_equal(p[k], q[k]) for k in p)


def test_glorot_with_orthogonal_recurrent_weights():
    p = crnn.initialize_parameters(3, 20, 4, method="glorot", seed=1, dtype=np.float32)
    assert all(v.dtype == np.float32 for v in p.values())
    np.testing.assert_allclose(p["Waa"].T @ p["Waa"], np.eye(20), atol=1e-5)
    assert np.abs(p["Wax"]).max() <= np.sqrt(6 / 23)
    assert np.abs(p["Wya"]).max() <= np.sqrt(6 / 24)
    assert np.abs(p["Wax"]).max() > 0.5 * np.sqrt(6 / 23)
    with pytest.raises(ValueError, match="method"):
        crnn.initialize_parameters(3, 20, 4, method="he")


@pytest.mark.parametrize(
    "value, error", [(None, TypeError), ("x", TypeError), (np.arange(3), TypeError)]
)
def test_clip_by_global_norm_names_a_gradient_it_cannot_scale(value, error):
    with pytest.raises(error, match=r'gradients\["dW"\]'):
        crnn.clip_by_global_norm({"dW": value}, 5.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: crnn.SGD(0.1),
        lambda: crnn.SGD(0.1, momentum=0.9),
        lambda: crnn.Adam(0.01),
        lambda: crnn.Adagrad(0.1),
    ],
    ids=["sgd", "momentum", "adam", "adagrad"],
)
def test_one_pass_over_flat_arrays_is_the_per_parameter_update(make):
    """FlatArrays take one pass, bit for bit the per-key loop's, and the state stays the
    per-key arrays a checkpoint saves; state held per key carries over into it."""
    from crnn.optim import FlatArrays

    _, _, p, _ = random_rnn_problem(3, 4, 2, 2, 5, seed=3)
    rng = np.random.default_rng(4)
    steps = [{"d" + k: rng.standard_normal(v.shape) for k, v in p.items()} for _ in range(4)]
    per_key, flat = make(), make()
    p_key, p_flat = {k: v.copy() for k, v in p.items()}, FlatArrays(p)
    g_flat = FlatArrays(steps[0])
    for k, g in enumerate(steps):
        per_key.step(p_key, g)
        if k == 2:  # as after a resumed checkpoint: the state held per key, apart
            flat.state = {key: {n: a.copy() for n, a in s.items()} for key, s in flat.state.items()}
        flat.step(p_flat, g_flat.load(g))
    for key, value in p_key.items():
        np.testing.assert_array_equal(p_flat[key], value, err_msg=key)
        for name in per_key.slots:
            np.testing.assert_array_equal(flat.state[key][name], per_key.state[key][name])
            assert flat.state[key][name].base is not None  # a view of the flat state


def test_clipping_flat_arrays_is_clipping_each():
    from crnn.optim import FlatArrays

    rng = np.random.default_rng(5)
    grads = {"dW": rng.standard_normal((3, 4)) * 10, "db": rng.standard_normal((3, 1)) * 10}
    flat = FlatArrays(grads)
    norm = crnn.clip_by_global_norm(flat, 1.0)
    assert norm == pytest.approx(
        crnn.clip_by_global_norm({k: v.copy() for k, v in grads.items()}, 1.0)
    )
    assert np.sqrt(sum(np.sum(v**2) for v in flat.values())) == pytest.approx(1.0)
    crnn.clip(flat, 0.1)
    assert max(np.abs(v).max() for v in flat.values()) <= 0.1
