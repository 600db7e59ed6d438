"""The RNN forms: many-to-one pooling, one-to-many sampling, and the encoder-decoder example."""

import importlib.util
import pathlib

import numpy as np
import pytest

import crnn
from crnn import reference
from crnn.testing import numeric_gradient, random_rnn_problem

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "encoder_decoder.py"


@pytest.fixture(scope="module")
def example():
    if not EXAMPLE.exists():
        pytest.skip("needs the source tree's examples/ (add it to the wheel tests' sources)")
    spec = importlib.util.spec_from_file_location("encoder_decoder", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pooling_and_its_backward():
    a = np.random.default_rng(0).standard_normal((4, 3, 5))
    dh = np.random.default_rng(1).standard_normal((4, 3))
    np.testing.assert_array_equal(crnn.pool_states(a, "last"), a[:, :, -1])
    np.testing.assert_allclose(crnn.pool_states(a, "mean"), a.mean(axis=2))
    assert crnn.pool_states(a, "sequence") is a
    da = crnn.pool_states_backward(dh, a, "last")
    np.testing.assert_array_equal(da[:, :, -1], dh)
    assert not da[:, :, :-1].any()
    # the mean's backward is the adjoint of the mean: <dh, mean(a)> = <da, a>
    da = crnn.pool_states_backward(dh, a, "mean")
    assert np.vdot(dh, crnn.pool_states(a, "mean")) == pytest.approx(np.vdot(da, a))
    with pytest.raises(ValueError, match="at least one step"):
        crnn.pool_states(a[:, :, :0], "last")


def test_greedy_sampling_feeds_each_output_back():
    """The same as a loop over the reference cell, feeding the one-hot of the argmax."""
    _, a0, p, _ = random_rnn_problem(4, 6, 4, 3, 1, seed=3)
    indices, probs = crnn.sample(p, a0, 7, greedy=True)
    x, a = np.zeros((4, 3)), a0
    for t in range(7):
        a, y, _ = reference.rnn_cell_forward(x, a, p)
        np.testing.assert_allclose(probs[:, :, t], y, rtol=1e-10)
        np.testing.assert_array_equal(indices[:, t], np.argmax(y, axis=0))
        x = np.eye(4)[indices[:, t]].T


def test_sampling_draws_from_the_output_distribution_reproducibly():
    # Wya = 0: every step's distribution is softmax(by), whatever the state
    n, m = 3, 20000
    p = {
        "Wax": np.zeros((2, n)),
        "Waa": np.zeros((2, 2)),
        "ba": np.zeros((2, 1)),
        "Wya": np.zeros((n, 2)),
        "by": np.log([[0.2], [0.5], [0.3]]),
    }
    indices, _ = crnn.sample(p, np.zeros((2, m)), 2, seed=0)
    freq = np.bincount(indices.ravel(), minlength=n) / indices.size
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3], atol=0.01)
    np.testing.assert_array_equal(indices, crnn.sample(p, np.zeros((2, m)), 2, seed=0)[0])


def test_sampling_needs_a_shared_vocabulary():
    _, a0, p, _ = random_rnn_problem(4, 6, 3, 2, 1)
    with pytest.raises(ValueError, match="n_x must equal n_y = 3"):
        crnn.sample(p, a0, 2, x0=np.zeros((4, 2)))


def test_encoder_decoder_gradients_match_finite_differences(example):
    x, y = example.make_data(3, seed=0)
    encoder, decoder = example.init(4, seed=0)
    _, enc_grads, dec_grads = example.loss_and_grads(x, y, encoder, decoder)

    def loss():
        return example.loss_and_grads(x, y, encoder, decoder)[0]

    for params, grads in ((encoder, enc_grads), (decoder, dec_grads)):
        for name, target in params.items():
            np.testing.assert_allclose(
                grads["d" + name],
                numeric_gradient(loss, target),
                rtol=1e-6,
                atol=1e-9,
                err_msg=name,
            )


def test_encoder_decoder_learns_with_T_x_different_from_T_y(example):
    assert example.T_X != example.T_Y
    encoder, decoder = example.train(steps=400)
    x, y = example.make_data(500, seed=99)
    predicted = example.predict(x, encoder, decoder)
    assert predicted.shape == y.shape == (500, example.T_Y)
    assert np.mean(predicted == y) > 0.95
