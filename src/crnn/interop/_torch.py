"""PyTorch's nn.RNN, nn.LSTM and nn.GRU (with the nn.Linear that reads them), in and out.

A module's weights are its state dict: ``weight_ih_l{k}``, ``weight_hh_l{k}``,
``bias_ih_l{k}``, ``bias_hh_l{k}``, with ``_reverse`` for a second direction, gates
stacked in PyTorch's order (crnn._torch_layout). Nothing here imports torch: a module
hands over its state dict, a tensor its numpy array.
"""

import re

import numpy as np

from crnn._torch_layout import GATES, from_crnn, to_crnn
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

__all__ = ["from_torch", "to_torch_state_dict", "torch_network"]

_KEY = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?")
_CELLS = {len(gates): cell for cell, gates in GATES.items()}
_MODULES = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}
_NONLINEARITIES = ("tanh", "relu")


def _module_state(module):
    """(state dict, cell, nonlinearity, batch_first) of an nn.RNN, nn.LSTM or nn.GRU."""
    kind = type(module).__name__
    if kind not in _MODULES:
        raise ConversionError(f"module must be nn.RNN, nn.LSTM or nn.GRU, got {kind}")
    if getattr(module, "proj_size", 0):
        raise ConversionError(
            f"proj_size={module.proj_size}: crnn's LSTM has no projection of its states"
        )
    return (
        module.state_dict(),
        _MODULES[kind],
        getattr(module, "nonlinearity", "tanh"),
        bool(module.batch_first),
    )


def torch_network(state, linear=None, *, cell=None, nonlinearity="tanh", dtype=None, what="module"):
    """The Network of a recurrent module's state dict and its Linear's (crnn.interop's
    normal form); see from_torch."""
    if nonlinearity not in _NONLINEARITIES:
        raise ConversionError(f'nonlinearity must be "tanh" or "relu", got {nonlinearity!r}')
    state = dict(state)
    unknown = sorted(k for k in state if not _KEY.fullmatch(str(k)))
    if unknown:
        raise ConversionError(
            f"the {what}'s state dict has keys that are not weights of nn.RNN, nn.LSTM or "
            f"nn.GRU: {unknown} (an LSTM with proj_size is not supported)"
        )
    if "weight_hh_l0" not in state:
        raise ConversionError(f"the {what}'s state dict has no key 'weight_hh_l0'")
    w_hh = to_numpy(state["weight_hh_l0"], "weight_hh_l0", dtype)
    dtype = w_hh.dtype
    rows, n_a = w_hh.shape if w_hh.ndim == 2 else (0, 0)
    found = _CELLS.get(rows // n_a if n_a and rows % n_a == 0 else 0)
    if found is None:
        raise ConversionError(
            f"weight_hh_l0 must be (G·n_a, n_a) with G = 1 (RNN), 3 (GRU) or 4 (LSTM) "
            f"gates, got shape {w_hh.shape}"
        )
    if cell is not None and cell != found:
        raise ConversionError(
            f"weight_hh_l0 of shape {w_hh.shape} has the gates of the {found.upper()}, "
            f"not of the {cell.upper()}"
        )
    matches = [_KEY.fullmatch(k) for k in state]
    numbers = sorted({int(m.group(2)) for m in matches})
    # every layer's keys, 0 .. num_layers-1: a key's number alone sets no size
    gap = next((k for k, number in enumerate(numbers) if number != k), None)
    if gap is not None:
        raise ConversionError(
            f"the {what}'s state dict has keys of layer {numbers[gap]} but none of layer "
            f"{gap} (weight_hh_l{gap})"
        )
    num_layers = len(numbers)
    bidirectional = any(m.group(3) for m in matches)
    bias = any(m.group(1).startswith("bias") for m in matches)
    names = [f"l{k}{d}" for k in range(num_layers) for d in ("", "_reverse")[: 1 + bidirectional]]
    kinds = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if bias else ())
    missing = [f"{w}_{n}" for n in names for w in kinds if f"{w}_{n}" not in state]
    if missing:
        raise ConversionError(
            f"the {what}'s state dict of {num_layers} "
            f"{'bidirectional ' if bidirectional else ''}layers misses {missing}"
        )
    G = rows // n_a
    width = (1 + bidirectional) * n_a
    layers = []
    for n in names:
        w = {key: to_numpy(state[f"{key}_{n}"], f"{key}_{n}", dtype) for key in kinds}
        n_in = width
        if n.split("_")[0] == "l0":  # the bottom layer reads x, of any n_x >= 1
            n_in = w["weight_ih"].shape[1] if w["weight_ih"].ndim == 2 else 0
            if n_in < 1:
                raise ConversionError(
                    f"weight_ih_{n} must have shape ({G * n_a}, n_x) with n_x >= 1, got "
                    f"{w['weight_ih'].shape}"
                )
        shapes = {
            "weight_ih": (G * n_a, n_in),
            "weight_hh": (G * n_a, n_a),
            "bias_ih": (G * n_a,),
            "bias_hh": (G * n_a,),
        }
        for key in kinds:
            check_shape(w[key], shapes[key], f"{key}_{n}")
        zeros = np.zeros(G * n_a, dtype)
        layers.append(
            to_crnn(
                found,
                True,
                w["weight_ih"],
                w["weight_hh"],
                w.get("bias_ih", zeros),
                w.get("bias_hh", zeros),
            )
        )
    head = None
    if linear is not None:
        head = _linear(linear, width, dtype)
    options = {"rnn": {"activation": nonlinearity}, "gru": {"reset_after": True}}.get(found, {})
    return Network(found, options, layers, bidirectional, "concat", head)


