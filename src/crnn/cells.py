"""The recurrent cells the training code runs, behind one small interface.

A cell adapts a course family of functions (``rnn_forward``/``rnn_backward``, later the
LSTM's) to what training needs: the whole sequence forward, returning the hidden states
and the caches; the backward pass from the gradient of every hidden state; one step for
sampling; and the names and shapes of its parameters. Everything above this module
(losses, output layer, forms, optimizers, models) is written against the interface only,
so that a new cell is one class added to ``CELLS``.
"""
from crnn.rnn import rnn_backward, rnn_cell_forward, rnn_forward

__all__ = ["RNNCell", "CELLS", "get_cell"]


class RNNCell:
    """The course's vanilla RNN: a_t = tanh(Waa·a_{t-1} + Wax·x_t + ba)."""

    #: The key of the output layer's weight in the parameters dict.
    output_weight = "Wya"

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

    @staticmethod
    def forward(x, a0, parameters):
        """The states of every step, (n_a, m, T_x), and the course's caches."""
        a, _, caches = rnn_forward(x, a0, parameters)
        return a, caches

    @staticmethod
    def backward(da, caches):
        """The course's gradient dict ("dx", "da0", "dWax", "dWaa", "dba") from da."""
        return rnn_backward(da, caches)

    @staticmethod
    def initial_state(a0):
        """The state a sequence starts from, given the hidden state a0."""
        return a0

    @staticmethod
    def step(xt, state, parameters):
        """One step: the next state and the softmax output yt_pred (n_y, m)."""
        a_next, yt_pred, _ = rnn_cell_forward(xt, state, parameters)
        return a_next, yt_pred


#: Cells by the name the models and training functions accept as ``cell=``.
CELLS = {"rnn": RNNCell}


def get_cell(cell):
    """The cell class registered in CELLS under the name cell."""
    try:
        return CELLS[cell]
    except (KeyError, TypeError):
        raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}") from None
