"""Keras 3's SimpleRNN, LSTM and GRU (stacked, in a Bidirectional, with the Dense that
reads them), in and out.

A Keras recurrent layer's weights are what ``layer.get_weights()`` returns: ``kernel``
(n_in, G·n_a), ``recurrent_kernel`` (n_a, G·n_a) and, with ``use_bias``, ``bias`` (G·n_a,),
the G gates side by side on the last axis: the LSTM's i, f, c, o (PyTorch's order), the
GRU's z, r, h (PyTorch's r, z, n reordered; Keras's z is PyTorch's update gate). The GRU
with ``reset_after=True`` (Keras's default, PyTorch's convention) has the bias (2, 3·n_a):
the input bias, then the recurrent one; with ``reset_after=False`` (the lecture's) one
bias (3·n_a,). A Bidirectional's weights are its forward layer's, then its backward
layer's; a Dense's ``kernel`` (n_in, n_y), ``bias`` (n_y,). Each layer and direction goes
through PyTorch's layout (crnn._torch_layout) to crnn's parameters. Nothing here imports
keras: a layer hands over its attributes and its weights.
"""

import numpy as np

from crnn._torch_layout import GATES, from_crnn, gate_blocks, to_crnn
from crnn.interop._network import (
    ConversionError,
    Network,
    build,
    check_shape,
    describe,
    output_layer,
    to_numpy,
    verify_given,
)

__all__ = ["from_keras", "to_keras_weights", "keras_network"]

#: Keras's recurrent cells, by class name, and crnn's cell of each.
_CELLS = {"SimpleRNNCell": "rnn", "LSTMCell": "lstm", "GRUCell": "gru"}
_KERAS_NAMES = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
_ACTIVATIONS = {"rnn": ("tanh", "relu"), "lstm": ("tanh",), "gru": ("tanh",)}
_MERGES = ("concat", "sum")
#: Keras's gate blocks of the GRU (z, r, h) in PyTorch's order (r, z, n), and back.
_GRU_TO_TORCH = (1, 0, 2)
_ROLES = ("kernel", "recurrent_kernel", "bias")


def _classes(obj):
    """The names of obj's class and its bases (a subclass of LSTM is an LSTM)."""
    return {c.__name__ for c in type(obj).__mro__}


def _is_layer(obj):
    """Whether obj is a Keras layer (or model), told without importing keras."""
    return hasattr(obj, "get_weights") and not isinstance(obj, (list, tuple, np.ndarray))


def _name(fn):
    """The name of a Keras activation: its function's name, or the string given."""
    return fn if isinstance(fn, str) else getattr(fn, "__name__", repr(fn))


class _Layer:
    """One Keras recurrent layer in crnn's terms: its cell and options, its form, and the
    weights of each direction (lists of arrays, named for messages)."""

    def __init__(self, what, cell, options, directions, names, bidirectional, merge, sequences):
        self.what, self.cell, self.options = what, cell, options
        self.directions, self.names = directions, names
        self.bidirectional, self.merge, self.return_sequences = bidirectional, merge, sequences

    def form(self):
        return (self.cell, sorted(self.options.items()), self.bidirectional, self.merge)

    def describe_form(self):
        options = "".join(f", {k}={v!r}" for k, v in sorted(self.options.items()))
        wrapper = f"Bidirectional(merge_mode={self.merge!r}) of " if self.bidirectional else ""
        return f"{wrapper}{_KERAS_NAMES[self.cell]}{options and ' (' + options[2:] + ')'}"


def _check_options(cell, activation, reset_after, what):
    """crnn's options of a cell, ConversionError naming the attribute it cannot compute."""
    if activation not in _ACTIVATIONS[cell]:
        allowed = " or ".join(f'"{a}"' for a in _ACTIVATIONS[cell])
        raise ConversionError(
            f"{what}: activation must be {allowed} for crnn's {cell.upper()}, got {activation!r}"
        )
    if cell == "rnn":
        return {"activation": activation}
    if cell == "gru":
        if reset_after not in (False, True):
            raise ConversionError(f"{what}: reset_after must be True or False, got {reset_after!r}")
        return {"reset_after": reset_after}
    return {}


