"""The estimators with stacked and bidirectional layers (num_layers, bidirectional,
dropout), on sequences of different lengths."""

import io

import numpy as np
import pytest

import crnn
from crnn.layers import Stack, stack_forward


@pytest.fixture
def tagged_sequences(sequences):
    """Tag of step t: whether x[0] rises at t+1 (the future: a reverse direction sees it)."""
    return lambda m=30, seed=0: sequences(m, seed, low=3, high=9, ahead=True)


def _tagger(**kwargs):
    return crnn.SequenceTagger(
        **{
            "n_a": 8,
            "epochs": 25,
            "batch_size": 6,
            "seed": 0,
            "learning_rate": 0.05,
            "verbose": False,
            **kwargs,
        }
    )


def test_a_bidirectional_stack_learns_what_needs_the_future(cell_name, tagged_sequences):
    xs, tags = tagged_sequences()
    forward_only = _tagger(cell=cell_name).fit(xs, tags).score(xs, tags)
    both = _tagger(cell=cell_name, num_layers=2, bidirectional=True, dropout=0.1).fit(xs, tags)
    assert both.score(xs, tags) > max(forward_only, 0.9)
    assert sorted(k for k in both.parameters_ if k.startswith("layer1_reverse."))
    assert both.parameters_["Wy"].shape == (2, 16)


def test_the_stacks_parameters_are_the_layers_functions(tagged_sequences):
    xs, tags = tagged_sequences(seed=1)
    model = _tagger(cell="gru", reset_after=True, num_layers=2, bidirectional=True, epochs=2).fit(
        xs, tags
    )
    stack = Stack("gru", 2, True, reset_after=True)
    x = xs[0][:, None]
    a, y, _ = stack_forward(
        x,
        None,
        stack.nested(model.parameters_),
        cell="gru",
        num_layers=2,
        bidirectional=True,
        reset_after=True,
    )
    np.testing.assert_allclose(model.predict_proba([xs[0]])[0], y[:, 0], rtol=1e-12)


def test_a_saved_stack_loads_and_predicts_the_same(tagged_sequences):
    xs, tags = tagged_sequences(seed=2)
    model = _tagger(cell="lstm", num_layers=3, bidirectional=True, epochs=2).fit(xs, tags)
    f = io.BytesIO()
    model.save(f)
    f.seek(0)
    loaded = crnn.load_model(f)
    assert loaded.get_params() == model.get_params()
    for got, want in zip(loaded.predict_proba(xs), model.predict_proba(xs)):
        np.testing.assert_array_equal(got, want)


def test_dropout_changes_training_only_and_is_reproducible(tagged_sequences):
    xs, tags = tagged_sequences(seed=3)
    a = _tagger(num_layers=2, dropout=0.5, epochs=2).fit(xs, tags)
    b = _tagger(num_layers=2, dropout=0.5, epochs=2).fit(xs, tags)
    c = _tagger(num_layers=2, epochs=2).fit(xs, tags)
    for key in a.parameters_:
        np.testing.assert_array_equal(a.parameters_[key], b.parameters_[key])
    assert any(not np.array_equal(a.parameters_[k], c.parameters_[k]) for k in a.parameters_)
    first = a.predict_proba(xs)  # predictions use no dropout: the same every call
    for got, want in zip(a.predict_proba(xs), first):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"num_layers": 0}, "num_layers must be an int >= 1"),
        ({"bidirectional": 1.5}, "bidirectional must be True or False"),
        ({"num_layers": 2, "dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
        ({"dropout": 0.2}, "needs num_layers >= 2"),
    ],
)
def test_bad_stack_parameters_are_named(params, message, tagged_sequences):
    xs, tags = tagged_sequences(m=4)
    with pytest.raises(ValueError, match=message):
        _tagger(**params).fit(xs, tags)


def test_a_bidirectional_classifier_reads_each_direction_where_it_ends():
    """Its reverse half's last state is at step 0: predictions do not depend on the
    batch's longest sequence."""
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((3, L)) for L in (4, 7, 5, 2)]
    model = crnn.SequenceClassifier(
        cell="gru", n_a=5, epochs=2, bidirectional=True, verbose=False, seed=0
    ).fit(xs, [0, 1, 0, 1])
    together = model.predict_proba(xs)
    for i, x in enumerate(xs):
        np.testing.assert_allclose(model.predict_proba([x])[0], together[i], rtol=1e-12)


@pytest.mark.parametrize(
    "form",
    [{}, {"num_layers": 2, "bidirectional": True}, {"num_layers": 3, "dropout": 0.3}],
    ids=["one layer", "bidirectional", "stacked with dropout"],
)
@pytest.mark.parametrize("given", ["padded", "list"])
def test_fit_runs_every_backward_pass_in_place(monkeypatch, cell_name, form, given):
    """Each minibatch, and each layer's input and gradient, reaches the engine in a layout
    its common path reads in place: no backward pass falls back to copying its inputs."""
    from crnn import _engine

    refused = []
    common = _engine.common_backward

    def counting(*args, **kwargs):
        out = common(*args, **kwargs)
        refused.append(out is None)
        return out

    monkeypatch.setattr(_engine, "common_backward", counting)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 12, 6)), rng.integers(0, 2, (12, 6))
    if given == "list":
        steps = rng.integers(2, 7, 12)
        x, y = [x[:, i, :L] for i, L in enumerate(steps)], [y[i, :L] for i, L in enumerate(steps)]
    crnn.SequenceTagger(cell=cell_name, n_a=4, epochs=1, batch_size=6, verbose=False, **form).fit(
        x, y
    )
    assert refused and not any(refused)
