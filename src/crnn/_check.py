"""The self-check behind ``python -m crnn check``."""
import time

import numpy as np

import crnn
from crnn import reference
from crnn.testing import RTOL, max_rel_error, random_rnn_problem

#: (name, (n_x, n_a, n_y, m, T_x)): the course's sizes, then larger ones.
SIZES = [
    ("course", (3, 5, 2, 10, 4)),
    ("small", (32, 64, 32, 16, 50)),
    ("medium", (128, 256, 128, 64, 100)),
]


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _forward_backward(module, x, a0, parameters, da):
    a, y, caches = module.rnn_forward(x, a0, parameters)
    return a, y, module.rnn_backward(da, caches)


def run_check(repeats=5, seed=0, sizes=SIZES, out=print):
    """Compare crnn with crnn.reference on each of sizes, in both dtypes, and time both.

    Prints, for every output and gradient, the largest difference relative to the
    reference's scale, and the speed-up of forward plus backward. Returns 0 when every
    difference is within the dtype's tolerance, 1 otherwise.
    """
    out(f"crnn {crnn.__version__}: self-check against crnn.reference")
    failures = 0
    for name, dims in sizes:
        for dtype in (np.float64, np.float32):
            x, a0, parameters, da = random_rnn_problem(*dims, dtype=dtype, seed=seed)
            fast = _forward_backward(crnn, x, a0, parameters, da)
            slow = _forward_backward(reference, x, a0, parameters, da)
            errors = {"a": max_rel_error(fast[0], slow[0]), "y_pred": max_rel_error(fast[1], slow[1])}
            errors.update({k: max_rel_error(fast[2][k], slow[2][k]) for k in slow[2]})
            tol = RTOL[np.dtype(dtype)]
            bad = [k for k, e in errors.items() if not e <= tol]
            failures += len(bad)
            t_fast = _median_time(lambda: _forward_backward(crnn, x, a0, parameters, da), repeats)
            t_slow = _median_time(
                lambda: _forward_backward(reference, x, a0, parameters, da), repeats
            )
            out(
                f"\n{name} (n_x, n_a, n_y, m, T_x) = {dims}, {np.dtype(dtype).name}: "
                f"{'OK' if not bad else 'FAILED: ' + ', '.join(bad)} (tolerance {tol:g})"
            )
            out("  max relative difference: " + ", ".join(f"{k} {e:.1e}" for k, e in errors.items()))
            out(
                f"  forward+backward median of {repeats}: crnn {t_fast * 1e3:.3f} ms, "
                f"reference {t_slow * 1e3:.3f} ms, {t_slow / t_fast:.1f}x faster"
            )
    out("\nall outputs and gradients agree" if not failures else f"\n{failures} mismatches")
    return 1 if failures else 0
