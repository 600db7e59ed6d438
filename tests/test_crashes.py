"""Inputs that once crashed the interpreter: each runs in a child process, so that a
segfault or a corrupted heap fails its test rather than the whole run."""

import textwrap

import pytest

PRELUDE = """
import numpy as np
import crnn
rng = np.random.default_rng(0)
P = {"Wax": rng.standard_normal((4, 3)), "Waa": rng.standard_normal((4, 4)),
     "Wya": rng.standard_normal((2, 4)), "ba": np.zeros((4, 1)), "by": np.zeros((2, 1))}
"""


@pytest.fixture
def run_child(run_python):
    """run_child(code): PRELUDE + code run in a fresh interpreter; its stdout, after
    asserting it exited cleanly."""

    def run(code):
        proc = run_python("-c", PRELUDE + textwrap.dedent(code), timeout=300)
        assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    return run


@pytest.mark.parametrize("xt", ["np.array(1.0)", "np.ones(3)", "np.ones((3, 2, 1))"])
def test_a_cache_whose_xt_is_not_2d_gets_a_clear_error(xt, run_child):
    out = run_child(f"""
        a = rng.standard_normal((4, 2))
        try:
            crnn.rnn_cell_backward(a, (a, a, {xt}, P))
        except ValueError as exc:
            print(exc)
    """)
    assert "cache[2] (xt) must be 2-D of shape (n_x, m)" in out


def test_a_matrix_da_next_that_needs_converting_computes_like_an_ndarray(run_child):
    # the heap corruption showed up thousands of calls later: run many
    out = run_child("""
        xt, a_prev = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
        _, _, cache = crnn.rnn_cell_forward(xt, a_prev, P)
        want = crnn.reference.rnn_cell_backward(np.ones((4, 2)), cache)
        for _ in range(3000):
            got = crnn.rnn_cell_backward(np.matrix(np.ones((4, 2), np.int64)), cache)
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-12)
            assert type(got[key]) is np.ndarray
        print("ok")
    """)
    assert out.strip() == "ok"


def test_an_lstm_matrix_da_next_of_another_dtype_computes_like_an_ndarray(run_child):
    out = run_child("""
        from crnn.testing import random_lstm_problem
        x, a0, params, da = random_lstm_problem(3, 4, 2, 2, 1, seed=1)
        c0 = np.zeros_like(a0)
        _, _, _, cache = crnn.lstm_cell_forward(x[:, :, 0], a0, c0, params)
        want = crnn.reference.lstm_cell_backward(da[:, :, 0], np.ones((4, 2)), cache)
        for _ in range(3000):
            got = crnn.lstm_cell_backward(np.matrix(da[:, :, 0].astype(np.float32)),
                                          np.matrix(np.ones((4, 2), np.float32)), cache)
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-6, atol=1e-6)
        print("ok")
    """)
    assert out.strip() == "ok"


@pytest.mark.parametrize("dtype", ["np.float64", "np.float32", "np.int64"])
def test_every_matrix_argument_of_the_cells_computes_like_an_ndarray(dtype, run_child):
    # 2-D arguments only: np.matrix has no other form
    out = run_child(f"""
        from crnn.testing import random_lstm_problem
        M = lambda arr: np.matrix(arr.astype({dtype}))
        xt, a_prev = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
        cases = [
            (crnn.rnn_cell_forward, crnn.reference.rnn_cell_forward, (xt, a_prev, P), 0),
            (crnn.rnn_cell_forward, crnn.reference.rnn_cell_forward, (xt, a_prev, P), 1),
        ]
        for key in P:
            cases.append((crnn.rnn_cell_forward, crnn.reference.rnn_cell_forward,
                          (xt, a_prev, {{**P, key: M(P[key])}}), None))
        x, a0, L, _ = random_lstm_problem(3, 4, 2, 2, 1, seed=1)
        c0 = np.ones_like(a0)
        for k in range(3):
            cases.append((crnn.lstm_cell_forward, crnn.reference.lstm_cell_forward,
                          (x[:, :, 0], a0, c0, L), k))
        for key in L:
            cases.append((crnn.lstm_cell_forward, crnn.reference.lstm_cell_forward,
                          (x[:, :, 0], a0, c0, {{**L, key: M(L[key])}}), None))
        for fast, slow, args, k in cases:
            args = list(args)
            if k is not None:
                args[k] = M(args[k])
            want = slow(*[np.asarray(a, float) if isinstance(a, np.ndarray) else
                          {{q: np.asarray(v, float) for q, v in a.items()}} for a in args])
            got = fast(*args)
            for g, w in zip(got[:-1], want[:-1]):
                assert type(g) is np.ndarray
                np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        print("ok", len(cases))
    """)
    assert out.startswith("ok")


def test_a_misshaped_matrix_is_named_in_the_message(run_child):
    out = run_child("""
        _, _, cache = crnn.rnn_cell_forward(np.ones((3, 2)), np.ones((4, 2)), P)
        for call in (lambda: crnn.rnn_cell_backward(np.matrix(np.ones((4, 3), int)), cache),
                     lambda: crnn.rnn_cell_forward(np.ones((3, 2)), np.ones((4, 2)),
                                                   {**P, "ba": np.matrix(np.ones((1, 3)))})):
            try:
                call()
            except ValueError as exc:
                print(exc)
    """)
    first, second = out.splitlines()
    assert first.startswith("da_next must have the shape of a_next")
    assert second.startswith('parameters["ba"] must have shape (4, 1) or (4,)')
