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
        "arrays": {k: [list(v.shape), v.dtype.str] for k, v in arrays.items()},
    }
    _model_file.write(path, metadata, arrays)


def load(path, params, data, parameters, optimizer, rng):
    """The TrainingState of the checkpoint at path, after restoring the parameters (in
    place), the optimizer's state and the generator's from it; ModelFileError if it is
    damaged, or is not of a fit with these params, data and parameters' shapes."""
    name = _model_file.describe(path)

    def refuse(what):
        return ModelFileError(f"{name} cannot resume this fit: {what}")

    def check(metadata):
        if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(f"{name} is not a crnn checkpoint of format {FORMAT_VERSION}")
        declared = metadata.get("arrays")
        if not isinstance(declared, dict):
            raise ModelFileError(f"{name}: its metadata has no list of arrays")
        expected = {}
        for key, entry in declared.items():
            shape, dtype = entry if isinstance(entry, list) and len(entry) == 2 else (None, None)
            if not (
                isinstance(shape, list)
                and all(type(n) is int and n >= 0 for n in shape)
                and dtype in ("<f8", "<f4")
            ):
                raise ModelFileError(f"{name}: its array {key!r} is declared as {entry!r}")
            expected[key] = (tuple(shape), dtype)
        return expected

    metadata, arrays = _model_file.read(path, check, max_bytes=1 << 40)
    try:
        return _restore(metadata, arrays, params, data, parameters, optimizer, rng, refuse)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{name} is a damaged checkpoint: {exc!r}") from None


def _counts(metadata, *keys):
    for key in keys:
        value = metadata[key]
        if type(value) is not int or value < 0:
            raise ValueError(f"{key} = {value!r}")


def _restore(metadata, arrays, params, data, parameters, optimizer, rng, refuse):
    _counts(metadata, "epoch", "waited", "optimizer_steps")
    if metadata["params"] != params:
        raise refuse(f"it was made by a fit with other parameters: {metadata['params']}")
    if metadata["data"] != data:
        raise refuse("it was made by a fit on other data")
    for key, value in parameters.items():
        saved = arrays.get(f"parameters/{key}")
        if saved is None or saved.shape != value.shape or saved.dtype != value.dtype:
            raise refuse(f"its parameters do not match the model's ({key!r})")
        value[...] = saved
    optimizer.state = {}
    for key, value in arrays.items():
        if key.startswith("optimizer/"):
            _, slot, param = key.split("/", 2)
            optimizer.state.setdefault(param, {})[slot] = value
    optimizer.t = metadata["optimizer_steps"]
    rng.bit_generator.state = metadata["rng"]
    best = {k[len("best/") :]: v for k, v in arrays.items() if k.startswith("best/")}
    return TrainingState(
        epoch=metadata["epoch"],
        loss_curve=metadata["loss_curve"],
        validation_loss_curve=metadata["validation_loss_curve"],
        best=math.inf if metadata["best"] is None else metadata["best"],
        best_parameters=best or None,
        best_epoch=metadata["best_epoch"],
        waited=metadata["waited"],
    )
