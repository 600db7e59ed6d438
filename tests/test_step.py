"""A fitted model served a step at a time (``model.step``) gives what predict_proba gives
for the whole sequences."""

import numpy as np
import pytest

from crnn import SequenceClassifier, SequenceTagger
from crnn.testing import assert_close

MODELS = [
    {"cell": "rnn"},
    {"cell": "rnn", "activation": "relu"},
    {"cell": "lstm"},
    {"cell": "gru"},
    {"cell": "gru", "reset_after": True, "dtype": "float32"},
    {"cell": "lstm", "num_layers": 2},
]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3, 10, 6)), rng.integers(0, 3, (10, 6))


@pytest.mark.parametrize("options", MODELS, ids=lambda o: " ".join(map(str, o.values())))
def test_a_tagger_step_by_step_gives_predict_proba(options):
    x, y = _data()
    model = SequenceTagger(n_a=5, epochs=2, verbose=False, seed=1, **options).fit(x, y)
    want = model.predict_proba(x)
    state = None
    for t in range(x.shape[2]):
        proba, state = model.step(x[:, :, t], state)
        assert_close(proba, want[:, :, t], np.dtype(model.dtype), f"step {t}")
    # one sequence, its steps as (n_x,) vectors
    state = None
    for t in range(x.shape[2]):
        proba, state = model.step(x[:, 3, t], state)
        assert proba.shape == (3,)
        assert_close(proba, want[:, 3, t], np.dtype(model.dtype), f"step {t} alone")


@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_classifier_step_by_step_gives_predict_proba_of_the_sequence_so_far(pooling, cell):
    x, y = _data(1)
    model = SequenceClassifier(pooling=pooling, cell=cell, n_a=5, epochs=2, verbose=False)
    model.fit(x, y[:, 0])
    state = None
    for t in range(x.shape[2]):
        proba, state = model.step(x[:, :, t], state)
        assert_close(proba, model.predict_proba(x[:, :, : t + 1]), np.float64, f"step {t}")


def test_what_cannot_step_is_refused():
    x, y = _data()
    model = SequenceTagger(n_a=4, epochs=1, verbose=False).fit(x, y)
    with pytest.raises(ValueError, match=r"xt has n_x = 2 features \(shape \(2, 10\)\)"):
        model.step(x[:2, :, 0])
    with pytest.raises(ValueError, match="xt must be 2-D"):
        model.step(x[:, :, :2])
    with pytest.raises(ValueError, match="xt holds a non-finite value"):
        model.step(np.full((3, 2), np.nan))
    _, state = model.step(x[:, :, 0])
    with pytest.raises(ValueError, match=r"state must be the StepState .* for m = 4 sequences"):
        model.step(x[:, :4, 1], state)
    with pytest.raises(ValueError, match="state must be the StepState"):
        model.step(x[:, :, 1], (np.zeros((4, 10)),))
    stacked = SequenceTagger(n_a=4, epochs=1, verbose=False, bidirectional=True).fit(x, y)
    with pytest.raises(ValueError, match=r"a bidirectional model .* cannot run a step at a time"):
        stacked.step(x[:, :, 0])
    with pytest.raises(RuntimeError, match="not fitted"):
        SequenceTagger().step(x[:, :, 0])
