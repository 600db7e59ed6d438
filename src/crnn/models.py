"""Models to fit in the scikit-learn manner: a sequence tagger and a sequence classifier.

Both take the course's layout, ``x`` of shape (n_x, m, T_x), and class labels: indices
((m, T_x) for the tagger, (m,) for the classifier) or one-hot with n_y first. Sequences
of different lengths come as a list of (n_x, T_i) arrays (the tagger's labels a list of
(T_i,) arrays), or padded with ``lengths=``; minibatches then group similar lengths. They train
with ``crnn.training.loss_and_grads`` (softmax cross-entropy, mean over the labelled
steps), shuffle minibatches with a seeded ``numpy.random.Generator``, and are
reproducible bit for bit: the same seed and data give the same model.
"""

import inspect
import json
import os
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from crnn import _model_file
from crnn._cellspec import check_lengths
from crnn._checkpoint import (
    TrainingState,
    fingerprint,
    load as load_checkpoint,
    save as save_checkpoint,
)
from crnn._model_file import ModelFileError
from crnn._validate import BLAS_INT_MAX, as_array, expect_ndim
from crnn.cells import get_cell, model_shapes
from crnn.forms import running_steps
from crnn.layers import Stack, check_stack
from crnn.losses import check_class_indices, check_targets, softmax
from crnn.optim import (
    FlatArrays,
    clip,
    clip_by_global_norm,
    initialize_parameters,
    make_optimizer,
)
from crnn.output_layer import output_layer_forward
from crnn.training import loss_and_grads, model_loss

__all__ = ["SequenceTagger", "SequenceClassifier", "ModelFileError", "load_model"]

_FORMAT = "crnn-model"
_FORMAT_VERSION = 3

#: The most classes a model may have: labels are class names, and a model has an output
#: for each distinct one.
MAX_CLASSES = 65536

#: The most bytes of arrays load_model reads unless told otherwise.
DEFAULT_MAX_BYTES = 1 << 30


def _padded(xs):
    """A list of (n_x, T_i) arrays as one (n_x, m, max T_i) array, zeros past each
    length, and the lengths; every error names the item."""
    if not xs:
        raise ValueError("x is an empty list: give at least one sequence")
    arrays = []
    for i, item in enumerate(xs):
        arr = as_array(f"x[{i}]", item)
        expect_ndim(f"x[{i}]", arr, "(n_x, T_i)")
        if arrays and arr.shape[0] != arrays[0].shape[0]:
            raise ValueError(
                f"x[{i}] has n_x = {arr.shape[0]} features (shape {arr.shape}), "
                f"but x[0] has {arrays[0].shape[0]}: every sequence needs the same n_x"
            )
        if arr.shape[1] < 1:
            raise ValueError(f"x[{i}] has no steps (shape {arr.shape})")
        arrays.append(arr)
    lengths = np.array([arr.shape[1] for arr in arrays], np.intp)
    out = np.zeros(
        (arrays[0].shape[0], len(arrays), lengths.max()), np.result_type(*arrays, np.float32)
    )
    for i, arr in enumerate(arrays):
        out[:, i, : arr.shape[1]] = arr
    return out, lengths


def _padded_labels(ys, lengths, T):
    """The tagger's list of (T_i,) label arrays as one (m, T) array, each padded with its
    first label (never read); errors name the item."""
    if lengths is None or len(ys) != len(lengths):
        raise ValueError(
            f"y is a list of {len(ys)} label arrays: it needs x as a list of as many sequences"
        )
    arrays = [as_array(f"y[{i}]", item) for i, item in enumerate(ys)]
    out = np.zeros((len(ys), T), np.result_type(*arrays))  # as given: y's checks see it
    for i, (arr, L) in enumerate(zip(arrays, lengths)):
        if arr.shape != (L,):
            raise ValueError(
                f"y[{i}] must have shape ({L},), the length of x[{i}], got {arr.shape}"
            )
        out[i, :L], out[i, L:] = arr, arr[0]
    return out


class StepState(NamedTuple):
    """What ``step`` carries from one step to the next: each layer's state (a, and the
    LSTM's c, else None), and for a classifier pooling the mean, the sum of the top
    layer's states so far; steps is the count of steps taken."""

    layers: tuple
    total: np.ndarray | None
    steps: int


