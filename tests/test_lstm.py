"""crnn's LSTM against crnn.reference with c0 given, finite differences, the course's cache
contract, bad inputs (VALIDATION.md), layouts, dtypes and threads with c0. Every cell's
agreement with crnn.reference (the LSTM's without c0, and its cell functions) is in
test_reference.py, every cell's threads and GIL in test_threads.py."""

import numpy as np
import pytest

import crnn
from crnn import reference
from crnn.bench import _peak_bytes
from crnn.testing import assert_close, numeric_gradient, random_lstm_problem

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
GATES = "fico"
WEIGHT_KEYS = [f"{p}{g}" for g in GATES for p in ("W", "b")]  # Wf, bf, Wi, bi, ...
PARAM_KEYS = WEIGHT_KEYS + ["Wy", "by"]
SEQ_KEYS = ["dx", "da0"] + ["d" + k for k in WEIGHT_KEYS] + ["dc0"]
CELL_KEYS = ["dxt", "da_prev", "dc_prev"] + ["d" + k for k in WEIGHT_KEYS]

# (n_x, n_a, n_y, m, T_x): sizes 1, odd sizes, m = 1, T_x = 1, then random ones
EDGE_SHAPES = [
    (1, 1, 1, 1, 1),
    (3, 5, 2, 10, 4),
    (1, 7, 3, 1, 5),
    (5, 1, 1, 3, 1),
    (2, 3, 5, 1, 1),
    (9, 13, 7, 11, 3),
    (16, 32, 8, 4, 12),
]
_rng = np.random.default_rng(1234)
RANDOM_SHAPES = [tuple(int(v) for v in _rng.integers(1, [12, 12, 6, 9, 9])) for _ in range(30)]
SHAPES = EDGE_SHAPES + RANDOM_SHAPES


def problem(shape, dtype=np.float64, seed=0):
    """x, a0, parameters, da, c0 of the given sizes."""
    x, a0, parameters, da = random_lstm_problem(*shape, dtype=dtype, seed=seed)
    c0 = (0.5 * np.random.default_rng(seed + 1).standard_normal(a0.shape)).astype(dtype)
    return x, a0, parameters, da, c0


def assert_grads(actual, desired, dtype, keys):
    assert list(actual) == keys
    for key in keys:
        assert_close(actual[key], desired[key], dtype, key)


def assert_forward(fast, slow, dtype):
    for name, f, s in zip(("a", "y", "c"), fast[:3], slow[:3]):
        assert_close(f, s, dtype, name)


# --- against the reference -----------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_sequence_with_c0_matches_reference(shape, dtype):
    # without c0: every cell's test_reference.py
    x, a0, parameters, da, c0 = problem(shape, dtype, seed=sum(shape))
    fast = crnn.lstm_forward(x, a0, parameters, c0=c0)
    slow = reference.lstm_forward(x, a0, parameters, c0=c0)
    assert all(arr.dtype == dtype for arr in fast[:3])
    assert_forward(fast, slow, dtype)
    grads = crnn.lstm_backward(da, fast[3])
    assert all(g.dtype == dtype for g in grads.values())
    assert_grads(grads, reference.lstm_backward(da, slow[3]), dtype, SEQ_KEYS)


@pytest.mark.parametrize(
    "shape",
    [(3, 130, 2, 100, 2), (3, 130, 2, 250, 2)],
    ids=["n_a^2*m past 2^20", "n_a^2*m past 2^22"],
)
def test_recurrent_weights_copied_or_read_as_stored(shape, dtype):
    # the forward loop reads the recurrent part of the packed W from a Fortran-ordered
    # copy while n_a²·m <= 2^22 in float64 (2^20 in float32), else in place, transposed
    x, a0, parameters, da, c0 = problem(shape, dtype, seed=3)
    fast = crnn.lstm_forward(x, a0, parameters, c0=c0)
    slow = reference.lstm_forward(x, a0, parameters, c0=c0)
    assert_forward(fast, slow, dtype)
    assert_grads(
        crnn.lstm_backward(da, fast[3]), reference.lstm_backward(da, slow[3]), dtype, SEQ_KEYS
    )


# --- finite differences --------------------------------------------------------------


def assert_numeric(analytic, numeric, name):
    # central differences are exact to O(eps**2) plus rounding of O(1e-16 / eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=name)


FD_SHAPE = (3, 4, 2, 3, 4)


def test_sequence_gradients_match_finite_differences():
    x, a0, parameters, da, c0 = problem(FD_SHAPE, seed=7)

    def loss():
        a, _, _, _ = crnn.lstm_forward(x, a0, parameters, c0=c0)
        return float(np.sum(a * da))

    grads = crnn.lstm_backward(da, crnn.lstm_forward(x, a0, parameters, c0=c0)[3])
    assert_numeric(grads["dx"], numeric_gradient(loss, x), "dx")
    assert_numeric(grads["da0"], numeric_gradient(loss, a0), "da0")
    assert_numeric(grads["dc0"], numeric_gradient(loss, c0), "dc0")
    for key in WEIGHT_KEYS:
        assert_numeric(grads["d" + key], numeric_gradient(loss, parameters[key]), "d" + key)


