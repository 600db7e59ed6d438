"""The benchmarks of what users run: ``python -m crnn bench --train`` and ``--infer``.

``--train`` times one minibatch step of ``SequenceTagger.fit`` (loss and gradients, the
gradients clipped by their global norm, the Adam update) two ways, through the
estimator's own step functions and as ``fit`` itself (one epoch of FIT_STEPS
minibatches, its time divided by their count, so that the estimator's overhead shows),
against PyTorch's plain training loop on the same weights and data and against the GEMM
floor of the step. ``--infer`` times the prediction of one batch: ``predict_proba``, the
course's ``*_forward``, PyTorch under ``torch.inference_mode()`` and ONNX Runtime
running the ONNX operator of the cell with its output layer.

Both reuse the machinery of ``crnn.bench``: the contenders run round by round in a
rotating order, each after a rest and one untimed call of its own; every ratio is a
per-round ratio, and the tables show medians over the rounds. Every contender is checked
first, untimed, and the bench refuses (MismatchError) to time contenders that do not
compute the same thing.
"""

import importlib
import json
import os
import sys
from functools import partial

import numpy as np

import crnn
from crnn import bench, models, reference
from crnn.optim import clip, clip_by_global_norm, make_optimizer
from crnn.training import loss_and_grads

__all__ = [
    "TRAIN_SIZES",
    "FIT_STEPS",
    "INFER_SHAPE",
    "INFER_BATCHES",
    "TOLERANCE",
    "MismatchError",
    "train_floor_gemms",
    "onnx_model",
    "run_train",
    "run_infer",
    "format_train",
    "format_infer",
    "main",
]

#: name -> (n_x, n_a, n_y, m, T_x) of the training step; "medium" is the shape of
#: crnn.bench's medium size
TRAIN_SIZES = {
    "demo": (33, 48, 3, 32, 15),
    "mid": (64, 128, 10, 32, 50),
    "medium": (128, 256, 128, 64, 100),
}

#: The minibatches of the timed fit: one epoch on FIT_STEPS·m sequences, batch_size m.
FIT_STEPS = 8

#: (n_x, n_a, n_y, T_x) of the prediction bench, and its batch sizes m.
INFER_SHAPE = (100, 128, 9, 20)
INFER_BATCHES = (1, 8, 64)

#: The largest difference the checks accept between two contenders, by dtype, relative
#: to the largest entry of what is compared (the loss, each gradient, the probabilities).
TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}

#: The ONNX operator of each cell and its gates' order as blocks of PyTorch's (RNN: the
#: one; LSTM: PyTorch's i, f, g, o to ONNX's i, o, f, c; GRU: r, z, n to z, r, h).
_ONNX_OPS = {"rnn": ("RNN", (0,)), "lstm": ("LSTM", (0, 3, 1, 2)), "gru": ("GRU", (1, 0, 2))}
_ONNX_OPSET = 17


class MismatchError(RuntimeError):
    """Two contenders of a bench compute different results: the bench does not time them."""


def _scaled_error(actual, desired):
    """max |actual - desired| / max |desired|: the error relative to the largest entry."""
    actual = np.asarray(actual, np.float64)
    desired = np.asarray(desired, np.float64)
    scale = float(np.max(np.abs(desired))) if desired.size else 0.0
    return float(np.max(np.abs(actual - desired))) / max(scale, np.finfo(np.float64).tiny)


def _check(what, error, dtype):
    """error if it is within dtype's TOLERANCE; MismatchError naming what, if not."""
    tol = TOLERANCE[np.dtype(dtype)]
    if not error <= tol:
        raise MismatchError(
            f"{what} differs by {error:.3g} (relative to its scale; the tolerance of "
            f"{np.dtype(dtype).name} is {tol:g}): the bench refuses to time different work"
        )
    return error


def _tagger(cell, n_a, batch_size, dtype, seed):
    """The estimator the benches fit: Adam, clip_norm=5, one epoch, silent; the GRU in
    the reset_after convention, the one PyTorch and ONNX Runtime compute."""
    return crnn.SequenceTagger(
        cell=cell,
        n_a=n_a,
        optimizer="adam",
        epochs=1,
        batch_size=batch_size,
        clip_norm=5.0,
        dtype=np.dtype(dtype).name,
        verbose=False,
        seed=seed,
        reset_after=cell == "gru",
    )


def _tagging_data(n_x, n_y, m, T, dtype, rng):
    """Random inputs x (n_x, m, T) of dtype and labels y (m, T) in range(n_y), every class
    among them (the first n_y labels are 0 .. n_y-1)."""
    if m * T < n_y:
        raise ValueError(f"m·T_x = {m * T} labels cannot hold all n_y = {n_y} classes")
    x = rng.standard_normal((n_x, m, T)).astype(dtype)
    y = rng.integers(0, n_y, (m, T))
    y.flat[:n_y] = np.arange(n_y)
    return x, y


