"""Fuzz crnn's public API: every input must give a result or a clear exception.

    python tools/fuzz.py TARGET [--seconds N | --runs N] [--seed S] [--atheris]
    python tools/fuzz.py TARGET --replay FILE

TARGET is one of:
  course -- every cell's course functions (sequence and one step, forward and backward),
            with lengths and reverse
  step   -- crnn.loss_and_grads, the training step, for every cell and loss
  models -- SequenceTagger and SequenceClassifier: fit, predict, predict_proba, score
  load   -- crnn.load_model on damaged model files (flipped, cut, inserted bytes)
  resume -- fit(..., checkpoint=, resume=True) from damaged checkpoints
  conll  -- crnn.datasets.parse_conll on arbitrary text
  interop -- crnn.interop's loaders: damaged safetensors and ONNX files, PyTorch state
            dicts and Keras weight lists (needs crnn[onnx,safetensors])
  all    -- each of them in turn, --seconds (or --runs) each

Every input is built from bytes: each run draws them from a seeded generator (the same
seed gives the same inputs, on any platform), or with --atheris lets atheris (libFuzzer,
coverage-guided over crnn's Python code) choose them. An input passes when the call
returns, or raises ValueError, TypeError or a subclass of them (crnn's own errors are),
or KeyError naming a parameter the input left out (the course code's error for it).
Anything else is a finding: another exception, a crash of the interpreter, or a call
running past --timeout seconds. The bytes of the input being run are kept in
--last (default fuzz-last-input.bin), so that a crash or a hang can be replayed with
--replay; a finding is printed with its traceback and exits with status 1.
"""

import argparse
import contextlib
import faulthandler
import io
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

# crnn's modules, imported by load_crnn(): with --atheris, instrumented as they load
crnn = variants = parse_conll = None


def load_crnn(instrument=False):
    """Import crnn (once), with atheris's coverage instrumentation if instrument."""
    global crnn, variants, parse_conll
    if crnn is not None:
        return
    with contextlib.ExitStack() as stack:
        if instrument:
            import atheris

            stack.enter_context(atheris.instrument_imports(include=["crnn"]))
        import crnn
        import crnn.cells
        import crnn.datasets
        import crnn.models
    variants, parse_conll = crnn.cells.variants, crnn.datasets.parse_conll


#: the exceptions a bad input may get
ALLOWED = (ValueError, TypeError)

#: the most bytes one input is built from
INPUT_BYTES = 4096


class Bytes:
    """Draws values from a byte string, as atheris's FuzzedDataProvider does; past its
    end every draw is the smallest value, so that any input is a complete one."""

    def __init__(self, data):
        self.data, self.at = data, 0
        self.dropped = set()  # the parameters' keys left out of the input

    def byte(self):
        if self.at >= len(self.data):
            return 0
        self.at += 1
        return self.data[self.at - 1]

    def int(self, low, high):
        """An integer in low..high."""
        span = high - low + 1
        value = 0
        for _ in range(1 + (span > 256) + (span > 65536)):
            value = value * 256 + self.byte()
        return low + value % span

    def chance(self, percent):
        return self.int(0, 99) < percent

    def pick(self, options):
        options = list(options)
        return options[self.int(0, len(options) - 1)]

    def rng(self):
        """A generator seeded from the input, for the bulk of an array's values."""
        return np.random.default_rng(self.int(0, 2**24))


def mutated_array(b, arr):
    """arr as a bad input might give it: mostly itself, else another dtype, layout, shape
    or values (NaN, inf, huge), a list, a scalar or None."""
    if not b.chance(30):
        return arr
    what = b.int(0, 11)
    if what == 0:
        return arr.astype(
            b.pick(
                [np.float32, np.float64, np.int64, np.int8, bool, np.complex128, np.float16, object]
            )
        )
    if what == 1:
        return np.asfortranarray(arr)
    if what == 2 and arr.ndim:
        return np.repeat(arr, 2, axis=-1)[..., ::2]  # strided
    if what == 3:
        out = arr.copy()
        out.flags.writeable = False
        return out
    if what == 4 and arr.size:
        out = arr.astype(np.float64)
        out.flat[b.int(0, arr.size - 1)] = b.pick([np.nan, np.inf, -np.inf, 1e308, -1e308])
        return out
    if what == 5:
        return arr.tolist()
    if what == 6:
        return b.pick([None, 0, 1.5, "x", (), [], np.float64(2.0)])
    if what == 7 and arr.ndim:
        shape = list(arr.shape)
        axis = b.int(0, len(shape) - 1)
        shape[axis] = b.int(0, 5)
        return b.rng().standard_normal(shape)
    if what == 8:
        return arr[..., None] if b.chance(50) else arr.reshape(-1)
    if what == 9:
        return arr.astype(arr.dtype.newbyteorder()) if arr.dtype.kind in "fiub" else arr
    if what == 10:
        return np.asmatrix(arr) if arr.ndim == 2 else arr
    return arr * b.pick([0.0, 1e6, -1.0])


