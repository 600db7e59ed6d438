"""ONNX graphs of RNN, LSTM and GRU nodes (with the MatMul or Gemm and Softmax that read
them), in and out.

An ONNX recurrent node holds one layer, both directions with ``direction=
"bidirectional"``: ``W`` (num_directions, G·n_a, n_in), ``R`` (num_directions, G·n_a,
n_a) and ``B`` (num_directions, 2·G·n_a), the input's biases then the recurrent ones,
gates stacked in ONNX's order (the LSTM's i, o, f, c; the GRU's z, r, h), which
``_TO_TORCH`` turns into PyTorch's (crnn._torch_layout). ``Y`` is (T_x, num_directions,
m, n_a) with ``layout=0``, (m, T_x, num_directions, n_a) with ``layout=1``; ``Y_h`` the
last states. Between layers a graph merges ``Y``'s directions into the features (Squeeze,
or Transpose and Reshape, as PyTorch's exporter writes it; ReduceSum or Add for a sum).

``from_onnx`` follows the graph from its inputs to its output, keeping track of what
every axis of every tensor holds (``_Sym``), and refuses what crnn does not compute,
naming the node. Nothing here runs a graph; onnx, the package, reads and writes the file
(``pip install crnn[onnx]``).
"""

import os

import numpy as np

from crnn._model_file import atomic_write
from crnn._torch_layout import from_crnn, gate_blocks, to_crnn
from crnn.interop._network import (
    ConversionError,
    Network,
    build,
    check_shape,
    describe,
    to_numpy,
    verify_given,
)
from crnn.models import DEFAULT_MAX_BYTES

__all__ = ["from_onnx", "to_onnx"]

