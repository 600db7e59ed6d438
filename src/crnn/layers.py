"""Stacked and bidirectional recurrent layers, in the course's style.

A stack of ``num_layers`` layers of one cell runs over ``x``: layer 0 reads ``x``, each
layer above reads the output of the layer below, with dropout between layers when
training. With ``bidirectional=True`` every layer has a second direction that runs each
example from its last step down to step 0 (``reverse=True`` of the course functions),
and the layer's output is the two directions' states merged on the feature axis:
concatenated (``merge="concat"``, 2·n_a features) or summed (``merge="sum"``, n_a). The
top layer's output feeds the output layer, ``y_pred = softmax(Wy·a + by)`` at every
step, as the course's cells do.

The parameters are one dict per layer and direction, named ``"layer0"``,
``"layer0_reverse"``, ``"layer1"``, ..., each with the cell's own keys (no output
layer), beside the output layer's ``"Wy"`` and ``"by"``; ``init_stack`` makes them.
"""

import numpy as np

from crnn._cellspec import check_lengths
from crnn._validate import as_array, check_parameters, expect_ndim
from crnn.cells import get_cell
from crnn.forms import pool_states, pool_states_backward, running_steps
from crnn.losses import softmax
from crnn.optim import initialize_parameters
from crnn.output_layer import output_layer_forward

__all__ = ["init_stack", "layer_names", "stack_forward", "stack_backward", "Stack", "LayerStack"]

MERGES = ("concat", "sum")


def layer_names(num_layers, bidirectional=False):
    """The names of the stack's parameter dicts, bottom layer first: "layer0",
    "layer0_reverse" (with bidirectional), "layer1", ..."""
    directions = ("", "_reverse") if bidirectional else ("",)
    return [f"layer{k}{d}" for k in range(num_layers) for d in directions]


def check_stack(num_layers, bidirectional, merge, dropout):
    """ValueError naming the argument unless the stack's form is one crnn runs."""
    if (
        isinstance(num_layers, bool)
        or not isinstance(num_layers, (int, np.integer))
        or num_layers < 1
    ):
        raise ValueError(f"num_layers must be an int >= 1, got {num_layers!r}")
    if bidirectional not in (False, True):
        raise ValueError(f"bidirectional must be True or False, got {bidirectional!r}")
    if merge not in MERGES:
        raise ValueError(f'merge must be "concat" or "sum", got {merge!r}')
    if (
        isinstance(dropout, bool)
        or not isinstance(dropout, (int, float, np.number))
        or not 0 <= dropout < 1
    ):
        raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")


def input_features(cell, layer, n_a):
    """n_x of a bottom layer's parameters (cell a crnn.cells cell)."""
    gate = cell.spec.gates[0]
    if gate.input is not None:
        return np.shape(layer[gate.input])[1]
    return np.shape(layer[gate.weight])[1] - n_a


def _width(n_a, bidirectional, merge):
    """The features of a layer's output."""
    return 2 * n_a if bidirectional and merge == "concat" else n_a


def init_stack(
    n_x,
    n_a,
    n_y,
    *,
    cell="rnn",
    num_layers=1,
    bidirectional=False,
    merge="concat",
    method="glorot",
    seed=None,
    dtype=np.float64,
    **options,
):
    """Initial parameters of a stack (see crnn.optim.initialize_parameters for method).

    Returns:
    parameters -- dict: one dict of the cell's parameters per layer and direction
                  (``layer_names``), and the output layer's "Wy" (n_y, n_out), "by"
                  (n_y, 1), n_out being the top layer's output features
    """
    check_stack(num_layers, bidirectional, merge, 0.0)
    rng = np.random.default_rng(seed)
    parameters = {}
    output_weight = get_cell(cell, **options).output_weight
    for name in layer_names(num_layers, bidirectional):
        # layer 0 reads x, every layer above the output of the one below
        n_in = n_x if name.startswith("layer0") else _width(n_a, bidirectional, merge)
        layer = initialize_parameters(n_in, n_a, 1, cell, method, rng, dtype, **options)
        del layer[output_weight], layer["by"]
        parameters[name] = layer
    n_in = _width(n_a, bidirectional, merge)
    # the output layer as the RNN's, initialised alike
    top = initialize_parameters(n_in, n_in, n_y, "rnn", method, rng, dtype)
    parameters["Wy"], parameters["by"] = top["Wya"], top["by"]
    return parameters


