"""Crash-safe training: checkpoints after every epoch, resuming bit for bit, Ctrl-C."""

import numpy as np
import pytest

import crnn
from crnn import ModelFileError, SequenceClassifier, SequenceTagger


def _data(seed=0, m=40, T=6):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, m, T))
    return x, rng.integers(0, 3, (m, T)), rng.integers(1, T + 1, m)


def _model(kind=SequenceTagger, **kwargs):
    options = {"n_a": 5, "epochs": 5, "verbose": False, "batch_size": 8, "cell": "lstm", "seed": 3}
    return kind(**{**options, **kwargs})


def _interrupt_in_epoch(monkeypatch, epoch, batches_per_epoch):
    """Make the fit raise KeyboardInterrupt in its first batch of epoch (counting from 1)."""
    real = crnn.models.loss_and_grads
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == (epoch - 1) * batches_per_epoch + 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(crnn.models, "loss_and_grads", interrupted)
    return lambda: monkeypatch.setattr(crnn.models, "loss_and_grads", real)


def _assert_same_fit(got, want):
    assert got.n_epochs_ == want.n_epochs_
    assert got.best_epoch_ == want.best_epoch_
    assert got.loss_curve_ == want.loss_curve_
    assert got.validation_loss_curve_ == want.validation_loss_curve_
    assert sorted(got.parameters_) == sorted(want.parameters_)
    for key, value in want.parameters_.items():
        np.testing.assert_array_equal(got.parameters_[key], value, err_msg=key)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"cell": "gru", "optimizer": "momentum", "dtype": "float32"},
        {"early_stopping": True, "validation_fraction": 0.25, "n_iter_no_change": 2},
        {"num_layers": 2, "bidirectional": True, "dropout": 0.3, "cell": "rnn"},
    ],
    ids=["lstm adam", "gru momentum float32", "early stopping", "stack with dropout"],
)
@pytest.mark.parametrize("with_lengths", [False, True], ids=["padded", "lengths"])
def test_a_resumed_fit_equals_one_never_stopped(tmp_path, monkeypatch, options, with_lengths):
    x, y, lengths = _data()
    lengths = lengths if with_lengths else None
    want = _model(**options).fit(x, y, lengths)
    path = tmp_path / "fit.ckpt"
    batches = (
        -(-round(40 * (1 - options.get("validation_fraction", 0))) // 8)
        if options.get("early_stopping")
        else 5
    )
    restore = _interrupt_in_epoch(monkeypatch, 3, batches)
    stopped = _model(**options)
    with pytest.raises(KeyboardInterrupt):
        stopped.fit(x, y, lengths, checkpoint=path)
    restore()
    assert path.exists()
    got = _model(**options).fit(x, y, lengths, checkpoint=path, resume=True)
    _assert_same_fit(got, want)


def test_resume_may_add_epochs(tmp_path):
    x, y, _ = _data()
    path = tmp_path / "fit.ckpt"
    _model(epochs=2).fit(x, y, checkpoint=path)
    got = _model(epochs=5).fit(x, y, checkpoint=path, resume=True)
    _assert_same_fit(got, _model(epochs=5).fit(x, y))


def test_resume_without_a_file_starts_and_without_a_path_is_refused(tmp_path):
    x, y, _ = _data()
    path = tmp_path / "new.ckpt"
    got = _model(epochs=2).fit(x, y, checkpoint=path, resume=True)
    _assert_same_fit(got, _model(epochs=2).fit(x, y))
    assert path.exists()
    with pytest.raises(ValueError, match="resume=True needs checkpoint=PATH"):
        _model().fit(x, y, resume=True)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"n_a": 6}, "made by a fit with other parameters"),
        ({"learning_rate": 0.5}, "made by a fit with other parameters"),
        ({"data": True}, "made by a fit on other data"),
    ],
)
def test_a_checkpoint_of_another_fit_is_refused(tmp_path, change, message):
    x, y, _ = _data()
    path = tmp_path / "fit.ckpt"
    _model(epochs=1).fit(x, y, checkpoint=path)
    if change.pop("data", False):
        x = x + 1
    with pytest.raises(ModelFileError, match=message):
        _model(**change).fit(x, y, checkpoint=path, resume=True)