def user_backward(da, dc, caches, cell_backward):
    """A user's loop over a cell backward, with an upstream gradient of c as well as a."""
    cell_caches, _ = caches
    n_a, m, T = da.shape
    da_prev, dc_prev = np.zeros((n_a, m)), np.zeros((n_a, m))
    total = {}
    dx = []
    for t in reversed(range(T)):
        g = cell_backward(da[:, :, t] + da_prev, dc[:, :, t] + dc_prev, cell_caches[t])
        da_prev, dc_prev = g["da_prev"], g["dc_prev"]
        dx.append(g["dxt"])
        for key in WEIGHT_KEYS:
            total["d" + key] = total.get("d" + key, 0) + g["d" + key]
    total.update(dx=np.stack(dx[::-1], axis=2), da0=da_prev, dc0=dc_prev)
    return total


def test_loss_of_a_and_c_through_cell_backward_matches_finite_differences():
    x, a0, parameters, da, c0 = problem(FD_SHAPE, seed=8)
    dc = np.random.default_rng(9).standard_normal(da.shape)

    def loss():
        a, _, c, _ = crnn.lstm_forward(x, a0, parameters, c0=c0)
        return float(np.sum(a * da) + np.sum(c * dc))

    caches = crnn.lstm_forward(x, a0, parameters, c0=c0)[3]
    grads = user_backward(da, dc, caches, crnn.lstm_cell_backward)
    assert_numeric(grads["dx"], numeric_gradient(loss, x), "dx")
    assert_numeric(grads["da0"], numeric_gradient(loss, a0), "da0")
    assert_numeric(grads["dc0"], numeric_gradient(loss, c0), "dc0")
    for key in WEIGHT_KEYS:
        assert_numeric(grads["d" + key], numeric_gradient(loss, parameters[key]), "d" + key)
    # and the reference's cell backward agrees on the same caches
    assert_grads(
        {k: grads[k] for k in SEQ_KEYS},
        user_backward(da, dc, caches, reference.lstm_cell_backward),
        F64,
        SEQ_KEYS,
    )


def test_cell_gradients_match_finite_differences():
    x, a0, parameters, da, c0 = problem((3, 4, 2, 5, 1), seed=10)
    xt, da_next = x[:, :, 0], da[:, :, 0]
    dc_next = np.random.default_rng(11).standard_normal(c0.shape)

    def loss():
        a_next, c_next, _, _ = crnn.lstm_cell_forward(xt, a0, c0, parameters)
        return float(np.sum(a_next * da_next) + np.sum(c_next * dc_next))

    grads = crnn.lstm_cell_backward(
        da_next, dc_next, crnn.lstm_cell_forward(xt, a0, c0, parameters)[3]
    )
    assert_numeric(grads["dxt"], numeric_gradient(loss, xt), "dxt")
    assert_numeric(grads["da_prev"], numeric_gradient(loss, a0), "da_prev")
    assert_numeric(grads["dc_prev"], numeric_gradient(loss, c0), "dc_prev")
    for key in WEIGHT_KEYS:
        assert_numeric(grads["d" + key], numeric_gradient(loss, parameters[key]), "d" + key)


# --- the cache contract --------------------------------------------------------------


def test_forward_caches_have_the_course_structure():
    x, a0, parameters, _, c0 = problem((3, 5, 2, 4, 6))
    for kw in ({}, {"c0": c0}):
        a, y, c, caches = crnn.lstm_forward(x, a0, parameters, **kw)
        slow = reference.lstm_forward(x, a0, parameters, **kw)[3]
        assert type(caches) is tuple and len(caches) == 2
        assert caches[1] is x
        assert isinstance(caches[0], list) and len(caches[0]) == 6
        for t, (cache, ref) in enumerate(zip(caches[0], slow[0])):
            assert type(cache) is tuple and len(cache) == 10
            assert cache[9] is parameters
            for k in range(9):
                assert_close(cache[k], ref[k], F64, f"caches[0][{t}][{k}]")
            assert_close(cache[0], a[:, :, t], F64, "a_next")
            assert_close(cache[1], c[:, :, t], F64, "c_next")
        first = caches[0][0]
        assert first[2] is a0
        if kw:
            assert first[3] is c0
        else:
            assert first[3].shape == a0.shape and not np.any(first[3])


def test_cell_cache_holds_the_arguments():
    x, a0, parameters, _, c0 = problem((3, 5, 2, 4, 1))
    xt = x[:, :, 0]
    a_next, c_next, _, cache = crnn.lstm_cell_forward(xt, a0, c0, parameters)
    assert type(cache) is tuple and len(cache) == 10
    assert cache[0] is a_next and cache[1] is c_next
    assert cache[2] is a0 and cache[3] is c0 and cache[8] is xt and cache[9] is parameters


def test_caches_interoperate_both_ways(dtype):
    x, a0, parameters, da, c0 = problem((4, 6, 3, 5, 7), dtype)
    fast = crnn.lstm_forward(x, a0, parameters, c0=c0)
    slow = reference.lstm_forward(x, a0, parameters, c0=c0)
    expected = reference.lstm_backward(da, slow[3])
    assert_grads(crnn.lstm_backward(da, slow[3]), expected, dtype, SEQ_KEYS)
    assert_grads(reference.lstm_backward(da, fast[3]), expected, dtype, SEQ_KEYS)