def _keras_direction(layer, what):
    """(cell, options, weights, names, return_sequences) of a plain Keras recurrent layer."""
    cell_object = getattr(layer, "cell", None)
    found = [_CELLS[c] for c in _classes(cell_object) if c in _CELLS]
    if not found:
        raise ConversionError(
            f"{what}: its cell is {type(cell_object).__name__}; crnn reads SimpleRNN, LSTM "
            "and GRU (or keras.layers.RNN of a SimpleRNNCell, LSTMCell or GRUCell)"
        )
    cell = found[0]
    if getattr(layer, "stateful", False):
        raise ConversionError(
            f"{what}: stateful=True carries the states from one batch to the next; crnn "
            "starts every sequence from zero states"
        )
    activation = _name(getattr(cell_object, "activation", None))
    if cell != "rnn":
        recurrent = _name(getattr(cell_object, "recurrent_activation", None))
        if recurrent != "sigmoid":
            raise ConversionError(
                f'{what}: recurrent_activation must be "sigmoid" (crnn\'s gates), got {recurrent!r}'
            )
    options = _check_options(cell, activation, getattr(cell_object, "reset_after", None), what)
    weights = list(layer.get_weights())
    variables = list(getattr(layer, "weights", []))
    names = [str(getattr(v, "path", getattr(v, "name", ""))) for v in variables]
    if len(names) != len(weights) or not all(names):
        names = [f"{what}'s {role}" for role in _ROLES[: len(weights)]]
    use_bias = bool(getattr(cell_object, "use_bias", True))
    if len(weights) != 2 + use_bias:
        raise ConversionError(
            f"{what} has {len(weights)} weights, needs {2 + use_bias} (kernel, "
            f"recurrent_kernel{', bias' if use_bias else ''}); a layer not built yet has "
            "none: call it on an input first"
        )
    return cell, options, weights, names, bool(getattr(layer, "return_sequences", False))


def _keras_layer(layer, what):
    """The _Layer of a Keras SimpleRNN, LSTM, GRU, RNN, or a Bidirectional of one."""
    if "Bidirectional" not in _classes(layer):
        if getattr(layer, "go_backwards", False):
            raise ConversionError(
                f"{what}: go_backwards=True outside a Bidirectional returns its outputs from "
                "the last step to the first; crnn runs a reverse direction only beside a "
                "forward one (Bidirectional)"
            )
        cell, options, weights, names, sequences = _keras_direction(layer, what)
        return _Layer(what, cell, options, [weights], [names], False, "concat", sequences)
    merge = getattr(layer, "merge_mode", None)
    if merge not in _MERGES:
        raise ConversionError(
            f'{what}: merge_mode must be "concat" or "sum" (crnn\'s merges), got {merge!r}'
        )
    forward, backward = layer.forward_layer, layer.backward_layer
    if getattr(forward, "go_backwards", False) or not getattr(backward, "go_backwards", True):
        raise ConversionError(
            f"{what}: its forward_layer must have go_backwards=False and its backward_layer "
            "go_backwards=True"
        )
    f = _keras_direction(forward, f"{what}'s forward_layer")
    b = _keras_direction(backward, f"{what}'s backward_layer")
    if f[:2] != b[:2] or f[2][1].shape != b[2][1].shape or len(f[2]) != len(b[2]):
        raise ConversionError(
            f"{what}: its forward_layer and backward_layer must be the same cell with the same "
            f"units and options, got {f[0]} {f[1]} with recurrent_kernel {f[2][1].shape} "
            f"and {b[0]} {b[1]} with {b[2][1].shape}"
        )
    return _Layer(what, f[0], f[1], [f[2], b[2]], [f[3], b[3]], True, merge, f[4] and b[4])


def _dense_layer(dense, what):
    """(weights, names, what) of a Keras Dense (or TimeDistributed Dense)."""
    if "TimeDistributed" in _classes(dense):
        dense = dense.layer
        what = f"{what}'s layer"
    if "Dense" not in _classes(dense):
        raise ConversionError(f"{what} must be a Dense, got {type(dense).__name__}")
    activation = _name(getattr(dense, "activation", None))
    if activation not in ("softmax", "linear"):
        raise ConversionError(
            f'{what}: activation must be "softmax" or "linear" (crnn applies a softmax to the '
            f"Dense's outputs), got {activation!r}"
        )
    weights = list(dense.get_weights())
    use_bias = bool(getattr(dense, "use_bias", True))
    if len(weights) != 1 + use_bias:
        raise ConversionError(
            f"{what} has {len(weights)} weights, needs {1 + use_bias} (kernel"
            f"{', bias' if use_bias else ''}); a layer not built yet has none"
        )
    return weights, [f"{what}'s {role}" for role in ("kernel", "bias")[: len(weights)]]


