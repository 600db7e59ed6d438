"""SequenceTagger and SequenceClassifier: learning, reproducibility, save/load, bad input."""

import zipfile

import numpy as np
import pytest

import crnn
from crnn import SequenceClassifier, SequenceTagger
from crnn.cells import model_shapes

#: the vocabulary and the steps of conftest's previous_token_data: one-hot tokens x (V, m,
#: T), tag 1 where the previous token was 0 (no single step shows it)
V, T = 4, 12


def contains_data(m, seed):
    """One-hot tokens; the class is 1 when token 0 occurs anywhere."""
    tokens = np.random.default_rng(seed).integers(1, V, (m, T))
    hit = np.random.default_rng(seed + 1).random(m) < 0.5
    tokens[hit, np.random.default_rng(seed + 2).integers(0, T, hit.sum())] = 0
    return np.eye(V)[tokens].transpose(2, 0, 1), hit.astype(int)


def _tagger(**kwargs):
    return SequenceTagger(
        **{"n_a": 16, "learning_rate": 0.02, "epochs": 8, "verbose": False, **kwargs}
    )


@pytest.fixture(scope="module")
def fitted(previous_token_data):
    x, y = previous_token_data(400, seed=0)
    return _tagger().fit(x, y)


def test_the_tagger_learns_a_rule_no_single_step_can_see(fitted, previous_token_data):
    x, y = previous_token_data(300, seed=1)
    assert fitted.score(x, y) > 0.99
    assert fitted.predict(x).shape == y.shape
    proba = fitted.predict_proba(x)
    assert proba.shape == (2, 300, T)
    np.testing.assert_allclose(proba.sum(axis=0), 1.0)
    assert fitted.loss_curve_[-1] < fitted.loss_curve_[0]


def test_every_cell_learns_the_rule_saves_and_loads(cell, tmp_path, previous_token_data):
    x, y = previous_token_data(400, seed=0)
    model = _tagger(cell=cell.name, **cell.options, epochs=10).fit(x, y)
    assert set(model.parameters_) == set(model_shapes(cell, V, 16, 2))
    xt, yt = previous_token_data(300, seed=1)
    assert model.score(xt, yt) > 0.99
    model.save(tmp_path / "model.npz")
    loaded = crnn.load_model(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.predict_proba(xt), model.predict_proba(xt))


def test_the_classifier_learns_from_the_last_or_the_mean_state():
    x, y = contains_data(600, seed=0)
    xt, yt = contains_data(300, seed=10)
    for pooling in ("last", "mean"):
        model = SequenceClassifier(
            pooling=pooling, n_a=16, learning_rate=0.02, epochs=15, verbose=False
        ).fit(x, y)
        assert model.predict(xt).shape == (300,)
        assert model.predict_proba(xt).shape == (2, 300)
        assert model.score(xt, yt) > 0.95, pooling


def test_the_same_seed_gives_the_same_model_bit_for_bit(previous_token_data):
    x, y = previous_token_data(100, seed=2)
    a = _tagger(epochs=2, seed=7, batch_size=16).fit(x, y)
    b = _tagger(epochs=2, seed=7, batch_size=16).fit(x, y)
    c = _tagger(epochs=2, seed=8, batch_size=16).fit(x, y)
    for k in a.parameters_:
        np.testing.assert_array_equal(a.parameters_[k], b.parameters_[k])
    assert a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(a.parameters_["Waa"], c.parameters_["Waa"])


def test_one_hot_labels_train_the_same_model_as_indices(previous_token_data):
    x, y = previous_token_data(60, seed=3)
    a = _tagger(epochs=1).fit(x, y)
    b = _tagger(epochs=1).fit(x, np.eye(2)[y].transpose(2, 0, 1))
    for k in a.parameters_:
        np.testing.assert_array_equal(a.parameters_[k], b.parameters_[k])


def test_save_load_predict_identical(fitted, tmp_path, previous_token_data):
    path = tmp_path / "tagger.model"  # any name: written exactly there
    fitted.save(path)
    loaded = SequenceTagger.load(path)
    assert loaded.get_params() == fitted.get_params()
    x, _ = previous_token_data(50, seed=4)
    np.testing.assert_array_equal(loaded.predict_proba(x), fitted.predict_proba(x))
    np.testing.assert_array_equal(loaded.predict(x), fitted.predict(x))
    assert loaded.loss_curve_ == fitted.loss_curve_
    with zipfile.ZipFile(path) as z:  # named arrays, no pickle
        assert sorted(z.namelist()) == sorted(
            f"{k}.npy" for k in [*fitted.parameters_, "__crnn_metadata__"]
        )
    assert isinstance(crnn.load_model(path), SequenceTagger)
    with pytest.raises(
        crnn.ModelFileError, match="holds a SequenceTagger, not a SequenceClassifier"
    ):
        SequenceClassifier.load(path)


