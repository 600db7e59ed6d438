"""The course's caches, shared by the RNN and LSTM wrappers.

A cell cache is the tuple a cell forward returns: its arrays, then the parameters dict.
A sequence's caches are ``(list of cell caches, x)``. The helpers here check their form
(a wrong one gets a clear exception, never a segfault), stack foreign caches for the
kernels, and let a backward pass reuse the buffers of crnn's own forward pass.
"""

import operator

import numpy as np

from crnn._validate import (
    BLAS_INT_MAX,
    as_array,
    check_blas_sizes,
    compute_dtype,
    expect_ndim,
    mismatch,
)


class ForwardCaches(list):
    """The list of cell caches made by a crnn forward pass; a plain list to its users.

    It remembers the kernels' buffers whose views its caches hold, so that the
    backward pass can hand the kernel every step without stacking, as long as the list
    still holds exactly the caches it was made with.
    """

    __slots__ = ("buffers", "made", "lengths", "reverse", "sorted")

    def __init__(self, caches, *buffers):
        super().__init__(caches)
        self.buffers = buffers
        self.made = tuple(caches)
        # the lengths and direction of the pass, for a backward pass handed these caches
        # in a tuple rebuilt without its marks
        self.lengths, self.reverse = None, False
        # the buffers of the batch as the engine ran it, sorted by length (see
        # crnn._cellspec.Buffers.sorted), or None
        self.sorted = None

    def intact(self):
        made = self.made
        # map, not a generator expression: this runs on every backward pass, however small
        return len(self) == len(made) and all(map(operator.is_, self, made))


class SequenceCaches(tuple):
    """The (list of cell caches, x) of a sequence forward pass run with lengths or in
    reverse: a tuple marked with them, so that the backward pass runs the same steps."""

    def __new__(cls, cell_caches, x, lengths, reverse):
        self = super().__new__(cls, (cell_caches, x))
        self.lengths, self.reverse = lengths, reverse
        return self

    def __reduce__(self):
        return SequenceCaches, (self[0], self[1], self.lengths, self.reverse)


def sequence_caches(cell_caches, x, lengths=None, reverse=False, sorted_run=None):
    """The caches of a sequence forward pass: the course's (cell caches, x), marked with
    lengths and reverse when it ran with them (``SequenceCaches``); sorted_run, the
    engine's sorted run of an unsorted batch, is kept with the list."""
    if lengths is None and not reverse:
        return (cell_caches, x)
    cell_caches.lengths, cell_caches.reverse = lengths, reverse
    cell_caches.sorted = sorted_run
    return SequenceCaches(cell_caches, x, lengths, reverse)


def states_before(states, initial, reverse=False):
    """The state before each step, as the course's caches hold it: the state of the step
    before (after, with reverse), and initial before the first step."""
    if not states:
        return []
    if reverse:
        return [*states[1:], initial]
    return [initial, *states[:-1]]


#: The activations of the vanilla RNN.
ACTIVATIONS = ("tanh", "relu")


class ReluCache(tuple):
    """The cache of a relu RNN step: the course's (a_next, a_prev, xt, parameters), a
    tuple marked so that the backward pass knows its activation (unmarked: tanh)."""

    __slots__ = ()
    activation = "relu"


def check_activation(activation):
    """True for "relu", False for "tanh"; ValueError naming the argument otherwise."""
    if activation not in ACTIVATIONS:
        raise ValueError(f'activation must be "tanh" or "relu", got {activation!r}')
    return activation == "relu"


def cache_is_relu(cache, name):
    """Whether a cell cache is a relu RNN's, from the activation it is marked with."""
    if type(cache) is tuple:
        return False  # unmarked: tanh, the common case, without a failing attribute lookup
    activation = getattr(cache, "activation", "tanh")
    if activation not in ACTIVATIONS:
        raise ValueError(f'{name} is marked with activation {activation!r}, not "tanh" or "relu"')
    return activation == "relu"


def forward_buffers(cell_caches):
    """The buffers behind cell_caches if crnn's forward made them and they are intact, else None."""
    if type(cell_caches) is ForwardCaches and cell_caches.intact():
        return cell_caches.buffers
    return None