def _is_dense_weights(entry):
    """Whether a list of arrays is a Dense's [kernel] or [kernel, bias]."""
    return len(entry) == 1 or (len(entry) == 2 and np.ndim(entry[1]) == 1)


def _weights_layer(entry, what, cell, options, merge, sequences):
    """The _Layer of one layer's get_weights() list (a Bidirectional's: twice as long)."""
    if not isinstance(entry, (list, tuple)):
        raise ConversionError(
            f"{what} must be a list of arrays (a layer's get_weights()), got {type(entry).__name__}"
        )
    n = len(entry)
    if n not in (2, 3, 4, 6):
        raise ConversionError(
            f"{what} holds {n} arrays: a SimpleRNN's, LSTM's or GRU's get_weights() has 3 "
            "(kernel, recurrent_kernel, bias), or 2 without a bias, and a Bidirectional's "
            "twice that (forward, then backward)"
        )
    bidirectional = n in (4, 6)
    if bidirectional and merge not in _MERGES:
        raise ConversionError(f'merge_mode must be "concat" or "sum", got {merge!r}')
    merge = merge if bidirectional else "concat"
    per = n // (1 + bidirectional)
    directions = [list(entry[k * per : (k + 1) * per]) for k in range(1 + bidirectional)]
    sides = ("forward ", "backward ") if bidirectional else ("",)
    names = [
        [f"{what}[{k * per + j}] ({side}{role})" for j, role in enumerate(_ROLES[:per])]
        for k, side in enumerate(sides)
    ]
    return _Layer(what, cell, options, directions, names, bidirectional, merge, sequences)


def _direction(layer, k, cell, options, n_in, dtype):
    """crnn's parameters of a _Layer's direction k, reading n_in features (None: any)."""
    weights, names = layer.directions[k], layer.names[k]
    G = len(GATES[cell])
    arrays = []
    for w, name in zip(weights, names):
        arrays.append(to_numpy(w, name, dtype))
        dtype = arrays[0].dtype  # the first weight's, for all
    kernel, recurrent = arrays[0], arrays[1]
    if recurrent.ndim != 2 or recurrent.shape[1] != G * recurrent.shape[0] or not recurrent.size:
        raise ConversionError(
            f"{names[1]} must be (n_a, {G}·n_a) for the {_KERAS_NAMES[cell]}, got shape "
            f"{recurrent.shape}"
        )
    n_a = recurrent.shape[0]
    rows = n_in if n_in is not None else kernel.shape[0] if kernel.ndim == 2 else 0
    if kernel.shape != (rows, G * n_a) or rows < 1:
        reads = "n_x" if n_in is None else f"{n_in}: the features of the layer below"
        raise ConversionError(
            f"{names[0]} must be ({reads}, {G * n_a}) beside {names[1]} of shape "
            f"{recurrent.shape}, got shape {kernel.shape}"
        )
    zeros = np.zeros(G * n_a, dtype)
    b_ih, b_hh = zeros, zeros
    if len(arrays) == 3:
        bias = arrays[2]
        two = cell == "gru" and options["reset_after"]
        if cell == "gru" and bias.shape != ((2, G * n_a) if two else (G * n_a,)):
            other = (G * n_a,) if two else (2, G * n_a)
            hint = (
                f" (the bias of reset_after={not two}: pass reset_after={not two})"
                if bias.shape == other
                else ""
            )
            raise ConversionError(
                f"{names[2]} must be {(2, G * n_a) if two else (G * n_a,)} for the GRU with "
                f"reset_after={two}, got shape {bias.shape}{hint}"
            )
        check_shape(bias, (2, G * n_a) if two else (G * n_a,), names[2])
        b_ih, b_hh = (bias[0], bias[1]) if two else (bias, zeros)
    w_ih, w_hh = kernel.T, recurrent.T
    if cell == "gru":  # Keras's z, r, h blocks to PyTorch's r, z, n
        w_ih, w_hh, b_ih, b_hh = (gate_blocks(w, _GRU_TO_TORCH) for w in (w_ih, w_hh, b_ih, b_hh))
    w_ih, w_hh, b_ih, b_hh = (np.ascontiguousarray(w) for w in (w_ih, w_hh, b_ih, b_hh))
    return to_crnn(cell, options.get("reset_after", False), w_ih, w_hh, b_ih, b_hh), n_a, dtype


