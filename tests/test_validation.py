"""Every row of VALIDATION.md, for the vanilla RNN: what bad or unusual input gets.

Each test builds the arguments of one of crnn's functions from a random course problem,
spoils or reshapes one of them, and checks either the exception (type and the words its
message must contain) or the result against ``crnn.reference``.

The functions under test, as ``FUNCS``: the four course functions, and ``rnn_backward``
once more with the caches made by crnn's own ``rnn_forward`` ("rnn_backward_own"), which
take a different path (views of crnn's buffers) than caches made by anyone else.
"""

import itertools
import re
import tracemalloc

import numpy as np
import pytest

import crnn
from crnn import reference
from crnn.testing import assert_close, random_rnn_problem

FUNCS = ["rnn_cell_forward", "rnn_forward", "rnn_cell_backward", "rnn_backward", "rnn_backward_own"]
FORWARD = FUNCS[:2]
BACKWARD = FUNCS[2:]
KEYS = ("Wax", "Waa", "Wya", "ba", "by")
SIZES = {"n_x": 3, "n_a": 5, "n_y": 2, "m": 4, "T_x": 3}
LIMIT = 2**31 - 1

#: (name the message must contain, path into the arguments) of every array argument
#: of each function; for the backward functions, the arrays inside the caches too.
SLOTS = {
    "rnn_cell_forward": [("xt", (0,)), ("a_prev", (1,))] + [(k, (2, k)) for k in KEYS],
    "rnn_forward": [("x", (0,)), ("a0", (1,))] + [(k, (2, k)) for k in KEYS],
    "rnn_cell_backward": [
        ("da_next", (0,)),
        ("cache", (1, 0)),
        ("cache", (1, 1)),
        ("cache", (1, 2)),
        ("Wax", (1, 3, "Wax")),
        ("Waa", (1, 3, "Waa")),
    ],
    "rnn_backward": [
        ("da", (0,)),
        ("caches", (1, 0, 0, 0)),
        ("caches", (1, 0, 1, 1)),
        ("caches", (1, 0, SIZES["T_x"] - 1, 2)),
        ("Wax", (1, 0, 0, 3, "Wax")),
        ("Waa", (1, 0, 0, 3, "Waa")),
    ],
    "rnn_backward_own": [("da", (0,))],
}
ALL_SLOTS = [(f, name, path) for f in FUNCS for name, path in SLOTS[f]]
SLOT_IDS = [f"{f}-{'.'.join(map(str, path))}" for f, _, path in ALL_SLOTS]


# --- building arguments ----------------------------------------------------------------


def tmap(fn, obj, memo=None):
    """obj with fn applied to every array in it (through dicts, tuples and lists).

    An object met twice (the parameters dict of every cache, the a_next of one step that
    is the a_prev of the next) is mapped once, so the structure keeps its sharing.
    """
    memo = {} if memo is None else memo
    if id(obj) not in memo:
        if isinstance(obj, np.ndarray):
            out = fn(obj)
        elif isinstance(obj, dict):
            out = {k: tmap(fn, v, memo) for k, v in obj.items()}
        elif isinstance(obj, tuple):
            out = tuple(tmap(fn, v, memo) for v in obj)
        elif isinstance(obj, list):
            out = [tmap(fn, v, memo) for v in obj]
        else:
            out = obj
        memo[id(obj)] = out
    return memo[id(obj)]


def arrays(obj):
    """Every distinct array in obj."""
    found = {}
    tmap(lambda a: found.setdefault(id(a), a), obj)
    return list(found.values())


def get(obj, path):
    for key in path:
        obj = obj[key]
    return obj


def replace(obj, path, value):
    """obj with the item at path set to value.

    Tuples and lists along path are copied; a dict is changed in place, so that every
    cache keeps sharing the one parameters dict, as the course's caches do (make_args
    makes a fresh one for every test).
    """
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        obj[head] = replace(obj[head], rest, value)
        return obj
    items = list(obj)
    items[head] = replace(obj[head], rest, value)
    return tuple(items) if isinstance(obj, tuple) else items


