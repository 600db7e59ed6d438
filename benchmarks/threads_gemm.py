"""Could crnn run its own threads beside the BLAS's? One per-step product, three ways.

- "blas": one gemm, BLAS with 2 threads (what crnn does);
- "split, blas worker spinning": BLAS limited to 1 thread, two Python threads each
  computing half the rows (the GIL is released), right after a multithreaded BLAS call;
- "split, blas worker asleep": the same, a second after the last multithreaded call.

OpenBLAS's idle workers spin for a while after each multithreaded call (its
THREAD_TIMEOUT); a thread of crnn's running meanwhile shares a core with one. Prints
GFLOP/s, median over rounds, in one process.

    python benchmarks/threads_gemm.py [--dtype float64] [--shape 256,64,256]
"""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from crnn import _gemmtime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--shape", default="256,64,256", help="M,N,K of C = A·B")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    M, N, K = (int(v) for v in args.shape.split(","))
    rng = np.random.default_rng(0)

    def matrix(rows, cols):
        return np.asfortranarray(rng.standard_normal((rows, cols)).astype(args.dtype))

    a, b, c = matrix(M, K), matrix(K, N), matrix(M, N)
    halves = [(matrix(M // 2, K), matrix(M // 2, N)) for _ in range(2)]
    pool = ThreadPoolExecutor(2)

    def blas():
        _gemmtime.repeat_gemm("N", "N", a, b, c, args.calls)

    def split():
        list(pool.map(lambda h: _gemmtime.repeat_gemm("N", "N", h[0], b, h[1], args.calls), halves))

    def timed(run):
        start = time.perf_counter()
        run()
        return 2.0 * M * N * K * args.calls / (time.perf_counter() - start) / 1e9

    rates = {"blas": [], "split, blas worker spinning": [], "split, blas worker asleep": []}
    for _ in range(args.rounds):
        with threadpool_limits(2, "blas"):
            rates["blas"].append(timed(blas))
        with threadpool_limits(1, "blas"):
            rates["split, blas worker spinning"].append(timed(split))
            time.sleep(1.0)
            rates["split, blas worker asleep"].append(timed(split))
    print(
        f"C ({M}x{N}) = A ({M}x{K}) . B ({K}x{N}), {args.dtype}, GFLOP/s, median of "
        f"{args.rounds} rounds of {args.calls} calls"
    )
    for name, values in rates.items():
        print(f"  {name:30} {np.median(values):7.1f}")


if __name__ == "__main__":
    main()
