"""A short run of the fuzzer (tools/fuzz.py) over every entry point: seeded random inputs
that each must give a result or a ValueError, TypeError or crnn's own error. Longer runs:
``python tools/fuzz.py all --seconds 600`` (``--atheris`` for coverage-guided ones)."""

import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "fuzz.py"

pytestmark = pytest.mark.skipif(not TOOL.exists(), reason="needs the source tree")


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("crnn_fuzz", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "target", ["course", "step", "models", "load", "resume", "conll", "interop"]
)
def test_a_short_fuzz_run_finds_nothing(fuzz, target, tmp_path):
    if target == "interop":  # its damaged files are ONNX and safetensors files
        pytest.importorskip("onnx")
        pytest.importorskip("safetensors")
    count, returned = fuzz.fuzz(target, runs=200, seed=7, last=str(tmp_path / "last.bin"))
    assert count == 200
    # the inputs reach past the checks: some calls return, some are refused
    assert 0 < returned < count


def test_a_finding_is_reported_with_its_input(fuzz, tmp_path, monkeypatch, capsys):
    def broken(b):
        b.int(0, 9)
        raise RuntimeError("not a clear error")

    monkeypatch.setitem(fuzz.TARGETS, "conll", broken)
    last = tmp_path / "last.bin"
    assert fuzz.main(["conll", "--runs", "5", "--last", str(last)]) == 1
    assert "RuntimeError: not a clear error" in capsys.readouterr().err
    with pytest.raises(RuntimeError):
        fuzz.run_one("conll", last.read_bytes())  # the kept input replays the finding


# --- what the fuzzer found, each a test of its own -----------------------------------


@pytest.mark.parametrize("shape", [(4, 2), (3, 4, 2), (4,), (1, 1, 4, 3)])
def test_labels_of_the_wrong_shape_with_lengths_are_named(shape):
    # an IndexError of numpy's boolean indexing before
    import numpy as np

    import crnn

    x = np.zeros((2, 4, 3))
    a0 = np.zeros((5, 4))
    parameters = crnn.cells.get_cell("rnn").problem(2, 5, 3, 4, 3)[2]
    with pytest.raises(ValueError, match=r"y must have shape \(m, T_x\) = \(4, 3\)"):
        crnn.loss_and_grads(x, np.zeros(shape, int), a0, parameters, lengths=[3, 2, 1, 1])


def test_a_model_file_member_of_another_suffix_is_refused(tmp_path):
    # a KeyError before: the member "by.npz" was taken for the array "by"
    import io
    import zipfile

    import numpy as np

    import crnn

    rng = np.random.default_rng(0)
    model = crnn.SequenceTagger(n_a=3, epochs=1, verbose=False)
    model.fit(rng.standard_normal((2, 4, 3)), rng.integers(0, 2, (4, 3)))
    saved = io.BytesIO()
    model.save(saved)
    renamed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(saved.getvalue())) as src, zipfile.ZipFile(renamed, "w") as dst:
        for info in src.infolist():
            name = "by.npz" if info.filename == "by.npy" else info.filename
            dst.writestr(name, src.read(info))
    renamed.seek(0)
    with pytest.raises(crnn.ModelFileError, match=r"holds the arrays .*'by\.npz'"):
        crnn.load_model(renamed)


@pytest.mark.parametrize("shape", [(3, 4, 3), (1, 4, 3)])
def test_one_hot_labels_of_another_n_y_with_lengths_are_named(shape):
    import numpy as np

    import crnn

    parameters = crnn.cells.get_cell("lstm").problem(2, 5, 2, 4, 3)[2]
    with pytest.raises(ValueError, match=r"\(n_y, m, T_x\) = \(2, 4, 3\) with lengths, got"):
        crnn.loss_and_grads(
            np.zeros((2, 4, 3)),
            np.zeros(shape),
            np.zeros((5, 4)),
            parameters,
            cell="lstm",
            lengths=[3, 2, 1, 1],
        )


@pytest.mark.parametrize("options", [{}, {"bidirectional": True}, {"num_layers": 2}])
@pytest.mark.parametrize("shape, what", [((2, 4, 0), "steps"), ((2, 0, 3), "sequences")])
def test_a_batch_without_steps_or_sequences_is_refused_by_the_models(options, shape, what):
    # a bidirectional classifier hit an IndexError, others numpy's reshape errors
    import numpy as np

    import crnn

    x = np.zeros(shape)
    for model, y in (
        (crnn.SequenceClassifier(**options), np.zeros(shape[1], int)),
        (crnn.SequenceTagger(**options), np.zeros(shape[1:], int)),
    ):
        with pytest.raises(ValueError, match=rf"x of shape \(.*\) has no {what}"):
            model.set_params(verbose=False, epochs=1).fit(x, y)
