"""The benchmark behind ``python -m crnn bench``: crnn against the numpy course code,
PyTorch (when it is installed) and the GEMM-bound floor of this machine.

The workload is the course's training step of the hidden path, for the vanilla RNN, the
LSTM and the GRU: ``rnn_forward`` then ``rnn_backward`` (or the LSTM's or the GRU's)
with a given upstream gradient ``da``. The contenders run round by
round in one process, in a rotating order, so that every round gives a ratio measured
under the same load; the table shows medians over the rounds.
"""

import math
import os
import platform
import sys
import time
from contextlib import ExitStack, contextmanager, nullcontext
from functools import partial
from typing import NamedTuple

import numpy as np

import crnn
from crnn import _gemmtime, reference
from crnn.cells import GRUCell, LSTMCell, RNNCell
from crnn.testing import max_rel_error

__all__ = ["SIZES", "CELLS", "gemm_floor", "floor_gemms", "run_bench", "format_table"]

#: name -> (n_x, n_a, n_y, m, T_x)
SIZES = {
    "tiny": (3, 5, 2, 10, 4),
    "small": (32, 64, 32, 16, 50),
    "medium": (128, 256, 128, 64, 100),
    "large": (256, 512, 256, 128, 100),
}

DTYPES = {"float64": np.float64, "float32": np.float32}

_CHECKED = (
    "data already in its (T, m, n) layout, conversions untimed. Every contender's outputs "
    "(a, y and every gradient) are checked against the numpy course code once, untimed."
)


#: the products of a cell whose gates share one packed W = [Wa | Wx] (the LSTM's, the GRU's)
_PACKED_GEMMS = (
    "W[:, n_a:]·X",
    "W[:, :n_a]·a_prev per step",
    "Wy·A",
    "W[:, :n_a].T·dg per step",
    "dX = W[:, n_a:].T·dG",
    "dW[:, n_a:] = dG·X.T",
    "dW[:, :n_a] = dG·A_prev.T",
)


class Cell(NamedTuple):
    """What the benchmark needs to know of one recurrent cell."""

    spec: object  #: the cell of crnn.cells: its problem, course functions, PyTorch mapping
    gemm_names: tuple  #: the names of floor_gemms' seven products
    work: str  #: what one timed call computes


CELLS = {
    "rnn": Cell(
        spec=RNNCell(),
        gemm_names=(
            "Wax·X",
            "Waa·a_prev per step",
            "Wya·A",
            "Waa.T·dz per step",
            "dX = Wax.T·dZ",
            "dWax = dZ·X.T",
            "dWaa = dZ·A_prev.T",
        ),
        work="one timed call = forward over all T_x steps (hidden states a, softmax predictions "
        "y) then backward of the hidden path with the same upstream gradient da (dx, da0, "
        "dWax, dWaa, dba; the output layer is not differentiated, as in the course). "
        "PyTorch: nn.RNN(tanh) with weight_ih=Wax, weight_hh=Waa, bias_ih=ba (bias_hh zero "
        "and frozen), Linear(Wya, by, frozen) + softmax per step, out.backward(da); " + _CHECKED,
    ),
    "lstm": Cell(
        spec=LSTMCell(),
        gemm_names=_PACKED_GEMMS,
        work="one timed call = lstm_forward over all T_x steps from c0 = 0 (hidden states a, "
        "cell states c, softmax predictions y) then lstm_backward with the same upstream "
        "gradient da (dx, da0, dc0, dWf, dWi, dWc, dWo, dbf, dbi, dbc, dbo; the output "
        "layer is not differentiated, as in the course); W = [Wf; Wi; Wc; Wo] applied to "
        "[a_prev; x_t]. PyTorch: nn.LSTM with weight_ih = the x columns and weight_hh = "
        "the a_prev columns of [Wi; Wf; Wc; Wo] (its gate order i, f, g, o), bias_ih = "
        "[bi; bf; bc; bo] (bias_hh zero and frozen), c0 = 0, Linear(Wy, by, frozen) + "
        "softmax per step, out.backward(da); " + _CHECKED,
    ),
    "gru": Cell(
        spec=GRUCell(reset_after=True),
        gemm_names=_PACKED_GEMMS,
        work="one timed call = gru_forward(reset_after=True) over all T_x steps (hidden "
        "states a, softmax predictions y) then gru_backward with the same upstream gradient "
        "da (dx, da0, dWu, dbu, dWr, dbr, dWcx, dWca, dbcx, dbca; the output layer is not "
        "differentiated, as in the course). PyTorch: nn.GRU with its weights mapped by "
        "crnn.gru.torch_gru_parameters (bias_hh = [0; 0; bca], trainable), "
        "Linear(Wy, by, frozen) + softmax per step, out.backward(da); " + _CHECKED,
    ),
}