def _torch_modules(torch, model):
    """PyTorch's recurrent module and Linear holding a fitted model's weights, exactly
    (crnn.interop.to_torch_state_dict), in the model's dtype."""
    from crnn.interop import to_torch_state_dict

    state = to_torch_state_dict(model)
    dtype = torch.float64 if np.dtype(model.dtype) == np.float64 else torch.float32
    n_x = state["rnn.weight_ih_l0"].shape[1]
    n_y = state["linear.weight"].shape[0]
    cell = model._cell()
    layer = getattr(torch.nn, cell.torch_layer)(n_x, model.n_a, dtype=dtype, **cell.torch_kwargs)
    linear = torch.nn.Linear(model.n_a, n_y, dtype=dtype)
    for module, prefix in ((layer, "rnn."), (linear, "linear.")):
        module.load_state_dict(
            {
                k.removeprefix(prefix): torch.from_numpy(v)
                for k, v in state.items()
                if k.startswith(prefix)
            }
        )
    return layer, linear


def _per_call(run, count, per=1, scale=1.0):
    """A timer of crnn.bench's rounds: milliseconds per call of a batch of count calls
    (crnn.bench._time_batch), divided by per (the steps of a call), times scale."""
    return bench._time_batch(run, count) / per * scale


# --- the training step -----------------------------------------------------------------


def _crnn_step(model, x, y, seed):
    """One minibatch step exactly as SequenceTagger.fit's loop runs it, on the model's
    fitted weights (a copy, updated at every call): the minibatch cut from fit's checked
    x, the model's _batch_loss_and_grads, its clipping, its optimizer's update.

    Arguments:
    model -- a fitted SequenceTagger whose classes are 0 .. n_y-1
    x -- inputs (n_x, m, T_x); y -- labels (m, T_x)
    seed -- seeds the order of the minibatch's sequences

    Returns:
    run -- callable taking nothing, one step per call, returning the loss; run.check()
           gives the loss and the gradients of the step's weights before clipping
           (leaving them as they are), run.batch the (x, y) of the minibatch in the
           order it trains on them
    """
    xf, _ = model._x(x)
    labels = np.asarray(y, np.intp)
    parameters = {k: v.copy() for k, v in model.parameters_.items()}
    optimizer = make_optimizer(model.optimizer, model.learning_rate)
    keys = ["d" + k for k in parameters]
    rng = np.random.default_rng(seed)
    idx = model._batches(x.shape[1], None, rng)[0]  # one minibatch of all m sequences
    buffer = np.empty(xf.size, xf.dtype)  # as fit keeps one for its minibatches

    def run():
        loss, grads = model._batch_loss_and_grads(
            *models._batch(xf, labels, None, idx, buffer), parameters, rng
        )
        if not np.isfinite(loss):
            raise FloatingPointError(f"crnn's training loss became {loss}")
        if model.clip_value is not None:
            clip({k: grads[k] for k in keys}, model.clip_value)
        if model.clip_norm is not None:
            clip_by_global_norm(grads, model.clip_norm, keys)
        optimizer.step(parameters, grads)
        return loss

    def check():
        same = {k: v.copy() for k, v in parameters.items()}
        loss, grads = model._batch_loss_and_grads(
            *models._batch(xf, labels, None, idx, buffer), same
        )
        return loss, {k: grads[k] for k in keys}

    run.check = check
    run.batch = (x[:, idx], labels[idx])
    return run


def _torch_train(torch, model, x, y):
    """PyTorch's plain training loop on the model's weights: the module and Linear,
    CrossEntropyLoss(reduction="mean", the estimator's), zero_grad, backward,
    clip_grad_norm_(clip_norm), Adam.step, loss.item().

    Arguments:
    torch -- the torch module
    model -- a fitted SequenceTagger
    x -- inputs (n_x, m, T_x); y -- labels (m, T_x) (put in PyTorch's (T_x, m, ...)
         layout once, untimed)

    Returns:
    run -- callable taking nothing, one step per call, returning the loss; run.check()
           gives the loss and the gradients before clipping under crnn's names (leaving
           the weights as they are)
    """
    layer, linear = _torch_modules(torch, model)
    n_y = linear.out_features
    params = [*layer.parameters(), *linear.parameters()]
    optimizer = torch.optim.Adam(params, lr=model.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="mean")
    xs = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 1, 0)))  # (T, m, n_x)
    ys = torch.from_numpy(np.ascontiguousarray(y.T, np.int64)).reshape(-1)  # (T·m,)

    def loss_of():
        out, _ = layer(xs)
        return loss_fn(linear(out).reshape(-1, n_y), ys)

    def run():
        optimizer.zero_grad()
        loss = loss_of()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, model.clip_norm)
        optimizer.step()
        return loss.item()

    def check():
        optimizer.zero_grad()
        loss = loss_of()
        loss.backward()
        cell = model._cell()
        grads = cell.from_torch_grads(
            *(getattr(layer, f"{k}_l0").grad.numpy() for k in ("weight_ih", "weight_hh")),
            *(getattr(layer, f"{k}_l0").grad.numpy() for k in ("bias_ih", "bias_hh")),
            model.n_a,
        )
        grads["d" + cell.output_weight] = linear.weight.grad.numpy().copy()
        grads["dby"] = linear.bias.grad.numpy()[:, None].copy()
        grads = {k: np.array(v) for k, v in grads.items()}
        optimizer.zero_grad()
        return loss.item(), grads

    run.check = check
    return run