def _batch(x, y, lengths, idx, buffer):
    """The minibatch idx of x, y and lengths, cut to its longest sequence; x C-ordered,
    which the kernels read in place, in buffer (1-D, of x's dtype, large enough for every
    minibatch of the fit: its memory serves each in turn)."""
    T = x.shape[2] if lengths is None else int(lengths[idx].max())
    x_batch = buffer[: x.shape[0] * len(idx) * T].reshape(x.shape[0], len(idx), T)
    np.take(x[:, :, :T], idx, axis=1, out=x_batch)
    if lengths is None:
        return x_batch, y[idx], None
    y_batch = y[idx][:, :T] if y.ndim == 2 else y[idx]
    return x_batch, y_batch, lengths[idx]


def _progress(total, verbose):
    """A tqdm bar counting sequences, redrawn at most four times a second, or None when
    silent."""
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="seq", dynamic_ncols=True, mininterval=0.25)


class _SequenceModel:
    """What the tagger and the classifier share; ``_output`` says what the head reads."""

    def __init__(
        self,
        cell="rnn",
        n_a=32,
        optimizer="adam",
        learning_rate=0.01,
        epochs=20,
        batch_size=32,
        clip_norm=5.0,
        clip_value=None,
        init="glorot",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-4,
        seed=0,
        verbose=True,
        dtype="float64",
        activation="tanh",
        reset_after=False,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
    ):
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.cell = cell
        self.activation = activation
        self.reset_after = reset_after
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

    def _x(self, x, lengths=None):
        """x as the model's dtype, checked: 3-D, finite over its steps, with the fitted n_x
        if fitted; a list of (n_x, T_i) arrays is padded. Returns x and the lengths
        (checked; None for a batch of full sequences)."""
        if isinstance(x, (list, tuple)):
            if lengths is not None:
                raise ValueError("lengths= is for a padded array x; a list x gives its own")
            x, lengths = _padded(x)
        x = as_array("x", x)
        expect_ndim("x", x, "(n_x, m, T_x)")
        if 0 in x.shape[1:]:
            what = "sequences (m = 0)" if x.shape[1] == 0 else "steps (T_x = 0)"
            raise ValueError(f"x of shape {x.shape} has no {what}: crnn's models need some")
        n_x = getattr(self, "n_features_in_", None)
        if n_x is not None and x.shape[0] != n_x:
            raise ValueError(
                f"x has n_x = {x.shape[0]} features (shape {x.shape}); "
                f"the model was fitted with n_x = {n_x}"
            )
        if lengths is not None:
            lengths = check_lengths(lengths, x.shape[1], x.shape[2])
        # C order: the kernels read it in place, and minibatches are cut from it in blocks
        x = np.require(x, np.dtype(self.dtype), ("C", "A"))
        finite = np.isfinite(x)
        if lengths is not None:  # the padding may hold anything
            finite |= ~running_steps(lengths, x.shape[2])[None]
        if not finite.all():
            i = tuple(int(k) for k in np.argwhere(~finite)[0])
            raise ValueError(f"x holds {x[i]} at index {i}: crnn's models need finite inputs")
        return x, lengths

    def _y(self, y, x, lengths=None):
        """The labels of x: (labels, n_y), labels in the shape of predict, n_y None for
        labels given as class names (indices), the count of classes for one-hot y. The
        tagger's labels of a list x come as a list of (T_i,) arrays; past each
        sequence's length its labels are padded with its first."""
        if isinstance(y, (list, tuple)) and self._head == "sequence":
            y = _padded_labels(y, lengths, x.shape[2])
        y = as_array("y", y)
        if lengths is not None and self._head == "sequence" and y.shape == x.shape[1:]:
            # past each length, the sequence's first label: never read, never a class
            y = np.where(running_steps(lengths, x.shape[2]), y, y[:, :1])
        shape = x.shape[1:] if self._head == "sequence" else x.shape[1:2]
        form = "(m, T_x)" if len(shape) == 2 else "(m,)"
        if y.shape == shape:
            return check_class_indices("y", y), None
        if y.ndim == len(shape) + 1 and y.shape[1:] == shape and y.shape[0] >= 1:
            t = check_targets("y", y, np.float64)
            if not np.all((t == 0) | (t == 1)) or not np.all(t.sum(axis=0) == 1):
                raise ValueError(
                    "y given with n_y first must be one-hot: one 1 per column, zeros elsewhere"
                )
            return np.argmax(t, axis=0), y.shape[0]
        raise ValueError(
            f"y must be class indices of shape {form} = {shape} or one-hot of shape "
            f"(n_y, {form[1:]} = (n_y, {', '.join(map(str, shape))}) to match x of shape "
            f"{x.shape}, got shape {y.shape}"
        )

    def _classes(self, labels, n_y):
        """The classes of fit's labels: those seen (or range(n_y) for one-hot labels),
        and the labels as indices into them."""
        classes = np.arange(n_y) if n_y is not None else np.unique(labels)
        if len(classes) > MAX_CLASSES:
            raise ValueError(
                f"y has {len(classes)} classes, more than crnn's models take ({MAX_CLASSES}): "
                "a model has an output per class"
            )
        if n_y is not None:
            return classes, labels
        return classes, np.searchsorted(classes, labels)

    def _encoded(self, y, x, lengths=None):
        """The labels of x as indices into classes_; ValueError for a class not fitted."""
        labels, n_y = self._y(y, x, lengths)
        classes = self.classes_
        if n_y is not None:
            if n_y != len(classes):
                raise ValueError(
                    f"y is one-hot with n_y = {n_y}; the model was fitted with n_y = {len(classes)}"
                )
            return labels
        index = np.minimum(np.searchsorted(classes, labels), len(classes) - 1)
        unknown = classes[index] != labels
        if unknown.any():
            i = tuple(int(k) for k in np.argwhere(unknown)[0])
            raise ValueError(
                f"y holds {labels[i]} at index {i}, a class the model was not fitted with "
                f"(classes_ = {_shown(classes)})"
            )
        return index

    # --- fit -----------------------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "parameters_"):
            raise RuntimeError(
                f"this {type(self).__name__} is not fitted yet: call fit(x, y) first"
            )

    def _check_params(self):
        """Clear errors for constructor arguments fit cannot use (the others check their own)."""
        get_cell(self.cell)
        if self.reset_after and self.cell != "gru":
            raise ValueError(
                f'reset_after=True is the GRU\'s convention: it needs cell="gru", got {self.cell!r}'
            )
        if self.activation != "tanh" and self.cell != "rnn":
            raise ValueError(
                f"activation={self.activation!r} is the RNN's option: "
                f'it needs cell="rnn", got {self.cell!r}'
            )
        check_stack(self.num_layers, self.bidirectional, "concat", self.dropout)
        self._cell()
        if self.num_layers == 1 and self.dropout:
            raise ValueError(
                f"dropout={self.dropout!r} is between the layers of a stack: it needs "
                f"num_layers >= 2, got {self.num_layers!r}"
            )
        make_optimizer(self.optimizer, self.learning_rate)
        for name in ("n_a", "epochs", "batch_size", "n_iter_no_change"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("clip_norm", "clip_value"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive or None, got {value!r}")
        try:
            ok = np.dtype(self.dtype) in (np.float32, np.float64)
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f'dtype must be "float32" or "float64", got {self.dtype!r}')

    def _cell_options(self):
        """The options of the model's cell (see crnn.cells.get_cell)."""
        if self.cell == "rnn":
            return {"activation": self.activation}
        return {"reset_after": self.reset_after} if self.cell == "gru" else {}

    def _cell(self, rng=None):
        """The model's cell, made with its options; a crnn.layers.Stack for a stack, with
        dropout when given the rng of its masks (training)."""
        if self.num_layers == 1 and not self.bidirectional:
            return get_cell(self.cell, **self._cell_options())
        return Stack(
            self.cell,
            self.num_layers,
            self.bidirectional,
            "concat",
            0.0 if rng is None else self.dropout,
            rng,
            **self._cell_options(),
        )

    def _shapes(self, n_x, n_y):
        """The shapes of parameters_: {key: shape}."""
        cell = self._cell()
        if isinstance(cell, Stack):
            return cell.shapes(n_x, self.n_a, n_y)
        return {
            key: shape
            for key, (shape, _) in model_shapes(
                self.cell, n_x, self.n_a, n_y, **self._cell_options()
            ).items()
        }

    def _batch_loss_and_grads(self, x, y, lengths, parameters, rng=None):
        a0 = np.zeros((self.n_a, x.shape[1]), x.dtype)
        return loss_and_grads(
            x,
            y,
            a0,
            parameters,
            "softmax",
            "mean",
            self._head,
            self._cell(rng),
            lengths,
            want_dx=False,
        )

    def fit(self, x, y, lengths=None, *, checkpoint=None, resume=False):
        """Train on x (n_x, m, T_x) and its labels y; returns self.

        Labels given as integers are class names: the model's classes are the distinct
        labels seen (``classes_``), and predict returns them. A fit that fails (an
        exception) leaves the model as it was before the call; Ctrl-C (KeyboardInterrupt)
        leaves it at its last complete epoch, if one was, and says which.

        Arguments:
        x -- inputs, of shape (n_x, m, T_x), finite; or a list of m arrays (n_x, T_i)
        y -- class labels, non-negative integers ((m, T_x) for the tagger, (m,) for the
             classifier), or one-hot labels with n_y first (classes 0 .. n_y-1); for the
             tagger of a list x, a list of (T_i,) label arrays
        lengths -- None, or the m lengths of a padded x (see crnn.rnn_forward): the steps
                   past them are not trained on, and their labels are not read
        checkpoint -- None, or a path: the state of the fit is saved there after every
                      epoch (atomically: the file is always a whole checkpoint)
        resume -- with checkpoint, continue from the state the file holds (if it exists;
                  else start): the same data and estimator parameters (epochs may grow)
                  give the same model, bit for bit, as a fit that was never stopped

        Returns:
        self, with ``parameters_`` (the course's dict), ``n_features_in_``, ``classes_``,
        ``n_classes_``, ``loss_curve_`` (mean training loss of each epoch),
        ``validation_loss_curve_`` (with early_stopping), ``best_epoch_`` and ``n_epochs_``
        """
        self._check_params()
        x, lengths = self._x(x, lengths)
        labels, n_y = self._y(y, x, lengths)
        classes, labels = self._classes(labels, n_y)
        m = x.shape[1]
        rng = np.random.default_rng(self.seed)
        order = np.arange(m)
        val = None
        if self.early_stopping:
            if not 0 < self.validation_fraction < 1:
                raise ValueError(
                    f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}"
                )
            order = rng.permutation(m)
            n_val = round(self.validation_fraction * m)
            if not 0 < n_val < m:
                raise ValueError(
                    f"early_stopping needs at least one validation and one training example: "
                    f"validation_fraction = {self.validation_fraction} of m = {m} gives {n_val}"
                )
            val, order = order[:n_val], order[n_val:]
        x_train, y_train = x[:, order], labels[order]
        l_train = None if lengths is None else lengths[order]
        cell = self._cell()
        if isinstance(cell, Stack):
            parameters = cell.initialize(
                x.shape[0], self.n_a, len(classes), self.init, rng, np.dtype(self.dtype)
            )
        else:
            parameters = initialize_parameters(
                x.shape[0],
                self.n_a,
                len(classes),
                self.cell,
                self.init,
                rng,
                np.dtype(self.dtype),
                **self._cell_options(),
            )
        validation = None
        if val is not None:
            validation = (x[:, val], labels[val], None if lengths is None else lengths[val])
        resumed = None
        if checkpoint is not None:
            resumed = self._resume(checkpoint, resume, parameters, rng, x, labels, lengths)
        elif resume:
            raise ValueError("resume=True needs checkpoint=PATH, the file to resume from")
        fitted, interrupted = self._fit_loop(
            parameters, x_train, y_train, validation, rng, l_train, resumed
        )
        # all of the fitted state at once, only now that an epoch has finished
        fitted.update(n_features_in_=x.shape[0], n_classes_=len(classes), classes_=classes)
        vars(self).update(fitted)
        if interrupted is not None:
            raise KeyboardInterrupt(
                f"fit was interrupted in epoch {interrupted}: the model holds the parameters "
                f"of epoch {fitted['n_epochs_']}, its last complete one"
            )
        return self

    def _resume(self, path, resume, parameters, rng, x, labels, lengths):
        """What _fit_loop takes to save the state of a fit at path after every epoch:
        with resume and a file at path, the state it holds, restored into parameters,
        rng and a new optimizer."""
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise ValueError(
                f"checkpoint= needs an int seed, so that a resumed fit draws what the first "
                f"one drew (its validation split, its minibatches), got seed={self.seed!r}"
            )
        folder = os.path.dirname(os.path.abspath(os.fsdecode(path)))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"checkpoint={path!r}: its folder {folder!r} does not exist")
        # what shapes the epochs: not their count, nor the progress bar
        params = {k: v for k, v in self.get_params().items() if k not in ("epochs", "verbose")}
        # as the file holds them
        params = json.loads(json.dumps(params, default=_model_file.json_default))
        data = fingerprint(x, labels, lengths)
        optimizer = make_optimizer(self.optimizer, self.learning_rate)
        state = TrainingState()
        if resume and os.path.exists(path):
            state = load_checkpoint(path, params, data, parameters, optimizer, rng)
            if state.epoch > self.epochs:
                raise ValueError(
                    f"{_model_file.describe(path)} holds a fit of {state.epoch} epochs; "
                    f"epochs = {self.epochs} cannot resume it: ask for {state.epoch} or more"
                )
        return path, state, optimizer, params, data

    def _batches(self, m, lengths, rng):
        """The minibatches of an epoch, as index arrays: shuffled; with lengths, sequences
        of similar lengths together (sorted by length, ties in random order), each batch
        longest first, the batches in random order."""
        batch = self.batch_size
        if lengths is None:
            perm = rng.permutation(m)
            return [perm[lo : lo + batch] for lo in range(0, m, batch)]
        order = np.lexsort((rng.random(m), -lengths))
        batches = [order[lo : lo + batch] for lo in range(0, m, batch)]
        return [batches[k] for k in rng.permutation(len(batches))]

    def _fit_loop(self, parameters, x, y, validation, rng, lengths=None, checkpoint=None):
        """Train parameters in place, from the epoch after state's; returns the fitted
        attributes, without setting any, and None, or after Ctrl-C those of the last
        complete epoch and the epoch interrupted (KeyboardInterrupt itself when none was).

        checkpoint -- None, or (path, state, optimizer, what save_checkpoint takes else):
                      the state resumed (a TrainingState), its optimizer, and the path
                      the state is saved to after every epoch
        """
        if checkpoint is None:
            state, optimizer = TrainingState(), make_optimizer(self.optimizer, self.learning_rate)
        else:
            path, state, optimizer, params, data = checkpoint
        # the parameters and their gradients each in one buffer: clipping and the
        # optimizer's update are one pass over it
        parameters = FlatArrays(parameters)
        grads_flat = FlatArrays({"d" + k: v for k, v in parameters.items()})
        # the same arrays in a plain dict, the form the engine's common path takes
        weights = dict(parameters)
        m = x.shape[1]
        buffer = np.empty(x.shape[0] * min(self.batch_size, m) * x.shape[2], x.dtype)
        bar = _progress((self.epochs - state.epoch) * m, self.verbose)
        # the fitted attributes of the last complete epoch: a resumed one's to start with
        done = state.fitted(parameters) if state.epoch else None
        epoch = state.epoch
        try:
            while epoch < self.epochs and not (
                validation is not None and state.waited >= self.n_iter_no_change
            ):
                epoch += 1
                total = 0.0
                for idx in self._batches(m, lengths, rng):
                    loss, grads = self._batch_loss_and_grads(
                        *_batch(x, y, lengths, idx, buffer), weights, rng
                    )
                    if not np.isfinite(loss):
                        raise FloatingPointError(
                            f"the training loss became {loss} in epoch {epoch}: lower "
                            f"learning_rate (now {self.learning_rate}) or set clip_norm"
                        )
                    grads = grads_flat.load(grads)
                    if self.clip_value is not None:
                        clip(grads, self.clip_value)
                    if self.clip_norm is not None:
                        clip_by_global_norm(grads, self.clip_norm)
                    optimizer.step(parameters, grads)
                    total += loss * len(idx)
                    if bar is not None:
                        bar.set_postfix(epoch=epoch, loss=f"{loss:.4f}", refresh=False)
                        bar.update(len(idx))
                state.epoch = epoch
                state.loss_curve.append(total / max(m, 1))
                if validation is not None:
                    val_x, val_y, val_lengths = validation
                    val_loss = model_loss(
                        val_x,
                        val_y,
                        np.zeros((self.n_a, val_x.shape[1]), val_x.dtype),
                        weights,
                        self._cell(),
                        output=self._head,
                        lengths=val_lengths,
                    )
                    state.validation_loss_curve.append(val_loss)
                    if bar is not None:
                        bar.set_postfix(
                            epoch=epoch,
                            loss=f"{state.loss_curve[-1]:.4f}",
                            val_loss=f"{val_loss:.4f}",
                        )
                    if val_loss < state.best - self.tol:
                        state.best, state.waited, state.best_epoch = val_loss, 0, epoch
                        state.best_parameters = {k: v.copy() for k, v in parameters.items()}
                    else:
                        state.waited += 1
                if checkpoint is not None:
                    save_checkpoint(path, params, data, state, parameters, optimizer, rng)
                done = state.fitted(parameters)  # the epoch is complete once it is saved
        except KeyboardInterrupt:
            if done is None:
                raise
            return done, epoch
        finally:
            if bar is not None:
                bar.close()
        return state.fitted(parameters), None

    # --- predict -------------------------------------------------------------------

    def _proba(self, x, lengths):
        """Class probabilities of a checked x: (n_y, m, T_x) for the tagger (zeros past
        each sequence's length), (n_y, m) for the classifier."""
        cell = self._cell()
        a0 = np.zeros((self.n_a, x.shape[1]), x.dtype)
        if self._head == "sequence" and not isinstance(cell, Stack):
            # one cell's forward computes softmax(Wy·a + by) of every step in its loops,
            # zero past each length: the tagger's probabilities
            return cell.spec.forward(x, a0, self.parameters_, lengths=lengths).y
        a = cell.states(x, a0, self.parameters_, lengths=lengths)
        h = cell.pool(a, self._head, lengths)
        proba = softmax(output_layer_forward(h, self.parameters_, cell.output_weight))
        if lengths is not None and self._head == "sequence":
            proba[:, ~running_steps(lengths, x.shape[2])] = 0
        return proba

    def predict_proba(self, x, lengths=None):
        """Class probabilities, n_y first: (n_y, m, T_x) for the tagger, (n_y, m) for the
        classifier; row k is the class classes_[k]. x must be finite, as for fit. For a
        list x, a list: (n_y, T_i) arrays for the tagger, (n_y,) for the classifier."""
        self._check_fitted()
        listed = isinstance(x, (list, tuple))
        x, lengths = self._x(x, lengths)
        proba = self._proba(x, lengths)
        if not listed:
            return proba
        if self._head == "sequence":
            return [proba[:, i, :L] for i, L in enumerate(lengths)]
        return list(proba.T)

    def step(self, xt, state=None):
        """One step of the fitted model on new input, to serve a token at a time: the
        class probabilities after this step, and the state to hand the next call. Steps
        t = 0, 1, ... of a sequence give what predict_proba gives for the whole of it:
        the tagger its step t, the classifier the sequence ending at step t.

        Arguments:
        xt -- the input of one step, (n_x, m) for m sequences side by side, or (n_x,)
        state -- None to start the sequences (the states at zero), else the state the
                 previous call returned

        Returns:
        proba -- class probabilities, (n_y, m) (or (n_y,) for an (n_x,) xt), row k the
                 class ``classes_[k]``
        state -- the model's state after this step (an opaque StepState)
        """
        self._check_fitted()
        cell = self._cell()
        parameters = self.parameters_
        if isinstance(cell, Stack):
            if cell.form["bidirectional"]:
                raise ValueError(
                    "a bidirectional model reads each sequence's later steps too: it cannot "
                    "run a step at a time; use predict_proba on whole sequences"
                )
            nested = cell.nested(parameters)
            layers = [(cell.cell, nested[name]) for name in cell.names]
        else:
            hidden = {k: v for k, v in parameters.items() if k not in (cell.output_weight, "by")}
            layers = [(cell, hidden)]
        xt = as_array("xt", xt)
        single = xt.ndim == 1
        if single:
            xt = xt[:, None]
        expect_ndim("xt", xt, "(n_x, m)")
        if xt.shape[0] != self.n_features_in_:
            raise ValueError(
                f"xt has n_x = {xt.shape[0]} features (shape {xt.shape}); "
                f"the model was fitted with n_x = {self.n_features_in_}"
            )
        xt = np.require(xt, np.dtype(self.dtype), ("F", "A"))
        if not np.isfinite(xt).all():
            raise ValueError("xt holds a non-finite value: crnn's models need finite inputs")
        m = xt.shape[1]
        if state is None:
            zeros = np.zeros((self.n_a, m), xt.dtype, order="F")
            state = StepState(
                tuple((zeros, zeros if c.name == "lstm" else None) for c, _ in layers), None, 0
            )
        elif not (
            isinstance(state, StepState)
            and len(state.layers) == len(layers)
            and all(a.shape == (self.n_a, m) for a, _ in state.layers)
        ):
            raise ValueError(
                f"state must be the StepState a step of this model returned for m = {m} "
                f"sequences, got {type(state).__name__}"
            )
        h, after = xt, []
        for (c, p), (a_prev, c_prev) in zip(layers, state.layers):
            out = c.spec.forward(h, a_prev, p, c0=c_prev, one_step=True, output=False)
            h = out.a[:, :, 0]
            after.append((h, None if out.c is None else out.c[:, :, 0]))
        total, steps = state.total, state.steps + 1
        if self._head == "sequence":
            pooled = h[:, :, None]
        elif self.pooling == "mean":
            total = h.copy() if total is None else total + h
            pooled = total / steps
        else:
            pooled = h
        proba = softmax(output_layer_forward(pooled, parameters, cell.output_weight))
        if self._head == "sequence":
            proba = proba[:, :, 0]
        return (proba[:, 0] if single else proba), StepState(tuple(after), total, steps)

    def predict(self, x, lengths=None):
        """Class labels (of ``classes_``): (m, T_x) for the tagger, (m,) for the classifier;
        for a list x, a list: (T_i,) arrays for the tagger, labels for the classifier."""
        proba = self.predict_proba(x, lengths)
        if isinstance(proba, list):
            return [self.classes_[np.argmax(p, axis=0)] for p in proba]
        return self.classes_[np.argmax(proba, axis=0)]

    def score(self, x, y, lengths=None):
        """Mean accuracy: of every token (within each sequence's length) for the tagger,
        of every sequence for the classifier."""
        self._check_fitted()
        x, lengths = self._x(x, lengths)
        labels = self._encoded(y, x, lengths)
        right = np.argmax(self._proba(x, lengths), axis=0) == labels
        if lengths is not None and self._head == "sequence":
            return float(np.mean(right[running_steps(lengths, x.shape[2])]))
        return float(np.mean(right))

    # --- save and load ---------------------------------------------------------------

    def save(self, file):
        """Write the fitted model to file (a path, written exactly there, or a binary file
        object): a .npz of named arrays plus JSON metadata, no pickle."""
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
            "classes_": self.classes_.tolist(),
            "loss_curve_": self.loss_curve_,
            "validation_loss_curve_": self.validation_loss_curve_,
            "best_epoch_": self.best_epoch_,
            "n_epochs_": self.n_epochs_,
        }
        _model_file.write(file, metadata, self.parameters_)

    @classmethod
    def load(cls, file, *, max_bytes=DEFAULT_MAX_BYTES):
        """A model saved by save(file); ModelFileError if the file is damaged, from another
        crnn, or holds another kind of model (see load_model)."""
        model = load_model(file, max_bytes=max_bytes)
        if not isinstance(model, cls):
            raise ModelFileError(
                f"{_model_file.describe(file)} holds a {type(model).__name__}, not a {cls.__name__}"
            )
        return model


