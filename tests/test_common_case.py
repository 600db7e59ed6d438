"""The common case of every cell's course functions, recognised in C (crnn._engine's
common_forward, common_backward and common_step_backward), for every cell of the registry.

The recognisers must take the inputs the general path would accept without conversion,
give the same numbers and the same caches; for anything else they must decline (None),
so that the Python layer's checks name what is wrong.
"""

from types import MappingProxyType

import numpy as np
import pytest
from conftest import course, course_cell_forward, declined_inputs

import crnn
from crnn import _engine, reference
from crnn.cells import variants
from crnn.testing import assert_close

SHAPE = (4, 6, 3, 5, 7)  # n_x, n_a, n_y, m, T_x


def _problem(cell, dtype=np.float64):
    return cell.problem(*SHAPE, dtype=dtype, seed=11)


def _without(p, key):
    return {k: v for k, v in p.items() if k != key}


def _state_before(cell, cache):
    """The a_prev (and the LSTM's c_prev, else None) of a cell cache."""
    at = cell.spec.cache_at
    return cache[at[1]], (cache[at[3]] if at[3] >= 0 else None)


#: cases of _declined_forward that are errors of the general path too
_ERRORS = ("x 2-D", "a0 of another m", "first weight missing", "by of another n_y")


def _declined_forward(cell):
    """Inputs of the cell's sequence forward that the recogniser must decline."""
    x, a0, p, _ = _problem(cell)
    w, b, out = cell.spec.gates[0].weight, cell.spec.gates[-1].bias, cell.output_weight
    cases = {
        **declined_inputs(x, a0, p),
        "parameters a Mapping": (x, a0, MappingProxyType(p)),
        "first weight missing": (x, a0, _without(p, w)),
        "first weight Fortran-ordered": (x, a0, {**p, w: np.asfortranarray(p[w])}),
        "first weight float32": (x, a0, {**p, w: p[w].astype(np.float32)}),
        "last bias 1-D": (x, a0, {**p, b: p[b].ravel()}),
        "by of another n_y": (x, a0, {**p, "by": p["by"][:-1]}),
        "output weight Fortran-ordered": (x, a0, {**p, out: np.asfortranarray(p[out])}),
    }
    inputs = [gate.input for gate in cell.spec.gates if gate.input]
    if inputs:
        cases["input weight Fortran-ordered"] = (
            x,
            a0,
            {**p, inputs[0]: np.asfortranarray(p[inputs[0]])},
        )
    if cell.spec.recurrent_bias:
        rb = cell.spec.recurrent_bias
        cases["recurrent bias 1-D"] = (x, a0, {**p, rb: p[rb].ravel()})
    return cases


def _common_forward(cell, x, a0, p, c0=None, one_step=False):
    return _engine.common_forward(cell.spec.common, x, a0, c0, p, one_step)


def test_the_common_case_is_recognised_and_agrees_with_the_reference(cell, dtype):
    x, a0, p, da = _problem(cell, dtype)
    fast = _common_forward(cell, x, a0, p)
    assert fast is not None
    want_outputs, want = cell.course_pass(reference, x, a0, p, da)
    assert_close(fast[0], want_outputs["a"], dtype, "a")
    assert_close(fast[1], list(want_outputs.values())[1], dtype, "y")
    caches = course(cell, crnn, "forward")(x, a0, p, **cell.options)[-1]
    a_prev, c_prev = _state_before(cell, caches[0][0])
    grads = _engine.common_backward(cell.spec.common, da, caches[0].buffers, a_prev, c_prev, p)
    assert grads is not None
    dx, da0, dc0, named = grads
    assert list(named) == ["d" + key for key in cell.spec.keys()]
    for key, got in {
        "dx": dx,
        "da0": da0,
        **named,
        **({"dc0": dc0} if dc0 is not None else {}),
    }.items():
        assert got.dtype == dtype, key
        assert_close(got, want[key], dtype, key)


#: every cell with every input its recogniser must decline
DECLINED = [
    pytest.param(cell, case, id=f"{cell.label}-{case}")
    for cell in variants()
    for case in _declined_forward(cell)
]


@pytest.mark.parametrize("cell, case", DECLINED)
def test_the_forward_declines_other_inputs(cell, case):
    assert _common_forward(cell, *_declined_forward(cell)[case]) is None


@pytest.mark.parametrize("cell, case", [p for p in DECLINED if p.values[1] not in _ERRORS])
def test_declined_inputs_still_give_the_course_results(cell, case):
    x, a0, p = _declined_forward(cell)[case]
    # the course's code wants (n, 1) biases and a dict, in float64
    as_dict = {
        k: np.asarray(np.reshape(v, (-1, 1)) if k[0] == "b" else v, np.float64)
        for k, v in p.items()
    }
    want = course(cell, reference, "forward")(
        np.asarray(x, np.float64), a0, as_dict, **cell.options
    )
    got = course(cell, crnn, "forward")(x, a0, p, **cell.options)
    for name, g, w in zip(cell.outputs, got, want):
        assert_close(g, w, g.dtype, name)


