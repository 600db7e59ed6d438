"""The vanilla RNN with activation="relu": its states, PyTorch's nn.RNN(nonlinearity="relu")
when installed, caches that carry the activation. Its agreement with crnn.reference is
every cell's, in test_reference.py."""

import numpy as np
import pytest

import crnn
from crnn import reference
from crnn.testing import assert_gradients_close, random_rnn_problem


@pytest.mark.parametrize("shape", [(3, 5, 2, 4, 6), (1, 1, 1, 1, 1), (8, 32, 4, 6, 40)])
def test_relu_states_and_a_users_loop_over_the_cells(shape, dtype):
    # (its agreement with the reference, caches both ways: every cell's test_reference.py)
    x, a0, params, da = random_rnn_problem(*shape, dtype=dtype, seed=sum(shape))
    a, _, _ = crnn.rnn_forward(x, a0, params, activation="relu")
    _, _, rcaches = reference.rnn_forward(x, a0, params, activation="relu")
    assert a.dtype == dtype and np.all(a >= 0) and (a.size < 10 or np.any(a == 0))
    want = reference.rnn_backward(da, rcaches)
    # a user's loop over the cell functions, the course's way
    a_prev, cell_caches = a0, []
    for t in range(shape[4]):
        a_prev, _, cache = crnn.rnn_cell_forward(x[:, :, t], a_prev, params, activation="relu")
        cell_caches.append(cache)
    assert_gradients_close(crnn.rnn_backward(da, (cell_caches, x)), want, dtype)
    step = crnn.rnn_cell_backward(da[:, :, -1], cell_caches[-1])
    assert_gradients_close(step, reference.rnn_cell_backward(da[:, :, -1], rcaches[0][-1]), dtype)


def test_relu_caches_are_the_course_tuples_marked_with_the_activation():
    x, a0, params, _ = random_rnn_problem(3, 4, 2, 3, 5)
    a, _, (cell_caches, xs) = crnn.rnn_forward(x, a0, params, activation="relu")
    assert xs is x
    for t, cache in enumerate(cell_caches):
        assert isinstance(cache, tuple) and len(cache) == 4 and cache.activation == "relu"
        a_next, a_prev, xt, p = cache  # unpacks as the course's 4-tuple
        assert p is params and np.shares_memory(a_next, a)
        assert a_prev is (a0 if t == 0 else cell_caches[t - 1][0])
    _, _, (tanh_caches, _) = crnn.rnn_forward(x, a0, params)
    assert type(tanh_caches[0]) is tuple


def test_a_bad_activation_is_named():
    x, a0, params, _ = random_rnn_problem(3, 4, 2, 3, 5)
    for call in (
        lambda: crnn.rnn_forward(x, a0, params, activation="sigmoid"),
        lambda: crnn.rnn_cell_forward(x[:, :, 0], a0, params, activation=None),
    ):
        with pytest.raises(ValueError, match='activation must be "tanh" or "relu"'):
            call()
    with pytest.raises(ValueError, match="activation='relu' is the RNN's option"):
        crnn.SequenceTagger(cell="lstm", activation="relu", verbose=False).fit(
            np.zeros((2, 3, 4)), np.zeros((3, 4), int)
        )


def test_a_relu_tagger_trains_and_differs_from_tanh(previous_token_data):
    x, y = previous_token_data(300, seed=0)
    relu = crnn.SequenceTagger(
        activation="relu", n_a=16, epochs=8, learning_rate=0.02, verbose=False
    ).fit(x, y)
    tanh = crnn.SequenceTagger(n_a=16, epochs=8, learning_rate=0.02, verbose=False).fit(x, y)
    assert relu.score(x, y) > 0.99
    assert relu.loss_curve_ != tanh.loss_curve_


def test_relu_matches_a_live_pytorch_rnn():
    torch = pytest.importorskip("torch")
    x, a0, params, da = random_rnn_problem(5, 7, 2, 4, 9, seed=3)
    rnn = torch.nn.RNN(5, 7, nonlinearity="relu", dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(params["Wax"]))
        rnn.weight_hh_l0.copy_(torch.from_numpy(params["Waa"]))
        rnn.bias_ih_l0.copy_(torch.from_numpy(params["ba"][:, 0]))
        rnn.bias_hh_l0.zero_()
    inp = torch.from_numpy(x.transpose(2, 1, 0).copy()).requires_grad_()
    out, _ = rnn(inp, torch.from_numpy(a0.T[None].copy()))
    out.backward(torch.from_numpy(da.transpose(2, 1, 0).copy()))
    a, _, caches = crnn.rnn_forward(x, a0, params, activation="relu")
    np.testing.assert_allclose(a, out.detach().numpy().transpose(2, 1, 0), rtol=1e-12, atol=1e-12)
    grads = crnn.rnn_backward(da, caches)
    np.testing.assert_allclose(grads["dWax"], rnn.weight_ih_l0.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(grads["dWaa"], rnn.weight_hh_l0.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(
        grads["dx"], inp.grad.numpy().transpose(2, 1, 0), rtol=1e-10, atol=1e-12
    )
