"""Models to fit in the scikit-learn manner: a sequence tagger and a sequence classifier.

Both take the course's layout, ``x`` of shape (n_x, m, T_x), and class labels: indices
((m, T_x) for the tagger, (m,) for the classifier) or one-hot with n_y first. They train
with ``crnn.training.loss_and_grads`` (softmax cross-entropy, mean over the labelled
steps), shuffle minibatches with a seeded ``numpy.random.Generator``, and are
reproducible bit for bit: the same seed and data give the same model.
"""
import inspect
import json

import numpy as np

from crnn._validate import as_array, expect_ndim
from crnn.cells import get_cell
from crnn.forms import pool_states
from crnn.losses import check_class_indices, check_targets, softmax
from crnn.optim import clip, clip_by_global_norm, initialize_parameters, make_optimizer
from crnn.output_layer import output_layer_forward
from crnn.training import loss_and_grads

__all__ = ["SequenceTagger", "SequenceClassifier", "ModelFileError", "load_model"]

#: The name of the JSON metadata entry in a saved model's .npz file.
_METADATA = "__crnn_metadata__"
_FORMAT = "crnn-model"
_FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file that crnn cannot load: damaged, not crnn's, or from another version."""


def _progress(total, verbose):
    """A tqdm bar counting sequences, or None when silent."""
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="seq", dynamic_ncols=True)


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.random.Generator):
        return None  # a Generator's state is not kept: the file holds the fitted model
    return str(np.dtype(value))


