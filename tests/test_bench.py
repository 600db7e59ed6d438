"""The benchmark runs end to end at the tiny size and writes its JSON."""

import json
import sys

import pytest

from crnn.__main__ import main
from crnn.bench import SIZES, floor_gemms, gemm_floor
from crnn.cells import CELLS

#: the gradients each cell's contenders are checked on
GRADIENTS = {
    "rnn": {"dx", "da0", "dWax", "dWaa", "dba"},
    "lstm": {"dx", "da0", "dc0", *(f"d{w}{g}" for w in "Wb" for g in "fico")},
    "gru": {"dx", "da0", "dWu", "dbu", "dWr", "dbr", "dWcx", "dWca", "dbcx", "dbca"},
}


@pytest.fixture(autouse=True)
def no_rest(monkeypatch):
    """The rest between contenders (SETTLE_SECONDS) only makes these runs slower."""
    import crnn.bench

    monkeypatch.setattr(crnn.bench, "SETTLE_SECONDS", 0.0)


def _run(tmp_path, capsys, *extra):
    path = tmp_path / "bench.json"
    code = main(["bench", "--sizes", "tiny", "--repeats", "1", "--json", str(path), *extra])
    assert code == 0
    table = capsys.readouterr().out
    return json.loads(path.read_text()), table


