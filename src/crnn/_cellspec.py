"""The cell specs: what the engine and the course functions know of each cell.

A spec names a cell's parameters and says how they pack into the engine's weight
``W = [Wa | Wx]`` (G·n_a rows, n_a + n_x columns, C-ordered, the recurrent columns
first) and bias ``b`` (G·n_a), G being the cell's gates. Each gate has one weight over
``[a_prev; xt]`` (the LSTM's ``Wf``, the GRU's ``Wu``), or a recurrent and an input weight
kept apart (the RNN's ``Waa`` and ``Wax``, the reset-after GRU's ``Wca`` and ``Wcx``).

From that one description a spec

- validates a course call once, into the normal form the kernels trust (``Form``), with
  messages that name the argument, the expected and the received shape;
- hands the common form to the engine's recogniser in C (``_engine.common_forward``);
- runs the engine forward (``forward``) and backward (``backward``) in that form;
- reads a backward pass's arrays from crnn's buffers or from any list of course caches
  (``sequence``), and names the gradients (``gradients``).

The course modules (``crnn.rnn``, ``crnn.lstm``, ``crnn.gru``) keep what is the course's
own: signatures, cache tuples and gradient dicts.
"""

from typing import NamedTuple

import numpy as np

from crnn import _arrays, _engine
from crnn._caches import (
    ForwardCaches,
    SequenceCaches,
    backward_inputs,
    forward_buffers,
    no_steps,
    stack_steps,
)
from crnn._validate import (
    BLAS_INT_MAX,
    as_array,
    bias,
    check_blas_sizes,
    check_parameters,
    compute_dtype,
    expect_ndim,
    mismatch,
    weight,
)


class Gate(NamedTuple):
    """One gate's parameters: ``weight`` over [a_prev; xt] (n_a, n_a+n_x), or, when
    ``input`` names the input part (n_a, n_x), the recurrent part (n_a, n_a); and its
    bias (n_a, 1)."""

    weight: str
    bias: str
    input: str | None = None


class Names(NamedTuple):
    """The names of a forward call's arguments, for the messages."""

    x: str
    a: str
    c: str


#: The arguments of a sequence's forward, and of one step's.
SEQUENCE = Names("x", "a0", "c0")
STEP = Names("xt", "a_prev", "c_prev")


class Form(NamedTuple):
    """A forward call in the kernels' normal form: sizes, the compute dtype, and every
    array of that dtype in a layout the kernels read in place."""

    n_x: int
    n_a: int
    n_y: int
    m: int
    T: int
    dtype: np.dtype
    x: np.ndarray  # (n_x, m·T), C-ordered: the course's x reshaped
    a0: np.ndarray  # (n_a, m), Fortran-ordered
    c0: np.ndarray | None  # the LSTM's (n_a, m), Fortran-ordered
    W: np.ndarray  # (G·n_a, n_a+n_x), C-ordered, packed
    b: np.ndarray  # (G·n_a)
    bca: np.ndarray | None  # the reset-after GRU's (n_a)
    Wy: np.ndarray  # (n_y, n_a), C- or Fortran-ordered
    by: np.ndarray  # (n_y)


class Buffers(NamedTuple):
    """What a forward pass fills, each (n, m, T) in the kernels' layout: the states a and
    outputs y of every step, then the cell's own: gates (None for the RNN, whose gate is
    its state), aux (the GRU's), c and the c0 it started from (the LSTM's)."""

    a: np.ndarray
    y: np.ndarray
    gates: np.ndarray | None
    aux: np.ndarray | None
    c: np.ndarray | None
    c0: np.ndarray | None
    lengths: np.ndarray | None = None  # the checked lengths it ran with
    # for a batch the engine ran sorted by length: (the order, that run's Buffers, the
    # Form it ran), so that the backward pass starts from them, not from copies
    sorted: tuple | None = None


def _buffers(fields):
    """Buffers of the common case's seven fields, made at C speed."""
    return tuple.__new__(Buffers, (*fields, None))


