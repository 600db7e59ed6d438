"""crnn.interop.from_keras and to_keras_weights against Keras 3.

The fixture tests read tests/data/interop/keras.npz (tools/make_keras_fixtures.py: real
Keras's weights, inputs and outputs) and need no keras. The live tests build random
Keras models (keras with its torch backend; skipped without it), convert them both ways
and compare with what Keras computes. Expected outputs always come from Keras.
"""

import json
import os
import pathlib

import numpy as np
import pytest

from crnn import SequenceClassifier, SequenceTagger
from crnn.interop import (
    TOLERANCE,
    ConversionError,
    ParityError,
    from_keras,
    to_keras_weights,
)
from crnn.layers import LayerStack, init_stack

os.environ.setdefault("KERAS_BACKEND", "torch")

# Keras's own numpy conversions, under numpy 2
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

DATA = pathlib.Path(__file__).parent / "data" / "interop" / "keras.npz"
N_X, N_A, N_Y, M, T_X = 3, 4, 3, 2, 5


def _load_fixtures():
    """{case: (config, weights as a list of get_weights() lists, x, y)}."""
    cases = {}
    with np.load(DATA, allow_pickle=False) as data:
        members = {key: data[key] for key in data.files}
    for key in members:
        if key.endswith("/config"):
            case = key[: -len("/config")]
            layers = {}
            for member, value in members.items():
                parts = member.split("/")
                if parts[0] == case and parts[1] == "weights":
                    layers.setdefault(int(parts[2]), {})[int(parts[3])] = value
            weights = [[layer[j] for j in sorted(layer)] for _, layer in sorted(layers.items())]
            config = json.loads(str(members[key]))
            cases[case] = (config, weights, members[f"{case}/x"], members[f"{case}/y"])
    return cases


FIXTURES = _load_fixtures()


def _tol(dtype):
    return TOLERANCE[np.dtype(dtype)]


def _options(config):
    return {
        "cell": config["cell"],
        "reset_after": config["reset_after"],
        "activation": config["activation"],
        "return_sequences": config["return_sequences"],
        "merge_mode": config["merge_mode"],
    }


def _proba(model, x):
    """crnn's probabilities for a Keras-layout x, in Keras's layout."""
    p = model.predict_proba(np.asarray(x).transpose(2, 0, 1))
    return p.T if p.ndim == 2 else p.transpose(1, 2, 0)


def _stack_out(stack, x):
    """A LayerStack's output for a Keras-layout x, in Keras's layout."""
    dtype = stack.parameters["layer0"][next(iter(stack.parameters["layer0"]))].dtype
    return stack.forward(np.asarray(x, dtype).transpose(2, 0, 1)).transpose(1, 2, 0)


# --- fixtures: real Keras's outputs, no keras needed ----------------------------------


def test_fixtures_cover_the_cases():
    configs = [config for config, *_ in FIXTURES.values()]
    forms = {
        (c["cell"], c["activation"], c["reset_after"], c["num_layers"], c["bidirectional"])
        for c in configs
        if c["return_sequences"]
    }
    assert len(forms) == 20  # 5 cells × 2 depths × 2 directions
    taggers = [c for c in configs if c["return_sequences"]]
    assert len(taggers) == 40  # and each in float32 and float64
    assert {c["dtype"] for c in taggers} == {"float32", "float64"}
    assert sum(not c["return_sequences"] for c in configs) >= 2