def test_the_backward_declines_other_inputs(cell):
    x, a0, p, da = _problem(cell)
    caches = course(cell, crnn, "forward")(x, a0, p, **cell.options)[-1]
    a, gates, aux, c, xb, kept = caches[0].buffers
    a_prev, c_prev = _state_before(cell, caches[0][0])
    args = {
        "da": da,
        "buffers": (a, gates, aux, c, xb, kept),
        "a0": a_prev,
        "c0": c_prev,
        "parameters": p,
    }
    w = cell.spec.gates[0].weight
    declined = {
        "da Fortran-ordered": {"da": np.asfortranarray(da)},
        "da fewer steps": {"da": da[:, :, :-1].copy()},
        "da float32": {"da": da.astype(np.float32)},
        "da a list": {"da": da.tolist()},
        "a not in the kernels' layout": {
            "buffers": (np.ascontiguousarray(a), gates, aux, c, xb, kept)
        },
        "x Fortran-ordered": {"buffers": (a, gates, aux, c, np.asfortranarray(xb), kept)},
        "a0 strided": {"a0": np.repeat(a_prev, 2, axis=1)[:, ::2]},
        "first weight float32": {"parameters": {**p, w: p[w].astype(np.float32)}},
        "first weight missing": {"parameters": _without(p, w)},
        "parameters a Mapping": {"parameters": MappingProxyType(p)},
    }
    if gates is not None:
        declined["gates of another n_a"] = {"buffers": (a, gates[:-1], aux, c, xb, kept)}
    if c is not None:
        declined["c0 float32"] = {"c0": c_prev.astype(np.float32)}
    for case, change in declined.items():
        given = {**args, **change}
        assert (
            _engine.common_backward(
                cell.spec.common,
                given["da"],
                given["buffers"],
                given["a0"],
                given["c0"],
                given["parameters"],
            )
            is None
        ), case


SORTED = np.array([7, 7, 5, 2, 1])  # SHAPE's m examples, non-increasing, in 1..T_x


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_sorted_lengths_take_the_common_case_and_agree_with_the_general_path(cell, reverse):
    x, a0, p, da = _problem(cell)
    lengths = SORTED.copy()
    fast = _engine.common_forward(cell.spec.common, x, a0, None, p, False, lengths, reverse)
    assert fast is not None
    assert fast[-1] is not lengths and np.array_equal(fast[-1], lengths)  # a copy
    forward = course(cell, crnn, "forward")
    # lengths as a list: validated and run in Python
    *general, caches = forward(x, a0, p, **cell.options, lengths=lengths.tolist(), reverse=reverse)
    # a, y (and the LSTM's c) of the Buffers fields (a, y, gates, aux, c, c0, lengths)
    for name, got, want in zip(cell.outputs, (fast[0], fast[1], fast[4]), general):
        np.testing.assert_array_equal(got, want, err_msg=name)
    *_, caches = forward(x, a0, p, **cell.options, lengths=lengths, reverse=reverse)
    first = caches[0][-1 if reverse else 0]
    a_prev, c_prev = _state_before(cell, first)
    grads = _engine.common_backward(
        cell.spec.common, da, caches[0].buffers, a_prev, c_prev, p, caches.lengths, reverse
    )
    assert grads is not None
    # the same caches as a plain list: stacked and run in Python
    plain = crnn._caches.SequenceCaches(list(caches[0]), caches[1], caches.lengths, reverse)
    want = course(cell, crnn, "backward")(da, plain)
    dx, da0, dc0, named = grads
    for key, got in {
        "dx": dx,
        "da0": da0,
        **named,
        **({"dc0": dc0} if dc0 is not None else {}),
    }.items():
        assert_close(got, want[key], np.float64, key)


@pytest.mark.parametrize(
    "case", ["unsorted", "a list", "int32", "too few", "0", "above T_x", "strided"]
)
def test_the_recognisers_decline_other_lengths(cell, case):
    x, a0, p, da = _problem(cell)
    lengths = {
        "unsorted": np.array([1, 7, 5, 2, 1]),
        "a list": SORTED.tolist(),
        "int32": SORTED.astype(np.int32),
        "too few": SORTED[:-1],
        "0": np.array([7, 7, 5, 2, 0]),
        "above T_x": np.array([8, 7, 5, 2, 1]),
        "strided": np.repeat(SORTED, 2)[::2],
    }[case]
    assert _engine.common_forward(cell.spec.common, x, a0, None, p, False, lengths) is None
    *_, caches = course(cell, crnn, "forward")(x, a0, p, **cell.options, lengths=SORTED)
    a_prev, c_prev = _state_before(cell, caches[0][0])
    assert (
        _engine.common_backward(cell.spec.common, da, caches[0].buffers, a_prev, c_prev, p, lengths)
        is None
    )