def test_bench_json_structure(tmp_path, capsys, monkeypatch, cell_name):
    # the contenders' gradient dicts, recorded to check that every gradient is compared
    import crnn.bench

    seen = []
    errors = crnn.bench._errors

    def recording(out, want):
        seen.append((set(out[2]), set(want[2])))
        return errors(out, want)

    monkeypatch.setattr(crnn.bench, "_errors", recording)
    report, table = _run(
        tmp_path, capsys, "--no-torch", "--dtype", "float64,float32", "--cell", cell_name
    )
    assert report["repeats"] == 1 and report["torch"] is None
    assert report["cells"] == [cell_name] and set(report["work"]) == {cell_name}
    assert seen and all(names == (GRADIENTS[cell_name],) * 2 for names in seen)
    assert [(r["cell"], r["size"], r["dtype"]) for r in report["results"]] == [
        (cell_name, "tiny", "float64"),
        (cell_name, "tiny", "float32"),
    ]
    for res in report["results"]:
        assert tuple(res["shape"].values()) == SIZES["tiny"]
        assert res["floor_ms"] > 0 and len(res["floor_gemms"]) == 7
        assert set(res["contenders"]) == {"crnn", "reference"}
        for entry in res["contenders"].values():
            assert len(entry["times_ms"]) == 1 and entry["median_ms"] > 0
            assert entry["calls_per_round"] >= 1
            assert entry["peak_traced_bytes"] > 0
            assert entry["max_rel_error_vs_reference"] <= 1e-4
        assert res["contenders"]["crnn"]["median_time_over_crnn"] == 1.0
        assert res["crnn_over_floor"] > 0
        case = res["lengths"]
        T = SIZES["tiny"][4]
        assert len(case["lengths"]) == SIZES["tiny"][3]
        assert all(max(T // 4, 1) <= L <= T for L in case["lengths"])
        assert case["fill"] == sum(case["lengths"]) / (SIZES["tiny"][3] * T)
        assert min(case[f"{k}_ms"] for k in ("full", "sorted", "unsorted")) > 0
        assert case["sorted_ratio"] > 0 and case["unsorted_ratio"] > 0
        assert [len(t) for t in case["times_ms"].values()] == [1, 1, 1]
    assert "tiny" in table and "float32" in table and f"{cell_name.upper()} work:" in table
    assert f"{cell_name.upper()} with variable lengths" in table


@pytest.mark.slow
def test_bench_with_torch_and_threads(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("threadpoolctl")
    report, table = _run(
        tmp_path, capsys, "--dtype", "float64", "--threads", "1", "--cell", "lstm,rnn"
    )
    assert report["threads"] == 1 and report["torch_threads"] == 1
    assert all(lib["num_threads"] == 1 for lib in report["blas"])
    assert [r["cell"] for r in report["results"]] == ["lstm", "rnn"]
    for res in report["results"]:
        # the same work as the course code: the same states, predictions and gradients
        assert res["contenders"]["torch"]["max_rel_error_vs_reference"] <= 1e-10
    assert table.count("vs torch") == 2


def test_bench_without_torch_runs_every_cell(tmp_path, capsys, monkeypatch):
    # torch that cannot be imported: the benchmark leaves it out, it does not fail
    monkeypatch.setitem(sys.modules, "torch", None)
    report, table = _run(tmp_path, capsys, "--dtype", "float32")
    assert report["torch"] is None and report["cells"] == list(CELLS)
    assert [r["cell"] for r in report["results"]] == list(CELLS)
    assert all(set(r["contenders"]) == {"crnn", "reference"} for r in report["results"])
    assert "not installed" in table and "vs torch" not in table


def test_bench_rejects_unknown_sizes(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--sizes", "huge"])
    assert "choose from tiny, small, medium, large" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "--cell", "elman"])
    assert "choose from rnn, lstm, gru" in capsys.readouterr().err


def test_gemm_floor_counts_every_product():
    seconds, rows = gemm_floor(3, 5, 2, 10, 4, "float64")
    assert seconds > 0
    assert [r["calls"] for r in rows] == [1, 4, 1, 4, 1, 1, 1]
    assert all(r["gflops_per_s"] > 0 for r in rows)
    # the per-step product's weight as stored or as a transposed copy, the faster
    assert rows[1]["trans"] in ("TN", "NN") and [r["trans"] for r in rows[2:]] == [
        "TN",
        "NN",
        "NN",
        "NT",
        "NT",
    ]
    seconds, rows = gemm_floor(3, 5, 2, 10, 4, "float32", cell="lstm")
    assert seconds > 0 and [r["calls"] for r in rows] == [1, 4, 1, 4, 1, 1, 1]


def test_stalled_calls_do_not_set_the_floor(monkeypatch):
    # two calls in a row stalled by a busy machine (seen: a 0.03 ms product took 34 ms)
    # once cut the timed batch down to one stalled call, and the floor came out 100x
    import time

    import numpy as np

    from crnn import _gemmtime, bench

    real, calls = _gemmtime.repeat_gemm, []

    def stalling(*args):
        calls.append(args[-1])
        if len(calls) in (2, 3):  # the first timed call and the one after it
            time.sleep(0.05)
        return real(*args)

    monkeypatch.setattr(_gemmtime, "repeat_gemm", stalling)
    seconds = bench._gemm_seconds("N", "N", 8, 8, 8, np.float64, np.random.default_rng(0), tries=1)
    assert seconds < 0.005
    assert calls[-1] > 1  # the timed batch is many calls, sized by an unstalled one


def test_lstm_floor_is_the_kernels_products():
    # the engine: the four gates are one product of the packed W (4n_a rows)
    n_x, n_a, n_y, m, T = 3, 5, 2, 10, 4
    shapes = [
        (ta, tb, M, N, K, calls)
        for _, ta, tb, M, N, K, calls in floor_gemms(n_x, n_a, n_y, m, T, "lstm")
    ]
    assert shapes == [
        ("T", "N", 20, 40, 3, 1),  # gates input part, every step at once
        ("TN", "N", 20, 10, 5, 4),  # gates recurrent part, per step: W as stored or copied
        ("T", "N", 2, 40, 5, 1),  # output layer
        ("N", "N", 5, 10, 20, 4),  # flow into a_prev, per step
        ("N", "N", 3, 40, 20, 1),  # dx
        ("N", "T", 3, 20, 40, 1),  # dW input part
        ("N", "T", 5, 20, 40, 1),  # dW recurrent part
    ]


@pytest.mark.parametrize("trans_a, trans_b", [("N", "N"), ("T", "N"), ("N", "T"), ("T", "T")])
def test_repeat_gemm_computes_the_product(trans_a, trans_b):
    import numpy as np

    from crnn._gemmtime import repeat_gemm

    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.standard_normal((4, 3) if trans_a == "N" else (3, 4)))
    b = np.asfortranarray(rng.standard_normal((3, 5) if trans_b == "N" else (5, 3)))
    c = np.empty((4, 5), order="F")
    repeat_gemm(trans_a, trans_b, a, b, c, 2)
    want = (a if trans_a == "N" else a.T) @ (b if trans_b == "N" else b.T)
    np.testing.assert_allclose(c, want, rtol=1e-12)
    with pytest.raises(ValueError, match="does not make"):
        repeat_gemm(trans_a, trans_b, a, b, np.empty((5, 5), order="F"), 1)


def test_every_timed_batch_follows_an_untimed_call(tmp_path, capsys, monkeypatch):
    # each contender is timed in its steady state: one call of its own before the timed
    # ones in every round, not cold after the other contenders' work
    import crnn.bench

    calls = {}
    course_step = crnn.bench._course_step

    def counting(module, cell):
        make = course_step(module, cell)

        def counted_make(*args):
            run = make(*args)

            def counted():
                calls[module.__name__] = calls.get(module.__name__, 0) + 1
                return run()

            return counted

        return counted_make

    monkeypatch.setattr(crnn.bench, "_course_step", counting)
    monkeypatch.setattr(crnn.bench, "_calls_per_round", lambda run: 3)
    path = tmp_path / "bench.json"
    assert (
        main(
            [
                "bench",
                "--sizes",
                "tiny",
                "--repeats",
                "2",
                "--dtype",
                "float64",
                "--cell",
                "rnn",
                "--no-torch",
                "--json",
                str(path),
            ]
        )
        == 0
    )
    # the check against the course code, the traced-memory call, then 2 rounds of 1 + 3;
    # the course code also makes the results everyone is checked against, once
    assert calls == {"crnn": 2 + 2 * 4, "crnn.reference": 1 + 2 + 2 * 4}


def test_the_table_names_the_cpu(tmp_path, capsys):
    from crnn.bench import cpu_model

    report, table = _run(tmp_path, capsys, "--no-torch", "--dtype", "float64", "--cell", "rnn")
    assert report["machine"]["cpu"] == cpu_model()
    assert f"CPUs: {cpu_model() or 'CPU model unknown'}" in table.splitlines()[0]
