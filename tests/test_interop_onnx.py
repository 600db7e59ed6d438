"""crnn.interop's ONNX converters, from_onnx and to_onnx.

- The committed fixtures (tests/data/interop/onnx/, written by
  tools/make_onnx_fixtures.py): graphs exported by torch.onnx.export and graphs built
  node by node, with what onnxruntime (or, where onnxruntime has no kernel: float64 and
  layout=1, onnx's reference evaluator) gave for an input. They need onnx only.
- Live: crnn models of every cell and form through to_onnx, run by onnxruntime (float32,
  skipped without it) or by onnx's reference evaluator (float64, for which onnxruntime
  has no recurrent kernels), and back through from_onnx.
- Bad input: every feature crnn does not compute, and damaged files, refused naming it.
"""

import itertools
import json
import pathlib

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from crnn.interop import TOLERANCE, ConversionError, ParityError, from_onnx, to_onnx  # noqa: E402
from crnn.interop._network import Network, build, describe  # noqa: E402
from crnn.layers import LayerStack, init_stack, layer_names  # noqa: E402
from crnn.models import SequenceClassifier, SequenceTagger  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data" / "interop" / "onnx"
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
ELEM = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}


# --- graphs built node by node, and onnx's reference evaluator (shared with the tool) ---


def recurrent_graph(
    op,
    directions,
    *,
    head="tagger",
    layout=0,
    lens=False,
    dtype=np.float32,
    attrs=None,
    n_x=3,
    n_a=4,
    n_y=3,
    seed=0,
    opset=14,
):
    """An ONNX model of one `op` node per layer, directions[k] the k-th layer's, random
    weights; between the layers Y's directions are merged into the features (layout 0:
    Transpose and Reshape as PyTorch's exporter writes them; layout 1: Reshape).

    head -- "tagger": proba = Softmax(MatMul + Add) at every step; "classifier": proba
            (m, n_y) = Softmax(Gemm) of the top layer's Y_h; None: the top layer's y
    lens -- True for a graph input "sequence_lens" read by every node
    attrs -- more attributes of every recurrent node ("activations" of one direction,
             repeated for a bidirectional node)
    """
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    nodes, inits = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    merged = init("merged", np.array([0, 0, -1], np.int64))
    inp, width, top = "x", n_x, len(directions) - 1
    for k, direction in enumerate(directions):
        D, G = 1 + (direction == "bidirectional"), GATES[op]
        ins = [
            inp,
            init(f"W{k}", rng.uniform(-0.7, 0.7, (D, G * n_a, width)).astype(dtype)),
            init(f"R{k}", rng.uniform(-0.7, 0.7, (D, G * n_a, n_a)).astype(dtype)),
            init(f"B{k}", rng.uniform(-0.5, 0.5, (D, 2 * G * n_a)).astype(dtype)),
        ]
        if lens:
            ins.append("sequence_lens")
        node_attrs = {"hidden_size": n_a, "direction": direction, **(attrs or {})}
        if "activations" in node_attrs:
            node_attrs["activations"] = list(node_attrs["activations"]) * D
        if layout:
            node_attrs["layout"] = 1
        nodes.append(
            helper.make_node(op, ins, [f"Y{k}", f"Y_h{k}"], name=f"layer{k}", **node_attrs)
        )
        out = "y" if k == top and head is None else f"out{k}"
        if layout:
            nodes.append(helper.make_node("Reshape", [f"Y{k}", merged], [out]))
        else:
            nodes.append(helper.make_node("Transpose", [f"Y{k}"], [f"Yt{k}"], perm=[0, 2, 1, 3]))
            nodes.append(helper.make_node("Reshape", [f"Yt{k}", merged], [out]))
        inp, width = out, D * n_a
    steps = ["m", "T"] if layout else ["T", "m"]
    if head == "tagger":
        W = init("Wy", rng.uniform(-1, 1, (width, n_y)).astype(dtype))
        b = init("by", rng.uniform(-0.5, 0.5, n_y).astype(dtype))
        nodes.append(helper.make_node("MatMul", [inp, W], ["scores"]))
        nodes.append(helper.make_node("Add", ["scores", b], ["logits"]))
        nodes.append(helper.make_node("Softmax", ["logits"], ["proba"], axis=-1))
        output = helper.make_tensor_value_info("proba", ELEM[dtype], [*steps, n_y])
    elif head == "classifier":
        rows = init("rows", np.array([0, -1], np.int64))
        last = f"Y_h{top}"
        if not layout:
            nodes.append(helper.make_node("Transpose", [last], ["Y_h_t"], perm=[1, 0, 2]))
            last = "Y_h_t"
        nodes.append(helper.make_node("Reshape", [last, rows], ["states"]))
        W = init("Wy", rng.uniform(-1, 1, (n_y, width)).astype(dtype))
        b = init("by", rng.uniform(-0.5, 0.5, n_y).astype(dtype))
        nodes.append(helper.make_node("Gemm", ["states", W, b], ["logits"], transB=1))
        nodes.append(helper.make_node("Softmax", ["logits"], ["proba"], axis=-1))
        output = helper.make_tensor_value_info("proba", ELEM[dtype], ["m", n_y])
    else:
        output = helper.make_tensor_value_info("y", ELEM[dtype], [*steps, width])
    inputs = [helper.make_tensor_value_info("x", ELEM[dtype], [*steps, n_x])]
    if lens:
        inputs.append(helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, ["m"]))
    graph = helper.make_graph(nodes, f"{op}_graph", inputs, [output], inits)
    opsets = [helper.make_opsetid("", opset)]
    return helper.make_model(
        graph, opset_imports=opsets, ir_version=helper.find_min_ir_version_for(opsets)
    )