def _step_args(cell, dtype, seed=4):
    """xt, a_prev, c_prev (the LSTM's, else None), da_next and dc_next (likewise)."""
    x, a0, p, da = _problem(cell, dtype)
    rng = np.random.default_rng(seed)
    c_prev = dc_next = None
    if cell.name == "lstm":
        c_prev = (0.5 * rng.standard_normal(a0.shape)).astype(dtype)
        dc_next = (0.5 * rng.standard_normal(a0.shape)).astype(dtype)
    return x, a0, p, da, c_prev, dc_next


def _step_backward(cell, da_next, dc_next, cache):
    return _engine.common_step_backward(
        cell.spec.common, cell.spec.cache_at, da_next, dc_next, cache
    )


def test_one_step_takes_the_common_case_forward_and_backward(cell, dtype):
    x, a0, p, da, c_prev, dc_next = _step_args(cell, dtype)
    xt = x[:, :, 0].copy()
    fast = _common_forward(cell, xt, a0, p, c_prev, one_step=True)
    assert fast is not None and fast[0].shape == (*a0.shape, 1)
    assert _common_forward(cell, x, a0, p, c_prev, one_step=True) is None  # 3-D for one step
    assert _common_forward(cell, xt, a0, p, c_prev) is None  # 2-D for a sequence
    ours = course_cell_forward(cell, crnn, xt, a0, c_prev, p)
    courses = course_cell_forward(cell, reference, xt, a0, c_prev, p)
    for got, want, name in zip(ours[:-1], courses[:-1], ("a_next", "second", "third")):
        assert_close(got, want, dtype, name)
    assert _state_before(cell, ours[-1]) == (a0, c_prev) and ours[-1][-1] is p
    backward = course(cell, reference, "cell_backward")
    da_next = da[:, :, 0]
    want = (
        backward(da_next.copy(), dc_next, courses[-1])
        if cell.name == "lstm"
        else backward(da_next.copy(), courses[-1])
    )
    # crnn's cache and the course's; da_next a step of da (strided) or its copy
    for cache in (ours[-1], courses[-1]):
        for step in (da_next, da_next.copy()):
            got = _step_backward(cell, step, dc_next, cache)
            assert got is not None
            dxt, da_prev, dc_prev, named = got
            got = {
                "dxt": dxt,
                "da_prev": da_prev,
                **named,
                **({"dc_prev": dc_prev} if dc_prev is not None else {}),
            }
            assert sorted(got) == sorted(want)
            for key in want:
                assert got[key].dtype == dtype
                assert_close(got[key], want[key], dtype, key)
    if dc_next is not None:  # dc_next is not written to (the loop's flow runs on a copy)
        np.testing.assert_array_equal(dc_next, _step_args(cell, dtype)[-1])


def test_a_users_loop_over_the_cell_backward_takes_the_common_case(cell, dtype):
    """The course's backward loop over crnn's sequence caches, whose arrays are strided
    views (a step of a, x, the gates): every step takes the common case, and the sum is
    the sequence's gradient."""
    x, a0, p, da = _problem(cell, dtype)
    caches = course(cell, crnn, "forward")(x, a0, p, **cell.options)[-1]
    da_prev = np.zeros_like(a0)
    dc_prev = np.zeros_like(a0) if cell.name == "lstm" else None
    total = None
    for t in reversed(range(x.shape[2])):
        step = _step_backward(cell, da[:, :, t] + da_prev, dc_prev, caches[0][t])
        assert step is not None, t
        _, da_prev, dc_prev, named = step
        total = named if total is None else {k: total[k] + named[k] for k in total}
    want = course(cell, crnn, "backward")(da, caches)
    assert_close(da_prev, want["da0"], dtype, "da0")
    if dc_prev is not None:
        assert_close(dc_prev, want["dc0"], dtype, "dc0")
    for key in total:
        assert_close(total[key], want[key], dtype, key)