def make_args(func, transform=None, dtype=np.float64, seed=0, **sizes):
    """The positional arguments of func on a random problem.

    Forward functions (and "rnn_backward_own", whose caches come from crnn.rnn_forward)
    get the problem's arrays passed through transform; the other backward functions get
    caches made by crnn.reference, passed through transform with da or da_next.
    """
    s = {**SIZES, **sizes}
    x, a0, p, da = random_rnn_problem(
        s["n_x"], s["n_a"], s["n_y"], s["m"], s["T_x"], dtype=dtype, seed=seed
    )
    t = (lambda obj: obj) if transform is None else (lambda obj: tmap(transform, obj))
    if func == "rnn_cell_forward":
        return t((x[:, :, 0].copy(), a0, p))
    if func == "rnn_forward":
        return t((x, a0, p))
    if func == "rnn_cell_backward":
        cache = reference.rnn_cell_forward(x[:, :, 0].copy(), a0, p)[2]
        return t((da[:, :, 0].copy(), cache))
    if func == "rnn_backward":
        return t((da, reference.rnn_forward(x, a0, p)[2]))
    x, a0, p, da = t((x, a0, p, da))
    return da, crnn.rnn_forward(x, a0, p)[2]


def outputs(func, result):
    """The arrays a function returned, by name (the caches left out)."""
    if func == "rnn_cell_forward":
        return {"a_next": result[0], "yt_pred": result[1]}
    if func == "rnn_forward":
        return {"a": result[0], "y_pred": result[1]}
    return dict(result)


def run(func, args):
    return outputs(func, getattr(crnn, func.removesuffix("_own"))(*args))


def oracle(func, args, dtype=np.float64):
    """crnn.reference's outputs on copies of args, every array cast to dtype.

    dtype is the one crnn must compute in: the reference then rounds as crnn does.
    """
    copies = tmap(lambda a: np.array(a, dtype=dtype), args)
    return outputs(func, getattr(reference, func.removesuffix("_own"))(*copies))


def assert_matches(got, want, dtype):
    """Same names, the dtype crnn must compute in, values within dtype's tolerance."""
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key].dtype == dtype, f"{key}: dtype {got[key].dtype}, expected {dtype}"
        assert_close(got[key], value, dtype, name=key)


def assert_names(message, *words):
    """Each word appears in message as a whole word (so "x" is not found in "Wax")."""
    for word in words:
        assert re.search(rf"(?<!\w){re.escape(word)}(?!\w)", message), (
            f"{word!r} not named in: {message}"
        )


def assert_shapes(message, *shapes):
    for shape in shapes:
        assert str(tuple(shape)) in message, f"shape {tuple(shape)} not in: {message}"


def raises(exc, func, args):
    """Call func on args, expecting exc; return the message."""
    with pytest.raises(exc) as info:
        run(func, args)
    return str(info.value)


# --- parameters and keys -----------------------------------------------------------------


def params_path(func):
    """Where the parameters dict sits in func's arguments."""
    return {
        "rnn_cell_forward": (2,),
        "rnn_forward": (2,),
        "rnn_cell_backward": (1, 3),
        "rnn_backward": (1, 0, 0, 3),
    }[func]


@pytest.mark.parametrize("func", FUNCS[:4])
@pytest.mark.parametrize("bad", [None, [], [("Wax", 1)], "Wax"], ids=repr)
def test_parameters_not_a_mapping(func, bad):
    args = replace(make_args(func), params_path(func), bad)
    message = raises(TypeError, func, args)
    assert_names(message, "parameters", type(bad).__name__)


@pytest.mark.parametrize(
    "func, key",
    [(f, k) for f in FORWARD for k in KEYS] + [(f, k) for f in BACKWARD[:2] for k in KEYS[:2]],
)
def test_missing_key(func, key):
    path = params_path(func)
    args = make_args(func)
    parameters = {k: v for k, v in get(args, path).items() if k != key}
    with pytest.raises(KeyError) as info:
        run(func, replace(args, path, parameters))
    assert info.value.args == (key,)


@pytest.mark.parametrize("func", BACKWARD[:2])
def test_backward_needs_only_Wax_and_Waa(func):
    path = params_path(func)
    args = make_args(func)
    only = {k: get(args, path)[k] for k in ("Wax", "Waa")}
    if func == "rnn_backward":
        # every cache holds the one dict, as the course's rnn_forward makes them
        cells = [c[:3] + (only,) for c in args[1][0]]
        args = (args[0], (cells, args[1][1]))
    else:
        args = replace(args, path, only)
    assert_matches(run(func, args), oracle(func, args), np.float64)


