"""crnn.charlm: the course's character-level model, its printed results and its gradients."""

import numpy as np
import pytest

from crnn import charlm

CHARS = ["\n"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
CHAR_TO_IX = {c: i for i, c in enumerate(CHARS)}
IX_TO_CHAR = dict(enumerate(CHARS))


def _course_parameters(seed, n_a, vocab_size=27, with_a_prev=False):
    """The random parameters of the course's tests, drawn in the course's order."""
    np.random.seed(seed)
    a_prev = np.random.randn(n_a, 1) if with_a_prev else None
    Wax, Waa, Wya = (
        np.random.randn(n_a, vocab_size),
        np.random.randn(n_a, n_a),
        np.random.randn(vocab_size, n_a),
    )
    b, by = np.random.randn(n_a, 1), np.random.randn(vocab_size, 1)
    return {"Wax": Wax, "Waa": Waa, "Wya": Wya, "b": b, "by": by}, a_prev


def test_clip_gives_the_courses_printed_values():
    np.random.seed(3)
    dWax, dWaa, dWya = (
        np.random.randn(5, 3) * 10,
        np.random.randn(5, 5) * 10,
        np.random.randn(2, 5) * 10,
    )
    db, dby = np.random.randn(5, 1) * 10, np.random.randn(2, 1) * 10
    gradients = {"dWax": dWax, "dWaa": dWaa, "dWya": dWya, "db": db, "dby": dby, "da_next": dby * 9}
    clipped = charlm.clip(gradients, 10)
    assert sorted(clipped) == ["dWaa", "dWax", "dWya", "db", "dby"]
    assert clipped["dWaa"][1][2] == 10.0
    assert clipped["dWax"][3][1] == -10.0
    assert clipped["dWya"][1][2] == pytest.approx(0.2971381536101662, rel=1e-12)
    assert clipped["db"][4] == [10.0]
    assert clipped["dby"][1] == pytest.approx([8.45833407])
    assert clipped["dWax"] is dWax  # in place, as the course's np.clip(..., out=gradient)
    assert all(np.abs(g).max() <= 10 for g in clipped.values())


def test_sample_gives_the_courses_printed_indices():
    parameters, _ = _course_parameters(24, 100)
    indices = charlm.sample(parameters, CHAR_TO_IX, 0)
    assert indices == [
        23,
        16,
        26,
        26,
        24,
        3,
        21,
        1,
        7,
        24,
        15,
        3,
        25,
        20,
        6,
        13,
        10,
        8,
        20,
        12,
        2,
        0,
    ]
    assert charlm.get_sample(indices, IX_TO_CHAR) == "Wpzzxcuagxocytfmjhtlb\n"


def test_sample_stops_after_50_characters_with_a_newline():
    parameters, _ = _course_parameters(0, 8)
    parameters["by"][CHAR_TO_IX["\n"]] = -50  # a newline is (almost) never drawn
    indices = charlm.sample(parameters, CHAR_TO_IX, 7)
    assert len(indices) == 51 and indices[-1] == CHAR_TO_IX["\n"]
    assert CHAR_TO_IX["\n"] not in indices[:-1]


def test_sample_temperature():
    parameters, _ = _course_parameters(5, 16)
    assert charlm.sample(parameters, CHAR_TO_IX, 3, temperature=1.0) == charlm.sample(
        parameters, CHAR_TO_IX, 3
    )
    # a temperature near zero takes the most likely character: the same name for any seed
    cold = [charlm.sample(parameters, CHAR_TO_IX, s, temperature=1e-3) for s in range(3)]
    assert cold[0] == cold[1] == cold[2]
    with pytest.raises(ValueError, match="temperature must be positive"):
        charlm.sample(parameters, CHAR_TO_IX, 0, temperature=0)


def test_optimize_gives_the_courses_printed_values():
    parameters, a_prev = _course_parameters(1, 100, with_a_prev=True)
    X, Y = [12, 3, 5, 11, 22, 3], [4, 14, 11, 22, 25, 26]
    before = {k: v.copy() for k, v in parameters.items()}
    loss, gradients, a_last = charlm.optimize(X, Y, a_prev, parameters, learning_rate=0.01)
    assert loss == pytest.approx(126.50397572165389, rel=1e-12)
    assert gradients["dWaa"][1][2] == pytest.approx(0.19470931534713587, rel=1e-10)
    assert np.argmax(gradients["dWax"]) == 93
    assert gradients["dWya"][1][2] == pytest.approx(-0.007773876032002162, rel=1e-10)
    assert gradients["db"][4] == pytest.approx([-0.06809825])
    assert gradients["dby"][1] == pytest.approx([0.01538192])
    assert a_last[4] == pytest.approx([-1.0])
    for key in before:  # updated in place with the clipped gradients
        np.testing.assert_allclose(
            parameters[key], before[key] - 0.01 * gradients["d" + key], rtol=1e-14
        )


def test_rnn_backward_agrees_with_finite_differences():
    rng = np.random.default_rng(0)
    n_a, vocab = 5, 27
    parameters = {
        "Wax": rng.standard_normal((n_a, vocab)) * 0.5,
        "Waa": rng.standard_normal((n_a, n_a)) * 0.5,
        "Wya": rng.standard_normal((vocab, n_a)) * 0.5,
        "b": rng.standard_normal((n_a, 1)),
        "by": rng.standard_normal((vocab, 1)),
    }
    a0 = rng.standard_normal((n_a, 1)) * 0.5
    X = [None, 3, 1, 20, 1]
    Y = X[1:] + [0]
    snapshot = {k: v.copy() for k, v in parameters.items()}
    loss, cache = charlm.rnn_forward(X, Y, a0, parameters)
    gradients, a = charlm.rnn_backward(X, Y, parameters, cache)
    assert set(a) == set(range(-1, len(X))) and np.array_equal(a[-1], a0)
    for key, value in snapshot.items():
        assert np.array_equal(parameters[key], value)  # inputs are never modified
    h = 1e-6
    for key in ("Wax", "Waa", "Wya", "b", "by"):
        numeric = np.zeros_like(parameters[key])
        for i in np.ndindex(numeric.shape):
            for sign in (1, -1):
                shifted = {k: v.copy() for k, v in parameters.items()}
                shifted[key][i] += sign * h
                numeric[i] += sign * charlm.rnn_forward(X, Y, a0, shifted)[0] / (2 * h)
        np.testing.assert_allclose(gradients["d" + key], numeric, rtol=1e-6, atol=1e-8, err_msg=key)
    numeric = np.zeros_like(a0)
    for i in np.ndindex(a0.shape):
        for sign in (1, -1):
            shifted = a0.copy()
            shifted[i] += sign * h
            numeric[i] += sign * charlm.rnn_forward(X, Y, shifted, parameters)[0] / (2 * h)
    np.testing.assert_allclose(gradients["da_next"], numeric, rtol=1e-6, atol=1e-8)
    with pytest.raises(TypeError, match=r"cache must be the cache crnn\.charlm\.rnn_forward"):
        charlm.rnn_backward(X, Y, parameters, tuple(cache))


def test_initialize_parameters_smooth_and_initial_loss_are_the_courses():
    p = charlm.initialize_parameters(4, 27, 27)
    np.random.seed(1)
    np.testing.assert_array_equal(p["Wax"], np.random.randn(4, 27) * 0.01)
    assert p["b"].shape == (4, 1) and not p["by"].any()
    assert charlm.smooth(10.0, 20.0) == pytest.approx(10.01)
    assert charlm.get_initial_loss(27, 7) == pytest.approx(-np.log(1 / 27) * 7)


def test_model_trains_reproducibly_and_prints_as_the_course(capsys):
    names = ["anna", "bob", "carla", "dora", "emil"]
    first = charlm.model(
        names, IX_TO_CHAR, CHAR_TO_IX, num_iterations=30, n_a=8, dino_names=2, verbose=True
    )
    printed = capsys.readouterr().out
    second = charlm.model(names, IX_TO_CHAR, CHAR_TO_IX, num_iterations=30, n_a=8, dino_names=2)
    assert "Iteration: 0, Loss: " in printed and "single_example =" in printed
    assert first[1] == second[1]
    for key in first[0]:
        np.testing.assert_array_equal(first[0][key], second[0][key])
    untrained = charlm.initialize_parameters(8, 27, 27)
    assert not np.array_equal(first[0]["Wya"], untrained["Wya"])
