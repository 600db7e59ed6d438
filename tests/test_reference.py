"""Every cell of the registry against crnn.reference, the course's plain-numpy code: the
sequence and the cell functions over the shapes that each cell's own tests used (sizes
1, odd sizes, m = 1, T_x = 1, random sizes), in float64 and float32, with the caches of
either in the other's backward. What is one cell's own (the LSTM's c0, the relu's signs,
each cell's kernel thresholds) stays in that cell's file."""

import numpy as np
import pytest
from conftest import assert_sequence_matches_reference, course, course_cell_forward, grad_keys

import crnn
from crnn import reference
from crnn.testing import assert_close


def _unique(shapes):
    return list(dict.fromkeys(shapes))


def _random_shapes(count, seed=1234):
    rng = np.random.default_rng(seed)
    shapes = rng.integers(1, 24, size=(count, 5))
    shapes[:, 4] = rng.integers(1, 16, size=count)  # T_x
    return [tuple(int(v) for v in s) for s in shapes]


# (n_x, n_a, n_y, m, T_x): all ones, the course's sizes, odd sizes, m = 1, T_x = 1
EDGE_SHAPES = _unique(
    [
        (1, 1, 1, 1, 1),
        (3, 5, 2, 10, 4),
        (7, 3, 4, 1, 9),
        (2, 9, 3, 5, 1),
        (13, 17, 11, 7, 5),
        (1, 31, 2, 3, 12),
        (40, 8, 1, 2, 6),  # the RNN's
        (3, 5, 2, 4, 6),
        (7, 16, 3, 9, 13),
        (4, 32, 5, 1, 30),  # the GRU's
        (8, 32, 4, 6, 40),  # the relu RNN's
        (1, 7, 3, 1, 5),
        (5, 1, 1, 3, 1),
        (2, 3, 5, 1, 1),
        (9, 13, 7, 11, 3),
        (16, 32, 8, 4, 12),
    ]
)
_rng = np.random.default_rng(1234)
#: the LSTM's random shapes
SMALL_RANDOM_SHAPES = [
    tuple(int(v) for v in _rng.integers(1, [12, 12, 6, 9, 9])) for _ in range(30)
]
#: the RNN's random shapes, checked in one loop a dtype
RANDOM_SHAPES = _random_shapes(300)
#: the cell functions' (one step): the RNN's and the LSTM's, and the GRU's
STEP_SHAPES = _unique(
    EDGE_SHAPES[:7] + EDGE_SHAPES[11:] + SMALL_RANDOM_SHAPES[:10] + [(4, 6, 3, 5, 1)]
)


def _ids(shape):
    return "x".join(map(str, shape))


@pytest.mark.parametrize("shape", _unique(EDGE_SHAPES + SMALL_RANDOM_SHAPES), ids=_ids)
def test_the_sequence_functions_agree_with_the_reference(cell, shape, dtype):
    (x, a0, parameters, da), caches, ref_caches, want = assert_sequence_matches_reference(
        cell, shape, dtype, seed=sum(shape)
    )
    backward = course(cell, crnn, "backward")
    ref_backward = course(cell, reference, "backward")
    # the caches interoperate both ways
    for key, got in backward(da, ref_caches).items():
        assert_close(got, want[key], dtype, f"crnn's backward, the course's caches: {key}")
    for key, got in ref_backward(da, caches).items():
        assert_close(got, want[key], dtype, f"the course's backward, crnn's caches: {key}")
    # a da of fewer steps uses the first caches
    T = max(1, shape[4] // 2)
    short, want_short = backward(da[:, :, :T], caches), ref_backward(da[:, :, :T], ref_caches)
    assert list(short) == list(want_short)
    for key in want_short:
        assert_close(short[key], want_short[key], dtype, f"{T} steps of da: {key}")


def test_the_sequence_functions_agree_with_the_reference_on_random_shapes(cell, dtype):
    for i, shape in enumerate(RANDOM_SHAPES):
        try:
            assert_sequence_matches_reference(cell, shape, dtype, seed=i)
        except AssertionError as exc:
            raise AssertionError(f"shape {shape}: {exc}") from None


@pytest.mark.parametrize("shape", STEP_SHAPES, ids=_ids)
def test_the_cell_functions_agree_with_the_reference(cell, shape, dtype):
    x, a0, parameters, da = cell.problem(*shape, dtype=dtype, seed=sum(shape))
    xt, da_next = x[:, :, 0], da[:, :, 0]
    c_prev = dc_next = None
    if cell.name == "lstm":  # a cell state of its own, and an upstream gradient of it
        c_prev = (0.5 * np.random.default_rng(sum(shape) + 1).standard_normal(a0.shape)).astype(
            dtype
        )
        dc_next = 0.3 * c_prev[:, ::-1]
    fast = course_cell_forward(cell, crnn, xt, a0, c_prev, parameters)
    slow = course_cell_forward(cell, reference, xt, a0, c_prev, parameters)
    for k, (got, want) in enumerate(zip(fast[:-1], slow[:-1], strict=True)):
        assert got.dtype == dtype, f"output {k}"
        assert_close(got, want, dtype, f"output {k}")
    for k, (got, want) in enumerate(zip(fast[-1][:-1], slow[-1][:-1], strict=True)):
        assert_close(got, want, dtype, f"cache[{k}]")

    def cell_backward(module, cache):
        backward = course(cell, module, "cell_backward")
        if cell.name == "lstm":
            return backward(da_next, dc_next, cache)
        return backward(da_next, cache)

    want = cell_backward(reference, slow[-1])
    assert list(want) == grad_keys(cell, step=True)
    for cache in (fast[-1], slow[-1]):  # crnn's cache and the course's
        grads = cell_backward(crnn, cache)
        assert list(grads) == list(want)
        for key in want:
            assert grads[key].dtype == dtype, key
            assert_close(grads[key], want[key], dtype, key)
