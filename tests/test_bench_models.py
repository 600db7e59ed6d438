"""python -m crnn bench --train and --infer run end to end at a tiny size, write their
JSON, and refuse to time contenders that compute something else."""

import json
import sys

import numpy as np
import pytest

import crnn
from crnn import bench_models
from crnn.__main__ import main

#: (n_x, n_a, n_y, m, T_x) of the tiny training step, (n_x, n_a, n_y, T_x) and batch
#: sizes of the tiny prediction
TINY = (5, 6, 3, 4, 7)
TINY_INFER = (5, 6, 3, 7)
TINY_BATCHES = (1, 3)


@pytest.fixture(autouse=True)
def tiny(monkeypatch):
    """The benches at a tiny size, without the rests between contenders."""
    import crnn.bench

    monkeypatch.setattr(crnn.bench, "SETTLE_SECONDS", 0.0)
    monkeypatch.setattr(crnn.bench, "ROUND_SECONDS", 0.002)
    monkeypatch.setattr(bench_models, "TRAIN_SIZES", {"tiny": TINY})
    monkeypatch.setattr(bench_models, "FIT_STEPS", 2)
    monkeypatch.setattr(bench_models, "INFER_SHAPE", TINY_INFER)
    monkeypatch.setattr(bench_models, "INFER_BATCHES", TINY_BATCHES)


