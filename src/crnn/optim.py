"""Optimizers, gradient clipping and initialisers, on the course's parameter dicts.

An optimizer's ``step(parameters, gradients)`` updates every array of ``parameters``
in place from ``gradients["d" + name]``, the dict ``crnn.rnn_loss_and_grads`` returns.
The update rules are the course's ("Improving Deep Neural Networks", week 2): momentum
is an exponential average of the gradients, and Adam corrects both averages' bias.
"""

import numpy as np
import scipy.linalg

from crnn._validate import as_array
from crnn.cells import model_shapes

__all__ = [
    "FlatArrays",
    "SGD",
    "Adam",
    "Adagrad",
    "OPTIMIZERS",
    "make_optimizer",
    "clip",
    "clip_by_global_norm",
    "initialize_parameters",
]


class FlatArrays(dict):
    """A dict of arrays that are views of one 1-D buffer, ``flat``, in the dict's order:
    an optimizer updates them, and clipping scales them, in one pass over the buffer.

    Arguments:
    arrays -- dict name -> array, copied into the buffer (of their common dtype)
    """

    def __init__(self, arrays):
        arrays = {k: np.asarray(v) for k, v in arrays.items()}
        self.flat = np.empty(sum(a.size for a in arrays.values()), np.result_type(*arrays.values()))
        at = 0
        for key, arr in arrays.items():
            self[key] = self.flat[at : at + arr.size].reshape(arr.shape)
            self[key][...] = arr
            at += arr.size

    def load(self, arrays):
        """Copy arrays[key] into each view (arrays of the views' shapes); returns self."""
        for key, view in self.items():
            view[...] = arrays[key]
        return self


def _flat_pair(parameters, gradients):
    """Whether parameters and gradients are FlatArrays of one layout, gradient "d" + key
    beside each parameter key."""
    return (
        type(parameters) is FlatArrays
        and type(gradients) is FlatArrays
        and list(gradients) == ["d" + k for k in parameters]
        and parameters.flat.shape == gradients.flat.shape
        and all(gradients["d" + k].shape == v.shape for k, v in parameters.items())
    )


class _Optimizer:
    """Shared by the optimizers: the per-parameter loop, checks and state."""

    #: the names of the state arrays it keeps per parameter
    slots: tuple[str, ...] = ()

    def __init__(self, learning_rate):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
        self.learning_rate = learning_rate
        #: name -> dict of state arrays shaped like the parameter
        self.state = {}
        #: the number of steps taken
        self.t = 0
        # with FlatArrays: slot -> 1-D buffer whose views are the state's arrays
        self._flat = {}

    def _slots(self, key, param, names):
        slots = self.state.get(key)
        if names and (slots is None or slots[names[0]].shape != param.shape):
            slots = self.state[key] = {n: np.zeros_like(param) for n in names}
        return slots or {}

    def _flat_slots(self, parameters):
        """The state as 1-D buffers of parameters' layout, the state's arrays their views
        (made, or filled from the state held, once)."""
        names = self.slots
        ready = all(
            name in self._flat
            and self._flat[name].shape == parameters.flat.shape
            and all(
                key in self.state and self.state[key][name].base is self._flat[name]
                for key in parameters
            )
            for name in names
        )
        if not ready:
            self._flat = {name: np.zeros_like(parameters.flat) for name in names}
            at = 0
            for key, param in parameters.items():
                held = self.state.get(key)
                views = {}
                for name in names:
                    view = self._flat[name][at : at + param.size].reshape(param.shape)
                    if held is not None and held[name].shape == param.shape:
                        view[...] = held[name]
                    views[name] = view
                self.state[key] = views
                at += param.size
        return self._flat

    def step(self, parameters, gradients):
        """Update every parameter in place.

        Arguments:
        parameters -- dict name -> float array, updated in place
        gradients -- dict holding "d" + name for every name in parameters

        Returns:
        parameters -- the same dict
        """
        self.t += 1
        if _flat_pair(parameters, gradients):
            self._rule(parameters.flat, gradients.flat, self._flat_slots(parameters))
            return parameters
        for key, param in parameters.items():
            if not (isinstance(param, np.ndarray) and param.dtype.kind == "f"):
                raise TypeError(
                    f'parameters["{key}"] must be a float numpy array to be updated in place, '
                    f"got {getattr(param, 'dtype', type(param).__name__)}"
                )
            grad = as_array(f'gradients["d{key}"]', gradients["d" + key])
            if grad.shape != param.shape:
                raise ValueError(
                    f'gradients["d{key}"] has shape {grad.shape} but parameters["{key}"] has '
                    f"shape {param.shape}"
                )
            self._rule(param, grad, self._slots(key, param, self.slots))
        return parameters


class SGD(_Optimizer):
    """Gradient descent, with the course's momentum: v = β·v + (1-β)·g;  W -= lr·v.

    Arguments:
    learning_rate -- the step size
    momentum -- β in [0, 1); 0 is plain gradient descent, W -= lr·g
    """

    def __init__(self, learning_rate=0.01, momentum=0.0):
        super().__init__(learning_rate)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = momentum

    @property
    def slots(self):
        """The names of the state arrays it keeps per parameter."""
        return ("v",) if self.momentum else ()

    def _rule(self, param, grad, slots):
        if self.momentum:
            v = slots["v"]
            v *= self.momentum
            v += (1 - self.momentum) * grad
            grad = v
        param -= self.learning_rate * grad


