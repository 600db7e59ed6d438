"""crnn's kernels run in parallel Python threads and release the GIL, for every cell of
the registry."""

import threading
import time

import pytest
from conftest import FLOAT_DTYPES, course
from threadpoolctl import threadpool_limits

import crnn
from crnn.cells import variants


def test_four_threads_get_the_single_thread_answers(cell, assert_threads_agree):
    problems = [cell.problem(16, 32, 8, 6, 40, seed=s) for s in range(4)]
    assert_threads_agree(lambda i: cell.course_pass(crnn, *problems[i]), 4, 20)


def test_threads_running_every_cell_and_dtype_at_once_get_the_single_thread_answers(
    assert_threads_agree,
):
    """Each thread its own cell, option and dtype (both GRU conventions side by side, the
    LSTM in float64 beside the LSTM in float32, ...)."""
    work = [
        (cell, cell.problem(8, 16, 4, 5, 20, dtype=dtype, seed=seed))
        for seed, (cell, dtype) in enumerate(
            (cell, dtype) for cell in variants() for dtype in FLOAT_DTYPES
        )
    ]
    assert_threads_agree(lambda i: work[i][0].course_pass(crnn, *work[i][1]), len(work), 10)


def _counting_rate(work):
    """Increments per second of a pure-Python counter thread while work() runs."""
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
        work()
    finally:  # an error in work must not leave the counter spinning forever
        stop.set()
        th.join()
    return count[0] / (time.perf_counter() - start)


def test_forward_releases_the_gil(cell):
    # a long sequence of small steps: nearly all time is spent in the nogil loop
    x, a0, parameters, _ = cell.problem(8, 64, 4, 8, 4000, seed=1)
    course_forward = course(cell, crnn, "forward")

    def forward(duration=0.8):
        end = time.perf_counter() + duration
        while time.perf_counter() < end:
            course_forward(x, a0, parameters, **cell.options)

    # BLAS on one thread leaves the second core to the counter: what is measured is
    # the GIL, not BLAS's worker threads competing for the cores
    # up to three tries: a machine busy with other work can starve the counter once; a
    # held GIL starves it every time
    ratios = []
    with threadpool_limits(limits=1, user_api="blas"):
        while len(ratios) < 3 and not (ratios and ratios[-1] > 1 / 3):
            solo = _counting_rate(lambda: time.sleep(0.4))
            ratios.append(_counting_rate(forward) / solo)
    assert ratios[-1] > 1 / 3, f"counter ran at {ratios} of its solo rate"


@pytest.fixture(scope="module")
def gil_held():
    """The counter's rate beside a C call that holds the GIL all along, over its solo
    rate: about 0.01 where there is a GIL."""
    solo = _counting_rate(lambda: time.sleep(0.3))
    return _counting_rate(lambda: sum(range(3 * 10**7))) / solo


def test_the_time_loops_of_forward_and_backward_release_the_gil(cell, gil_held):
    if gil_held >= 0.2:
        pytest.skip(f"this interpreter lets Python run beside a GIL-holding call ({gil_held:.2f})")
    x, a0, parameters, da = cell.problem(32, 64, 4, 16, 400)
    solo = _counting_rate(lambda: time.sleep(0.3))

    def passes():
        for _ in range(2):
            cell.course_pass(crnn, x, a0, parameters, da)

    # beside kernels that released the GIL it counts at about 0.5 to 0.8 of its solo rate
    assert _counting_rate(passes) / solo > 0.2


@pytest.mark.parametrize(
    "options",
    [
        {"cell": "rnn"},
        {"cell": "lstm", "dtype": "float32"},
        {"cell": "gru", "reset_after": True},
        {"cell": "lstm", "num_layers": 2, "bidirectional": True},
    ],
    ids=["rnn", "lstm float32", "gru reset_after", "bidirectional stack"],
)
def test_one_fitted_model_shared_by_threads_predicts_as_alone(options, assert_threads_agree):
    """predict, predict_proba and score read a fitted model and change nothing: threads
    may share one."""
    import numpy as np

    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((3, 24, 9)), rng.integers(0, 3, (24, 9))
    lengths = rng.integers(1, 10, 24)
    model = crnn.SequenceTagger(n_a=8, epochs=2, verbose=False, seed=1, **options)
    model.fit(x, y, lengths)
    before = {k: v.copy() for k, v in model.parameters_.items()}
    batches = [(x[:, 6 * i : 6 * i + 6], lengths[6 * i : 6 * i + 6]) for i in range(4)]

    def run(i):
        xb, lb = batches[i]
        return (
            model.predict_proba(xb, lengths=lb),
            model.predict(xb, lengths=lb),
            np.array(model.score(xb, y[6 * i : 6 * i + 6], lengths=lb)),
        )

    assert_threads_agree(run, 4, 10)
    for key, value in before.items():
        np.testing.assert_array_equal(model.parameters_[key], value)