def mutated_parameters(b, parameters):
    """The parameters dict mutated: a key dropped, added or given a bad value; or not a dict."""
    p = {
        key: mutated_array(b, value) if b.chance(15) else value for key, value in parameters.items()
    }
    if b.chance(10) and p:
        key = b.pick(sorted(p))
        p.pop(key)
        b.dropped.add(key)
    if b.chance(5):
        p["extra"] = np.zeros((2, 2))
    if b.chance(3):
        return b.pick([list(p.items()), None, "parameters"])
    return p


def sizes(b):
    """(n_x, n_a, n_y, m, T_x), small, zero now and then."""
    return tuple(b.int(0 if b.chance(5) else 1, 4) for _ in range(5))


def lengths_of(b, m, T):
    """lengths as a caller might give them: mostly None or valid, else anything."""
    if b.chance(50):
        return None
    what = b.int(0, 5)
    if what <= 2:
        return np.array([b.int(1, max(T, 1)) for _ in range(m)])
    if what == 3:
        return [b.int(-1, T + 1) for _ in range(b.int(0, m + 1))]
    if what == 4:
        return np.array(
            [b.int(1, max(T, 1)) for _ in range(m)], dtype=b.pick([np.float64, np.int32, np.uint8])
        )
    return b.pick([None, 3, "3", 2.5, [[1]], np.array(1)])


def fuzz_course(b):
    """A cell's sequence forward then backward, and one step's, from mutated inputs."""
    cell = b.pick(variants())
    n_x, n_a, n_y, m, T = sizes(b)
    dtype = b.pick([np.float64, np.float32])
    x, a0, p, da = cell.problem(
        max(n_x, 1),
        max(n_a, 1),
        max(n_y, 1),
        max(m, 1),
        max(T, 1),
        dtype=dtype,
        seed=b.int(0, 1000),
    )
    forward = getattr(crnn, f"{cell.name}_forward")
    backward = getattr(crnn, f"{cell.name}_backward")
    reverse = b.pick([False, True]) if b.chance(95) else b.pick(["yes", None, 1])
    lengths = lengths_of(b, x.shape[1], x.shape[2])
    args = [mutated_array(b, x), mutated_array(b, a0), mutated_parameters(b, p)]
    try:
        *_, caches = forward(*args, **cell.options, lengths=lengths, reverse=reverse)
    except ALLOWED:
        caches = None
    if caches is not None:
        if b.chance(20):
            caches = (list(caches[0])[: b.int(0, len(caches[0]))], caches[1])
        try:
            backward(mutated_array(b, da), caches)
        except ALLOWED:
            pass
    # one step
    cell_forward = getattr(crnn, f"{cell.name}_cell_forward")
    cell_backward = getattr(crnn, f"{cell.name}_cell_backward")
    xt, at = mutated_array(b, x[:, :, 0]), mutated_array(b, a0)
    if cell.name == "lstm":
        c_prev = mutated_array(b, np.zeros_like(a0))
        out = cell_forward(xt, at, c_prev, mutated_parameters(b, p))
        cell_backward(mutated_array(b, da[:, :, 0]), mutated_array(b, da[:, :, 0]), out[-1])
    else:
        out = cell_forward(xt, at, mutated_parameters(b, p), **cell.options)
        cell_backward(mutated_array(b, da[:, :, 0]), out[-1])


