"""Helpers to test code built on crnn: random course problems and per-dtype comparison.

Used by crnn's own tests, by ``python -m crnn check`` and by the benchmarks.
"""

import numpy as np

__all__ = [
    "RTOL",
    "random_rnn_problem",
    "random_lstm_problem",
    "random_gru_problem",
    "max_rel_error",
    "assert_close",
]

#: Relative tolerance of a fast result against crnn.reference, per computing dtype.
RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}


def _sampler(dtype, seed):
    """normal(shape, scale): standard normal draws of dtype, times scale, from one seeded stream."""
    rng = np.random.default_rng(seed)

    def normal(shape, scale=1.0):
        return (scale * rng.standard_normal(shape)).astype(dtype)

    return normal


def random_rnn_problem(n_x, n_a, n_y, m, T_x, dtype=np.float64, seed=0):
    """Random inputs and parameters for the vanilla RNN, at a stable gain.

    The recurrent weights have standard deviation 1/sqrt(n_a), so that rounding is not
    amplified along the sequence and results can be compared with a tolerance.

    Arguments:
    n_x, n_a, n_y, m, T_x -- the course's sizes
    dtype -- dtype of every array
    seed -- seed of numpy.random.default_rng

    Returns:
    x -- (n_x, m, T_x)
    a0 -- (n_a, m)
    parameters -- dict with "Wax", "Waa", "Wya", "ba", "by" of the course's shapes
    da -- an upstream gradient of the states, (n_a, m, T_x)
    """
    normal = _sampler(dtype, seed)
    parameters = {
        "Wax": normal((n_a, n_x), 1 / np.sqrt(max(n_x, 1))),
        "Waa": normal((n_a, n_a), 1 / np.sqrt(max(n_a, 1))),
        "Wya": normal((n_y, n_a), 1 / np.sqrt(max(n_a, 1))),
        "ba": normal((n_a, 1), 0.1),
        "by": normal((n_y, 1), 0.1),
    }
    return normal((n_x, m, T_x)), normal((n_a, m), 0.5), parameters, normal((n_a, m, T_x))


def random_lstm_problem(n_x, n_a, n_y, m, T_x, dtype=np.float64, seed=0):
    """Random inputs and parameters for the LSTM, at a stable gain.

    The gate weights have standard deviation 1/sqrt(n_a + n_x), the fan-in of the gates.

    Arguments:
    n_x, n_a, n_y, m, T_x -- the course's sizes
    dtype -- dtype of every array
    seed -- seed of numpy.random.default_rng

    Returns:
    x -- (n_x, m, T_x)
    a0 -- (n_a, m)
    parameters -- dict with "Wf", "Wi", "Wc", "Wo" (n_a, n_a + n_x), "bf", "bi", "bc",
                  "bo" (n_a, 1), "Wy" (n_y, n_a), "by" (n_y, 1)
    da -- an upstream gradient of the states, (n_a, m, T_x)
    """
    normal = _sampler(dtype, seed)
    parameters = {}
    for gate in "fico":
        parameters["W" + gate] = normal((n_a, n_a + n_x), 1 / np.sqrt(max(n_a + n_x, 1)))
        parameters["b" + gate] = normal((n_a, 1), 0.1)
    parameters["Wy"] = normal((n_y, n_a), 1 / np.sqrt(max(n_a, 1)))
    parameters["by"] = normal((n_y, 1), 0.1)
    return normal((n_x, m, T_x)), normal((n_a, m), 0.5), parameters, normal((n_a, m, T_x))


def random_gru_problem(n_x, n_a, n_y, m, T_x, dtype=np.float64, seed=0, reset_after=False):
    """Random inputs and parameters for the GRU, at a stable gain.

    The gate weights have standard deviation 1/sqrt(n_a + n_x), the fan-in of the gates.

    Arguments:
    n_x, n_a, n_y, m, T_x -- the course's sizes
    dtype -- dtype of every array
    seed -- seed of numpy.random.default_rng
    reset_after -- the parameters of that convention (see crnn.gru)

    Returns:
    x -- (n_x, m, T_x)
    a0 -- (n_a, m)
    parameters -- dict with "Wu", "bu", "Wr", "br", "Wc", "bc" (or "Wcx", "Wca", "bcx",
                  "bca" with reset_after), "Wy" (n_y, n_a) and "by" (n_y, 1)
    da -- an upstream gradient of the states, (n_a, m, T_x)
    """
    from crnn.cells import model_shapes

    normal = _sampler(dtype, seed)
    scale = 1 / np.sqrt(max(n_a + n_x, 1))
    options = {"reset_after": True} if reset_after else {}
    parameters = {}
    for key, (shape, _) in model_shapes("gru", n_x, n_a, n_y, **options).items():
        sd = 0.1 if key.startswith("b") else 1 / np.sqrt(max(n_a, 1)) if key == "Wy" else scale
        parameters[key] = normal(shape, sd)
    return normal((n_x, m, T_x)), normal((n_a, m), 0.5), parameters, normal((n_a, m, T_x))


def max_rel_error(actual, desired):
    """``max |actual - desired| / max(1, max |desired|)``: the error relative to the scale."""
    desired = np.asarray(desired, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if desired.size == 0:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(desired))))
    return float(np.max(np.abs(actual - desired))) / scale


def assert_close(actual, desired, dtype, name="array"):
    """Assert actual matches desired within the tolerance of dtype.

    Each entry must satisfy ``|actual - desired| <= rtol * (|desired| + max(1, max|desired|))``,
    an elementwise relative tolerance with an absolute floor scaled by the array's
    magnitude, so entries near zero of a large gradient do not fail on rounding alone.
    Shapes must agree exactly.
    """
    rtol = RTOL[np.dtype(dtype)]
    actual = np.asarray(actual)
    desired = np.asarray(desired)
    if actual.shape != desired.shape:
        raise AssertionError(f"{name}: shape {actual.shape} != expected {desired.shape}")
    if desired.size == 0:
        return
    a64 = actual.astype(np.float64)
    d64 = desired.astype(np.float64)
    floor = max(1.0, float(np.max(np.abs(d64))))
    err = np.abs(a64 - d64)
    bound = rtol * (np.abs(d64) + floor)
    bad = ~(err <= bound)
    if np.any(bad):
        i = np.unravel_index(np.argmax(np.where(bad, err - bound, -np.inf)), err.shape)
        raise AssertionError(
            f"{name}: {int(bad.sum())} of {err.size} entries differ beyond rtol={rtol}; "
            f"worst at {i}: {actual[i]!r} vs {desired[i]!r}"
        )


def assert_gradients_close(actual, desired, dtype):
    """Assert two gradient dicts have the same keys and each array matches desired
    within the tolerance of dtype (see assert_close)."""
    if sorted(actual) != sorted(desired):
        raise AssertionError(f"gradient keys {sorted(actual)} != expected {sorted(desired)}")
    for key in desired:
        assert_close(actual[key], desired[key], dtype, key)


def numeric_gradient(f, arr, eps=1e-6):
    """The central-difference gradient of the scalar f() with respect to arr.

    Arguments:
    f -- function of no arguments returning a float; it must read arr
    arr -- float64 array, perturbed in place one entry at a time and restored
    eps -- the step

    Returns:
    gradient -- array of the shape of arr
    """
    grad = np.zeros_like(arr)
    for i in np.ndindex(arr.shape):
        old = arr[i]
        arr[i] = old + eps
        plus = f()
        arr[i] = old - eps
        minus = f()
        arr[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


__all__ += ["numeric_gradient", "assert_gradients_close"]
