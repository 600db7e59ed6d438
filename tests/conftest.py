"""What the test files share: the fixtures below, and plain helpers for the module-level
code that fixtures cannot reach (a test file imports those with ``from conftest import
...``: pytest puts tests/ on sys.path, as it imports this file as ``conftest``).

Fixtures:
- ``cell``: every cell of the registry with every option (crnn.cells.variants()), by label
- ``cell_name``: every name of the registry (crnn.cells.CELLS), as the estimators take it
- ``dtype``: the two computing dtypes, float64 and float32 (crnn.testing.RTOL's keys)
- ``run_python``: runs a fresh interpreter (``-c CODE``, ``-m crnn ...``)
- ``assert_threads_agree``: runs the same work in threads at once, against its results alone
- ``refused_before_allocating``: a call must raise before it allocates memory
- ``previous_token_data``, ``sequences``: the estimators' random data sets
- ``model_file_members``, ``rewrite_model_file``: read and tamper with a saved model file

Helpers: ``course`` and ``course_cell_forward`` (a cell's course functions in crnn or
crnn.reference), ``grad_keys``, ``assert_sequence_matches_reference``,
``declined_inputs`` (what crnn._engine's common case declines), ``FLOAT_DTYPES``.

A test file parametrises a test of its own with ``@pytest.mark.parametrize("cell", ...)``
(or ``"dtype"``) where it wants other values: a direct parametrisation overrides these.

The marker ``slow`` (pyproject.toml) marks what the default run leaves out: ``python -m
pytest -m slow`` runs it. It is registered here too, for a run without pyproject.toml
(the wheel's tests run from a folder that holds only tests/ and examples/).
"""

import json
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import crnn
from crnn import reference
from crnn.cells import CELLS, variants
from crnn.testing import assert_close, numeric_gradient

#: the dtypes crnn computes in; float16, ints and bools are computed in float64
FLOAT_DTYPES = [np.float64, np.float32]


def pytest_configure(config):
    if not any(line.split(":")[0].strip() == "slow" for line in config.getini("markers")):
        config.addinivalue_line(
            "markers",
            "slow: a slow test, left out of the default run (python -m pytest -m slow runs them)",
        )


# --- cells and dtypes ---------------------------------------------------------------------


@pytest.fixture(params=variants(), ids=lambda cell: cell.label)
def cell(request):
    """Every cell of the registry with every option: RNN, RNN activation=relu, LSTM, GRU,
    GRU reset_after=True."""
    return request.param


@pytest.fixture(params=list(CELLS))
def cell_name(request):
    """Every cell name of the registry ("rnn", "lstm", "gru"), as cell= takes it."""
    return request.param


@pytest.fixture(params=FLOAT_DTYPES, ids=lambda dtype: np.dtype(dtype).name)
def dtype(request):
    """float64, then float32."""
    return request.param


def course(cell, module, what):
    """The course function of cell in module (crnn or crnn.reference): what is
    "forward", "backward", "cell_forward" or "cell_backward"."""
    return getattr(module, f"{cell.name}_{what}")


def course_cell_forward(cell, module, xt, a_prev, c_prev, parameters):
    """The cell's course cell forward in module, from a_prev and (the LSTM's only) c_prev:
    what it returns, its cache last."""
    forward = course(cell, module, "cell_forward")
    if cell.name == "lstm":
        return forward(xt, a_prev, c_prev, parameters)
    return forward(xt, a_prev, parameters, **cell.options)


def grad_keys(cell, step=False):
    """The gradients a course backward of cell returns, in its order: the sequence's
    (dx, da0, each parameter's, the LSTM's dc0), or with step=True the cell's (dxt,
    da_prev, the LSTM's dc_prev, each parameter's)."""
    named = ["d" + key for key in cell.spec.keys()]
    lstm = cell.name == "lstm"
    if step:
        return ["dxt", "da_prev", *(["dc_prev"] if lstm else []), *named]
    return ["dx", "da0", *named, *(["dc0"] if lstm else [])]


def assert_sequence_matches_reference(cell, shape, dtype, seed):
    """The cell's course sequence functions, crnn's against crnn.reference's on the random
    problem of shape (n_x, n_a, n_y, m, T_x): every output and gradient of dtype, within
    dtype's tolerance, the gradients in the course's order. Returns (x, a0, parameters,
    da), crnn's caches, the reference's and its gradients, for more checks."""
    x, a0, parameters, da = cell.problem(*shape, dtype=dtype, seed=seed)
    *outputs, caches = course(cell, crnn, "forward")(x, a0, parameters, **cell.options)
    *want_outputs, ref_caches = course(cell, reference, "forward")(
        x, a0, parameters, **cell.options
    )
    for name, got, want in zip(cell.outputs, outputs, want_outputs, strict=True):
        assert got.dtype == dtype, name
        assert_close(got, want, dtype, name)
    want = course(cell, reference, "backward")(da, ref_caches)
    grads = course(cell, crnn, "backward")(da, caches)
    assert list(grads) == list(want) == grad_keys(cell)
    for key in want:
        assert grads[key].dtype == dtype, key
        assert_close(grads[key], want[key], dtype, key)
    return (x, a0, parameters, da), caches, ref_caches, want