@pytest.mark.parametrize("case", sorted(FIXTURES))
def test_fixture(case):
    config, weights, x, y = FIXTURES[case]
    model = from_keras(weights, **_options(config), verify=(x, y))
    kind = SequenceTagger if config["return_sequences"] else SequenceClassifier
    assert type(model) is kind
    assert model.dtype == config["dtype"]
    assert (model.num_layers, model.bidirectional) == (
        config["num_layers"],
        config["bidirectional"],
    )
    proba = _proba(model, x)
    assert proba.dtype == np.dtype(config["dtype"])
    np.testing.assert_allclose(proba, y, rtol=0, atol=_tol(config["dtype"]))
    # and back: to_keras_weights gives Keras's arrays, in set_weights's order
    back = to_keras_weights(model)
    assert [len(entry) for entry in back] == [len(entry) for entry in weights]
    gru_bias = config["cell"] == "gru" and config["reset_after"]
    for entry, original in zip(back, weights):
        for ours, theirs in zip(entry, original):
            assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
            if gru_bias and ours.shape == (2, 3 * N_A):
                # the z and r gates' two biases only ever add up: crnn keeps their sum
                np.testing.assert_array_equal(ours[1, : 2 * N_A], 0)
                np.testing.assert_allclose(
                    ours[0, : 2 * N_A], theirs[:, : 2 * N_A].sum(axis=0), rtol=1e-6
                )
                np.testing.assert_array_equal(ours[:, 2 * N_A :], theirs[:, 2 * N_A :])
            else:
                np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    "case",
    [
        "tagger-rnn_tanh-1-uni-float64",
        "tagger-lstm-2-concat-float64",
        "tagger-gru_after-1-uni-float64",
        "tagger-gru_before-2-concat-float32",
        "classifier-gru_after-1-concat-float64",
    ],
)
def test_fixture_mutated_weight_fails_parity(case):
    config, weights, x, y = FIXTURES[case]
    for i, entry in enumerate(weights):
        for j in range(len(entry)):
            mutated = [list(e) for e in weights]
            mutated[i][j] = mutated[i][j].copy()
            mutated[i][j].flat[-1] += 0.05
            with pytest.raises(ParityError, match="differ from the source's"):
                from_keras(mutated, **_options(config), verify=(x, y))


@pytest.mark.parametrize(
    "case", ["tagger-gru_after-1-uni-float64", "tagger-gru_before-1-uni-float64"]
)
def test_fixture_gru_gate_order_matters(case):
    # Keras's GRU blocks are z, r, h: read as r, z, h they must not match
    config, weights, x, y = FIXTURES[case]
    kernel, recurrent, bias = weights[0]

    def swap(w):
        z, r, h = np.split(w, 3, axis=-1)
        return np.concatenate((r, z, h), axis=-1)

    swapped = [[swap(kernel), swap(recurrent), swap(bias)], weights[1]]
    with pytest.raises(ParityError):
        from_keras(swapped, **_options(config), verify=(x, y))


def test_fixture_gru_convention_matters():
    # the reset_after=False GRU's weights read as reset_after=True (its bias made the
    # (2, 3·n_a) of an input bias and a zero recurrent one) give other outputs
    config, weights, x, y = FIXTURES["tagger-gru_before-1-uni-float64"]
    kernel, recurrent, bias = weights[0]
    as_after = [[kernel, recurrent, np.stack((bias, np.zeros_like(bias)))], weights[1]]
    with pytest.raises(ParityError):
        from_keras(as_after, **{**_options(config), "reset_after": True}, verify=(x, y))


def test_fixture_dtype_argument():
    config, weights, x, y = FIXTURES["tagger-lstm-2-concat-float64"]
    model = from_keras(weights, **_options(config), dtype="float32", verify=(x, y))
    assert model.dtype == "float32"
    np.testing.assert_allclose(_proba(model, x), y, rtol=0, atol=_tol("float32"))


def test_fixture_dense_argument_and_stack_without_head():
    config, weights, x, y = FIXTURES["tagger-lstm-2-concat-float32"]
    *recurrent, dense = weights
    model = from_keras(recurrent, dense, **_options(config), verify=(x, y))
    np.testing.assert_allclose(_proba(model, x), y, rtol=0, atol=_tol("float32"))
    stack = from_keras(recurrent, **_options(config))
    assert isinstance(stack, LayerStack)
    assert (stack.num_layers, stack.bidirectional, stack.n_out) == (2, True, 2 * N_A)
    with pytest.raises(ConversionError, match="dense= must be None"):
        from_keras(weights, dense, **_options(config))


# --- bad weights, no keras needed ---------------------------------------------------


