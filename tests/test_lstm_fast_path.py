"""The common case of lstm_forward and lstm_backward, recognised in C (crnn._lstm's fast
paths), as tests/test_fast_path.py checks the RNN's.

The fast paths must take the inputs the general path would accept without conversion,
give the same numbers and the same caches; for anything else they must decline (None),
so that crnn.lstm's checks name what is wrong.
"""
from types import MappingProxyType

import numpy as np
import pytest

import crnn
from crnn import _lstm, reference
from crnn.testing import assert_close, random_lstm_problem

from _declined import declined_inputs

SHAPE = (4, 6, 3, 5, 7)  # n_x, n_a, n_y, m, T_x
DTYPES = [np.float64, np.float32]
GATES = "fico"


def _problem(dtype=np.float64):
    return random_lstm_problem(*SHAPE, dtype=dtype, seed=13)


def _declined_forward():
    """Inputs of lstm_forward that the fast path must hand to the general path."""
    x, a0, p, _ = _problem()
    return {
        **declined_inputs(x, a0, p),
        "parameters a Mapping": (x, a0, MappingProxyType(p)),
        "Wc missing": (x, a0, {k: v for k, v in p.items() if k != "Wc"}),
        "Wi Fortran-ordered": (x, a0, {**p, "Wi": np.asfortranarray(p["Wi"])}),
        "Wo float32": (x, a0, {**p, "Wo": p["Wo"].astype(np.float32)}),
        "bf 1-D": (x, a0, {**p, "bf": p["bf"].ravel()}),
        "by of another n_y": (x, a0, {**p, "by": p["by"][:-1]}),
        "Wy Fortran-ordered": (x, a0, {**p, "Wy": np.asfortranarray(p["Wy"])}),
    }


@pytest.mark.parametrize("dtype", DTYPES)
def test_common_case_takes_the_fast_paths(dtype):
    x, a0, p, da = _problem(dtype)
    fast = _lstm.lstm_forward_fast(x, a0, p)
    assert fast is not None
    a_ref, y_ref, c_ref, caches_ref = reference.lstm_forward(x, a0, p)
    for got, want, name in zip(fast[:3], (a_ref, c_ref, y_ref), ("a", "c", "y")):
        assert got.dtype == dtype
        assert_close(got, want, dtype, name)
    a, c, gates, c0 = fast[0], fast[1], fast[3], fast[4]
    assert c0.flags.f_contiguous and not c0.any()
    grads = _lstm.lstm_backward_fast(da, a, c, gates, x, a0, c0, p)
    assert grads is not None
    want = reference.lstm_backward(da, caches_ref)
    assert list(grads) == ["dx", "da0", *(f"d{k}{g}" for g in GATES for k in "Wb"), "dc0"]
    for key in want:
        assert grads[key].dtype == dtype
        assert_close(grads[key], want[key], dtype, key)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_public_functions_match_the_general_path(dtype):
    """lstm_forward and lstm_backward through the fast paths, against the same inputs
    made to decline (a Mapping of the parameters): same results, same cache structure."""
    x, a0, p, da = _problem(dtype)
    a, y, c, caches = crnn.lstm_forward(x, a0, p)
    general = crnn.lstm_forward(x, a0, MappingProxyType(p))
    for got, want, name in zip((a, y, c), general[:3], ("a", "y", "c")):
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert caches[1] is x and len(caches[0]) == x.shape[2]
    first = caches[0][0]
    assert first[2] is a0 and first[9] is p and not first[3].any()
    for t, cache in enumerate(caches[0]):
        np.testing.assert_array_equal(cache[0], a[:, :, t])
        np.testing.assert_array_equal(cache[1], c[:, :, t])
        if t:
            assert cache[2] is caches[0][t - 1][0] and cache[3] is caches[0][t - 1][1]
        for got, want in zip(cache, general[3][0][t][:9]):
            np.testing.assert_array_equal(got, want)
    grads = crnn.lstm_backward(da, caches)
    for key, want in crnn.lstm_backward(da, general[3]).items():
        assert_close(grads[key], want, dtype, key)


@pytest.mark.parametrize("case", list(_declined_forward()))
def test_forward_fast_path_declines_other_inputs(case):
    assert _lstm.lstm_forward_fast(*_declined_forward()[case]) is None


@pytest.mark.parametrize("case", [c for c in _declined_forward() if c not in
                                  ("x 2-D", "a0 of another m", "Wc missing",
                                   "by of another n_y")])
