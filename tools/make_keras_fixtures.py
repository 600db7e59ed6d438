"""Make tests/data/interop/keras.npz: small Keras 3 recurrent models run by real Keras, so
that crnn.interop.from_keras is checked against Keras in CI without keras.

    KERAS_BACKEND=torch python tools/make_keras_fixtures.py      # needs keras and torch

Every case is a keras.Sequential of SimpleRNN (tanh or relu), LSTM or GRU (reset_after
True or False) layers, 1 or 2 of them, plain or in a Bidirectional(merge_mode="concat"),
in float32 or float64, with a softmax Dense over every step (return_sequences=True), plus
a few classifiers (return_sequences=False on the top layer). Members, for a case named
<case>:

    <case>/config        JSON: cell, reset_after, activation, num_layers, bidirectional,
                         merge_mode, return_sequences, dtype, n_x, n_a, n_y, keras
    <case>/weights/<i>/<j>  the j-th array of layer i's get_weights() (the Dense last)
    <case>/x             the input, (m, T_x, n_x)
    <case>/y             what Keras gave for it: (m, T_x, n_y), or (m, n_y) for a classifier

Every weight, biases included (Keras initialises them to zero), is drawn from a seeded
generator, so the file is the same on every run.

Keras 3's torch and jax backends compute a float64 layer's products in float32
(keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE maps float64 to float32 outside
TensorFlow; keras-team/keras#23704): this script maps float64 to itself while it runs, so
that the float64 cases are Keras's computation in float64, checked to 1e-10.
"""

import itertools
import json
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
from keras.src.backend.common import dtypes as keras_dtypes

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "interop" / "keras.npz"
N_X, N_A, N_Y, M, T_X = 3, 4, 3, 2, 5

#: name -> (Keras layer class, its arguments, crnn's cell, reset_after, activation)
CELLS = {
    "rnn_tanh": ("SimpleRNN", {"activation": "tanh"}, "rnn", True, "tanh"),
    "rnn_relu": ("SimpleRNN", {"activation": "relu"}, "rnn", True, "relu"),
    "lstm": ("LSTM", {}, "lstm", True, "tanh"),
    "gru_after": ("GRU", {"reset_after": True}, "gru", True, "tanh"),
    "gru_before": ("GRU", {"reset_after": False}, "gru", False, "tanh"),
}
#: (cell, num_layers, merge_mode or None, dtype) of the classifiers
CLASSIFIERS = [
    ("lstm", 2, "concat", "float32"),
    ("gru_before", 1, None, "float64"),
    ("rnn_relu", 2, None, "float32"),
    ("gru_after", 1, "concat", "float64"),
]


def keras_model(name, num_layers, merge, dtype, return_sequences):
    """The Sequential of a case, its weights drawn by Keras's initialisers."""
    kind, kwargs, *_ = CELLS[name]
    layers = []
    for k in range(num_layers):
        sequences = return_sequences or k < num_layers - 1
        layer = getattr(keras.layers, kind)(N_A, return_sequences=sequences, dtype=dtype, **kwargs)
        if merge:
            layer = keras.layers.Bidirectional(layer, merge_mode=merge, dtype=dtype)
        layers.append(layer)
    dense = keras.layers.Dense(N_Y, activation="softmax", dtype=dtype)
    return keras.Sequential([keras.Input((T_X, N_X), dtype=dtype), *layers, dense])


def make_case(rng, name, num_layers, merge, dtype, return_sequences):
    """The members of one case (without its name's prefix)."""
    model = keras_model(name, num_layers, merge, dtype, return_sequences)
    members = {}
    for i, layer in enumerate(model.layers):
        weights = [0.6 * rng.standard_normal(w.shape).astype(dtype) for w in layer.get_weights()]
        layer.set_weights(weights)
        for j, w in enumerate(weights):
            members[f"weights/{i}/{j}"] = w
    x = rng.standard_normal((M, T_X, N_X)).astype(dtype)
    y = keras.ops.convert_to_numpy(model(x))
    assert y.dtype == np.dtype(dtype), (name, y.dtype)
    _, _, cell, reset_after, activation = CELLS[name]
    config = {
        "cell": cell,
        "reset_after": reset_after,
        "activation": activation,
        "num_layers": num_layers,
        "bidirectional": merge is not None,
        "merge_mode": merge or "concat",
        "return_sequences": return_sequences,
        "dtype": dtype,
        "n_x": N_X,
        "n_a": N_A,
        "n_y": N_Y,
        "keras": f"{keras.__version__} ({keras.backend.backend()})",
    }
    members["config"] = np.array(json.dumps(config, sort_keys=True))
    members["x"], members["y"] = x, y
    return members


def main():
    keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"  # see the docstring
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(20260101)
    cases = [
        (name, num_layers, merge, dtype, True)
        for name, num_layers, merge, dtype in itertools.product(
            CELLS, (1, 2), (None, "concat"), ("float32", "float64")
        )
    ] + [(*case, False) for case in CLASSIFIERS]
    arrays = {}
    for name, num_layers, merge, dtype, sequences in cases:
        case = (
            f"{'tagger' if sequences else 'classifier'}-{name}-{num_layers}-"
            f"{merge or 'uni'}-{dtype}"
        )
        for key, value in make_case(rng, name, num_layers, merge, dtype, sequences).items():
            arrays[f"{case}/{key}"] = value
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(
        f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(cases)} cases) with keras "
        f"{keras.__version__}"
    )


if __name__ == "__main__":
    main()
