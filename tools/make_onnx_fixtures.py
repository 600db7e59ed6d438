"""Make tests/data/interop/onnx/: small ONNX graphs and what real runtimes give for
them, so that crnn.interop.from_onnx is checked in CI with onnx alone.

    python tools/make_onnx_fixtures.py      # needs torch, onnx and onnxruntime

Each case is <name>.onnx and, in onnx_cases.npz, <name>/x, <name>/outputs (and
<name>/lengths for a graph with sequence_lens), beside a JSON "manifest" of what each
case is. The graphs:

- exported by torch.onnx.export (the TorchScript exporter, dynamo=False: the dynamo one
  needs onnxscript) from nn.RNN, nn.LSTM and nn.GRU with an nn.Linear and a softmax;
  their outputs are onnxruntime's, checked against PyTorch's own;
- built node by node (tests/test_interop_onnx.py's recurrent_graph) for what PyTorch
  does not export: a reverse direction, layout=1, sequence_lens, the GRU's
  linear_before_reset=0, float64. onnxruntime gives the float32 layout=0 ones' outputs;
  it computes neither layout=1 nor float64 recurrent nodes, so onnx's reference
  evaluator gives those (each sequence alone on its own steps for sequence_lens, which
  the evaluator does not read), checked against onnxruntime on the same weights in
  float32 layout 0.
"""

import json
import pathlib
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_interop_onnx import recurrent_graph, reference_run  # noqa: E402

OUT = ROOT / "tests" / "data" / "interop" / "onnx"
T, M, N_X, N_A, N_Y = 5, 2, 3, 4, 3
LENGTHS = np.array([5, 3])


def ort_run(model, x, lengths=None):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"x": x}
    if lengths is not None:
        feeds["sequence_lens"] = np.asarray(lengths, np.int32)
    return session.run(None, feeds)[0]


def check(a, b, tol, what):
    """a and b agree within tol at the steps that count (NaN-safe)."""
    diff = float(np.max(np.abs(np.asarray(a, np.float64) - b)))
    if not diff <= tol:
        raise AssertionError(f"{what}: differ by {diff:.3g} > {tol:g}")


def valid(out, lengths, batch_first):
    """out with the steps past each length zeroed (for comparisons)."""
    out = np.array(out, copy=True)
    if lengths is not None and out.ndim == 3:
        for i, L in enumerate(lengths):
            if batch_first:
                out[i, L:] = 0
            else:
                out[L:, i] = 0
    return out


class Net(torch.nn.Module):
    """A recurrent module and a Linear: softmax at every step ("tagger"), of the last
    step ("last") or of h_n[-1] ("hn"), or the module's output ("stack")."""

    def __init__(self, kind, head, n_in=None, **kwargs):
        super().__init__()
        self.rnn = getattr(torch.nn, kind)(N_X, N_A, **kwargs)
        self.kind, self.head, self.batch_first = kind, head, kwargs.get("batch_first", False)
        width = N_A * (1 + kwargs.get("bidirectional", False))
        self.linear = torch.nn.Linear(n_in or width, N_Y)

    def forward(self, x):
        y, h = self.rnn(x)
        if self.kind == "LSTM":
            h = h[0]
        if self.head == "tagger":
            return torch.softmax(self.linear(y), -1)
        if self.head == "last":
            return torch.softmax(self.linear(y[:, -1] if self.batch_first else y[-1]), -1)
        if self.head == "hn":
            return torch.softmax(self.linear(h[-1]), -1)
        return y


def torch_case(name, seed, kind, head, n_in=None, **kwargs):
    torch.manual_seed(seed)
    net = Net(kind, head, n_in, **kwargs).eval()
    batch_first = kwargs.get("batch_first", False)
    x = torch.randn((M, T, N_X) if batch_first else (T, M, N_X))
    path = OUT / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (x,),
            str(path),
            dynamo=False,
            input_names=["x"],
            output_names=["out"],
            dynamic_axes={"x": {0: "d0", 1: "d1"}},
            opset_version=14,
        )
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    outputs = ort_run(model, x.numpy())
    with torch.no_grad():
        check(outputs, net(x).numpy(), 1e-5, f"{name}: onnxruntime against torch")
    kinds = {"tagger": "SequenceTagger", "stack": "LayerStack"}
    return {
        "model": None,
        "x": x.numpy(),
        "outputs": outputs,
        "lengths": None,
        "meta": {
            "kind": kinds.get(head, "SequenceClassifier"),
            "dtype": "float32",
            "batch_first": batch_first,
            "source": "onnxruntime",
            "about": f"torch.onnx.export of nn.{kind}({kwargs}) with a {head} head",
        },
    }


