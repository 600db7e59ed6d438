"""crnn's kernels run in parallel Python threads and release the GIL."""
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import crnn
from crnn.testing import random_gru_problem, random_rnn_problem


def test_four_threads_get_the_single_thread_answers():
    problems = [random_rnn_problem(16, 32, 8, 6, 40, seed=s) for s in range(4)]
    expected = []
    for x, a0, parameters, da in problems:
        a, y, caches = crnn.rnn_forward(x, a0, parameters)
        expected.append((a, y, crnn.rnn_backward(da, caches)))

    results = [None] * 4
    barrier = threading.Barrier(4)

    def work(i):
        x, a0, parameters, da = problems[i]
        barrier.wait()
        out = []
        for _ in range(20):
            a, y, caches = crnn.rnn_forward(x, a0, parameters)
            out.append((a, y, crnn.rnn_backward(da, caches)))
        results[i] = out

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i, runs in enumerate(results):
        assert runs is not None, f"thread {i} failed"
        a_want, y_want, g_want = expected[i]
        for a, y, g in runs:
            np.testing.assert_array_equal(a, a_want)
            np.testing.assert_array_equal(y, y_want)
            for key in g_want:
                np.testing.assert_array_equal(g[key], g_want[key])


def _counter_rate(run_main, duration):
    """Increments per second of a pure-Python counter thread while run_main runs."""
    stop = threading.Event()
    count = [0]

    def counter():
        n = 0
        while not stop.is_set():
            n += 1
        count[0] = n

    th = threading.Thread(target=counter)
    start = time.perf_counter()
    th.start()
    run_main(duration)
    stop.set()
    th.join()
    return count[0] / (time.perf_counter() - start)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_forward_releases_the_gil(cell):
    # a long sequence of small steps: nearly all time is spent in the nogil loop
    problem, forward_fn = {"rnn": (random_rnn_problem, crnn.rnn_forward),
                           "gru": (random_gru_problem, crnn.gru_forward)}[cell]
    x, a0, parameters, _ = problem(8, 64, 4, 8, 4000, seed=1)

    def idle(duration):
        time.sleep(duration)

    def forward(duration):
        end = time.perf_counter() + duration
        while time.perf_counter() < end:
            forward_fn(x, a0, parameters)

    # BLAS on one thread leaves the second core to the counter: what is measured is
    # the GIL, not BLAS's worker threads competing for the cores
    with threadpool_limits(limits=1, user_api="blas"):
        solo = _counter_rate(idle, 0.4)
        beside = _counter_rate(forward, 0.8)
    assert beside > solo / 3, f"counter ran at {beside / solo:.2f} of its solo rate"