def _run(tmp_path, capsys, kind, *extra):
    path = tmp_path / f"{kind}.json"
    code = main(["bench", f"--{kind}", "--repeats", "1", "--json", str(path), *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(path.read_text()), captured.out


def _refused(capsys, kind, *extra):
    """The bench's message when it refuses to run (status 1, nothing printed)."""
    assert main(["bench", f"--{kind}", "--repeats", "1", *extra]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


# --- --train -------------------------------------------------------------------------


def test_train_json_structure(tmp_path, capsys):
    report, table = _run(tmp_path, capsys, "train", "--no-torch")
    assert report["bench"] == "train" and report["torch"] is None
    assert report["cells"] == ["rnn", "lstm", "gru"] and report["fit_steps"] == 2
    assert [(r["cell"], r["dtype"]) for r in report["results"]] == [
        (cell, dtype) for cell in ("rnn", "lstm", "gru") for dtype in ("float64", "float32")
    ]
    for res in report["results"]:
        assert res["size"] == "tiny" and tuple(res["shape"].values()) == TINY
        assert set(res["contenders"]) == {"step", "fit"}
        for entry in res["contenders"].values():
            assert len(entry["times_ms"]) == 1 and entry["median_ms"] > 0
            assert entry["calls_per_round"] >= 1
        assert len(res["floor_ms_per_round"]) == 1 and res["floor_ms"] > 0
        assert len(res["floor_gemms"]) == 8
        assert res["fit_over_step"] > 0 and res["step_over_floor"] > 0
        assert "torch_over_step" not in res
        check = res["check"]
        assert check["vs_loss_and_grads"] <= check["tolerance"]
        assert np.isfinite(check["loss"]) and "torch_loss" not in check
        peak = res["peak_traced_bytes"]
        assert peak["step"] > 0 and peak["predict_proba"] > 0
        assert peak["predict_over_step"] == peak["predict_proba"] / peak["step"]
    for cell in ("RNN", "LSTM", "GRU"):
        assert f"\n{cell}\n" in table
    assert "fit/step" in table and "torch/step" not in table
    assert "crnn.training.loss_and_grads" in table and "target of 1/4" in table


def test_train_fit_is_timed_per_step(tmp_path, capsys, monkeypatch):
    # every contender's batch takes "12 ms" a call: fit's call is FIT_STEPS steps
    import crnn.bench

    monkeypatch.setattr(crnn.bench, "_time_batch", lambda run, count: 12.0)
    report, _ = _run(tmp_path, capsys, "train", "--no-torch", "--cell", "rnn", "--dtype", "float64")
    (res,) = report["results"]
    assert res["contenders"]["step"]["median_ms"] == 12.0
    assert res["contenders"]["fit"]["median_ms"] == 12.0 / 2
    assert res["fit_over_step"] == 0.5


def test_train_with_torch(tmp_path, capsys, cell_name):
    pytest.importorskip("torch")
    pytest.importorskip("threadpoolctl")
    report, table = _run(
        tmp_path,
        capsys,
        "train",
        "--cell",
        cell_name,
        "--dtype",
        "float64,float32",
        "--threads",
        "1",
    )
    assert report["threads"] == 1 and report["torch_threads"] == 1
    for res in report["results"]:
        assert set(res["contenders"]) == {"step", "fit", "torch"}
        check = res["check"]
        # the same loss and gradients, weights and minibatch
        bound = 1e-12 if res["dtype"] == "float64" else 1e-5
        assert check["torch_loss_error"] <= bound and check["torch_grads_error"] <= bound
        assert abs(check["torch_loss"] - check["loss"]) <= bound * check["loss"]
        assert res["torch_over_step"] > 0 and res["torch_over_fit"] > 0
    assert "torch/step" in table and "PyTorch's loss and gradients" in table


@pytest.mark.parametrize("what", ["loss", "gradient"])
def test_train_refuses_a_step_that_differs(capsys, monkeypatch, what):
    real = crnn.SequenceTagger._batch_loss_and_grads

    def wrong(self, *args, **kwargs):
        loss, grads = real(self, *args, **kwargs)
        if what == "loss":
            return loss * 1.001, grads
        grads["dby"] = grads["dby"] * 1.001
        return loss, grads

    monkeypatch.setattr(crnn.SequenceTagger, "_batch_loss_and_grads", wrong)
    message = _refused(capsys, "train", "--no-torch", "--cell", "rnn", "--dtype", "float32")
    name = "loss" if what == "loss" else "dby"
    assert f"crnn's step's {name} against crnn.training.loss_and_grads" in message
    assert "refuses" in message


@pytest.mark.parametrize("what", ["loss", "gradient"])
def test_train_refuses_a_torch_loop_that_differs(capsys, monkeypatch, what):
    pytest.importorskip("torch")
    real = bench_models._torch_train

    def wrong(*args):
        run = real(*args)
        check = run.check

        def perturbed():
            loss, grads = check()
            if what == "loss":
                return loss * (1 + 1e-6), grads
            grads["dWaa"] = grads["dWaa"] + 1e-6 * np.abs(grads["dWaa"]).max()
            return loss, grads

        run.check = perturbed
        return run

    monkeypatch.setattr(bench_models, "_torch_train", wrong)
    message = _refused(capsys, "train", "--cell", "rnn", "--dtype", "float64")
    assert ("PyTorch's loss" if what == "loss" else "PyTorch's dWaa") in message


def test_train_floor_gemms_are_the_steps_products():
    # the course bench's products without dx, plus the output layer's backward
    n_x, n_a, n_y, m, T = 3, 5, 2, 10, 4
    gemms = bench_models.train_floor_gemms(n_x, n_a, n_y, m, T, "lstm")
    assert [g[1:] for g in gemms] == [
        ("T", "N", 20, 40, 3, 1),  # gates input part
        ("TN", "N", 20, 10, 5, 4),  # gates recurrent part, per step
        ("T", "N", 2, 40, 5, 1),  # output layer
        ("N", "T", 2, 5, 40, 1),  # dWy
        ("T", "N", 5, 40, 2, 1),  # the states' gradient from the output layer
        ("N", "N", 5, 10, 20, 4),  # flow into a_prev, per step
        ("N", "T", 3, 20, 40, 1),  # dW input part
        ("N", "T", 5, 20, 40, 1),  # dW recurrent part
    ]
    assert not any(what.startswith("dX") for what, *_ in gemms)
    assert [g[0][:4] for g in bench_models.train_floor_gemms(n_x, n_a, n_y, m, T)][3] == "dWya"


# --- --infer -------------------------------------------------------------------------


def test_infer_without_torch_or_onnxruntime(tmp_path, capsys, monkeypatch):
    # neither can be imported: the bench leaves them out, it does not fail
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    report, table = _run(tmp_path, capsys, "infer")
    assert report["bench"] == "infer" and report["torch"] is None
    assert report["onnxruntime"] is None and report["onnxruntime_threads"] is None
    assert report["shape"] == dict(zip(("n_x", "n_a", "n_y", "T_x"), TINY_INFER))
    assert report["batches"] == list(TINY_BATCHES)
    # float32 unless --dtype asks for more
    assert [(r["cell"], r["dtype"], r["m"]) for r in report["results"]] == [
        (cell, "float32", m) for cell in ("rnn", "lstm", "gru") for m in TINY_BATCHES
    ]
    for res in report["results"]:
        assert res["shape"]["m"] == res["m"] and res["skipped"] == {}
        assert set(res["contenders"]) == {"predict_proba", "forward"}
        for entry in res["contenders"].values():
            assert len(entry["times_us"]) == 1 and entry["median_us"] > 0
            assert entry["max_error_vs_reference"] <= 1e-4
            assert entry["peak_traced_bytes"] > 0
        assert res["contenders"]["predict_proba"]["over_predict_proba"] == 1.0
        assert res["contenders"]["forward"]["over_forward"] == 1.0
    assert "ONNX Runtime not installed" in table and "not installed" in table.splitlines()[0]
    assert "forward/pred" in table and "torch/pred" not in table and "onnxrt/pred" not in table


def test_infer_with_torch_and_onnxruntime(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("threadpoolctl")
    report, table = _run(tmp_path, capsys, "infer", "--dtype", "float32,float64", "--threads", "1")
    assert report["onnxruntime_threads"] == 1 and report["torch_threads"] == 1
    for res in report["results"]:
        names = {"predict_proba", "forward", "torch"}
        if "onnxruntime" in res["contenders"]:
            names.add("onnxruntime")
        else:
            # ONNX Runtime's CPU kernels of these operators compute float32 only
            assert res["dtype"] == "float64" and "float64" in res["skipped"]["onnxruntime"]
        assert set(res["contenders"]) == names
        bound = 1e-12 if res["dtype"] == "float64" else 1e-5
        for name, entry in res["contenders"].items():
            assert entry["max_error_vs_reference"] <= bound, name
            assert (entry["peak_traced_bytes"] is None) == (name in ("torch", "onnxruntime"))
            assert entry["over_predict_proba"] > 0 and entry["over_forward"] > 0
    assert any("onnxruntime" in r["contenders"] for r in report["results"])
    assert "onnxrt/pred" in table and "torch/fwd" in table


def test_infer_refuses_a_contender_that_differs(capsys, monkeypatch):
    real = bench_models._predictors

    def wrong(*args):
        makers = real(*args)
        make = makers["forward"]

        def perturbed(x):
            run = make(x)
            run.course_form = lambda out: out * (1 + 1e-3)
            return run

        makers["forward"] = perturbed
        return makers

    monkeypatch.setattr(bench_models, "_predictors", wrong)
    message = _refused(capsys, "infer", "--no-torch", "--cell", "gru")
    assert "the probabilities of forward (gru, float32, m = 1)" in message
    assert "crnn.reference" in message


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_infer_refuses_onnx_gates_in_the_wrong_order(capsys, monkeypatch, cell):
    # PyTorch's gate order handed to ONNX Runtime as it is: the outputs differ
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    op, order = bench_models._ONNX_OPS[cell]
    monkeypatch.setitem(bench_models._ONNX_OPS, cell, (op, tuple(range(len(order)))))
    message = _refused(capsys, "infer", "--no-torch", "--cell", cell)
    assert f"the probabilities of onnxruntime ({cell}, float32, m = 1)" in message


def test_onnx_model_computes_predict_proba(cell_name):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    x, y = bench_models._tagging_data(4, 3, 6, 5, np.float32, rng)
    model = bench_models._tagger(cell_name, 7, 6, np.float32, 0).fit(x, y)
    graph = bench_models.onnx_model(model)
    onnx.checker.check_model(graph, full_check=True)
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    x_new = rng.standard_normal((4, 2, 9)).astype(np.float32)  # another m and T_x
    (proba,) = session.run(None, {"x": np.ascontiguousarray(x_new.transpose(2, 1, 0))})
    np.testing.assert_allclose(
        proba.transpose(2, 1, 0), model.predict_proba(x_new), rtol=1e-5, atol=1e-6
    )


# --- the command line ----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--train", "--infer"], "not allowed with argument"),
        # TRAIN_SIZES holds "tiny" alone here; "large" is a size of the course bench
        (["--train", "--sizes", "large"], "--sizes large: with --train, choose from tiny"),
        (["--infer", "--sizes", "tiny"], "--sizes is for the other benches"),
    ],
)
def test_the_command_line_rejects(capsys, argv, message):
    with pytest.raises(SystemExit):
        main(["bench", *argv])
    assert message in capsys.readouterr().err


def test_the_course_bench_rejects_the_sizes_of_train(capsys, monkeypatch):
    monkeypatch.setattr(bench_models, "TRAIN_SIZES", {"demo": TINY, "mid": TINY})
    with pytest.raises(SystemExit):
        main(["bench", "--sizes", "small,demo"])
    err = capsys.readouterr().err
    assert (
        "--sizes demo: choose from tiny, small, medium, large (demo, mid are sizes of --train)"
        in err
    )