class SequenceTagger(_SequenceModel):
    """Many-to-many: one class per step, from the state of that step.

    Arguments:
    cell -- "rnn", "lstm" or "gru" (the names in crnn.cells.CELLS)
    activation -- with cell="rnn": "tanh" (the course's) or "relu"
    reset_after -- with cell="gru": PyTorch's and Keras's convention instead of the
                   lecture's (see crnn.gru)
    n_a -- hidden units
    num_layers, bidirectional -- a stack of layers, in one or both directions (the
                                 directions' states concatenated; see crnn.layers)
    dropout -- between the layers of a stack, in training
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


def _shown(classes):
    """classes for a message: the first few."""
    return (
        str(classes.tolist())
        if len(classes) <= 10
        else f"[{', '.join(map(str, classes[:10]))}, ...]"
    )


class _Metadata:
    """The checks of a model file's metadata, each naming the field it refuses."""

    def __init__(self, metadata, name):
        self.metadata, self.name = metadata, name

    def error(self, key, what):
        return ModelFileError(f"{self.name}: its metadata field {key!r} {what}")

    def __getitem__(self, key):
        if key not in self.metadata:
            raise ModelFileError(f"{self.name}: its metadata has no field {key!r}")
        return self.metadata[key]

    def count(self, key, low, high):
        """An int field in [low, high]."""
        value = self[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(key, f"must be an int from {low} to {high}, got {value!r}")
        return value

    def curve(self, key, length):
        """A list of length finite numbers."""
        value = self[key]
        if not (
            isinstance(value, list)
            and len(value) == length
            and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
                for v in value
            )
        ):
            raise self.error(key, f"must be a list of {length} finite numbers")
        return value