def fuzz_step(b):
    """crnn.loss_and_grads with labels, losses and outputs of every kind."""
    cell = b.pick(variants())
    n_x, n_a, n_y, m, T = (max(v, 1) for v in sizes(b))
    x, a0, p, _ = cell.problem(n_x, n_a, n_y, m, T, seed=b.int(0, 1000))
    loss = b.pick(["softmax", "sigmoid"]) if b.chance(95) else "hinge"
    output = b.pick(["sequence", "last", "mean"]) if b.chance(95) else "first"
    rng = b.rng()
    shape = (m, T) if output == "sequence" else (m,)
    if loss == "softmax":
        y = rng.integers(0, n_y + (1 if b.chance(5) else 0), shape)
    else:
        y = rng.integers(0, 2, (n_y, *shape)).astype(float)
    crnn.loss_and_grads(
        mutated_array(b, x),
        mutated_array(b, y),
        mutated_array(b, a0),
        mutated_parameters(b, p),
        loss,
        b.pick(["sum", "mean"]),
        output,
        cell if b.chance(90) else b.pick(["cnn", 3, None]),
        lengths_of(b, m, T),
    )


def _model(b):
    kind = b.pick([crnn.SequenceTagger, crnn.SequenceClassifier])
    kwargs = {
        "cell": b.pick(["rnn", "lstm", "gru"]) if b.chance(95) else "tcn",
        "n_a": b.int(1, 4) if b.chance(95) else b.pick([0, -1, 2.5]),
        "epochs": b.int(1, 2),
        "batch_size": b.int(1, 5) if b.chance(95) else 0,
        "num_layers": b.int(1, 2),
        "bidirectional": b.chance(30),
        "dropout": b.pick([0.0, 0.5]) if b.chance(95) else 1.5,
        "dtype": b.pick(["float64", "float32"]),
        "verbose": False,
        "seed": b.int(0, 100),
        "optimizer": b.pick(["adam", "sgd", "momentum", "adagrad"]),
    }
    if kind is crnn.SequenceClassifier:
        kwargs["pooling"] = b.pick(["last", "mean"])
    return kind, kind(**kwargs)


def fuzz_models(b):
    """An estimator's fit, then predict, predict_proba and score, on padded or list input."""
    kind, model = _model(b)
    n_x, m, T = b.int(1, 3), b.int(1, 5), b.int(1, 5)
    rng = b.rng()
    x = rng.standard_normal((n_x, m, T))
    tagger = kind is crnn.SequenceTagger
    y = rng.integers(0, b.int(1, 3), (m, T) if tagger else (m,))
    lengths = None
    if b.chance(40):
        lengths = rng.integers(1, T + 1, m)
        if b.chance(50):  # list input
            x = [x[:, i, :L] for i, L in enumerate(lengths)]
            if tagger:
                y = [y[i, :L] for i, L in enumerate(lengths)]
            lengths = None
    if b.chance(10):
        lengths = lengths_of(b, m, T)
    if not isinstance(x, list):
        x, y = mutated_array(b, x), mutated_array(b, y)
    model.fit(x, y, lengths=lengths)
    for method in (model.predict, model.predict_proba):
        method(x, lengths=lengths)
    model.score(x, y, lengths=lengths)
    state = None
    for _ in range(b.int(1, 3)):
        xt = mutated_array(b, rng.standard_normal((n_x, m)))
        _, state = model.step(xt, state if b.chance(90) else mutated_array(b, np.zeros((2, m))))


_MODEL_FILE = None


def _model_file():
    """The bytes of a small fitted model's file, made once."""
    global _MODEL_FILE
    if _MODEL_FILE is None:
        rng = np.random.default_rng(0)
        model = crnn.SequenceTagger(n_a=3, epochs=1, verbose=False, cell="lstm")
        model.fit(rng.standard_normal((2, 4, 3)), rng.integers(0, 2, (4, 3)))
        out = io.BytesIO()
        model.save(out)
        _MODEL_FILE = out.getvalue()
    return _MODEL_FILE


def fuzz_load(b):
    """crnn.load_model on a model file with bytes flipped, cut or inserted."""
    data = bytearray(_model_file())
    model = crnn.load_model(io.BytesIO(bytes(_damaged(b, data))), max_bytes=1 << 20)
    model.predict(np.zeros((2, 1, 3)))


def _damaged(b, data):
    """data (a bytearray) with bytes flipped, cut or inserted."""
    for _ in range(b.int(1, 4)):
        at = b.int(0, len(data) - 1)
        what = b.int(0, 2)
        if what == 0:
            data[at] ^= 1 << b.int(0, 7)
        elif what == 1:
            del data[at:]
            if not data:
                break
        else:
            data[at:at] = bytes(b.int(0, 255) for _ in range(b.int(1, 8)))
    return data


_INTEROP = {}


