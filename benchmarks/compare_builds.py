"""crnn vs the numpy course code by the method of ``crnn.bench`` (interleaved rounds,
per-round ratio, median of 5) without importing crnn.bench, so that it also runs an
older build of crnn (put its source tree first on PYTHONPATH): before/after numbers.

    python benchmarks/compare_builds.py THREADS tiny,small,medium,large
"""

import math
import sys
import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

import crnn
from crnn import reference
from crnn.testing import random_rnn_problem

# the sizes of crnn.bench.SIZES, which an older crnn does not have
SIZES = {
    "tiny": (3, 5, 2, 10, 4),
    "small": (32, 64, 32, 16, 50),
    "medium": (128, 256, 128, 64, 100),
    "large": (256, 512, 256, 128, 100),
}


def step(module, x, a0, parameters, da):
    def run():
        _, _, caches = module.rnn_forward(x, a0, parameters)
        return module.rnn_backward(da, caches)

    return run


def peak_mib(run):
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def compare(name, dtype, rounds=5, seconds=0.02):
    problem = random_rnn_problem(*SIZES[name], dtype=dtype)
    runs = {"crnn": step(crnn, *problem), "numpy": step(reference, *problem)}
    counts = {}
    for key, run in runs.items():
        run()
        start = time.perf_counter()
        run()
        counts[key] = max(1, math.ceil(seconds / (time.perf_counter() - start)))
    times = {key: [] for key in runs}
    for r in range(rounds):
        for key in list(runs)[:: 1 if r % 2 == 0 else -1]:
            start = time.perf_counter()
            for _ in range(counts[key]):
                runs[key]()
            times[key].append((time.perf_counter() - start) / counts[key] * 1e3)
    ratio = np.median([n / c for n, c in zip(times["numpy"], times["crnn"])])
    print(
        f"{name:7}{np.dtype(dtype).name:8} crnn {np.median(times['crnn']):9.3f} ms  "
        f"numpy {np.median(times['numpy']):9.3f} ms  vs numpy {ratio:5.2f}x  peak MiB "
        f"crnn/numpy {peak_mib(runs['crnn']):.3g} / {peak_mib(runs['numpy']):.3g}",
        flush=True,
    )


if __name__ == "__main__":
    with threadpool_limits(int(sys.argv[1])):
        for size in sys.argv[2].split(","):
            for dt in (np.float64, np.float32):
                compare(size, dt)