@pytest.mark.parametrize("T_da", [0, 1, 3, 6])
def test_da_with_fewer_steps_uses_the_first_caches(T_da):
    x, a0, parameters, da, c0 = problem((4, 5, 3, 2, 7))
    for caches in (
        crnn.lstm_forward(x, a0, parameters, c0=c0)[3],
        reference.lstm_forward(x, a0, parameters, c0=c0)[3],
    ):
        grads = crnn.lstm_backward(da[:, :, :T_da], caches)
        assert grads["dx"].shape == (4, 2, T_da)
        if T_da:
            expected = reference.lstm_backward(da[:, :, :T_da], caches)
        else:
            expected = {k: np.zeros_like(v) for k, v in grads.items()}
            expected["dc0"] = expected["da0"]
        assert_grads(grads, expected, F64, SEQ_KEYS)
        # the same as a forward pass over the first T_da steps only
        short = crnn.lstm_forward(x[:, :, :T_da], a0, parameters, c0=c0)[3]
        assert_grads(grads, crnn.lstm_backward(da[:, :, :T_da], short), F64, SEQ_KEYS)


def test_a_users_loops_give_the_same_gradients():
    x, a0, parameters, da, c0 = problem((4, 5, 3, 3, 6))
    expected = crnn.lstm_backward(da, crnn.lstm_forward(x, a0, parameters, c0=c0)[3])
    # a user's forward loop over lstm_cell_forward, into lstm_backward
    cell_caches, a_prev, c_prev = [], a0, c0
    for t in range(x.shape[2]):
        a_prev, c_prev, _, cache = crnn.lstm_cell_forward(x[:, :, t], a_prev, c_prev, parameters)
        cell_caches.append(cache)
    assert_grads(crnn.lstm_backward(da, (cell_caches, x)), expected, F64, SEQ_KEYS)
    # a user's backward loop over lstm_cell_backward, on crnn's and on the user's caches
    zero = np.zeros_like(da)
    for caches in (crnn.lstm_forward(x, a0, parameters, c0=c0)[3], (cell_caches, x)):
        mine = user_backward(da, zero, caches, crnn.lstm_cell_backward)
        assert_grads({k: mine[k] for k in SEQ_KEYS}, expected, F64, SEQ_KEYS)


def test_edited_caches_are_read_as_they_are_now():
    """A list of caches the user changed is not mistaken for crnn's own buffers."""
    x, a0, parameters, da, c0 = problem((3, 4, 2, 3, 5))
    _, _, _, caches = crnn.lstm_forward(x, a0, parameters, c0=c0)
    cell_caches = caches[0]
    edited = list(cell_caches[2])
    edited[4] = edited[4] * 0.5  # ft of step 2
    cell_caches[2] = tuple(edited)
    assert_grads(crnn.lstm_backward(da, caches), reference.lstm_backward(da, caches), F64, SEQ_KEYS)
    # a list that is a copy of crnn's list holds the same caches: the same gradients
    original = crnn.lstm_forward(x, a0, parameters, c0=c0)[3]
    assert_grads(
        crnn.lstm_backward(da, (list(original[0]), x)),
        crnn.lstm_backward(da, original),
        F64,
        SEQ_KEYS,
    )


def test_cell_backward_takes_a_cache_of_crnns_forward():
    x, a0, parameters, da, c0 = problem((3, 4, 2, 3, 5))
    fast = crnn.lstm_forward(x, a0, parameters, c0=c0)[3][0][2]
    slow = reference.lstm_forward(x, a0, parameters, c0=c0)[3][0][2]
    dc = c0[::-1]
    assert_grads(
        crnn.lstm_cell_backward(da[:, :, 2], dc, fast),
        reference.lstm_cell_backward(da[:, :, 2], dc, slow),
        F64,
        CELL_KEYS,
    )


# --- bad inputs (VALIDATION.md) ------------------------------------------------------


@pytest.fixture
def small():
    x, a0, parameters, da, c0 = problem((3, 4, 2, 5, 3))
    return x, a0, parameters, da, c0


def raises(exc, fn, *words):
    with pytest.raises(exc) as info:
        fn()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    return info


@pytest.mark.parametrize("bad", [None, [1, 2], "params"])
def test_parameters_not_a_mapping(small, bad):
    x, a0, _, da, c0 = small
    raises(TypeError, lambda: crnn.lstm_forward(x, a0, bad), "parameters", type(bad).__name__)
    raises(TypeError, lambda: crnn.lstm_cell_forward(x[:, :, 0], a0, c0, bad), "parameters")
    cache = list(crnn.lstm_cell_forward(x[:, :, 0], a0, c0, small[2])[3])
    cache[9] = bad
    raises(TypeError, lambda: crnn.lstm_cell_backward(da[:, :, 0], c0, tuple(cache)), "parameters")