class StackCaches(tuple):
    """The caches of stack_forward: (list of layer caches, x), marked with the stack's
    form. A layer cache is (the forward direction's course caches, the reverse one's or
    None, the dropout mask applied to the layer's input or None)."""

    def __new__(cls, layers, x, form):
        self = super().__new__(cls, (layers, x))
        self.form = form
        return self

    def __reduce__(self):
        return StackCaches, (self[0], self[1], self.form)


def _initial_states(a0, names, n_a, m, dtype):
    """The initial hidden state of every layer and direction, by name."""
    if a0 is None:
        zeros = np.zeros((n_a, m), dtype)
        return dict.fromkeys(names, zeros)
    if isinstance(a0, dict):
        missing = [name for name in names if name not in a0]
        if missing:
            raise KeyError(f"a0 has no initial state for {missing}")
        return a0
    return dict.fromkeys(names, a0)


def _layer(name, run, *args, **kwargs):
    """run(*args, **kwargs), its errors naming the layer's parameters."""
    try:
        return run(*args, **kwargs)
    except KeyError as exc:
        raise KeyError(f'parameters["{name}"] has no key {exc.args[0]!r}') from None
    except (TypeError, ValueError) as exc:
        raise type(exc)(f'in layer "{name}": {exc}') from None


def stack_forward(
    x,
    a0,
    parameters,
    *,
    cell="rnn",
    num_layers=1,
    bidirectional=False,
    merge="concat",
    dropout=0.0,
    lengths=None,
    seed=None,
    **options,
):
    """The stack over a whole sequence, each layer and direction in one call into the
    engine.

    Arguments:
    x -- input for every step, of shape (n_x, m, T_x)
    a0 -- the initial hidden state of every layer and direction: None (zeros), one
          (n_a, m) array for all, or a dict of them by layer name
    parameters -- dict as init_stack makes it
    cell, options -- "rnn", "lstm" or "gru", and its options (activation=, reset_after=)
    num_layers, bidirectional, merge -- the stack's form (see the module's docstring)
    dropout -- in training, the probability with which each input feature of the layers
               above the first is dropped (the others scaled by 1/(1 - dropout)); 0 for
               prediction
    lengths -- None, or m integers in 1..T_x, as for the course's sequence functions
    seed -- int or numpy.random.Generator of the dropout masks

    Returns:
    a -- the top layer's output, of shape (n_out, m, T_x)
    y_pred -- softmax(Wy·a + by) at every step, of shape (n_y, m, T_x); zero past each
              example's length
    caches -- (list of layer caches, x), marked with the stack's form (StackCaches)
    """
    inp, layers, form = _stack_states(
        x, a0, parameters, cell, num_layers, bidirectional, merge, dropout, lengths, seed, options
    )
    for key in ("Wy", "by"):
        if key not in parameters:
            raise KeyError(f"parameters has no {key!r}, the output layer's")
    logits = output_layer_forward(inp, {"Wy": parameters["Wy"], "by": parameters["by"]}, "Wy")
    y = softmax(logits)
    if lengths is not None:
        y[:, ~running_steps(lengths, inp.shape[2])] = 0
    return inp, y, StackCaches(layers, x, form)