def test_declined_inputs_still_give_the_course_results(case):
    x, a0, p = _declined_forward()[case]
    # the course's code wants (n, 1) biases and a dict, in float64
    as_dict = {k: np.asarray(np.reshape(v, (-1, 1)) if k[0] == "b" else v, np.float64)
               for k, v in p.items()}
    want = reference.lstm_forward(np.asarray(x, np.float64), a0, as_dict)
    a, y, c, caches = crnn.lstm_forward(x, a0, p)
    for got, ref, name in zip((a, y, c), want[:3], ("a", "y", "c")):
        assert_close(got, ref, got.dtype, name)


def test_backward_fast_path_declines_other_inputs():
    x, a0, p, da = _problem()
    a, c, _, gates, c0 = _lstm.lstm_forward_fast(x, a0, p)
    args = dict(da=da, a=a, c=c, gates=gates, x=x, a0=a0, c0=c0, parameters=p)
    declined = {
        "da Fortran-ordered": {"da": np.asfortranarray(da)},
        "da fewer steps": {"da": da[:, :, :-1].copy()},
        "da float32": {"da": da.astype(np.float32)},
        "da a list": {"da": da.tolist()},
        "a not in the kernels' layout": {"a": np.ascontiguousarray(a)},
        "c not in the kernels' layout": {"c": np.ascontiguousarray(c)},
        "gates of another n_a": {"gates": gates[:-1]},
        "a0 Fortran-ordered": {"a0": np.asfortranarray(a0)},
        "c0 strided": {"c0": np.repeat(c0, 2, axis=1)[:, ::2]},
        "c0 float32": {"c0": np.asfortranarray(c0, np.float32)},
        "x Fortran-ordered": {"x": np.asfortranarray(x)},
        "Wf float32": {"parameters": {**p, "Wf": p["Wf"].astype(np.float32)}},
        "Wo missing": {"parameters": {k: v for k, v in p.items() if k != "Wo"}},
        "parameters a Mapping": {"parameters": MappingProxyType(p)},
    }
    for case, change in declined.items():
        assert _lstm.lstm_backward_fast(**{**args, **change}) is None, case


