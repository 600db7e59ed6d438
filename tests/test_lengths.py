"""Variable lengths and the reverse direction, for every cell of the registry.

Semantics (docs/SEQUENCES.md): example i runs its first L_i steps; at steps t >= L_i it
keeps its state (forward: the state of step L_i - 1; reverse: a0, the state before its
first step), its prediction is zero, and a da given there reaches the state it keeps.
Each example's results equal running it alone with its own length, in the course's code.
"""

import numpy as np
import pytest
from conftest import assert_course_pass_matches_finite_differences, course

import crnn
from crnn import reference
from crnn.testing import assert_close

DIRECTIONS = pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
SHAPE = (3, 4, 2, 5, 6)  # n_x, n_a, n_y, m, T_x
LENGTHS = np.array([6, 2, 4, 1, 5])  # not sorted: the engine sorts, the results do not


def _forward(cell, x, a0, p, **kwargs):
    *outputs, caches = course(cell, crnn, "forward")(x, a0, p, **cell.options, **kwargs)
    return dict(zip(cell.outputs, outputs)), caches


def _alone(cell, x, a0, p, da, i, L, reverse):
    """Example i run alone for its L steps in the course's code: its outputs and
    gradients in time order, with the da of its kept steps added where they flow."""
    xi, dai = x[:, i : i + 1, :L], da[:, i : i + 1, :L].copy()
    kept = da[:, i, L:].sum(axis=1)
    if reverse:
        xi, dai = xi[:, :, ::-1].copy(), dai[:, :, ::-1].copy()
    else:
        dai[:, 0, -1] += kept
    *outputs, caches = course(cell, reference, "forward")(xi, a0[:, i : i + 1], p, **cell.options)
    grads = course(cell, reference, "backward")(dai, caches)
    if reverse:
        outputs = [o[:, :, ::-1] for o in outputs]
        grads["dx"] = grads["dx"][:, :, ::-1]
        grads["da0"] = grads["da0"] + kept[:, None]
    return dict(zip(cell.outputs, outputs)), grads


def _assert_each_alone(cell, x, a0, p, da, lengths, reverse, dtype):
    """The batch's outputs and gradients against each example run alone; the weights'
    gradients against their sum."""
    outputs, caches = _forward(cell, x, a0, p, lengths=lengths, reverse=reverse)
    grads = course(cell, crnn, "backward")(da, caches)
    total = {key: 0 for key in grads if key not in ("dx", "da0", "dc0")}
    for i, L in enumerate(lengths):
        want_out, want = _alone(cell, x, a0, p, da, i, L, reverse)
        for name, value in want_out.items():
            assert_close(outputs[name][:, i : i + 1, :L], value, dtype, name)
        assert_close(grads["dx"][:, i : i + 1, :L], want["dx"], dtype, "dx")
        assert not np.any(grads["dx"][:, i, L:]), "dx past the end"
        assert_close(grads["da0"][:, i : i + 1], want["da0"], dtype, "da0")
        for key in total:
            total[key] = total[key] + want[key]
    for key, value in total.items():
        assert_close(grads[key], value, dtype, key)


#: the lengths as given: in no order (the engine runs the batch sorted), sorted as an
#: intp array (the case crnn._engine recognises in C), sorted as a list (checked in Python)
GIVEN = {
    "unsorted": LENGTHS,
    "sorted array": np.sort(LENGTHS)[::-1].copy(),
    "sorted list": sorted(LENGTHS.tolist(), reverse=True),
}


@DIRECTIONS
@pytest.mark.parametrize("given", list(GIVEN))
def test_each_example_equals_running_it_alone(cell, reverse, dtype, given):
    x, a0, p, da = cell.problem(*SHAPE, dtype=dtype, seed=3)
    _assert_each_alone(cell, x, a0, p, da, GIVEN[given], reverse, dtype)


@DIRECTIONS
def test_the_steps_past_an_example_end_keep_its_state(cell, reverse):
    x, a0, p, _ = cell.problem(*SHAPE, seed=4)
    outputs, _ = _forward(cell, x, a0, p, lengths=LENGTHS, reverse=reverse)
    a, y = outputs["a"], outputs[cell.outputs[1]]
    for i, L in enumerate(LENGTHS):
        kept = a0[:, i] if reverse else a[:, i, L - 1]
        for t in range(L, SHAPE[4]):
            np.testing.assert_array_equal(a[:, i, t], kept)
            np.testing.assert_array_equal(y[:, i, t], 0)
    if not reverse:  # a[:, :, -1] holds every example's final state
        np.testing.assert_array_equal(a[:, np.arange(5), LENGTHS - 1], a[:, :, -1])