class _SequenceModel:
    """What the tagger and the classifier share; ``_output`` says what the head reads."""

    def __init__(self, cell="rnn", n_a=32, optimizer="adam", learning_rate=0.01, epochs=20,
                 batch_size=32, clip_norm=5.0, clip_value=None, init="glorot",
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=5,
                 tol=1e-4, seed=0, verbose=True, dtype="float64"):
        self.cell = cell
        self.n_a = n_a
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.init = init
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.seed = seed
        self.verbose = verbose
        self.dtype = dtype

    # --- scikit-learn's parameter protocol ---------------------------------------

    @classmethod
    def _param_names(cls):
        names = []
        for klass in cls.__mro__[:-1]:  # all but object
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            for p in inspect.signature(init).parameters.values():
                plain = p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                if plain and p.name != "self" and p.name not in names:
                    names.append(p.name)
        return names

    def get_params(self, deep=True):
        """The constructor arguments, as a dict (deep is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor arguments by name; returns self."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; valid: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # --- data --------------------------------------------------------------------

    @property
    def _head(self):
        """What the output layer reads: "sequence" or a pooled state."""
        raise NotImplementedError

    def _x(self, x):
        x = as_array("x", x)
        expect_ndim("x", x, "(n_x, m, T_x)")
        n_x = getattr(self, "n_features_in_", None)
        if n_x is not None and x.shape[0] != n_x:
            raise ValueError(f"x has n_x = {x.shape[0]} features (shape {x.shape}); the model was fitted with n_x = {n_x}")
        return np.require(x, np.dtype(self.dtype), ("F", "A"))

    def _y(self, y, x, n_y=None):
        """Class indices in the shape of predict, from indices or one-hot labels."""
        y = as_array("y", y)
        shape = x.shape[1:] if self._head == "sequence" else x.shape[1:2]
        form = "(m, T_x)" if len(shape) == 2 else "(m,)"
        if y.shape == shape:
            return check_class_indices("y", y, n_y), n_y
        if y.ndim == len(shape) + 1 and y.shape[1:] == shape and y.shape[0] >= 1:
            t = check_targets("y", y, np.float64)
            if not np.all((t == 0) | (t == 1)) or not np.all(t.sum(axis=0) == 1):
                raise ValueError("y given with n_y first must be one-hot: one 1 per column, zeros elsewhere")
            if n_y is not None and y.shape[0] != n_y:
                raise ValueError(f"y is one-hot with n_y = {y.shape[0]}; the model was fitted with n_y = {n_y}")
            return np.argmax(t, axis=0), y.shape[0]
        raise ValueError(
            f"y must be class indices of shape {form} = {shape} or one-hot of shape "
            f"(n_y, {form[1:]} = (n_y, {', '.join(map(str, shape))}) to match x of shape "
            f"{x.shape}, got shape {y.shape}"
        )

    # --- fit -----------------------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "parameters_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit(x, y) first")

    def _check_params(self):
        """Clear errors for constructor arguments fit cannot use (the others check their own)."""
        get_cell(self.cell)
        make_optimizer(self.optimizer, self.learning_rate)
        for name in ("n_a", "epochs", "batch_size", "n_iter_no_change"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("clip_norm", "clip_value"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive or None, got {value!r}")
        if np.dtype(self.dtype) not in (np.float32, np.float64):
            raise ValueError(f'dtype must be "float32" or "float64", got {self.dtype!r}')

    def _batch_loss_and_grads(self, x, y, parameters):
        a0 = np.zeros((self.n_a, x.shape[1]), x.dtype)
        return loss_and_grads(x, y, a0, parameters, "softmax", "mean", self._head, self.cell)

    def fit(self, x, y):
        """Train on x (n_x, m, T_x) and its labels y; returns self.

        Arguments:
        x -- inputs, of shape (n_x, m, T_x)
        y -- class indices ((m, T_x) for the tagger, (m,) for the classifier) or one-hot
             labels with n_y first

        Returns:
        self, with parameters_ (the course's dict), n_features_in_, n_classes_,
        loss_curve_ (mean training loss of each epoch), validation_loss_curve_ (with
        early_stopping), best_epoch_ and n_epochs_
        """
        self._check_params()
        x = self._x(x)
        if not np.all(np.isfinite(x)):
            i = tuple(int(k) for k in np.argwhere(~np.isfinite(x))[0])
            raise ValueError(f"x holds {x[i]} at index {i}: fit needs finite inputs")
        labels, n_y = self._y(y, x)
        if n_y is None:
            n_y = int(labels.max()) + 1 if labels.size else 1
        m = x.shape[1]
        rng = np.random.default_rng(self.seed)
        order = np.arange(m)
        val = None
        if self.early_stopping:
            if not 0 < self.validation_fraction < 1:
                raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
            order = rng.permutation(m)
            n_val = int(round(self.validation_fraction * m))
            if not 0 < n_val < m:
                raise ValueError(
                    f"early_stopping needs at least one validation and one training example: "
                    f"validation_fraction = {self.validation_fraction} of m = {m} gives {n_val}"
                )
            val, order = order[:n_val], order[n_val:]
        x_train, y_train = x[:, order], labels[order]
        parameters = initialize_parameters(
            x.shape[0], self.n_a, n_y, self.cell, self.init, rng, np.dtype(self.dtype)
        )
        validation = None if val is None else (x[:, val], labels[val])
        self._fit_loop(parameters, x_train, y_train, validation, rng)
        self.n_features_in_ = x.shape[0]
        self.n_classes_ = n_y
        self.classes_ = np.arange(n_y)
        return self

    def _fit_loop(self, parameters, x, y, validation, rng):
        optimizer = make_optimizer(self.optimizer, self.learning_rate)
        keys = ["d" + k for k in parameters]
        m = x.shape[1]
        batch = self.batch_size
        bar = _progress(self.epochs * m, self.verbose)
        self.loss_curve_, self.validation_loss_curve_ = [], []
        best, best_parameters, waited = np.inf, None, 0
        epoch = 0
        try:
            for epoch in range(1, self.epochs + 1):
                total = 0.0
                perm = rng.permutation(m)
                for lo in range(0, m, batch):
                    idx = perm[lo:lo + batch]
                    loss, grads = self._batch_loss_and_grads(x[:, idx], y[idx], parameters)
                    if not np.isfinite(loss):
                        raise FloatingPointError(
                            f"the training loss became {loss} in epoch {epoch}: lower "
                            f"learning_rate (now {self.learning_rate}) or set clip_norm"
                        )
                    if self.clip_value is not None:
                        clip({k: grads[k] for k in keys}, self.clip_value)
                    if self.clip_norm is not None:
                        clip_by_global_norm(grads, self.clip_norm, keys)
                    optimizer.step(parameters, grads)
                    total += loss * len(idx)
                    if bar is not None:
                        bar.set_postfix(epoch=epoch, loss=f"{loss:.4f}", refresh=False)
                        bar.update(len(idx))
                self.loss_curve_.append(total / max(m, 1))
                if validation is not None:
                    val_loss = self._batch_loss_and_grads(*validation, parameters)[0]
                    self.validation_loss_curve_.append(val_loss)
                    if bar is not None:
                        bar.set_postfix(epoch=epoch, loss=f"{self.loss_curve_[-1]:.4f}",
                                        val_loss=f"{val_loss:.4f}")
                    if val_loss < best - self.tol:
                        best, waited = val_loss, 0
                        best_parameters = {k: v.copy() for k, v in parameters.items()}
                        self.best_epoch_ = epoch
                    else:
                        waited += 1
                if validation is not None and waited >= self.n_iter_no_change:
                    break
        finally:
            if bar is not None:
                bar.close()
        if best_parameters is not None:
            parameters = best_parameters
        else:
            self.best_epoch_ = epoch
        self.n_epochs_ = epoch
        self.parameters_ = parameters

    # --- predict -------------------------------------------------------------------

    def predict_proba(self, x):
        """Class probabilities, n_y first: (n_y, m, T_x) for the tagger, (n_y, m) for the classifier."""
        self._check_fitted()
        x = self._x(x)
        cell = get_cell(self.cell)
        a0 = np.zeros((self.parameters_[cell.output_weight].shape[1], x.shape[1]), x.dtype)
        a, _ = cell.forward(x, a0, self.parameters_)
        return softmax(output_layer_forward(pool_states(a, self._head), self.parameters_, cell.output_weight))

    def predict(self, x):
        """Class indices: (m, T_x) for the tagger, (m,) for the classifier."""
        return np.argmax(self.predict_proba(x), axis=0)

    def score(self, x, y):
        """Mean accuracy: of every token for the tagger, of every sequence for the classifier."""
        self._check_fitted()
        x = self._x(x)
        labels, _ = self._y(y, x, self.n_classes_)
        return float(np.mean(self.predict(x) == labels))

    # --- save and load ---------------------------------------------------------------

    def save(self, path):
        """Write the fitted model to path: a .npz of named arrays plus JSON metadata, no pickle."""
        import crnn

        self._check_fitted()
        metadata = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "crnn_version": crnn.__version__,
            "class": type(self).__name__,
            "params": self.get_params(),
            "n_features_in_": self.n_features_in_,
            "n_classes_": self.n_classes_,
            "loss_curve_": self.loss_curve_,
            "validation_loss_curve_": self.validation_loss_curve_,
            "best_epoch_": self.best_epoch_,
            "n_epochs_": self.n_epochs_,
            "arrays": {k: [list(v.shape), str(v.dtype)] for k, v in self.parameters_.items()},
        }
        text = json.dumps(metadata, default=_json_default)
        with open(path, "wb") as f:
            np.savez(f, **self.parameters_, **{_METADATA: np.array(text)})

    @classmethod
    def load(cls, path):
        """A model saved by save(path); ModelFileError if the file is damaged or from another crnn."""
        model = load_model(path)
        if not isinstance(model, cls):
            raise ModelFileError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model


class SequenceTagger(_SequenceModel):
    """Many-to-many: one class per step, from the state of that step.

    Arguments:
    cell -- "rnn" (or another name in crnn.cells.CELLS)
    n_a -- hidden units
    optimizer -- "adam", "sgd", "momentum" or "adagrad"
    learning_rate, epochs, batch_size -- of the minibatch training
    clip_norm -- bound on the gradients' global norm (None: no clipping)
    clip_value -- bound on every gradient entry, the course's clip (None: none)
    init -- "glorot" (orthogonal recurrent weights) or "normal" (the course's 0.01·randn)
    early_stopping -- hold out validation_fraction of the sequences and stop after
                      n_iter_no_change epochs without a validation loss lower by tol;
                      the best epoch's parameters are kept
    seed -- int: seeds the split, the initial weights and the shuffling
    verbose -- show a progress bar (tqdm) with the loss and the speed
    dtype -- "float64" or "float32", the dtype of the parameters and the computation
    """

    _head = "sequence"


class SequenceClassifier(_SequenceModel):
    """Many-to-one: one class per sequence, from the last state or the mean of the states.

    Arguments:
    pooling -- "last" or "mean", the state the output layer reads
    the others -- as for SequenceTagger
    """

    def __init__(self, pooling="last", **kwargs):
        super().__init__(**kwargs)
        self.pooling = pooling

    @property
    def _head(self):
        return self.pooling

    def _check_params(self):
        super()._check_params()
        if self.pooling not in ("last", "mean"):
            raise ValueError(f'pooling must be "last" or "mean", got {self.pooling!r}')


_MODELS = {cls.__name__: cls for cls in (SequenceTagger, SequenceClassifier)}


def _read(path):
    """The metadata dict and the arrays of a model file, or ModelFileError."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if _METADATA not in f.files:
                raise ModelFileError(f"{path} is not a crnn model file: it has no {_METADATA} entry")
            metadata = json.loads(str(f[_METADATA][()]))
            arrays = {k: f[k] for k in f.files if k != _METADATA}
    except ModelFileError:
        raise
    except FileNotFoundError:
        raise
    except Exception as exc:  # zipfile, zlib, json and numpy all raise their own errors
        raise ModelFileError(f"{path} is not a crnn model file or is damaged: {exc!r}") from exc
    return metadata, arrays


def load_model(path):
    """The SequenceTagger or SequenceClassifier saved at path.

    Raises ModelFileError (a ValueError) for a damaged file, a file that is not a crnn
    model, or a file saved by another crnn version.
    """
    import crnn

    metadata, arrays = _read(path)
    if not isinstance(metadata, dict) or metadata.get("format") != _FORMAT:
        raise ModelFileError(f"{path} is not a crnn model file (its metadata has no format {_FORMAT!r})")
    saved = metadata.get("crnn_version")
    if saved != crnn.__version__ or metadata.get("format_version") != _FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was saved by crnn {saved} (format {metadata.get('format_version')}); this is "
            f"crnn {crnn.__version__} (format {_FORMAT_VERSION}): load it with crnn {saved}, or fit again"
        )
    try:
        model = _MODELS[metadata["class"]](**metadata["params"])
        expected = metadata["arrays"]
        if sorted(expected) != sorted(arrays):
            raise ValueError(f"arrays {sorted(arrays)} but the metadata lists {sorted(expected)}")
        for key, (shape, dtype) in expected.items():
            arr = arrays[key]
            if list(arr.shape) != shape or str(arr.dtype) != dtype or not np.all(np.isfinite(arr)):
                raise ValueError(f"array {key!r} is not the finite {dtype} array of shape {shape} it should be")
        for key in ("n_features_in_", "n_classes_", "loss_curve_", "validation_loss_curve_",
                    "best_epoch_", "n_epochs_"):
            setattr(model, key, metadata[key])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path} is a damaged crnn model file: {exc!r}") from exc
    model.classes_ = np.arange(model.n_classes_)
    model.parameters_ = arrays
    return model