#: Seconds one contender's share of a round should last at least (fast calls repeat).
ROUND_SECONDS = 0.02
#: Seconds of rest before each contender's share of a round. The thread pools of the
#: contender before (numpy's and scipy's OpenBLAS, PyTorch's OpenMP) spin on the cores for
#: a while after their last call (OpenBLAS: 2^28 cycles, about 0.1 s) and would slow the
#: next contender down, a pool other than its own most.
SETTLE_SECONDS = 0.25


# --- the contenders ------------------------------------------------------------------


def _course_step(module, cell):
    """forward + backward through a module with the course's API (crnn, reference)."""

    def make(x, a0, parameters, da):
        def run():
            outputs, g = cell.spec.course_pass(module, x, a0, parameters, da)
            a, y = list(outputs.values())[:2]  # the LSTM's c comes third
            return a, y, g

        return run

    return make


def _torch_step(torch, cell):
    """The same work as autograd does it: nn.RNN or nn.LSTM + Linear + softmax, backward of a."""

    def make(x, a0, parameters, da):
        tdtype = torch.float64 if x.dtype == np.float64 else torch.float32
        n_x, m, T = x.shape
        n_a, n_y = a0.shape[0], parameters[cell.spec.output_weight].shape[0]

        def tensor(arr):
            return torch.from_numpy(np.ascontiguousarray(arr))

        layer = getattr(torch.nn, cell.spec.torch_layer)(
            n_x, n_a, bias=True, dtype=tdtype, **cell.spec.torch_kwargs
        )
        out_layer = torch.nn.Linear(n_a, n_y, dtype=tdtype)
        w_ih, w_hh, b_ih, b_hh = cell.spec.to_torch(parameters)
        with torch.no_grad():
            layer.weight_ih_l0.copy_(tensor(w_ih))
            layer.weight_hh_l0.copy_(tensor(w_hh))
            layer.bias_ih_l0.copy_(tensor(b_ih))
            if b_hh is None:
                layer.bias_hh_l0.zero_()
            else:
                layer.bias_hh_l0.copy_(tensor(b_hh))
            out_layer.weight.copy_(tensor(parameters[cell.spec.output_weight]))
            out_layer.bias.copy_(tensor(parameters["by"].reshape(n_y)))
        layer.bias_hh_l0.requires_grad_(b_hh is not None)
        out_layer.requires_grad_(False)
        xs = tensor(x.transpose(2, 1, 0)).requires_grad_()  # (T, m, n_x)
        h0 = tensor(a0.T[None]).requires_grad_()  # (1, m, n_a)
        g = tensor(da.transpose(2, 1, 0))  # (T, m, n_a)
        leaves = {"dx": xs, "da0": h0}
        state = h0
        if cell.spec.torch_layer == "LSTM":
            # the course's LSTM starts from c0 = 0; its gradient is the course's dc0
            leaves["dc0"] = torch.zeros_like(h0).requires_grad_()
            state = (h0, leaves["dc0"])
        weights = (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)

        def run():
            for leaf in (*leaves.values(), *weights):
                leaf.grad = None
            out, _ = layer(xs, state)
            y = torch.softmax(out_layer(out), dim=-1)
            out.backward(g)
            return out, y

        def course_form(result):
            """The outputs of run() in the course's shapes, as numpy arrays."""
            out, y = result
            grads = {
                "dx": xs.grad.numpy().transpose(2, 1, 0),
                **{k: leaves[k].grad.numpy()[0].T for k in leaves if k != "dx"},
                **cell.spec.from_torch_grads(
                    *(None if w.grad is None else w.grad.numpy() for w in weights), n_a
                ),
            }
            return (
                out.detach().numpy().transpose(2, 1, 0),
                y.detach().numpy().transpose(2, 1, 0),
                grads,
            )

        run.course_form = course_form
        return run

    return make