def test_a_file_from_another_crnn_version_is_refused(fitted, tmp_path, rewrite_model_file):
    fitted.save(tmp_path / "m.npz")
    rewrite_model_file(
        tmp_path / "m.npz", tmp_path / "old.npz", lambda m: m.update(crnn_version="0.0.1")
    )
    with pytest.raises(crnn.ModelFileError, match=r"saved by crnn 0\.0\.1 .*this is crnn"):
        SequenceTagger.load(tmp_path / "old.npz")


@pytest.mark.parametrize(
    "damage", ["truncate", "flip", "garbage", "not_crnn", "bad_shape", "no_key"]
)
def test_a_damaged_file_gets_a_clear_error(fitted, tmp_path, damage, rewrite_model_file):
    path = tmp_path / "m.npz"
    fitted.save(path)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        with zipfile.ZipFile(path) as z:  # a byte inside the stored Waa array's data
            info = z.getinfo("Waa.npy")
        data[info.header_offset + 30 + len(info.filename) + info.extra.__len__() + 200] ^= 0xFF
        path.write_bytes(data)
    elif damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "not_crnn":
        np.savez(path, W=np.zeros(3))
    elif damage == "bad_shape":
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
        arrays["Waa"] = arrays["Waa"][:, :3]
        with open(path, "wb") as out:
            np.savez(out, **arrays)
    else:
        rewrite_model_file(path, path, lambda m: m.pop("n_classes_"))
    with pytest.raises(crnn.ModelFileError, match=str(path.name)):
        SequenceTagger.load(path)


def test_early_stopping_keeps_the_best_epoch(previous_token_data):
    x, y = previous_token_data(200, seed=5)
    model = _tagger(
        epochs=60,
        learning_rate=0.05,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=2,
        tol=0.05,
    ).fit(x, y)
    assert model.n_epochs_ < 60
    curve = model.validation_loss_curve_
    assert len(curve) == model.n_epochs_ == model.best_epoch_ + 2
    assert curve[model.best_epoch_ - 1] == min(curve[: model.best_epoch_])


def test_get_params_and_set_params():
    model = SequenceClassifier(pooling="mean", n_a=8)
    params = model.get_params()
    assert params["pooling"] == "mean" and params["n_a"] == 8 and params["cell"] == "rnn"
    assert set(params) >= {
        "optimizer",
        "learning_rate",
        "epochs",
        "batch_size",
        "clip_norm",
        "seed",
    }
    assert model.set_params(n_a=4, epochs=3) is model and model.n_a == 4
    with pytest.raises(ValueError, match="no parameter 'layers'"):
        model.set_params(layers=2)
    assert SequenceClassifier(**params).get_params() == params


def test_the_progress_bar_shows_loss_and_speed_and_is_silent_when_asked(
    capsys, previous_token_data
):
    x, y = previous_token_data(40, seed=6)
    _tagger(epochs=1, verbose=True).fit(x, y)
    err = capsys.readouterr().err
    assert "loss=" in err and "seq/s" in err
    _tagger(epochs=1, verbose=False).fit(x, y)
    assert capsys.readouterr() == ("", "")


def test_bad_labels_and_inputs_get_clear_errors(fitted, previous_token_data):
    x, y = previous_token_data(20, seed=7)
    model = _tagger(epochs=1)
    with pytest.raises(
        ValueError,
        match=r"y must be class indices of shape \(m, T_x\) = \(20, 12\).*got shape \(20, 11\)",
    ):
        model.fit(x, y[:, :11])
    with pytest.raises(ValueError, match=r"y holds -1 .*non-negative"):
        model.fit(x, np.where(y == 1, -1, y))
    with pytest.raises(ValueError, match="y holds nan"):
        model.fit(x, np.where(y == 1, np.nan, y))
    with pytest.raises(ValueError, match="one-hot"):
        model.fit(x, np.ones((2, 20, T)))
    with pytest.raises(ValueError, match=r"y holds 2 .*not fitted with \(classes_ = \[0, 1\]\)"):
        fitted.score(x, np.full((20, T), 2))
    with pytest.raises(ValueError, match="fitted with n_x = 4"):
        fitted.predict(x[:3])
    with pytest.raises(RuntimeError, match="not fitted"):
        _tagger().predict(x)
    with pytest.raises(ValueError, match=r"y must be class indices of shape \(m,\)"):
        SequenceClassifier(verbose=False).fit(x, y)
    with pytest.raises(ValueError, match="cell must be one of"):
        _tagger(cell="elman").fit(x, y)


def test_float32_models_train_in_float32(previous_token_data):
    x, y = previous_token_data(40, seed=8)
    model = _tagger(epochs=1, dtype="float32").fit(x, y)
    assert all(v.dtype == np.float32 for v in model.parameters_.values())
    assert model.predict_proba(x).dtype == np.float32