def reference_run(model, x, lengths=None, batch_axis=1):
    """The first output onnx's reference evaluator (numpy) gives for x, the RNN's Relu
    added to it; with lengths (which it does not read), each sequence alone on its own
    steps: what sequence_lens means. batch_axis -- the sequences' axis of x and of a
    3-D output."""
    from onnx.reference import ReferenceEvaluator
    from onnx.reference.ops.op_rnn import CommonRNN

    class RNN(CommonRNN):
        op_domain = ""

        def choose_act(self, name, alpha, beta):
            if name.lower() == "relu":
                return lambda z: np.maximum(z, 0)
            return super().choose_act(name, alpha, beta)

    session = ReferenceEvaluator(model, new_ops=[RNN])
    names = [i.name for i in model.graph.input]

    def run(xs, ls):
        feeds = {"x": xs}
        if "sequence_lens" in names:
            feeds["sequence_lens"] = np.asarray(ls, np.int32)
        return session.run(None, feeds)[0]

    m = x.shape[batch_axis]
    out = run(x, [x.shape[1 - batch_axis]] * m)
    if lengths is None:
        return out
    out = np.zeros_like(out)
    for i, L in enumerate(lengths):
        one = np.take(x, [i], axis=batch_axis)
        one = one[:L] if batch_axis == 1 else one[:, :L]
        got = run(one, [L])
        if out.ndim == 2:
            out[i] = got[0]
        elif batch_axis == 1:
            out[:L, i] = got[:, 0]
        else:
            out[i, :L] = got[0]
    return out


# --- crnn's side ------------------------------------------------------------------------


def crnn_outputs(model, x, lengths=None, batch_first=False):
    """crnn's outputs for x in a graph's layout, in that layout."""
    course = np.asarray(x).transpose((2, 0, 1) if batch_first else (2, 1, 0))
    if isinstance(model, LayerStack):
        dtype = next(iter(model.parameters["layer0"].values())).dtype
        out = model.forward(course.astype(dtype), lengths=lengths)
    else:
        out = model.predict_proba(course, lengths=lengths)
    return out.T if out.ndim == 2 else out.transpose((1, 2, 0) if batch_first else (2, 1, 0))


def assert_agree(ours, theirs, lengths=None, batch_first=False, tol=None):
    """|ours - theirs| <= tol at every step within each sequence's length."""
    assert ours.shape == theirs.shape
    diff = np.abs(ours.astype(np.float64) - theirs)
    if lengths is not None and diff.ndim == 3:
        for i, L in enumerate(lengths):
            if batch_first:
                diff[i, L:] = 0
            else:
                diff[L:, i] = 0
    tol = TOLERANCE[np.dtype(ours.dtype)] if tol is None else tol
    assert np.max(diff) <= tol, f"differ by {np.max(diff):.3g} > {tol:g}"


