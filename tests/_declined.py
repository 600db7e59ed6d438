"""Inputs of a sequence forward pass (rnn_forward, lstm_forward) that its fast path must
hand to the general path, shared by tests/test_fast_path.py and test_lstm_fast_path.py."""
import numpy as np


def declined_inputs(x, a0, parameters):
    """The cases about x and a0, by name: (x, a0, parameters) each."""
    p = parameters
    return {
        "x a list": (x.tolist(), a0, p),
        "x Fortran-ordered": (np.asfortranarray(x), a0, p),
        "x strided": (np.repeat(x, 2, axis=2)[:, :, ::2], a0, p),
        "x int": (x.astype(np.int64), a0, p),
        "x float32, the rest float64": (x.astype(np.float32), a0, p),
        "x a subclass": (x.view(np.memmap), a0, p),
        "x 2-D": (x[:, :, 0].copy(), a0, p),
        "a0 Fortran-ordered": (x, np.asfortranarray(a0), p),
        "a0 of another m": (x, a0[:, :-1], p),
        "no steps": (x[:, :, :0].copy(), a0, p),
    }