@pytest.mark.parametrize("key", PARAM_KEYS)
def test_missing_key(small, key):
    x, a0, parameters, da, c0 = small
    missing = {k: v for k, v in parameters.items() if k != key}
    raises(KeyError, lambda: crnn.lstm_forward(x, a0, missing), key)
    raises(KeyError, lambda: crnn.lstm_cell_forward(x[:, :, 0], a0, c0, missing), key)
    if key.startswith("W") and key != "Wy":
        caches = crnn.lstm_forward(x, a0, parameters)[3]
        cell_caches = [cache[:9] + (missing,) for cache in caches[0]]
        raises(KeyError, lambda: crnn.lstm_backward(da, (cell_caches, x)), key)
        raises(KeyError, lambda: crnn.lstm_cell_backward(da[:, :, 0], c0, cell_caches[0]), key)


def test_wrong_dimensions(small):
    x, a0, parameters, da, c0 = small
    caches = crnn.lstm_forward(x, a0, parameters)[3]
    cases = [
        (lambda: crnn.lstm_forward(x[:, :, 0], a0, parameters), "x", "(n_x, m, T_x)", "(3, 5)"),
        (lambda: crnn.lstm_forward(x, a0[:, :, None], parameters), "a0", "(n_a, m)", "(4, 5, 1)"),
        (lambda: crnn.lstm_forward(x, a0, parameters, c0=c0[0]), "c0", "(n_a, m)", "(5,)"),
        (lambda: crnn.lstm_cell_forward(x, a0, c0, parameters), "xt", "(n_x, m)", "(3, 5, 3)"),
        (
            lambda: crnn.lstm_cell_forward(x[:, :, 0], a0[0], c0, parameters),
            "a_prev",
            "(n_a, m)",
            "(5,)",
        ),
        (
            lambda: crnn.lstm_cell_forward(x[:, :, 0], a0, c0[None], parameters),
            "c_prev",
            "(n_a, m)",
            "(1, 4, 5)",
        ),
        (lambda: crnn.lstm_backward(da[:, :, 0], caches), "da", "(n_a, m, T_x)", "(4, 5)"),
        (lambda: crnn.lstm_cell_backward(da, c0, caches[0][0]), "da_next", "(n_a, m)", "(4, 5, 3)"),
        (
            lambda: crnn.lstm_cell_backward(da[:, :, 0], da, caches[0][0]),
            "dc_next",
            "(n_a, m)",
            "(4, 5, 3)",
        ),
    ]
    for fn, *words in cases:
        raises(ValueError, fn, *words)


def test_sizes_that_disagree(small):
    x, a0, parameters, da, c0 = small
    wide = dict(parameters, Wi=np.zeros((4, 8)))
    raises(
        ValueError,
        lambda: crnn.lstm_forward(x, a0, wide),
        'parameters["Wi"]',
        "(4, 8)",
        "x",
        "(3, 5, 3)",
        "a0",
        "(4, 5)",
    )
    tall = dict(parameters, Wo=np.zeros((5, 7)))
    raises(
        ValueError, lambda: crnn.lstm_forward(x, a0, tall), 'parameters["Wo"]', "(5, 7)", "(4, 7)"
    )
    raises(
        ValueError,
        lambda: crnn.lstm_forward(x, a0[:, :2], parameters),
        "a0",
        "(4, 2)",
        "x",
        "(3, 5, 3)",
    )
    raises(
        ValueError,
        lambda: crnn.lstm_forward(x, a0, parameters, c0=c0[:, :2]),
        "c0",
        "(4, 2)",
        "a0",
        "(4, 5)",
    )
    raises(
        ValueError,
        lambda: crnn.lstm_cell_forward(x[:, :, 0], a0, c0[:3], parameters),
        "c_prev",
        "(3, 5)",
        "a_prev",
        "(4, 5)",
    )
    wy = dict(parameters, Wy=np.zeros((2, 3)))
    raises(
        ValueError,
        lambda: crnn.lstm_forward(x, a0, wy),
        'parameters["Wy"]',
        "(2, 3)",
        "a0",
        "(4, 5)",
    )
    # the cache's parameters against the caches
    caches = crnn.lstm_forward(x, a0, parameters)[3]
    bad = [cache[:9] + (wide,) for cache in caches[0]]
    raises(
        ValueError, lambda: crnn.lstm_backward(da, (bad, x)), 'parameters["Wi"]', "(4, 7)", "(4, 8)"
    )
    raises(
        ValueError,
        lambda: crnn.lstm_cell_backward(da[:, :, 0], c0, bad[0]),
        'parameters["Wi"]',
        "(4, 8)",
    )


def test_bias_of_either_accepted_shape(small):
    x, a0, parameters, _, _ = small
    flat = {k: v.ravel() if k[0] == "b" else v for k, v in parameters.items()}
    assert flat["bf"].shape == (4,) and flat["by"].shape == (2,)
    assert_forward(crnn.lstm_forward(x, a0, flat), reference.lstm_forward(x, a0, parameters), F64)