def random_model(cell, options, num_layers, bidirectional, dtype, kind, merge="concat", seed=0):
    """A crnn model with random weights and biases: "stack" (a LayerStack), "tagger" or
    "classifier" (pooling="last")."""
    p = init_stack(
        3,
        4,
        3,
        cell=cell,
        num_layers=num_layers,
        bidirectional=bidirectional,
        merge=merge,
        seed=seed,
        dtype=dtype,
        **options,
    )
    rng = np.random.default_rng(seed + 1)
    layers = [
        {k: (v + rng.uniform(-0.3, 0.3, v.shape)).astype(dtype) for k, v in p[name].items()}
        for name in layer_names(num_layers, bidirectional)
    ]
    head = None
    if kind != "stack":
        head = (p["Wy"] * 3, rng.uniform(-0.5, 0.5, p["Wy"].shape[0]).astype(dtype))
    pooling = "last" if kind == "classifier" else None
    return build(Network(cell, options, layers, bidirectional, merge, head, pooling))


def assert_same_parameters(a, b):
    """Two crnn models hold the same weights, bit for bit."""
    assert type(a) is type(b)
    na, nb = describe(a), describe(b)
    assert (na.cell, na.bidirectional, na.merge, na.pooling) == (
        nb.cell,
        nb.bidirectional,
        nb.merge,
        nb.pooling,
    )
    assert na.options.get("reset_after", False) == nb.options.get("reset_after", False)
    assert na.options.get("activation", "tanh") == nb.options.get("activation", "tanh")
    assert len(na.layers) == len(nb.layers)
    for la, lb in zip(na.layers, nb.layers):
        assert sorted(la) == sorted(lb)
        for key in la:
            assert la[key].dtype == lb[key].dtype
            np.testing.assert_array_equal(la[key], lb[key], err_msg=key)
    assert (na.head is None) == (nb.head is None)
    if na.head is not None:
        for u, v in zip(na.head, nb.head):
            np.testing.assert_array_equal(u, v)


# --- the committed fixtures --------------------------------------------------------------