# --- dimensions and sizes ---------------------------------------------------------------

NDIM_CASES = [
    ("rnn_cell_forward", "xt", 0, "(n_x, m)", [(), (3,), (3, 4, 1)]),
    ("rnn_cell_forward", "a_prev", 1, "(n_a, m)", [(), (5,), (5, 4, 1)]),
    ("rnn_forward", "x", 0, "(n_x, m, T_x)", [(), (3, 4), (3, 4, 3, 1)]),
    ("rnn_forward", "a0", 1, "(n_a, m)", [(), (5,), (5, 4, 1)]),
    ("rnn_cell_backward", "da_next", 0, "(n_a, m)", [(), (5,), (5, 4, 1)]),
    ("rnn_backward", "da", 0, "(n_a, m, T_x)", [(), (5, 4), (5, 4, 3, 1)]),
    ("rnn_backward_own", "da", 0, "(n_a, m, T_x)", [(), (5, 4), (5, 4, 3, 1)]),
]


@pytest.mark.parametrize(
    "func, name, position, form, shape",
    [(f, n, i, form, s) for f, n, i, form, shapes in NDIM_CASES for s in shapes],
)
def test_wrong_ndim(func, name, position, form, shape):
    args = replace(make_args(func), (position,), np.zeros(shape))
    message = raises(ValueError, func, args)
    assert_names(message, name)
    assert form in message, message
    assert_shapes(message, shape)


#: (what disagrees, the slot spoilt, how its shape changes, the other argument's position)
MISMATCH_CASES = [
    ("n_x of Wax vs x", "Wax", lambda n_a, n_x: (n_a, n_x + 1), 0),
    ("n_a of Wax vs a0", "Wax", lambda n_a, n_x: (n_a + 1, n_x), 1),
    ("Waa not square", "Waa", lambda n_a, n_x: (n_a, n_a + 1), 1),
    ("Waa vs n_a of a0", "Waa", lambda n_a, n_x: (n_a + 1, n_a + 1), 1),
    ("Wya vs n_a", "Wya", lambda n_a, n_x: (2, n_a + 1), 1),
]


@pytest.mark.parametrize("func", FORWARD)
@pytest.mark.parametrize(
    "key, shape, other", [c[1:] for c in MISMATCH_CASES], ids=[c[0] for c in MISMATCH_CASES]
)
def test_weight_sizes_disagree(func, key, shape, other):
    args = make_args(func)
    bad = np.zeros(shape(SIZES["n_a"], SIZES["n_x"]))
    args = replace(args, (2, key), bad)
    message = raises(ValueError, func, args)
    other_name = {"rnn_cell_forward": ("xt", "a_prev"), "rnn_forward": ("x", "a0")}[func][other]
    assert_names(message, key, other_name)
    assert_shapes(message, bad.shape, args[other].shape)


@pytest.mark.parametrize("func", FORWARD)
def test_batch_sizes_disagree(func):
    args = make_args(func)
    a0 = np.zeros((SIZES["n_a"], SIZES["m"] + 1))
    args = replace(args, (1,), a0)
    message = raises(ValueError, func, args)
    assert_names(message, *{"rnn_cell_forward": ("xt", "a_prev"), "rnn_forward": ("x", "a0")}[func])
    assert_shapes(message, a0.shape, args[0].shape)


@pytest.mark.parametrize("func", BACKWARD[:2])
@pytest.mark.parametrize("key", ["Wax", "Waa"])
def test_cache_weights_disagree_with_caches(func, key):
    path = params_path(func) + (key,)
    args = make_args(func)
    good = get(args, path)
    bad = np.zeros((good.shape[0], good.shape[1] + 1))
    message = raises(ValueError, func, replace(args, path, bad))
    assert_names(message, key)
    assert_shapes(message, bad.shape, good.shape)


# --- biases ----------------------------------------------------------------------------


@pytest.mark.parametrize("func", FORWARD)
@pytest.mark.parametrize("key", ["ba", "by"])
def test_bias_1d_accepted(func, key):
    args = make_args(func)
    flat = replace(make_args(func), (2, key), args[2][key].reshape(-1))
    got = run(func, flat)
    for name, value in run(func, args).items():
        np.testing.assert_array_equal(got[name], value)
    assert_matches(got, oracle(func, args), np.float64)