def _stack_states(
    x,
    a0,
    parameters,
    cell,
    num_layers,
    bidirectional,
    merge,
    dropout,
    lengths,
    seed,
    options,
    keep=True,
):
    """The top layer's output, the layer caches and the stack's form (see stack_forward);
    without keep, no caches (None in their place): the forward pass of prediction."""
    check_stack(num_layers, bidirectional, merge, dropout)
    kind = get_cell(cell, **options)
    check_parameters(parameters)
    xa = as_array("x", x)
    expect_ndim("x", xa, "(n_x, m, T_x)")
    if lengths is not None:  # checked here, so that no layer's name stands in its errors
        lengths = check_lengths(lengths, xa.shape[1], xa.shape[2])
    names = layer_names(num_layers, bidirectional)
    for key in names:
        if key not in parameters:
            raise KeyError(
                f"parameters has no {key!r} (a stack of {num_layers} "
                f"{'bidirectional ' if bidirectional else ''}layers has {names})"
            )
    first = parameters[names[0]]
    check_parameters(first)
    n_a = np.shape(_layer(names[0], lambda: first[kind.spec.gates[0].weight]))[0]
    states = _initial_states(
        a0, names, n_a, xa.shape[1], xa.dtype if xa.dtype.kind == "f" else np.float64
    )
    rng = np.random.default_rng(seed)
    layers, inp = [], xa
    for k in range(num_layers):
        mask = None
        if k and dropout:
            # in the layer's dtype: a float32 stack stays float32 both ways
            mask = ((rng.random(inp.shape) >= dropout) / (1.0 - dropout)).astype(inp.dtype)
            inp = inp * mask
        runs = []
        for name, reverse in zip(
            names[k * (1 + bidirectional) : (k + 1) * (1 + bidirectional)], (False, True)
        ):
            run = kind.hidden_forward if keep else _states_only(kind)
            runs.append(
                _layer(
                    name,
                    run,
                    inp,
                    states[name],
                    parameters[name],
                    lengths=lengths,
                    reverse=reverse,
                )
            )
        out = _merged([run[0] for run in runs], merge, last=k == num_layers - 1)
        layers.append((runs[0][1], runs[1][1] if bidirectional else None, mask))
        inp = out
    form = {
        "cell": cell,
        "options": options,
        "num_layers": num_layers,
        "bidirectional": bidirectional,
        "merge": merge,
        "n_a": n_a,
    }
    return inp, layers, form


def _merged(outputs, merge, last):
    """A layer's output from its directions' states: C-ordered but for the top layer's,
    so that the layer above, and its backward pass, read it in place."""
    if len(outputs) == 1:
        return outputs[0] if last else np.ascontiguousarray(outputs[0])
    first, second = outputs
    if merge == "concat":
        out = np.empty((2 * first.shape[0], *first.shape[1:]), first.dtype)
        return np.concatenate((first, second), out=out)
    return np.add(first, second, out=np.empty(first.shape, first.dtype))


def _states_only(kind):
    """kind.hidden_forward's states, with no caches."""
    return lambda *args, **kwargs: (kind.states(*args, **kwargs), None)


def stack_backward(da, caches, want_dx=True):
    """The backward pass of the stack, from the gradient of the top layer's output (the
    output layer is not differentiated, as in the course).

    Arguments:
    da -- upstream gradient of the top layer's output, of shape (n_out, m, T_x)
    caches -- the caches of stack_forward
    want_dx -- False to leave "dx" out (not computed): training needs only the
               parameters' gradients

    Returns:
    gradients -- dict with "dx" (n_x, m, T_x) and, by layer name, the course's gradient
                 dict of that layer and direction: "da0" and "d" + each of its keys (the
                 LSTM's "dc0" too)
    """
    if not isinstance(caches, StackCaches):
        raise TypeError(f"caches must be the caches of stack_forward, got {type(caches).__name__}")
    layers, _ = caches
    form = caches.form
    kind = get_cell(form["cell"], **form["options"])
    names = layer_names(form["num_layers"], form["bidirectional"])
    n_a, bidirectional = form["n_a"], form["bidirectional"]
    d_out = as_array("da", da)
    width = 2 * n_a if bidirectional and form["merge"] == "concat" else n_a
    expect_ndim("da", d_out, "(n_out, m, T_x)")
    if d_out.shape[0] != width:
        raise ValueError(
            f"da must have the top layer's {width} output features in its first "
            f"axis, got shape {d_out.shape}"
        )
    grads = {}
    for k in reversed(range(form["num_layers"])):
        forward_caches, reverse_caches, mask = layers[k]
        if not bidirectional:
            parts = [(names[k], d_out, forward_caches)]
        else:
            split = form["merge"] == "concat"
            # each half copied whole: the engine reads C-ordered arrays in place
            parts = [
                (
                    names[2 * k],
                    np.ascontiguousarray(d_out[:n_a]) if split else d_out,
                    forward_caches,
                ),
                (
                    names[2 * k + 1],
                    np.ascontiguousarray(d_out[n_a:]) if split else d_out,
                    reverse_caches,
                ),
            ]
        d_in = None
        for name, d, layer_caches in parts:
            g = kind.backward(d, layer_caches, want_dx or k > 0)
            dx = g.pop("dx", None)
            d_in = dx if d_in is None else d_in + dx
            grads[name] = g
        d_out = d_in if mask is None or d_in is None else d_in * mask
    layers = {name: grads[name] for name in names}
    return {"dx": d_out, **layers} if want_dx else layers


