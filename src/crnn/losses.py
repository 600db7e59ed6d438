"""Losses of an output layer's logits, each returning the loss and its gradient.

Both losses work on logits of shape (n_y, ...) — (n_y, m, T_y) for a sequence,
(n_y, m) for one label per example — and are computed from the logits, never from
probabilities, so that large logits cannot overflow or take the log of zero. As in the
seed's section 3.2 the loss is summed over the steps (and over the batch);
``reduction="mean"`` divides by the number of labelled positions (m·T_y) instead.
"""

import numpy as np
from scipy.special import expit

from crnn._validate import as_array, compute_dtype

__all__ = ["softmax", "sigmoid", "softmax_cross_entropy", "sigmoid_binary_cross_entropy"]

_REDUCTIONS = ("sum", "mean")


def _logits(logits):
    z = as_array("logits", logits)
    if z.ndim < 1 or z.shape[0] < 1:
        raise ValueError(f"logits must have shape (n_y, ...) with n_y >= 1, got shape {z.shape}")
    return z.astype(compute_dtype(z), copy=False)


def _scale(reduction, z):
    """1 for "sum", 1/(number of positions) for "mean"."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    positions = z.size // z.shape[0]
    return 1.0 if reduction == "sum" or positions == 0 else 1.0 / positions


def _reject(name, y, bad, why):
    """Raise ValueError naming the first entry of y where bad is True, if any."""
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{name} holds {y[i].item()} at index {i}: {why}")


def check_targets(name, y, dtype):
    """y as an array of dtype whose values are finite and within [0, 1]."""
    _reject(name, y, ~np.isfinite(y), "labels must be finite")
    _reject(name, y, (y < 0) | (y > 1), "one-hot or 0/1 labels must lie in [0, 1]")
    return y.astype(dtype, copy=False)


def check_class_indices(name, y, n_y=None):
    """y as an intp array of class indices in range(n_y) (n_y None: any index >= 0),
    from ints or integral floats."""
    if y.dtype.kind == "f":
        _reject(name, y, ~np.isfinite(y), "class indices must be finite integers")
        _reject(name, y, y != np.round(y), "class indices must be integers")
    if y.dtype.kind in "fu":
        _reject(name, y, y >= 2**63, "class indices must be below 2**63")
    _reject(name, y, y < 0, "class indices must be non-negative")
    if n_y is not None:
        _reject(name, y, y >= n_y, f"a class index outside range(n_y) = range({n_y})")
    return y.astype(np.intp)


def softmax(logits):
    """Softmax of each column (axis 0), stable for large logits.

    Arguments:
    logits -- array of shape (n_y, ...)

    Returns:
    probabilities of the shape of logits, each column summing to 1
    """
    z = _logits(logits)
    e = np.exp(z - z.max(axis=0, keepdims=True))
    e /= e.sum(axis=0, keepdims=True)
    return e


def sigmoid(logits):
    """The logistic function 1 / (1 + exp(-z)), elementwise and stable."""
    return expit(_logits(logits))


def softmax_cross_entropy(logits, y, reduction="sum", name="y"):
    """Cross-entropy of the softmax of the logits against class labels.

    Arguments:
    logits -- output layer's logits, of shape (n_y, m, T_y) (or (n_y, m), or (n_y, ...))
    y -- class indices of shape logits.shape[1:], e.g. (m, T_y), or one-hot (or soft)
         labels of the shape of logits; a one-hot column of zeros adds nothing (a masked step)
    reduction -- "sum" over every step and example, or "mean" over them
    name -- the argument's name in error messages

    Returns:
    loss -- a Python float
    dlogits -- gradient of loss with respect to logits, of the shape of logits
    """
    z = _logits(logits)
    scale = _scale(reduction, z)
    y = as_array(name, y)
    shifted = z - z.max(axis=0, keepdims=True)
    d = np.exp(shifted)
    total = d.sum(axis=0, keepdims=True)
    d /= total  # the softmax
    log_total = np.log(total)
    if y.shape == z.shape[1:]:
        labels = check_class_indices(name, y, z.shape[0])
        # every column's entry of its label, in any layout of z
        at = (labels, *np.ix_(*(np.arange(n) for n in labels.shape)))
        # -log p[label] = log(sum exp(shifted)) - shifted[label]
        loss = np.sum(log_total) - np.sum(shifted[at])
        d[at] -= 1
    elif y.shape == z.shape:
        t = check_targets(name, y, z.dtype)
        loss = -np.sum(t * (shifted - log_total))
        # d(-sum t log p)/dz = p·sum(t) - t, which is p - t for one-hot columns
        d *= t.sum(axis=0, keepdims=True)
        d -= t
    else:
        raise ValueError(
            f"{name} must be class indices of shape {z.shape[1:]} or one-hot labels of shape "
            f"{z.shape} (n_y first), got shape {y.shape}"
        )
    if scale != 1.0:
        d *= scale
    return float(loss) * scale, d


def sigmoid_binary_cross_entropy(logits, y, reduction="sum", name="y"):
    """The seed's per-step loss -y·log(ŷ) - (1-y)·log(1-ŷ) with ŷ = sigmoid(logits).

    Arguments:
    logits -- output layer's logits, of shape (n_y, m, T_y) (or (n_y, ...))
    y -- 0/1 (or soft) labels of the shape of logits; with n_y = 1 also of shape
         logits.shape[1:], e.g. the seed's (m, T_y) name tags
    reduction -- "sum" over every output, step and example, or "mean" over the
                 positions m·T_y
    name -- the argument's name in error messages

    Returns:
    loss -- a Python float
    dlogits -- gradient of loss with respect to logits, sigmoid(logits) - y
    """
    z = _logits(logits)
    scale = _scale(reduction, z)
    y = as_array(name, y)
    if y.shape == z.shape[1:] and z.shape[0] == 1:
        y = y[None]
    elif y.shape != z.shape:
        raise ValueError(
            f"{name} must be 0/1 labels of shape {z.shape}"
            + (f" or {z.shape[1:]}" if z.shape[0] == 1 else "")
            + f", got shape {y.shape}"
        )
    t = check_targets(name, y, z.dtype)
    # -t·log σ(z) - (1-t)·log(1-σ(z)) = log(1 + e^z) - t·z, with no log of 0
    loss = np.sum(np.logaddexp(0, z) - t * z)
    d = expit(z)
    d -= t
    if scale != 1.0:
        d *= scale
    return float(loss) * scale, d
