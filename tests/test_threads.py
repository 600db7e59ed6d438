"""crnn's kernels run in parallel Python threads and release the GIL."""
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import crnn
from crnn.cells import variants


@pytest.mark.parametrize("cell", variants(), ids=lambda cell: cell.label)
def test_four_threads_get_the_single_thread_answers(cell):
    problems = [cell.problem(16, 32, 8, 6, 40, seed=s) for s in range(4)]
    expected = [cell.course_pass(crnn, *problem) for problem in problems]
    results = [None] * 4
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait()
        results[i] = [cell.course_pass(crnn, *problems[i]) for _ in range(20)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i, runs in enumerate(results):
        assert runs is not None, f"thread {i} failed"
        outputs_want, grads_want = expected[i]
        for outputs, grads in runs:
            for key in outputs_want:
                np.testing.assert_array_equal(outputs[key], outputs_want[key])
            for key in grads_want:
                np.testing.assert_array_equal(grads[key], grads_want[key])


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
    try:
        run_main(duration)
    finally:  # an error in run_main must not leave the counter spinning forever
        stop.set()
        th.join()
    return count[0] / (time.perf_counter() - start)


@pytest.mark.parametrize("cell", variants(), ids=lambda cell: cell.label)
def test_forward_releases_the_gil(cell):
    # a long sequence of small steps: nearly all time is spent in the nogil loop
    x, a0, parameters, _ = cell.problem(8, 64, 4, 8, 4000, seed=1)
    course_forward = getattr(crnn, f"{cell.name}_forward")

    def idle(duration):
        time.sleep(duration)

    def forward(duration):
        end = time.perf_counter() + duration
        while time.perf_counter() < end:
            course_forward(x, a0, parameters, **cell.options)

    # BLAS on one thread leaves the second core to the counter: what is measured is
    # the GIL, not BLAS's worker threads competing for the cores
    with threadpool_limits(limits=1, user_api="blas"):
        solo = _counter_rate(idle, 0.4)
        beside = _counter_rate(forward, 0.8)
    assert beside > solo / 3, f"counter ran at {beside / solo:.2f} of its solo rate"