@DIRECTIONS
def test_full_lengths_equal_no_lengths(cell, reverse):
    x, a0, p, da = cell.problem(*SHAPE, seed=5)
    full, caches_full = _forward(cell, x, a0, p, lengths=[SHAPE[4]] * 5, reverse=reverse)
    plain, caches = _forward(cell, x, a0, p, reverse=reverse)
    for name in full:
        np.testing.assert_allclose(full[name], plain[name], rtol=1e-13, atol=1e-15)
    backward = course(cell, crnn, "backward")
    got, want = backward(da, caches_full), backward(da, caches)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-14)


def test_reverse_without_lengths_is_the_forward_of_the_reversed_sequence(cell):
    x, a0, p, da = cell.problem(*SHAPE, seed=6)
    rev, caches = _forward(cell, x, a0, p, reverse=True)
    flipped, caches_f = _forward(cell, x[:, :, ::-1].copy(), a0, p)
    for name in rev:
        np.testing.assert_allclose(rev[name], flipped[name][:, :, ::-1], rtol=1e-13, atol=1e-15)
    got = course(cell, crnn, "backward")(da, caches)
    want = course(cell, crnn, "backward")(da[:, :, ::-1].copy(), caches_f)
    np.testing.assert_allclose(got["dx"], want["dx"][:, :, ::-1], rtol=1e-12, atol=1e-14)
    for key in (k for k in want if k != "dx"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-14)


@DIRECTIONS
def test_results_do_not_depend_on_the_rest_of_the_batch(cell, reverse):
    x, a0, p, da = cell.problem(*SHAPE, seed=7)
    outputs, caches = _forward(cell, x, a0, p, lengths=LENGTHS, reverse=reverse)
    grads = course(cell, crnn, "backward")(da, caches)
    order = np.array([3, 0, 4, 1, 2])
    other, other_caches = _forward(
        cell, x[:, order], a0[:, order], p, lengths=LENGTHS[order], reverse=reverse
    )
    other_grads = course(cell, crnn, "backward")(da[:, order], other_caches)
    for name in outputs:
        np.testing.assert_allclose(other[name], outputs[name][:, order], rtol=1e-13, atol=1e-15)
    for key in ("dx", "da0"):
        np.testing.assert_allclose(other_grads[key], grads[key][:, order], rtol=1e-12, atol=1e-14)


@DIRECTIONS
def test_lengths_and_reverse_match_finite_differences(cell, reverse):
    assert_course_pass_matches_finite_differences(
        cell, *cell.problem(*SHAPE, seed=8), lengths=LENGTHS, reverse=reverse
    )


@DIRECTIONS
def test_caches_chain_in_the_direction_time_runs_and_carry_the_lengths(cell, reverse):
    x, a0, p, da = cell.problem(*SHAPE, seed=9)
    outputs, caches = _forward(cell, x, a0, p, lengths=LENGTHS, reverse=reverse)
    at = cell.spec.cache_at
    cell_caches = caches[0]
    np.testing.assert_array_equal(caches.lengths, LENGTHS)
    assert caches.reverse is reverse and caches[1] is x
    first, step = (-1, 1) if reverse else (0, -1)
    assert cell_caches[first][at[1]] is a0
    for t in range(len(cell_caches)):
        if 0 <= t + step < len(cell_caches) and t != (len(cell_caches) - 1 if reverse else 0):
            assert cell_caches[t][at[1]] is cell_caches[t + step][at[0]]
    # an edited list is stacked, not read from the buffers, and gives the same gradients
    backward = course(cell, crnn, "backward")
    want = backward(da, caches)
    edited = type(caches)(list(cell_caches), x, caches.lengths, reverse)
    got = backward(da, edited)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-14, err_msg=key)


def test_inputs_are_not_modified(cell):
    x, a0, p, da = cell.problem(*SHAPE, seed=10)
    lengths = LENGTHS.copy()
    copies = [arr.copy() for arr in (x, a0, da, lengths, *p.values())]
    _, caches = _forward(cell, x, a0, p, lengths=lengths, reverse=True)
    course(cell, crnn, "backward")(da, caches)
    for arr, copy in zip((x, a0, da, lengths, *p.values()), copies):
        np.testing.assert_array_equal(arr, copy)


@pytest.mark.parametrize(
    "lengths, error, message",
    [
        (
            [6, 2, 4, 1],
            ValueError,
            r"lengths must be 1-D with one length per example, m = 5, got shape \(4,\)",
        ),
        ([[6, 2, 4, 1, 5]], ValueError, r"lengths must be 1-D"),
        ([6, 0, 4, 1, 5], ValueError, r"lengths must be in 1..T_x = 1..6, got \[0\]"),
        ([6, 7, 4, 1, 5], ValueError, r"lengths must be in 1..T_x = 1..6, got \[7\]"),
        ([6, -2, 4, 1, 5], ValueError, r"lengths must be in 1..T_x = 1..6, got \[-2\]"),
        ([6, 2.5, 4, 1, 5], TypeError, r"lengths must hold integers, got dtype float64"),
        ("65415", TypeError, r"lengths must hold integers"),
    ],
)
def test_bad_lengths_are_named(cell, lengths, error, message):
    x, a0, p, _ = cell.problem(*SHAPE, seed=11)
    with pytest.raises(error, match=message):
        _forward(cell, x, a0, p, lengths=lengths)