def _weights(case="tagger-gru_after-2-concat-float32"):
    config, weights, x, y = FIXTURES[case]
    return _options(config), [list(entry) for entry in weights]


def test_weights_need_the_cell():
    options, weights = _weights()
    with pytest.raises(ConversionError, match="cell must be"):
        from_keras(weights, **{**options, "cell": None})


@pytest.mark.parametrize("count", [1, 5, 7])
def test_wrong_number_of_weights(count):
    options, weights = _weights()
    weights[0] = (weights[0] * 2)[:count]
    with pytest.raises(ConversionError, match=rf"weights\[0\] holds {count} arrays"):
        from_keras(weights, **options)


def test_misshaped_recurrent_kernel_is_named():
    options, weights = _weights()
    weights[1][4] = weights[1][4][:, :-1]  # layer 1's backward recurrent_kernel
    with pytest.raises(ConversionError, match=r"weights\[1\]\[4\] \(backward recurrent_kernel\)"):
        from_keras(weights, **options)


def test_misshaped_kernel_is_named():
    options, weights = _weights()
    weights[1][0] = weights[1][0][:-1]  # layer 1 reads 2·n_a = 8 features
    with pytest.raises(ConversionError, match=r"weights\[1\]\[0\] \(forward kernel\).*\(8: the"):
        from_keras(weights, **options)


def test_misshaped_bias_is_named():
    options, weights = _weights()
    weights[0][2] = weights[0][2][0]  # reset_after=False's bias shape
    with pytest.raises(
        ConversionError, match=r"weights\[0\]\[2\] \(forward bias\).*pass reset_after=False"
    ):
        from_keras(weights, **options)
    weights[0][2] = np.zeros(5, np.float32)
    with pytest.raises(ConversionError, match=r"weights\[0\]\[2\] \(forward bias\)"):
        from_keras(weights, **options)


def test_weights_of_another_cell():
    options, weights = _weights()
    with pytest.raises(ConversionError, match=r"recurrent_kernel\) must be \(n_a, 4·n_a\)"):
        from_keras(weights, **{**options, "cell": "lstm"})


def test_dense_of_wrong_width_is_named():
    options, weights = _weights()
    weights[-1][0] = weights[-1][0][:-1]
    with pytest.raises(ConversionError, match=r"weights\[2\]\[0\] \(Dense kernel\).*\(8, n_y\)"):
        from_keras(weights, **options)
    options, weights = _weights()
    weights[-1][1] = weights[-1][1][:-1]
    with pytest.raises(ConversionError, match=r"weights\[2\]\[1\] \(Dense bias\)"):
        from_keras(weights, **options)


def test_stack_of_unlike_layers():
    options, weights = _weights()
    plain = weights[0][:3]  # a layer of one direction under a bidirectional one
    with pytest.raises(ConversionError, match="must be alike"):
        from_keras([plain, *weights[1:]], **options)


def test_stack_of_unlike_units():
    rng = np.random.default_rng(0)
    first = [rng.standard_normal(s) for s in ((3, 12), (4, 12), (12,))]
    second = [rng.standard_normal(s) for s in ((4, 15), (5, 15), (15,))]
    with pytest.raises(ConversionError, match="same units"):
        from_keras([first, second], cell="gru", reset_after=False)


def test_unsupported_activation_with_weights():
    options, weights = _weights("tagger-rnn_tanh-1-uni-float32")
    with pytest.raises(ConversionError, match="activation must be"):
        from_keras(weights, **{**options, "activation": "sigmoid"})
    options, weights = _weights("tagger-lstm-1-uni-float32")
    with pytest.raises(ConversionError, match='activation must be "tanh"'):
        from_keras(weights, **{**options, "activation": "relu"})


def test_merge_mode_with_weights():
    options, weights = _weights()
    with pytest.raises(ConversionError, match="merge_mode"):
        from_keras(weights, **{**options, "merge_mode": "mul"})
    # a sum merge reads n_a features above: these weights read 2·n_a
    with pytest.raises(ConversionError, match=r"weights\[1\]\[0\]"):
        from_keras(weights, **{**options, "merge_mode": "sum"})


