"""The common case of rnn_forward and rnn_backward, recognised in C (crnn._rnn's fast paths).

The fast paths must take exactly the inputs the general path would accept and run
without conversion, give the same numbers, and build the same caches; for anything
else they must decline (None), so that crnn.rnn's checks name what is wrong.
"""
from collections.abc import Mapping

import numpy as np
import pytest

import crnn
from crnn import _rnn, reference
from crnn.testing import assert_close, random_rnn_problem

from _declined import declined_inputs

SHAPE = (4, 6, 3, 5, 7)
DTYPES = [np.float64, np.float32]


def _problem(dtype=np.float64):
    return random_rnn_problem(*SHAPE, dtype=dtype, seed=11)


def _declined_forward():
    """Inputs of rnn_forward that the fast path must hand to the general path."""
    x, a0, p, _ = _problem()
    cases = {
        **declined_inputs(x, a0, p),
        "parameters a Mapping": (x, a0, _ReadOnlyMapping(p)),
        "Waa missing": (x, a0, {k: v for k, v in p.items() if k != "Waa"}),
        "Wax transposed": (x, a0, {**p, "Wax": p["Wax"].T.copy()}),
        "ba 1-D": (x, a0, {**p, "ba": p["ba"].ravel()}),
        "by of another n_y": (x, a0, {**p, "by": p["by"][:-1]}),
        "Wya Fortran-ordered": (x, a0, {**p, "Wya": np.asfortranarray(p["Wya"])}),
    }
    return cases


class _ReadOnlyMapping(Mapping):
    """A Mapping that is not a dict."""

    def __init__(self, d):
        self._d = d

    def __getitem__(self, key):
        return self._d[key]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)


@pytest.mark.parametrize("dtype", DTYPES)
def test_common_case_takes_the_fast_paths(dtype):
    x, a0, p, da = _problem(dtype)
    fast = _rnn.rnn_forward_fast(x, a0, p)
    assert fast is not None
    a, y, caches = crnn.rnn_forward(x, a0, p)
    grads = _rnn.rnn_backward_fast(da, a, a0, x, p)
    assert grads is not None
    a_ref, y_ref, caches_ref = reference.rnn_forward(x, a0, p)
    want = reference.rnn_backward(da, caches_ref)
    assert_close(fast[0], a_ref, dtype, "a")
    assert_close(fast[1], y_ref, dtype, "y")
    for key in want:
        assert grads[key].dtype == dtype
        assert_close(grads[key], want[key], dtype, key)


@pytest.mark.parametrize("case", list(_declined_forward()))
def test_forward_fast_path_declines_other_inputs(case):
    args = _declined_forward()[case]
    assert _rnn.rnn_forward_fast(*args) is None


@pytest.mark.parametrize("case", [c for c in _declined_forward() if c not in
                                  ("x 2-D", "a0 of another m", "Waa missing",
                                   "Wax transposed", "by of another n_y")])
def test_declined_inputs_still_give_the_course_results(case):
    x, a0, p = _declined_forward()[case]
    # the course's code wants (n, 1) biases and a dict
    as_dict = {k: (np.reshape(v, (-1, 1)) if k[0] == "b" else v) for k, v in p.items()}
    want = reference.rnn_forward(np.asarray(x, np.float64), a0, as_dict)
    a, y, caches = crnn.rnn_forward(x, a0, p)
    assert_close(a, want[0], a.dtype, "a")
    assert_close(y, want[1], a.dtype, "y")


def test_backward_fast_path_declines_other_inputs():
    x, a0, p, da = _problem()
    a, _, _ = crnn.rnn_forward(x, a0, p)
    declined = {
        "da Fortran-ordered": (np.asfortranarray(da), a, a0, x, p),
        "da fewer steps": (da[:, :, :-1].copy(), a, a0, x, p),
        "da float32": (da.astype(np.float32), a, a0, x, p),
        "da a list": (da.tolist(), a, a0, x, p),
        "a not in the kernels' layout": (da, np.ascontiguousarray(a), a0, x, p),
        "a0 Fortran-ordered": (da, a, np.asfortranarray(a0), x, p),
        "x Fortran-ordered": (da, a, a0, np.asfortranarray(x), p),
        "Waa float32": (da, a, a0, x, {**p, "Waa": p["Waa"].astype(np.float32)}),
        "Wax missing": (da, a, a0, x, {k: v for k, v in p.items() if k != "Wax"}),
        "parameters a Mapping": (da, a, a0, x, _ReadOnlyMapping(p)),
    }
    for case, args in declined.items():
        assert _rnn.rnn_backward_fast(*args) is None, case


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("writeable", [True, False])
def test_step_caches_are_the_views_numpy_would_make(dtype, writeable):
    x, a0, p, _ = _problem(dtype)
    x.flags.writeable = writeable
    a, _, (caches, _) = crnn.rnn_forward(x, a0, p)
    assert caches[0][1] is a0
    for t, (a_next, a_prev, xt, params) in enumerate(caches):
        assert params is p
        if t:
            assert a_prev is caches[t - 1][0]
        for view, whole in ((a_next, a), (xt, x)):
            expect = whole[:, :, t]
            assert type(view) is np.ndarray
            assert view.shape == expect.shape and view.strides == expect.strides
            assert view.__array_interface__["data"] == expect.__array_interface__["data"]
            assert view.flags == expect.flags
            np.testing.assert_array_equal(view, expect)
        assert np.shares_memory(a_next, a) and np.shares_memory(xt, x)