def _import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


# --- the GEMM-bound floor ------------------------------------------------------------


def floor_gemms(n_x, n_a, n_y, m, T, cell="rnn"):
    """The products forward + backward must compute, as crnn's kernels call them.

    The gates are one product of the packed W (G·n_a rows), as the engine
    (``_engine.pyx``) computes them; the RNN's one gate likewise of Wax and Waa.

    Returns a list of (what, trans_a, trans_b, M, N, K, calls): column-major
    C (M×N) = op(A) (M×K) · op(B) (K×N), done ``calls`` times. trans_a "TN" means
    either: the per-step product's weight may be read as stored or as a transposed copy
    made once per sequence, whichever BLAS runs faster on the shape.
    """
    spec = CELLS[cell]
    mT, G = m * T, len(spec.spec.spec.gates) * n_a
    shapes = [
        ("T", "N", G, mT, n_x, 1),
        ("TN", "N", G, m, n_a, T),
        ("T", "N", n_y, mT, n_a, 1),
        ("N", "N", n_a, m, G, T),
        ("N", "N", n_x, mT, G, 1),
        ("N", "T", n_x, G, mT, 1),
        ("N", "T", n_a, G, mT, 1),
    ]
    return [(what, *shape) for what, shape in zip(spec.gemm_names, shapes)]


def _gemm_seconds(trans_a, trans_b, M, N, K, dtype, rng, tries=3, target=0.002):
    """The best time of one call of this gemm shape, over ``tries`` timed batches.

    A batch lasts about ``target`` seconds by the fastest of three single calls, so that
    calls stalled by a busy machine cannot cut it down to one slow call.
    """

    def operand(trans, rows, cols):
        shape = (cols, rows) if trans == "T" else (rows, cols)
        return np.asfortranarray(rng.standard_normal(shape).astype(dtype))

    a, b = operand(trans_a, M, K), operand(trans_b, K, N)
    c = np.empty((M, N), dtype, order="F")
    _gemmtime.repeat_gemm(trans_a, trans_b, a, b, c, 1)  # warm up caches and threads
    once = math.inf
    for _ in range(3):
        start = time.perf_counter()
        _gemmtime.repeat_gemm(trans_a, trans_b, a, b, c, 1)
        once = min(once, time.perf_counter() - start)
    count = max(1, int(target / max(once, 1e-7)))
    best = math.inf
    for _ in range(tries):
        start = time.perf_counter()
        _gemmtime.repeat_gemm(trans_a, trans_b, a, b, c, count)
        best = min(best, (time.perf_counter() - start) / count)
    return best


def gemm_floor(n_x, n_a, n_y, m, T, dtype, seed=0, tries=3, cell="rnn", gemms=None):
    """The GEMM-bound floor of forward + backward of ``cell`` on this machine, in seconds.

    Every product the algorithm needs, at the best rate scipy's BLAS (the one crnn calls)
    reaches on that shape here (best of ``tries`` batches), summed. ``gemms``, a list in
    floor_gemms' form, times other products instead (None: floor_gemms' own). Returns
    (seconds, list of per-gemm dicts).
    """
    rng = np.random.default_rng(seed)
    total = 0.0
    rows = []
    if gemms is None:
        gemms = floor_gemms(n_x, n_a, n_y, m, T, cell)
    for what, ta, tb, M, N, K, calls in gemms:
        if min(M, N, K, calls) < 1:
            continue
        seconds, ta = min((_gemm_seconds(op, tb, M, N, K, dtype, rng, tries), op) for op in ta)
        flops = 2.0 * M * N * K
        total += seconds * calls
        rows.append(
            {
                "gemm": what,
                "trans": ta + tb,
                "M": M,
                "N": N,
                "K": K,
                "calls": calls,
                "gflops_per_s": flops / seconds / 1e9,
                "ms": seconds * calls * 1e3,
            }
        )
    return total, rows


