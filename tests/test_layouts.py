"""Every memory order of x and da gives the reference's results, and leaves them untouched.

The kernels of every cell read the course's C-ordered x in place (BLAS transposed) and da
with its own strides; other orders are converted once. Each case below takes another path.
"""

import numpy as np
import pytest
from conftest import course

import crnn
from crnn import reference
from crnn.testing import assert_close

SHAPE = (4, 6, 3, 5, 7)


def _orders(arr):
    """arr in several memory orders, each with the same values."""
    return {
        "C": arr,
        "F": np.asfortranarray(arr),
        "time-major": arr.transpose(2, 0, 1).copy().transpose(1, 2, 0),
        "batch-last": arr.transpose(2, 0, 1).copy(order="F").transpose(1, 2, 0),
        "reversed": arr[::-1, ::-1, ::-1].copy()[::-1, ::-1, ::-1],
    }


@pytest.mark.parametrize("order", list(_orders(np.zeros((1, 1, 1)))))
def test_memory_orders_of_x_and_da(cell, order, dtype):
    x, a0, parameters, da = cell.problem(*SHAPE, dtype=dtype, seed=3)
    outputs_ref, want = cell.course_pass(reference, x, a0, parameters, da)
    xo, dao = _orders(x)[order], _orders(da)[order]
    before = xo.copy(), dao.copy()
    outputs, got = cell.course_pass(crnn, xo, a0, parameters, dao)
    for name, ref in outputs_ref.items():
        assert_close(outputs[name], ref, dtype, name)
    for key in want:
        assert_close(got[key], want[key], dtype, f"crnn caches: {key}")
    # the course's caches in crnn's backward
    *_, caches_ref = course(cell, reference, "forward")(x, a0, parameters, **cell.options)
    got = course(cell, crnn, "backward")(dao, caches_ref)
    for key in want:
        assert_close(got[key], want[key], dtype, f"course caches: {key}")
    np.testing.assert_array_equal(xo, before[0])
    np.testing.assert_array_equal(dao, before[1])