class Sequence(NamedTuple):
    """What a backward pass reads of the first T steps, each (n, m, T) unless said: the
    states a, the state a0 before step 0 (n_a, m), the states before every step (None:
    a0, then a shifted by one step), the gates, aux, the cell states c, c0 and c_prev
    (likewise), and the inputs x (n_x, m, T); None where the cell has none."""

    a: np.ndarray
    a0: np.ndarray
    a_prev: np.ndarray | None
    gates: np.ndarray | None
    aux: np.ndarray | None
    c: np.ndarray | None
    c0: np.ndarray | None
    c_prev: np.ndarray | None
    x: np.ndarray


def _blas_matrix(arr, dtype):
    """arr itself if BLAS reads it in place (aligned, of dtype, C- or Fortran-ordered),
    else a C-ordered copy."""
    if (
        arr.dtype == dtype
        and arr.flags.aligned
        and (arr.flags.c_contiguous or arr.flags.f_contiguous)
    ):
        return arr
    return np.require(arr, dtype, ("C", "A"))


def check_lengths(lengths, m, T):
    """lengths as a 1-D intp array of m steps, each in 1..T; errors name the argument.

    The steps t >= lengths[j] of example j keep its state: see the course modules.
    """
    arr = lengths if isinstance(lengths, np.ndarray) else np.asarray(lengths)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"lengths must hold integers, got dtype {arr.dtype}")
    if arr.shape != (m,):
        raise ValueError(
            f"lengths must be 1-D with one length per example, m = {m}, got shape {arr.shape}"
        )
    if m and (arr.min() < 1 or arr.max() > T):
        bad = arr[(arr < 1) | (arr > T)]
        raise ValueError(f"lengths must be in 1..T_x = 1..{T}, got {bad[:5].tolist()}")
    return arr.astype(np.intp)


def _by_length(lengths):
    """The permutation that sorts a batch by decreasing length (stable), or None when it
    is sorted already: the engine runs the examples of a step as one block."""
    if lengths is None or np.all(lengths[:-1] >= lengths[1:]):
        return None
    return np.argsort(-lengths, kind="stable")


def _permuted(arr, order, inverse=False):
    """arr (n, m, ...) with its batch axis permuted by order (or back, with inverse), in
    arr's own memory layout (the engine reads either); None stays None."""
    if arr is None:
        return None
    out = np.empty_like(arr)
    # the scatter form of both directions: whole blocks copied, none gathered
    out[:, order if inverse else np.argsort(order)] = arr
    return out