def _interop_sources():
    """A small tagger as a PyTorch state dict, safetensors bytes, Keras weight lists and
    ONNX bytes, made once by crnn (no framework needed)."""
    if not _INTEROP:
        import crnn.interop

        rng = np.random.default_rng(0)
        model = crnn.SequenceTagger(n_a=3, epochs=1, verbose=False, cell="gru", reset_after=True)
        model.set_params(num_layers=2, bidirectional=True)
        model.fit(rng.standard_normal((2, 4, 3)), rng.integers(0, 2, (4, 3)))
        _INTEROP["torch"] = crnn.interop.to_torch_state_dict(model)
        _INTEROP["keras"] = crnn.interop.to_keras_weights(model)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "m.safetensors")
            crnn.interop.save_safetensors(model, path)
            with open(path, "rb") as f:
                _INTEROP["safetensors"] = f.read()
        _INTEROP["onnx"] = crnn.interop.to_onnx(model).SerializeToString()
    return _INTEROP


def fuzz_interop(b):
    """crnn.interop's loaders on damaged sources: safetensors and ONNX files with bytes
    flipped, cut or inserted; PyTorch state dicts and Keras weight lists with arrays
    mutated, left out or added."""
    import crnn.interop

    sources = _interop_sources()
    what = b.int(0, 3)
    x = np.zeros((2, 1, 2))  # (m, T_x, n_x) after a conversion: (n_x, m, T_x) = (2, 1, 2)
    if what == 0:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "m.safetensors")
            with open(path, "wb") as f:
                f.write(bytes(_damaged(b, bytearray(sources["safetensors"]))))
            model = crnn.interop.load_safetensors(path, max_bytes=1 << 20)
    elif what == 1:
        state = dict(sources["torch"])
        for key in sorted(state):
            if b.chance(15):
                b.dropped.add(key)
                del state[key]
            elif key in state:
                state[key] = mutated_array(b, state[key])
        if b.chance(10):
            state[b.pick(["weight_ih_l9", "rnn.bias_hh_l0_reverse", "extra"])] = np.zeros(3)
        rnn = {k[4:]: v for k, v in state.items() if k.startswith("rnn.")}
        linear = {k[7:]: v for k, v in state.items() if k.startswith("linear.")}
        model = crnn.interop.from_torch(rnn, linear if b.chance(80) else None)
    elif what == 2:
        model = crnn.interop.from_onnx(bytes(_damaged(b, bytearray(sources["onnx"]))))
    else:
        weights = [[mutated_array(b, w) for w in layer] for layer in sources["keras"]]
        if b.chance(20):
            del weights[b.int(0, len(weights) - 1)]
        model = crnn.interop.from_keras(weights, cell="gru")
    model = getattr(model, "predict_proba", getattr(model, "forward", None))
    model(x.transpose(2, 0, 1))


_CHECKPOINT = None


def _resumed_fit():
    """A small fit's estimator, data and checkpoint bytes (after its first epoch), made once."""
    global _CHECKPOINT
    if _CHECKPOINT is None:
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal((2, 6, 3)), rng.integers(0, 2, (6, 3))
        model = crnn.SequenceTagger(
            n_a=3, epochs=1, verbose=False, early_stopping=True, validation_fraction=0.34
        )
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "fit.ckpt")
            model.fit(x, y, checkpoint=path)
            with open(path, "rb") as f:
                _CHECKPOINT = (x, y, f.read())
    return _CHECKPOINT


def fuzz_resume(b):
    """fit(..., checkpoint=, resume=True) from a checkpoint with bytes flipped, cut or
    inserted."""
    x, y, data = _resumed_fit()
    data = bytearray(data)
    for _ in range(b.int(1, 3)):
        at = b.int(0, len(data) - 1)
        if b.chance(70):
            data[at] ^= 1 << b.int(0, 7)
        else:
            del data[at:]
            if not data:
                break
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fit.ckpt")
        with open(path, "wb") as f:
            f.write(bytes(data))
        model = crnn.SequenceTagger(
            n_a=3, epochs=2, verbose=False, early_stopping=True, validation_fraction=0.34
        )
        model.fit(x, y, checkpoint=path, resume=True)


def fuzz_conll(b):
    """parse_conll on arbitrary text, bytes decoded as UTF-8 with replacement."""
    text = bytes(b.byte() for _ in range(b.int(0, 600))).decode("utf-8", "replace")
    if b.chance(50):  # mostly token-tag lines, so that the parser goes deep
        text = "\n".join(
            f"{w} {t}" if b.chance(80) else w
            for w, t in zip(text.split(), ["O", "B-PER", "I-PER", "X"] * 200)
        )
    list(parse_conll(io.StringIO(text).readlines(), "<fuzz>"))