def _read(layer_or_weights, dense, cell, reset_after, activation, sequences, merge):
    """(the _Layers bottom first, the Dense's (weights, names) or None)."""
    source = layer_or_weights
    if _is_layer(source) and "Sequential" in _classes(source):
        items = list(source.layers)
    elif _is_layer(source):
        if "Model" in _classes(source) or "Functional" in _classes(source):
            raise ConversionError(
                f"a {type(source).__name__} model: from_keras reads a keras.Sequential, or "
                "the list of a model's layers if they form one chain"
            )
        items = [source]
    elif isinstance(source, (list, tuple)) and source and all(_is_layer(s) for s in source):
        items = list(source)
    elif isinstance(source, (list, tuple)) and source:
        return _read_weights(list(source), dense, cell, reset_after, activation, sequences, merge)
    else:
        raise ConversionError(
            "layer_or_weights must be a Keras recurrent layer, a Bidirectional, a "
            "keras.Sequential or a list of layers, or their get_weights() lists, got "
            f"{type(source).__name__}{' (empty)' if isinstance(source, (list, tuple)) else ''}"
        )
    layers, head = [], None
    for k, item in enumerate(items):
        classes = _classes(item)
        what = f"layer {k} ({getattr(item, 'name', type(item).__name__)!r})"
        if "InputLayer" in classes or "Dropout" in classes:
            continue  # no weights; Dropout passes its input on when predicting
        if head is not None:
            raise ConversionError(
                f"{what} follows the Dense: from_keras reads recurrent layers, then one Dense"
            )
        if "Dense" in classes or "TimeDistributed" in classes:
            head = _dense_layer(item, what)
            continue
        if not ({"RNN", "Bidirectional"} & classes):
            raise ConversionError(
                f"{what} is a {type(item).__name__}: from_keras reads SimpleRNN, LSTM, GRU "
                "(or keras.layers.RNN of their cells), Bidirectional of one, Dropout, and "
                "a last Dense"
            )
        layers.append(_keras_layer(item, what))
    if not layers:
        raise ConversionError("layer_or_weights holds no recurrent layer")
    if dense is not None:
        if head is not None:
            raise ConversionError("the layers end in a Dense already; dense= must be None")
        head = _dense_arg(dense)
    return layers, head


def _dense_arg(dense):
    """(weights, names) of dense=: a Dense layer or its get_weights() list."""
    if _is_layer(dense):
        return _dense_layer(dense, "dense")
    if not isinstance(dense, (list, tuple)) or not _is_dense_weights(dense):
        raise ConversionError(
            "dense must be a Keras Dense or its get_weights() list [kernel, bias] (or "
            f"[kernel]), got {type(dense).__name__}"
            f"{f' of {len(dense)} arrays' if isinstance(dense, (list, tuple)) else ''}"
        )
    return list(dense), [f"dense[{j}] ({role})" for j, role in enumerate(("kernel", "bias"))]


def _read_weights(source, dense, cell, reset_after, activation, sequences, merge):
    """_read of get_weights() lists."""
    if cell not in _ACTIVATIONS:
        raise ConversionError(
            f'cell must be "rnn", "lstm" or "gru" with weights (a Keras layer tells its '
            f"own), got {cell!r}"
        )
    options = _check_options(cell, activation, reset_after, "weights")
    if all(isinstance(e, (list, tuple)) for e in source):  # a stack, maybe with its Dense
        entries = list(source)
        head = None
        if len(entries) > 1 and _is_dense_weights(entries[-1]):
            head = (
                list(entries.pop()),
                [
                    f"weights[{len(entries)}][{j}] (Dense {role})"
                    for j, role in enumerate(("kernel", "bias"))
                ],
            )
        names = [f"weights[{k}]" for k in range(len(entries))]
    else:
        entries, names, head = [source], ["weights"], None
    layers = [
        _weights_layer(entry, name, cell, options, merge, True)
        for entry, name in zip(entries, names)
    ]
    layers[-1].return_sequences = bool(sequences)
    if dense is not None:
        if head is not None:
            raise ConversionError("the weights end in a Dense's already; dense= must be None")
        head = _dense_arg(dense)
    return layers, head