def test_da_must_cover_every_step_of_such_caches(cell):
    x, a0, p, da = cell.problem(*SHAPE, seed=12)
    _, caches = _forward(cell, x, a0, p, lengths=LENGTHS)
    with pytest.raises(ValueError, match=r"need da for all their 6 steps"):
        course(cell, crnn, "backward")(da[:, :, :4], caches)
    with pytest.raises(ValueError, match="reverse must be True or False"):
        _forward(cell, x, a0, p, reverse="yes")


@DIRECTIONS
@pytest.mark.parametrize("lengths", [[16, 3, 10, 1], [16, 10, 3, 1]], ids=["unsorted", "sorted"])
def test_products_over_the_steps_run_of_wide_inputs(cell, reverse, lengths):
    """The whole-sequence products gather the steps run side by side, from inputs and
    gradients wider than the state (n_x > n_a, most columns padding), in either order."""
    n_x, n_a, n_y, m, T = 700, 32, 3, 4, 16
    x, a0, p, da = cell.problem(n_x, n_a, n_y, m, T, seed=13)
    for i, L in enumerate(lengths):
        x[:, i, L:] = np.nan  # the padding of x is never read
    _assert_each_alone(cell, x, a0, p, da, np.array(lengths), reverse, np.float64)


@pytest.mark.parametrize("output", ["sequence", "last", "mean"])
def test_a_training_step_with_lengths_sums_the_examples_alone(cell, output):
    """loss_and_grads with lengths: the loss and the weights' gradients are the sums
    over the examples run alone; the labels past an example's length are not read."""
    x, a0, p, _ = cell.problem(*SHAPE, seed=14)
    n_y, m, T = SHAPE[2], SHAPE[3], SHAPE[4]
    rng = np.random.default_rng(14)
    if output == "sequence":
        y = rng.integers(0, n_y, size=(m, T))
        for i, L in enumerate(LENGTHS):
            y[i, L:] = -1  # not a class: must not be read
    else:
        y = rng.integers(0, n_y, size=m)
    step = {"loss": "softmax", "reduction": "sum", "output": output, "cell": cell}
    value, grads = crnn.loss_and_grads(x, y, a0, p, lengths=LENGTHS, **step)
    total, want = 0.0, {}
    for i, L in enumerate(LENGTHS):
        y_i = y[i : i + 1, :L] if output == "sequence" else y[i : i + 1]
        v, g = crnn.loss_and_grads(x[:, i : i + 1, :L].copy(), y_i, a0[:, i : i + 1], p, **step)
        total += v
        assert_close(grads["dx"][:, i : i + 1, :L], g.pop("dx"), np.float64, "dx")
        assert not np.any(grads["dx"][:, i, L:])
        for key in ("da0", "dc0"):  # per example (the LSTM's dc0 too)
            if key in g:
                assert_close(grads[key][:, i : i + 1], g.pop(key), np.float64, key)
        for key, value_i in g.items():
            want[key] = want.get(key, 0) + value_i
    assert value == pytest.approx(total, rel=1e-12)
    for key, value_sum in want.items():
        assert_close(grads[key], value_sum, np.float64, key)


@DIRECTIONS
def test_a_rebuilt_caches_tuple_keeps_the_lengths(cell, reverse):
    """The course's own code may unpack and rebuild the caches tuple: the list of cell
    caches keeps the pass's lengths and direction."""
    x, a0, p, da = cell.problem(*SHAPE, seed=15)
    _, caches = _forward(cell, x, a0, p, lengths=LENGTHS, reverse=reverse)
    cell_caches, xs = caches
    backward = course(cell, crnn, "backward")
    want, got = backward(da, caches), backward(da, (cell_caches, xs))
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_caches_rebuilt_as_a_list_keep_their_lengths(cell):
    x, a0, p, da = cell.problem(*SHAPE, seed=4)
    *_, caches = course(cell, crnn, "forward")(x, a0, p, **cell.options, lengths=LENGTHS)
    want = course(cell, crnn, "backward")(da, caches)
    for rebuilt in (list(caches), tuple(caches)):
        got = course(cell, crnn, "backward")(da, rebuilt)
        for key, value in want.items():
            np.testing.assert_array_equal(got[key], value, err_msg=key)