# --- the timing ----------------------------------------------------------------------


def _calls_per_round(run):
    """How many calls make one contender's share of a round last ROUND_SECONDS."""
    start = time.perf_counter()
    run()
    once = time.perf_counter() - start
    return max(1, math.ceil(ROUND_SECONDS / max(once, 1e-7)))


def _time_batch(run, count):
    """Milliseconds per call of ``count`` timed calls of run, after one untimed call.

    The untimed call puts run in its steady state, as in a loop of calls, not cold after
    the other contenders' work (its threads asleep, its memory given back).
    """
    run()
    start = time.perf_counter()
    for _ in range(count):
        run()
    return (time.perf_counter() - start) / count * 1e3


def _rounds(timers, repeats, progress, label):
    """Time every contender round by round, in a rotating order.

    Arguments:
    timers -- dict name -> callable taking nothing and returning the milliseconds of its
              share of a round (e.g. a _time_batch of its run)
    repeats -- the number of rounds
    progress -- callable taking a progress message
    label -- what the progress messages name

    Returns:
    times -- dict name -> list of the milliseconds of every round, in round order
    """
    names = list(timers)
    times = {name: [] for name in names}
    for r in range(repeats):
        progress(f"{label}: round {r + 1}/{repeats}")
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            time.sleep(SETTLE_SECONDS)
            times[name].append(timers[name]())
    return times


def _ratios(times, base):
    """The per-round ratios times / base and their median."""
    per_round = [t / b for t, b in zip(times, base)]
    return per_round, float(np.median(per_round))


def _peak_bytes(run):
    """Peak of the memory traced by tracemalloc (numpy buffers) during one call."""
    import tracemalloc

    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _errors(result, want):
    """Largest error of each output against the reference's, relative to its scale."""
    a, y, g = result
    errors = {"a": max_rel_error(a, want[0]), "y_pred": max_rel_error(y, want[1])}
    errors.update({k: max_rel_error(g[k], want[2][k]) for k in want[2]})
    return max(errors.values())


def _bench_case(cell, name, dtype, contenders, repeats, progress, seed):
    """Time every contender on one cell, size and dtype; returns the result dict."""
    sizes = SIZES[name]
    x, a0, parameters, da = CELLS[cell].spec.problem(*sizes, dtype=dtype, seed=seed)
    label = f"{cell} {name} {np.dtype(dtype).name}"
    runs = {}
    want = _course_step(reference, CELLS[cell])(x, a0, parameters, da)()
    result = {
        "cell": cell,
        "size": name,
        "shape": dict(zip(("n_x", "n_a", "n_y", "m", "T_x"), sizes)),
        "dtype": np.dtype(dtype).name,
        "floor_ms_per_round": [],
        "contenders": {},
    }
    for cname, make in contenders.items():
        progress(f"{label}: checking {cname}")
        run = make(x, a0, parameters, da)
        out = run()
        form = getattr(run, "course_form", None)
        out = form(out) if form else out
        runs[cname] = run
        result["contenders"][cname] = {
            "calls_per_round": _calls_per_round(run),
            "max_rel_error_vs_reference": _errors(out, want),
            # tracemalloc sees numpy's buffers, not PyTorch's allocator
            "peak_traced_bytes": None if form else _peak_bytes(run),
            "times_ms": [],
        }

    def floor():
        # best of two batches per product: one stall of the machine (seen to take a
        # product of 0.03 ms to 34 ms) must not set a round's floor
        seconds, gemms = gemm_floor(*sizes, dtype, seed=seed, tries=2, cell=cell)
        result.setdefault("floor_gemms", gemms)
        return seconds * 1e3

    # each contender timed after an untimed call of its own (_time_batch); the floor's
    # gemms warm up likewise (_gemm_seconds); the floor is measured in every round too,
    # so that crnn/floor is a same-load ratio
    timers = {
        cname: partial(_time_batch, run, result["contenders"][cname]["calls_per_round"])
        for cname, run in runs.items()
    }
    times = _rounds({**timers, "floor": floor}, repeats, progress, label)
    result["floor_ms_per_round"] = times.pop("floor")
    for cname, entry in result["contenders"].items():
        entry["times_ms"] = times[cname]
    result["lengths"] = _lengths_case(cell, x, a0, parameters, da, repeats, progress, label, seed)
    crnn_times = result["contenders"]["crnn"]["times_ms"]
    for entry in result["contenders"].values():
        entry["median_ms"] = float(np.median(entry["times_ms"]))
        entry["per_round_time_over_crnn"], entry["median_time_over_crnn"] = _ratios(
            entry["times_ms"], crnn_times
        )
    floors = result["floor_ms_per_round"]
    result["floor_ms"] = float(np.median(floors))
    result["crnn_over_floor_per_round"], result["crnn_over_floor"] = _ratios(crnn_times, floors)
    return result


