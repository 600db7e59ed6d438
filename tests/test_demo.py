"""python -m crnn demo: the name tagger learns from context, and its options work.

The runs of the demo end to end (training, the command line) are marked slow."""

import importlib.util
import sys

import pytest

import crnn
from crnn.demo import SEED_SENTENCE, Encoder, builtin_data, capitalised_baseline, mark, run_demo

TINY = {"epochs": 6, "n_a": 24, "n_train": 500, "n_test": 150, "verbose": False}


def _run(**kwargs):
    lines = []
    scores = run_demo(out=lines.append, **{**TINY, **kwargs})
    return scores, "\n".join(lines)


@pytest.fixture
def _cli(run_python):
    """_cli(*args): python -m crnn *args in a child process."""
    return lambda *args: run_python("-m", "crnn", *args, timeout=120)


def test_held_out_names_never_occur_in_training():
    train, test = builtin_data(seed=3, n_train=400, n_test=200)

    def names(sentences):
        return {w for words, tags in sentences for w, t in zip(words, tags) if t != "O"}

    assert names(test) and not names(test) & names(train)
    # words seen in a name are kept out of the vocabulary: names are unknown words (a held-out
    # name can still be a template's word, e.g. the surname Cross and the "Red Cross")
    encoder = Encoder().fit(train)
    assert not {w.lower() for w in names(train)} & set(encoder.vocabulary_)


@pytest.mark.slow
def test_the_demo_learns_names_from_context():
    scores, text = _run()
    # the baseline tags every capitalised word: sentence starts, places, days, titles...
    assert scores["baseline_f1"] < 0.6
    assert scores["f1"] > scores["baseline_f1"] + 0.3
    assert 0.9 < scores["accuracy"] <= 1
    assert "held-out" in text and f"F1 {scores['f1']:.3f}" in text
    assert "Harry Potter met Hermione Granger" in text.replace("[", "").replace("]", "")
    assert "crnn.reference" in text and scores["epoch_seconds"] > 0
    assert scores["reference_epoch_seconds"] > 0


def test_encoder_features_and_word_dropout():
    sentences = [(["Ann", "met", "Bo", "."], ["B-PER", "O", "B-PER", "O"])] * 2
    encoder = Encoder(min_count=2, dim=4).fit(sentences)
    assert list(encoder.vocabulary_) == [".", "met"] and encoder.tags_ == ["O", "B-PER"]
    x, y, lengths = encoder.transform(sentences[:1] + [(["met"], ["O"])])
    assert x.shape == (encoder.n_x, 2, 4) and lengths == [4, 1]
    assert y.tolist() == [[1, 0, 1, 0], [0, 0, 0, 0]]
    unknown = x[1]  # the "unknown word" feature: the names, and no padding
    assert unknown[0].tolist() == [1, 0, 1, 0] and unknown[1].tolist() == [0, 0, 0, 0]
    assert x[0, 1].tolist() == [0, 1, 1, 1]  # <pad> after the one-word sentence
    dropped, _, _ = encoder.transform(sentences[:1], dropout=1.0, seed=0)
    assert dropped[1, 0].tolist() == [1, 1, 1, 1] and not dropped[9:].any()


def test_capitalised_baseline_and_marking():
    words = crnn.datasets.tokenize(SEED_SENTENCE)
    tags = capitalised_baseline([(words, None)])[0]
    assert mark(words, tags) == "[Yesterday], [Harry Potter] met [Hermione Granger]."


@pytest.mark.slow
def test_demo_on_a_conll_file_saves_and_plots(tmp_path):
    train, _ = builtin_data(seed=1, n_train=200, n_test=1)
    path = tmp_path / "names.conll"
    path.write_text(
        "\n\n".join("\n".join(f"{w} {t}" for w, t in zip(*s)) for s in train), encoding="utf-8"
    )
    plot = tmp_path / "loss.png" if importlib.util.find_spec("matplotlib") else None
    scores, text = _run(data=path, save=tmp_path / "m.npz", plot=plot)
    assert f"{path}: 160 training sentences, 40 held-out sentences" in text
    model = crnn.load_model(tmp_path / "m.npz")
    assert model.n_epochs_ == TINY["epochs"] and len(model.validation_loss_curve_) == TINY["epochs"]
    assert '"vocabulary"' in (tmp_path / "m.npz.json").read_text()
    if plot is not None:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_empty_data_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.conll"
    path.write_text("-DOCSTART- O\n\n")
    with pytest.raises(ValueError, match="holds 0 sentences"):
        _run(data=path)


@pytest.mark.slow
def test_every_cell_runs_the_demo(cell_name):
    scores, _ = _run(cell=cell_name)
    assert scores["f1"] > scores["baseline_f1"]


@pytest.mark.slow
def test_the_same_seed_gives_the_same_scores():
    a, _ = _run(epochs=1, n_train=100, n_test=40)
    b, _ = _run(epochs=1, n_train=100, n_test=40)
    keys = ("accuracy", "precision", "recall", "f1")
    assert [a[k] for k in keys] == [b[k] for k in keys]


@pytest.mark.slow
def test_python_m_crnn_demo_command_line(_cli):
    run = _cli("demo", "--epochs", "1", "--n-a", "8", "--seed", "2")
    assert run.returncode == 0, run.stderr
    assert "Yesterday," in run.stdout and "F1" in run.stdout and "crnn.reference" in run.stdout
    assert "epoch=1" in run.stderr  # the progress bar, with the loss
    bad = _cli("demo", "--cell", "elman")
    assert bad.returncode == 2 and "--cell must be one of" in bad.stderr
    missing = _cli("demo", "--data", "/nonexistent/file.conll")
    assert missing.returncode == 1 and "No such file" in missing.stderr


@pytest.mark.slow
def test_python_m_crnn_demo_names_samples_names(_cli):
    run = _cli("demo", "names", "--iterations", "50", "--samples", "3", "--temperature", "0.5")
    assert run.returncode == 0, run.stderr
    assert "Iteration: 0, Loss:" in run.stdout and "3 new names at temperature 0.5:" in run.stdout
    assert len(run.stdout.split("temperature 0.5:\n")[1].splitlines()) == 3
    assert _cli("demo", "names", "--temperature", "0").returncode == 2


def test_python_m_crnn_without_a_command_runs_the_demo(monkeypatch):
    from crnn import __main__, demo

    calls = []
    monkeypatch.setattr(demo, "run_demo", lambda **kwargs: calls.append(kwargs))
    assert __main__.main([]) == 0
    assert calls == [
        {
            "cell": "rnn",
            "epochs": 10,
            "n_a": 48,
            "seed": 0,
            "save": None,
            "plot": None,
            "data": None,
        }
    ]


def test_plot_without_matplotlib_fails_before_training(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    lines = []
    with pytest.raises(ValueError, match=r"pip install 'crnn\[plot\]'"):
        run_demo(plot=tmp_path / "loss.png", out=lines.append, **TINY)
    assert lines == [] and not (tmp_path / "loss.png").exists()
