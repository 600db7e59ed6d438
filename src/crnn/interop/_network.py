"""What crnn.interop's converters share: a recurrent network in crnn's terms
(``Network``), the crnn object it makes and the way back, and the parity check.

A converter reads its source into a ``Network`` (each layer and direction through
crnn._torch_layout), and ``build`` makes the crnn object of it; an exporter reads a crnn
object with ``describe`` and writes its own format from the Network.
"""

from dataclasses import dataclass, field

import numpy as np

from crnn.cells import get_cell
from crnn.layers import LayerStack, Stack, input_features, layer_names
from crnn.models import SequenceClassifier, SequenceTagger

__all__ = ["ConversionError", "ParityError", "TOLERANCE", "Network", "build", "describe", "verify"]

#: The largest difference ``verify`` accepts between crnn's outputs and the source's, by
#: dtype, relative to the largest output (or absolute, for outputs within [-1, 1]).
TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}


class ConversionError(ValueError):
    """A model crnn cannot convert: a missing, extra or misshaped weight, or a feature of
    the source that crnn does not compute; the message names the key or attribute."""


class ParityError(ValueError):
    """crnn's outputs for the input given to ``verify=`` differ from the source's beyond
    the tolerance (``crnn.interop.TOLERANCE``)."""


@dataclass
class Network:
    """A recurrent network in crnn's terms.

    cell, options -- "rnn", "lstm" or "gru", and its options (activation=, reset_after=)
    layers -- crnn's parameters of every layer and direction (no output layer), bottom
              layer first, a layer's forward direction before its reverse one
    bidirectional, merge -- the stack's form (see crnn.layers)
    head -- None, or the output layer (W (n_y, n_out), b (n_y,)) with a softmax
    pooling -- with a head, None for an output at every step (a tagger), "last" for one
               from the last states (a classifier)
    """

    cell: str
    options: dict
    layers: list
    bidirectional: bool = False
    merge: str = "concat"
    head: tuple | None = None
    pooling: str | None = None
    names: list = field(init=False)

    def __post_init__(self):
        directions = 1 + self.bidirectional
        self.names = layer_names(len(self.layers) // directions, self.bidirectional)

    @property
    def num_layers(self):
        return len(self.layers) // (1 + self.bidirectional)

    @property
    def dtype(self):
        return self.layers[0][next(iter(self.layers[0]))].dtype


def build(network):
    """The crnn object of a Network: a crnn.layers.LayerStack without a head, else a
    fitted SequenceTagger (or SequenceClassifier with pooling="last") whose classes are
    0 .. n_y-1."""
    cell, options = network.cell, dict(network.options)
    if network.head is None:
        return LayerStack(
            dict(zip(network.names, network.layers)),
            cell=cell,
            num_layers=network.num_layers,
            bidirectional=network.bidirectional,
            merge=network.merge,
            **options,
        )
    if network.bidirectional and network.merge != "concat":
        raise ConversionError(
            f'crnn\'s models concatenate the two directions; merge="{network.merge}" is '
            "served as a layer stack, without the output layer"
        )
    W, b = network.head
    n_y = W.shape[0]
    dtype = network.dtype
    first = network.layers[0]
    n_a = first[next(iter(first))].shape[0]
    n_x = input_features(get_cell(cell, **options), first, n_a)
    kind = (
        SequenceTagger
        if network.pooling is None
        else lambda **kw: SequenceClassifier(pooling=network.pooling, **kw)
    )
    model = kind(
        cell=cell,
        n_a=n_a,
        num_layers=network.num_layers,
        bidirectional=network.bidirectional,
        dtype=dtype.name,
        verbose=False,
        **options,
    )
    if model.num_layers == 1 and not model.bidirectional:
        parameters = dict(first)
        parameters[model._cell().output_weight] = W
    else:
        parameters = {
            f"{name}.{key}": value
            for name, layer in zip(network.names, network.layers)
            for key, value in layer.items()
        }
        parameters["Wy"] = W
    parameters["by"] = b.reshape(n_y, 1)
    for key, shape in model._shapes(n_x, n_y).items():
        if parameters[key].shape != shape:
            raise ConversionError(
                f"the weights do not form one network: crnn's {key!r} would be "
                f"{parameters[key].shape}, the network needs {shape}"
            )
    vars(model).update(
        parameters_={k: np.ascontiguousarray(v, dtype) for k, v in parameters.items()},
        n_features_in_=n_x,
        n_classes_=n_y,
        classes_=np.arange(n_y),
        loss_curve_=[],
        validation_loss_curve_=[],
        best_epoch_=0,
        n_epochs_=0,
    )
    return model


def describe(model):
    """The Network of a LayerStack or a fitted SequenceTagger or SequenceClassifier."""
    if isinstance(model, LayerStack):
        return Network(
            model.cell.name,
            model.cell.options,
            [model.parameters[name] for name in layer_names(model.num_layers, model.bidirectional)],
            model.bidirectional,
            model.merge,
        )
    if not isinstance(model, (SequenceTagger, SequenceClassifier)):
        raise TypeError(
            "model must be a crnn.layers.LayerStack or a fitted SequenceTagger or "
            f"SequenceClassifier, got {type(model).__name__}"
        )
    model._check_fitted()
    cell = model._cell()
    parameters = model.parameters_
    if isinstance(cell, Stack):
        nested = cell.nested(parameters)
        layers = [nested[name] for name in cell.names]
        options = cell.cell.options
        name = cell.cell.name
    else:
        layers = [{k: v for k, v in parameters.items() if k not in (cell.output_weight, "by")}]
        options, name = cell.options, cell.name
    pooling = getattr(model, "pooling", None)
    return Network(
        name,
        options,
        layers,
        model.bidirectional,
        "concat",
        # copies: what an exporter hands out must not change the model
        (parameters[cell.output_weight].copy(), parameters["by"].reshape(-1).copy()),
        pooling,
    )


def verify(model, x, expected, *, batch_first, lengths=None, tolerance=None):
    """Raise ParityError unless crnn's outputs for x match what the source gave.

    Arguments:
    model -- the LayerStack, SequenceTagger or SequenceClassifier converted
    x -- the input, in the source's layout: (T_x, m, n_x), or (m, T_x, n_x) batch_first
    expected -- the source's outputs for x, in its layout: a stack's output sequence, a
                tagger's class probabilities at every step, a classifier's (m, n_y)
    lengths -- None, or the m lengths of x's sequences: only their steps are compared
    tolerance -- None for TOLERANCE of the model's dtype, else the largest difference
                 accepted, relative to max(1, the largest output)
    """
    x = np.asarray(x)
    expected = np.asarray(expected)
    if x.ndim != 3 or 0 in x.shape[:2] or expected.size == 0:
        raise ValueError(
            "verify's input must be 3-D in the source's layout, with some steps and "
            f"sequences, and its outputs not empty: got shapes {x.shape} and {expected.shape}"
        )
    ours_layout = (2, 0, 1) if batch_first else (2, 1, 0)  # to (n_x, m, T_x)
    course_x = x.transpose(ours_layout)
    if isinstance(model, LayerStack):
        dtype = model.dtype
        out = model.forward(course_x.astype(dtype), lengths=lengths)
    else:
        dtype = np.dtype(model.dtype)
        out = model.predict_proba(course_x, lengths=lengths)
    # back to the source's layout
    ours = out.T if out.ndim == 2 else out.transpose((1, 2, 0) if batch_first else (2, 1, 0))
    if ours.shape != expected.shape:
        raise ValueError(
            f"verify's outputs must have the shape of the source's for that input, "
            f"{ours.shape}, got {expected.shape}"
        )
    diff = np.abs(ours - expected).astype(np.float64)
    if lengths is not None and ours.ndim == 3:
        steps = np.arange(ours.shape[1 if batch_first else 0])
        valid = steps[None, :] < np.asarray(lengths)[:, None]  # (m, T_x)
        diff[~(valid if batch_first else valid.T)] = 0
    tol = TOLERANCE[np.dtype(dtype)] if tolerance is None else tolerance
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    worst = float(np.max(diff, initial=0.0))
    if not worst <= tol * scale:  # also for NaN
        i = tuple(int(k) for k in np.unravel_index(np.nanargmax(diff), diff.shape))
        raise ParityError(
            f"crnn's outputs differ from the source's by {worst:.3g} at index {i} "
            f"(crnn {ours[i]!r}, source {expected[i]!r}); the tolerance is "
            f"{tol:g} × {scale:g}"
        )


def to_numpy(value, name, dtype=None):
    """A source's weight as a new numpy array: a tensor of any framework (without
    importing it) or an array-like, of float32 or float64, or converted to dtype.

    name -- what messages call it: the key or attribute in the source
    """
    if dtype is not None and np.dtype(dtype) not in TOLERANCE:
        raise ConversionError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
    try:
        if hasattr(value, "detach"):  # a torch tensor
            value = value.detach().cpu()
            if str(value.dtype) not in ("torch.float32", "torch.float64"):
                if dtype is None:
                    raise ConversionError(
                        f"{name} is {value.dtype}: crnn computes in float32 or float64 "
                        "(pass dtype=)"
                    )
                value = value.double()  # bfloat16 and others have no numpy dtype
            value = value.numpy()
        elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # tf, keras
            value = value.numpy()
        arr = np.array(value, copy=True)
    except ConversionError:
        raise
    except Exception as exc:  # a tensor on a device, a ragged list, ...
        raise ConversionError(f"{name} is not an array of numbers: {exc}") from None
    if arr.dtype.kind not in "fiu":
        raise ConversionError(f"{name} holds {arr.dtype} values: crnn's weights are real")
    if dtype is not None:
        arr = arr.astype(dtype)
    if arr.dtype not in TOLERANCE:
        raise ConversionError(
            f"{name} is {arr.dtype}: crnn computes in float32 or float64 (pass dtype=)"
        )
    if not np.isfinite(arr).all():
        raise ConversionError(f"{name} holds non-finite values")
    return arr


def output_layer(weight, bias, names, width, dtype, transposed=False):
    """(W (n_y, width), b (n_y,)) of a source's output layer.

    Arguments:
    weight -- its weight, (n_y, width), or (width, n_y) with transposed (Keras's kernel)
    bias -- its bias (n_y,), or None for zeros
    names -- what messages call the weight and the bias
    width -- the features of the recurrent layers' output, which it reads
    dtype -- as for to_numpy
    """
    given = to_numpy(weight, names[0], dtype)
    W = given.T if transposed and given.ndim == 2 else given
    if W.ndim != 2 or W.shape[1] != width or W.shape[0] < 1:
        form = f"({width}, n_y)" if transposed else f"(n_y, {width})"
        raise ConversionError(
            f"{names[0]} must be {form} to read the recurrent layers' {width} output "
            f"features, got shape {given.shape}"
        )
    if bias is None:
        return np.ascontiguousarray(W), np.zeros(W.shape[0], W.dtype)
    b = to_numpy(bias, names[1], W.dtype)
    check_shape(b, (W.shape[0],), names[1])
    return np.ascontiguousarray(W), b


def check_shape(arr, shape, name):
    """ConversionError naming the weight unless arr has the shape it needs."""
    if arr.shape != tuple(shape):
        raise ConversionError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")


def verify_given(model, given, batch_first):
    """verify() with what a from_* was handed as verify=: (x, outputs) or (x, outputs,
    lengths), x and outputs in the source's layout."""
    if not isinstance(given, tuple) or len(given) not in (2, 3):
        raise ValueError("verify must be a tuple (x, outputs) or (x, outputs, lengths)")
    x, outputs, *lengths = given
    verify(
        model,
        to_numpy(x, "verify's x", np.float64),
        to_numpy(outputs, "verify's outputs", np.float64),
        batch_first=batch_first,
        lengths=lengths[0] if lengths else None,
    )