def _cases():
    with np.load(DATA / "onnx_cases.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    manifest = json.loads(str(arrays.pop("manifest")))
    for name, meta in manifest.items():
        meta["x"] = arrays[f"{name}/x"]
        meta["outputs"] = arrays[f"{name}/outputs"]
        meta["lengths"] = arrays.get(f"{name}/lengths")
    return manifest


# (absent only while tools/make_onnx_fixtures.py, which imports this file, writes it)
CASES = _cases() if (DATA / "onnx_cases.npz").exists() else {}


def _given(case):
    given = (case["x"], case["outputs"])
    return given if case["lengths"] is None else (*given, case["lengths"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_fixture_imports_and_passes_verify(name):
    case = CASES[name]
    model = from_onnx(DATA / f"{name}.onnx", verify=_given(case))
    assert type(model).__name__ == case["kind"]
    dtype = np.dtype(case["dtype"])
    ours = crnn_outputs(model, case["x"], case["lengths"], case["batch_first"])
    assert ours.dtype == dtype
    # the explicit comparison, beside verify's
    assert_agree(
        ours,
        case["outputs"],
        case["lengths"],
        case["batch_first"],
        tol={np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}[dtype],
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_fixture_with_a_corrupted_weight_fails_verify(name):
    case = CASES[name]
    model = onnx.load(str(DATA / f"{name}.onnx"))
    node = next(n for n in model.graph.node if n.op_type in GATES)
    w = next(t for t in model.graph.initializer if t.name == node.input[1])
    arr = numpy_helper.to_array(w).copy()
    arr.flat[0] += 0.5
    w.CopyFrom(numpy_helper.from_array(arr, w.name))
    with pytest.raises(ParityError):
        from_onnx(model, verify=_given(case))


def test_the_fixtures_cover_what_they_claim():
    assert CASES, f"no fixtures in {DATA}: run tools/make_onnx_fixtures.py"
    sources = {case["source"] for case in CASES.values()}
    assert {"onnxruntime", "onnx.reference"} <= sources
    ops = set()
    for name in CASES:
        model = onnx.load(str(DATA / f"{name}.onnx"))
        for node in model.graph.node:
            if node.op_type in GATES:
                attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                ops.add((node.op_type, "direction", attrs.get("direction", b"forward")))
                ops.add((node.op_type, "layout", attrs.get("layout", 0)))
                ops.add(("lens", len(node.input) > 4 and bool(node.input[4])))
                if node.op_type == "GRU":
                    ops.add(("lbr", attrs.get("linear_before_reset", 0)))
                if node.op_type == "RNN":
                    ops.add(("act", next(iter(attrs.get("activations", [b"Tanh"]))).lower()))
    for want in [
        ("RNN", "direction", b"reverse"),
        ("LSTM", "direction", b"bidirectional"),
        ("GRU", "direction", b"bidirectional"),
        ("GRU", "layout", 1),
        ("LSTM", "layout", 1),
        ("lens", True),
        ("lbr", 0),
        ("lbr", 1),
        ("act", b"relu"),
        ("act", b"tanh"),
    ]:
        assert want in ops, want
    assert {np.dtype(c["dtype"]) for c in CASES.values()} == {
        np.dtype(np.float32),
        np.dtype(np.float64),
    }
    size = sum(p.stat().st_size for p in DATA.iterdir())
    assert size < 300_000


# --- live: crnn -> ONNX -> onnxruntime, and back -----------------------------------------

CELLS = [
    ("rnn", {"activation": "tanh"}),
    ("rnn", {"activation": "relu"}),
    ("lstm", {}),
    ("gru", {"reset_after": True}),
    ("gru", {"reset_after": False}),
]
CELL_IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru-reset_after", "gru-lecture"]


def _run(graph, x, lengths=None):
    """onnxruntime's output for float32; onnx's reference evaluator for float64, which
    onnxruntime's recurrent kernels do not compute."""
    if x.dtype == np.float64:
        return reference_run(graph, x, lengths)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"x": x}
    if lengths is not None:
        feeds["sequence_lens"] = np.asarray(lengths, np.int32)
    return session.run(None, feeds)[0]


@pytest.mark.parametrize(
    ("cell", "num_layers", "bidirectional", "dtype", "kind"),
    [
        pytest.param(
            c, L, bi, dt, kind, id=f"{CELL_IDS[c]}-{L}-{'bi' if bi else 'uni'}-{dt.__name__}-{kind}"
        )
        for c, L, bi, dt, kind in itertools.product(
            range(len(CELLS)),
            [1, 2],
            [False, True],
            [np.float32, np.float64],
            ["stack", "tagger", "classifier"],
        )
    ],
)
def test_to_onnx_computes_crnn_s_outputs_and_reads_back(
    cell, num_layers, bidirectional, dtype, kind
):
    name, options = CELLS[cell]
    model = random_model(name, options, num_layers, bidirectional, dtype, kind, seed=cell)
    graph = to_onnx(model)
    x = np.random.default_rng(7).standard_normal((5, 2, 3)).astype(dtype)
    theirs = _run(graph, x)
    assert theirs.dtype == dtype
    assert_agree(crnn_outputs(model, x), theirs)
    back = from_onnx(graph, verify=(x, theirs))
    assert_same_parameters(model, back)


@pytest.mark.parametrize("kind", ["stack", "tagger", "classifier"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", range(len(CELLS)), ids=CELL_IDS)
def test_to_onnx_with_sequence_lens(cell, bidirectional, kind):
    pytest.importorskip("onnxruntime")
    name, options = CELLS[cell]
    model = random_model(name, options, 2, bidirectional, np.float32, kind, seed=10 + cell)
    graph = to_onnx(model, sequence_lens=True)
    x = np.random.default_rng(8).standard_normal((6, 3, 3)).astype(np.float32)
    lengths = np.array([6, 2, 4])
    theirs = _run(graph, x, lengths)
    assert_agree(crnn_outputs(model, x, lengths), theirs, lengths)
    back = from_onnx(graph, verify=(x, theirs, lengths))
    assert_same_parameters(model, back)
    # the steps past a length count: without lengths, crnn's outputs are not the graph's
    with pytest.raises(ParityError):
        from_onnx(graph, verify=(x, theirs))


def test_a_stack_of_summed_directions_round_trips():
    pytest.importorskip("onnxruntime")
    model = random_model("lstm", {}, 2, True, np.float32, "stack", merge="sum")
    graph = to_onnx(model)
    assert "ReduceSum" in {n.op_type for n in graph.graph.node}
    x = np.random.default_rng(9).standard_normal((4, 2, 3)).astype(np.float32)
    theirs = _run(graph, x)
    assert theirs.shape == (4, 2, 4)
    assert_agree(crnn_outputs(model, x), theirs)
    assert_same_parameters(model, from_onnx(graph, verify=(x, theirs)))
    # the directions summed by an Add of each one's states instead
    nodes = graph.graph.node
    for k, node in enumerate(nodes):
        if node.op_type == "ReduceSum":
            y, out = node.input[0], node.output[0]
            nodes.remove(node)
            nodes.insert(k, helper.make_node("Add", [f"{y}0", f"{y}1"], [out]))
            for d in (1, 0):
                index = helper.make_node("Constant", [], [f"{y}i{d}"], value_int=d)
                gather = helper.make_node("Gather", [y, f"{y}i{d}"], [f"{y}{d}"], axis=1)
                nodes.insert(k, gather)
                nodes.insert(k, index)
    assert "ReduceSum" not in {n.op_type for n in nodes}
    onnx.checker.check_model(graph)
    np.testing.assert_array_equal(_run(graph, x), theirs)
    assert_same_parameters(model, from_onnx(graph, verify=(x, theirs)))


def test_to_onnx_writes_a_checked_file_atomically(tmp_path):
    model = random_model("gru", {"reset_after": True}, 2, True, np.float32, "tagger")
    path = tmp_path / "tagger.onnx"
    path.write_bytes(b"old")
    graph = to_onnx(model, path, opset=17)
    assert path.read_bytes() == graph.SerializeToString()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tagger.onnx"]
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert graph.opset_import[0].version == 17
    assert [i.name for i in graph.graph.input] == ["x"]
    assert [o.name for o in graph.graph.output] == ["proba"]
    assert [n.op_type for n in graph.graph.node].count("GRU") == 2
    assert_same_parameters(model, from_onnx(path))
    # a folder that does not exist: nothing is left behind
    with pytest.raises(OSError):
        to_onnx(model, tmp_path / "missing" / "tagger.onnx")


def test_to_onnx_refuses_what_it_does_not_write():
    stack = random_model("rnn", {"activation": "tanh"}, 1, False, np.float32, "stack")
    with pytest.raises(ValueError, match="opset"):
        to_onnx(stack, opset=13)
    with pytest.raises(ValueError, match="sequence_lens"):
        to_onnx(stack, sequence_lens="yes")
    with pytest.raises(TypeError, match="LayerStack"):
        to_onnx(object())
    mean = random_model("rnn", {}, 1, False, np.float32, "classifier")
    mean.pooling = "mean"
    with pytest.raises(ConversionError, match="pooling"):
        to_onnx(mean)


# --- graphs built node by node: what PyTorch does not export -------------------------------


@pytest.mark.parametrize(
    "directions",
    [
        ["reverse"],
        ["forward", "reverse"],
        ["reverse", "bidirectional"],
        ["bidirectional", "reverse"],
        ["bidirectional"] * 2,
    ],
)
@pytest.mark.parametrize("head", [None, "tagger", "classifier"])
@pytest.mark.parametrize(
    ("op", "attrs"),
    [
        ("RNN", {}),
        ("RNN", {"activations": ["Relu"]}),
        ("LSTM", {}),
        ("GRU", {"linear_before_reset": 0}),
        ("GRU", {"linear_before_reset": 1}),
    ],
    ids=["rnn-tanh", "rnn-relu", "lstm", "gru-lbr0", "gru-lbr1"],
)
def test_layers_of_one_direction_each(op, attrs, directions, head):
    ort = pytest.importorskip("onnxruntime")
    graph = recurrent_graph(op, directions, head=head, attrs=attrs)
    x = np.random.default_rng(3).standard_normal((5, 2, 3)).astype(np.float32)
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"x": x})[0]
    if head is None and directions[-1] != "bidirectional" and "bidirectional" in directions:
        # a forward (or reverse) top layer over a bidirectional one: crnn's stack of
        # concatenated directions gives both
        with pytest.raises(ConversionError, match="both directions"):
            from_onnx(graph)
        return
    model = from_onnx(graph, verify=(x, theirs))
    assert_agree(crnn_outputs(model, x), theirs)


def test_two_nodes_side_by_side_are_not_a_bidirectional_layer():
    graph = recurrent_graph("RNN", ["forward"], head=None)
    nodes = graph.graph.node
    reverse = onnx.NodeProto()
    reverse.CopyFrom(nodes[0])
    reverse.name = "backward"
    reverse.output[:] = ["Yr", "Y_hr"]
    for a in reverse.attribute:
        if a.name == "direction":
            a.s = b"reverse"
    nodes.insert(1, reverse)
    nodes.extend(
        [
            helper.make_node("Transpose", ["Yr"], ["Yrt"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", ["Yrt", "merged"], ["outr"]),
            helper.make_node("Concat", ["y", "outr"], ["both"], axis=2),
        ]
    )
    graph.graph.output[0].name = "both"
    with pytest.raises(ConversionError, match=r"several layers.*'backward'"):
        from_onnx(graph)


def test_layout_1_and_its_batch_first_verify():
    graph = recurrent_graph("LSTM", ["bidirectional", "forward"], layout=1, dtype=np.float64)
    x = np.random.default_rng(4).standard_normal((2, 5, 3))
    theirs = reference_run(graph, x, batch_axis=0)
    model = from_onnx(graph, verify=(x, theirs))
    assert isinstance(model, SequenceTagger)
    assert_agree(crnn_outputs(model, x, batch_first=True), theirs, tol=1e-10)
    with pytest.raises((ParityError, ValueError)):
        from_onnx(graph, verify=(x.transpose(1, 0, 2), theirs.transpose(1, 0, 2)))


def test_explicit_default_activations_and_relu():
    x = np.random.default_rng(5).standard_normal((5, 2, 3))
    for op, acts in [
        ("RNN", ["Tanh"]),
        ("RNN", ["Relu"]),
        ("LSTM", ["Sigmoid", "Tanh", "Tanh"]),
        ("GRU", ["Sigmoid", "Tanh"]),
    ]:
        graph = recurrent_graph(
            op, ["bidirectional"], dtype=np.float64, attrs={"activations": acts}
        )
        model = from_onnx(graph, verify=(x, reference_run(graph, x)))
        if op == "RNN":
            assert model._cell().cell.options.get("activation", "tanh") == acts[0].lower()


# --- bad input ---------------------------------------------------------------------------


def _node(graph, op="LSTM"):
    return next(n for n in graph.graph.node if n.op_type == op)


def _set(node, **attrs):
    for name, value in attrs.items():
        for a in list(node.attribute):
            if a.name == name:
                node.attribute.remove(a)
        node.attribute.append(helper.make_attribute(name, value))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda g: _set(_node(g), clip=3.0), "'clip'"),
        (lambda g: _set(_node(g), input_forget=1), "'input_forget'"),
        (lambda g: _set(_node(g), activations=["Sigmoid", "Relu", "Tanh"]), "'activations'"),
        (lambda g: _set(_node(g), activations=["HardSigmoid", "Tanh", "Tanh"]), "'activations'"),
        (lambda g: _set(_node(g), activation_alpha=[0.2]), "'activation_alpha'"),
        (lambda g: _set(_node(g), activation_beta=[0.5]), "'activation_beta'"),
        (lambda g: _set(_node(g), hidden_size=5), "'hidden_size'"),
        (lambda g: _set(_node(g), direction="sideways"), "'direction'"),
        (lambda g: _set(_node(g), layout=2), "'layout'"),
        (lambda g: _set(_node(g), peephole=1), "'peephole'"),
        (lambda g: _with_input(g, "P", np.ones((1, 12), np.float32)), "'P'.*peepholes"),
        (lambda g: _with_input(g, "initial_h", np.ones((1, 2, 4), np.float32)), "'initial_h'"),
        (lambda g: _with_input(g, "initial_c", np.ones((1, 2, 4), np.float32)), "'initial_c'"),
        (lambda g: _with_graph_input(g, "initial_h"), "'initial_h'.*graph input 'h0'"),
        (lambda g: _drop_initializer(g, "R0"), "R.*'R0'.*missing initializer"),
        (lambda g: _reshape_initializer(g, "W0", (1, 16, 4)), r"W \('W0'\).*\(1, 16, 3\)"),
        (lambda g: _reshape_initializer(g, "R0", (1, 12, 4)), r"R \('R0'\)"),
        (lambda g: _reshape_initializer(g, "B0", (1, 16)), r"B \('B0'\).*\(1, 32\)"),
        (lambda g: _reshape_initializer(g, "Wy", (3, 4)), "MatMul"),
        (lambda g: _external(g, "W0"), "'W0'.*external"),
        (lambda g: _bad_dims(g, "R0"), "'R0'.*declares shape"),
        (lambda g: _replace_softmax(g, "LogSoftmax"), "LogSoftmax"),
        (lambda g: _replace_softmax(g, None), "logits"),
        (lambda g: _set(g.graph.node[-1], axis=1), "Softmax on axis 1"),
    ],
)
def test_a_graph_crnn_does_not_compute_is_refused_naming_it(change, match):
    graph = recurrent_graph("LSTM", ["forward"], lens=False)
    change(graph)
    with pytest.raises(ConversionError, match=match):
        from_onnx(graph)


def _with_input(graph, role, value):
    node = _node(graph)
    order = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
    k = order.index(role)
    while len(node.input) <= k:
        node.input.append("")
    node.input[k] = role
    graph.graph.initializer.append(numpy_helper.from_array(value, role))


def _with_graph_input(graph, role):
    node = _node(graph)
    while len(node.input) <= 5:
        node.input.append("")
    node.input[5] = "h0"
    graph.graph.input.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, "m", 4]))