@pytest.mark.parametrize("func", FORWARD)
@pytest.mark.parametrize("key", ["ba", "by"])
@pytest.mark.parametrize(
    "shape",
    [
        lambda n: (1, n),
        lambda n: (n, 2),
        lambda n: (n + 1, 1),
        lambda n: (n + 1,),
        lambda n: (n, 1, 1),
        lambda n: (),
    ],
    ids=["(1,n)", "(n,2)", "(n+1,1)", "(n+1,)", "(n,1,1)", "()"],
)
def test_bias_wrong_shape(func, key, shape):
    n = SIZES["n_a" if key == "ba" else "n_y"]
    bad = np.zeros(shape(n))
    message = raises(ValueError, func, replace(make_args(func), (2, key), bad))
    assert_names(message, key)
    assert_shapes(message, (n, 1), bad.shape)


# --- dtypes ----------------------------------------------------------------------------


def cast_to(dtype):
    """A transform giving each array a dtype, with values that make sense in it."""
    dtype = np.dtype(dtype)

    def cast(a):
        if dtype.kind == "b":
            return a > 0
        if dtype.kind == "u":
            return np.abs(np.round(2 * a)).astype(dtype)
        if dtype.kind == "i":
            return np.round(2 * a).astype(dtype)
        return a.astype(dtype)

    return cast


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize(
    "dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint64, np.bool_, np.float16]
)
def test_int_bool_float16_computed_in_float64(func, dtype):
    args = make_args(func, cast_to(dtype))
    if func != "rnn_backward_own":  # its caches hold crnn's float64 states
        assert {a.dtype for a in arrays(args)} == {np.dtype(dtype)}
    assert_matches(run(func, args), oracle(func, args), np.float64)


@pytest.mark.parametrize("func", FUNCS)
def test_float32_computed_in_float32(func):
    args = make_args(func, dtype=np.float32)
    assert {a.dtype for a in arrays(args)} == {np.dtype(np.float32)}
    assert_matches(run(func, args), oracle(func, args, np.float32), np.float32)


@pytest.mark.parametrize("func, name, path", ALL_SLOTS, ids=SLOT_IDS)
@pytest.mark.parametrize("dtype, other", [(np.float32, np.float64), (np.float64, np.float32)])
def test_float32_mixed_with_float64_computed_in_float64(func, name, path, dtype, other):
    args = make_args(func, dtype=dtype)
    args = replace(args, path, get(args, path).astype(other))
    assert_matches(run(func, args), oracle(func, args), np.float64)


def bad_dtype_array(like, kind):
    if kind == "datetime":
        return np.zeros(like.shape, "M8[s]")
    if kind == "timedelta":
        return np.zeros(like.shape, "m8[s]")
    return like.astype(
        {
            "complex": np.complex128,
            "str": str,
            "bytes": "S8",
            "object": object,
            "structured": [("v", float)],
        }.get(kind)
    )


@pytest.mark.parametrize("func, name, path", ALL_SLOTS, ids=SLOT_IDS)
@pytest.mark.parametrize(
    "kind", ["complex", "str", "bytes", "object", "datetime", "timedelta", "structured"]
)
def test_unsupported_dtype(func, name, path, kind):
    args = make_args(func)
    bad = bad_dtype_array(get(args, path), kind)
    message = raises(TypeError, func, replace(args, path, bad))
    assert_names(message, name)
    assert str(bad.dtype) in message, message


@pytest.mark.parametrize("func, name, path", ALL_SLOTS, ids=SLOT_IDS)
@pytest.mark.parametrize("value", [None, 0.5, 3, np.float64(0.5), True], ids=repr)
def test_none_or_scalar_for_an_array(func, name, path, value):
    with pytest.raises((TypeError, ValueError)) as info:
        run(func, replace(make_args(func), path, value))
    assert_names(str(info.value), name)


# --- NaN and Inf -----------------------------------------------------------------------