@pytest.mark.parametrize("key", [f"b{g}" for g in GATES] + ["by"])
def test_bias_of_a_wrong_shape(small, key):
    x, a0, parameters, _, _ = small
    n = parameters[key].shape[0]
    for bad in (parameters[key].T, np.zeros((n + 1, 1)), np.zeros((n, 2))):
        raises(
            ValueError,
            lambda: crnn.lstm_forward(x, a0, dict(parameters, **{key: bad})),
            f'parameters["{key}"]',
            f"({n}, 1)",
        )


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_, np.float16])
def test_other_real_dtypes_compute_in_float64(small, dtype):
    x, a0, parameters, da, c0 = small
    xi = (x * 3).astype(dtype)
    fast = crnn.lstm_forward(xi, a0, parameters)
    assert all(arr.dtype == F64 for arr in fast[:3])
    assert_forward(fast, reference.lstm_forward(xi.astype(np.float64), a0, parameters), F64)
    # every argument of another dtype at once, backward too
    p16 = {k: v.astype(np.float16) for k, v in parameters.items()}
    a016 = a0.astype(np.float16)
    fast = crnn.lstm_forward(xi, a016, p16)
    slow = reference.lstm_forward(
        xi.astype(np.float64),
        a016.astype(np.float64),
        {k: v.astype(np.float64) for k, v in p16.items()},
    )
    assert_forward(fast, slow, F64)
    dai = (da * 2).astype(dtype)
    grads = crnn.lstm_backward(dai, fast[3])
    assert all(g.dtype == F64 for g in grads.values())
    assert_grads(grads, reference.lstm_backward(dai.astype(np.float64), slow[3]), F64, SEQ_KEYS)


def test_float32_mixed_with_float64_is_float64(small):
    x, a0, parameters, da, c0 = small
    p32 = {k: v.astype(np.float32) for k, v in parameters.items()}
    a, y, c, caches = crnn.lstm_forward(x.astype(np.float32), a0, p32)
    assert a.dtype == y.dtype == c.dtype == F64
    a, y, c, caches = crnn.lstm_forward(x.astype(np.float32), a0.astype(np.float32), p32, c0=c0)
    assert a.dtype == F64
    grads = crnn.lstm_backward(
        da.astype(np.float32),
        crnn.lstm_forward(x.astype(np.float32), a0.astype(np.float32), p32)[3],
    )
    assert all(g.dtype == F32 for g in grads.values())
    assert all(g.dtype == F64 for g in crnn.lstm_backward(da, caches).values())


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((3, 5, 3), complex),
        np.full((3, 5, 3), "a"),
        np.zeros((3, 5, 3), object),
        np.zeros((3, 5, 3), "datetime64[s]"),
        np.zeros((3, 5, 3), "S1"),
    ],
    ids=["complex", "str", "object", "datetime", "bytes"],
)
def test_unsupported_dtypes(small, bad):
    x, a0, parameters, da, c0 = small
    raises(TypeError, lambda: crnn.lstm_forward(bad, a0, parameters), "x", str(bad.dtype))
    raises(TypeError, lambda: crnn.lstm_forward(x, bad[0], parameters), "a0", str(bad.dtype))
    raises(
        TypeError, lambda: crnn.lstm_forward(x, a0, parameters, c0=bad[0, :4]), "c0", str(bad.dtype)
    )
    raises(
        TypeError,
        lambda: crnn.lstm_forward(x, a0, dict(parameters, Wc=bad[0])),
        'parameters["Wc"]',
        str(bad.dtype),
    )
    caches = crnn.lstm_forward(x, a0, parameters)[3]
    bad_da = np.zeros(da.shape, bad.dtype)
    raises(TypeError, lambda: crnn.lstm_backward(bad_da, caches), "da", str(bad.dtype))


@pytest.mark.parametrize("bad", [None, 3.0, 7])
def test_none_or_scalar_for_an_array(small, bad):
    x, a0, parameters, da, c0 = small
    raises((TypeError, ValueError), lambda: crnn.lstm_forward(bad, a0, parameters), "x")
    raises((TypeError, ValueError), lambda: crnn.lstm_forward(x, bad, parameters), "a0")
    raises(
        (TypeError, ValueError),
        lambda: crnn.lstm_cell_forward(x[:, :, 0], a0, bad, parameters),
        "c_prev",
    )
    raises(
        (TypeError, ValueError),
        lambda: crnn.lstm_forward(x, a0, dict(parameters, bf=bad)),
        'parameters["bf"]',
    )
    caches = crnn.lstm_forward(x, a0, parameters)[3]
    raises((TypeError, ValueError), lambda: crnn.lstm_backward(bad, caches), "da")
    raises(
        (TypeError, ValueError),
        lambda: crnn.lstm_cell_backward(da[:, :, 0], bad, caches[0][0]),
        "dc_next",
    )
    if bad is not None:
        raises(TypeError, lambda: crnn.lstm_forward(x, a0, parameters, c0=bad), "c0")


def test_nan_and_inf_propagate_without_a_crash(small):
    x, a0, parameters, da, c0 = small
    x = x.copy()
    x[0, 2, 1] = np.nan
    x[1, 3, 0] = np.inf
    a, y, c, caches = crnn.lstm_forward(x, a0, parameters)
    # a NaN stays in its batch column in the forward pass
    assert np.isnan(a[:, 2, 1:]).all() and not np.isnan(np.delete(a, 2, axis=1)).any()
    slow = reference.lstm_forward(x, a0, parameters)
    np.testing.assert_allclose(a, slow[0], rtol=1e-10, atol=1e-12)  # NaNs where they are
    grads = crnn.lstm_backward(da, caches)
    assert np.isnan(grads["dWf"]).any()