def test_a_damaged_checkpoint_is_refused(tmp_path):
    x, y, _ = _data()
    path = tmp_path / "fit.ckpt"
    _model(epochs=1).fit(x, y, checkpoint=path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        _model().fit(x, y, checkpoint=path, resume=True)
    model_file = tmp_path / "model.npz"
    _model(epochs=1).fit(x, y).save(model_file)
    with pytest.raises(ModelFileError, match="not a crnn checkpoint"):
        _model().fit(x, y, checkpoint=model_file, resume=True)


@pytest.mark.parametrize("kind", [SequenceTagger, SequenceClassifier])
def test_ctrl_c_leaves_the_model_at_its_last_complete_epoch(monkeypatch, kind):
    x, y, _ = _data()
    if kind is SequenceClassifier:
        y = y[:, 0]
    want = _model(kind, epochs=2).fit(x, y)
    _interrupt_in_epoch(monkeypatch, 3, 5)
    model = _model(kind)
    with pytest.raises(KeyboardInterrupt, match=r"interrupted in epoch 3: .* of epoch 2"):
        model.fit(x, y)
    _assert_same_fit(model, want)
    assert model.predict(x).shape == y.shape  # usable


def test_ctrl_c_in_the_first_epoch_leaves_the_model_as_it_was(monkeypatch):
    x, y, _ = _data()
    model = _model(epochs=1).fit(x, y)
    before = {k: v.copy() for k, v in model.parameters_.items()}
    _interrupt_in_epoch(monkeypatch, 1, 5)
    with pytest.raises(KeyboardInterrupt):
        model.set_params(n_a=4).fit(x, y)
    assert model.n_epochs_ == 1 and model.parameters_["Wf"].shape == before["Wf"].shape
    for key, value in before.items():
        np.testing.assert_array_equal(model.parameters_[key], value)


def test_fewer_epochs_than_the_checkpoint_holds_are_refused(tmp_path):
    x, y, _ = _data()
    path = tmp_path / "fit.ckpt"
    _model(epochs=3).fit(x, y, checkpoint=path)
    with pytest.raises(ValueError, match=r"holds a fit of 3 epochs; epochs = 2 cannot resume"):
        _model(epochs=2).fit(x, y, checkpoint=path, resume=True)
    _assert_same_fit(
        _model(epochs=3).fit(x, y, checkpoint=path, resume=True), _model(epochs=3).fit(x, y)
    )


@pytest.mark.parametrize("seed", [None, np.random.default_rng(0)], ids=["None", "Generator"])
def test_a_checkpoint_needs_an_int_seed(tmp_path, seed):
    x, y, _ = _data()
    with pytest.raises(ValueError, match="checkpoint= needs an int seed"):
        _model(seed=seed).fit(x, y, checkpoint=tmp_path / "fit.ckpt")


def test_ctrl_c_in_the_first_epoch_of_a_resumed_fit_keeps_the_checkpoints_epoch(
    tmp_path, monkeypatch
):
    x, y, _ = _data()
    path = tmp_path / "fit.ckpt"
    _model(epochs=2).fit(x, y, checkpoint=path)
    _interrupt_in_epoch(monkeypatch, 1, 5)  # the first batch this fit runs: epoch 3
    model = _model()
    with pytest.raises(KeyboardInterrupt, match=r"interrupted in epoch 3: .* of epoch 2"):
        model.fit(x, y, checkpoint=path, resume=True)
    _assert_same_fit(model, _model(epochs=2).fit(x, y))


def _rewritten(path, change):
    """The checkpoint at path with its metadata changed by change(metadata)."""
    import io
    import json
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "__crnn_metadata__.npy":
                arr = np.load(io.BytesIO(data))
                metadata = json.loads(str(arr[()]))
                change(metadata)
                buffer = io.BytesIO()
                np.save(buffer, np.array(json.dumps(metadata)))
                data = buffer.getvalue()
            dst.writestr(info.filename, data)
    path.write_bytes(out.getvalue())


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(loss_curve="abc"), "loss_curve must be a list of 2"),
        (lambda m: m.update(loss_curve=[1.0]), "loss_curve must be a list of 2"),
        (lambda m: m.update(best="x"), "best must be a finite number or null"),
        (lambda m: m.update(best_epoch=99), "best_epoch must be an int from 1 to 2"),
        (lambda m: m.update(waited=-1), "waited must be an int from 0 to 2"),
        (lambda m: m.update(epoch=10**6), "loss_curve must be a list of 1000000"),
        (lambda m: m.update(rng="x"), "damaged checkpoint"),
        (lambda m: m.update(best_epoch=None), "holds the arrays"),
    ],
    ids=[
        "curve a string",
        "curve short",
        "best",
        "best_epoch",
        "waited",
        "epoch",
        "rng",
        "best arrays without best_epoch",
    ],
)
def test_a_checkpoints_fields_are_checked(tmp_path, change, message):
    x, y, _ = _data()
    options = {"early_stopping": True, "validation_fraction": 0.25}
    path = tmp_path / "fit.ckpt"
    _model(epochs=2, **options).fit(x, y, checkpoint=path)
    _rewritten(path, change)
    with pytest.raises(ModelFileError, match=message):
        _model(epochs=4, **options).fit(x, y, checkpoint=path, resume=True)


def test_a_checkpoint_declaring_more_arrays_is_refused_before_reading_them(tmp_path):
    import zipfile

    x, y, _ = _data()
    path = tmp_path / "fit.ckpt"
    _model(epochs=1).fit(x, y, checkpoint=path)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("optimizer/v/zz.npy", b"\x93NUMPY" + b"\0" * 64)
    with pytest.raises(ModelFileError, match="holds the arrays"):
        _model().fit(x, y, checkpoint=path, resume=True)


def test_a_checkpoint_in_a_missing_folder_is_refused_before_training(tmp_path, monkeypatch):
    x, y, _ = _data()
    calls = []
    monkeypatch.setattr(crnn.models, "loss_and_grads", lambda *a: calls.append(1))
    with pytest.raises(FileNotFoundError, match=r"its folder .* does not exist"):
        _model().fit(x, y, checkpoint=tmp_path / "missing" / "fit.ckpt")
    assert not calls