def assert_course_pass_matches_finite_differences(cell, x, a0, parameters, G, **kwargs):
    """The gradients of L = sum(G * a) that the cell's course sequence functions give
    (kwargs: lengths, reverse), against central finite differences, for x, a0 and every
    parameter: float64, rtol 1e-6, atol 1e-8."""
    forward = course(cell, crnn, "forward")
    kwargs = {**cell.options, **kwargs}

    def loss():
        return float(np.sum(G * forward(x, a0, parameters, **kwargs)[0]))

    grads = course(cell, crnn, "backward")(G, forward(x, a0, parameters, **kwargs)[-1])
    targets = {"dx": x, "da0": a0, **{"d" + key: parameters[key] for key in cell.spec.keys()}}
    for key, target in targets.items():
        np.testing.assert_allclose(
            grads[key],
            numeric_gradient(loss, target),
            rtol=1e-6,
            atol=1e-8,
            err_msg=f"{cell.label}: {key}",
        )


def declined_inputs(x, a0, parameters):
    """Inputs of a sequence forward pass that its common case (crnn._engine's
    common_forward) must hand to the general path, the cases about x and a0, by name:
    (x, a0, parameters) each."""
    p = parameters
    return {
        "x a list": (x.tolist(), a0, p),
        "x Fortran-ordered": (np.asfortranarray(x), a0, p),
        "x strided": (np.repeat(x, 2, axis=2)[:, :, ::2], a0, p),
        "x int": (x.astype(np.int64), a0, p),
        "x float32, the rest float64": (x.astype(np.float32), a0, p),
        "x a subclass": (x.view(np.memmap), a0, p),
        "x 2-D": (x[:, :, 0].copy(), a0, p),
        "a0 Fortran-ordered": (x, np.asfortranarray(a0), p),
        "a0 of another m": (x, a0[:, :-1], p),
        "no steps": (x[:, :, :0].copy(), a0, p),
    }


# --- processes and threads ----------------------------------------------------------------


def _run_python(*args, env=None, timeout=None):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture(scope="session")
def run_python():
    """run_python(*args, env=None, timeout=None): this interpreter run with args ("-c",
    code or "-m", "crnn", ...) in a child process, its output captured as text; the
    subprocess.CompletedProcess."""
    return _run_python


def _assert_threads_agree(run, count, repeats):
    expected = [run(i) for i in range(count)]
    compared = [0] * count
    failures = {}
    barrier = threading.Barrier(count)

    def work(i):
        try:
            barrier.wait()
            for _ in range(repeats):
                # compared at once, not kept: each result's memory is freed for the next
                np.testing.assert_equal(run(i), expected[i], err_msg=f"thread {i}")
                compared[i] += 1
        except BaseException as exc:  # reported below, in the test's own thread
            failures[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not failures, "\n".join(f"thread {i}: {exc!r}" for i, exc in sorted(failures.items()))
    assert compared == [repeats] * count


@pytest.fixture(scope="session")
def assert_threads_agree():
    """assert_threads_agree(run, count, repeats): run(i) for i in range(count) in count
    threads started together, each calling it repeats times; every result (arrays, or
    dicts, tuples and lists of them) must equal, bit for bit, what run(i) gave alone,
    before any thread started."""
    return _assert_threads_agree


# --- memory -------------------------------------------------------------------------------


def _refused_before_allocating(call):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, f"{peak} bytes allocated before the error"
    return str(info.value)


@pytest.fixture(scope="session")
def refused_before_allocating():
    """refused_before_allocating(call): call() must raise a ValueError before it allocates
    a MiB (as tracemalloc traces numpy's buffers); its message."""
    return _refused_before_allocating


# --- the estimators' data -----------------------------------------------------------------


def _previous_token_data(m, seed, vocabulary=4, steps=12):
    tokens = np.random.default_rng(seed).integers(0, vocabulary, (m, steps))
    y = np.zeros((m, steps), int)
    y[:, 1:] = tokens[:, :-1] == 0
    return np.eye(vocabulary)[tokens].transpose(2, 0, 1), y


@pytest.fixture(scope="session")
def previous_token_data():
    """previous_token_data(m, seed, vocabulary=4, steps=12): one-hot tokens x
    (vocabulary, m, steps) and tags y (m, steps), 1 where the previous token was 0: a rule
    that no single step shows."""
    return _previous_token_data


def _sequences(m, seed, n_x=3, low=2, high=9, ahead=False):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((n_x, int(L))) for L in rng.integers(low, high + 1, size=m)]
    if ahead:
        tags = [np.concatenate(((np.diff(x[0]) > 0).astype(int), [0])) for x in xs]
    else:
        tags = [np.concatenate(([0], (np.diff(x[0]) > 0).astype(int))) for x in xs]
    return xs, tags


@pytest.fixture(scope="session")
def sequences():
    """sequences(m, seed, n_x=3, low=2, high=9, ahead=False): m sequences x (n_x, L) of
    random lengths L in low..high, and their tags: whether x[0] rose since the step
    before, or with ahead=True whether it rises at the next step (what only a reverse
    direction sees)."""
    return _sequences


def _model_file_members(path):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return arrays, json.loads(str(arrays.pop("__crnn_metadata__")[()]))


def _rewrite_model_file(path, dst, change_metadata=None, change_arrays=None):
    arrays, meta = _model_file_members(path)
    if change_metadata:
        change_metadata(meta)
    if change_arrays:
        change_arrays(arrays)
    arrays["__crnn_metadata__"] = np.array(json.dumps(meta))
    with open(dst, "wb") as out:
        np.savez(out, **arrays)
    return dst


@pytest.fixture(scope="session")
def model_file_members():
    """model_file_members(path): the arrays (a dict) and the metadata (a dict) of a saved
    model file, read with numpy."""
    return _model_file_members


@pytest.fixture(scope="session")
def rewrite_model_file():
    """rewrite_model_file(path, dst, change_metadata=None, change_arrays=None): the model
    file at path written again to dst, after change_metadata(meta) and
    change_arrays(arrays) changed its members in place; returns dst."""
    return _rewrite_model_file