def _drop_initializer(graph, name):
    inits = graph.graph.initializer
    inits.remove(next(t for t in inits if t.name == name))


def _reshape_initializer(graph, name, shape):
    t = next(t for t in graph.graph.initializer if t.name == name)
    t.CopyFrom(numpy_helper.from_array(np.zeros(shape, np.float32), name))


def _external(graph, name):
    t = next(t for t in graph.graph.initializer if t.name == name)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", "/etc/passwd"


def _bad_dims(graph, name):
    t = next(t for t in graph.graph.initializer if t.name == name)
    t.dims[1] = 10**6


def _replace_softmax(graph, op):
    nodes = graph.graph.node
    softmax = nodes[-1]
    if op is None:
        nodes.remove(softmax)
        graph.graph.output[0].name = "logits"
    else:
        softmax.op_type = op


def test_zero_initial_states_are_accepted():
    graph = recurrent_graph("LSTM", ["forward"], dtype=np.float64)
    x = np.random.default_rng(6).standard_normal((5, 2, 3))
    expected = reference_run(graph, x)
    _with_input(graph, "initial_h", np.zeros((1, 2, 4)))
    _with_input(graph, "initial_c", np.zeros((1, 2, 4)))
    from_onnx(graph, verify=(x, expected))


def test_unlike_layers_and_ops_crnn_does_not_follow_are_refused():
    graph = recurrent_graph("GRU", ["forward", "forward"], head=None)
    _set(_node(graph, "GRU"), linear_before_reset=1)  # the bottom layer only
    with pytest.raises(ConversionError, match=r"'layer1'.*differs from.*'layer0'"):
        from_onnx(graph)
    graph = recurrent_graph("RNN", ["forward"], head="tagger")
    nodes = graph.graph.node
    k = next(i for i, n in enumerate(nodes) if n.op_type == "MatMul")
    nodes[k].input[0] = "relu"
    nodes.insert(k, helper.make_node("Relu", ["out0"], ["relu"], name="between"))
    with pytest.raises(ConversionError, match="'between' \\(Relu\\)"):
        from_onnx(graph)
    graph = recurrent_graph("RNN", ["forward"], head="tagger")
    graph.graph.node[0].domain = "com.example"
    with pytest.raises(ConversionError, match=r"com\.example"):
        from_onnx(graph)


