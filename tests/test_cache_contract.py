"""The course's cache contract, for every cell of the registry: structure, identity,
views, and interop both ways with crnn.reference, the course's code."""

import numpy as np
import pytest
from conftest import course, course_cell_forward

import crnn
from crnn import reference
from crnn.testing import assert_close, assert_gradients_close

SHAPE = (4, 6, 3, 5, 7)  # n_x, n_a, n_y, m, T_x


def _forward(cell, module, x, a0, parameters):
    """a, the outputs and the caches of a sequence forward pass."""
    *outputs, caches = course(cell, module, "forward")(x, a0, parameters, **cell.options)
    return outputs[0], outputs, caches


def _cell_step(cell, module, xt, state, parameters):
    """One cell forward from state (a_prev, or the LSTM's (a_prev, c_prev)): the next
    state and the cache."""
    if cell.name == "lstm":
        a_next, c_next, _, cache = course_cell_forward(cell, module, xt, *state, parameters)
        return (a_next, c_next), cache
    a_next, _, cache = course_cell_forward(cell, module, xt, state, None, parameters)
    return a_next, cache


def _field(cell, cache, name):
    return cache[cell.spec.cache.fields.index(name)]


def test_cache_structure(cell):
    x, a0, parameters, _ = cell.problem(*SHAPE, seed=11)
    a, outputs, caches = _forward(cell, crnn, x, a0, parameters)
    n_x, n_a, n_y, m, T = SHAPE
    assert isinstance(caches, tuple) and len(caches) == 2
    cell_caches, x_cached = caches
    assert isinstance(cell_caches, list) and len(cell_caches) == T
    assert x_cached is x
    fields = cell.spec.cache.fields
    for t, cache in enumerate(cell_caches):
        assert isinstance(cache, tuple) and len(cache) == len(fields)
        # a plain tuple, as the course's (the relu RNN's is marked with its activation)
        assert type(cache) is tuple or cell.options.get("activation") == "relu"
        assert cache[-1] is parameters
        np.testing.assert_array_equal(_field(cell, cache, "a_next"), a[:, :, t])
        np.testing.assert_array_equal(
            _field(cell, cache, "a_prev"), a0 if t == 0 else a[:, :, t - 1]
        )
        np.testing.assert_array_equal(_field(cell, cache, "xt"), x[:, :, t])
        for name, value in zip(fields[:-1], cache[:-1]):
            assert value.shape == ((n_x, m) if name == "xt" else (n_a, m)), name
    assert _field(cell, cell_caches[0], "a_prev") is a0
    assert a.shape == (n_a, m, T)
    assert outputs[1].shape == (n_y, m, T)


def test_caches_hold_views_not_copies(cell):
    x, a0, parameters, _ = cell.problem(*SHAPE, seed=11)
    a, _, (cell_caches, _) = _forward(cell, crnn, x, a0, parameters)
    for t, cache in enumerate(cell_caches):
        assert np.shares_memory(_field(cell, cache, "a_next"), a)
        assert np.shares_memory(_field(cell, cache, "xt"), x)
        if t:
            assert _field(cell, cache, "a_prev") is _field(cell, cell_caches[t - 1], "a_next")


def test_cell_cache_holds_the_arguments(cell):
    x, a0, parameters, _ = cell.problem(*SHAPE, seed=11)
    xt = x[:, :, 0]
    state = (a0, np.zeros_like(a0)) if cell.name == "lstm" else a0
    _, cache = _cell_step(cell, crnn, xt, state, parameters)
    assert isinstance(cache, tuple) and len(cache) == len(cell.spec.cache.fields)
    assert _field(cell, cache, "a_prev") is a0 and _field(cell, cache, "xt") is xt
    assert cache[-1] is parameters
    if cell.name == "lstm":
        assert _field(cell, cache, "c_prev") is state[1]


def test_crnn_caches_in_the_course_backward(cell):
    x, a0, parameters, da = cell.problem(*SHAPE, seed=11)
    caches = _forward(cell, crnn, x, a0, parameters)[2]
    caches_ref = _forward(cell, reference, x, a0, parameters)[2]
    backward = course(cell, reference, "backward")
    assert_gradients_close(backward(da, caches), backward(da, caches_ref), np.float64)


def test_course_caches_in_crnn_backward(cell):
    x, a0, parameters, da = cell.problem(*SHAPE, seed=11)
    caches_ref = _forward(cell, reference, x, a0, parameters)[2]
    got = course(cell, crnn, "backward")(da, caches_ref)
    assert_gradients_close(got, course(cell, reference, "backward")(da, caches_ref), np.float64)


def test_user_loop_over_cells_in_crnn_backward(cell):
    """The course's own forward, written by a learner over crnn's cell forward."""
    x, a0, parameters, da = cell.problem(*SHAPE, seed=11)
    cell_caches = []
    state = (a0, np.zeros_like(a0)) if cell.name == "lstm" else a0
    for t in range(x.shape[2]):
        state, cache = _cell_step(cell, crnn, x[:, :, t], state, parameters)
        cell_caches.append(cache)
    got = course(cell, crnn, "backward")(da, (cell_caches, x))
    want = course(cell, crnn, "backward")(da, _forward(cell, crnn, x, a0, parameters)[2])
    assert_gradients_close(got, want, np.float64)