def test_classifier_needs_the_dense():
    options, weights = _weights()
    with pytest.raises(ConversionError, match="return_sequences=False without a Dense"):
        from_keras(weights[:-1], **{**options, "return_sequences": False})


def test_non_finite_weight_is_named():
    options, weights = _weights()
    weights[0][1] = weights[0][1].copy()
    weights[0][1][0, 0] = np.nan
    with pytest.raises(ConversionError, match=r"weights\[0\]\[1\].*non-finite"):
        from_keras(weights, **options)


def test_nothing_to_read():
    with pytest.raises(ConversionError, match="layer_or_weights"):
        from_keras([])
    with pytest.raises(ConversionError, match="layer_or_weights"):
        from_keras("lstm")


def test_to_keras_weights_refuses_mean_pooling():
    config, weights, x, y = FIXTURES["classifier-lstm-2-concat-float32"]
    model = from_keras(weights, **_options(config))
    model.set_params(pooling="mean")
    with pytest.raises(ConversionError, match='pooling="mean"'):
        to_keras_weights(model)


# --- live: random Keras models ------------------------------------------------------


@pytest.fixture(scope="module")
def keras():
    try:
        return pytest.importorskip("keras")
    except pytest.skip.Exception:
        raise
    except Exception as exc:  # keras is there but its backend will not load
        pytest.skip(f"keras does not import: {type(exc).__name__}: {exc}")


@pytest.fixture
def full_float64(keras, monkeypatch):
    """Keras computing float64 layers in float64: its torch and jax backends compute their
    products in float32 (keras-team/keras#23704) through this table."""
    try:
        from keras.src.backend.common import dtypes
    except ImportError:  # another Keras layout: leave it
        return
    if "float64" in getattr(dtypes, "BIT64_TO_BIT32_DTYPE", {}):
        monkeypatch.setitem(dtypes.BIT64_TO_BIT32_DTYPE, "float64", "float64")


CELLS = {
    "rnn_tanh": ("SimpleRNN", {"activation": "tanh"}),
    "rnn_relu": ("SimpleRNN", {"activation": "relu"}),
    "lstm": ("LSTM", {}),
    "gru_after": ("GRU", {"reset_after": True}),
    "gru_before": ("GRU", {"reset_after": False}),
}


def _randomize(model, rng):
    """Draw every weight, biases too (Keras's are zero), from rng."""
    for layer in model.layers:
        layer.set_weights(
            [0.6 * rng.standard_normal(w.shape).astype(w.dtype) for w in layer.get_weights()]
        )


def _recurrent(keras, name, sequences, dtype, merge=None, **kwargs):
    kind, options = CELLS[name]
    layer = getattr(keras.layers, kind)(
        N_A, return_sequences=sequences, dtype=dtype, **options, **kwargs
    )
    return keras.layers.Bidirectional(layer, merge_mode=merge, dtype=dtype) if merge else layer


def _sequential(keras, name, num_layers, merge, dtype, head=True, sequences=True):
    layers = [
        _recurrent(keras, name, sequences or k < num_layers - 1, dtype, merge)
        for k in range(num_layers)
    ]
    if head:
        layers.append(keras.layers.Dense(N_Y, activation="softmax", dtype=dtype))
    return keras.Sequential([keras.Input((T_X, N_X), dtype=dtype), *layers])


def _run(keras, model, x):
    return keras.ops.convert_to_numpy(model(x))


LIVE = [
    (name, num_layers, merge, dtype)
    for name in CELLS
    for num_layers in (1, 2)
    for merge in (None, "concat", "sum")
    for dtype in ("float32", "float64")
]