def test_sequence_lens_must_be_a_graph_input_and_lengths_count():
    graph = recurrent_graph("RNN", ["bidirectional"], lens=True, head="classifier")
    x = np.random.default_rng(2).standard_normal((5, 3, 3)).astype(np.float32)
    lengths = np.array([5, 1, 3])
    expected = reference_run(graph, x, lengths)
    model = from_onnx(graph, verify=(x, expected, lengths))
    assert isinstance(model, SequenceClassifier)
    graph.graph.initializer.append(
        numpy_helper.from_array(np.array([5, 5], np.int32), "sequence_lens")
    )
    graph.graph.input.pop()
    with pytest.raises(ConversionError, match=r"'sequence_lens'.*graph input"):
        from_onnx(graph)


def test_damaged_and_oversized_files_are_refused(tmp_path):
    good = recurrent_graph("GRU", ["forward"]).SerializeToString()
    path = tmp_path / "m.onnx"
    for data in (good[: len(good) // 2], b"\x00garbage\xff" * 50, b""):
        path.write_bytes(data)
        with pytest.raises(ConversionError):
            from_onnx(path)
    path.write_bytes(good)
    with pytest.raises(ConversionError, match="max_bytes"):
        from_onnx(path, max_bytes=len(good) - 1)
    assert isinstance(from_onnx(path, max_bytes=len(good)), SequenceTagger)
    with pytest.raises(ValueError, match="max_bytes"):
        from_onnx(path, max_bytes=0)
    with pytest.raises(TypeError, match="path_or_model"):
        from_onnx(3.5)
    with pytest.raises(ConversionError, match="no output 'nope'"):
        from_onnx(path, output="nope")


def test_dtype_converts_the_weights():
    graph = recurrent_graph("LSTM", ["forward"], dtype=np.float32)
    model = from_onnx(graph, dtype=np.float64)
    assert np.dtype(model.dtype) == np.float64


def test_weights_of_constant_nodes_and_heads_without_a_bias():
    x = np.random.default_rng(11).standard_normal((5, 2, 3))
    graph = recurrent_graph("GRU", ["bidirectional"], dtype=np.float64)
    inits = graph.graph.initializer
    w = next(t for t in inits if t.name == "W0")
    inits.remove(w)
    graph.graph.node.insert(0, helper.make_node("Constant", [], ["W0"], value=w))
    # MatMul then Softmax, no Add
    nodes = graph.graph.node
    add = next(n for n in nodes if n.op_type == "Add")
    next(n for n in nodes if n.op_type == "Softmax").input[0] = "scores"
    nodes.remove(add)
    model = from_onnx(graph, verify=(x, reference_run(graph, x)))
    np.testing.assert_array_equal(describe(model).head[1], 0)
    # Gemm without C
    graph = recurrent_graph("LSTM", ["forward"], head="classifier", dtype=np.float64)
    gemm = next(n for n in graph.graph.node if n.op_type == "Gemm")
    del gemm.input[2]
    model = from_onnx(graph, verify=(x, reference_run(graph, x)))
    assert isinstance(model, SequenceClassifier)


def test_output_names_another_graph_output():
    graph = recurrent_graph("LSTM", ["bidirectional"], head="tagger", dtype=np.float64)
    graph.graph.output.append(
        helper.make_tensor_value_info("out0", TensorProto.DOUBLE, ["T", "m", 8])
    )
    x = np.random.default_rng(12).standard_normal((5, 2, 3))
    states = reference_run(onnx.utils.Extractor(graph).extract_model(["x"], ["out0"]), x)
    stack = from_onnx(graph, output="out0", verify=(x, states))
    assert isinstance(stack, LayerStack) and stack.n_out == 8
    assert isinstance(from_onnx(graph), SequenceTagger)