def test_step_caches_keep_their_buffers_alive():
    x, a0, p, _ = _problem()
    a, _, (caches, _) = crnn.rnn_forward(x.copy(), a0, p)
    kept = [c[0].copy() for c in caches]
    del a
    for (a_next, *_), want in zip(caches, kept):
        np.testing.assert_array_equal(a_next, want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cells_take_the_fast_paths(dtype):
    x, a0, p, da = _problem(dtype)
    xt, da_next = x[:, :, 0].copy(), da[:, :, 0].copy()
    fast = _rnn.rnn_forward_fast(xt, a0, p, True)
    assert fast is not None and fast[0].shape == (a0.shape[0], a0.shape[1], 1)
    a_next, yt, cache = crnn.rnn_cell_forward(xt, a0, p)
    assert a_next.flags.f_contiguous and cache[1] is a0 and cache[2] is xt
    grads = _rnn.rnn_cell_backward_fast(da_next, cache)
    assert grads is not None
    a_ref, y_ref, cache_ref = reference.rnn_cell_forward(xt, a0, p)
    assert_close(a_next, a_ref, dtype, "a_next")
    assert_close(yt, y_ref, dtype, "yt_pred")
    want = reference.rnn_cell_backward(da_next, cache_ref)
    assert sorted(grads) == sorted(want)
    for key in want:
        assert grads[key].dtype == dtype
        assert_close(grads[key], want[key], dtype, key)
    # da_next and the cache's arrays in Fortran order too
    fortran = (a_next, np.asfortranarray(a0), np.asfortranarray(xt), p)
    grads = _rnn.rnn_cell_backward_fast(np.asfortranarray(da_next), fortran)
    for key in want:
        assert_close(grads[key], want[key], dtype, key)
    # and da_next a step of the course's da, read with its strides (and reversed ones)
    reversed_rows = np.ascontiguousarray(da_next[::-1])[::-1]
    for step in (da[:, :, 0], reversed_rows, np.repeat(da_next, 2, axis=1)[:, ::2]):
        assert not (step.flags.c_contiguous or step.flags.f_contiguous)
        grads = _rnn.rnn_cell_backward_fast(step, cache)
        assert grads is not None
        for key in want:
            assert_close(grads[key], want[key], dtype, key)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_courses_caches_and_loop_take_the_cell_fast_path(dtype):
    """The course's cache (C-ordered a_next) and the course's backward loop over crnn's
    sequence caches (strided steps of a and x), whose arrays are copied where BLAS or the
    loop cannot read them."""
    x, a0, p, da = _problem(dtype)
    xt = x[:, :, 0].copy()
    cache = reference.rnn_cell_forward(xt, a0, p)[2]
    assert cache[0].flags.c_contiguous and not cache[0].flags.f_contiguous
    grads = _rnn.rnn_cell_backward_fast(da[:, :, 0], cache)
    assert grads is not None
    for key, want in reference.rnn_cell_backward(da[:, :, 0].copy(), cache).items():
        assert_close(grads[key], want, dtype, key)
    a, _, caches = crnn.rnn_forward(x, a0, p)
    da_prev, total = np.zeros_like(a0), None
    for t in reversed(range(x.shape[2])):
        step = _rnn.rnn_cell_backward_fast(da[:, :, t] + da_prev, caches[0][t])
        assert step is not None, t
        da_prev = step["da_prev"]
        total = step if total is None else {k: total[k] + step[k] for k in total}
    want = crnn.rnn_backward(da, caches)
    assert_close(da_prev, want["da0"], dtype, "da0")
    for key in ("dWax", "dWaa", "dba"):
        assert_close(total[key], want[key], dtype, key)


def test_cell_fast_paths_decline_other_inputs():
    x, a0, p, da = _problem()
    xt, da_next = x[:, :, 0].copy(), da[:, :, 0].copy()
    assert _rnn.rnn_forward_fast(x, a0, p, True) is None  # 3-D for one step
    assert _rnn.rnn_forward_fast(xt, a0, p) is None  # 2-D for a sequence
    _, _, cache = crnn.rnn_cell_forward(xt, a0, p)
    a_next = cache[0]
    declined = {
        "a list": (da_next, list(cache)),
        "a 3-tuple": (da_next, cache[:3]),
        "a_next of another m": (da_next, (a_next[:, :-1], *cache[1:])),
        "da_next of another shape": (da_next[:, :-1].copy(), cache),
        "da_next float32": (da_next.astype(np.float32), cache),
        "xt of another m": (da_next, (a_next, a0, xt[:, :-1].copy(), p)),
        "parameters a Mapping": (da_next, (a_next, a0, xt, _ReadOnlyMapping(p))),
        "Waa int": (da_next, (a_next, a0, xt, {**p, "Waa": p["Waa"].astype(int)})),
    }
    for case, args in declined.items():
        assert _rnn.rnn_cell_backward_fast(*args) is None, case