def assert_same_nonfinite(got, want, dtype):
    """NaN, +Inf and -Inf at the same places; the finite entries close."""
    assert got.keys() == want.keys()
    for key, value in want.items():
        g = got[key]
        for test in (np.isnan, np.isposinf, np.isneginf):
            np.testing.assert_array_equal(test(g), test(value), err_msg=f"{key}: {test.__name__}")
        finite = np.isfinite(value)
        assert_close(g[finite], value[finite], dtype, name=key)


#: where the value goes: batch column 1 of the first step (forward) or the last (backward)
NONFINITE_AT = {
    "rnn_cell_forward": (0, 1),
    "rnn_forward": (0, 1, 0),
    "rnn_cell_backward": (0, 1),
    "rnn_backward": (0, 1, SIZES["T_x"] - 1),
    "rnn_backward_own": (0, 1, SIZES["T_x"] - 1),
}


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # numpy's
@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_inf_propagate_as_in_numpy(func, value):
    args = make_args(func)
    spoilt = args[0].copy()
    spoilt[NONFINITE_AT[func]] = value
    args = replace(args, (0,), spoilt)
    got = run(func, args)
    want = oracle(func, args)
    assert_same_nonfinite(got, want, np.float64)
    if np.isnan(value):
        for key, out in got.items():
            if func in FORWARD or key in ("dx", "dxt", "da0", "da_prev"):
                # a NaN in batch column 1 stays in that column ...
                assert np.isnan(out[:, 1]).all(), key
                assert np.isfinite(np.delete(out, 1, axis=1)).all(), key
            else:
                # ... but reaches every weight gradient, a sum over the batch (in one
                # cell, the rows of the unit the NaN entered; over a sequence, all rows)
                rows = slice(0, 1) if func == "rnn_cell_backward" else slice(None)
                assert np.isnan(out[rows]).all(), key


@pytest.mark.parametrize("func", FORWARD)
def test_nan_in_a0_stays_in_its_column(func):
    args = make_args(func)
    a0 = args[1].copy()
    a0[2, 3] = np.nan
    args = replace(args, (1,), a0)
    got = run(func, args)
    assert_same_nonfinite(got, oracle(func, args), np.float64)
    for key, out in got.items():
        assert np.isnan(out[:, 3]).all(), key
        assert np.isfinite(out[:, :3]).all(), key


# --- memory layouts --------------------------------------------------------------------

FLAGS = ("C_CONTIGUOUS", "F_CONTIGUOUS", "WRITEABLE", "ALIGNED", "OWNDATA")


def layout(name, tmp_path):
    """A transform giving an array of the same values the memory layout name."""
    counter = itertools.count()

    def fortran(a):
        return np.asfortranarray(a)

    def strided(a):
        big = np.zeros(tuple(2 * n for n in a.shape), a.dtype)
        view = big[(slice(None, None, 2),) * a.ndim]
        view[...] = a
        return view

    def reversed_(a):
        return np.flip(np.flip(a).copy())

    def readonly(a):
        out = a.copy()
        out.flags.writeable = False
        return out

    def unaligned(a, order="C"):
        buf = np.zeros(a.nbytes + 1, np.uint8)
        out = buf[1:].view(a.dtype)
        out = out.reshape(a.shape) if order == "C" else out.reshape(a.shape[::-1]).T
        out[...] = a
        assert not out.flags.aligned
        return out

    def unaligned_fortran_readonly(a):
        out = unaligned(a, "F")
        out.flags.writeable = False
        return out

    def memmap(a):
        path = tmp_path / f"{next(counter)}.dat"
        out = np.memmap(path, a.dtype, "w+", shape=a.shape)
        out[...] = a
        out.flush()
        del out
        return np.memmap(path, a.dtype, "r", shape=a.shape)

    return {"reversed": reversed_, **locals()}[name]


def snapshot(args):
    return [
        (a, a.copy(), a.shape, a.strides, a.dtype, {f: a.flags[f] for f in FLAGS})
        for a in arrays(args)
    ]


def assert_untouched(snap):
    for a, values, shape, strides, dtype, flags in snap:
        assert (a.shape, a.strides, a.dtype) == (shape, strides, dtype)
        assert {f: a.flags[f] for f in FLAGS} == flags
        np.testing.assert_array_equal(a, values)