def test_n_y_zero(small):
    x, a0, parameters, _, c0 = small
    p = dict(parameters, Wy=np.zeros((0, 4)), by=np.zeros((0, 1)))
    raises(ValueError, lambda: crnn.lstm_forward(x, a0, p), "n_y", "(0, 4)")
    raises(ValueError, lambda: crnn.lstm_cell_forward(x[:, :, 0], a0, c0, p), "n_y", "(0, 4)")


def huge(shape):
    """A zero-stride array of the given shape: no memory behind it."""
    return np.broadcast_to(np.zeros(()), shape)


def run_huge(func, n_x, n_a, n_y, m, T):
    """Call func on arguments of these sizes, made of zero-stride arrays."""
    p = {f"W{g}": huge((n_a, n_a + n_x)) for g in GATES}
    p.update({f"b{g}": huge((n_a, 1)) for g in GATES}, Wy=huge((n_y, n_a)), by=huge((n_y, 1)))
    x, a0, da = huge((n_x, m, T)), huge((n_a, m)), huge((n_a, m, T))
    cache = (huge((n_a, m)),) * 8 + (huge((n_x, m)), p)
    if func == "lstm_forward":
        return crnn.lstm_forward(x, a0, p, c0=a0)
    if func == "lstm_cell_forward":
        return crnn.lstm_cell_forward(x[:, :, 0], a0, a0, p)
    if func == "lstm_cell_backward":
        return crnn.lstm_cell_backward(da[:, :, 0], da[:, :, 0], cache)
    return crnn.lstm_backward(da, ([cache] * T, x))


BIG = 2**31
# (function, (n_x, n_a, n_y, m, T_x), the argument named, the size named)
HUGE_CASES = [
    ("lstm_forward", (BIG, 1, 1, 1, 1), "x", "n_x"),
    ("lstm_forward", (1, 1, 1, BIG, 1), "x", "m"),
    ("lstm_forward", (1, 1, 1, 1, BIG), "x", "T_x"),
    ("lstm_forward", (1, 1, 1, 2**16, 2**16), "x", "m*T_x"),
    ("lstm_forward", (1, 2**29, 1, 1, 1), "a0", "4*n_a"),
    ("lstm_forward", (BIG - 2, 4, 1, 1, 1), "x", "n_a+n_x"),
    ("lstm_forward", (1, 1, BIG, 1, 1), 'parameters["Wy"]', "n_y"),
    # a step's columns are 4·n_a·T_x apart in the gates of every step
    ("lstm_forward", (1, 2**20, 1, 1, 2**9), "a0", "4*n_a*T_x"),
    ("lstm_cell_forward", (1, 1, 1, BIG, 1), "xt", "m"),
    ("lstm_cell_forward", (1, 2**29, 1, 1, 1), "a_prev", "4*n_a"),
    ("lstm_cell_forward", (BIG - 2, 4, 1, 1, 1), "xt", "n_a+n_x"),
    ("lstm_cell_backward", (BIG, 1, 1, 1, 1), "cache[8] (xt)", "n_x"),
    ("lstm_cell_backward", (1, 1, 1, BIG, 1), "da_next", "m"),
    ("lstm_cell_backward", (1, 2**29, 1, 1, 1), "da_next", "4*n_a"),
    ("lstm_cell_backward", (BIG - 2, 4, 1, 1, 1), "cache[8] (xt)", "n_a+n_x"),
    ("lstm_backward", (BIG, 1, 1, 1, 1), "caches[0][0][8] (xt)", "n_x"),
    ("lstm_backward", (1, 1, 1, 2**16, 2**16), "da", "m*T_x"),
    ("lstm_backward", (1, 2**29, 1, 1, 1), "da", "4*n_a"),
    ("lstm_backward", (1, 2**20, 1, 1, 2**9), "da", "4*n_a*T_x"),
    ("lstm_backward", (BIG - 2, 4, 1, 1, 1), "caches[0][0][8] (xt)", "n_a+n_x"),
]


@pytest.mark.parametrize("func, sizes, name, dim", HUGE_CASES)
def test_past_the_blas_limit_before_any_allocation(
    func, sizes, name, dim, refused_before_allocating
):
    message = refused_before_allocating(lambda: run_huge(func, *sizes))
    assert f"{name} has {dim} = " in message and str(2**31 - 1) in message, message


def test_da_that_does_not_fit_the_caches(small):
    x, a0, parameters, da, c0 = small
    for caches in (
        crnn.lstm_forward(x, a0, parameters)[3],
        reference.lstm_forward(x, a0, parameters)[3],
    ):
        raises(
            ValueError,
            lambda: crnn.lstm_backward(np.zeros((4, 5, 4)), caches),
            "da",
            "caches",
            "(4, 5, 4)",
            "(4, 5, 3)",
        )
        raises(
            ValueError,
            lambda: crnn.lstm_backward(np.zeros((6, 5, 3)), caches),
            "da",
            "caches",
            "(6, 5, 3)",
            "(4, 5, 3)",
        )
        raises(
            ValueError,
            lambda: crnn.lstm_backward(np.zeros((4, 2, 3)), caches),
            "da",
            "caches",
            "(4, 2, 3)",
            "(4, 5, 3)",
        )


