"""The estimators on sequences of different lengths: list input, padded input with
lengths=, minibatches grouped by length, predictions independent of the batch."""

import numpy as np
import pytest

import crnn
from crnn import models

N_X = 3


@pytest.fixture
def tagged_sequences(sequences):
    """m sequences of random lengths; the tag of step t is whether x[0] rose since t-1."""
    return lambda m=24, seed=0, low=2, high=9: sequences(m, seed, N_X, low, high)


def _tagger(**kwargs):
    return crnn.SequenceTagger(
        **{"n_a": 8, "epochs": 3, "batch_size": 5, "seed": 0, "learning_rate": 0.05, **kwargs}
    )


def test_the_tagger_fits_and_predicts_lists(cell_name, tagged_sequences):
    xs, tags = tagged_sequences()
    model = _tagger(cell=cell_name).fit(xs, tags)
    predicted = model.predict(xs)
    assert isinstance(predicted, list) and len(predicted) == len(xs)
    assert [p.shape for p in predicted] == [(x.shape[1],) for x in xs]
    proba = model.predict_proba(xs)
    assert [p.shape for p in proba] == [(2, x.shape[1]) for x in xs]
    assert all(np.allclose(p.sum(axis=0), 1) for p in proba)
    assert 0 <= model.score(xs, tags) <= 1


def test_a_list_and_the_padded_array_with_lengths_give_the_same_model(tagged_sequences):
    xs, tags = tagged_sequences(seed=1)
    lengths = np.array([x.shape[1] for x in xs])
    T = lengths.max()
    x = np.zeros((N_X, len(xs), T))
    y = np.zeros((len(xs), T), int)
    for i, (xi, ti) in enumerate(zip(xs, tags)):
        x[:, i, : len(ti)], y[i, : len(ti)] = xi, ti
        x[:, i, len(ti) :] = np.nan  # the padding is never read
        y[i, len(ti) :] = 7  # nor are its labels: 7 is no class of the data
    from_list = _tagger().fit(xs, tags)
    from_padded = _tagger().fit(x, y, lengths=lengths)
    for key, value in from_list.parameters_.items():
        np.testing.assert_array_equal(from_padded.parameters_[key], value)
    np.testing.assert_array_equal(from_padded.classes_, [0, 1])
    padded_proba = from_padded.predict_proba(x, lengths=lengths)
    for i, p in enumerate(from_list.predict_proba(xs)):
        np.testing.assert_allclose(padded_proba[:, i, : p.shape[1]], p, rtol=1e-12)
        assert not np.any(padded_proba[:, i, p.shape[1] :])


def test_predictions_do_not_depend_on_the_rest_of_the_batch(tagged_sequences):
    xs, tags = tagged_sequences(seed=2)
    model = _tagger(cell="lstm").fit(xs, tags)
    together = model.predict_proba(xs)
    for i in (0, 5, 17):
        alone = model.predict_proba([xs[i]])[0]
        np.testing.assert_allclose(alone, together[i], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_the_classifier_pools_each_sequence_over_its_own_steps(pooling, tagged_sequences):
    xs, _ = tagged_sequences(seed=3)
    labels = np.array([int(x[0, -1] > 0) for x in xs])  # the sign of the last step
    model = crnn.SequenceClassifier(pooling=pooling, n_a=8, epochs=2, batch_size=6, seed=0).fit(
        xs, labels
    )
    predicted = model.predict(xs)
    assert isinstance(predicted, list) and len(predicted) == len(xs)
    proba = model.predict_proba(xs)
    for i in (0, 9):
        alone = model.predict_proba([xs[i]])[0]
        np.testing.assert_allclose(alone, proba[i], rtol=1e-12)
        # padding a sequence with steps past its length changes nothing
        padded = np.concatenate((xs[i], np.ones((N_X, 4))), axis=1)[:, None]
        np.testing.assert_allclose(
            model.predict_proba(padded, lengths=[xs[i].shape[1]])[:, 0], alone, rtol=1e-12
        )


def test_minibatches_group_similar_lengths(monkeypatch, tagged_sequences):
    xs, tags = tagged_sequences(m=40, seed=4, low=1, high=30)
    seen = []
    real = models.loss_and_grads

    def recording(x, y, a0, parameters, *args, **kwargs):
        seen.append(np.asarray(args[-1]).copy())
        return real(x, y, a0, parameters, *args, **kwargs)

    monkeypatch.setattr(models, "loss_and_grads", recording)
    model = _tagger(epochs=1, batch_size=8)
    model.fit(xs, tags)
    lengths = np.sort([x.shape[1] for x in xs])[::-1]
    assert len(seen) == 5
    for batch in seen:
        assert np.all(batch[:-1] >= batch[1:])  # longest first: the engine copies nothing
    # each batch holds neighbours in the sorted order: its lengths span at most what 8
    # consecutive ones span
    widest = max(lengths[k] - lengths[k + 7] for k in range(len(lengths) - 7))
    assert all(batch[0] - batch[-1] <= widest for batch in seen)


@pytest.mark.parametrize(
    "x, y, lengths, error, message",
    [
        (
            [np.zeros((3, 4)), np.zeros((2, 5))],
            [np.zeros(4, int), np.zeros(5, int)],
            None,
            ValueError,
            r"x\[1\] has n_x = 2 features .* but x\[0\] has 3",
        ),
        (
            [np.zeros((3, 4)), np.zeros((3, 0))],
            [np.zeros(4, int), np.zeros(0, int)],
            None,
            ValueError,
            r"x\[1\] has no steps",
        ),
        (
            [np.zeros((3, 4))],
            [np.zeros(5, int)],
            None,
            ValueError,
            r"y\[0\] must have shape \(4,\)",
        ),
        ([np.zeros((3, 4))], [np.zeros(4, int)], [4], ValueError, "lengths= is for a padded array"),
        (
            np.zeros((3, 2, 4)),
            np.zeros((2, 4), int),
            [4, 5],
            ValueError,
            r"lengths must be in 1..T_x = 1..4",
        ),
        (
            np.zeros((3, 2, 4)),
            np.zeros((2, 4), int),
            [4],
            ValueError,
            "lengths must be 1-D with one length per example",
        ),
        ([], [], None, ValueError, "x is an empty list"),
        ([np.zeros((3, 2))], [np.array([0.0, 1.5])], None, ValueError, r"y .*1\.5"),
    ],
)
def test_bad_variable_length_input_is_named(x, y, lengths, error, message):
    with pytest.raises(error, match=message):
        _tagger().fit(x, y, lengths=lengths)