class Adam(_Optimizer):
    """Adam: v = β1·v + (1-β1)·g;  s = β2·s + (1-β2)·g²;  W -= lr·v̂ / (sqrt(ŝ) + ε),
    with v̂ = v / (1-β1^t) and ŝ = s / (1-β2^t).
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(learning_rate)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    slots = ("v", "s")

    def _rule(self, param, grad, slots):
        v, s = slots["v"], slots["s"]
        v *= self.beta1
        v += (1 - self.beta1) * grad
        s *= self.beta2
        s += (1 - self.beta2) * np.square(grad)
        v_hat = v / (1 - self.beta1**self.t)
        s_hat = s / (1 - self.beta2**self.t)
        param -= self.learning_rate * v_hat / (np.sqrt(s_hat) + self.epsilon)


class Adagrad(_Optimizer):
    """Adagrad: G += g²;  W -= lr·g / (sqrt(G) + ε)."""

    def __init__(self, learning_rate=0.01, epsilon=1e-8):
        super().__init__(learning_rate)
        self.epsilon = epsilon

    slots = ("G",)

    def _rule(self, param, grad, slots):
        G = slots["G"]
        G += np.square(grad)
        param -= self.learning_rate * grad / (np.sqrt(G) + self.epsilon)


#: The optimizers by the name the models take.
OPTIMIZERS = {"sgd": SGD, "momentum": SGD, "adam": Adam, "adagrad": Adagrad}


def make_optimizer(name, learning_rate):
    """A new optimizer by name ("sgd", "momentum" (β = 0.9), "adam", "adagrad")."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    if name == "momentum":
        return SGD(learning_rate, momentum=0.9)
    return OPTIMIZERS[name](learning_rate)


def clip(gradients, maxValue):
    """The course's clipping: every gradient's entries into [-maxValue, maxValue], in place.

    Arguments:
    gradients -- dict of gradient arrays (e.g. "dWaa", "dWax", "dWya", "db", "dby")
    maxValue -- the bound

    Returns:
    gradients -- the same dict, its arrays clipped
    """
    arrays = [gradients.flat] if type(gradients) is FlatArrays else gradients.values()
    for gradient in arrays:
        np.clip(gradient, -maxValue, maxValue, out=gradient)
    return gradients


def clip_by_global_norm(gradients, max_norm, keys=None):
    """Scale the gradients in place so that their joint L2 norm is at most max_norm.

    Arguments:
    gradients -- dict of gradient arrays
    max_norm -- the bound on sqrt(sum of every squared entry)
    keys -- the entries to norm and scale; all of them when None (pass the parameters'
            "d" + name to leave "da0" and "dx" out)

    Returns:
    norm -- the global norm before clipping, a Python float
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm!r}")
    arrays = [
        as_array(f'gradients["{k}"]', gradients[k]) for k in (gradients if keys is None else keys)
    ]
    for k, g in zip(gradients if keys is None else keys, arrays):
        if g.dtype.kind != "f" or not g.flags.writeable:
            raise TypeError(
                f'gradients["{k}"] must be a writable float array to be scaled in place, '
                f"got {g.dtype}"
            )
    if type(gradients) is FlatArrays and (keys is None or list(keys) == list(gradients)):
        arrays = [gradients.flat]  # the same entries, in one pass
    # einsum's own loop, not a BLAS dot: numpy's BLAS threads would spin beside crnn's
    norm = float(np.sqrt(sum(float(np.einsum("i,i->", g.ravel(), g.ravel())) for g in arrays)))
    if norm > max_norm:
        for g in arrays:
            g *= max_norm / norm
    return norm


def _orthogonal(n, rng):
    """A random n×n orthogonal matrix, uniform over the group (QR with the signs fixed)."""
    # scipy's LAPACK, on the BLAS of crnn's kernels: numpy's would wake a second pool
    q, r = scipy.linalg.qr(rng.standard_normal((n, n)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def _glorot(shape, rng):
    limit = np.sqrt(6.0 / (shape[0] + shape[1])) if sum(shape) else 0.0
    return rng.uniform(-limit, limit, shape)


def initialize_parameters(
    n_x, n_a, n_y, cell="rnn", method="normal", seed=None, dtype=np.float64, scale=0.01, **options
):
    """Initial parameters of a cell and its output layer.

    Arguments:
    n_x, n_a, n_y -- the course's sizes
    cell -- "rnn" (or another name in crnn.cells.CELLS)
    method -- "normal": the course's small random weights, standard normal times scale,
              and zero biases; "glorot": Glorot-uniform input and output weights,
              orthogonal recurrent weights, zero biases
    seed -- int or numpy.random.Generator
    dtype -- dtype of every array
    scale -- the standard deviation of "normal"
    options -- the cell's own (see crnn.cells.get_cell): reset_after=True for the GRU in
               PyTorch's convention

    Returns:
    parameters -- dict of the cell's parameters plus its output weight and "by"
    """
    if method not in ("normal", "glorot"):
        raise ValueError(f'method must be "normal" or "glorot", got {method!r}')
    rng = np.random.default_rng(seed)
    parameters = {}
    for key, (shape, blocks) in model_shapes(cell, n_x, n_a, n_y, **options).items():
        arr = np.zeros(shape)
        for role, lo, hi in blocks:
            block = (shape[0], hi - lo)
            if role == "bias":
                continue
            if method == "normal":
                arr[:, lo:hi] = rng.standard_normal(block) * scale
            elif role == "recurrent":
                arr[:, lo:hi] = _orthogonal(n_a, rng)
            else:
                arr[:, lo:hi] = _glorot(block, rng)
        parameters[key] = arr.astype(dtype)
    return parameters
