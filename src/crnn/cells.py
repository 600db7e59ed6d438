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
import numpy as np

from crnn import testing
from crnn._caches import check_activation
from crnn.gru import gru_backward, gru_cell_forward, gru_forward
from crnn.gru import parameter_shapes as gru_parameter_shapes
from crnn.lstm import lstm_backward, lstm_cell_forward, lstm_forward
from crnn.rnn import rnn_backward, rnn_cell_forward, rnn_forward

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "CELLS", "get_cell", "model_shapes", "variants"]


class _Cell:
    """What every cell shares: its name, its options, its course functions."""

    #: the prefix of its course functions in crnn and crnn.reference (rnn_forward, ...)
    name = ""
    #: the names of what its course forward returns before the caches
    outputs = ("a", "y_pred")
    #: whether its activations' derivatives are continuous (relu's is not: see _check)
    smooth = True

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
        return getattr(testing, f"random_{self.name}_problem")(n_x, n_a, n_y, m, T_x, dtype=dtype,
                                                                seed=seed, **self._problem_options())

    def _problem_options(self):
        return {}

    def course_pass(self, module, x, a0, parameters, da):
        """Forward then backward through module's course functions (crnn or
        crnn.reference): the outputs by name, and the gradient dict."""
        *outputs, caches = getattr(module, f"{self.name}_forward")(x, a0, parameters, **self.options)
        grads = getattr(module, f"{self.name}_backward")(da, caches)
        return dict(zip(self.outputs, outputs)), grads


class RNNCell(_Cell):
    """The course's vanilla RNN: a_t = g(Waa·a_{t-1} + Wax·x_t + ba), g tanh or relu."""

    name = "rnn"
    #: The key of the output layer's weight in the parameters dict.
    output_weight = "Wya"

    def __init__(self, activation="tanh"):
        check_activation(activation)
        self.activation = activation

    @property
    def options(self):
        return {} if self.activation == "tanh" else {"activation": self.activation}

    @property
    def smooth(self):
        return self.activation != "relu"

    @staticmethod
    def parameter_shapes(n_x, n_a):
        """The recurrent parameters' shapes and roles, output layer excluded.

        Returns:
        dict name -> (shape, blocks); blocks lists (role, first column, last column) with
        role "input", "recurrent" or "bias", the parts an initialiser fills separately
        """
        return {
            "Wax": ((n_a, n_x), [("input", 0, n_x)]),
            "Waa": ((n_a, n_a), [("recurrent", 0, n_a)]),
            "ba": ((n_a, 1), [("bias", 0, 1)]),
        }

    def forward(self, x, a0, parameters):
        """The states of every step, (n_a, m, T_x), and the course's caches."""
        a, _, caches = rnn_forward(x, a0, parameters, activation=self.activation)
        return a, caches

    @staticmethod
    def backward(da, caches):
        """The course's gradient dict ("dx", "da0", "dWax", "dWaa", "dba") from da."""
        return rnn_backward(da, caches)

    @staticmethod
    def initial_state(a0):
        """The state a sequence starts from, given the hidden state a0."""
        return a0

    def step(self, xt, state, parameters):
        """One step: the next state and the softmax output yt_pred (n_y, m)."""
        a_next, yt_pred, _ = rnn_cell_forward(xt, state, parameters, activation=self.activation)
        return a_next, yt_pred


class LSTMCell(_Cell):
    """The course's LSTM: four gates over [a_prev; x_t], a cell state c, a_t = o_t·tanh(c_t).

    Its sequences start from the cell state zero, as the course's lstm_forward does.
    """

    name = "lstm"
    outputs = ("a", "y", "c")
    output_weight = "Wy"

    @staticmethod
    def parameter_shapes(n_x, n_a):
        """The gates' weights (n_a, n_a+n_x), recurrent columns first, and biases (n_a, 1)."""
        weight = ((n_a, n_a + n_x), [("recurrent", 0, n_a), ("input", n_a, n_a + n_x)])
        bias = ((n_a, 1), [("bias", 0, 1)])
        return {name + gate: (weight if name == "W" else bias)
                for gate in "fico" for name in ("W", "b")}

    @staticmethod
    def forward(x, a0, parameters):
        """The states a of every step, (n_a, m, T_x), and the course's caches."""
        a, _, _, caches = lstm_forward(x, a0, parameters)
        return a, caches

    @staticmethod
    def backward(da, caches):
        """The course's gradient dict ("dx", "da0", "dWf", "dbf", ...) from da."""
        return lstm_backward(da, caches)

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
    output_weight = "Wy"

    def __init__(self, reset_after=False):
        if reset_after not in (False, True):
            raise ValueError(f"reset_after must be True or False, got {reset_after!r}")
        self.reset_after = reset_after

    @property
    def options(self):
        return {"reset_after": True} if self.reset_after else {}

    def _problem_options(self):
        return self.options

    def parameter_shapes(self, n_x, n_a):
        """The gates' weights over [a_prev; x_t], recurrent columns first, and biases;
        with reset_after the candidate's input and recurrent weights apart."""
        return gru_parameter_shapes(n_x, n_a, self.reset_after)

    @staticmethod
    def forward(x, a0, parameters):
        """The states of every step, (n_a, m, T_x), and the course's caches."""
        a, _, caches = gru_forward(x, a0, parameters, reset_after="Wca" in parameters)
        return a, caches

    @staticmethod
    def backward(da, caches):
        """The gradient dict ("dx", "da0", "dWu", "dbu", ...) from da."""
        return gru_backward(da, caches)

    @staticmethod
    def initial_state(a0):
        return a0

    @staticmethod
    def step(xt, state, parameters):
        """One step: the next state and the softmax output yt_pred (n_y, m)."""
        a_next, yt_pred, _ = gru_cell_forward(xt, state, parameters, reset_after="Wca" in parameters)
        return a_next, yt_pred


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