class Stack:
    """A stack as the training code sees a cell (crnn.training.loss_and_grads,
    crnn.models): forward and backward over one flat parameter dict, keyed
    "layer0.Wax", ..., "layer1_reverse.Wf", ..., "Wy", "by" (the arrays of init_stack's
    dicts, which an optimizer updates in place).

    Arguments:
    cell, num_layers, bidirectional, merge, options -- the stack's form, as for
                                                       stack_forward
    dropout -- between layers, for training (0 to predict)
    rng -- numpy.random.Generator of the dropout masks
    """

    output_weight = "Wy"

    def __init__(
        self,
        cell="rnn",
        num_layers=1,
        bidirectional=False,
        merge="concat",
        dropout=0.0,
        rng=None,
        **options,
    ):
        check_stack(num_layers, bidirectional, merge, dropout)
        self.cell = get_cell(cell, **options)
        self.form = {"num_layers": num_layers, "bidirectional": bidirectional, "merge": merge}
        self.dropout, self.rng = dropout, rng
        self.names = layer_names(num_layers, bidirectional)

    def nested(self, flat):
        """stack_forward's parameters: views of flat's arrays, by layer name."""
        nested = {name: {} for name in self.names}
        for key, value in flat.items():
            name, _, own = key.partition(".")
            if own:
                nested.setdefault(name, {})[own] = value
        nested["Wy"], nested["by"] = flat["Wy"], flat["by"]
        return nested

    def shapes(self, n_x, n_a, n_y):
        """The flat parameters' shapes: {key: shape}, in init_stack's order."""
        width = _width(n_a, self.form["bidirectional"], self.form["merge"])
        shapes = {}
        for name in self.names:
            n_in = n_x if name.startswith("layer0") else width
            for key, (shape, _) in self.cell.parameter_shapes(n_in, n_a).items():
                shapes[f"{name}.{key}"] = shape
        shapes["Wy"], shapes["by"] = (n_y, width), (n_y, 1)
        return shapes

    def initialize(self, n_x, n_a, n_y, method, rng, dtype):
        """New flat parameters (init_stack's)."""
        nested = init_stack(
            n_x,
            n_a,
            n_y,
            cell=self.cell.name,
            method=method,
            seed=rng,
            dtype=dtype,
            **self.form,
            **self.cell.options,
        )
        flat = {
            f"{name}.{key}": value for name in self.names for key, value in nested[name].items()
        }
        flat["Wy"], flat["by"] = nested["Wy"], nested["by"]
        return flat

    def forward(self, x, a0, parameters, lengths=None):
        """The top layer's output, of every step, and the caches of stack_backward."""
        a, layers, form = _stack_states(
            x,
            a0,
            self.nested(parameters),
            self.cell.name,
            **self.form,
            dropout=self.dropout,
            lengths=lengths,
            seed=self.rng,
            options=self.cell.options,
        )
        return a, StackCaches(layers, x, form)

    def states(self, x, a0, parameters, lengths=None):
        """The top layer's output, of every step, with no caches: the forward pass of
        prediction."""
        a, _, _ = _stack_states(
            x,
            a0,
            self.nested(parameters),
            self.cell.name,
            **self.form,
            dropout=0.0,
            lengths=lengths,
            seed=None,
            options=self.cell.options,
            keep=False,
        )
        return a

    def pool(self, a, output, lengths=None):
        """The states the output layer reads (crnn.forms.pool_states), the last ones of a
        bidirectional stack from both its directions: the forward half's at the last step
        (where each sequence keeps it), the reverse half's at step 0, where it ends."""
        if output != "last" or not self.form["bidirectional"]:
            return pool_states(a, output, lengths)
        if self.form["merge"] != "concat":
            raise ValueError('the last state of a bidirectional stack needs merge="concat"')
        n_a = a.shape[0] // 2
        return np.concatenate((a[:n_a, :, -1], a[n_a:, :, 0]))

    def pool_backward(self, dh, a, output, lengths=None):
        """The gradient of every state from that of ``pool``."""
        if output != "last" or not self.form["bidirectional"]:
            return pool_states_backward(dh, a, output, lengths)
        n_a = a.shape[0] // 2
        da = np.zeros_like(a, dh.dtype)
        da[:n_a, :, -1], da[n_a:, :, 0] = dh[:n_a], dh[n_a:]
        return da

    @staticmethod
    def backward(da, caches, want_dx=True):
        """The gradients by "d" + flat key, and "dx" (with want_dx)."""
        grads = stack_backward(da, caches, want_dx)
        flat = {"dx": grads.pop("dx")} if want_dx else {}
        for name, layer in grads.items():
            for key, value in layer.items():
                if key not in ("da0", "dc0"):
                    flat[f"d{name}.{key[1:]}"] = value
        return flat


