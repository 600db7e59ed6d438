"""The course's cache contract: structure, identity, views, and interop both ways."""
import numpy as np
import pytest

import crnn
from crnn import reference
from crnn.testing import assert_close, random_rnn_problem

SHAPE = (4, 6, 3, 5, 7)  # n_x, n_a, n_y, m, T_x


@pytest.fixture
def problem():
    return random_rnn_problem(*SHAPE, seed=11)


def test_cache_structure(problem):
    x, a0, parameters, _ = problem
    a, y, caches = crnn.rnn_forward(x, a0, parameters)
    assert isinstance(caches, tuple) and len(caches) == 2
    cell_caches, x_cached = caches
    assert isinstance(cell_caches, list) and len(cell_caches) == SHAPE[4]
    assert x_cached is x
    for t, cache in enumerate(cell_caches):
        assert isinstance(cache, tuple) and len(cache) == 4
        a_next, a_prev, xt, params = cache
        assert params is parameters
        np.testing.assert_array_equal(a_next, a[:, :, t])
        np.testing.assert_array_equal(a_prev, a0 if t == 0 else a[:, :, t - 1])
        np.testing.assert_array_equal(xt, x[:, :, t])
        assert a_next.shape == a_prev.shape == (SHAPE[1], SHAPE[3])
        assert xt.shape == (SHAPE[0], SHAPE[3])
    assert cell_caches[0][1] is a0
    assert a.shape == (SHAPE[1], SHAPE[3], SHAPE[4])
    assert y.shape == (SHAPE[2], SHAPE[3], SHAPE[4])


def test_caches_hold_views_not_copies(problem):
    x, a0, parameters, _ = problem
    a, _, (cell_caches, _) = crnn.rnn_forward(x, a0, parameters)
    for t, (a_next, a_prev, xt, _) in enumerate(cell_caches):
        assert np.shares_memory(a_next, a)
        assert np.shares_memory(xt, x)
        if t:
            assert np.shares_memory(a_prev, a)


def test_cell_cache_holds_the_arguments(problem):
    x, a0, parameters, _ = problem
    xt = x[:, :, 0]
    a_next, _, cache = crnn.rnn_cell_forward(xt, a0, parameters)
    assert isinstance(cache, tuple) and len(cache) == 4
    assert cache[0] is a_next and cache[1] is a0 and cache[2] is xt and cache[3] is parameters


def test_crnn_caches_in_the_course_backward(problem):
    x, a0, parameters, da = problem
    _, _, caches = crnn.rnn_forward(x, a0, parameters)
    _, _, caches_ref = reference.rnn_forward(x, a0, parameters)
    got = reference.rnn_backward(da, caches)
    want = reference.rnn_backward(da, caches_ref)
    for key in want:
        assert_close(got[key], want[key], np.float64, key)


def test_course_caches_in_crnn_backward(problem):
    x, a0, parameters, da = problem
    _, _, caches_ref = reference.rnn_forward(x, a0, parameters)
    got = crnn.rnn_backward(da, caches_ref)
    want = reference.rnn_backward(da, caches_ref)
    for key in want:
        assert_close(got[key], want[key], np.float64, key)


def test_user_loop_over_cells_in_crnn_backward(problem):
    """The course's own rnn_forward, written by a learner over crnn.rnn_cell_forward."""
    x, a0, parameters, da = problem
    cell_caches = []
    a_next = a0
    for t in range(x.shape[2]):
        a_next, _, cache = crnn.rnn_cell_forward(x[:, :, t], a_next, parameters)
        cell_caches.append(cache)
    got = crnn.rnn_backward(da, (cell_caches, x))
    _, _, caches = crnn.rnn_forward(x, a0, parameters)
    want = crnn.rnn_backward(da, caches)
    for key in want:
        assert_close(got[key], want[key], np.float64, key)


def test_user_loop_over_cell_backward_matches_rnn_backward(problem):
    x, a0, parameters, da = problem
    _, _, caches = crnn.rnn_forward(x, a0, parameters)
    want = crnn.rnn_backward(da, caches)
    da_prev = np.zeros_like(a0)
    dWax = np.zeros_like(parameters["Wax"])
    for t in reversed(range(x.shape[2])):
        g = crnn.rnn_cell_backward(da[:, :, t] + da_prev, caches[0][t])
        da_prev = g["da_prev"]
        dWax += g["dWax"]
        assert_close(g["dxt"], want["dx"][:, :, t], np.float64, "dxt")
    assert_close(da_prev, want["da0"], np.float64, "da0")
    assert_close(dWax, want["dWax"], np.float64, "dWax")


@pytest.mark.parametrize("source", ["crnn", "course"])
def test_da_with_fewer_steps_uses_the_first_caches(problem, source):
    x, a0, parameters, da = problem
    forward = crnn.rnn_forward if source == "crnn" else reference.rnn_forward
    _, _, caches = forward(x, a0, parameters)
    T = 3
    got = crnn.rnn_backward(da[:, :, :T], caches)
    _, _, short = reference.rnn_forward(x[:, :, :T], a0, parameters)
    want = reference.rnn_backward(da[:, :, :T], short)
    assert got["dx"].shape == (SHAPE[0], SHAPE[3], T)
    for key in want:
        assert_close(got[key], want[key], np.float64, key)


def test_backward_reads_the_parameters_dict_at_backward_time(problem):
    """Like the course's code, backward uses the weights the dict holds when it runs."""
    x, a0, parameters, da = problem
    _, _, caches = crnn.rnn_forward(x, a0, parameters)
    _, _, caches_ref = reference.rnn_forward(x, a0, parameters)
    parameters["Waa"] = parameters["Waa"] * 0.5
    got = crnn.rnn_backward(da, caches)
    want = reference.rnn_backward(da, caches_ref)
    for key in want:
        assert_close(got[key], want[key], np.float64, key)


def test_edited_cache_list_is_honoured(problem):
    """A cache list changed after the forward pass is read as it is now, like the course does."""
    x, a0, parameters, da = problem
    _, _, (cell_caches, xc) = crnn.rnn_forward(x, a0, parameters)
    a_next, a_prev, xt, p = cell_caches[2]
    cell_caches[2] = (a_next * 0.5, a_prev, xt, p)
    got = crnn.rnn_backward(da, (cell_caches, xc))
    want = reference.rnn_backward(da, (list(cell_caches), xc))
    for key in want:
        assert_close(got[key], want[key], np.float64, key)