def assert_no_shared_memory(got, args):
    inputs = arrays(args)
    for key, out in got.items():
        for a in inputs:
            assert not np.shares_memory(out, a), f"{key} shares memory with an input"


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize(
    "name",
    [
        "fortran",
        "strided",
        "reversed",
        "readonly",
        "unaligned",
        "unaligned_fortran_readonly",
        "memmap",
    ],
)
def test_layouts_same_result_inputs_untouched(func, name, tmp_path):
    args = make_args(func, layout(name, tmp_path))
    contiguous = make_args(func)
    snap = snapshot(args)
    got = run(func, args)
    assert_untouched(snap)
    assert_matches(got, run(func, contiguous), np.float64)
    assert_matches(got, oracle(func, contiguous), np.float64)
    assert_no_shared_memory(got, args)


# --- zero-size dimensions --------------------------------------------------------------


def zero_cases():
    for func in FUNCS:
        for dim in ("m", "n_x", "n_a", "T_x"):
            if dim != "T_x" or func not in ("rnn_cell_forward", "rnn_cell_backward"):
                yield func, dim


def math_result(func, args, dtype=np.float64):
    """What the math gives; the reference, except for rnn_backward over no step at all."""
    if func.startswith("rnn_backward") and args[0].shape[2] == 0:
        da, (cells, x) = args
        n_a, m, _ = da.shape
        n_x = (cells[0][2] if cells else x).shape[0]
        return {
            "dx": np.zeros((n_x, m, 0)),
            "da0": np.zeros((n_a, m)),
            "dWax": np.zeros((n_a, n_x)),
            "dWaa": np.zeros((n_a, n_a)),
            "dba": np.zeros((n_a, 1)),
        }
    return oracle(func, args, dtype)


@pytest.mark.parametrize("func, dim", list(zero_cases()))
def test_zero_size_dimension(func, dim, dtype):
    args = make_args(func, dtype=dtype, **{dim: 0})
    got = run(func, args)
    want = math_result(func, args, dtype)
    assert_matches(got, want, dtype)
    for key, value in want.items():
        if not value.any():
            # zeros the math gives, not memory nobody wrote
            assert not got[key].any(), key


@pytest.mark.parametrize("func", FORWARD)
def test_zero_n_a_predicts_softmax_of_by(func):
    args = make_args(func, n_a=0)
    y = run(func, args)["yt_pred" if func == "rnn_cell_forward" else "y_pred"]
    by = args[2]["by"][:, 0]
    expected = np.exp(by - by.max()) / np.exp(by - by.max()).sum()
    assert y.shape[:2] == (SIZES["n_y"], SIZES["m"])
    assert_close(
        y, np.broadcast_to(expected.reshape((-1,) + (1,) * (y.ndim - 1)), y.shape), np.float64
    )


def test_zero_n_x_still_runs_the_recurrence():
    x, a0, p = make_args("rnn_forward", n_x=0)
    a = run("rnn_forward", (x, a0, p))["a"]
    state = a0
    for t in range(SIZES["T_x"]):
        state = np.tanh(p["Waa"] @ state + p["ba"])
        assert_close(a[:, :, t], state, np.float64, name=f"a[:, :, {t}]")
    assert np.abs(a).min() > 0


@pytest.mark.parametrize("func", FORWARD)
def test_zero_n_y(func):
    args = make_args(func, n_y=0)
    message = raises(ValueError, func, args)
    assert_names(message, "n_y")
    assert_shapes(message, args[2]["Wya"].shape)


# --- sizes past BLAS's 32-bit integers -------------------------------------------------


def zeros_without_memory(*shape):
    """Zeros of shape on one element of memory (zero strides); int8 when float64 would
    be too large for numpy to describe."""
    small = np.float64(0) if np.prod(shape, dtype=float) * 8 < 2**62 else np.int8(0)
    return np.broadcast_to(small, shape)