class CellCache:
    """The form of one cell cache: the names of its fields, the last being "parameters".

    Every field but "xt" and "parameters" is an (n_a, m) array; "xt" is (n_x, m).
    """

    def __init__(self, fields, maker):
        self.fields = fields
        self.maker = maker
        self.xt = fields.index("xt")

    def check(self, cache, name):
        """cache itself if it is a tuple (or list) of the right length, else an error naming it."""
        if isinstance(cache, (tuple, list)) and len(cache) == len(self.fields):
            return cache  # the common case, without building the message
        form = f"{name} must be the cache tuple ({', '.join(self.fields)}) of {self.maker}"
        if not isinstance(cache, (tuple, list)):
            raise TypeError(f"{form}, got {type(cache).__name__}")
        raise ValueError(f"{form}, got a {type(cache).__name__} of length {len(cache)}")

    def field(self, cache, name, index):
        """cache[index] as a real array, named like "cache[2] (xt)"."""
        value = cache[index]
        if type(value) is np.ndarray and value.dtype.kind in "biuf":
            return value  # the common case, without building the name
        return as_array(f"{name}[{index}] ({self.fields[index]})", value)

    def da_next(self, cache, da_next):
        """da_next as a real array, checked against the a_next of cache (checked by form)."""
        self.check(cache, "cache")
        da_next = as_array("da_next", da_next)
        expect_ndim("da_next", da_next, "(n_a, m)")
        a_next = self.field(cache, "cache", 0)
        if a_next.shape != da_next.shape:
            raise mismatch(
                "da_next",
                da_next,
                "cache[0] (a_next)",
                a_next,
                "da_next must have the shape of a_next",
            )
        return da_next

    def initial_state(self, cache, name, index, n_a, m):
        """cache[index], a state before the first step, as a real array of shape (n_a, m)."""
        arr = self.field(cache, name, index)
        if arr.shape != (n_a, m):
            label = f"{name}[{index}] ({self.fields[index]})"
            raise ValueError(f"{label} must have shape {(n_a, m)}, got {arr.shape}")
        return arr

    def first_step(self, cell_caches, da):
        """The xt of the first of cell_caches, after checking da against that cache.

        da (n_a, m, T_x) must have the n_a and m of the first a_next, and at most as many
        steps as there are caches; n_x, read from xt, must fit BLAS.
        """
        first = self.check(cell_caches[0], "caches[0][0]")
        a_next0 = self.field(first, "caches[0][0]", 0)
        expect_ndim("caches[0][0][0] (a_next)", a_next0, "(n_a, m)")
        xt0 = self.xt_of(first, "caches[0][0]")
        n_a, m, T = da.shape
        held = (*a_next0.shape, len(cell_caches))
        if a_next0.shape != (n_a, m) or T > len(cell_caches):
            raise ValueError(
                f"da has shape {da.shape} but the states in caches have shape {held}: da must "
                f"have their n_a and m, and at most their {len(cell_caches)} steps"
            )
        if xt0.shape[0] > BLAS_INT_MAX:
            check_blas_sizes(f"caches[0][0][{self.xt}] (xt)", xt0, n_x=xt0.shape[0])
        return xt0

    def xt_of(self, cache, name):
        """The xt of a checked cache, as a 2-D real array (its n_x sizes the pass)."""
        xt = self.field(cache, name, self.xt)
        if xt.ndim != 2:
            expect_ndim(f"{name}[{self.xt}] (xt)", xt, "(n_x, m)")
        return xt

    def arrays(self, cache, name, n_a, m, n_x, da_name):
        """Every array of cache (all fields but parameters), checked against n_a, m and n_x."""
        self.check(cache, name)
        arrays = [self.field(cache, name, k) for k in range(len(self.fields) - 1)]
        for k, arr in enumerate(arrays):
            label = f"{name}[{k}] ({self.fields[k]})"
            if k == self.xt:
                if arr.shape != (n_x, m):
                    raise ValueError(f"{label} must have shape ({n_x}, {m}), got {arr.shape}")
            elif arr.shape != (n_a, m):
                raise ValueError(
                    f"{da_name} has n_a = {n_a} and m = {m}, but {label} has shape "
                    f"{arr.shape}; {da_name} and the caches must come from the same forward pass"
                )
        return arrays


def backward_inputs(da, caches, forward):
    """Check the form of a sequence backward pass's arguments.

    Arguments:
    da -- the upstream gradient, (n_a, m, T_x) with T_x at most the number of caches
    caches -- the (list of cell caches, x) tuple
    forward -- the name of the function that makes caches, for the messages

    Returns:
    da -- as a real 3-D array whose sizes fit BLAS
    cell_caches -- the list of cell caches (not yet checked one by one)
    x -- the second item of caches, unchecked
    """
    if not isinstance(caches, (tuple, list)) or len(caches) != 2:
        raise TypeError(
            f"caches must be the (list of cell caches, x) tuple returned by {forward}, "
            f"got {type(caches).__name__}"
            + (f" of length {len(caches)}" if isinstance(caches, (tuple, list)) else "")
        )
    cell_caches, x = caches
    if not isinstance(cell_caches, (list, tuple)):
        raise TypeError(
            f"caches[0] must be the list of cell caches, got {type(cell_caches).__name__}"
        )
    da = as_array("da", da)
    expect_ndim("da", da, "(n_a, m, T_x)")
    n_a, m, T = da.shape
    if max(n_a, m, T, m * T, n_a * T) > BLAS_INT_MAX:  # the names of the message only when needed
        check_blas_sizes("da", da, n_a=n_a, m=m, T_x=T, **{"m*T_x": m * T, "n_a*T_x": n_a * T})
    return da, cell_caches, x


def no_steps(da, x):
    """n_x and the dtype of the zero gradients of a backward pass over an empty list of caches.

    Raises ValueError if da has steps: the caches hold none.
    """
    T = da.shape[2]
    if T:
        raise ValueError(f"da has shape {da.shape}, T_x = {T} steps, but caches hold none")
    xs = as_array("caches[1] (x)", x)
    expect_ndim("caches[1] (x)", xs, "(n_x, m, T_x)")
    n_x = xs.shape[0]
    check_blas_sizes("caches[1] (x)", xs, n_x=n_x)
    return n_x, compute_dtype(da, xs)


def stack_steps(blocks, dtype):
    """The (n, m) block of every step, stacked into one (n, m, T) array of dtype in the
    kernels' layout (see crnn._arrays)."""
    # stacking the transposes (m, n) along axis 1 gives a C-ordered (m, T, n):
    # transposed, the (n, m, T) the kernels want, in one copy
    return np.stack([block.T for block in blocks], axis=1, dtype=dtype).transpose(2, 0, 1)


def first_cache(caches):
    """The first cell cache of a sequence's caches, if they have the course's form and
    one; else None (the backward pass then names what is wrong)."""
    if isinstance(caches, (tuple, list)) and len(caches) == 2:
        cell_caches = caches[0]
        if isinstance(cell_caches, (tuple, list)) and cell_caches:
            return cell_caches[0]
    return None