@pytest.mark.parametrize(("name", "num_layers", "merge", "dtype"), LIVE)
def test_live_round_trip(keras, full_float64, name, num_layers, merge, dtype):
    rng = np.random.default_rng(LIVE.index((name, num_layers, merge, dtype)))
    head = merge != "sum"  # crnn's models concatenate: a sum merge is a layer stack
    source = _sequential(keras, name, num_layers, merge, dtype, head)
    _randomize(source, rng)
    x = rng.standard_normal((M, T_X, N_X)).astype(dtype)
    y = _run(keras, source, x)
    assert y.dtype == np.dtype(dtype)
    model = from_keras(source, verify=(x, y))
    ours = _proba(model, x) if head else _stack_out(model, x)
    assert isinstance(model, SequenceTagger if head else LayerStack)
    np.testing.assert_allclose(ours, y, rtol=0, atol=_tol(dtype))
    # and into a fresh Keras model of the same form
    fresh = _sequential(keras, name, num_layers, merge, dtype, head)
    weights = to_keras_weights(model)
    assert len(weights) == len(fresh.layers)
    for layer, entry in zip(fresh.layers, weights):
        layer.set_weights(entry)
    np.testing.assert_allclose(_run(keras, fresh, x), ours, rtol=0, atol=_tol(dtype))


@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("merge", [None, "concat"])
def test_live_classifier(keras, name, merge):
    rng = np.random.default_rng(7)
    source = _sequential(keras, name, 2, merge, "float32", sequences=False)
    _randomize(source, rng)
    x = rng.standard_normal((M, T_X, N_X)).astype(np.float32)
    y = _run(keras, source, x)
    model = from_keras(source, verify=(x, y))
    assert isinstance(model, SequenceClassifier) and model.pooling == "last"
    np.testing.assert_allclose(_proba(model, x), y, rtol=0, atol=_tol("float32"))
    fresh = _sequential(keras, name, 2, merge, "float32", sequences=False)
    for layer, entry in zip(fresh.layers, to_keras_weights(model)):
        layer.set_weights(entry)
    np.testing.assert_allclose(_run(keras, fresh, x), y, rtol=0, atol=_tol("float32"))


def _random_sequences(rng, dtype, m=6):
    """x (n_x, m, T_x) and labels of the N_Y classes, every class seen at every step."""
    x = rng.standard_normal((N_X, m, T_X)).astype(dtype)
    return x, (np.arange(m)[:, None] + np.arange(T_X)) % N_Y