class LayerStack:
    """A stack of recurrent layers with its parameters, and no output layer: what
    crnn.interop makes of a recurrent module given without the layer that reads it.

    Arguments:
    parameters -- one dict of the cell's parameters per layer and direction, by the names
                  of ``layer_names`` (init_stack's, without "Wy" and "by")
    cell, num_layers, bidirectional, merge, options -- the stack's form, as for
                                                       stack_forward
    """

    def __init__(
        self,
        parameters,
        *,
        cell="rnn",
        num_layers=1,
        bidirectional=False,
        merge="concat",
        **options,
    ):
        check_stack(num_layers, bidirectional, merge, 0.0)
        self.cell = get_cell(cell, **options)
        self.num_layers, self.bidirectional, self.merge = num_layers, bidirectional, merge
        names = layer_names(num_layers, bidirectional)
        missing = [name for name in names if name not in parameters]
        extra = [name for name in parameters if name not in names]
        if missing or extra:
            raise KeyError(
                f"parameters must hold exactly {names}: missing {missing}, unexpected {extra}"
            )
        self.parameters = {name: parameters[name] for name in names}
        keys = sorted(self.cell.parameter_shapes(1, 1))
        for name in names:
            if not isinstance(parameters[name], dict) or sorted(parameters[name]) != keys:
                raise KeyError(f'parameters["{name}"] must be a dict of exactly {keys}')
        n_a, n_x = self.n_a, self.n_x
        for name in names:
            layer = parameters[name]
            n_in = n_x if name.startswith("layer0") else self.n_out
            shapes = self.cell.parameter_shapes(n_in, n_a)
            for key, (shape, _) in shapes.items():
                if np.shape(layer[key]) != shape:
                    raise ValueError(
                        f'parameters["{name}"]["{key}"] must have shape {shape} (n_a = {n_a}, '
                        f"the layer reading {n_in} features), got {np.shape(layer[key])}"
                    )

    @property
    def n_a(self):
        """The hidden units of every layer and direction."""
        return np.shape(self.parameters["layer0"][self.cell.spec.gates[0].weight])[0]

    @property
    def n_x(self):
        """The features of the input x."""
        return input_features(self.cell, self.parameters["layer0"], self.n_a)

    @property
    def n_out(self):
        """The features of the stack's output."""
        return _width(self.n_a, self.bidirectional, self.merge)

    @property
    def dtype(self):
        """The dtype of the parameters."""
        return np.result_type(*(np.asarray(v) for v in self.parameters["layer0"].values()))

    def forward(self, x, a0=None, lengths=None):
        """The top layer's output at every step.

        Arguments:
        x -- input for every step, of shape (n_x, m, T_x)
        a0 -- None (zeros), one (n_a, m) array for every layer and direction, or a dict
              of them by layer name
        lengths -- None, or m integers in 1..T_x, as for the course's sequence functions

        Returns:
        a -- the top layer's output, of shape (n_out, m, T_x)
        """
        a, _, _ = _stack_states(
            x,
            a0,
            self.parameters,
            self.cell.name,
            self.num_layers,
            self.bidirectional,
            self.merge,
            0.0,
            lengths,
            None,
            self.cell.options,
            keep=False,
        )
        return a

    def __repr__(self):
        options = "".join(f", {k}={v!r}" for k, v in self.cell.options.items())
        return (
            f"LayerStack(cell={self.cell.name!r}, num_layers={self.num_layers}, "
            f"bidirectional={self.bidirectional}, merge={self.merge!r}, n_a={self.n_a}{options})"
        )