def test_rnn_caches_are_not_taken_for_lstm_caches():
    x, a0, p, da = _problem()
    rnn_caches = crnn.rnn_forward(
        x, a0, {"Wax": np.zeros((6, 4)), "Waa": np.zeros((6, 6)), "Wya": np.zeros((3, 6)),
                "ba": np.zeros((6, 1)), "by": np.zeros((3, 1))},
    )[2]
    with pytest.raises(ValueError, match="lstm_cell_forward"):
        crnn.lstm_backward(da, rnn_caches)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_a_given_c0_takes_the_fast_paths(dtype, order):
    x, a0, p, da = _problem(dtype)
    c0 = np.asarray(0.5 * np.random.default_rng(3).standard_normal(a0.shape), dtype, order=order)
    fast = _lstm.lstm_forward_fast(x, a0, p, c0)
    assert fast is not None and fast[4].flags.f_contiguous
    np.testing.assert_array_equal(fast[4], c0)
    a, y, c, caches = crnn.lstm_forward(x, a0, p, c0=c0)
    assert caches[0][0][3] is c0
    want = reference.lstm_forward(x, a0, p, c0=c0)
    for got, ref, name in zip((a, y, c), want[:3], ("a", "y", "c")):
        assert_close(got, ref, dtype, name)
    grads = crnn.lstm_backward(da, caches)
    # a C-ordered c0 (a user's) is copied to Fortran order by the backward's fast path too
    direct = _lstm.lstm_backward_fast(da, fast[0], fast[1], fast[3], x, a0, c0, p)
    assert direct is not None
    for key, ref in reference.lstm_backward(da, want[3]).items():
        assert_close(grads[key], ref, dtype, key)
        assert_close(direct[key], ref, dtype, key)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_cell_takes_the_fast_path(dtype):
    x, a0, p, da = _problem(dtype)
    xt = x[:, :, 0].copy()
    c_prev = (0.5 * np.random.default_rng(4).standard_normal(a0.shape)).astype(dtype)
    fast = _lstm.lstm_forward_fast(xt, a0, p, c_prev, True)
    assert fast is not None and fast[0].shape == (a0.shape[0], a0.shape[1], 1)
    a_next, c_next, yt, cache = crnn.lstm_cell_forward(xt, a0, c_prev, p)
    general = crnn.lstm_cell_forward(xt, a0, c_prev, MappingProxyType(p))
    for got, want in zip((a_next, c_next, yt, *cache[4:8]), (*general[:3], *general[3][4:8])):
        np.testing.assert_array_equal(got, want)
    assert cache[2] is a0 and cache[3] is c_prev and cache[8] is xt and cache[9] is p
    ref = reference.lstm_cell_forward(xt, a0, c_prev, p)
    for got, want, name in zip((a_next, c_next, yt), ref[:3], ("a_next", "c_next", "yt")):
        assert_close(got, want, dtype, name)
    # the cell declines a 3-D x, and the sequence a 2-D one
    assert _lstm.lstm_forward_fast(x, a0, p, c_prev, True) is None
    assert _lstm.lstm_forward_fast(xt, a0, p, c_prev) is None
    for bad in (c_prev[:, :-1].copy(), c_prev.astype(int), np.repeat(c_prev, 2, axis=1)[:, ::2]):
        assert _lstm.lstm_forward_fast(xt, a0, p, bad, True) is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_cell_backward_takes_the_fast_path(dtype):
    x, a0, p, da = _problem(dtype)
    xt = x[:, :, 0].copy()
    c_prev = (0.5 * np.random.default_rng(5).standard_normal(a0.shape)).astype(dtype)
    dc_next = (0.5 * np.random.default_rng(6).standard_normal(a0.shape)).astype(dtype)
    ours = crnn.lstm_cell_forward(xt, a0, c_prev, p)[3]
    courses = reference.lstm_cell_forward(xt, a0, c_prev, p)[3]
    want = reference.lstm_cell_backward(da[:, :, 0].copy(), dc_next, courses)
    # crnn's cache and the course's; da_next a step of da (strided) or its copy
    for cache in (ours, courses):
        for da_next in (da[:, :, 0], da[:, :, 0].copy()):
            grads = _lstm.lstm_cell_backward_fast(da_next, dc_next, cache)
            assert grads is not None
            assert list(grads) == ["dxt", "da_prev", "dc_prev",
                                   *(f"d{k}{g}" for g in GATES for k in "Wb")]
            for key in want:
                assert grads[key].dtype == dtype
                assert_close(grads[key], want[key], dtype, key)
    # dc_next is not written to (the kernel's flow runs on a copy)
    np.testing.assert_array_equal(
        dc_next, (0.5 * np.random.default_rng(6).standard_normal(a0.shape)).astype(dtype))
    general = crnn.lstm_cell_backward(da[:, :, 0], dc_next, (*ours[:9], MappingProxyType(p)))
    for key in want:
        assert_close(general[key], want[key], dtype, key)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_users_loop_over_the_cell_backward_takes_the_fast_path(dtype):
    """The course's backward loop over crnn's sequence caches, whose arrays are strided
    views (a step of a, c, x): every step takes the fast path, and the sum is the
    sequence's gradient."""
    x, a0, p, da = _problem(dtype)
    a, y, c, caches = crnn.lstm_forward(x, a0, p)
    da_prev, dc_prev = np.zeros_like(a0), np.zeros_like(a0)
    total = None
    for t in reversed(range(x.shape[2])):
        step = _lstm.lstm_cell_backward_fast(da[:, :, t] + da_prev, dc_prev, caches[0][t])
        assert step is not None, t
        da_prev, dc_prev = step["da_prev"], step["dc_prev"]
        total = step if total is None else {k: total[k] + step[k] for k in total}
    want = crnn.lstm_backward(da, caches)
    assert_close(da_prev, want["da0"], dtype, "da0")
    assert_close(dc_prev, want["dc0"], dtype, "dc0")
    for key in (f"d{k}{g}" for g in GATES for k in "Wb"):
        assert_close(total[key], want[key], dtype, key)


def test_the_cell_backward_declines_other_inputs():
    x, a0, p, da = _problem()
    xt, da_next, dc_next = x[:, :, 0].copy(), da[:, :, 0].copy(), np.ones_like(a0)
    cache = crnn.lstm_cell_forward(xt, a0, np.zeros_like(a0), p)[3]
    declined = {
        "a list": (da_next, dc_next, list(cache)),
        "a 9-tuple": (da_next, dc_next, cache[:9]),
        "parameters a Mapping": (da_next, dc_next, (*cache[:9], MappingProxyType(p))),
        "Wo missing": (da_next, dc_next,
                       (*cache[:9], {k: v for k, v in p.items() if k != "Wo"})),
        "da_next float32": (da_next.astype(np.float32), dc_next, cache),
        "da_next of another shape": (da_next[:, :-1].copy(), dc_next, cache),
        "dc_next a list": (da_next, dc_next.tolist(), cache),
        "a_prev float32": (da_next, dc_next, (*cache[:2], a0.astype(np.float32), *cache[3:])),
        "xt of another m": (da_next, dc_next, (*cache[:8], xt[:, :-1].copy(), p)),
        "ft of another shape": (da_next, dc_next, (*cache[:4], cache[4][:-1], *cache[5:])),
        "a_next int": (da_next, dc_next, (cache[0].astype(int), *cache[1:])),
    }
    for case, args in declined.items():
        assert _lstm.lstm_cell_backward_fast(*args) is None, case
