"""Check that crnn's memory stays flat: the resident set size over many course calls and
over many epochs of a small fit.

    python tools/leak_check.py [--calls 100000] [--epochs 1000] [--tolerance-mib 8]

Each phase warms up (a tenth of its work), then reads the resident set size (RSS) at ten
points of the rest; it prints them and fails (status 1) when the RSS grew by more than
the tolerance from the first point to the last. Linux and macOS (``resource`` and
``/proc``); on Linux the current RSS is read, elsewhere the peak.
"""

import argparse
import gc
import resource
import sys

import numpy as np

import crnn
from crnn.cells import variants


def rss_mib():
    """The resident set size of this process, in MiB."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:  # not Linux: the peak, which grows with any leak too
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def course_calls(n):
    """n course calls, every cell in turn: forward and backward, with and without lengths,
    and one step's."""
    problems = [(cell, *cell.problem(8, 16, 4, 5, 7, seed=1)) for cell in variants()]
    lengths = np.array([7, 6, 4, 2, 1])
    for i in range(n):
        cell, x, a0, p, da = problems[i % len(problems)]
        forward = getattr(crnn, f"{cell.name}_forward")
        backward = getattr(crnn, f"{cell.name}_backward")
        *_, caches = forward(x, a0, p, **cell.options, lengths=lengths if i % 2 else None)
        backward(da, caches)
        yield


def fit_epochs(n):
    """n epochs of small fits, ten epochs a fit (each from a new seed), with a predict
    after each fit."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 32, 6)), rng.integers(0, 3, (32, 6))
    lengths = rng.integers(1, 7, 32)
    model = crnn.SequenceTagger(n_a=8, epochs=10, batch_size=8, verbose=False, cell="lstm")
    for i in range(0, n, 10):
        model.set_params(seed=i).fit(x, y, lengths)
        model.predict(x, lengths=lengths)
        for _ in range(min(10, n - i)):
            yield


def measure(name, work, count, tolerance):
    """Run count steps of work, reading the RSS after the warm-up and at ten points;
    returns whether it stayed within tolerance MiB."""
    steps = work(count)
    warm = count // 10
    for _ in range(warm):
        next(steps)
    gc.collect()
    readings = [rss_mib()]
    done = warm
    for k in range(1, 11):
        target = warm + (count - warm) * k // 10
        for _ in range(target - done):
            next(steps)
        done = target
        gc.collect()
        readings.append(rss_mib())
    growth = readings[-1] - readings[0]
    ok = growth <= tolerance
    print(
        f"{name}: {count} after a warm-up of {warm}; RSS (MiB) "
        f"{' '.join(f'{r:.1f}' for r in readings)}; growth {growth:+.1f} MiB "
        f"({'flat' if ok else f'more than {tolerance} MiB'})"
    )
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--tolerance-mib", type=float, default=8.0)
    args = parser.parse_args(argv)
    ok = measure("course calls", course_calls, args.calls, args.tolerance_mib)
    ok &= measure("fit epochs", fit_epochs, args.epochs, args.tolerance_mib)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