def test_caches_of_the_wrong_form(small):
    x, a0, parameters, da, c0 = small
    caches = crnn.lstm_forward(x, a0, parameters)[3]
    cell = caches[0][0]
    for bad in (
        None,
        5,
        (caches[0],),
        (caches[0], x, x),
        (5, x),
        ([1, 2, 3], x),
        ([cell[:9]] * 3, x),
        ([cell + (1,)] * 3, x),
    ):
        raises((TypeError, ValueError), lambda: crnn.lstm_backward(da, bad), "caches")
    rnn_like = crnn.rnn_forward(
        x,
        a0,
        {
            "Wax": np.zeros((4, 3)),
            "Waa": np.zeros((4, 4)),
            "Wya": np.zeros((2, 4)),
            "ba": np.zeros((4, 1)),
            "by": np.zeros((2, 1)),
        },
    )[2]
    raises(
        ValueError, lambda: crnn.lstm_backward(da, rnn_like), "caches[0][0]", "lstm_cell_forward"
    )
    for bad in (None, cell[:9], list(cell) + [1]):
        raises(
            (TypeError, ValueError), lambda: crnn.lstm_cell_backward(da[:, :, 0], c0, bad), "cache"
        )
    # an array of a step of the wrong shape
    broken = list(caches[0])
    broken[1] = cell[:4] + (cell[4][:2],) + cell[5:]
    raises(
        ValueError, lambda: crnn.lstm_backward(da, (broken, x)), "caches[0][1][4] (ft)", "(2, 5)"
    )
    broken[1] = cell[:8] + (x[:2, :, 0], parameters)
    raises(
        ValueError, lambda: crnn.lstm_backward(da, (broken, x)), "caches[0][1][8] (xt)", "(2, 5)"
    )


def test_da_next_or_dc_next_not_the_cache_shape(small):
    x, a0, parameters, da, c0 = small
    cache = crnn.lstm_cell_forward(x[:, :, 0], a0, c0, parameters)[3]
    raises(
        ValueError,
        lambda: crnn.lstm_cell_backward(da[:3, :, 0], c0[:3], cache),
        "da_next",
        "(3, 5)",
        "(4, 5)",
    )
    raises(
        ValueError,
        lambda: crnn.lstm_cell_backward(da[:, :, 0], c0[:, :2], cache),
        "dc_next",
        "(4, 2)",
        "(4, 5)",
    )


# --- zero-size dimensions --------------------------------------------------------------


@pytest.mark.parametrize(
    "shape", [(0, 3, 2, 4, 3), (3, 0, 2, 4, 3), (3, 4, 2, 0, 3), (3, 4, 2, 4, 0), (0, 0, 1, 0, 0)]
)
def test_zero_size_dimensions(shape, dtype):
    n_x, n_a, n_y, m, T = shape
    x, a0, parameters, da, c0 = problem(shape, dtype)
    a, y, c, caches = crnn.lstm_forward(x, a0, parameters, c0=c0)
    assert a.shape == c.shape == (n_a, m, T) and y.shape == (n_y, m, T)
    assert a.dtype == y.dtype == c.dtype == dtype
    slow = reference.lstm_forward(x, a0, parameters, c0=c0)
    assert_forward((a, y, c), slow, dtype)
    grads = crnn.lstm_backward(da, caches)
    expected_shapes = {"dx": (n_x, m, T), "da0": (n_a, m), "dc0": (n_a, m)}
    for key in WEIGHT_KEYS:
        expected_shapes["d" + key] = (n_a, n_a + n_x) if key[0] == "W" else (n_a, 1)
    assert {k: g.shape for k, g in grads.items()} == expected_shapes
    assert all(g.dtype == dtype for g in grads.values())
    if T:
        assert_grads(grads, reference.lstm_backward(da, slow[3]), dtype, SEQ_KEYS)
        assert_grads(grads, crnn.lstm_backward(da, slow[3]), dtype, SEQ_KEYS)
    else:
        assert not any(np.any(g) for g in grads.values())
    if T:
        cache = crnn.lstm_cell_forward(x[:, :, 0], a0, c0, parameters)[3]
        cell = crnn.lstm_cell_backward(da[:, :, 0], c0, cache)
        slow_cell = reference.lstm_cell_backward(
            da[:, :, 0], c0, reference.lstm_cell_forward(x[:, :, 0], a0, c0, parameters)[3]
        )
        assert_grads(cell, slow_cell, dtype, CELL_KEYS)


def test_empty_list_of_caches():
    x = np.zeros((3, 2, 0))
    grads = crnn.lstm_backward(np.zeros((4, 2, 0)), ([], x))
    assert grads["dWf"].shape == (4, 7) and grads["dx"].shape == (3, 2, 0)
    assert not any(np.any(g) for g in grads.values())


# --- layouts, read-only inputs, memory -------------------------------------------------


def variants(arr):
    """arr as Fortran-ordered, strided, reversed, read-only, unaligned and memmap arrays."""
    yield np.asfortranarray(arr)
    strided = np.zeros(arr.shape + (2,))
    strided[..., 0] = arr
    yield strided[..., 0]
    yield arr[::-1].copy()[::-1]
    ro = arr.copy()
    ro.flags.writeable = False
    yield ro
    raw = np.zeros(arr.nbytes + 1, np.uint8)
    unaligned = raw[1:].view(arr.dtype).reshape(arr.shape)
    unaligned[...] = arr
    assert not unaligned.flags.aligned
    yield unaligned