@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_live_crnn_models_into_keras(keras, full_float64, name, bidirectional, dtype):
    # models crnn trained (not from Keras), run by Keras after set_weights
    rng = np.random.default_rng(3)
    kind, options = CELLS[name]
    cell = {"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}[kind]
    x, labels = _random_sequences(rng, dtype)
    for pooling in (None, "last"):
        common = {
            "cell": cell,
            "n_a": N_A,
            "num_layers": 2,
            "bidirectional": bidirectional,
            "epochs": 2,
            "verbose": False,
            "dtype": dtype,
            **options,
        }
        if pooling is None:
            model = SequenceTagger(**common).fit(x, labels)
        else:
            model = SequenceClassifier(pooling=pooling, **common).fit(x, labels[:, 0])
        merge = "concat" if bidirectional else None
        target = _sequential(keras, name, 2, merge, dtype, sequences=pooling is None)
        for layer, entry in zip(target.layers, to_keras_weights(model)):
            layer.set_weights(entry)
        xk = x.transpose(1, 2, 0)
        np.testing.assert_allclose(
            _run(keras, target, xk), _proba(model, xk), rtol=0, atol=_tol(dtype)
        )


@pytest.mark.parametrize("name", list(CELLS))
def test_live_layer_stack_sum_into_keras(keras, full_float64, name):
    kind, options = CELLS[name]
    cell = {"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}[kind]
    rng = np.random.default_rng(11)
    parameters = init_stack(
        N_X, N_A, 1, cell=cell, num_layers=2, bidirectional=True, merge="sum", seed=1, **options
    )
    del parameters["Wy"], parameters["by"]
    for layer in parameters.values():
        for key in layer:
            layer[key] = layer[key] + 0.3 * rng.standard_normal(layer[key].shape)
    stack = LayerStack(
        parameters, cell=cell, num_layers=2, bidirectional=True, merge="sum", **options
    )
    target = _sequential(keras, name, 2, "sum", "float64", head=False)
    for layer, entry in zip(target.layers, to_keras_weights(stack)):
        layer.set_weights(entry)
    x = rng.standard_normal((M, T_X, N_X))
    np.testing.assert_allclose(
        _run(keras, target, x), _stack_out(stack, x), rtol=0, atol=_tol("float64")
    )


def test_live_other_forms(keras):
    # keras.layers.RNN of a cell, Dropout, TimeDistributed(Dense), use_bias=False, a list
    # of layers, dense= apart, and a linear Dense (crnn gives its softmax)
    rng = np.random.default_rng(5)
    layers = [
        keras.layers.RNN(keras.layers.LSTMCell(N_A), return_sequences=True),
        keras.layers.Dropout(0.5),
        keras.layers.LSTM(N_A, return_sequences=True, use_bias=False, dropout=0.3),
        keras.layers.TimeDistributed(keras.layers.Dense(N_Y, activation="softmax")),
    ]
    source = keras.Sequential([keras.Input((T_X, N_X)), *layers])
    _randomize(source, rng)
    x = rng.standard_normal((M, T_X, N_X)).astype(np.float32)
    y = _run(keras, source, x)
    model = from_keras(source, verify=(x, y))
    np.testing.assert_allclose(_proba(model, x), y, rtol=0, atol=_tol("float32"))
    model = from_keras(list(source.layers[:-1]), source.layers[-1], verify=(x, y))
    np.testing.assert_allclose(_proba(model, x), y, rtol=0, atol=_tol("float32"))
    # the same network's weights, and a linear Dense
    weights = [layer.get_weights() for layer in source.layers if layer.get_weights()]
    model = from_keras(weights, cell="lstm", verify=(x, y))
    np.testing.assert_allclose(_proba(model, x), y, rtol=0, atol=_tol("float32"))
    linear = keras.layers.Dense(N_Y)
    logits_model = keras.Sequential([keras.Input((T_X, N_X)), *layers[:3], linear])
    linear.set_weights(layers[3].layer.get_weights())
    logits = _run(keras, logits_model, x).astype(np.float64)
    softmax = np.exp(logits - logits.max(-1, keepdims=True))
    softmax /= softmax.sum(-1, keepdims=True)
    model = from_keras(logits_model, verify=(x, softmax))
    np.testing.assert_allclose(_proba(model, x), softmax, rtol=0, atol=_tol("float32"))


def test_live_single_layer_without_dense(keras):
    rng = np.random.default_rng(9)
    layer = keras.layers.GRU(N_A, return_sequences=True, reset_after=False)
    layer.build((M, T_X, N_X))
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.weights])
    x = rng.standard_normal((M, T_X, N_X)).astype(np.float32)
    y = _run(keras, layer, x)
    stack = from_keras(layer, verify=(x, y))
    assert isinstance(stack, LayerStack)
    assert stack.cell.name == "gru" and not stack.cell.options.get("reset_after")
    np.testing.assert_allclose(_stack_out(stack, x), y, rtol=0, atol=_tol("float32"))


# --- live: what crnn cannot convert -------------------------------------------------


def _built(keras, *layers):
    return keras.Sequential([keras.Input((T_X, N_X)), *layers])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda k: k.layers.SimpleRNN(N_A, activation="sigmoid"), r"activation must be"),
        (lambda k: k.layers.LSTM(N_A, activation="relu"), r"activation must be \"tanh\""),
        (lambda k: k.layers.GRU(N_A, activation="linear"), r"activation must be.*'linear'"),
        (
            lambda k: k.layers.LSTM(N_A, recurrent_activation="hard_sigmoid"),
            r"recurrent_activation must be \"sigmoid\".*'hard_sigmoid'",
        ),
        (
            lambda k: k.layers.GRU(N_A, recurrent_activation="tanh"),
            r"recurrent_activation",
        ),
        (lambda k: k.layers.LSTM(N_A, go_backwards=True), r"go_backwards=True"),
    ],
)
def test_live_unsupported_layer(keras, make, match):
    model = _built(keras, make(keras))
    with pytest.raises(ConversionError, match=match):
        from_keras(model)


