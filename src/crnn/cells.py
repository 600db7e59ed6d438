"""The recurrent cells the training code runs, behind one small interface.

A cell adapts a course family of functions (``rnn_forward``/``rnn_backward``, or the
LSTM's or the GRU's) to what training needs: the whole sequence forward, returning the hidden states
and the caches; the backward pass from the gradient of every hidden state; one step for
sampling; and the names and shapes of its parameters. Everything above this module
(losses, output layer, forms, optimizers, models) is written against the interface only,
so that a new cell is one class added to ``CELLS``. ``get_cell`` makes a cell from its
name and its options (the RNN's activation, the GRU's convention).

``CELLS`` is crnn's one registry of cells: training, the estimators, ``python -m crnn
check``, the benchmark and the tests read it. ``variants()`` lists every cell with every
option, and each cell knows its random problem (``problem``) and how to run its course
functions in crnn or crnn.reference (``course_pass``).
"""

from types import ModuleType

import numpy as np

from crnn import gru, lstm, rnn, testing
from crnn._caches import check_activation
from crnn._cellspec import CellSpec
from crnn._torch_layout import GATES, from_crnn
from crnn.forms import pool_states, pool_states_backward
from crnn.lstm import lstm_cell_forward

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "CELLS", "get_cell", "model_shapes", "variants"]