def keras_network(
    layer_or_weights,
    dense=None,
    *,
    cell=None,
    reset_after=True,
    activation="tanh",
    return_sequences=True,
    merge_mode="concat",
    dtype=None,
):
    """The Network of Keras recurrent layers and their Dense (crnn.interop's normal
    form); see from_keras."""
    layers, head = _read(
        layer_or_weights, dense, cell, reset_after, activation, return_sequences, merge_mode
    )
    first = layers[0]
    for layer in layers[1:]:
        if layer.form() != first.form():
            raise ConversionError(
                f"the layers of a stack must be alike: {first.what} is "
                f"{first.describe_form()}, {layer.what} {layer.describe_form()}"
            )
    for layer in layers[:-1]:
        if not layer.return_sequences:
            raise ConversionError(
                f"{layer.what}: return_sequences=False below the top layer; the layer above "
                "reads every step"
            )
    cell, options = first.cell, first.options
    params, n_in, n_a = [], None, None
    for layer in layers:
        for k in range(len(layer.directions)):
            p, units, dtype = _direction(layer, k, cell, options, n_in, dtype)
            if n_a is not None and units != n_a:
                raise ConversionError(
                    f"the layers of a stack must have the same units: {first.what} has "
                    f"{n_a}, {layer.what} {units}"
                )
            n_a = units
            params.append(p)
        n_in = 2 * n_a if first.bidirectional and first.merge == "concat" else n_a
    pooling = None if layers[-1].return_sequences else "last"
    network_head = None
    if head is not None:
        network_head = _head(head, n_in, dtype)
    elif pooling:
        raise ConversionError(
            f"{layers[-1].what}: return_sequences=False without a Dense; crnn's layer stack "
            "returns every step's output (keep return_sequences=True, or give the Dense)"
        )
    return Network(cell, options, params, first.bidirectional, first.merge, network_head, pooling)


def _head(head, width, dtype):
    """(W, b) of a Dense's weights, reading width features."""
    weights, names = head
    bias = weights[1] if len(weights) == 2 else None
    return output_layer(weights[0], bias, names, width, dtype, transposed=True)


def from_keras(
    layer_or_weights,
    dense=None,
    *,
    cell=None,
    reset_after=True,
    activation="tanh",
    return_sequences=True,
    merge_mode="concat",
    dtype=None,
    verify=None,
):
    """crnn's model of Keras 3 recurrent layers, and of the Dense that reads them.

    Arguments:
    layer_or_weights -- a SimpleRNN (tanh or relu), LSTM or GRU (reset_after True or
                        False), or keras.layers.RNN of their cells; a Bidirectional of
                        one (merge_mode "concat" or "sum"); or a keras.Sequential or list
                        of such layers, alike, stacked (num_layers), maybe ending in the
                        Dense (Dropout layers are passed over: they do nothing when
                        predicting). Or, without keras, the list layer.get_weights()
                        returns (a Bidirectional's: forward, then backward), or a list of
                        such lists for a stack, maybe ending in the Dense's [kernel, bias]
    dense -- None, or the Dense (or its [kernel, bias]) applied to the top layer's outputs:
             its activation "softmax", or "linear", crnn applying the softmax anyway
    cell -- with weights: "rnn" (SimpleRNN), "lstm" or "gru" (a layer tells its own, as
            it tells the four arguments below)
    reset_after -- with a GRU's weights: its convention, True (Keras's default, bias
                   (2, 3·n_a)) or False (the lecture's, bias (3·n_a,)); without biases
                   the weights do not tell, so give it
    activation -- with a SimpleRNN's weights: "tanh" or "relu"
    return_sequences -- with weights: the top layer's; False (a classifier, which needs
                        the Dense) reads the last states, the forward direction's at the
                        last step and the backward one's at step 0
    merge_mode -- with a Bidirectional's weights: "concat" or "sum"
    dtype -- None to compute in the weights' dtype (float32 or float64), or a dtype
    verify -- None, or (x, outputs): an input as Keras takes it, (m, T_x, n_x), and what
              Keras gave for it (the softmax's probabilities with the Dense, whichever
              its activation; else the top layer's outputs); ParityError if crnn's
              outputs differ beyond crnn.interop.TOLERANCE

    Returns:
    model -- with the Dense, a fitted crnn.SequenceTagger whose classes are 0 .. n_y-1
             (predict_proba gives the softmax), or with return_sequences=False a
             crnn.SequenceClassifier(pooling="last"); else a crnn.layers.LayerStack

    Keras's features crnn does not compute (another activation or recurrent_activation,
    merge_mode "mul", "ave" or None, stateful=True, go_backwards=True outside a
    Bidirectional, a stack of unlike layers) raise ConversionError, as do missing, extra
    or misshaped weights, named. dropout and recurrent_dropout do nothing when
    predicting, and unroll, use_cudnn and unit_forget_bias change no output.

    Keras 3 outside TensorFlow (torch, jax) computes a float64 layer's products in float32
    (keras-team/keras#23704): such a model's outputs are float64 but agree with crnn's
    float64 ones only to about 1e-7, beyond float64's tolerance; verify it with
    dtype="float32", or with Keras computing in float64 (the TensorFlow backend).
    """
    network = keras_network(
        layer_or_weights,
        dense,
        cell=cell,
        reset_after=reset_after,
        activation=activation,
        return_sequences=return_sequences,
        merge_mode=merge_mode,
        dtype=dtype,
    )
    model = build(network)
    if verify is not None:
        verify_given(model, verify, batch_first=True)
    return model


