"""The self-check behind ``python -m crnn check``."""

import time
from functools import partial
from itertools import product

import numpy as np

import crnn
from crnn import reference
from crnn.cells import variants
from crnn.testing import RTOL, max_rel_error

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


def run_check(repeats=5, seed=0, sizes=SIZES, out=print):
    """Compare crnn with crnn.reference: every cell of crnn.cells.variants(), each of sizes,
    both dtypes; time both.

    Prints, for every output and gradient, the largest difference relative to the
    reference's scale, and the speed-up of forward plus backward. Returns 0 when every
    difference is within the dtype's tolerance, 1 otherwise.
    """
    out(f"crnn {crnn.__version__}: self-check against crnn.reference")
    failures = 0
    dtypes = (np.float64, np.float32)
    for cell, (name, dims), dtype in product(variants(), sizes, dtypes):
        model, run = cell.label, cell.course_pass
        x, a0, parameters, da = cell.problem(*dims, dtype=dtype, seed=seed)
        fast_out, fast_grads = run(crnn, x, a0, parameters, da)
        slow_out, slow_grads = run(reference, x, a0, parameters, da)
        if not cell.smooth:
            # relu's derivative jumps at 0: a state that rounding puts on the other side of
            # 0 changes its gradient wholly, and the recurrence carries that back through
            # every step. The forward is checked above; the backward is checked on crnn's
            # own forward, with the same states.
            *_, caches = getattr(crnn, f"{cell.name}_forward")(x, a0, parameters, **cell.options)
            slow_grads = getattr(reference, f"{cell.name}_backward")(da, caches)
        errors = {k: max_rel_error(fast_out[k], slow_out[k]) for k in slow_out}
        errors.update({k: max_rel_error(fast_grads[k], slow_grads[k]) for k in slow_grads})
        tol = RTOL[np.dtype(dtype)]
        bad = [k for k, e in errors.items() if not e <= tol]
        failures += len(bad)
        t_fast = _median_time(partial(run, crnn, x, a0, parameters, da), repeats)
        t_slow = _median_time(partial(run, reference, x, a0, parameters, da), repeats)
        out(
            f"\n{model} {name} (n_x, n_a, n_y, m, T_x) = {dims}, {np.dtype(dtype).name}: "
            f"{'OK' if not bad else 'FAILED: ' + ', '.join(bad)} (tolerance {tol:g})"
        )
        out("  max relative difference: " + ", ".join(f"{k} {e:.1e}" for k, e in errors.items()))
        out(
            f"  forward+backward median of {repeats}: crnn {t_fast * 1e3:.3f} ms, "
            f"reference {t_slow * 1e3:.3f} ms, {t_slow / t_fast:.1f}x faster"
        )
    out("\nall outputs and gradients agree" if not failures else f"\n{failures} mismatches")
    return 1 if failures else 0
