"""The command line: python -m crnn check runs the self-check (its full runs are slow)."""

import pytest

from crnn._check import SIZES, run_check


@pytest.mark.slow
def test_check_passes_and_reports_every_output():
    lines = []
    assert run_check(repeats=1, out=lines.append) == 0
    text = "\n".join(lines)
    for key in ("a ", "y_pred", "dx", "da0", "dWax", "dWaa", "dba"):
        assert text.count(key) >= 6, key  # three sizes, two dtypes
    assert "faster" in text and "all outputs and gradients agree" in text


def test_check_reports_a_mismatch(monkeypatch):
    import crnn

    real = crnn.rnn_backward

    def wrong(da, caches):
        grads = real(da, caches)
        grads["dWaa"] = grads["dWaa"] * 1.001
        return grads

    monkeypatch.setattr(crnn, "rnn_backward", wrong)
    lines = []
    assert run_check(repeats=1, sizes=SIZES[:1], out=lines.append) == 1
    assert any("FAILED: dWaa" in line for line in lines)


@pytest.mark.slow
def test_python_m_crnn_runs_the_check(run_python):
    run = run_python("-m", "crnn", "check", "--repeats", "1")
    assert run.returncode == 0, run.stderr
    assert "all outputs and gradients agree" in run.stdout