def _lengths_case(cell, x, a0, parameters, da, repeats, progress, label, seed):
    """crnn's forward + backward with lengths drawn uniform in [T_x/4, T_x], given in
    decreasing order (as the estimators' minibatches are) and in no order, against the
    full-length call on the same data, their rounds in turn; returns the medians, the
    median per-round ratios and the fill (sum of lengths / m·T_x)."""
    course = CELLS[cell].spec
    forward, backward = (getattr(crnn, f"{course.name}_{what}") for what in ("forward", "backward"))
    T, m = x.shape[2], x.shape[1]
    lengths = np.random.default_rng(seed).integers(max(T // 4, 1), T + 1, size=m)

    def make(given):
        def run():
            backward(da, forward(x, a0, parameters, **course.options, lengths=given)[-1])

        return run

    runs = {"full": make(None), "sorted": make(np.sort(lengths)[::-1]), "unsorted": make(lengths)}
    timers = {key: partial(_time_batch, run, _calls_per_round(run)) for key, run in runs.items()}
    times = _rounds(timers, repeats, progress, f"{label}: lengths")
    return {
        "lengths": lengths.tolist(),
        "fill": float(lengths.sum() / (m * T)),
        **{f"{key}_ms": float(np.median(t)) for key, t in times.items()},
        **{f"{key}_ratio": _ratios(times[key], times["full"])[1] for key in ("sorted", "unsorted")},
        "times_ms": times,
    }


def _blas_info():
    """The BLAS libraries loaded in this process, and their thread counts."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    info = []
    for lib in threadpool_info():
        path = lib.get("filepath", "")
        owner = next((p for p in ("scipy", "numpy", "torch") if f"{os.sep}{p}" in path), "other")
        info.append(
            {
                "owner": owner,
                "internal_api": lib.get("internal_api"),
                "version": lib.get("version"),
                "architecture": lib.get("architecture"),
                "num_threads": lib.get("num_threads"),
                "filepath": path,
            }
        )
    return info


def check_options(cells, dtypes, repeats, sizes=(), known_sizes=SIZES):
    """ValueError naming what is unknown unless every cell is one of CELLS, every dtype
    one of DTYPES and every size one of known_sizes, and repeats is at least 1."""
    unknown = (
        [c for c in cells if c not in CELLS]
        + [s for s in sizes if s not in known_sizes]
        + [d for d in dtypes if d not in DTYPES]
    )
    if unknown:
        raise ValueError(
            f"unknown cell, size or dtype {unknown}; cells are {list(CELLS)}, sizes "
            f"{list(known_sizes)}, dtypes {list(DTYPES)}"
        )
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")


def run_bench(
    sizes=("tiny", "small", "medium", "large"),
    dtypes=("float64", "float32"),
    repeats=5,
    threads=None,
    torch=True,
    seed=0,
    progress=None,
    cells=tuple(CELLS),
):
    """Run the benchmark.

    Arguments:
    sizes -- names from SIZES
    dtypes -- "float64" and/or "float32"
    repeats -- timed rounds per size and dtype
    threads -- limit of BLAS (and PyTorch) threads, through threadpoolctl; None keeps them
    torch -- include PyTorch when it can be imported
    seed -- seed of the random problems
    progress -- callable taking a progress message, or None
    cells -- names from CELLS, benchmarked in this order

    Returns:
    report -- dict of the machine, the libraries and one result per cell, size and dtype
    """
    progress = progress or (lambda message: None)
    check_options(cells, dtypes, repeats, sizes, SIZES)
    torch_mod = _import_torch() if torch else None
    contenders = {}
    for cell in cells:
        contenders[cell] = {
            "crnn": _course_step(crnn, CELLS[cell]),
            "reference": _course_step(reference, CELLS[cell]),
        }
        if torch_mod is not None:
            contenders[cell]["torch"] = _torch_step(torch_mod, CELLS[cell])
    with _limits(threads, torch_mod):
        report = {
            **_environment(torch_mod, threads),
            "repeats": repeats,
            "cells": list(cells),
            "work": {cell: CELLS[cell].work for cell in cells},
            "results": [
                _bench_case(cell, name, DTYPES[d], contenders[cell], repeats, progress, seed)
                for cell in cells
                for name in sizes
                for d in dtypes
            ],
        }
    return report


@contextmanager
def _limits(threads, torch_mod):
    """BLAS threads (threadpoolctl) and PyTorch's (if torch_mod is not None) limited to
    threads for the block; None keeps them."""
    with ExitStack() as stack:
        if threads is not None:
            try:
                from threadpoolctl import threadpool_limits
            except ImportError:
                raise RuntimeError(
                    "--threads needs threadpoolctl (pip install threadpoolctl)"
                ) from None
            stack.enter_context(threadpool_limits(limits=threads))
        stack.enter_context(_torch_threads(torch_mod, threads) if torch_mod else nullcontext())
        yield


def _environment(torch_mod, threads):
    """What a report says of the libraries, the machine and the threads, as a dict."""
    return {
        "crnn_version": crnn.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": __import__("scipy").__version__,
        "torch": torch_mod.__version__ if torch_mod else None,
        "machine": {
            "platform": platform.platform(),
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
        },
        "env": {
            k: os.environ.get(k)
            for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
        },
        "threads": threads,
        "torch_threads": torch_mod.get_num_threads() if torch_mod else None,
        "blas": _blas_info(),
    }


def cpu_model():
    """The CPU's model name (machines differ: Intel, AMD, Apple), or None if unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


@contextmanager
def _torch_threads(torch, threads):
    """PyTorch's intra-op threads set to threads for the run (None keeps them), restored after."""
    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


# --- the table -----------------------------------------------------------------------


def _header_lines(report, others=""):
    """The first lines of a table: the libraries (others: more of them, as text), the
    machine, the BLAS libraries and their threads, the environment."""
    lines = [
        f"crnn {report['crnn_version']}, numpy {report['numpy']}, scipy {report['scipy']}, "
        f"PyTorch {report['torch'] or 'not installed'}{others}; Python {report['python']}, "
        f"{report['machine']['cpu_count']} CPUs: "
        f"{report['machine'].get('cpu') or 'CPU model unknown'}"
    ]
    if report["blas"] is None:
        lines.append("BLAS: unknown (pip install threadpoolctl to show it)")
    else:
        for lib in report["blas"]:
            mark = "  <- crnn's" if lib["owner"] == "scipy" else ""
            detail = ", ".join(str(lib[k]) for k in ("version", "architecture") if lib[k])
            lines.append(
                f"threads of {lib['owner']}: {lib['internal_api']} ({detail}), "
                f"{lib['num_threads']} threads{mark}"
            )
    env = ", ".join(f"{k}={v}" for k, v in report["env"].items() if v is not None)
    if env:
        lines.append(f"environment: {env}")
    return lines


def format_table(report):
    """The report as text: libraries, then per cell its work and one row per size and dtype."""
    lines = _header_lines(report)
    lines.append(
        f"median ms over {report['repeats']} rounds; speed-up = the other's time / crnn's, "
        "per round, median; each contender's timed calls follow a rest of "
        f"{SETTLE_SECONDS} s (the other thread pools asleep) and one untimed call of its "
        "own (steady state); floor = GEMM-bound floor on this machine, measured in every "
        "round too (crnn/floor likewise per round)"
    )
    has_torch = report["torch"] is not None
    head = f"{'size':<7}{'dtype':<8}{'crnn':>10}{'numpy':>10}"
    head += f"{'torch':>10}" if has_torch else ""
    head += f"{'floor':>9}{'vs numpy':>10}" + (f"{'vs torch':>10}" if has_torch else "")
    head += f"{'crnn/floor':>11}  peak MiB crnn / numpy"
    for cell in report["cells"]:
        results = [r for r in report["results"] if r["cell"] == cell]
        lines += ["", f"{cell.upper()} work: {report['work'][cell]}", "", head]
        lines += [_table_row(res) for res in results]
        worst = max(
            (v["max_rel_error_vs_reference"], f"{k} at {r['size']} {r['dtype']}")
            for r in results
            for k, v in r["contenders"].items()
        )
        lines.append(
            f"largest difference of the {cell.upper()} from the numpy course code: "
            f"{worst[0]:.1e} ({worst[1]})"
        )
        lines += [
            "",
            f"{cell.upper()} with variable lengths: crnn's forward + backward with "
            "lengths uniform in [T_x/4, T_x], given sorted (decreasing) and in no order, "
            "against the same call at full length (fill = sum of the lengths / m·T_x; "
            "ratios per round, median)",
            f"{'size':<7}{'dtype':<8}{'full':>10}{'sorted':>10}{'ratio':>8}"
            f"{'unsorted':>10}{'ratio':>8}{'fill':>7}",
        ]
        lines += [_lengths_row(r) for r in results]
    return "\n".join(lines)


def _lengths_row(res):
    """One size and dtype of the lengths table."""
    case = res["lengths"]
    return (
        f"{res['size']:<7}{res['dtype']:<8}{case['full_ms']:>10.3f}{case['sorted_ms']:>10.3f}"
        f"{case['sorted_ratio']:>8.2f}{case['unsorted_ms']:>10.3f}"
        f"{case['unsorted_ratio']:>8.2f}{case['fill']:>7.2f}"
    )


def _table_row(res):
    """One size and dtype of the table."""
    c = res["contenders"]
    row = f"{res['size']:<7}{res['dtype']:<8}"
    row += "".join(f"{c[k]['median_ms']:>10.3f}" for k in c)
    row += f"{res['floor_ms']:>9.3f}"
    row += "".join(f"{c[k]['median_time_over_crnn']:>9.2f}x" for k in c if k != "crnn")
    row += f"{res['crnn_over_floor']:>10.2f}x"
    peaks = [c[k]["peak_traced_bytes"] / 2**20 for k in ("crnn", "reference")]
    return row + f"  {peaks[0]:.3g} / {peaks[1]:.3g}"


def main(sizes, dtypes, repeats, threads, json_path, torch=True, seed=0, cells=tuple(CELLS)):
    """Run the benchmark, print the table, optionally write the JSON; returns 0."""
    import json

    def progress(message):
        sys.stderr.write(f"[bench] {message}\n")
        sys.stderr.flush()

    report = run_bench(sizes, dtypes, repeats, threads, torch, seed, progress, cells)
    print(format_table(report))
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=1)
        progress(f"wrote {json_path}")
    return 0