def test_the_cell_backward_declines_other_inputs(cell):
    x, a0, p, da, c_prev, dc_next = _step_args(cell, np.float64)
    xt, da_next = x[:, :, 0].copy(), da[:, :, 0].copy()
    cache = course_cell_forward(cell, crnn, xt, a0, c_prev, p)[-1]
    at = cell.spec.cache_at
    w = cell.spec.gates[0].weight

    def replaced(k, value):
        return (*cache[:k], value, *cache[k + 1 :])

    declined = {
        "a list": (da_next, dc_next, list(cache)),
        "a shorter tuple": (da_next, dc_next, cache[:-1]),
        "parameters a Mapping": (da_next, dc_next, replaced(len(cache) - 1, MappingProxyType(p))),
        "first weight missing": (da_next, dc_next, replaced(len(cache) - 1, _without(p, w))),
        "da_next float32": (da_next.astype(np.float32), dc_next, cache),
        "da_next of another shape": (da_next[:, :-1].copy(), dc_next, cache),
        "a_prev float32": (da_next, dc_next, replaced(at[1], a0.astype(np.float32))),
        "xt of another m": (da_next, dc_next, replaced(at[5], xt[:, :-1].copy())),
        "a_next int": (da_next, dc_next, replaced(at[0], cache[at[0]].astype(int))),
    }
    if at[4]:
        declined["a gate of another shape"] = (
            da_next,
            dc_next,
            replaced(at[4][0], cache[at[4][0]][:-1]),
        )
    if dc_next is not None:
        declined["dc_next a list"] = (da_next, dc_next.tolist(), cache)
    if cell.spec.recurrent_bias:
        declined["recurrent bias 1-D"] = (
            da_next,
            dc_next,
            replaced(
                len(cache) - 1, {**p, cell.spec.recurrent_bias: p[cell.spec.recurrent_bias].ravel()}
            ),
        )
    for case, args in declined.items():
        assert _step_backward(cell, *args) is None, case


@pytest.mark.parametrize("writeable", [True, False])
def test_the_caches_hold_the_views_numpy_would_make(cell, writeable):
    x, a0, p, _ = _problem(cell)
    x.flags.writeable = writeable
    a, *_, (caches, _) = course(cell, crnn, "forward")(x, a0, p, **cell.options)
    at = cell.spec.cache_at
    assert caches[0][at[1]] is a0
    for t, cache in enumerate(caches):
        assert cache[-1] is p
        if t:
            assert cache[at[1]] is caches[t - 1][at[0]]
        for view, whole in ((cache[at[0]], a), (cache[at[5]], x)):
            expect = whole[:, :, t]
            assert type(view) is np.ndarray
            assert view.shape == expect.shape and view.strides == expect.strides
            assert view.__array_interface__["data"] == expect.__array_interface__["data"]
            assert view.flags == expect.flags
            np.testing.assert_array_equal(view, expect)


def test_the_caches_keep_their_buffers_alive(cell):
    x, a0, p, _ = _problem(cell)
    a, *_, (caches, _) = course(cell, crnn, "forward")(x.copy(), a0, p, **cell.options)
    kept = [c[0].copy() for c in caches]
    del a
    for cache, want in zip(caches, kept):
        np.testing.assert_array_equal(cache[0], want)


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_given_c0_takes_the_common_case(dtype, order):
    cell = variants()[2]
    assert cell.name == "lstm"
    x, a0, p, da = _problem(cell, dtype)
    c0 = np.asarray(0.5 * np.random.default_rng(3).standard_normal(a0.shape), dtype, order=order)
    fast = _common_forward(cell, x, a0, p, c0)
    if order == "F":  # the recogniser takes C-ordered arrays only
        assert fast is None
    else:
        assert fast is not None and fast[5].flags.f_contiguous
        np.testing.assert_array_equal(fast[5], c0)
    a, y, c, caches = crnn.lstm_forward(x, a0, p, c0=c0)
    assert caches[0][0][3] is c0
    want = reference.lstm_forward(x, a0, p, c0=c0)
    for got, ref, name in zip((a, y, c), want[:3], ("a", "y", "c")):
        assert_close(got, ref, dtype, name)
    direct = _engine.common_backward(cell.spec.common, da, caches[0].buffers, a0, c0, p)
    assert direct is not None
    grads = crnn.lstm_backward(da, caches)
    for key, ref in reference.lstm_backward(da, want[3]).items():
        assert_close(grads[key], ref, dtype, key)


def test_rnn_caches_are_not_taken_for_lstm_caches():
    x, a0, p, da = _problem(variants()[2])
    rnn_caches = crnn.rnn_forward(
        x,
        a0,
        {
            "Wax": np.zeros((6, 4)),
            "Waa": np.zeros((6, 6)),
            "Wya": np.zeros((3, 6)),
            "ba": np.zeros((6, 1)),
            "by": np.zeros((3, 1)),
        },
    )[2]
    with pytest.raises(ValueError, match="lstm_cell_forward"):
        crnn.lstm_backward(da, rnn_caches)