def built_case(name, op, directions, *, head, dtype=np.float32, layout=0, lens=False, **kw):
    seed = sum(map(ord, name))
    model = recurrent_graph(
        op, directions, head=head, layout=layout, lens=lens, dtype=dtype, seed=seed, **kw
    )
    onnx.checker.check_model(model, full_check=True)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((M, T, N_X) if layout else (T, M, N_X)).astype(dtype)
    lengths = LENGTHS if lens else None
    batch_first = bool(layout)
    # onnxruntime on the same weights in float32, layout 0
    twin = recurrent_graph(op, directions, head=head, lens=lens, dtype=np.float32, seed=seed, **kw)
    x32 = (x.transpose(1, 0, 2) if layout else x).astype(np.float32)
    ours = ort_run(twin, x32, lengths)
    if head != "classifier" and layout:
        ours = ours.transpose(1, 0, 2)
    if dtype == np.float32 and not layout:
        outputs, source = ours, "onnxruntime"
        ref = reference_run(model, x, lengths, batch_axis=1)
        check(valid(ref, lengths, False), valid(outputs, lengths, False), 1e-5, name)
    else:
        outputs = reference_run(model, x, lengths, batch_axis=0 if layout else 1)
        source = "onnx.reference"
        tol = 1e-5 if dtype == np.float32 else 1e-4  # float32 weights and products
        check(valid(outputs, lengths, batch_first), valid(ours, lengths, batch_first), tol, name)
    kinds = {"tagger": "SequenceTagger", "classifier": "SequenceClassifier", None: "LayerStack"}
    return {
        "model": model,
        "x": x,
        "outputs": outputs,
        "lengths": lengths,
        "meta": {
            "kind": kinds[head],
            "dtype": np.dtype(dtype).name,
            "batch_first": batch_first,
            "source": source,
            "about": f"{op} {directions} layout={layout} sequence_lens={lens} {kw}",
        },
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    cases = {
        "torch_lstm_bidirectional_tagger": torch_case(
            "torch_lstm_bidirectional_tagger", 1, "LSTM", "tagger", num_layers=2, bidirectional=True
        ),
        "torch_gru_batch_first_tagger": torch_case(
            "torch_gru_batch_first_tagger", 2, "GRU", "tagger", batch_first=True
        ),
        "torch_rnn_relu_stack": torch_case(
            "torch_rnn_relu_stack",
            3,
            "RNN",
            "stack",
            num_layers=2,
            nonlinearity="relu",
            batch_first=True,
        ),
        "torch_gru_hn_classifier": torch_case(
            "torch_gru_hn_classifier", 4, "GRU", "hn", n_in=N_A, num_layers=2, bidirectional=True
        ),
        "torch_lstm_last_step_classifier": torch_case(
            "torch_lstm_last_step_classifier", 5, "LSTM", "last", batch_first=True
        ),
        "rnn_reverse_tagger": built_case(
            "rnn_reverse_tagger",
            "RNN",
            ["reverse"],
            head="tagger",
            attrs={"activations": ["Tanh"]},
        ),
        "lstm_sequence_lens_tagger": built_case(
            "lstm_sequence_lens_tagger", "LSTM", ["bidirectional"] * 2, head="tagger", lens=True
        ),
        "gru_lecture_layout1_stack": built_case(
            "gru_lecture_layout1_stack",
            "GRU",
            ["bidirectional"],
            head=None,
            layout=1,
            attrs={"linear_before_reset": 0},
        ),
        "rnn_relu_forward_reverse_f64": built_case(
            "rnn_relu_forward_reverse_f64",
            "RNN",
            ["forward", "reverse"],
            head=None,
            dtype=np.float64,
            lens=True,
            attrs={"activations": ["Relu"]},
        ),
        "gru_sequence_lens_f64_tagger": built_case(
            "gru_sequence_lens_f64_tagger",
            "GRU",
            ["bidirectional"],
            head="tagger",
            dtype=np.float64,
            lens=True,
            attrs={"linear_before_reset": 1},
        ),
        "lstm_layout1_f64_classifier": built_case(
            "lstm_layout1_f64_classifier",
            "LSTM",
            ["forward", "forward"],
            head="classifier",
            dtype=np.float64,
            layout=1,
        ),
    }
    arrays, manifest = {}, {}
    for name, case in cases.items():
        if case["model"] is not None:
            onnx.save(case["model"], str(OUT / f"{name}.onnx"))
        arrays[f"{name}/x"] = case["x"]
        arrays[f"{name}/outputs"] = case["outputs"]
        if case["lengths"] is not None:
            arrays[f"{name}/lengths"] = case["lengths"]
        manifest[name] = case["meta"]
    arrays["manifest"] = np.array(json.dumps(manifest, indent=1, sort_keys=True))
    np.savez_compressed(OUT / "onnx_cases.npz", **arrays)
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(
        f"wrote {len(cases)} cases to {OUT} ({total} bytes) with torch {torch.__version__}, "
        f"onnx {onnx.__version__}, onnxruntime {ort.__version__}"
    )


if __name__ == "__main__":
    main()