_CELLS = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}
_OPS = {cell: op for op, cell in _CELLS.items()}
_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
#: ONNX's gate blocks in PyTorch's order (LSTM: i, f, c, o of i, o, f, c; GRU: r, z, h of
#: z, r, h), and PyTorch's in ONNX's
_TO_TORCH = {"RNN": (0,), "LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2)}
_TO_ONNX = {"RNN": (0,), "LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2)}
#: the activations each node computes by default, the only ones crnn computes (the RNN's
#: Relu too)
_ACTIVATIONS = {"RNN": ("tanh",), "LSTM": ("sigmoid", "tanh", "tanh"), "GRU": ("sigmoid", "tanh")}
_DIRECTIONS = {"forward": (0,), "reverse": (1,), "bidirectional": (0, 1)}
_INPUTS = {
    "RNN": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
    "LSTM": ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"),
    "GRU": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
}
_ATTRIBUTES = {
    "hidden_size",
    "direction",
    "layout",
    "activations",
    "activation_alpha",
    "activation_beta",
    "clip",
}
#: the ops through which an all-zero tensor stays all zero (initial states are computed
#: so by PyTorch's exporter: ConstantOfShape, then Slice)
_KEEP_ZERO = {
    "Identity",
    "Cast",
    "Slice",
    "Gather",
    "Reshape",
    "Squeeze",
    "Unsqueeze",
    "Transpose",
    "Expand",
    "Tile",
}
#: the float tensors crnn reads, by TensorProto.DataType, and the int ones
_FLOATS = {1: np.float32, 11: np.float64}
_INTS = {6: np.int32, 7: np.int64}


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "crnn.interop reads and writes ONNX files with the onnx package: "
            "pip install crnn[onnx] (or pip install onnx)"
        ) from None
    return onnx


# --- what a tensor of the graph holds -------------------------------------------------
#
# An axis is a tuple: ("T",) the steps, ("m",) the sequences, ("P", input, k) axis k of a
# graph input before a recurrent node tells which of T and m it is, ("D", blocks) the
# directions of a node's Y or Y_h, ("H", n_a) the hidden units beside it, ("F", blocks,
# width) the features. A block is a tuple of terms that the graph has summed, a term a
# (kind, layer, direction): kind "x" (the graph's input), "seq" (a layer's state at every
# step), "last" (the last state of a direction: Y_h, or a reverse direction's step 0), or
# "end" (a forward direction at the last step, its last state unless sequence_lens).


class _Bad:
    """A value crnn does not follow: the ConversionError to raise if the output needs it."""

    def __init__(self, error):
        self.error = error


class _Zero:
    """A tensor of zeros (an initial state)."""


_ZERO = _Zero()


class _Lens:
    """The graph input of the sequences' lengths."""

    def __init__(self, name):
        self.name = name


class _Sym:
    """A tensor of states: its axes (see above)."""

    def __init__(self, axes):
        self.axes = tuple(axes)

    def find(self, kind):
        return next((i for i, a in enumerate(self.axes) if a[0] == kind), None)


class _Head:
    """The output layer: logits, or their softmax with proba."""

    def __init__(self, axes, blocks, W, b=None, proba=False):
        self.axes, self.blocks, self.W, self.b, self.proba = tuple(axes), blocks, W, b, proba


class _Layer:
    """One recurrent node: its attributes, weights and what its X holds."""

    def __init__(self, label, op, dirs, n_a, weights, blocks, lens, options):
        self.label, self.op, self.dirs, self.n_a = label, op, dirs, n_a
        self.weights, self.blocks, self.lens, self.options = weights, blocks, lens, options


def _size(axis):
    """An axis's size: an int, or the axis itself for the steps and the sequences."""
    kind = axis[0]
    if kind == "D":
        return len(axis[1])
    if kind == "H":
        return axis[1]
    if kind == "F":
        return axis[2]
    return axis


def _shown(axes):
    """Axes for a message: [T, m, directions 2, features 8]."""
    names = {"T": "T", "m": "m", "P": "?", "D": "directions", "H": "n_a", "F": "features"}
    parts = [names[a[0]] + ("" if a[0] in "TmP" else f" {_size(a)}") for a in axes]
    return "[" + ", ".join(parts) + "]"


def _without_directions(axes, d, blocks):
    """axes without the directions' axis d, the hidden units' becoming features of blocks."""
    h = next(i for i, a in enumerate(axes) if a[0] == "H")
    n_a = axes[h][1]
    out = list(axes)
    out[h] = ("F", tuple(blocks), n_a * len(blocks))
    del out[d]
    return out


# --- reading the file ------------------------------------------------------------------


def _read(onnx, source, max_bytes):
    """The ModelProto of a path, bytes or a ModelProto, the file's size checked first."""
    if isinstance(source, onnx.ModelProto):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "the bytes given"
    else:
        try:
            path = os.fspath(source)
        except TypeError:
            raise TypeError(
                "path_or_model must be a path, the bytes of an ONNX file or an "
                f"onnx.ModelProto, got {type(source).__name__}"
            ) from None
        name = repr(os.fsdecode(path))
        size = os.stat(path).st_size
        if size > max_bytes:
            raise ConversionError(
                f"{name} holds {size} bytes, more than max_bytes={max_bytes}: pass a larger "
                "max_bytes= to read it"
            )
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ConversionError(f"{name} holds more than max_bytes={max_bytes} bytes")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError, or a RuntimeWarning turned error
        raise ConversionError(f"{name} is not an ONNX model: {exc}") from None
    if not model.HasField("graph") or not model.graph.node:
        raise ConversionError(f"{name} is not an ONNX model: it has no graph of nodes")
    return model


def _array(tensor, what):
    """The numpy array of a TensorProto stored in the file: float32, float64, int32 or
    int64, its declared shape checked against its data before anything is made of it."""
    if tensor.data_location == 1 or len(tensor.external_data):  # TensorProto.EXTERNAL
        raise ConversionError(
            f"{what} is stored in an external file: crnn reads only tensors held in the "
            "ONNX file itself"
        )
    if tensor.HasField("segment"):
        raise ConversionError(f"{what} is a segment of a tensor, which crnn does not read")
    dtype = _FLOATS.get(tensor.data_type) or _INTS.get(tensor.data_type)
    if dtype is None:
        raise ConversionError(
            f"{what} has ONNX data type {tensor.data_type}: crnn reads float32 and float64 "
            "weights (and int32, int64 shapes)"
        )
    dims = tuple(int(d) for d in tensor.dims)
    if any(d < 0 for d in dims):
        raise ConversionError(f"{what} has a negative dimension in its shape {list(dims)}")
    count = 1
    for d in dims:
        count *= d
    if tensor.raw_data:
        itemsize = np.dtype(dtype).itemsize
        if len(tensor.raw_data) != count * itemsize:
            raise ConversionError(
                f"{what} declares shape {list(dims)} ({count} values) but holds "
                f"{len(tensor.raw_data)} bytes of data"
            )
        flat = np.frombuffer(tensor.raw_data, np.dtype(dtype).newbyteorder("<"))
        return flat.astype(dtype).reshape(dims)
    field = {1: "float_data", 11: "double_data", 6: "int32_data", 7: "int64_data"}
    values = getattr(tensor, field[tensor.data_type])
    if len(values) != count:
        raise ConversionError(
            f"{what} declares shape {list(dims)} ({count} values) but holds {len(values)}"
        )
    return np.array(values, dtype).reshape(dims)


#: the type of every attribute crnn reads
_KINDS = {
    **dict.fromkeys(("perm", "axes", "value_ints"), "ints"),
    **dict.fromkeys(
        (
            "axis",
            "allowzero",
            "keepdims",
            "transA",
            "transB",
            "to",
            "hidden_size",
            "layout",
            "input_forget",
            "linear_before_reset",
            "value_int",
        ),
        "int",
    ),
    **dict.fromkeys(("alpha", "beta", "clip", "value_float"), "float"),
    **dict.fromkeys(("activation_alpha", "activation_beta", "value_floats"), "floats"),
    "direction": "str",
    "activations": "strs",
    "value": "tensor",
}
_IS = {
    "int": lambda v: isinstance(v, int),
    "float": lambda v: isinstance(v, (int, float)),
    "str": lambda v: isinstance(v, str),
    "ints": lambda v: isinstance(v, list) and all(isinstance(a, int) for a in v),
    "floats": lambda v: isinstance(v, list) and all(isinstance(a, (int, float)) for a in v),
    "strs": lambda v: isinstance(v, list) and all(isinstance(a, str) for a in v),
    "tensor": lambda v: isinstance(v, np.ndarray),
}


def _attributes(onnx, node, label):
    """A node's attributes by name, each of the type crnn reads it as; subgraphs and
    references to a function's refused."""
    out = {}
    for attr in node.attribute:
        if attr.ref_attr_name:
            raise ConversionError(f"{label}: attribute {attr.name!r} refers to a function's")
        if attr.type in (attr.GRAPH, attr.GRAPHS):
            raise ConversionError(f"{label} holds a subgraph, which crnn does not follow")
        if attr.type == attr.TENSOR:
            value = _array(attr.t, f"{label}'s attribute {attr.name!r}")
        elif attr.type in (attr.SPARSE_TENSOR, attr.SPARSE_TENSORS, attr.TENSORS):
            raise ConversionError(
                f"{label}: attribute {attr.name!r} holds tensors crnn does not read"
            )
        else:
            try:
                value = onnx.helper.get_attribute_value(attr)
            except Exception as exc:  # an attribute of no type
                raise ConversionError(f"{label}: attribute {attr.name!r}: {exc}") from None
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            elif isinstance(value, list) and value and isinstance(value[0], bytes):
                value = [v.decode("utf-8", "replace") for v in value]
        kind = _KINDS.get(attr.name)
        if kind is not None and not _IS[kind](value):
            raise ConversionError(
                f"{label}: attribute {attr.name!r} must be of type {kind}, got {value!r}"
            )
        out[attr.name] = value
    return out


def _ints(value, what):
    """A constant int tensor as a list of ints."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iu" or value.ndim > 1:
        raise ConversionError(f"{what} must be a constant int tensor of at most one axis")
    return [int(v) for v in value.reshape(-1)]


def _axis(axis, ndim, what):
    if not isinstance(axis, int) or not -ndim <= axis < ndim:
        raise ConversionError(f"{what}: axis {axis!r} of a tensor of {ndim} axes")
    return axis % ndim


# --- following the graph ---------------------------------------------------------------


class _Graph:
    """What every value of a graph holds, node after node (see the module's docstring)."""

    def __init__(self, onnx, model):
        self.onnx = onnx
        graph = model.graph
        self.opset = next(
            (o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None
        )
        if self.opset is None:
            raise ConversionError("the model imports no opset of the ONNX domain ('')")
        if len(graph.sparse_initializer):
            raise ConversionError(
                f"the graph has sparse initializers ({graph.sparse_initializer[0].values.name!r}),"
                " which crnn does not read"
            )
        self.initializers = {t.name: t for t in graph.initializer}
        self.arrays = {}
        self.inputs = {v.name: v for v in graph.input if v.name not in self.initializers}
        self.values = {name: self._input(name, info) for name, info in self.inputs.items()}
        self.layers = []
        self.roles = {}
        for index, node in enumerate(graph.node):
            label = f"node {node.name!r} ({node.op_type})" if node.name else None
            label = label or f"node #{index} ({node.op_type})"
            try:
                outputs = self._node(node, label)
            except ConversionError as exc:
                outputs = [_Bad(exc)] * len(node.output)
            for name, value in zip(node.output, outputs):
                if name in self.values or name in self.initializers:
                    raise ConversionError(f"{label} gives {name!r}, which the graph gives before")
                if name:
                    self.values[name] = value

    def _input(self, name, info):
        """The value of a graph input: x (float, 3 axes), or the lengths (int, 1 axis)."""
        kind = info.type.WhichOneof("value")
        tensor = info.type.tensor_type
        shape = (
            [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
            if kind == "tensor_type" and tensor.HasField("shape")
            else None
        )
        if kind == "tensor_type" and tensor.elem_type in _FLOATS:
            if shape is not None and len(shape) != 3:
                return _Bad(
                    ConversionError(
                        f"graph input {name!r} has shape {shape}: crnn reads an input of 3 axes"
                    )
                )
            width = shape[2] if shape is not None else None
            blocks = ((("x", name, 0),),)
            return _Sym((("P", name, 0), ("P", name, 1), ("F", blocks, width)))
        if kind == "tensor_type" and tensor.elem_type in _INTS:
            return _Lens(name)
        return _Bad(ConversionError(f"graph input {name!r} is neither float input nor lengths"))

    def const(self, name, what):
        """The array of an initializer or a Constant node's output."""
        if name in self.initializers:
            if name not in self.arrays:
                self.arrays[name] = _array(self.initializers[name], f"initializer {name!r}")
            return self.arrays[name]
        value = self.values.get(name)
        if value is None:
            raise ConversionError(
                f"{what} is {name!r}, which the graph does not hold: no initializer, Constant "
                "or node output of that name (a missing initializer?)"
            )
        if isinstance(value, np.ndarray):
            return value
        if name in self.inputs:
            raise ConversionError(
                f"{what} is the graph input {name!r}: crnn needs it constant, an initializer"
            )
        if isinstance(value, _Bad):
            raise value.error
        raise ConversionError(f"{what} is {name!r}, computed by the graph: crnn needs a constant")

    def value(self, name, label):
        if name in self.initializers:
            return self.const(name, f"{label}'s input")
        if name not in self.values:
            raise ConversionError(
                f"{label} reads {name!r}, which no earlier node, initializer or graph input "
                "gives (a missing initializer?)"
            )
        return self.values[name]

    @staticmethod
    def _zero(value):
        return value is _ZERO or (
            isinstance(value, np.ndarray) and value.dtype.kind == "f" and not value.any()
        )

    def _node(self, node, label):
        op = node.op_type
        if node.domain not in ("", "ai.onnx"):
            raise ConversionError(f"{label} is of the domain {node.domain!r}, not ONNX's")
        if op in _CELLS:
            return self._recurrent(node, label)
        attrs = _attributes(self.onnx, node, label)
        if op == "Constant":
            return [self._constant(attrs, label)]
        ins = [self.value(name, label) if name else None for name in node.input]
        first = ins[0] if ins else None
        if op == "ConstantOfShape":
            value = attrs.get("value")
            if value is None or not np.any(value):
                return [_ZERO]
            raise ConversionError(f"{label} fills a tensor with {value.reshape(-1)[:1]}, not zeros")
        if op in _KEEP_ZERO and self._zero(first):
            return [_ZERO]
        if op == "Concat" and ins and all(self._zero(v) for v in ins):
            return [_ZERO]
        if op in ("Identity", "Cast") and isinstance(first, _Lens):
            return [first]
        if op == "Identity":
            return [first]
        if isinstance(first, np.ndarray) and op in ("Cast", "Transpose"):
            return [self._fold(op, first, attrs, label)]
        if any(isinstance(v, (_Sym, _Head)) for v in ins):
            handler = _FOLLOWED.get(op)
            if handler is None:
                raise ConversionError(
                    f"{label}: crnn does not follow a {op} of the recurrent layers' states"
                )
            least, most = _ARITY.get(op, (1, 1 << 16))
            if not least <= len(ins) <= most or any(v is None for v in ins[:least]):
                raise ConversionError(f"{label} has {len(ins)} inputs, not {op}'s")
            return [handler(self, ins, attrs, label)]
        bad = next((v for v in ins if isinstance(v, _Bad)), None)
        if bad is None:  # shapes, or values crnn follows only as far as a ConstantOfShape
            bad = _Bad(ConversionError(f"{label} computes a value that crnn does not follow"))
        return [bad] * len(node.output)

    def _constant(self, attrs, label):
        for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
            if key in attrs:
                value = attrs[key]
                if key.startswith("value_float"):
                    return np.array(value, np.float32)
                if key.startswith("value_int"):
                    return np.array(value, np.int64)
                return value
        raise ConversionError(f"{label} holds a constant crnn does not read")

    @staticmethod
    def _fold(op, value, attrs, label):
        if op == "Transpose":
            perm = attrs.get("perm", list(range(value.ndim))[::-1])
            if sorted(perm) != list(range(value.ndim)):
                raise ConversionError(f"{label}: perm {perm} of a tensor of {value.ndim} axes")
            return value.transpose(perm)
        to = attrs.get("to")
        dtype = _FLOATS.get(to) or _INTS.get(to)
        if dtype is None:
            raise ConversionError(f"{label}: a Cast to ONNX type {to} of a constant")
        return value.astype(dtype)

    # --- the recurrent node ---

    def _recurrent(self, node, label):
        op = node.op_type
        attrs = _attributes(self.onnx, node, label)
        allowed = _ATTRIBUTES | {"LSTM": {"input_forget"}, "GRU": {"linear_before_reset"}}.get(
            op, set()
        )
        unknown = sorted(set(attrs) - allowed)
        if unknown:
            raise ConversionError(f"{label}: attribute {unknown[0]!r} is not {op}'s")
        if "clip" in attrs:
            raise ConversionError(
                f"{label}: attribute 'clip' ({attrs['clip']}): crnn does not clip the cell's inputs"
            )
        for key in ("activation_alpha", "activation_beta"):
            if attrs.get(key):
                raise ConversionError(
                    f"{label}: attribute {key!r} ({attrs[key]}): crnn computes the default "
                    "activations, which take no alpha or beta"
                )
        if attrs.get("input_forget", 0) != 0:
            raise ConversionError(
                f"{label}: attribute 'input_forget'={attrs['input_forget']}: crnn's LSTM has "
                "its own forget gate"
            )
        direction = attrs.get("direction", "forward")
        if not isinstance(direction, str) or direction not in _DIRECTIONS:
            raise ConversionError(f"{label}: attribute 'direction' is {direction!r}")
        dirs = _DIRECTIONS[direction]
        layout = attrs.get("layout", 0)
        if layout not in (0, 1):
            raise ConversionError(f"{label}: attribute 'layout' is {layout!r}, not 0 or 1")
        options = {}
        expected = _ACTIVATIONS[op]
        if op == "RNN":
            options["activation"] = "tanh"
        if "activations" in attrs:
            given = [str(a).lower() for a in attrs["activations"]]
            if op == "RNN" and given and given[0] == "relu":
                expected = ("relu",)
                options["activation"] = "relu"
            if given != list(expected) * len(dirs):
                raise ConversionError(
                    f"{label}: attribute 'activations' is {attrs['activations']}: crnn's "
                    f"{op} computes {[a.capitalize() for a in expected] * len(dirs)}"
                    + (" (or Relu for every direction)" if op == "RNN" else "")
                )
        if op == "GRU":
            lbr = attrs.get("linear_before_reset", 0)
            if lbr not in (0, 1):
                raise ConversionError(f"{label}: attribute 'linear_before_reset' is {lbr!r}")
            options["reset_after"] = bool(lbr)
        names = list(node.input) + [""] * (len(_INPUTS[op]) - len(node.input))
        if len(names) > len(_INPUTS[op]):
            raise ConversionError(f"{label} has {len(node.input)} inputs, more than {op}'s")
        role = dict(zip(_INPUTS[op], names))
        if role.get("P"):
            raise ConversionError(f"{label}: input 'P' (peepholes): crnn's LSTM has none")
        for key in ("initial_h", "initial_c"):
            self._initial(role.get(key), key, label)
        lens = None
        if role["sequence_lens"]:
            value = self.value(role["sequence_lens"], label)
            if not isinstance(value, _Lens):
                raise ConversionError(
                    f"{label}: input 'sequence_lens' ({role['sequence_lens']!r}) must be a graph "
                    "input: crnn takes the lengths as lengths="
                )
            lens = value.name
        if not role["X"] or not role["W"] or not role["R"]:
            raise ConversionError(f"{label} lacks one of its inputs X, W, R")
        D, G = len(dirs), _GATES[op]
        weights = {}
        for key in ("W", "R", "B"):
            if role[key]:
                arr = self.const(role[key], f"{label}'s input {key}")
                if arr.dtype.kind != "f":
                    raise ConversionError(
                        f"{label}'s {key} ({role[key]!r}) is {arr.dtype}, not float32 or float64"
                    )
                weights[key] = (role[key], arr)
        rname, R = weights["R"]
        if R.ndim != 3 or R.shape[0] != D or R.shape[1] != G * R.shape[2] or not R.shape[2]:
            raise ConversionError(
                f"{label}'s R ({rname!r}) must be (num_directions={D}, {G}·hidden_size, "
                f"hidden_size), got shape {R.shape}"
            )
        n_a = R.shape[2]
        if "hidden_size" in attrs and attrs["hidden_size"] != n_a:
            raise ConversionError(
                f"{label}: attribute 'hidden_size'={attrs['hidden_size']} but R ({rname!r}) "
                f"has {n_a} hidden units, shape {R.shape}"
            )
        x = self.value(role["X"], label)
        if isinstance(x, _Bad):
            raise x.error
        if not isinstance(x, _Sym) or len(x.axes) != 3 or x.axes[2][0] != "F":
            shown = _shown(x.axes) if isinstance(x, _Sym) else "a constant"
            raise ConversionError(
                f"{label} reads {role['X']!r}, {shown}: its X must be the input or a layer's "
                "states with the directions merged into the features"
            )
        self._bind(x.axes, ("m", "T") if layout else ("T", "m"), label, role["X"])
        feature = x.axes[2]
        wname, W = weights["W"]
        if W.ndim != 3 or W.shape[2] < 1:
            raise ConversionError(
                f"{label}'s W ({wname!r}) must be (num_directions, {G}·hidden_size, n_in) "
                f"with n_in >= 1, got shape {W.shape}"
            )
        if feature[2] is None:  # the graph input's features, unknown so far
            feature = ("F", feature[1], W.shape[2])
        check_shape(W, (D, G * n_a, feature[2]), f"{label}'s W ({wname!r})")
        if "B" in weights:
            check_shape(weights["B"][1], (D, 2 * G * n_a), f"{label}'s B ({weights['B'][0]!r})")
        arrays = {key: arr for key, (_, arr) in weights.items()}
        layer = len(self.layers)
        self.layers.append(_Layer(label, op, dirs, n_a, arrays, feature[1], lens, options))
        seq = ("D", tuple((("seq", layer, d),) for d in dirs))
        last = ("D", tuple((("last", layer, d),) for d in dirs))
        h = ("H", n_a)
        y = (("m",), ("T",), seq, h) if layout else (("T",), seq, ("m",), h)
        y_h = (("m",), last, h) if layout else (last, ("m",), h)
        outputs = [_Sym(y), _Sym(y_h)]
        if op == "LSTM":
            outputs.append(
                _Bad(ConversionError(f"{label}'s Y_c, the cell state: crnn gives the hidden one"))
            )
        return outputs[: len(node.output)]

    def _initial(self, name, key, label):
        if not name:
            return
        if name in self.inputs:
            raise ConversionError(
                f"{label}: input {key!r} is the graph input {name!r}: crnn's layers start from "
                "zero states"
            )
        value = self.value(name, label)
        if not self._zero(value):
            raise ConversionError(
                f"{label}: input {key!r} ({name!r}) is not all zeros: crnn's layers start from "
                "zero states"
            )

    def _bind(self, axes, roles, label, name):
        """Check that the first two axes are roles (steps, sequences), telling a graph
        input's axes their roles the first time."""
        bound = dict(self.roles)
        for axis, role in zip(axes, roles):
            if axis[0] == "P":
                other = ("P", axis[1], 1 - axis[2])
                if bound.get(axis, role) != role or bound.get(other) == role:
                    break
                bound[axis] = role
            elif axis[0] != role:
                break
        else:
            self.roles = bound
            return
        raise ConversionError(
            f"{label} reads {name!r} with its axes {_shown(axes)} where its layout needs "
            f"[{', '.join(roles)}, features]"
        )


# --- the ops between the layers and after them ---------------------------------------------


def _transpose(graph, ins, attrs, label):
    (x,) = _syms(ins[:1], label)
    n = len(x.axes)
    perm = attrs.get("perm", list(range(n))[::-1])
    if sorted(perm) != list(range(n)):
        raise ConversionError(f"{label}: perm {perm} of a tensor of {n} axes")
    return _Sym(x.axes[p] for p in perm)


def _axes(graph, ins, attrs, label):
    """The axes of a Squeeze or ReduceSum: its second input from opset 13, else its
    attribute; None when not given."""
    if graph.opset >= 13:
        return _ints(ins[1], f"{label}'s axes") if len(ins) > 1 and ins[1] is not None else None
    return attrs.get("axes")


def _squeeze(graph, ins, attrs, label):
    (x,) = _syms(ins[:1], label)
    axes = _axes(graph, ins, attrs, label)
    d = x.find("D")
    if axes is None or [_axis(a, len(x.axes), label) for a in axes] != [d]:
        raise ConversionError(
            f"{label}: crnn follows a Squeeze of the axis of one direction only, of a tensor "
            f"{_shown(x.axes)}"
        )
    blocks = x.axes[d][1]
    if len(blocks) != 1:
        raise ConversionError(f"{label} squeezes an axis of {len(blocks)} directions")
    return _Sym(_without_directions(x.axes, d, blocks))


def _reshape(graph, ins, attrs, label):
    (x,) = _syms(ins[:1], label)
    if len(ins) < 2 or not isinstance(ins[1], np.ndarray):
        raise ConversionError(f"{label}: crnn follows a Reshape to a constant shape only")
    target = _ints(ins[1], f"{label}'s shape")
    allowzero = attrs.get("allowzero", 0)
    axes, d = x.axes, x.find("D")
    candidates = []
    if d is not None:
        h, blocks = x.find("H"), axes[d][1]
        if len(blocks) == 1:
            candidates.append(_without_directions(axes, d, blocks))
        if h == d + 1:
            n_a = axes[h][1]
            candidates.append([*axes[:d], ("F", blocks, n_a * len(blocks)), *axes[h + 1 :]])
    for out in candidates:
        if len(target) == len(out) and target.count(-1) <= 1:
            fits = True
            for j, t in enumerate(target):
                want = _size(out[j])
                if t == 0 and not allowzero:
                    fits = fits and j < len(axes) and _size(axes[j]) == want
                elif t != -1:
                    fits = fits and isinstance(want, int) and t == want
            if fits:
                return _Sym(out)
    raise ConversionError(
        f"{label}: a Reshape to {target} of a tensor {_shown(axes)}: crnn follows the "
        "merge of the directions' axis into the features (or the drop of a single direction's)"
    )


def _concat(graph, ins, attrs, label):
    xs = _syms(ins, label)
    n = len(xs[0].axes)
    if any(len(x.axes) != n for x in xs):
        raise ConversionError(f"{label} concatenates tensors of different numbers of axes")
    axis = _axis(attrs.get("axis"), n, label)
    kinds = {x.axes[axis][0] for x in xs}
    rest = {tuple(a for i, a in enumerate(x.axes) if i != axis) for x in xs}
    if len(kinds) != 1 or kinds - {"D", "F"} or len(rest) != 1:
        raise ConversionError(
            f"{label}: crnn follows a Concat of directions or of features, of tensors alike in "
            f"their other axes; got {', '.join(_shown(x.axes) for x in xs)} on axis {axis}"
        )
    blocks = tuple(b for x in xs for b in x.axes[axis][1])
    if kinds == {"D"}:
        merged = ("D", blocks)
    else:
        widths = [x.axes[axis][2] for x in xs]
        merged = ("F", blocks, None if None in widths else sum(widths))
    return _Sym((*xs[0].axes[:axis], merged, *xs[0].axes[axis + 1 :]))


def _gather(graph, ins, attrs, label):
    (x,) = _syms(ins[:1], label)
    if len(ins) < 2 or not isinstance(ins[1], np.ndarray) or ins[1].dtype.kind not in "iu":
        raise ConversionError(f"{label}: crnn follows a Gather of constant indices only")
    index = ins[1]
    axis = _axis(attrs.get("axis", 0), len(x.axes), label)
    kind = x.axes[axis][0]
    if kind == "D":
        blocks = x.axes[axis][1]
        picked = []
        for i in index.reshape(-1).tolist():
            if not -len(blocks) <= i < len(blocks):
                raise ConversionError(f"{label}: index {i} of {len(blocks)} directions")
            picked.append(blocks[i])
        if index.ndim == 0:
            return _Sym(_without_directions(x.axes, axis, picked))
        if index.ndim == 1:
            return _Sym((*x.axes[:axis], ("D", tuple(picked)), *x.axes[axis + 1 :]))
    if kind == "T" and index.ndim == 0:
        step = int(index)
        out = [a for i, a in enumerate(x.axes) if i != axis]
        k = next(i for i, a in enumerate(out) if a[0] in "DF")
        blocks = []
        for block in out[k][1]:
            terms = []
            for what, layer, d in block:
                if what == "seq" and (step, d) == (-1, 0):
                    terms.append(("end", layer, d))
                elif what == "seq" and (step, d) == (0, 1):
                    terms.append(("last", layer, d))
                else:
                    raise ConversionError(
                        f"{label} reads step {step} of a "
                        f"{('forward', 'reverse')[d]} direction: crnn's classifier reads the "
                        "last state of each direction (the forward's last step, the reverse's "
                        "step 0)"
                    )
            blocks.append(tuple(terms))
        out[k] = (out[k][0], tuple(blocks), *out[k][2:])
        return _Sym(out)
    raise ConversionError(
        f"{label}: crnn follows a Gather of directions, or of the last step, not on axis "
        f"{axis} of a tensor {_shown(x.axes)}"
    )


def _reduce_sum(graph, ins, attrs, label):
    (x,) = _syms(ins[:1], label)
    axes = _axes(graph, ins, attrs, label)
    d = x.find("D")
    if d is None or axes is None or [_axis(a, len(x.axes), label) for a in axes] != [d]:
        raise ConversionError(f"{label}: crnn follows a ReduceSum over the directions only")
    merged = (tuple(t for block in x.axes[d][1] for t in block),)
    if attrs.get("keepdims", 1):
        return _Sym((*x.axes[:d], ("D", merged), *x.axes[d + 1 :]))
    return _Sym(_without_directions(x.axes, d, merged))


def _add(graph, ins, attrs, label):
    if len(ins) != 2:
        raise ConversionError(f"{label} has {len(ins)} inputs")
    a, b = ins
    if isinstance(b, _Head):
        a, b = b, a
    if isinstance(a, _Head):
        if a.proba or a.b is not None or not isinstance(b, np.ndarray):
            raise ConversionError(f"{label}: crnn follows one Add of a constant bias to logits")
        n_y = a.W.shape[0]
        fits = b.shape[-1:] in ((n_y,), (1,), ())
        if b.ndim > len(a.axes) or any(n != 1 for n in b.shape[:-1]) or not fits:
            raise ConversionError(
                f"{label}: the bias of shape {b.shape} is not one of the {n_y} classes' biases"
            )
        bias = np.broadcast_to(b.reshape(-1), (n_y,)).copy()
        return _Head(a.axes, a.blocks, a.W, bias)
    if isinstance(a, _Sym) and isinstance(b, _Sym):
        if [(x[0], _size(x)) for x in a.axes] != [(x[0], _size(x)) for x in b.axes]:
            raise ConversionError(
                f"{label} adds tensors {_shown(a.axes)} and {_shown(b.axes)}, not alike"
            )
        k = next(i for i, axis in enumerate(a.axes) if axis[0] in "DF")
        blocks_a, blocks_b = a.axes[k][1], b.axes[k][1]
        if len(blocks_a) != len(blocks_b):
            raise ConversionError(f"{label} adds tensors of different features")
        summed = tuple(p + q for p, q in zip(blocks_a, blocks_b))
        axes = list(a.axes)
        axes[k] = (axes[k][0], summed, *axes[k][2:])
        return _Sym(axes)
    raise ConversionError(f"{label}: crnn follows an Add of two directions, or of a bias")


def _matmul(graph, ins, attrs, label):
    x, w = ins
    (x,) = _syms([x], label)
    return _linear(x, w, None, label, transposed=False)


def _gemm(graph, ins, attrs, label):
    (x,) = _syms(ins[:1], label)
    if len(x.axes) != 2 or attrs.get("transA", 0):
        raise ConversionError(f"{label}: crnn follows a Gemm of (m, features) states")
    w = ins[1] if len(ins) > 1 else None
    c = ins[2] if len(ins) > 2 else None
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    if isinstance(w, np.ndarray):
        w = w * np.asarray(alpha, w.dtype) if alpha != 1.0 else w
    head = _linear(x, w, None, label, transposed=bool(attrs.get("transB", 0)))
    if c is None:
        return head
    if not isinstance(c, np.ndarray):
        raise ConversionError(f"{label}: its C must be a constant bias")
    c = c * np.asarray(beta, c.dtype) if beta != 1.0 else c
    return _add(graph, [head, c], {}, label)


def _linear(x, w, b, label, transposed):
    axis = x.axes[-1]
    if axis[0] != "F" or any(a[0] in "DHFP" for a in x.axes[:-1]):
        raise ConversionError(
            f"{label} reads a tensor {_shown(x.axes)}: crnn's output layer reads the top "
            "layer's states with the directions merged into the features (last axis)"
        )
    if not isinstance(w, np.ndarray) or w.ndim != 2 or w.dtype.kind != "f":
        raise ConversionError(f"{label}: crnn's output layer needs a constant 2-D float weight")
    W = w if transposed else w.T
    if W.shape[1] != axis[2] or not W.shape[0]:
        raise ConversionError(
            f"{label}: its weight of shape {w.shape} does not read the {axis[2]} features"
        )
    return _Head((*x.axes[:-1], ("Y", W.shape[0])), axis[1], W, b)


def _softmax(graph, ins, attrs, label):
    head = ins[0]
    if not isinstance(head, _Head) or head.proba:
        raise ConversionError(f"{label}: crnn follows a Softmax of the output layer's logits")
    n = len(head.axes)
    default = -1 if graph.opset >= 13 else 1
    if _axis(attrs.get("axis", default), n, label) != n - 1:
        raise ConversionError(
            f"{label}: a Softmax on axis {attrs.get('axis', default)} (opset {graph.opset}) of "
            f"{n} axes; crnn's is over the classes, the last axis"
        )
    return _Head(head.axes, head.blocks, head.W, head.b, proba=True)


def _syms(values, label):
    """The values as _Sym, or a ConversionError."""
    for v in values:
        if isinstance(v, _Bad):
            raise v.error
        if not isinstance(v, _Sym):
            raise ConversionError(
                f"{label}: crnn follows this op on the recurrent layers' states only"
            )
    return list(values)


#: the fewest and most inputs of each op followed
_ARITY = {
    "Transpose": (1, 1),
    "Squeeze": (1, 2),
    "Reshape": (2, 2),
    "Gather": (2, 2),
    "ReduceSum": (1, 2),
    "Add": (2, 2),
    "MatMul": (2, 2),
    "Gemm": (2, 3),
    "Softmax": (1, 1),
}

_FOLLOWED = {
    "Transpose": _transpose,
    "Squeeze": _squeeze,
    "Reshape": _reshape,
    "Concat": _concat,
    "Gather": _gather,
    "ReduceSum": _reduce_sum,
    "Add": _add,
    "MatMul": _matmul,
    "Gemm": _gemm,
    "Softmax": _softmax,
}


# --- from the graph to crnn's Network --------------------------------------------------


def _network(graph, output, dtype):
    """(Network, whether x is batch first, whether the output is (None for a
    classifier's)) of a followed graph, or ConversionError."""
    value = graph.values.get(output)
    if isinstance(value, _Bad):
        raise value.error
    if isinstance(value, _Head):
        if not value.proba:
            raise ConversionError(
                f"the graph's output {output!r} is the output layer's logits: crnn's models "
                "give their softmax (add a Softmax on the last axis)"
            )
        top, axes = value.blocks, value.axes
    elif isinstance(value, _Sym):
        if len(value.axes) != 3 or value.axes[2][0] != "F":
            raise ConversionError(
                f"the graph's output {output!r} is a tensor {_shown(value.axes)}: crnn's layer "
                "stack gives [T, m, features] with the directions merged into the features"
            )
        top, axes = value.axes[2][1], value.axes
    else:
        raise ConversionError(f"the graph's output {output!r} is not made of recurrent layers")
    terms = [t for block in top for t in block]
    if not terms or any(t[0] == "x" for t in terms):
        raise ConversionError(f"the graph's output {output!r} reads no recurrent layer")
    kinds = {t[0] for t in terms}
    classifier = bool(kinds & {"last", "end"})
    if classifier and (kinds & {"seq"} or not isinstance(value, _Head)):
        raise ConversionError(
            f"the graph's output {output!r} mixes last states with states of every step"
        )
    if classifier and axes[0][0] != "m":
        raise ConversionError(f"the graph's output {output!r} has axes {_shown(axes)}")
    if not classifier and [a[0] for a in axes[:2]] not in (["T", "m"], ["m", "T"]):
        raise ConversionError(f"the graph's output {output!r} has axes {_shown(axes)}")
    # the chain of layers, top first
    chain, readers, blocks = [], [], top
    while True:
        ids = {t[1] for block in blocks for t in block}
        if any(t[0] == "x" for block in blocks for t in block):
            if len(blocks) != 1 or len(blocks[0]) != 1 or not chain:
                raise ConversionError(
                    f"{chain[-1].label if chain else 'the output'} reads the graph's input "
                    "beside other features: crnn's bottom layer reads the input alone"
                )
            break
        if len(ids) != 1:
            names = ", ".join(graph.layers[i].label for i in sorted(ids))
            raise ConversionError(
                f"{chain[-1].label if chain else 'the output'} reads the states of several "
                f"layers ({names}): crnn's layers read the layer below only"
            )
        layer = graph.layers[ids.pop()]
        chain.append(layer)
        readers.append(blocks)
        blocks = layer.blocks
    chain.reverse()
    readers.reverse()
    bottom = chain[0]
    x_name = blocks[0][0][1]
    top_layer = chain[-1]
    for layer in chain:
        for key, same in (
            ("op", layer.op == bottom.op),
            ("hidden units", layer.n_a == bottom.n_a),
            ("options", layer.options == bottom.options),
            ("sequence_lens", layer.lens == bottom.lens),
        ):
            if not same:
                raise ConversionError(
                    f"{layer.label} differs from {bottom.label} in its {key}: crnn's layers are "
                    "all alike"
                )
    lens = bottom.lens
    if "end" in kinds and lens is not None:
        raise ConversionError(
            f"the graph's output reads the last step of {top_layer.label}'s Y, zero past each "
            "sequence's length with sequence_lens: crnn's classifier reads the last states "
            "(Y_h)"
        )
    # the form of the stack: one direction everywhere, or two, concatenated or summed
    uni = all(layer.dirs == (0,) for layer in chain) and all(map(_only_forward, readers))
    summed = any(len(block) > 1 for blocks in readers for block in blocks)
    # layers of one direction each and no output layer: the zero direction summed in
    single = not isinstance(value, _Head) and all(len(layer.dirs) == 1 for layer in chain)
    single = single and not uni
    merge = "sum" if summed or single else "concat"
    n_a = bottom.n_a
    for layer, blocks in zip(chain, readers):
        dirs = [t[2] for block in blocks for t in block]
        if uni:
            ok = True
        elif merge == "sum":
            ok = len(blocks) == 1 and sorted(dirs) == list(layer.dirs)
        else:
            ok = all(len(b) == 1 for b in blocks) and len(set(dirs)) == len(dirs)
        if not ok:
            raise ConversionError(
                f"{layer.label}'s directions are read {_read_as(blocks)} by the node above it: "
                "crnn's layers concatenate their two directions, or sum them throughout"
            )
    head = None
    if isinstance(value, _Head):
        if merge == "sum":
            raise ConversionError(
                "the layers sum their directions and an output layer reads them: crnn's models "
                "concatenate the two directions"
            )
        head = (_spread(value.W, top, uni, "concat", n_a), value.b)
    elif not uni and (merge == "concat" and [b[0][2] for b in top] != [0, 1]):
        raise ConversionError(
            f"the graph's output reads {_read_as(top)} of {top_layer.label}: crnn's bidirectional "
            "stack gives both directions, concatenated"
        )
    # the weights
    cell = _CELLS[bottom.op]
    options = dict(bottom.options)
    reset_after = options.get("reset_after", False)
    if dtype is None:
        dtype = bottom.weights["W"].dtype
    layers = []
    for k, layer in enumerate(chain):
        G = _GATES[layer.op]
        below = None if k == 0 else readers[k - 1]
        for d in (0, 1) if not uni else (0,):
            if d in layer.dirs:
                i = layer.dirs.index(d)
                what = f"{layer.label}'s"
                w = to_numpy(layer.weights["W"][i], f"{what} W", dtype)
                r = to_numpy(layer.weights["R"][i], f"{what} R", dtype)
                b = (
                    to_numpy(layer.weights["B"][i], f"{what} B", dtype)
                    if "B" in layer.weights
                    else np.zeros(2 * G * n_a, dtype)
                )
                if below is not None:
                    w = _spread(w, layer.blocks, uni, merge, n_a)
                order = _TO_TORCH[layer.op]
                w_ih, w_hh = gate_blocks(w, order), gate_blocks(r, order)
                b_ih, b_hh = gate_blocks(b[: G * n_a], order), gate_blocks(b[G * n_a :], order)
            else:  # a layer of one direction in a bidirectional stack: the other at zero
                n_in = layer.weights["W"].shape[2] if below is None else None
                n_in = n_in or (2 * n_a if merge == "concat" else n_a)
                w_ih = np.zeros((G * n_a, n_in), dtype)
                w_hh = np.zeros((G * n_a, n_a), dtype)
                b_ih = b_hh = np.zeros(G * n_a, dtype)
            layers.append(to_crnn(cell, reset_after, w_ih, w_hh, b_ih, b_hh))
    if head is not None:
        W = to_numpy(head[0], "the output layer's weight", dtype)
        b = head[1] if head[1] is not None else np.zeros(W.shape[0], dtype)
        head = (W, to_numpy(b, "the output layer's bias", dtype))
    network = Network(
        cell,
        options,
        layers,
        not uni,
        merge,
        head,
        "last" if classifier else None,
    )
    batch_first = graph.roles.get(("P", x_name, 0)) == "m"
    out_batch_first = None if classifier else axes[0][0] == "m"
    return network, batch_first, out_batch_first


def _only_forward(blocks):
    return len(blocks) == 1 and len(blocks[0]) == 1 and blocks[0][0][2] == 0


def _read_as(blocks):
    """How a node reads a layer's directions, for a message."""
    names = ("forward", "reverse")
    return "[" + ", ".join(" + ".join(names[t[2]] for t in b) for b in blocks) + "]"


def _spread(w, blocks, uni, merge, n_a):
    """w's columns, which read the features of blocks, placed where crnn's layer holds
    them: the forward direction's first, the reverse one's after (zeros for a direction
    not read); with one direction, or summed directions, as they are."""
    if uni or merge == "sum":
        return w
    out = np.zeros((w.shape[0], 2 * n_a), w.dtype)
    for j, block in enumerate(blocks):
        d = block[0][2]
        out[:, d * n_a : (d + 1) * n_a] = w[:, j * n_a : (j + 1) * n_a]
    return out


def from_onnx(
    path_or_model,
    *,
    dtype=None,
    verify=None,
    output=None,
    max_bytes=DEFAULT_MAX_BYTES,
):
    """crnn's model of an ONNX graph of RNN, LSTM or GRU nodes, and of the output layer
    that reads them.

    The graph holds one node per layer (any direction, layout 0 or 1, the default
    activations or the RNN's Relu, the GRU's linear_before_reset 0 or 1), stacked through
    the Squeeze, Transpose and Reshape that merge a layer's directions into the features,
    as PyTorch's exporter and ``to_onnx`` write them (or ReduceSum, Add: summed
    directions), and optionally an output layer: a MatMul (and Add) or a Gemm, then a
    Softmax over the classes. An output layer of the top layer's states at every step makes
    a tagger; of its last states (Y_h, or a forward layer's last step) a classifier, which
    reads the forward direction's last state and the reverse one's at step 0. A layer of
    direction "reverse" (or "forward" among bidirectional ones) becomes a bidirectional
    layer of crnn whose other direction has zero weights, which keep its states at exactly
    zero; two nodes side by side are not one bidirectional layer. Weights are initializers
    or Constant nodes; initial states may be left out or zero (the zeros PyTorch's exporter
    computes with ConstantOfShape), not graph inputs.

    The file is untrusted input: its size is checked before it is parsed, every tensor's
    shape against its data and every weight's against the node before it is used, and
    tensors in external files are refused.

    The graph's int input ``sequence_lens``, if its nodes read one, is crnn's ``lengths=``
    (of predict_proba or forward): every sequence's steps, 1..T_x. Past a sequence's length
    ONNX gives zero states where crnn keeps the last one (a tagger's probabilities there
    differ): compare only the steps within each length, as verify does with lengths.

    Arguments:
    path_or_model -- the path of an .onnx file, its bytes, or an onnx.ModelProto
    dtype -- None to compute in the weights' dtype (float32 or float64), or a dtype
    verify -- None, or (x, outputs) or (x, outputs, lengths): an input in the graph's
              layout ((T_x, m, n_x), or (m, T_x, n_x) for a graph that reads its input
              batch first, such as ``layout=1``) and what the graph gave for it (with its
              sequence_lens as lengths); ParityError if crnn's outputs differ beyond
              crnn.interop.TOLERANCE
    output -- the name of the graph's output to read, None for its first
    max_bytes -- the largest file read (1 GiB by default), checked before it is parsed

    Returns:
    model -- with an output layer, a fitted crnn.SequenceTagger (a SequenceClassifier with
             pooling="last" for an output layer that reads the last states) whose classes
             are 0 .. n_y-1; else a crnn.layers.LayerStack

    Raises ConversionError (a ValueError), naming the node, attribute or initializer, for a
    graph crnn does not compute: a clip, input_forget, peepholes, other activations, initial
    states that are not zero (or are graph inputs), misshaped weights, layers that are not
    alike, or ops between them other than the ones above.
    """
    onnx = _import_onnx()
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive int, got {max_bytes!r}")
    model = _read(onnx, path_or_model, int(max_bytes))
    graph = _Graph(onnx, model)
    outputs = [v.name for v in model.graph.output]
    if output is None:
        if not outputs:
            raise ConversionError("the graph has no output")
        output = outputs[0]
    elif output not in outputs:
        raise ConversionError(f"the graph has no output {output!r}; its outputs are {outputs}")
    network, batch_first, out_batch_first = _network(graph, output, dtype)
    crnn_model = build(network)
    if verify is not None:
        if (
            out_batch_first is not None
            and out_batch_first != batch_first
            and isinstance(verify, tuple)
            and len(verify) >= 2
        ):
            outputs_given = np.swapaxes(np.asarray(verify[1]), 0, 1)
            verify = (verify[0], outputs_given, *verify[2:])
        verify_given(crnn_model, verify, batch_first)
    return crnn_model


# --- from crnn to ONNX -------------------------------------------------------------------


def to_onnx(model, path=None, *, opset=14, sequence_lens=False):
    """An ONNX graph that computes a crnn model.

    One node per layer (RNN, LSTM or GRU, direction "bidirectional" for a bidirectional
    stack, layout 0), their directions merged between the layers (concatenated:
    Transpose and Reshape; summed: ReduceSum), then the output layer: ``proba`` (T_x, m,
    n_y) = Softmax(MatMul + Add) of the top layer's states for a tagger; (m, n_y) =
    Softmax(Gemm) of its last states (Y_h) for a classifier with pooling="last"; a layer
    stack's output ``y`` (T_x, m, n_out) without one. The input ``x`` is (T_x, m, n_x),
    T_x and m free, in the model's dtype (onnxruntime runs these nodes in float32 only).

    Arguments:
    model -- a crnn.layers.LayerStack, or a fitted SequenceTagger or SequenceClassifier
             (pooling="last")
    path -- None, or where to write the file (replaced at once, never half written)
    opset -- the ONNX opset, 14 (the first with the nodes' layout) or later
    sequence_lens -- True for a second input ``sequence_lens``, int32 (m,): each
                     sequence's steps, crnn's lengths= (past them the graph gives zero
                     states, so a tagger's probabilities there are not crnn's)

    Returns:
    model -- the onnx.ModelProto (checked by onnx.checker)
    """
    onnx = _import_onnx()
    helper, numpy_helper, TensorProto = onnx.helper, onnx.numpy_helper, onnx.TensorProto
    newest = onnx.defs.onnx_opset_version()
    if (
        isinstance(opset, bool)
        or not isinstance(opset, (int, np.integer))
        or not (14 <= opset <= newest)
    ):
        raise ValueError(f"opset must be an int in 14..{newest}, got {opset!r}")
    if sequence_lens not in (False, True):
        raise ValueError(f"sequence_lens must be True or False, got {sequence_lens!r}")
    network = describe(model)
    if network.pooling not in (None, "last"):
        raise ConversionError(
            f'pooling="{network.pooling}": to_onnx writes a classifier that reads the last '
            'states (pooling="last") only'
        )
    op, cell = _OPS[network.cell], network.cell
    options = network.options
    reset_after = bool(options.get("reset_after", False))
    dtype = np.dtype(network.dtype)
    elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}[
        dtype
    ]
    D = 1 + network.bidirectional
    nodes, initializers = [], []

    def constant(name, values):
        if name not in {t.name for t in initializers}:
            initializers.append(numpy_helper.from_array(np.array(values, np.int64), name))
        return name

    def weight(name, arr):
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype), name))
        return name

    layer_input = "x"
    pooled = network.pooling == "last"
    top = network.num_layers - 1
    n_a = n_x = 0
    for k in range(network.num_layers):
        Ws, Rs, Bs = [], [], []
        for params in network.layers[k * D : (k + 1) * D]:
            w_ih, w_hh, b_ih, b_hh = from_crnn(cell, reset_after, params)
            order = _TO_ONNX[op]
            Ws.append(gate_blocks(w_ih, order))
            Rs.append(gate_blocks(w_hh, order))
            Bs.append(np.concatenate((gate_blocks(b_ih, order), gate_blocks(b_hh, order))))
        n_a = Rs[0].shape[1]
        n_x = Ws[0].shape[1] if k == 0 else n_x
        name = network.names[k * D]
        attrs = {"hidden_size": n_a}
        if network.bidirectional:
            attrs["direction"] = "bidirectional"
        if cell == "rnn" and options.get("activation") == "relu":
            attrs["activations"] = ["Relu"] * D
        if cell == "gru":
            attrs["linear_before_reset"] = int(reset_after)
        inputs = [
            layer_input,
            weight(f"{name}.W", np.stack(Ws)),
            weight(f"{name}.R", np.stack(Rs)),
            weight(f"{name}.B", np.stack(Bs)),
        ]
        if sequence_lens:
            inputs.append("sequence_lens")
        y = f"{name}.Y"
        outputs = [y, f"{name}.Y_h"] if pooled and k == top else [y]
        nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))
        out = "y" if k == top and network.head is None else f"{name}.out"
        if not network.bidirectional:
            nodes.append(helper.make_node("Squeeze", [y, constant("axes1", [1])], [out]))
        elif network.merge == "sum":
            nodes.append(
                helper.make_node("ReduceSum", [y, constant("axes1", [1])], [out], keepdims=0)
            )
        else:
            nodes.append(helper.make_node("Transpose", [y], [f"{name}.Yt"], perm=[0, 2, 1, 3]))
            nodes.append(
                helper.make_node("Reshape", [f"{name}.Yt", constant("merged", [0, 0, -1])], [out])
            )
        layer_input = out
    n_out = n_a * D if network.merge == "concat" else n_a
    if network.head is None:
        result = helper.make_tensor_value_info("y", elem, ["T", "m", n_out])
    else:
        W, b = network.head
        n_y = W.shape[0]
        if pooled:
            last = f"{network.names[top * D]}.Y_h"
            states = "last_states"
            if network.bidirectional:
                nodes.append(helper.make_node("Transpose", [last], ["Y_h_t"], perm=[1, 0, 2]))
                nodes.append(
                    helper.make_node("Reshape", ["Y_h_t", constant("rows", [0, -1])], [states])
                )
            else:
                nodes.append(helper.make_node("Squeeze", [last, constant("axes0", [0])], [states]))
            nodes.append(
                helper.make_node(
                    "Gemm", [states, weight("Wy", W), weight("by", b)], ["logits"], transB=1
                )
            )
            shape = ["m", n_y]
        else:
            nodes.append(helper.make_node("MatMul", [layer_input, weight("Wy_T", W.T)], ["scores"]))
            nodes.append(helper.make_node("Add", ["scores", weight("by", b)], ["logits"]))
            shape = ["T", "m", n_y]
        nodes.append(helper.make_node("Softmax", ["logits"], ["proba"], axis=-1))
        result = helper.make_tensor_value_info("proba", elem, shape)
    inputs = [helper.make_tensor_value_info("x", elem, ["T", "m", n_x])]
    if sequence_lens:
        inputs.append(helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, ["m"]))
    graph = helper.make_graph(nodes, "crnn", inputs, [result], initializers)
    opsets = [helper.make_opsetid("", int(opset))]
    import crnn

    onnx_model = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name="crnn",
        producer_version=crnn.__version__,
        ir_version=helper.find_min_ir_version_for(opsets),
        doc_string=f"crnn {type(model).__name__}: {cell} {options}",
    )
    onnx.checker.check_model(onnx_model)
    if path is not None:
        data = onnx_model.SerializeToString()
        atomic_write(path, lambda f: f.write(data))
    return onnx_model
