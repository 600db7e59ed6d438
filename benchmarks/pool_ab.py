"""crnn with its memory pool against crnn without it, side by side in one process.

Forward + backward of the RNN or the LSTM, in interleaved rounds with the pool at its
default limit ("on") and at limit 0 ("off": every large array is fresh memory, as before
the pool); prints the median time of each, the median of the per-round ratios off/on,
and the page faults per call of each (Unix).

    python benchmarks/pool_ab.py [--cell rnn] [--sizes small,medium,large] [--threads 2]
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import crnn
from crnn.bench import CELLS, SIZES, _course_step

try:
    import resource
except ImportError:  # Windows
    resource = None


def step(cell, size, dtype):
    """One forward + backward of cell at size, as a function of no arguments."""
    problem = CELLS[cell].problem(*SIZES[size], dtype=dtype)
    return _course_step(crnn, CELLS[cell])(*problem)


def faults_per_call(run, calls=3):
    if resource is None:
        return float("nan")
    run()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        run()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def compare(cell, size, dtype, rounds, limit):
    run = step(cell, size, dtype)
    run()
    start = time.perf_counter()
    run()
    calls = max(1, int(0.3 / (time.perf_counter() - start)))
    times = {"on": [], "off": []}
    for r in range(rounds):
        for key in ("on", "off") if r % 2 == 0 else ("off", "on"):
            crnn.set_memory_pool_limit(limit if key == "on" else 0)
            run()  # the pool refills (on) or empties (off) before the timed calls
            start = time.perf_counter()
            for _ in range(calls):
                run()
            times[key].append((time.perf_counter() - start) / calls * 1e3)
    faults = {}
    for key in ("on", "off"):
        crnn.set_memory_pool_limit(limit if key == "on" else 0)
        faults[key] = faults_per_call(run)
    crnn.set_memory_pool_limit(limit)
    ratio = np.median([off / on for on, off in zip(times["on"], times["off"])])
    print(
        f"{cell:5}{size:8}{np.dtype(dtype).name:8} on {np.median(times['on']):9.3f} ms "
        f" off {np.median(times['off']):9.3f} ms  off/on {ratio:5.2f}x  page faults "
        f"per call on {faults['on']:.0f}, off {faults['off']:.0f}",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="rnn", choices=("rnn", "lstm"))
    parser.add_argument("--sizes", default="small,medium,large")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    limit = crnn.memory_pool()["limit"]
    with threadpool_limits(args.threads, "blas"):
        for size in args.sizes.split(","):
            for dtype in (np.float64, np.float32):
                compare(args.cell, size, dtype, args.rounds, limit)


if __name__ == "__main__":
    main()