class _Cell:
    """What every cell shares: its name, its options, its course functions."""

    #: the prefix of its course functions in crnn and crnn.reference (rnn_forward, ...)
    name = ""
    #: the names of what its course forward returns before the caches
    outputs: tuple[str, ...] = ("a", "y_pred")
    #: whether its activations' derivatives are continuous (relu's is not: see _check)
    smooth = True
    #: how the engine runs it
    spec: CellSpec | None = None
    #: the module of its course functions in crnn (crnn.rnn, ...)
    module: ModuleType | None = None

    @property
    def output_weight(self):
        """The key of the output layer's weight in the parameters dict."""
        return self.spec.output_weight

    #: the torch.nn class of the same cell, built as ``(n_x, n_a, **torch_kwargs)``
    torch_layer = ""

    @property
    def torch_kwargs(self):
        """The keywords that make torch_layer this variant."""
        return {}

    def to_torch(self, parameters):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of the torch_layer with these
        parameters (crnn._torch_layout); bias_hh None for a cell without a recurrent bias."""
        w_ih, w_hh, b_ih, b_hh = from_crnn(self.name, self.options.get("reset_after"), parameters)
        return w_ih, w_hh, b_ih, b_hh if self.spec.recurrent_bias else None

    def parameter_shapes(self, n_x, n_a):
        """The recurrent parameters' shapes and roles, output layer excluded.

        Returns:
        dict name -> (shape, blocks); blocks lists (role, first column, last column) with
        role "input", "recurrent" or "bias", the parts an initialiser fills separately
        """
        return self.spec.parameter_shapes(n_x, n_a)

    @property
    def options(self):
        """The keywords of its course forward that make this variant (empty: the course's)."""
        return {}

    @property
    def label(self):
        """The cell and its options, for reports: "RNN", "RNN activation=relu", ..."""
        return " ".join([self.name.upper(), *(f"{k}={v}" for k, v in self.options.items())])

    def problem(self, n_x, n_a, n_y, m, T_x, dtype=np.float64, seed=0):
        """A random problem (x, a0, parameters, da) of this cell at a stable gain."""
        return getattr(testing, f"random_{self.name}_problem")(
            n_x, n_a, n_y, m, T_x, dtype=dtype, seed=seed, **self._problem_options()
        )

    def _problem_options(self):
        return {}

    def forward(self, x, a0, parameters, lengths=None):
        """The states of every step, (n_a, m, T_x), and the course's caches; lengths as
        for the course's sequence functions. The output layer is not computed: training
        computes its logits apart."""
        return self.hidden_forward(x, a0, parameters, lengths=lengths)

    def states(self, x, a0, parameters, lengths=None, reverse=False):
        """The states of every step, (n_a, m, T_x), and nothing kept for a backward pass:
        the forward pass of prediction."""
        return self.spec.forward(
            x, a0, parameters, lengths=lengths, reverse=reverse, output=False
        ).a

    def backward(self, da, caches, want_dx=True):
        """The course's gradient dict ("dx", "da0", then "d" + each key; the LSTM's "dc0")
        from da; without want_dx, no "dx" (training needs only the parameters')."""
        if want_dx:
            return getattr(self.module, f"{self.name}_backward")(da, caches)
        _, da0, dc0, grads = self.spec.backward_sequence(da, caches, want_dx=False)
        return {"da0": da0, **grads, **({} if dc0 is None else {"dc0": dc0})}

    @staticmethod
    def initial_state(a0):
        """The state a sequence starts from, given the hidden state a0."""
        return a0

    @staticmethod
    def pool(a, output, lengths=None):
        """The states the output layer reads (crnn.forms.pool_states)."""
        return pool_states(a, output, lengths)

    @staticmethod
    def pool_backward(dh, a, output, lengths=None):
        """The gradient of every state from that of ``pool`` (crnn.forms.pool_states_backward)."""
        return pool_states_backward(dh, a, output, lengths)

    def step(self, xt, state, parameters):
        """One step: the next state and the softmax output yt_pred (n_y, m)."""
        a_next, yt_pred, _ = getattr(self.module, f"{self.name}_cell_forward")(
            xt, state, parameters, **self.options
        )
        return a_next, yt_pred

    def hidden_forward(self, x, a0, parameters, lengths=None, reverse=False):
        """The cell alone over x (its parameters without an output layer), as a layer of
        crnn.layers runs it: the states of every step and the course's caches, which
        the course's backward function takes."""
        out = self.spec.forward(x, a0, parameters, lengths=lengths, reverse=reverse, output=False)
        return out.a, self._caches_of(out, x, a0, parameters, reverse)

    def course_pass(self, module, x, a0, parameters, da):
        """Forward then backward through module's course functions (crnn or
        crnn.reference): the outputs by name, and the gradient dict."""
        *outputs, caches = getattr(module, f"{self.name}_forward")(
            x, a0, parameters, **self.options
        )
        grads = getattr(module, f"{self.name}_backward")(da, caches)
        return dict(zip(self.outputs, outputs)), grads


class RNNCell(_Cell):
    """The course's vanilla RNN: a_t = g(Waa·a_{t-1} + Wax·x_t + ba), g tanh or relu."""

    name = "rnn"
    module = rnn

    def __init__(self, activation="tanh"):
        check_activation(activation)
        self.activation = activation
        self.spec = rnn.SPECS[activation]

    @property
    def options(self):
        return {} if self.activation == "tanh" else {"activation": self.activation}

    @property
    def smooth(self):
        return self.activation != "relu"

    def _caches_of(self, out, x, a0, parameters, reverse):
        return rnn.caches_of(out, x, a0, parameters, reverse, self.activation == "relu")

    torch_layer = "RNN"

    @property
    def torch_kwargs(self):
        return {"nonlinearity": self.activation}

    @staticmethod
    def from_torch_grads(d_ih, d_hh, d_b, d_bhh, n_a):
        """nn.RNN's weight gradients as dWax, dWaa, dba."""
        return {"dWax": d_ih, "dWaa": d_hh, "dba": d_b[:, None]}


class LSTMCell(_Cell):
    """The course's LSTM: four gates over [a_prev; x_t], a cell state c, a_t = o_t·tanh(c_t).

    Its sequences start from the cell state zero, as the course's lstm_forward does.
    """

    name = "lstm"
    module = lstm
    outputs = ("a", "y", "c")
    spec = lstm.SPEC
    torch_layer = "LSTM"

    @staticmethod
    def _caches_of(out, x, a0, parameters, reverse):
        return lstm.caches_of(out, x, a0, parameters, reverse)

    @classmethod
    def from_torch_grads(cls, d_ih, d_hh, d_b, d_bhh, n_a):
        """nn.LSTM's stacked weight gradients as the course's dW* (n_a, n_a+n_x) and db*."""
        grads = {}
        for k, gate in enumerate(GATES["lstm"]):
            rows = slice(k * n_a, (k + 1) * n_a)
            grads["dW" + gate] = np.concatenate((d_hh[rows], d_ih[rows]), axis=1)
            grads["db" + gate] = d_b[rows, None]
        return grads

    @staticmethod
    def initial_state(a0):
        """(a0, c0) with the cell state at zero."""
        return a0, np.zeros_like(a0)

    @staticmethod
    def step(xt, state, parameters):
        """One step: the next (a, c) and the softmax output yt_pred (n_y, m)."""
        a_next, c_next, yt_pred, _ = lstm_cell_forward(xt, state[0], state[1], parameters)
        return (a_next, c_next), yt_pred


class GRUCell(_Cell):
    """The GRU: update and reset gates, a_t = u_t·cc_t + (1 - u_t)·a_{t-1}; the lecture's
    convention, or with reset_after PyTorch's and Keras's (see crnn.gru). Its forward and
    backward read the convention from the parameters' keys."""

    name = "gru"
    module = gru

    def __init__(self, reset_after=False):
        if reset_after not in (False, True):
            raise ValueError(f"reset_after must be True or False, got {reset_after!r}")
        self.reset_after = reset_after
        self.spec = gru.SPECS[reset_after]

    @property
    def options(self):
        return {"reset_after": True} if self.reset_after else {}

    def _problem_options(self):
        return self.options

    def _caches_of(self, out, x, a0, parameters, reverse):
        return gru.caches_of(out, x, a0, parameters, reverse, self.reset_after)

    torch_layer = "GRU"

    def to_torch(self, parameters):
        if not self.reset_after:
            raise ValueError("PyTorch's nn.GRU computes the reset_after convention only")
        return super().to_torch(parameters)

    @staticmethod
    def from_torch_grads(d_ih, d_hh, d_b, d_bhh, n_a):
        """nn.GRU's stacked weight gradients as crnn's dWu, dbu, ..., dbca."""
        r, z, n = slice(0, n_a), slice(n_a, 2 * n_a), slice(2 * n_a, 3 * n_a)
        return {
            "dWu": -np.concatenate((d_hh[z], d_ih[z]), axis=1),
            "dbu": -d_b[z, None],
            "dWr": np.concatenate((d_hh[r], d_ih[r]), axis=1),
            "dbr": d_b[r, None],
            "dWcx": d_ih[n],
            "dWca": d_hh[n],
            "dbcx": d_b[n, None],
            "dbca": d_bhh[n, None],
        }


#: Cells by the name the models and training functions accept as ``cell=``.
CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def variants():
    """Every cell with every option: the course's RNN, the relu RNN, the LSTM, the GRU in
    both conventions."""
    return [RNNCell(), RNNCell("relu"), LSTMCell(), GRUCell(), GRUCell(reset_after=True)]


def get_cell(cell, **options):
    """The cell registered in CELLS under the name cell, made with its options (a cell
    already made is returned as it is).

    options -- activation="tanh" or "relu" for "rnn"; reset_after=False or True for "gru"
    """
    if isinstance(cell, tuple(CELLS.values())) and not options:
        return cell
    try:
        kind = CELLS[cell]
    except (KeyError, TypeError):
        raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}") from None
    try:
        return kind(**options)
    except TypeError:
        raise ValueError(f"cell {cell!r} takes no options {sorted(options)}") from None


def model_shapes(cell, n_x, n_a, n_y, **options):
    """Every parameter of a model: the cell's and its output layer's.

    options -- the cell's own (see get_cell)

    Returns:
    dict name -> (shape, blocks), as the cell's parameter_shapes, plus the output weight
    (n_y, n_a) and "by" (n_y, 1)
    """
    cell = get_cell(cell, **options)
    shapes = dict(cell.parameter_shapes(n_x, n_a))
    shapes[cell.output_weight] = ((n_y, n_a), [("output", 0, n_a)])
    shapes["by"] = ((n_y, 1), [("bias", 0, 1)])
    return shapes
