"""crnn: the Sequence Models course's recurrent networks, on Cython kernels over BLAS.

The RNN and LSTM functions keep the course's signatures, shapes, cache tuples and gradient dicts;
``crnn.reference`` holds the plain-numpy versions they are tested against.
"""
from crnn import reference
from crnn.lstm import lstm_backward, lstm_cell_backward, lstm_cell_forward, lstm_forward
from crnn.rnn import rnn_backward, rnn_cell_backward, rnn_cell_forward, rnn_forward

__version__ = "0.1.0"

__all__ = [
    "rnn_cell_forward",
    "rnn_forward",
    "rnn_cell_backward",
    "rnn_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "lstm_cell_backward",
    "lstm_backward",
    "reference",
    "__version__",
]