def train_floor_gemms(n_x, n_a, n_y, m, T, cell="rnn"):
    """The products one training step must compute at least: the forward's input and
    recurrent products, the output layer forward and backward (dWy, and the states'
    gradient), the backward's recurrent products and weight gradients; no dx.

    Returns:
    gemms -- a list in crnn.bench.floor_gemms' form, (what, trans_a, trans_b, M, N, K,
             calls) for column-major C (M×N) = op(A)·op(B), done calls times
    """
    gemms = [g for g in bench.floor_gemms(n_x, n_a, n_y, m, T, cell) if g[0][:2] != "dX"]
    weight = bench.CELLS[cell].spec.output_weight
    mT = m * T
    head = [
        (f"d{weight} = dY·A.T", "N", "T", n_y, n_a, mT, 1),
        (f"dA = {weight}.T·dY", "T", "N", n_a, mT, n_y, 1),
    ]
    return gemms[:3] + head + gemms[3:]


def _train_contenders(cell, sizes, dtype, torch_mod, seed, progress=None):
    """The training step's contenders on one cell, shape and dtype, checked.

    Arguments:
    cell -- a name of crnn.bench.CELLS
    sizes -- (n_x, n_a, n_y, m, T_x)
    dtype -- numpy float64 or float32
    torch_mod -- the torch module, or None to leave PyTorch out
    seed -- seeds the data, the weights and the minibatch order
    progress -- callable taking a progress message, or None

    Returns:
    model -- the fitted SequenceTagger whose weights every contender starts from
    runs -- dict name -> callable taking nothing: "step", "fit" (FIT_STEPS steps a call)
            and "torch"
    check -- dict of the checks' results: the step's loss, its largest difference from
             crnn.training.loss_and_grads and PyTorch's (loss, gradients); MismatchError
             if one is beyond TOLERANCE
    """
    progress = progress or (lambda message: None)
    n_x, n_a, n_y, m, T = sizes
    rng = np.random.default_rng(seed)
    x_all, y_all = _tagging_data(n_x, n_y, m * FIT_STEPS, T, dtype, rng)
    progress("fitting the weights")
    model = _tagger(cell, n_a, m, dtype, seed).fit(x_all, y_all)
    if not np.array_equal(model.classes_, np.arange(n_y)):
        raise MismatchError(f"the model's classes are {model.classes_}, not 0 .. {n_y - 1}")
    step = _crnn_step(model, x_all[:, :m], y_all[:m], seed)
    xb, yb = step.batch
    fitted = _tagger(cell, n_a, m, dtype, seed)

    def fit():
        fitted.fit(x_all, y_all)

    runs = {"step": step, "fit": fit}

    progress("checking")
    loss, grads = step.check()
    want_loss, want = loss_and_grads(
        xb,
        yb,
        np.zeros((n_a, m), dtype),
        model.parameters_,
        "softmax",
        "mean",
        "sequence",
        model._cell(),
    )
    errors = [
        _check(
            "crnn's step's loss against crnn.training.loss_and_grads",
            _scaled_error(loss, want_loss),
            dtype,
        )
    ]
    errors += [
        _check(
            f"crnn's step's {k} against crnn.training.loss_and_grads",
            _scaled_error(grads[k], want[k]),
            dtype,
        )
        for k in grads
    ]
    check = {
        "loss": loss,
        "vs_loss_and_grads": max(errors),
        "tolerance": TOLERANCE[np.dtype(dtype)],
    }
    if torch_mod is not None:
        runs["torch"] = _torch_train(torch_mod, model, xb, yb)
        torch_loss, torch_grads = runs["torch"].check()
        check["torch_loss"] = torch_loss
        check["torch_loss_error"] = _check(
            "PyTorch's loss against crnn's", _scaled_error(torch_loss, loss), dtype
        )
        check["torch_grads_error"] = max(
            _check(f"PyTorch's {k} against crnn's", _scaled_error(torch_grads[k], grads[k]), dtype)
            for k in grads
        )
    fit()
    if fitted.n_epochs_ != 1 or not np.isfinite(fitted.loss_curve_).all():
        raise MismatchError(f"fit did not train one epoch: loss_curve_ {fitted.loss_curve_}")
    return model, runs, check