TARGETS = {
    "course": fuzz_course,
    "step": fuzz_step,
    "models": fuzz_models,
    "load": fuzz_load,
    "resume": fuzz_resume,
    "conll": fuzz_conll,
    "interop": fuzz_interop,
}


def raised_by_crnn(exc):
    """Whether crnn's own code raised exc (its last frame is in the crnn package): an
    error of numpy's or Python's that escapes crnn is no clear message."""
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return "crnn" in Path(tb.tb_frame.f_code.co_filename).parts


def run_one(target, data):
    """Run target on the input data: True if it returned, False if crnn refused it with
    an allowed exception; any other propagates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's warnings on NaN and overflow
        b = Bytes(data)
        try:
            TARGETS[target](b)
        except ALLOWED as exc:
            if not raised_by_crnn(exc):
                raise
            return False
        except KeyError as exc:
            if not (exc.args and exc.args[0] in b.dropped and raised_by_crnn(exc)):
                raise
            return False
        return True


def inputs(seed, target):
    """The random inputs of a run, endlessly: the same seed gives the same stream."""
    rng = np.random.default_rng([seed, sorted(TARGETS).index(target)])
    while True:
        yield rng.bytes(int(rng.integers(16, INPUT_BYTES)))


def fuzz(target, seconds=None, runs=None, seed=0, timeout=60, last="fuzz-last-input.bin"):
    """Run target on random inputs for seconds (or runs inputs); returns the count run and
    the count that returned (the others raised an allowed exception). A finding raises
    (an exception) or ends the process (a crash, a hang)."""
    load_crnn()
    fd = os.open(last, os.O_WRONLY | os.O_CREAT, 0o644)
    stop = None if seconds is None else time.monotonic() + seconds
    count = returned = 0
    try:
        for data in inputs(seed, target):
            if (runs is not None and count >= runs) or (
                stop is not None and time.monotonic() > stop
            ):
                break
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            faulthandler.dump_traceback_later(timeout, exit=True, file=sys.__stderr__)
            returned += run_one(target, data)
            count += 1
    finally:
        faulthandler.cancel_dump_traceback_later()
        os.close(fd)
    return count, returned


def fuzz_atheris(target, seconds, timeout):
    """Coverage-guided: atheris chooses the bytes, instrumenting crnn's Python code."""
    import atheris

    load_crnn(instrument=True)
    argv = [
        sys.argv[0],
        f"-max_total_time={seconds}",
        f"-timeout={timeout}",
        f"-max_len={INPUT_BYTES}",
    ]
    atheris.Setup(argv, lambda data: run_one(target, data))
    atheris.Fuzz()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("target", choices=[*TARGETS, "all"])
    parser.add_argument("--seconds", type=float, default=None, help="time per target")
    parser.add_argument("--runs", type=int, default=None, help="inputs per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=60, help="seconds one input may run")
    parser.add_argument("--atheris", action="store_true", help="coverage-guided, with atheris")
    parser.add_argument("--replay", metavar="FILE", help="run the input saved in FILE")
    parser.add_argument(
        "--last",
        default="fuzz-last-input.bin",
        help="where the input being run is kept (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.atheris and args.target == "all":
        parser.error("--atheris runs one target (libFuzzer ends the process): name it")
    faulthandler.enable(sys.__stderr__)  # a crash prints the Python stack
    targets = list(TARGETS) if args.target == "all" else [args.target]
    if args.replay:
        load_crnn()
        with open(args.replay, "rb") as f:
            data = f.read()
        for target in targets:
            run_one(target, data)
        print(f"{args.replay}: passes")
        return 0
    if args.seconds is None and args.runs is None:
        args.seconds = 60
    for target in targets:
        if args.atheris:
            fuzz_atheris(target, int(args.seconds or 60), args.timeout)
            continue
        start = time.monotonic()
        try:
            count, returned = fuzz(
                target, args.seconds, args.runs, args.seed, args.timeout, args.last
            )
        except Exception:
            traceback.print_exc()
            print(
                f"{target}: finding; its input is in {args.last} "
                f"(python tools/fuzz.py {target} --replay {args.last})",
                file=sys.stderr,
            )
            return 1
        print(
            f"{target}: {count} inputs in {time.monotonic() - start:.1f} s ({returned} "
            f"returned, {count - returned} refused), no finding"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
