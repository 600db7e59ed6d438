"""The benchmark runs end to end at the tiny size and writes its JSON."""
import json

import pytest

from crnn.__main__ import main
from crnn.bench import SIZES, gemm_floor


def _run(tmp_path, capsys, *extra):
    path = tmp_path / "bench.json"
    code = main(["bench", "--sizes", "tiny", "--repeats", "1", "--json", str(path), *extra])
    assert code == 0
    table = capsys.readouterr().out
    return json.loads(path.read_text()), table


def test_bench_json_structure(tmp_path, capsys):
    report, table = _run(tmp_path, capsys, "--no-torch", "--dtype", "float64,float32")
    assert report["repeats"] == 1 and report["torch"] is None
    assert [(r["size"], r["dtype"]) for r in report["results"]] == [
        ("tiny", "float64"), ("tiny", "float32")
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
    assert "tiny" in table and "float32" in table


def test_bench_with_torch_and_threads(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("threadpoolctl")
    report, table = _run(tmp_path, capsys, "--dtype", "float64", "--threads", "1")
    assert report["threads"] == 1 and report["torch_threads"] == 1
    assert all(lib["num_threads"] == 1 for lib in report["blas"])
    torch_entry = report["results"][0]["contenders"]["torch"]
    # the same work as the course code: the same states, predictions and gradients
    assert torch_entry["max_rel_error_vs_reference"] <= 1e-10
    assert "vs torch" in table


def test_bench_rejects_unknown_sizes(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--sizes", "huge"])
    assert "choose from tiny, small, medium, large" in capsys.readouterr().err


def test_gemm_floor_counts_every_product():
    seconds, rows = gemm_floor(3, 5, 2, 10, 4, "float64")
    assert seconds > 0
    assert [r["calls"] for r in rows] == [1, 4, 1, 4, 1, 1, 1]
    assert all(r["gflops_per_s"] > 0 for r in rows)


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