@pytest.mark.parametrize(
    "param, value, message",
    [
        ("n_a", 0, "n_a must be a positive int"),
        ("epochs", 2.5, "epochs must be a positive int"),
        ("batch_size", -1, "batch_size must be a positive int"),
        ("clip_norm", 0.0, "clip_norm must be positive or None"),
        ("optimizer", "rmsprop", "optimizer must be one of"),
        ("learning_rate", -0.1, "learning_rate must be positive"),
        ("dtype", "float16", "dtype must be"),
        ("init", "zeros", "method must be"),
    ],
)
def test_bad_constructor_arguments_get_clear_errors_at_fit(
    param, value, message, previous_token_data
):
    x, y = previous_token_data(10, seed=9)
    with pytest.raises(ValueError, match=message):
        _tagger(**{param: value}).fit(x, y)


def test_a_bad_pooling_gets_a_clear_error(previous_token_data):
    x, y = previous_token_data(10, seed=9)
    with pytest.raises(ValueError, match="pooling must be"):
        SequenceClassifier(pooling="max", verbose=False).fit(x, y[:, 0])


def test_non_finite_inputs_and_a_diverging_loss_stop_fit_clearly(monkeypatch, previous_token_data):
    x, y = previous_token_data(10, seed=10)
    x[2, 3, 4] = np.nan
    with pytest.raises(ValueError, match=r"x holds nan at index \(2, 3, 4\)"):
        _tagger().fit(x, y)
    x, y = previous_token_data(10, seed=10)
    real = crnn.models.loss_and_grads
    monkeypatch.setattr(
        crnn.models, "loss_and_grads", lambda *args, **kw: (np.inf, real(*args, **kw)[1])
    )
    with pytest.raises(FloatingPointError, match="loss became inf in epoch 1: lower learning_rate"):
        _tagger().fit(x, y)


def test_the_progress_bar_shows_the_validation_loss(capsys, previous_token_data):
    x, y = previous_token_data(40, seed=11)
    _tagger(epochs=2, verbose=True, early_stopping=True, validation_fraction=0.25).fit(x, y)
    err = capsys.readouterr().err
    assert "val_loss=" in err and "epoch=2" in err


def test_predict_refuses_non_finite_inputs_as_fit_does(fitted, previous_token_data):
    x, _ = previous_token_data(5, seed=12)
    x[1, 2, 3] = np.nan
    for method in (fitted.predict, fitted.predict_proba):
        with pytest.raises(ValueError, match=r"x holds nan at index \(1, 2, 3\)"):
            method(x)


def test_classes_are_the_labels_seen(previous_token_data):
    x, y = previous_token_data(60, seed=13)
    labels = np.where(y == 1, 10**6, 7)
    model = _tagger(epochs=1).fit(x, labels)
    assert model.n_classes_ == 2 and model.classes_.tolist() == [7, 10**6]
    assert model.parameters_["Wya"].shape == (2, 16)
    assert set(np.unique(model.predict(x))) <= {7, 10**6}
    reference = _tagger(epochs=1).fit(x, y)  # the same labels as indices 0 and 1
    np.testing.assert_array_equal(model.predict_proba(x), reference.predict_proba(x))
    assert model.score(x, labels) == reference.score(x, y)
    with pytest.raises(ValueError, match=r"y holds 0 at index .*classes_ = \[7, 1000000\]"):
        model.score(x, y)
    huge = _tagger(epochs=1).fit(x, np.where(y == 1, 2**40, 0))
    assert huge.classes_.tolist() == [0, 2**40]


def test_an_absurd_class_count_is_refused():
    x = np.zeros((1, 70000, 1))
    with pytest.raises(ValueError, match="y has 70000 classes, more than crnn's models take"):
        _tagger(epochs=1).fit(x, np.arange(70000)[:, None])


def test_a_failed_refit_leaves_the_fitted_model_as_it_was(monkeypatch, previous_token_data):
    # (Ctrl-C leaves it at its last complete epoch instead: tests/test_checkpoint.py)
    x, y = previous_token_data(40, seed=14)
    model = _tagger(epochs=3).fit(x, y)
    before = {
        k: (v.copy() if isinstance(v, np.ndarray) else v)
        for k, v in vars(model).items()
        if k.endswith("_")
    }
    before["parameters_"] = {k: v.copy() for k, v in model.parameters_.items()}
    calls = []
    real = crnn.models.loss_and_grads

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # in the second epoch of the re-fit (one batch an epoch)
            raise MemoryError
        return real(*args, **kwargs)

    monkeypatch.setattr(crnn.models, "loss_and_grads", interrupted)
    with pytest.raises(MemoryError):
        model.set_params(epochs=4).fit(x[:, :30] * 2, y[:30])
    after = {k: v for k, v in vars(model).items() if k.endswith("_")}
    assert sorted(after) == sorted(before)
    for key, value in before.items():
        if key == "parameters_":
            for k, arr in value.items():
                np.testing.assert_array_equal(after[key][k], arr)
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value)
        else:
            assert after[key] == value, key


@pytest.mark.parametrize("dtype", ["float32", "f4", np.float32, np.dtype("float32")])
def test_every_spelling_of_a_float_dtype_is_accepted(dtype, previous_token_data):
    x, y = previous_token_data(8, seed=15)
    model = _tagger(epochs=1, dtype=dtype).fit(x, y)
    assert model.parameters_["Waa"].dtype == np.float32
