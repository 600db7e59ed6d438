"""Input checks shared by crnn's wrappers.

Everything a kernel is promised is established here, with the GIL held and before any
allocation: real dtypes, the expected dimensions, sizes that agree and that fit BLAS's
32-bit integers. Each failure names the argument and what was expected and received.
"""

from collections.abc import Mapping

import numpy as np

#: The largest size a BLAS call of crnn may receive (BLAS integers are 32-bit).
BLAS_INT_MAX = 2**31 - 1

_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)


def as_array(name, value):
    """Return value as a base-class ndarray of a real dtype, without copying an ndarray.

    A subclass (np.matrix, a memmap) becomes a plain ndarray view of the same data, since
    a subclass may change what indexing and reshaping return. Raises TypeError for None,
    scalars, and complex, string, object, datetime or structured data, naming the argument.
    """
    if isinstance(value, np.ndarray):
        if type(value) is not np.ndarray:
            value = value.view(np.ndarray)
    else:
        if value is None or np.isscalar(value):
            raise TypeError(f"{name} must be a numpy array, got {type(value).__name__}")
        try:
            value = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a numpy array: {exc}") from None
    if value.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers (float, int or bool), got dtype {value.dtype}"
        )
    return value


def expect_ndim(name, arr, form):
    """Raise ValueError unless arr has as many dimensions as form, e.g. "(n_x, m, T_x)"."""
    ndim = form.count(",") + 1
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D of shape {form}, got shape {arr.shape}")


def check_parameters(parameters):
    """Raise TypeError unless parameters is a mapping (the course's dict)."""
    if type(parameters) is not dict and not isinstance(parameters, Mapping):
        raise TypeError(
            f"parameters must be a dict of numpy arrays, got {type(parameters).__name__}"
        )


def weight(parameters, key, form):
    """parameters[key] as a real array with the dimensions of form; KeyError if absent."""
    arr = parameters[key]
    if type(arr) is np.ndarray and arr.dtype.kind in "fiub" and arr.ndim == form.count(",") + 1:
        return arr  # the common case, without building the names of the messages
    name = f'parameters["{key}"]'
    arr = as_array(name, arr)
    expect_ndim(name, arr, form)
    return arr


def bias(parameters, key, n):
    """parameters[key] as a 1-D array of length n; (n, 1) and (n,) are accepted."""
    arr = parameters[key]
    if type(arr) is np.ndarray and arr.dtype.kind in "fiub" and arr.shape == (n, 1):
        return arr.reshape(n)  # the common case, without building the names of the messages
    name = f'parameters["{key}"]'
    arr = as_array(name, arr)
    if arr.shape != (n, 1) and arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n}, 1) or ({n},), got shape {arr.shape}")
    return arr.reshape(n)


def mismatch(name_a, arr_a, name_b, arr_b, what):
    """The ValueError for two arguments whose sizes disagree."""
    return ValueError(
        f"{what}: {name_a} has shape {arr_a.shape} but {name_b} has shape {arr_b.shape}"
    )


def check_blas_sizes(name, arr, **sizes):
    """Raise ValueError if a size read from argument name, handed to BLAS, exceeds its
    32-bit integers."""
    for size_name, size in sizes.items():
        if size > BLAS_INT_MAX:
            raise ValueError(
                f"{name} has {size_name} = {size} (shape {arr.shape}), past the BLAS size "
                f"limit of 2**31-1 = {BLAS_INT_MAX}"
            )


def compute_dtype(*arrays):
    """float32 when numpy promotes the arrays to float32, else float64."""
    first = arrays[0].dtype
    if first == _FLOAT64 or first == _FLOAT32:
        for arr in arrays:
            if arr.dtype != first:
                break
        else:  # all of one float dtype, the common case: no promotion to work out
            return _FLOAT64 if first == _FLOAT64 else _FLOAT32
    return _FLOAT32 if np.result_type(*arrays) == _FLOAT32 else _FLOAT64