def _model_of(metadata, name):
    """The unfitted model that metadata describes, with every attribute but parameters_
    set, and the arrays its file must hold: {key: (shape, dtype)}."""
    import crnn

    meta = _Metadata(metadata, name)
    if metadata.get("format") != _FORMAT:
        raise ModelFileError(
            f"{name} is not a crnn model file (its metadata has no format {_FORMAT!r})"
        )
    saved = metadata.get("crnn_version")
    if saved != crnn.__version__ or metadata.get("format_version") != _FORMAT_VERSION:
        raise ModelFileError(
            f"{name} was saved by crnn {saved} (format {metadata.get('format_version')}); this is "
            f"crnn {crnn.__version__} (format {_FORMAT_VERSION}): "
            f"load it with crnn {saved}, or fit again"
        )
    cls = _MODELS.get(meta["class"]) if isinstance(meta["class"], str) else None
    if cls is None:
        raise meta.error("class", f"must be one of {sorted(_MODELS)}, got {meta['class']!r}")
    params = meta["params"]
    if not isinstance(params, dict) or sorted(params) != sorted(cls._param_names()):
        raise meta.error(
            "params", f"must hold exactly the parameters of {cls.__name__}: {cls._param_names()}"
        )
    model = cls(**params)
    try:
        model._check_params()
    except (TypeError, ValueError) as exc:
        raise meta.error("params", f"is refused: {exc}") from None
    n_x = meta.count("n_features_in_", 1, BLAS_INT_MAX)
    n_y = meta.count("n_classes_", 1, MAX_CLASSES)
    classes = meta["classes_"]
    if not (
        isinstance(classes, list)
        and len(classes) == n_y
        and all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= BLAS_INT_MAX
            for c in classes
        )
        and all(a < b for a, b in pairwise(classes))
    ):
        raise meta.error("classes_", f"must list n_classes_ = {n_y} increasing non-negative ints")
    # a model made by crnn.interop has no epochs of its own
    n_epochs = meta.count("n_epochs_", 0, model.epochs)
    best_epoch = meta.count("best_epoch_", min(1, n_epochs), n_epochs)
    loss_curve = meta.curve("loss_curve_", n_epochs)
    validation_loss_curve = meta.curve(
        "validation_loss_curve_", n_epochs if model.early_stopping else 0
    )
    vars(model).update(
        n_features_in_=n_x,
        n_classes_=n_y,
        classes_=np.array(classes, np.intp),
        n_epochs_=n_epochs,
        best_epoch_=best_epoch,
        loss_curve_=loss_curve,
        validation_loss_curve_=validation_loss_curve,
    )
    dtype = np.dtype(model.dtype)
    expected = {key: (shape, dtype) for key, shape in model._shapes(n_x, n_y).items()}
    return model, expected


def load_model(file, *, max_bytes=DEFAULT_MAX_BYTES):
    """The SequenceTagger or SequenceClassifier saved in file.

    The file is untrusted input: its metadata is read and checked first, then each array's
    header against the shapes the metadata implies, and only then the arrays' data.

    Arguments:
    file -- a path or a binary file object, as written by save
    max_bytes -- the most bytes of arrays to read (1 GiB by default)

    Returns:
    model -- the fitted model

    Raises ModelFileError (a ValueError), naming the field or array, for a damaged or
    tampered file, a file that is not a crnn model, or a file saved by another crnn version.
    """
    name = _model_file.describe(file)
    made = []

    def check(metadata):
        model, expected = _model_of(metadata, name)
        made.append(model)
        return expected

    _, arrays = _model_file.read(file, check, max_bytes)
    for key, arr in arrays.items():
        if not np.isfinite(arr).all():
            raise ModelFileError(f"{name}: the array {key!r} holds non-finite values")
    model = made[0]
    model.parameters_ = arrays
    return model