def huge_args(func, dim):
    s = {"n_x": 2, "n_a": 2, "n_y": 2, "m": 1, "T_x": 1}
    if dim == "m*T_x":
        s.update(m=2**16, T_x=2**15)
    elif dim == "n_a*T_x":  # the distance between the steps' columns in crnn's buffers
        s.update(n_a=2**16, T_x=2**15)
    else:
        s[dim] = LIMIT + 1
    n_x, n_a, n_y, m, T = (s[k] for k in ("n_x", "n_a", "n_y", "m", "T_x"))
    z = zeros_without_memory
    p = {
        "Wax": z(n_a, n_x),
        "Waa": z(n_a, n_a),
        "Wya": z(n_y, n_a),
        "ba": z(n_a, 1),
        "by": z(n_y, 1),
    }
    if func == "rnn_cell_forward":
        return z(n_x, m), z(n_a, m), p
    if func == "rnn_forward":
        return z(n_x, m, T), z(n_a, m), p
    cache = (z(n_a, m), z(n_a, m), z(n_x, m), p)
    if func == "rnn_cell_backward":
        return z(n_a, m), cache
    return z(n_a, m, T), ([cache] * T, z(n_x, m, T))


HUGE_CASES = [
    ("rnn_cell_forward", "n_x", "xt"),
    ("rnn_cell_forward", "n_a", "a_prev"),
    ("rnn_cell_forward", "n_y", "Wya"),
    ("rnn_cell_forward", "m", "xt"),
    ("rnn_forward", "n_x", "x"),
    ("rnn_forward", "n_a", "a0"),
    ("rnn_forward", "n_y", "Wya"),
    ("rnn_forward", "m", "x"),
    ("rnn_forward", "T_x", "x"),
    ("rnn_forward", "m*T_x", "x"),
    ("rnn_forward", "n_a*T_x", "a0"),
    ("rnn_cell_backward", "n_x", "cache"),
    ("rnn_cell_backward", "n_a", "da_next"),
    ("rnn_cell_backward", "m", "da_next"),
    ("rnn_backward", "n_x", "caches"),
    ("rnn_backward", "n_a", "da"),
    ("rnn_backward", "m", "da"),
    ("rnn_backward", "m*T_x", "da"),
    ("rnn_backward", "n_a*T_x", "da"),
]


@pytest.mark.parametrize("func, dim, name", HUGE_CASES)
def test_past_blas_int_limit_before_any_allocation(func, dim, name, refused_before_allocating):
    args = huge_args(func, dim)
    message = refused_before_allocating(lambda: run(func, args))
    assert_names(message, name, dim)
    assert str(LIMIT) in message, message