class CellSpec:
    """A cell as the engine runs it.

    Arguments:
    name -- the prefix of its course functions ("rnn", "lstm", "gru")
    kind -- the engine's name of its time step (``_engine.KINDS``)
    gates -- its Gates, in the order of the packed weight's row blocks
    output_weight -- the key of the output layer's weight ("Wya" or "Wy")
    cache -- the form of its cell cache (``_caches.CellCache``)
    gate_fields -- the fields of the cell cache that hold the gates, in row-block order
    recurrent_bias -- the key of the reset-after GRU's candidate recurrent bias, or None
    """

    def __init__(
        self, name, kind, gates, output_weight, cache, gate_fields=(), recurrent_bias=None
    ):
        self.name = name
        self.kind = kind
        self.gates = tuple(gates)
        self.output_weight = output_weight
        self.cache = cache
        self.gate_fields = tuple(gate_fields)
        self.recurrent_bias = recurrent_bias
        self._kind = _engine.KINDS[kind]
        #: the keys as _engine.common_forward reads them
        self.common = (
            self._kind,
            tuple(g.weight for g in self.gates),
            tuple(g.input for g in self.gates),
            tuple(g.bias for g in self.gates),
            recurrent_bias,
            output_weight,
            tuple(("d" + g.weight, "d" + g.bias, g.input and "d" + g.input) for g in self.gates),
            recurrent_bias and "d" + recurrent_bias,
        )
        self._rows = "n_a" if len(self.gates) == 1 else f"{len(self.gates)}*n_a"
        fields = cache.fields
        where = {
            name: (fields.index(name) if name in fields else -1)
            for name in ("a_next", "a_prev", "c_next", "c_prev", "xt")
        }
        #: where the cell cache holds its arrays, as _engine.common_step_backward reads them
        self.cache_at = (
            where["a_next"],
            where["a_prev"],
            where["c_next"],
            where["c_prev"],
            tuple(fields.index(f) for f in self.gate_fields),
            where["xt"],
            len(fields),
        )

    def __repr__(self):
        return f"CellSpec({self.name!r}, {self.kind!r})"

    # --- parameters ---------------------------------------------------------------------

    def keys(self):
        """The cell's parameters (output layer excluded), in the order of its gradients:
        gate by gate the input weight, the weight, the bias; then the recurrent bias."""
        keys = []
        for gate in self.gates:
            keys += [*((gate.input,) if gate.input else ()), gate.weight, gate.bias]
        return keys + ([self.recurrent_bias] if self.recurrent_bias else [])

    def parameter_shapes(self, n_x, n_a):
        """The cell's parameters' shapes and roles, output layer excluded, in gradient order.

        Returns:
        dict name -> (shape, blocks); blocks lists (role, first column, last column) with
        role "input", "recurrent" or "bias", the parts an initialiser fills separately
        """
        bias_shape = ((n_a, 1), [("bias", 0, 1)])
        shapes = {}
        for gate in self.gates:
            if gate.input:
                shapes[gate.input] = ((n_a, n_x), [("input", 0, n_x)])
                shapes[gate.weight] = ((n_a, n_a), [("recurrent", 0, n_a)])
            else:
                shapes[gate.weight] = (
                    (n_a, n_a + n_x),
                    [("recurrent", 0, n_a), ("input", n_a, n_a + n_x)],
                )
            shapes[gate.bias] = bias_shape
        if self.recurrent_bias:
            shapes[self.recurrent_bias] = bias_shape
        return shapes

    def weights(self, parameters, n_a, n_x, context):
        """The gates' weights of parameters, each checked against n_a and n_x: a list of
        (recurrent part or whole weight, input part or None), unconverted.

        context -- what fixed n_a and n_x, for the messages ("a0 of shape (4, 5) and x of
                   shape (3, 5, 6)", "the caches")
        """
        check_parameters(parameters)
        out = []
        for gate in self.gates:
            if gate.input is None:
                parts = [(gate.weight, "(n_a, n_a + n_x)", (n_a, n_a + n_x))]
            else:
                parts = [
                    (gate.weight, "(n_a, n_a)", (n_a, n_a)),
                    (gate.input, "(n_a, n_x)", (n_a, n_x)),
                ]
            arrays = []
            for key, form, shape in parts:
                W = weight(parameters, key, form)
                if W.shape != shape:
                    raise ValueError(
                        f'parameters["{key}"] must have shape {form} = {shape} '
                        f"for {context}, got {W.shape}"
                    )
                arrays.append(W)
            out.append((arrays[0], arrays[1] if gate.input else None))
        return out

    def pack(self, weights, dtype):
        """The packed C-ordered weight W (G·n_a, n_a+n_x) = [Wa | Wx] of dtype, from the
        (recurrent or whole, input or None) pairs of ``weights``."""
        n_a = weights[0][0].shape[0]
        cols = weights[0][0].shape[1] + (0 if weights[0][1] is None else weights[0][1].shape[1])
        W = np.empty((len(weights) * n_a, cols), dtype)
        for k, (Wk, Wx) in enumerate(weights):
            rows = W[k * n_a : (k + 1) * n_a]
            if Wx is None:
                rows[...] = Wk
            else:
                rows[:, :n_a], rows[:, n_a:] = Wk, Wx
        return W

    def biases(self, parameters, n_a):
        """The packed bias's parts, each 1-D of length n_a, and the recurrent bias or None."""
        parts = [bias(parameters, gate.bias, n_a) for gate in self.gates]
        extra = bias(parameters, self.recurrent_bias, n_a) if self.recurrent_bias else None
        return parts, extra

    def zero_gradients(self, n_x, n_a, dtype):
        """The gradient dict's "d" + key entries, all zeros."""
        return {
            "d" + key: np.zeros(shape, dtype)
            for key, (shape, _) in self.parameter_shapes(n_x, n_a).items()
        }

    # --- forward ------------------------------------------------------------------------

    def forward(
        self, x, a0, parameters, c0=None, one_step=False, lengths=None, reverse=False, output=True
    ):
        """The Buffers of a forward pass over x (n_x, m, T), or (n_x, m) with one_step,
        from a0 (and the LSTM's c0, None for zeros): the common form recognised in C,
        anything else validated here first. lengths (m steps, each in 1..T) and reverse
        as for the course modules' sequence forwards; without output, the cell alone (no
        output layer in parameters, and y has no rows)."""
        if (reverse is False or reverse is True) and (
            lengths is None or type(lengths) is np.ndarray
        ):
            fast = _engine.common_forward(
                self.common, x, a0, c0, parameters, one_step, lengths, reverse, output
            )
            if fast is not None:
                return _buffers(fast)
        if reverse not in (False, True):
            raise ValueError(f"reverse must be True or False, got {reverse!r}")
        names = STEP if one_step else SEQUENCE
        xa = as_array(names.x, x)
        expect_ndim(names.x, xa, "(n_x, m)" if one_step else "(n_x, m, T_x)")
        a0a = as_array(names.a, a0)
        c0a = None if c0 is None else as_array(names.c, c0)
        form = self.form(xa, a0a, c0a, parameters, names, output)
        if lengths is not None:
            lengths = check_lengths(lengths, form.m, form.T)
        return self.run_forward(form, lengths, bool(reverse))

    def form(self, x, a0, c0, parameters, names=SEQUENCE, output=True):
        """Validate a forward call (x (n_x, m, T) or one step's (n_x, m), a0, c0 or None,
        real arrays) into its normal form; every error names the argument. Without
        output, the parameters have no output layer, and the form's has no rows."""
        expect_ndim(names.a, a0, "(n_a, m)")
        if c0 is not None:
            expect_ndim(names.c, c0, "(n_a, m)")
        check_parameters(parameters)
        n_x, m, T = x.shape if x.ndim == 3 else (*x.shape, 1)
        if output:
            Wy = weight(parameters, self.output_weight, "(n_y, n_a)")
        else:
            Wy = np.zeros((0, a0.shape[0]), a0.dtype if a0.dtype.kind == "f" else np.float64)
        n_a, n_y = a0.shape[0], Wy.shape[0]
        if a0.shape[1] != m:
            raise mismatch(names.a, a0, names.x, x, "the batch sizes m disagree")
        if c0 is not None and c0.shape != a0.shape:
            raise mismatch(names.c, c0, names.a, a0, f"{names.c} must have the shape of {names.a}")
        weights = self.weights(
            parameters, n_a, n_x, f"{names.a} of shape {a0.shape} and {names.x} of shape {x.shape}"
        )
        if Wy.shape[1] != n_a:
            raise mismatch(
                f'parameters["{self.output_weight}"]',
                Wy,
                names.a,
                a0,
                f"{self.output_weight} must be (n_y, n_a)",
            )
        if n_y == 0 and output:
            raise ValueError(
                f'n_y must be at least 1, got parameters["{self.output_weight}"] '
                f"of shape {Wy.shape}"
            )
        biases, bca = self.biases(parameters, n_a)
        by = bias(parameters, "by", n_y) if output else np.zeros(0, Wy.dtype)
        self.check_sizes(names, x, a0, Wy, n_x, n_a, n_y, m, T)
        given = [arr for arr in (c0, bca) if arr is not None]
        dtype = compute_dtype(
            x, a0, *given, *(w for pair in weights for w in pair if w is not None), *biases, Wy, by
        )
        return Form(
            n_x,
            n_a,
            n_y,
            m,
            T,
            dtype,
            np.require(x, dtype, ("C", "A")).reshape(n_x, m * T),
            np.require(a0, dtype, ("F", "A")),
            None
            if self.kind != "lstm"
            else (
                np.zeros((n_a, m), dtype, order="F")
                if c0 is None
                else np.require(c0, dtype, ("F", "A"))
            ),
            self.pack(weights, dtype),
            np.concatenate(biases, dtype=dtype),
            None if bca is None else np.require(bca, dtype, ("C", "A")),
            _blas_matrix(Wy, dtype),
            np.require(by, dtype, ("C", "A")),
        )

    def check_sizes(self, names, x, a0, Wy, n_x, n_a, n_y, m, T):
        """ValueError, before any allocation, if a size handed to BLAS passes its 32-bit
        integers: those of x, the gates' rows and the distance between a step's columns
        in the gates of every step (rows·T)."""
        rows = len(self.gates) * n_a
        if max(n_x + n_a, rows, n_y, m * T, rows * T) <= BLAS_INT_MAX:
            return  # the common case, without building the names of the messages
        check_blas_sizes(names.x, x, n_x=n_x, m=m, T_x=T, **{"m*T_x": m * T})
        check_blas_sizes(names.a, a0, **{self._rows: rows})
        check_blas_sizes(names.x, x, **{"n_a+n_x": n_a + n_x})
        check_blas_sizes(f'parameters["{self.output_weight}"]', Wy, n_y=n_y)
        check_blas_sizes(names.a, a0, **{f"{self._rows}*T_x": rows * T})

    def run_forward(self, form, lengths=None, reverse=False):
        """The Buffers of the forward pass of a Form, with lengths (checked, or None) and
        reverse; a batch not sorted by decreasing length runs sorted, its results
        permuted back."""
        order = _by_length(lengths)
        if order is not None:
            n_x, m, T = form.n_x, form.m, form.T
            form_sorted = form._replace(
                x=_permuted(form.x.reshape(n_x, m, T), order).reshape(n_x, m * T),
                a0=np.asfortranarray(form.a0[:, order]),
                c0=None if form.c0 is None else np.asfortranarray(form.c0[:, order]),
            )
            out = self.run_forward(form_sorted, lengths[order], reverse)
            return Buffers(
                *(_permuted(arr, order, inverse=True) for arr in out[:5]),
                form.c0,
                lengths,
                (order, out, form_sorted),
            )
        n_a, n_y, m, T, dtype = form.n_a, form.n_y, form.m, form.T, form.dtype
        seq = _arrays.new_sequence
        a, y = seq(n_a, m, T, dtype), seq(n_y, m, T, dtype)
        gates = None if len(self.gates) == 1 else seq(len(self.gates) * n_a, m, T, dtype)
        aux = seq(n_a, m, T, dtype) if self.kind.startswith("gru") else None
        c = seq(n_a, m, T, dtype) if self.kind == "lstm" else None
        if m and T:
            _engine.forward_kernel(
                self._kind,
                form.x,
                form.a0,
                form.c0,
                form.W,
                form.b,
                form.bca,
                form.Wy,
                form.by,
                gates,
                aux,
                a,
                c,
                y,
                lengths,
                reverse,
            )
        return Buffers(a, y, gates, aux, c, form.c0, lengths)

    # --- backward -----------------------------------------------------------------------

    def recurrent_weights(self, parameters, dtype):
        """The reset-after GRU's Wca and bca, raveled into one new array of dtype: what
        its forward pass keeps beside Wca·a_prev + bca (None for every other cell)."""
        if not self.recurrent_bias:
            return None
        Wca = self.gates[-1].weight
        return np.concatenate(
            (np.ravel(parameters[Wca]), np.ravel(parameters[self.recurrent_bias])), dtype=dtype
        )

    def _kept_aux(self, aux, kept, parameters):
        """The forward's aux, or None (the engine then computes it) for the reset-after
        GRU whose Wca or bca has changed since the forward pass read them (kept)."""
        if self.recurrent_bias and not np.array_equal(
            kept, self.recurrent_weights(parameters, kept.dtype)
        ):
            return None
        return aux

    def sequence(self, cell_caches, T, n_a, m, n_x, parameters, reverse=False):
        """The Sequence of the first T steps (T >= 1) of cell_caches, their first cache
        checked (``CellCache.first_step``): views of crnn's buffers when crnn's forward
        made the caches and they are intact, else each cache's arrays, checked and
        stacked once. A step whose state before it is the state of the step before
        (as the course's loop makes them) needs no stacked copy of it. The GRU's aux
        comes from crnn's buffers, for reset_after while the cached parameters' Wca and
        bca are those of the forward pass; the engine makes it otherwise. With reverse,
        the state before the sequence is the last cache's a_prev, and each step's comes
        from the step after it.
        """
        cache = self.cache
        first = cell_caches[T - 1] if reverse else cell_caches[0]
        where = f"caches[0][{T - 1 if reverse else 0}]"
        fields = cache.fields
        a_prev_at = fields.index("a_prev")
        c_prev_at = fields.index("c_prev") if "c_prev" in fields else None
        buffers = forward_buffers(cell_caches)
        if buffers is not None:
            *buffers, kept = buffers
            a, gates, aux, c, x = (None if arr is None else arr[:, :, :T] for arr in buffers)
            aux = self._kept_aux(aux, kept, parameters)
            a0 = cache.initial_state(first, where, a_prev_at, n_a, m)
            c0 = None if c_prev_at is None else cache.initial_state(first, where, c_prev_at, n_a, m)
            return Sequence(a, a0, None, gates, aux, c, c0, None, x)
        steps = [
            cache.arrays(cell_caches[t], f"caches[0][{t}]", n_a, m, n_x, "da") for t in range(T)
        ]
        dtype = compute_dtype(*[arr for step in steps for arr in step])

        def stacked(field):
            return stack_steps([step[fields.index(field)] for step in steps], dtype)

        def before(field, after):
            """The states before every step, or None when each is the state of the step
            before it (after it, with reverse)."""
            k, j, d = fields.index(field), fields.index(after), 1 if reverse else -1
            steps_chained = range(T - 1) if reverse else range(1, T)
            if all(cell_caches[t][k] is cell_caches[t + d][j] for t in steps_chained):
                return None
            return stacked(field)

        gates = None
        if self.gate_fields:
            at = [fields.index(f) for f in self.gate_fields]
            gates = stack_steps([np.concatenate([step[k] for k in at]) for step in steps], dtype)
        a, a_prev = stacked("a_next"), before("a_prev", "a_next")
        c = c_prev = c0 = None
        start = steps[T - 1 if reverse else 0]
        if c_prev_at is not None:
            c, c_prev, c0 = stacked("c_next"), before("c_prev", "c_next"), start[c_prev_at]
        return Sequence(a, start[a_prev_at], a_prev, gates, None, c, c0, c_prev, stacked("xt"))

    def backward(
        self,
        da,
        seq,
        W,
        bca=None,
        dc_last=None,
        lengths=None,
        reverse=False,
        presorted=None,
        want_dx=True,
    ):
        """Run the engine backward over a Sequence with the packed weight W (and the
        reset-after GRU's recurrent bias bca, 1-D), from da
        (n_a, m, T; n_a, m, T >= 1) and the last cell state's gradient dc_last (the
        LSTM's, None for zeros); the arrays are checked real arrays whose sizes fit BLAS.

        lengths, reverse -- of the forward pass (lengths checked, or None)
        presorted -- the order that sorts the batch by length when seq is in it already
                     (the forward's sorted run), else None
        want_dx -- whether to compute dx (else it is None)

        Returns:
        dx (n_x, m, T), da0 (n_a, m), dc0 (n_a, m; None but for the LSTM), and the
        parameters' gradients by "d" + key
        """
        order = _by_length(lengths) if presorted is None else presorted
        if order is not None:
            if presorted is None:
                seq = Sequence(*(_permuted(arr, order) for arr in seq))
            dc_last = _permuted(dc_last, order)
            dx, da0, dc0, grads = self.backward(
                _permuted(da, order),
                seq,
                W,
                bca,
                dc_last,
                lengths[order],
                reverse,
                want_dx=want_dx,
            )
            return (
                _permuted(dx, order, inverse=True),
                _permuted(da0, order, inverse=True),
                _permuted(dc0, order, inverse=True),
                grads,
            )
        n_a, m, T = da.shape
        n_x = seq.x.shape[0]
        arrays = [arr for arr in (da, *seq, W, bca, dc_last) if arr is not None]
        dtype = compute_dtype(*arrays)

        def in_layout(arr):
            return None if arr is None else _arrays.as_sequence(arr, dtype)

        def fortran(arr):
            return None if arr is None else np.require(arr, dtype, ("F", "A"))

        dx = _arrays.new_sequence(n_x, m, T, dtype) if want_dx else None
        da0 = np.empty((n_a, m), dtype, order="F")
        dW = np.empty(W.shape, dtype)
        db = np.empty((W.shape[0], 1), dtype)
        dbca = np.empty((n_a, 1), dtype) if self.recurrent_bias else None
        dc0 = None
        if self.kind == "lstm":
            dc0 = (
                np.zeros((n_a, m), dtype, order="F")
                if dc_last is None
                else np.array(dc_last, dtype, order="F")
            )
        _engine.backward_kernel(
            self._kind,
            da,
            in_layout(seq.gates),
            in_layout(seq.aux),
            in_layout(seq.a),
            in_layout(seq.c),
            fortran(seq.c0),
            in_layout(seq.c_prev),
            fortran(seq.a0),
            in_layout(seq.a_prev),
            np.require(seq.x, dtype, ("C", "A")).reshape(n_x, m * T),
            np.require(W, dtype, ("C", "A")),
            None if bca is None else np.require(bca, dtype, "C"),
            dx,
            da0,
            dc0,
            dW,
            db.reshape(-1),
            None if dbca is None else dbca.reshape(-1),
            lengths,
            reverse,
        )
        return dx, da0, dc0, _engine.gradients(self.common, dW, db, dbca)

    def check_backward_sizes(self, da_name, da, xt_name, xt, n_a, n_x, T):
        """ValueError if the gates' rows, their rows over T steps or n_a + n_x pass
        BLAS's 32-bit integers (da's own sizes are checked with da)."""
        rows = len(self.gates) * n_a
        if max(rows * T, n_a + n_x) > BLAS_INT_MAX:
            check_blas_sizes(da_name, da, **{self._rows: rows, f"{self._rows}*T_x": rows * T})
            check_blas_sizes(xt_name, xt, **{"n_a+n_x": n_a + n_x})

    def zeros(self, n_x, n_a, m, T, dtype):
        """The gradients of a backward pass in which nothing runs (n_a, m or T empty):
        dx, da0, dc0 (the LSTM's, else None) and the parameters', all zeros."""
        dc0 = np.zeros((n_a, m), dtype) if self.kind == "lstm" else None
        return (
            np.zeros((n_x, m, T), dtype),
            np.zeros((n_a, m), dtype),
            dc0,
            self.zero_gradients(n_x, n_a, dtype),
        )

    def _prepare(self, da_name, da, xt_name, xt, parameters, T):
        """The dtype of the gradients, the checked weights of the cached parameters and
        the recurrent bias (the reset-after GRU's, else None), after the size checks."""
        n_a, n_x = da.shape[0], xt.shape[0]
        weights = self.weights(parameters, n_a, n_x, "the caches")
        self.check_backward_sizes(da_name, da, xt_name, xt, n_a, n_x, T)
        bca = bias(parameters, self.recurrent_bias, n_a) if self.recurrent_bias else None
        flat = [w for pair in weights for w in pair if w is not None]
        return compute_dtype(da, xt, *flat), weights, bca

    def backward_sequence(self, da, caches, want_dx=True):
        """The gradients of the course's sequence backward pass over caches
        ((list of cell caches, x), crnn's or any course forward's): dx (None, not
        computed, without want_dx), da0, dc0 (the LSTM's, else None) and the parameters'
        by "d" + key."""
        lengths, reverse = None, False
        if type(caches) is SequenceCaches:
            lengths, reverse = caches.lengths, caches.reverse
        elif (
            isinstance(caches, (tuple, list))
            and len(caches) == 2
            and type(caches[0]) is ForwardCaches
        ):
            # a rebuilt tuple or list: the list of cell caches keeps the marks
            lengths, reverse = caches[0].lengths, caches[0].reverse
        if isinstance(caches, (tuple, list)) and len(caches) == 2:
            buffers = forward_buffers(caches[0])
            if buffers is not None and caches[0] and caches[0].sorted is None:
                # crnn's own caches: the common case first, from the cache before the
                # first step run
                first = caches[0][-1 if reverse else 0]
                c0 = None if self.cache_at[3] < 0 else first[self.cache_at[3]]
                fast = _engine.common_backward(
                    self.common,
                    da,
                    buffers,
                    first[self.cache_at[1]],
                    c0,
                    first[-1],
                    lengths,
                    reverse,
                    want_dx,
                )
                if fast is not None:
                    return fast
        da, cell_caches, x = backward_inputs(da, caches, f"{self.name}_forward")
        n_a, m, T = da.shape
        if (lengths is not None or reverse) and T != len(cell_caches):
            raise ValueError(
                f"da has shape {da.shape}, but caches made with lengths or "
                f"reverse need da for all their {len(cell_caches)} steps"
            )
        if lengths is not None:
            lengths = check_lengths(lengths, m, T)
        if not cell_caches:
            n_x, dtype = no_steps(da, x)
            return self.zeros(n_x, n_a, m, T, dtype)
        xt0 = self.cache.first_step(cell_caches, da)
        parameters = cell_caches[0][-1]
        dtype, weights, bca = self._prepare(
            "da", da, f"caches[0][0][{self.cache.xt}] (xt)", xt0, parameters, T
        )
        if 0 in da.shape:
            return self.zeros(xt0.shape[0], n_a, m, T, dtype)
        W = self.pack(weights, dtype)
        presorted = self._sorted_run(cell_caches, parameters)
        if presorted is not None:
            order, seq = presorted
            return self.backward(da, seq, W, bca, None, lengths, reverse, order, want_dx)
        seq = self.sequence(cell_caches, T, n_a, m, xt0.shape[0], parameters, reverse)
        return self.backward(da, seq, W, bca, None, lengths, reverse, want_dx=want_dx)

    def _sorted_run(self, cell_caches, parameters):
        """(the order, the Sequence in it) of the engine's sorted run of an unsorted batch,
        kept by caches of crnn's forward that are intact; else None."""
        if type(cell_caches) is not ForwardCaches or cell_caches.sorted is None:
            return None
        if not cell_caches.intact():
            return None
        order, out, form = cell_caches.sorted
        aux = self._kept_aux(out.aux, cell_caches.buffers[-1], parameters)
        x = form.x.reshape(form.n_x, form.m, form.T)
        return order, Sequence(out.a, form.a0, None, out.gates, aux, out.c, form.c0, None, x)

    def backward_step(self, da_next, cache, dc_next=None, dc_name="dc_next"):
        """The gradients of the course's cell backward pass over one cache: dxt (n_x, m),
        da_prev, dc_prev (the LSTM's, from dc_next; else None) and the parameters' by
        "d" + key."""
        fast = _engine.common_step_backward(self.common, self.cache_at, da_next, dc_next, cache)
        if fast is not None:
            return fast
        da_next = self.cache.da_next(cache, da_next)
        if self.kind == "lstm":
            dc_next = as_array(dc_name, dc_next)
            expect_ndim(dc_name, dc_next, "(n_a, m)")
            if dc_next.shape != da_next.shape:
                raise mismatch(
                    dc_name,
                    dc_next,
                    "da_next",
                    da_next,
                    f"{dc_name} must have the shape of da_next",
                )
        xt_name = f"cache[{self.cache.xt}] (xt)"
        xt = self.cache.xt_of(cache, "cache")
        n_a, m = da_next.shape
        n_x = xt.shape[0]
        check_blas_sizes("da_next", da_next, n_a=n_a, m=m)
        check_blas_sizes(xt_name, xt, n_x=n_x)
        dtype, weights, bca = self._prepare("da_next", da_next, xt_name, xt, cache[-1], 1)
        self.cache.arrays(cache, "cache", n_a, m, n_x, "da_next")
        if 0 in da_next.shape:
            dx, da0, dc0, grads = self.zeros(n_x, n_a, m, 1, dtype)
        else:
            W = self.pack(weights, dtype)
            seq = self.sequence([cache], 1, n_a, m, n_x, cache[-1])
            dx, da0, dc0, grads = self.backward(da_next[:, :, None], seq, W, bca, dc_next)
        return dx[:, :, 0], da0, dc0, grads
