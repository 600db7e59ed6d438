"""The state of a fit between two epochs, and its checkpoint files.

A checkpoint holds everything the next epoch reads: the parameters, the optimizer's
state, the random generator's state, the loss curves and the early-stopping state. A fit
resumed from it is the same, bit for bit, as one that was never stopped. It is a model
file (``crnn._model_file``) of its own format, written atomically, read as untrusted.
"""

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from crnn import _model_file
from crnn._model_file import ModelFileError

FORMAT = "crnn-checkpoint"
FORMAT_VERSION = 1


@dataclass
class TrainingState:
    """Where a fit stands after its epoch ``epoch`` (0: before the first)."""

    epoch: int = 0
    loss_curve: list = field(default_factory=list)
    validation_loss_curve: list = field(default_factory=list)
    best: float = math.inf  # the lowest validation loss so far
    best_parameters: dict | None = None
    best_epoch: int | None = None
    waited: int = 0  # epochs since the best one

    def fitted(self, parameters):
        """The fitted attributes of a model trained to this epoch (copies of the arrays)."""
        chosen = parameters if self.best_parameters is None else self.best_parameters
        return {
            "parameters_": {k: v.copy() for k, v in chosen.items()},
            "best_epoch_": self.epoch if self.best_epoch is None else self.best_epoch,
            "n_epochs_": self.epoch,
            "loss_curve_": list(self.loss_curve),
            "validation_loss_curve_": list(self.validation_loss_curve),
        }


def fingerprint(*arrays):
    """A digest of the training data (None entries skipped): a checkpoint resumes only the
    fit of the same data."""
    digest = hashlib.sha256()
    for arr in arrays:
        if arr is None:
            continue
        arr = np.ascontiguousarray(arr)
        digest.update(f"{arr.dtype.str}{arr.shape}".encode())
        digest.update(memoryview(arr).cast("B"))
    return digest.hexdigest()


def save(path, params, data, state, parameters, optimizer, rng):
    """Write the state of a fit after state.epoch to path, atomically.

    Arguments:
    params -- the estimator's get_params() (JSON-able)
    data -- the fingerprint of its training data
    state -- the TrainingState
    parameters, optimizer, rng -- the parameters dict, the optimizer and the Generator
    """
    arrays = {f"parameters/{k}": v for k, v in parameters.items()}
    for key, slots in optimizer.state.items():
        arrays.update({f"optimizer/{name}/{key}": value for name, value in slots.items()})
    if state.best_parameters is not None:
        arrays.update({f"best/{k}": v for k, v in state.best_parameters.items()})
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "params": params,
        "data": data,
        "epoch": state.epoch,
        "loss_curve": state.loss_curve,
        "validation_loss_curve": state.validation_loss_curve,
        "best": None if math.isinf(state.best) else state.best,
        "best_epoch": state.best_epoch,
        "waited": state.waited,
        "optimizer_steps": optimizer.t,
        "rng": rng.bit_generator.state,
    }
    _model_file.write(path, metadata, arrays)


def load(path, params, data, parameters, optimizer, rng):
    """The TrainingState of the checkpoint at path, after restoring the parameters (in
    place), the optimizer's state and the generator's from it; ModelFileError if it is
    damaged, or is not of a fit with these params, data, parameters and optimizer. The
    file may hold exactly the arrays such a fit saves, and nothing is read past them."""
    name = _model_file.describe(path)

    def refuse(what):
        return ModelFileError(f"{name} cannot resume this fit: {what}")

    def check(metadata):
        if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(f"{name} is not a crnn checkpoint of format {FORMAT_VERSION}")
        if metadata.get("params") != params:
            theirs = metadata.get("params")
            differ = sorted(
                k
                for k in {*params, *(theirs if isinstance(theirs, dict) else {})}
                if not isinstance(theirs, dict) or theirs.get(k) != params.get(k)
            )
            raise refuse(f"it was made by a fit with other parameters ({', '.join(differ)})")
        if metadata.get("data") != data:
            raise refuse("it was made by a fit on other data")
        own = {k: (v.shape, v.dtype.str) for k, v in parameters.items()}
        expected = {f"parameters/{k}": form for k, form in own.items()}
        expected.update(
            {f"optimizer/{slot}/{k}": form for slot in optimizer.slots for k, form in own.items()}
        )
        if metadata.get("best_epoch") is not None:
            expected.update({f"best/{k}": form for k, form in own.items()})
        return expected

    def size(shape, dtype):
        return math.prod(shape) * np.dtype(dtype).itemsize

    limit = sum(size(v.shape, v.dtype) for v in parameters.values())
    limit *= 2 + len(optimizer.slots)
    metadata, arrays = _model_file.read(path, check, max_bytes=limit)
    try:
        return _restore(metadata, arrays, parameters, optimizer, rng)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{name} is a damaged checkpoint: {exc!r}") from None


def _count(metadata, key, low, high):
    value = metadata[key]
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{key} must be an int from {low} to {high}, got {value!r}")
    return value


def _curve(metadata, key, lengths):
    value = metadata[key]
    if not (
        isinstance(value, list)
        and len(value) in lengths
        and all(type(v) in (int, float) and math.isfinite(v) for v in value)
    ):
        raise ValueError(f"{key} must be a list of {' or '.join(map(str, lengths))} finite numbers")
    return value


def _restore(metadata, arrays, parameters, optimizer, rng):
    """The TrainingState of checked metadata and arrays, restored into parameters,
    optimizer and rng; ValueError naming the field that is out of its range."""
    epoch = _count(metadata, "epoch", 1, 1 << 40)
    best_epoch = metadata["best_epoch"]
    if best_epoch is not None:
        _count(metadata, "best_epoch", 1, epoch)
    best = metadata["best"]
    if not (best is None or (type(best) in (int, float) and math.isfinite(best))):
        raise ValueError(f"best must be a finite number or null, got {best!r}")
    if (best is None) != (best_epoch is None):
        raise ValueError("best and best_epoch must both be null or both set")
    state = TrainingState(
        epoch=epoch,
        loss_curve=_curve(metadata, "loss_curve", (epoch,)),
        validation_loss_curve=_curve(metadata, "validation_loss_curve", (0, epoch)),
        best=math.inf if best is None else best,
        best_epoch=best_epoch,
        waited=_count(metadata, "waited", 0, epoch),
    )
    steps = _count(metadata, "optimizer_steps", 0, 1 << 62)
    rng.bit_generator.state = metadata["rng"]
    for key, value in parameters.items():
        value[...] = arrays[f"parameters/{key}"]
    optimizer.state = {
        key: {slot: arrays[f"optimizer/{slot}/{key}"] for slot in optimizer.slots}
        for key in parameters
        if optimizer.slots
    }
    optimizer.t = steps
    if best_epoch is not None:
        state.best_parameters = {k: arrays[f"best/{k}"] for k in parameters}
    return state
