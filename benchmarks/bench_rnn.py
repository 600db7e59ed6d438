"""Benchmark crnn's RNN and LSTM forward + backward; the same as ``python -m crnn bench``.

For example::

    python benchmarks/bench_rnn.py --sizes tiny,small --dtype float64 --repeats 7
    python benchmarks/bench_rnn.py --cell lstm --sizes medium
"""

import sys

from crnn.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