def _train_case(cell, name, dtype, torch_mod, repeats, progress, seed):
    """Check, then time the training step's contenders on one cell, size and dtype."""
    sizes = TRAIN_SIZES[name]
    label = f"train {cell} {name} {np.dtype(dtype).name}"
    model, runs, check = _train_contenders(
        cell, sizes, dtype, torch_mod, seed, lambda message: progress(f"{label}: {message}")
    )
    result = {
        "cell": cell,
        "size": name,
        "shape": dict(zip(("n_x", "n_a", "n_y", "m", "T_x"), sizes)),
        "dtype": np.dtype(dtype).name,
        "fit_steps": FIT_STEPS,
        "check": check,
        "contenders": {},
    }
    timers = {}
    for cname, run in runs.items():
        count = bench._calls_per_round(run)
        result["contenders"][cname] = {"calls_per_round": count}
        timers[cname] = partial(_per_call, run, count, FIT_STEPS if cname == "fit" else 1)
    gemms = train_floor_gemms(*sizes, cell)

    def floor():
        # best of two batches per product, as crnn.bench's floor
        seconds, rows = bench.gemm_floor(*sizes, dtype, seed=seed, tries=2, gemms=gemms)
        result.setdefault("floor_gemms", rows)
        return seconds * 1e3

    times = bench._rounds({**timers, "floor": floor}, repeats, progress, label)
    floors = result["floor_ms_per_round"] = times.pop("floor")
    result["floor_ms"] = float(np.median(floors))
    for cname, entry in result["contenders"].items():
        entry["times_ms"] = times[cname]
        entry["median_ms"] = float(np.median(times[cname]))
    ratios = {
        "torch_over_step": ("torch", "step"),
        "torch_over_fit": ("torch", "fit"),
        "fit_over_step": ("fit", "step"),
    }
    for key, (a, b) in ratios.items():
        if a in times:
            result[f"{key}_per_round"], result[key] = bench._ratios(times[a], times[b])
    result["step_over_floor_per_round"], result["step_over_floor"] = bench._ratios(
        times["step"], floors
    )
    # the memory a step needs against a prediction of the same minibatch
    step_peak = bench._peak_bytes(runs["step"])
    predict_peak = bench._peak_bytes(partial(model.predict_proba, runs["step"].batch[0]))
    result["peak_traced_bytes"] = {
        "step": step_peak,
        "predict_proba": predict_peak,
        "predict_over_step": predict_peak / step_peak,
    }
    return result


# --- prediction ------------------------------------------------------------------------


