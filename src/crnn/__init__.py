"""crnn: the Sequence Models course's recurrent networks, on Cython kernels over BLAS.

The RNN, LSTM and GRU functions keep the course's signatures, shapes, cache tuples and
gradient dicts; ``crnn.reference`` holds the plain-numpy versions they are tested against.
"""

from crnn import reference
from crnn.forms import pool_states, pool_states_backward, sample
from crnn.gru import gru_backward, gru_cell_backward, gru_cell_forward, gru_forward
from crnn.layers import init_stack, stack_backward, stack_forward
from crnn.losses import sigmoid_binary_cross_entropy, softmax_cross_entropy
from crnn.lstm import lstm_backward, lstm_cell_backward, lstm_cell_forward, lstm_forward
from crnn.memory import memory_pool, release_memory, set_memory_pool_limit
from crnn.models import ModelFileError, SequenceClassifier, SequenceTagger, load_model
from crnn.optim import SGD, Adagrad, Adam, clip, clip_by_global_norm, initialize_parameters
from crnn.output_layer import output_layer_backward, output_layer_forward
from crnn.rnn import rnn_backward, rnn_cell_backward, rnn_cell_forward, rnn_forward
from crnn.training import loss_and_grads, rnn_loss_and_grads

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
    "gru_cell_forward",
    "gru_forward",
    "gru_cell_backward",
    "gru_backward",
    "init_stack",
    "stack_forward",
    "stack_backward",
    "reference",
    "__version__",
    "softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "output_layer_forward",
    "output_layer_backward",
    "loss_and_grads",
    "rnn_loss_and_grads",
    "pool_states",
    "pool_states_backward",
    "sample",
    "SGD",
    "Adam",
    "Adagrad",
    "clip",
    "clip_by_global_norm",
    "initialize_parameters",
    "SequenceTagger",
    "SequenceClassifier",
    "ModelFileError",
    "load_model",
    "memory_pool",
    "set_memory_pool_limit",
    "release_memory",
]