def _linear(linear, width, dtype):
    """(W, b) of an nn.Linear or its state dict, reading width features."""
    if hasattr(linear, "state_dict") and not isinstance(linear, dict):
        if type(linear).__name__ != "Linear":
            raise ConversionError(f"linear must be nn.Linear, got {type(linear).__name__}")
        linear = linear.state_dict()
    linear = dict(linear)
    extra = sorted(set(linear) - {"weight", "bias"})
    if extra or "weight" not in linear:
        raise ConversionError(
            f"linear's state dict must hold 'weight' and 'bias' (or 'weight' alone), "
            f"got keys {sorted(linear)}"
        )
    return output_layer(
        linear["weight"], linear.get("bias"), ("linear.weight", "linear.bias"), width, dtype
    )


def from_torch(
    module,
    linear=None,
    *,
    nonlinearity="tanh",
    batch_first=False,
    dtype=None,
    verify=None,
):
    """crnn's model of a PyTorch recurrent module, and of the nn.Linear that reads it.

    Arguments:
    module -- nn.RNN (tanh or relu), nn.LSTM or nn.GRU, any num_layers, bidirectional,
              batch_first and bias; or its state_dict() (tensors or numpy arrays)
    linear -- None, or the nn.Linear applied to the module's output at every step (or
              its state dict), followed by a softmax
    nonlinearity -- for a state dict of nn.RNN: "tanh" or "relu" (a module tells its own)
    batch_first -- for verify= with a state dict: whether its x is (m, T_x, n_x)
    dtype -- None to compute in the weights' dtype (float32 or float64), or a dtype
    verify -- None, or (x, outputs): an input in the module's layout and what PyTorch gave
              for it (the softmax of linear's outputs with linear, else the module's
              output sequence); ParityError if crnn's outputs differ beyond
              crnn.interop.TOLERANCE. For packed sequences, (x, outputs, lengths): only
              each sequence's own steps are compared (PyTorch pads with zeros past them)

    Returns:
    model -- with linear, a fitted crnn.SequenceTagger whose classes are 0 .. n_y-1
             (predict_proba gives the softmax); else a crnn.layers.LayerStack
    """
    what = "module"
    if isinstance(module, dict):
        state, cell = module, None
        what = "state dict"
    else:
        state, cell, nonlinearity, batch_first = _module_state(module)
    network = torch_network(
        state, linear, cell=cell, nonlinearity=nonlinearity, dtype=dtype, what=what
    )
    model = build(network)
    if verify is not None:
        verify_given(model, verify, batch_first)
    return model


def to_torch_state_dict(model, *, rnn=None, linear="linear"):
    """The weights of a crnn model under PyTorch's names, as numpy arrays.

    Arguments:
    model -- a crnn.layers.LayerStack, or a fitted SequenceTagger or SequenceClassifier
             (the GRU in the reset_after convention, the only one nn.GRU computes)
    rnn -- the prefix of the recurrent module's keys: None for none with a LayerStack
           (an nn.RNN/LSTM/GRU loads them) and "rnn" with a model
    linear -- the prefix of the output layer's keys, with a model

    Returns:
    state -- dict of numpy arrays: ``{rnn}.weight_ih_l0``, ..., ``{linear}.weight``,
             ``{linear}.bias``, for ``load_state_dict`` after ``torch.from_numpy``
    """
    network = describe(model)
    if network.cell == "gru" and not network.options.get("reset_after"):
        raise ConversionError(
            "nn.GRU computes the reset_after convention only; this GRU has the lecture's"
        )
    if network.bidirectional and network.merge != "concat":
        raise ConversionError(f'PyTorch concatenates two directions; merge="{network.merge}"')
    if rnn is None:
        rnn = "" if network.head is None else "rnn"
    prefix = f"{rnn}." if rnn else ""
    state = {}
    for name, layer in zip(network.names, network.layers):
        suffix = "_l" + name[len("layer") :]
        arrays = from_crnn(network.cell, True, layer)
        for key, arr in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), arrays):
            state[f"{prefix}{key}{suffix}"] = np.ascontiguousarray(arr)
    if network.head is not None:
        W, b = network.head
        state[f"{linear}.weight"] = np.ascontiguousarray(W)
        state[f"{linear}.bias"] = np.ascontiguousarray(b)
    return state