def test_layouts_give_the_same_results_and_inputs_stay_untouched(small, tmp_path):
    x, a0, parameters, da, c0 = small
    expected_fwd = crnn.lstm_forward(x, a0, parameters, c0=c0)
    expected = crnn.lstm_backward(da, expected_fwd[3])
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=x.dtype, shape=x.shape)
    mm[...] = x
    for xv, a0v, c0v, dav, pv in zip(
        [*variants(x), mm],
        [*variants(a0), a0],
        [*variants(c0), c0],
        [*variants(da), da],
        [dict(zip(parameters, vs)) for vs in zip(*(list(variants(v)) for v in parameters.values()))]
        + [parameters],
    ):
        before = [arr.copy() for arr in (xv, a0v, c0v, dav, *pv.values())]
        fwd = crnn.lstm_forward(xv, a0v, pv, c0=c0v)
        for f, e in zip(fwd[:3], expected_fwd[:3]):
            np.testing.assert_array_equal(f, e)
        grads = crnn.lstm_backward(dav, fwd[3])
        for key in SEQ_KEYS:
            np.testing.assert_array_equal(grads[key], expected[key])
        for arr in grads.values():
            assert not any(np.shares_memory(arr, inp) for inp in (xv, a0v, c0v, dav))
        # the foreign (stacked) path and the cell functions read them too
        cell = crnn.lstm_cell_backward(
            dav[:, :, 0], c0v, crnn.lstm_cell_forward(xv[:, :, 0], a0v, c0v, pv)[3]
        )
        assert_close(
            cell["dWf"],
            crnn.lstm_cell_backward(
                da[:, :, 0], c0, crnn.lstm_cell_forward(x[:, :, 0], a0, c0, parameters)[3]
            )["dWf"],
            F64,
        )
        for arr, old in zip((xv, a0v, c0v, dav, *pv.values()), before):
            np.testing.assert_array_equal(arr, old)


def test_the_courses_x_and_da_are_read_in_place():
    """No copy of the course's C-ordered x or da: the same values in float32, which the
    float64 computation must convert, cost a copy more than they do."""
    # x dominates the forward's memory (large n_x), da the backward's (T_da = T)
    x, a0, parameters, da, _ = problem((64, 2, 1, 8, 40))
    for arr, run in (
        (x, lambda xv, dav: crnn.lstm_forward(xv, a0, parameters)),
        (da, lambda xv, dav: crnn.lstm_backward(dav, crnn.lstm_forward(xv, a0, parameters)[3])),
    ):
        run(x, da)  # the backward's work space, which each thread keeps, made untraced
        in_place = _peak_bytes(lambda: run(x, da))
        converted = _peak_bytes(lambda: run(*(v.astype(F32) if v is arr else v for v in (x, da))))
        assert converted - in_place > arr.nbytes // 2, (in_place, converted, arr.nbytes)


def test_backward_leaves_the_caches_untouched(small):
    x, a0, parameters, da, c0 = small
    for caches in (
        crnn.lstm_forward(x, a0, parameters, c0=c0)[3],
        reference.lstm_forward(x, a0, parameters, c0=c0)[3],
    ):
        before = [[np.array(v, copy=True) for v in cache[:9]] for cache in caches[0]]
        crnn.lstm_backward(da, caches)
        crnn.lstm_cell_backward(da[:, :, 1], c0, caches[0][1])
        for cache, old in zip(caches[0], before):
            for v, o in zip(cache[:9], old):
                np.testing.assert_array_equal(v, o)


# --- threads ---------------------------------------------------------------------------
# (every cell's threads and GIL: test_threads.py)


def test_threads_with_c0_give_the_single_thread_answers(assert_threads_agree):
    problems = [
        problem((16, 32, 8, 8, 20), dtype, seed=s) for s, dtype in enumerate([F64, F32, F64, F32])
    ]

    def run(i):
        x, a0, parameters, da, c0 = problems[i]
        a, y, c, caches = crnn.lstm_forward(x, a0, parameters, c0=c0)
        return [a, y, c, *crnn.lstm_backward(da, caches).values()]

    assert_threads_agree(run, len(problems), 5)


def test_saturated_gates_match_the_reference(dtype):
    """Gate pre-activations far past where sigmoid and tanh saturate, both signs."""
    x, a0, parameters, _ = random_lstm_problem(3, 4, 2, 5, 3, dtype=dtype, seed=8)
    for key, value in (("bf", -800), ("bi", 800), ("bc", -90), ("bo", 30)):
        parameters[key] = parameters[key] + dtype(value)
    a, y, c, _ = crnn.lstm_forward(x, a0, parameters)
    with np.errstate(over="ignore"):  # the course's sigmoid overflows exp on the way to 0
        a_ref, y_ref, c_ref, _ = reference.lstm_forward(x, a0, parameters)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(c))
    for got, want, name in ((a, a_ref, "a"), (y, y_ref, "y"), (c, c_ref, "c")):
        assert_close(got, want, dtype, name)