def onnx_model(model):
    """An ONNX model of a fitted one-layer SequenceTagger, built with onnx.helper: the
    cell's operator (RNN, LSTM, or GRU with linear_before_reset=1, PyTorch's and the
    reset_after convention) with crnn's weights, then MatMul + Add + Softmax.

    Arguments:
    model -- a fitted SequenceTagger, one layer, one direction

    Returns:
    onnx_model -- an onnx.ModelProto of input "x" (T_x, m, n_x) and output "proba"
                  (T_x, m, n_y), in the model's dtype, its T_x and m free
    """
    from onnx import helper, numpy_helper

    from crnn.interop import to_torch_state_dict

    state = to_torch_state_dict(model)
    w_ih, w_hh, b_ih, b_hh = (
        state[f"rnn.{k}_l0"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )
    op, order = _ONNX_OPS[model.cell]
    n_a, n_x = model.n_a, w_ih.shape[1]
    n_y = state["linear.weight"].shape[0]

    def gates(arr):
        return np.concatenate([arr[k * n_a : (k + 1) * n_a] for k in order])

    dtype = np.dtype(model.dtype)
    weights = {
        "W": gates(w_ih)[None],  # (1, G·n_a, n_x)
        "R": gates(w_hh)[None],  # (1, G·n_a, n_a)
        "B": np.concatenate((gates(b_ih), gates(b_hh)))[None],  # (1, 2·G·n_a)
        "Wy_t": state["linear.weight"].T,  # (n_a, n_y)
        "by": state["linear.bias"],  # (n_y,)
    }
    initializers = [
        numpy_helper.from_array(np.ascontiguousarray(v, dtype), k) for k, v in weights.items()
    ]
    initializers.append(numpy_helper.from_array(np.array([1], np.int64), "axis1"))
    attributes = {"hidden_size": n_a}
    if model.cell == "rnn":
        attributes["activations"] = [model.activation.capitalize()]
    if model.cell == "gru":
        attributes["linear_before_reset"] = 1
    nodes = [
        helper.make_node(op, ["x", "W", "R", "B"], ["y"], **attributes),  # (T, 1, m, n_a)
        helper.make_node("Squeeze", ["y", "axis1"], ["a"]),  # (T, m, n_a)
        helper.make_node("MatMul", ["a", "Wy_t"], ["z0"]),
        helper.make_node("Add", ["z0", "by"], ["z"]),
        helper.make_node("Softmax", ["z"], ["proba"], axis=-1),
    ]
    element = helper.np_dtype_to_tensor_dtype(dtype)
    graph = helper.make_graph(
        nodes,
        f"crnn_{model.cell}_tagger",
        [helper.make_tensor_value_info("x", element, ["T_x", "m", n_x])],
        [helper.make_tensor_value_info("proba", element, ["T_x", "m", n_y])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", _ONNX_OPSET)])


def _import_onnxruntime():
    """The onnxruntime module, or None when it or onnx (which builds the graphs) is not
    installed."""
    try:
        importlib.import_module("onnx")
        return importlib.import_module("onnxruntime")
    except ImportError:
        return None


def _ort_threads(threads):
    """ONNX Runtime's intra-op threads: threads, or when None as many as crnn's BLAS
    (scipy's) has, or the CPUs."""
    if threads is not None:
        return threads
    for lib in bench._blas_info() or ():
        if lib["owner"] == "scipy" and lib["num_threads"]:
            return lib["num_threads"]
    return os.cpu_count() or 1


def _ort_session(ort, model, threads):
    """An ONNX Runtime session of onnx_model(model) on the CPU with threads intra-op
    threads, and None; or None and the reason it cannot run the model (ONNX Runtime's
    CPU kernels of RNN, LSTM and GRU compute float32 only)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 4  # its refusals are reported, not logged
    n_x = model.n_features_in_
    try:
        session = ort.InferenceSession(
            onnx_model(model).SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        session.run(None, {"x": np.zeros((1, 1, n_x), np.dtype(model.dtype))})
    except Exception as exc:  # ONNX Runtime's own exception types
        return None, f"ONNX Runtime cannot run the {model.cell.upper()} in {model.dtype}: " + (
            str(exc).strip().splitlines() or [type(exc).__name__]
        )[0][:200]
    return session, None


def _predictors(model, torch_mod, session):
    """The prediction contenders of a fitted model, by name: make(x) gives a callable
    taking nothing that predicts x (n_x, m, T_x), its course_form attribute turning what
    it returns into the probabilities (n_y, m, T_x)."""
    cell = model._cell()
    forward = getattr(crnn, f"{cell.name}_forward")

    def same(out):
        return out

    def predict_proba(x):
        run = partial(model.predict_proba, x)
        run.course_form = same
        return run

    def course_forward(x):
        a0 = np.zeros((model.n_a, x.shape[1]), x.dtype)

        def run():
            return forward(x, a0, model.parameters_, **cell.options)[1]

        run.course_form = same
        return run

    makers = {"predict_proba": predict_proba, "forward": course_forward}
    if torch_mod is not None:
        layer, linear = _torch_modules(torch_mod, model)

        def torch_predict(x):
            xs = torch_mod.from_numpy(np.ascontiguousarray(x.transpose(2, 1, 0)))

            def run():
                with torch_mod.inference_mode():
                    out, _ = layer(xs)
                    return torch_mod.softmax(linear(out), dim=-1)

            run.course_form = lambda out: out.numpy().transpose(2, 1, 0)
            return run

        makers["torch"] = torch_predict
    if session is not None:

        def ort_predict(x):
            feed = {"x": np.ascontiguousarray(x.transpose(2, 1, 0))}

            def run():
                return session.run(None, feed)[0]

            run.course_form = lambda out: out.transpose(2, 1, 0)
            return run

        makers["onnxruntime"] = ort_predict
    return makers


def _infer_case(model, makers, skipped, m, repeats, progress, seed):
    """Check, then time the prediction contenders of one fitted model on a batch of m."""
    n_x, n_a, n_y, T = INFER_SHAPE
    dtype = np.dtype(model.dtype)
    label = f"infer {model.cell} m={m} {dtype.name}"
    x = np.random.default_rng(seed + m).standard_normal((n_x, m, T)).astype(dtype)
    cell = model._cell()
    a0 = np.zeros((n_a, m), dtype)
    want = getattr(reference, f"{cell.name}_forward")(x, a0, model.parameters_, **cell.options)[1]
    result = {
        "cell": model.cell,
        "dtype": dtype.name,
        "m": m,
        "shape": dict(zip(("n_x", "n_a", "n_y", "m", "T_x"), (n_x, n_a, n_y, m, T))),
        "skipped": dict(skipped),
        "contenders": {},
    }
    timers = {}
    for name, make in makers.items():
        progress(f"{label}: checking {name}")
        run = make(x)
        error = _check(
            f"the probabilities of {name} ({model.cell}, {dtype.name}, m = {m}) against the "
            "numpy course code (crnn.reference)",
            _scaled_error(run.course_form(run()), want),
            dtype,
        )
        count = bench._calls_per_round(run)
        result["contenders"][name] = {
            "calls_per_round": count,
            "max_error_vs_reference": error,
            # tracemalloc sees numpy's buffers, not PyTorch's or ONNX Runtime's allocators
            "peak_traced_bytes": (
                bench._peak_bytes(run) if name in ("predict_proba", "forward") else None
            ),
        }
        timers[name] = partial(_per_call, run, count, 1, 1e3)
    times = bench._rounds(timers, repeats, progress, label)
    for name, entry in result["contenders"].items():
        entry["times_us"] = times[name]
        entry["median_us"] = float(np.median(times[name]))
        for base in ("predict_proba", "forward"):
            entry[f"per_round_over_{base}"], entry[f"over_{base}"] = bench._ratios(
                times[name], times[base]
            )
    return result


# --- the runs --------------------------------------------------------------------------


def run_train(
    sizes=tuple(TRAIN_SIZES),
    dtypes=("float64", "float32"),
    repeats=5,
    threads=None,
    torch=True,
    seed=0,
    progress=None,
    cells=tuple(bench.CELLS),
):
    """Run the training-step bench.

    Arguments:
    sizes -- names from TRAIN_SIZES
    dtypes -- "float64" and/or "float32"
    repeats -- timed rounds per case
    threads -- limit of BLAS (and PyTorch) threads, through threadpoolctl; None keeps them
    torch -- include PyTorch when it can be imported
    seed -- seed of the data, the weights and the minibatch order
    progress -- callable taking a progress message, or None
    cells -- names from crnn.bench.CELLS, in this order

    Returns:
    report -- dict of the machine, the libraries and one result per cell, size and dtype;
              MismatchError if crnn's step and PyTorch's (or crnn.training.loss_and_grads)
              do not agree on the loss and the gradients
    """
    progress = progress or (lambda message: None)
    bench.check_options(cells, dtypes, repeats, sizes, TRAIN_SIZES)
    torch_mod = bench._import_torch() if torch else None
    with bench._limits(threads, torch_mod):
        return {
            "bench": "train",
            **bench._environment(torch_mod, threads),
            "repeats": repeats,
            "cells": list(cells),
            "fit_steps": FIT_STEPS,
            "results": [
                _train_case(cell, name, bench.DTYPES[d], torch_mod, repeats, progress, seed)
                for cell in cells
                for name in sizes
                for d in dtypes
            ],
        }


def run_infer(
    dtypes=("float32",),
    repeats=5,
    threads=None,
    torch=True,
    onnxruntime=True,
    seed=0,
    progress=None,
    cells=tuple(bench.CELLS),
):
    """Run the prediction bench: INFER_SHAPE at every batch size of INFER_BATCHES.

    Arguments:
    dtypes -- "float32" and/or "float64"
    repeats -- timed rounds per case
    threads -- limit of BLAS, PyTorch and ONNX Runtime threads; None keeps BLAS's and
               PyTorch's and gives ONNX Runtime as many as crnn's BLAS has
    torch, onnxruntime -- include them when they can be imported
    seed -- seed of the data and the weights
    progress -- callable taking a progress message, or None
    cells -- names from crnn.bench.CELLS, in this order

    Returns:
    report -- dict of the machine, the libraries and one result per cell, dtype and m;
              MismatchError if a contender's probabilities differ from the numpy course
              code's
    """
    progress = progress or (lambda message: None)
    bench.check_options(cells, dtypes, repeats)
    torch_mod = bench._import_torch() if torch else None
    ort = _import_onnxruntime() if onnxruntime else None
    n_x, n_a, n_y, T = INFER_SHAPE
    with bench._limits(threads, torch_mod):
        ort_threads = _ort_threads(threads) if ort else None
        report = {
            "bench": "infer",
            **bench._environment(torch_mod, threads),
            "onnxruntime": ort.__version__ if ort else None,
            "onnxruntime_threads": ort_threads,
            "repeats": repeats,
            "cells": list(cells),
            "shape": dict(zip(("n_x", "n_a", "n_y", "T_x"), INFER_SHAPE)),
            "batches": list(INFER_BATCHES),
            "results": [],
        }
        for cell in cells:
            for d in dtypes:
                dtype = bench.DTYPES[d]
                progress(f"infer {cell} {d}: fitting the weights")
                m_fit = max(INFER_BATCHES)
                x, y = _tagging_data(n_x, n_y, m_fit, T, dtype, np.random.default_rng(seed))
                model = _tagger(cell, n_a, m_fit, dtype, seed).fit(x, y)
                session, skipped = None, {}
                if ort is not None:
                    session, reason = _ort_session(ort, model, ort_threads)
                    if reason:
                        skipped["onnxruntime"] = reason
                makers = _predictors(model, torch_mod, session)
                report["results"] += [
                    _infer_case(model, makers, skipped, m, repeats, progress, seed)
                    for m in INFER_BATCHES
                ]
    return report


# --- the tables ------------------------------------------------------------------------

TRAIN_WORK = (
    "one timed step = one minibatch of m sequences: forward, softmax cross-entropy "
    "(mean over the m·T_x labels, the estimator's), backward, the gradients clipped to "
    "global norm 5, the Adam update. step: SequenceTagger.fit's own step functions "
    "(_batch_loss_and_grads, clip_by_global_norm, its optimizer's step) on a fitted "
    "model's weights; fit: SequenceTagger.fit itself, one epoch of {k}·m sequences, its "
    "time / {k} (the estimator's checks, initialisation and minibatch gathers "
    "included); torch: nn.RNN/LSTM/GRU + Linear + CrossEntropyLoss(reduction='mean'), "
    "zero_grad, backward, clip_grad_norm_(5), Adam.step, loss.item(), the same weights "
    "(crnn.interop.to_torch_state_dict; PyTorch trains its bias_hh too) and data; floor: "
    "the step's GEMM floor (the forward's products, the output layer forward and "
    "backward, the backward's recurrent products and weight gradients, no dx), measured "
    "in every round. Checked first, untimed: the step's loss and gradients against "
    "crnn.training.loss_and_grads and PyTorch's on the same weights and minibatch."
)

INFER_WORK = (
    "one timed call = the class probabilities of one batch of m sequences. predict: "
    "SequenceTagger.predict_proba (its checks and conversion of x included); forward: "
    "the course's crnn.*_forward(x, a0, parameters) (the GRU with reset_after=True), "
    "its y; torch: the module + Linear + softmax under torch.inference_mode(); onnxrt: "
    "ONNX Runtime running the cell's ONNX operator + MatMul + Add + Softmax, "
    "intra_op_num_threads as noted. x made in each one's layout once, untimed; the "
    "weights are one fitted model's. Every contender's probabilities are checked against "
    "the numpy course code (crnn.reference) first, untimed."
)


def _rounds_note(report):
    return (
        f"median over {report['repeats']} rounds; ratios per round, median; each "
        f"contender's timed calls follow a rest of {bench.SETTLE_SECONDS} s and one untimed "
        "call of its own"
    )


def _ratio(value):
    return f"{value:.2f}x" if value is not None else "-"


def format_train(report):
    """The training-step report as text: libraries and machine, then per cell one row
    per size and dtype, its checks and its memory."""
    lines = bench._header_lines(report)
    lines.append(f"{_rounds_note(report)}; ms per training step")
    has_torch = report["torch"] is not None
    head = f"{'size':<8}{'dtype':<9}{'step':>9}{'fit':>9}"
    head += f"{'torch':>9}" if has_torch else ""
    head += f"{'floor':>9}"
    head += f"{'torch/step':>12}{'torch/fit':>11}" if has_torch else ""
    head += f"{'fit/step':>10}{'step/floor':>12}"
    head += f"{'loss diff':>11}" if has_torch else ""
    head += "  peak MiB step / predict"
    lines += ["", f"TRAIN: {TRAIN_WORK.format(k=report['fit_steps'])}"]
    for cell in report["cells"]:
        results = [r for r in report["results"] if r["cell"] == cell]
        lines += ["", cell.upper(), head]
        for res in results:
            c = res["contenders"]
            row = f"{res['size']:<8}{res['dtype']:<9}"
            row += f"{c['step']['median_ms']:>9.3f}{c['fit']['median_ms']:>9.3f}"
            row += f"{c['torch']['median_ms']:>9.3f}" if has_torch else ""
            row += f"{res['floor_ms']:>9.3f}"
            if has_torch:
                row += f"{_ratio(res['torch_over_step']):>12}{_ratio(res['torch_over_fit']):>11}"
            row += f"{_ratio(res['fit_over_step']):>10}{_ratio(res['step_over_floor']):>12}"
            row += f"{res['check']['torch_loss_error']:>11.1e}" if has_torch else ""
            peak = res["peak_traced_bytes"]
            row += (
                f"  {peak['step'] / 2**20:.3g} / {peak['predict_proba'] / 2**20:.3g}"
                f" ({peak['predict_over_step']:.2f})"
            )
            lines.append(row)
        checks = [(r["check"]["vs_loss_and_grads"], f"{r['size']} {r['dtype']}") for r in results]
        worst = max(checks)
        lines.append(
            f"largest difference of the step's loss and gradients from "
            f"crnn.training.loss_and_grads: {worst[0]:.1e} ({worst[1]})"
        )
        if has_torch:
            worst = max(
                (
                    max(r["check"]["torch_loss_error"], r["check"]["torch_grads_error"]),
                    f"{r['size']} {r['dtype']}",
                )
                for r in results
            )
            lines.append(
                f"largest difference of PyTorch's loss and gradients from crnn's, same "
                f"weights and minibatch: {worst[0]:.1e} ({worst[1]}; loss diff above: the "
                "loss's own)"
            )
        over = [r for r in results if r["peak_traced_bytes"]["predict_over_step"] > 0.25]
        lines.append(
            "peak traced memory, predict_proba of the minibatch / one training step: "
            + (
                "within the target of 1/4 everywhere"
                if not over
                else "above the target of 1/4 at "
                + ", ".join(f"{r['size']} {r['dtype']}" for r in over)
            )
        )
    return "\n".join(lines)


_SHORT = {
    "predict_proba": "predict",
    "forward": "forward",
    "torch": "torch",
    "onnxruntime": "onnxrt",
}


def format_infer(report):
    """The prediction report as text: libraries and machine, then per cell one row per
    dtype and batch size."""
    ort = report["onnxruntime"]
    others = (
        f", ONNX Runtime {ort} ({report['onnxruntime_threads']} intra-op threads)"
        if ort
        else ", ONNX Runtime not installed"
    )
    lines = bench._header_lines(report, others)
    shape = report["shape"]
    lines.append(
        f"{_rounds_note(report)}; µs per prediction of a batch of m sequences of "
        f"(n_x, n_a, n_y, T_x) = ({shape['n_x']}, {shape['n_a']}, {shape['n_y']}, "
        f"{shape['T_x']})"
    )
    names = [n for n in _SHORT if any(n in r["contenders"] for r in report["results"])]
    others_p = [n for n in names if n != "predict_proba"]
    others_f = [n for n in names if n not in ("predict_proba", "forward")]
    head = f"{'m':<5}{'dtype':<9}" + "".join(f"{_SHORT[n]:>10}" for n in names)
    head += "".join(f"{_SHORT[n] + '/pred':>13}" for n in others_p)
    head += "".join(f"{_SHORT[n] + '/fwd':>12}" for n in others_f)
    head += "  peak KiB predict / forward"
    lines += ["", f"INFER: {INFER_WORK}"]
    for cell in report["cells"]:
        results = [r for r in report["results"] if r["cell"] == cell]
        lines += ["", f"{cell.upper()}", head]
        for res in results:
            c = res["contenders"]
            row = f"{res['m']:<5}{res['dtype']:<9}"
            row += "".join(f"{c[n]['median_us']:>10.1f}" if n in c else f"{'-':>10}" for n in names)
            row += "".join(
                f"{_ratio(c[n]['over_predict_proba'] if n in c else None):>13}" for n in others_p
            )
            row += "".join(
                f"{_ratio(c[n]['over_forward'] if n in c else None):>12}" for n in others_f
            )
            peaks = [c[n]["peak_traced_bytes"] / 2**10 for n in ("predict_proba", "forward")]
            row += f"  {peaks[0]:.4g} / {peaks[1]:.4g}"
            lines.append(row)
        worst = max(
            (v["max_error_vs_reference"], f"{k} at m = {r['m']} {r['dtype']}")
            for r in results
            for k, v in r["contenders"].items()
        )
        lines.append(
            f"largest difference of the {cell.upper()}'s probabilities from the numpy course "
            f"code: {worst[0]:.1e} ({worst[1]})"
        )
        skipped = {reason for r in results for reason in r["skipped"].values()}
        lines += [f"left out: {reason}" for reason in sorted(skipped)]
    lines.append(
        "peak: the memory tracemalloc sees during one call (numpy's buffers); PyTorch's "
        "and ONNX Runtime's allocators are not traced"
    )
    return "\n".join(lines)


def main(
    kind,
    sizes=None,
    dtypes=None,
    repeats=5,
    threads=None,
    json_path=None,
    torch=True,
    seed=0,
    cells=tuple(bench.CELLS),
):
    """Run a bench, print its table, optionally write its JSON.

    Arguments:
    kind -- "train" or "infer"
    sizes -- for "train", names from TRAIN_SIZES (None: all)
    dtypes -- None for the bench's default (both for "train", float32 for "infer")
    the others -- as for run_train and run_infer

    Returns:
    status -- 0, or 1 (with the message on stderr) when the contenders disagree
    """

    def progress(message):
        sys.stderr.write(f"[bench] {message}\n")
        sys.stderr.flush()

    try:
        if kind == "train":
            report = run_train(
                tuple(sizes or TRAIN_SIZES),
                tuple(dtypes or ("float64", "float32")),
                repeats,
                threads,
                torch,
                seed,
                progress,
                tuple(cells),
            )
            text = format_train(report)
        else:
            report = run_infer(
                tuple(dtypes or ("float32",)),
                repeats,
                threads,
                torch,
                True,
                seed,
                progress,
                tuple(cells),
            )
            text = format_infer(report)
    except MismatchError as exc:
        sys.stderr.write(f"python -m crnn bench --{kind}: {exc}\n")
        return 1
    print(text)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=1)
        progress(f"wrote {json_path}")
    return 0
