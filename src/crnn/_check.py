"""The self-check behind ``python -m crnn check``."""
import time
from functools import partial
from itertools import product

import numpy as np

import crnn
from crnn import reference
from crnn.testing import RTOL, max_rel_error, random_gru_problem, random_lstm_problem, random_rnn_problem

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


def _rnn_pass(module, x, a0, parameters, da):
    """The outputs and the gradients of module's RNN, forward then backward."""
    a, y, caches = module.rnn_forward(x, a0, parameters)
    return {"a": a, "y_pred": y}, module.rnn_backward(da, caches)


def _lstm_pass(module, x, a0, parameters, da):
    """The outputs and the gradients of module's LSTM, forward then backward."""
    a, y, c, caches = module.lstm_forward(x, a0, parameters)
    return {"a": a, "y": y, "c": c}, module.lstm_backward(da, caches)


def _gru_pass(module, x, a0, parameters, da):
    """The outputs and the gradients of module's GRU, forward then backward."""
    a, y, caches = module.gru_forward(x, a0, parameters, reset_after="Wca" in parameters)
    return {"a": a, "y_pred": y}, module.gru_backward(da, caches)


#: (name, random problem, forward and backward pass) of every model checked.
MODELS = [
    ("RNN", random_rnn_problem, _rnn_pass),
    ("LSTM", random_lstm_problem, _lstm_pass),
    ("GRU", random_gru_problem, _gru_pass),
    ("GRU reset_after", partial(random_gru_problem, reset_after=True), _gru_pass),
]


def run_check(repeats=5, seed=0, sizes=SIZES, out=print):
    """Compare crnn with crnn.reference: every model, each of sizes, both dtypes; time both.

    Prints, for every output and gradient, the largest difference relative to the
    reference's scale, and the speed-up of forward plus backward. Returns 0 when every
    difference is within the dtype's tolerance, 1 otherwise.
    """
    out(f"crnn {crnn.__version__}: self-check against crnn.reference")
    failures = 0
    dtypes = (np.float64, np.float32)
    for (model, make_problem, run), (name, dims), dtype in product(MODELS, sizes, dtypes):
        x, a0, parameters, da = make_problem(*dims, dtype=dtype, seed=seed)
        fast_out, fast_grads = run(crnn, x, a0, parameters, da)
        slow_out, slow_grads = run(reference, x, a0, parameters, da)
        errors = {k: max_rel_error(fast_out[k], slow_out[k]) for k in slow_out}
        errors.update({k: max_rel_error(fast_grads[k], slow_grads[k]) for k in slow_grads})
        tol = RTOL[np.dtype(dtype)]
        bad = [k for k, e in errors.items() if not e <= tol]
        failures += len(bad)
        t_fast = _median_time(lambda: run(crnn, x, a0, parameters, da), repeats)
        t_slow = _median_time(lambda: run(reference, x, a0, parameters, da), repeats)
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