@pytest.mark.parametrize("merge", ["mul", "ave", None])
def test_live_unsupported_merge_mode(keras, merge):
    layer = keras.layers.Bidirectional(keras.layers.LSTM(N_A), merge_mode=merge)
    with pytest.raises(ConversionError, match=rf"merge_mode must be .*{merge!r}"):
        from_keras(_built(keras, layer))


def test_live_stateful(keras):
    layer = keras.layers.LSTM(N_A, stateful=True, return_sequences=True)
    model = keras.Sequential([keras.Input((T_X, N_X), batch_size=M), layer])
    with pytest.raises(ConversionError, match="stateful=True"):
        from_keras(model)


def test_live_mixed_cells(keras):
    model = _built(
        keras,
        keras.layers.LSTM(N_A, return_sequences=True),
        keras.layers.GRU(N_A, return_sequences=True),
    )
    with pytest.raises(ConversionError, match=r"must be alike.*LSTM.*GRU"):
        from_keras(model)


def test_live_mixed_units_and_directions(keras):
    model = _built(
        keras,
        keras.layers.LSTM(N_A, return_sequences=True),
        keras.layers.LSTM(N_A + 1, return_sequences=True),
    )
    with pytest.raises(ConversionError, match="same units"):
        from_keras(model)
    model = _built(
        keras,
        keras.layers.Bidirectional(keras.layers.LSTM(N_A, return_sequences=True)),
        keras.layers.LSTM(N_A, return_sequences=True),
    )
    with pytest.raises(ConversionError, match="must be alike"):
        from_keras(model)


def test_live_dense_of_wrong_width(keras):
    model = _built(
        keras,
        keras.layers.Bidirectional(keras.layers.GRU(N_A, return_sequences=True)),
        keras.layers.Dense(N_Y, activation="softmax"),
    )
    other = keras.layers.Dense(N_Y, activation="softmax")
    other.build((None, N_A))
    with pytest.raises(ConversionError, match=r"kernel must be \(8, n_y\).*\(4, 3\)"):
        from_keras(list(model.layers[:1]), other)
    bad = keras.layers.Dense(N_Y, activation="relu")
    bad.build((None, 2 * N_A))
    with pytest.raises(ConversionError, match=r"dense: activation must be \"softmax\" or"):
        from_keras(list(model.layers[:1]), bad)


def test_live_wrong_number_of_weights(keras):
    unbuilt = keras.layers.LSTM(N_A)
    with pytest.raises(ConversionError, match="has 0 weights, needs 3"):
        from_keras(unbuilt)


def test_live_other_layers(keras):
    model = _built(keras, keras.layers.Conv1D(2, 2), keras.layers.LSTM(N_A))
    with pytest.raises(ConversionError, match="is a Conv1D"):
        from_keras(model)
    model = _built(
        keras,
        keras.layers.LSTM(N_A, return_sequences=True),
        keras.layers.Dense(N_Y),
        keras.layers.LSTM(N_A),
    )
    with pytest.raises(ConversionError, match="follows the Dense"):
        from_keras(model)
    model = _built(
        keras,
        keras.layers.LSTM(N_A, return_sequences=False),
        keras.layers.RepeatVector(T_X),
    )
    with pytest.raises(ConversionError, match="is a RepeatVector"):
        from_keras(model)


def test_live_return_sequences_false_below_the_top(keras):
    layer = keras.layers.LSTM(N_A, return_sequences=False)
    model = _built(keras, layer)
    with pytest.raises(ConversionError, match="return_sequences=False without a Dense"):
        from_keras(model)
    top = keras.layers.LSTM(N_A)
    top.build((None, T_X, N_A))
    with pytest.raises(ConversionError, match="return_sequences=False below the top"):
        from_keras([layer, top])


def test_live_sum_merge_with_a_dense(keras):
    model = _built(
        keras,
        keras.layers.Bidirectional(keras.layers.LSTM(N_A, return_sequences=True), "sum"),
        keras.layers.Dense(N_Y, activation="softmax"),
    )
    with pytest.raises(ConversionError, match='merge="sum"'):
        from_keras(model)