def _keras_arrays(cell, reset_after, parameters):
    """[kernel, recurrent_kernel, bias] of one layer and direction of crnn's parameters."""
    w_ih, w_hh, b_ih, b_hh = from_crnn(cell, reset_after, parameters)
    if cell == "gru":  # PyTorch's r, z, n blocks to Keras's z, r, h (the same swap)
        w_ih, w_hh, b_ih, b_hh = (gate_blocks(w, _GRU_TO_TORCH) for w in (w_ih, w_hh, b_ih, b_hh))
    bias = np.stack((b_ih, b_hh)) if cell == "gru" and reset_after else b_ih + b_hh
    return [np.ascontiguousarray(w.T) for w in (w_ih, w_hh)] + [np.ascontiguousarray(bias)]


def to_keras_weights(model):
    """The weights of a crnn model for Keras 3's layers, as ``layer.set_weights`` takes them.

    Arguments:
    model -- a crnn.layers.LayerStack, or a fitted SequenceTagger or
             SequenceClassifier(pooling="last")

    Returns:
    weights -- list: for every layer, bottom first, its get_weights() list, [kernel
               (n_in, G·n_a), recurrent_kernel (n_a, G·n_a), bias], a bidirectional
               layer's the Bidirectional's (the forward layer's three, then the backward
               one's); then, for a model, the Dense's [kernel (n_out, n_y), bias (n_y,)].
               Numpy arrays in the model's dtype.

    The Keras model they fit, for a model of num_layers layers of n_a units reading n_x
    features (``Layer`` being SimpleRNN with the model's activation, LSTM, or GRU with
    reset_after=True for crnn's reset_after GRU, reset_after=False for the lecture's)::

        keras.Sequential([
            keras.Input((None, n_x), dtype=dtype),
            # num_layers times; for a bidirectional model each in
            # keras.layers.Bidirectional(..., merge_mode="concat") (a LayerStack's merge)
            Layer(n_a, return_sequences=True),   # False on the top one of a classifier
            keras.layers.Dense(n_y, activation="softmax"),  # a model's
        ])

    then ``for layer, w in zip(keras_model.layers, weights): layer.set_weights(w)``.
    A classifier with pooling="mean" raises ConversionError: Keras's layers above read
    the last states.
    """
    network = describe(model)
    if network.head is not None and network.pooling not in (None, "last"):
        raise ConversionError(
            f'pooling="{network.pooling}": the Keras layers above read the last states '
            '(return_sequences=False); only pooling="last" converts'
        )
    reset_after = bool(network.options.get("reset_after", False))
    directions = 1 + network.bidirectional
    weights = []
    for k in range(network.num_layers):
        entry = []
        for layer in network.layers[k * directions : (k + 1) * directions]:
            entry += _keras_arrays(network.cell, reset_after, layer)
        weights.append(entry)
    if network.head is not None:
        W, b = network.head
        weights.append([np.ascontiguousarray(W.T), np.ascontiguousarray(b)])
    return weights
