"""What threads of crnn's own would buy: the batch split between threads, BLAS at 1.

Forward + backward of the RNN or the LSTM, in interleaved rounds of one process:

- "blas": crnn as it is, one call over the whole batch, BLAS with its threads;
- "split": the batch cut in as many parts as BLAS has threads, each part's forward +
  backward run by a thread of its own (the kernels release the GIL), with BLAS limited
  to 1 thread (threadpoolctl) for the whole round and its other threads asleep: the
  upper bound of a crnn that ran its own threads, without the cost of summing the
  parts' weight gradients;
- "split, BLAS spinning": the same right after one product of numpy's BLAS with its
  threads, whose worker then spins for a while on a core, as it does in a training loop
  that multiplies matrices between crnn's calls.

Prints the median time of each and the medians of the per-round ratios.

    python benchmarks/batch_split.py [--cell rnn] [--sizes small,medium,large]
"""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
from threadpoolctl import ThreadpoolController

import crnn
from crnn.bench import CELLS, SETTLE_SECONDS, SIZES, _course_step


def contenders(cell, size, dtype, parts, pool):
    """The three ways of doing the same work, as functions of no arguments."""
    forward_backward = _course_step(crnn, CELLS[cell])
    x, a0, parameters, da = CELLS[cell].problem(*SIZES[size], dtype=dtype)
    whole = forward_backward(x, a0, parameters, da)
    cuts = np.linspace(0, a0.shape[1], parts + 1).astype(int)
    shares = [
        forward_backward(
            np.ascontiguousarray(x[:, lo:hi]),
            np.ascontiguousarray(a0[:, lo:hi]),
            parameters,
            np.ascontiguousarray(da[:, lo:hi]),
        )
        for lo, hi in pairwise(cuts)
    ]

    def split():
        for future in [pool.submit(share) for share in shares]:
            future.result()

    return whole, split


def timed(run, calls):
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls * 1e3


def compare(cell, size, dtype, rounds, controller, parts):
    """Print one line: the median times and per-round ratios of the three ways."""
    pool = ThreadPoolExecutor(parts)
    whole, split = contenders(cell, size, dtype, parts, pool)
    whole()
    start = time.perf_counter()
    whole()
    calls = max(1, int(0.3 / (time.perf_counter() - start)))
    wake = np.ones((512, 512))
    times = {"blas": [], "split": [], "spinning": []}
    for _ in range(rounds):
        time.sleep(SETTLE_SECONDS)
        whole()
        times["blas"].append(timed(whole, calls))
        with controller.limit(limits=1, user_api="blas"):
            time.sleep(SETTLE_SECONDS)
            split()
            times["split"].append(timed(split, calls))
        wake @ wake  # numpy's product, with its BLAS threads, wakes them
        with controller.limit(limits=1, user_api="blas"):
            times["spinning"].append(timed(split, 1))
    pool.shutdown()
    blas = np.array(times["blas"])
    print(
        f"{cell:5}{size:8}{np.dtype(dtype).name:8} blas {np.median(blas):9.3f} ms  split "
        f"{np.median(times['split']):9.3f} ms ({np.median(blas / times['split']):4.2f}x)  "
        f"split, BLAS spinning {np.median(times['spinning']):9.3f} ms "
        f"({np.median(blas / times['spinning']):4.2f}x)",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="rnn", choices=("rnn", "lstm"))
    parser.add_argument("--sizes", default="small,medium,large")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    controller = ThreadpoolController()
    parts = max(info["num_threads"] for info in controller.info() if info["user_api"] == "blas")
    print(
        f"BLAS threads: {parts}; 'split' runs {parts} threads of its own over "
        f"{parts} parts of the batch, BLAS at 1 thread; ratios blas/split, per round"
    )
    for size in args.sizes.split(","):
        for dtype in (np.float64, np.float32):
            compare(args.cell, size, dtype, args.rounds, controller, parts)


if __name__ == "__main__":
    main()