def test_user_loop_over_cell_backward_matches_the_sequence_backward(cell):
    x, a0, parameters, da = cell.problem(*SHAPE, seed=11)
    caches = _forward(cell, crnn, x, a0, parameters)[2]
    want = course(cell, crnn, "backward")(da, caches)
    cell_backward = course(cell, crnn, "cell_backward")
    da_prev, dc_prev, total = np.zeros_like(a0), np.zeros_like(a0), None
    for t in reversed(range(x.shape[2])):
        if cell.name == "lstm":
            g = cell_backward(da[:, :, t] + da_prev, dc_prev, caches[0][t])
            dc_prev = g["dc_prev"]
        else:
            g = cell_backward(da[:, :, t] + da_prev, caches[0][t])
        da_prev = g["da_prev"]
        assert_close(g["dxt"], want["dx"][:, :, t], np.float64, "dxt")
        named = {k: v for k, v in g.items() if k not in ("dxt", "da_prev", "dc_prev")}
        total = named if total is None else {k: total[k] + named[k] for k in total}
    assert_close(da_prev, want["da0"], np.float64, "da0")
    assert_gradients_close(total, {k: want[k] for k in total}, np.float64)


@pytest.mark.parametrize("source", ["crnn", "course"])
def test_da_with_fewer_steps_uses_the_first_caches(cell, source):
    x, a0, parameters, da = cell.problem(*SHAPE, seed=11)
    caches = _forward(cell, crnn if source == "crnn" else reference, x, a0, parameters)[2]
    T = 3
    got = course(cell, crnn, "backward")(da[:, :, :T], caches)
    short = _forward(cell, reference, x[:, :, :T], a0, parameters)[2]
    want = course(cell, reference, "backward")(da[:, :, :T], short)
    assert got["dx"].shape == (SHAPE[0], SHAPE[3], T)
    assert_gradients_close(got, want, np.float64)


@pytest.mark.parametrize("how", ["rebound", "in place"])
def test_backward_reads_the_parameters_dict_at_backward_time(cell, how):
    """Like the course's code, backward uses the weights the dict holds when it runs."""
    x, a0, parameters, da = cell.problem(*SHAPE, seed=11)
    caches = _forward(cell, crnn, x, a0, parameters)[2]
    caches_ref = _forward(cell, reference, x, a0, parameters)[2]
    for key in cell.spec.keys():  # every weight and bias of the cell
        if how == "in place":
            parameters[key] *= 0.5
        else:
            parameters[key] = parameters[key] * 0.5
    got = course(cell, crnn, "backward")(da, caches)
    assert_gradients_close(got, course(cell, reference, "backward")(da, caches_ref), np.float64)


def test_edited_cache_list_is_honoured(cell):
    """A cache list changed after the forward pass is read as it is now, like the course does."""
    x, a0, parameters, da = cell.problem(*SHAPE, seed=11)
    _, _, (cell_caches, xc) = _forward(cell, crnn, x, a0, parameters)
    cache = list(cell_caches[2])
    cache[0] = cache[0] * 0.5  # a_next
    cell_caches[2] = type(cell_caches[2])(cache)  # a relu RNN's cache stays marked
    got = course(cell, crnn, "backward")(da, (cell_caches, xc))
    want = course(cell, reference, "backward")(da, (list(cell_caches), xc))
    assert_gradients_close(got, want, np.float64)


def test_a_changed_list_of_caches_is_read_as_it_is(cell):
    """Caches of crnn's list swapped for the course's equal ones: the stacked path."""
    x, a0, parameters, da = cell.problem(3, 4, 2, 3, 5, seed=4)
    _, _, caches = _forward(cell, crnn, x, a0, parameters)
    _, _, caches_ref = _forward(cell, reference, x, a0, parameters)
    caches[0][2] = caches_ref[0][2]
    caches[0][3] = caches_ref[0][3]
    got = course(cell, crnn, "backward")(da, caches)
    assert_gradients_close(got, course(cell, reference, "backward")(da, caches_ref), np.float64)


def test_caches_whose_steps_do_not_chain_are_read_as_they_are(cell):
    # each step from a state of its own, as a user's loop may make them: the previous
    # state of step t is its cache's a_prev, not the a_next of step t-1
    x, a0, parameters, da = cell.problem(3, 4, 2, 3, 5, seed=8)
    rng = np.random.default_rng(9)
    starts = rng.standard_normal((5, 4, 3))
    c_starts = rng.standard_normal((5, 4, 3)) if cell.name == "lstm" else [None] * 5
    caches = (
        [
            course_cell_forward(cell, crnn, x[:, :, t], starts[t], c_starts[t], parameters)[-1]
            for t in range(5)
        ],
        x,
    )
    want = course(cell, reference, "backward")(da, caches)
    assert_gradients_close(course(cell, crnn, "backward")(da, caches), want, np.float64)