def test_tracemalloc_sees_numpy_buffers():
    """The allocation check above (conftest's refused_before_allocating) can fail: numpy's
    buffers are traced."""
    tracemalloc.start()
    try:
        np.ones(2**20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak >= 8 * 2**20


# --- da against the caches -------------------------------------------------------------


@pytest.mark.parametrize("func", ["rnn_backward", "rnn_backward_own"])
@pytest.mark.parametrize(
    "change",
    [(0, 0, 1), (1, 0, 0), (0, 1, 0), (-1, 0, 0), (0, -1, -1)],
    ids=["more steps", "more n_a", "more m", "fewer n_a", "fewer m"],
)
def test_da_disagrees_with_caches(func, change):
    da, caches = make_args(func)
    bad = np.zeros(tuple(n + d for n, d in zip(da.shape, change)))
    message = raises(ValueError, func, (bad, caches))
    assert_names(message, "da", "caches")
    assert_shapes(message, bad.shape, da.shape)


@pytest.mark.parametrize("func", ["rnn_backward", "rnn_backward_own"])
@pytest.mark.parametrize("steps", range(SIZES["T_x"]))
def test_da_with_fewer_steps_uses_the_first_caches(func, steps):
    da, caches = make_args(func)
    short = da[:, :, :steps].copy()
    got = run(func, (short, caches))
    truncated = (list(caches[0])[:steps], caches[1])
    assert_matches(got, math_result(func, (short, truncated)), np.float64)


# --- malformed caches ------------------------------------------------------------------


def bad_caches(func):
    """(id, caches) pairs that are not what the backward function takes."""
    da, caches = make_args("rnn_backward" if func == "rnn_backward" else "rnn_cell_backward")
    if func == "rnn_cell_backward":
        cache = caches
        return [
            ("None", None),
            ("list of 3", list(cache[:3])),
            ("5-tuple", cache + (None,)),
            ("empty", ()),
            ("str of 4", "abcd"),
            ("dict", dict(enumerate(cache))),
            ("array", np.zeros((4, 5, 4))),
            ("None arrays", (None, None, None, cache[3])),
            ("a_next 3-D", (cache[0][:, :, None],) + cache[1:]),
            ("a_prev of other m", (cache[0], cache[1][:, :2]) + cache[2:]),
            ("a_prev of other n_a", (cache[0], cache[1][:2]) + cache[2:]),
            ("xt of other m", cache[:2] + (cache[2][:, :2], cache[3])),
            ("xt of other n_x", cache[:2] + (cache[2][:2], cache[3])),
            ("xt 1-D", cache[:2] + (cache[2][:, 0], cache[3])),
        ]
    cells, x = caches
    return [
        ("None", None),
        ("1-tuple", (cells,)),
        ("3-tuple", (cells, x, x)),
        ("str of 2", "ab"),
        ("dict", {0: cells, 1: x}),
        ("array", np.zeros((2, 3))),
        ("cells None", (None, x)),
        ("cells array", (np.zeros((3, 4)), x)),
        ("cell None", ([None] + cells[1:], x)),
        ("cell int", ([1, 2, 3], x)),
        ("cell of 3", ([c[:3] for c in cells], x)),
        ("cell of 5", ([c + (None,) for c in cells], x)),
        ("later cell of 3", (cells[:1] + [c[:3] for c in cells[1:]], x)),
        ("cell of str", ([("a", "b", "c", "d")] * len(cells), x)),
        ("empty cells", ([], x)),
        ("first a_next 1-D", ([(cells[0][0][:, 0],) + cells[0][1:]] + cells[1:], x)),
        ("first xt 1-D", ([cells[0][:2] + (cells[0][2][:, 0], cells[0][3])] + cells[1:], x)),
        ("later a_next of other n_a", (cells[:1] + [(c[0][:2],) + c[1:] for c in cells[1:]], x)),
        (
            "later a_prev of other m",
            (cells[:1] + [(c[0], c[1][:, :2]) + c[2:] for c in cells[1:]], x),
        ),
        ("later xt of other n_x", (cells[:1] + [c[:2] + (c[2][:2], c[3]) for c in cells[1:]], x)),
    ]


@pytest.mark.parametrize(
    "func, caches",
    [pytest.param(f, c, id=f"{f}-{i}") for f in BACKWARD[:2] for i, c in bad_caches(f)],
)
def test_malformed_caches(func, caches):
    da = make_args(func)[0]
    with pytest.raises((TypeError, ValueError)) as info:
        run(func, (da, caches))
    assert "cache" in str(info.value)
    if func == "rnn_backward":
        assert "caches" in str(info.value)


@pytest.mark.parametrize("change", [(1, 0), (0, 1), (-1, 0), (0, -1)])
def test_da_next_not_the_shape_of_a_next(change):
    da_next, cache = make_args("rnn_cell_backward")
    bad = np.zeros(tuple(n + d for n, d in zip(da_next.shape, change)))
    message = raises(ValueError, "rnn_cell_backward", (bad, cache))
    assert_names(message, "da_next")
    assert_shapes(message, bad.shape, cache[0].shape)


# --- outputs and inputs ----------------------------------------------------------------


@pytest.mark.parametrize("func", FUNCS)
def test_outputs_never_share_memory_with_inputs(func):
    args = make_args(func)
    snap = snapshot(args)
    got = run(func, args)
    assert_untouched(snap)
    assert_no_shared_memory(got, args)


def test_forward_caches_hold_the_callers_arrays():
    """The exception: by the course's contract, caches hold the caller's objects."""
    xt, a_prev, p = make_args("rnn_cell_forward")
    a_next, _, cache = crnn.rnn_cell_forward(xt, a_prev, p)
    assert cache[0] is a_next and cache[1] is a_prev and cache[2] is xt and cache[3] is p
    x, a0, p = make_args("rnn_forward")
    a, _, (cells, x_held) = crnn.rnn_forward(x, a0, p)
    assert x_held is x and cells[0][1] is a0
    assert all(c[3] is p for c in cells)
    for t, (a_t, a_before, xt, _) in enumerate(cells):
        np.testing.assert_array_equal(a_t, a[:, :, t])
        np.testing.assert_array_equal(xt, x[:, :, t])
        if t:
            np.testing.assert_array_equal(a_before, a[:, :, t - 1])
