"""The rows of VALIDATION.md for every cell of the registry (crnn.cells.variants()):
each kind of bad input gets the same clear error whatever the cell, and the dtype rules
hold for every cell. test_validation.py covers the RNN's and the LSTM's in depth."""

import numpy as np
import pytest
from conftest import course

import crnn
from crnn import reference
from crnn.testing import assert_close, assert_gradients_close

SHAPE = (3, 4, 2, 5, 6)


def _forward(cell):
    return course(cell, crnn, "forward")


def _backward(cell):
    return course(cell, crnn, "backward")


def test_parameters_not_a_mapping_is_a_type_error(cell):
    x, a0, _, _ = cell.problem(*SHAPE)
    for bad in (None, [1, 2]):
        with pytest.raises(TypeError, match="parameters must be a dict"):
            _forward(cell)(x, a0, bad, **cell.options)


def test_every_missing_key_is_a_key_error_naming_it(cell):
    x, a0, parameters, _ = cell.problem(*SHAPE)
    for key in parameters:
        partial = {k: v for k, v in parameters.items() if k != key}
        with pytest.raises(KeyError, match=key):
            _forward(cell)(x, a0, partial, **cell.options)


def test_wrong_dimensions_and_sizes_name_the_argument(cell):
    x, a0, parameters, _ = cell.problem(*SHAPE)
    forward = _forward(cell)
    with pytest.raises(
        ValueError, match=r"x must be 3-D of shape \(n_x, m, T_x\), got shape \(3, 5\)"
    ):
        forward(x[:, :, 0], a0, parameters, **cell.options)
    with pytest.raises(ValueError, match=r"a0 must be 2-D of shape \(n_a, m\)"):
        forward(x, a0[:, :, None], parameters, **cell.options)
    with pytest.raises(
        ValueError,
        match=r"the batch sizes m disagree: a0 has shape \(4, 3\) but x has shape \(3, 5, 6\)",
    ):
        forward(x, a0[:, :3], parameters, **cell.options)
    # the input weight's n_x against x's, both named with their shapes
    with pytest.raises(
        ValueError,
        match=r'parameters\["W\w+"\] .*shape \(4, [37]\).*x.* \(2, 5, 6\)|'
        r'parameters\["W\w+"\] .*x of shape \(2, 5, 6\), got \(4, [37]\)',
    ):
        forward(x[:2], a0, parameters, **cell.options)


@pytest.mark.parametrize("dtype", [np.complex128, np.str_, object, "datetime64[s]"])
def test_non_real_dtypes_are_type_errors_naming_the_argument(cell, dtype):
    x, a0, parameters, _ = cell.problem(*SHAPE)
    with pytest.raises(
        TypeError, match=r"^x must hold real numbers \(float, int or bool\), got dtype"
    ):
        _forward(cell)(
            x.astype(dtype) if dtype != "datetime64[s]" else x.astype("int64").astype(dtype),
            a0,
            parameters,
            **cell.options,
        )


def test_dtypes_follow_numpy_promotion(cell):
    x, a0, parameters, da = cell.problem(*SHAPE)
    forward = _forward(cell)
    want = forward(x, a0, parameters, **cell.options)[0]
    as32 = {k: v.astype(np.float32) for k, v in parameters.items()}
    a32 = forward(x.astype(np.float32), a0.astype(np.float32), as32, **cell.options)[0]
    assert a32.dtype == np.float32
    assert_close(a32, want, np.float32, "float32 a")
    assert forward(x.astype(np.float32), a0, parameters, **cell.options)[0].dtype == np.float64
    ints = forward((x * 4).round().astype(np.int16), a0, parameters, **cell.options)[0]
    assert ints.dtype == np.float64
    bools = forward(x > 0, a0, parameters, **cell.options)[0]
    assert bools.dtype == np.float64


def test_strided_readonly_inputs_give_the_contiguous_result_and_stay_untouched(cell):
    x, a0, parameters, da = cell.problem(*SHAPE)
    outputs, grads = cell.course_pass(crnn, x, a0, parameters, da)
    copies = [arr.copy() for arr in (x, a0, da, *parameters.values())]
    for arr in (x, a0, da, *parameters.values()):
        arr.flags.writeable = False
    big = np.zeros((x.shape[0], 2 * x.shape[1], x.shape[2]))
    big[:, ::2] = x
    strided_outputs, strided_grads = cell.course_pass(
        crnn, big[:, ::2], np.asfortranarray(a0), parameters, da[:, ::-1][:, ::-1]
    )
    for key in outputs:
        assert_close(strided_outputs[key], outputs[key], np.float64, key)
    for key in grads:
        assert_close(strided_grads[key], grads[key], np.float64, key)
    for arr, copy in zip((x, a0, da, *parameters.values()), copies):
        np.testing.assert_array_equal(arr, copy)


@pytest.mark.parametrize("empty", [3, 4])  # m = 0, T_x = 0
def test_empty_batches_and_sequences_give_empty_results(cell, empty):
    shape = list(SHAPE)
    shape[empty] = 0
    x, a0, parameters, da = cell.problem(*shape)
    outputs, grads = cell.course_pass(crnn, x, a0, parameters, da)
    assert outputs["a"].shape == (shape[1], shape[3], shape[4])
    assert grads["dx"].shape == x.shape and not np.any(grads["dx"])
    assert all(not np.any(g) for key, g in grads.items() if key.startswith("dW"))


@pytest.mark.parametrize(
    "shape",
    [(3, 4, 2, 0, 5), (3, 4, 2, 3, 0), (0, 4, 2, 3, 5), (3, 0, 2, 3, 5)],
    ids=["m=0", "T_x=0", "n_x=0", "n_a=0"],
)
def test_empty_dimensions_give_the_courses_empty_or_zero_results(cell, shape, request):
    if shape[4] == 0 and cell.options.get("reset_after"):
        # no step, no cache to read the convention from: gru_backward names the lecture's
        # gradients (dWc, dbc), not dWcx, dWca, dbcx, dbca
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason="a reset_after GRU's gradients over no step have the lecture's names",
            )
        )
    x, a0, parameters, da = cell.problem(*shape)
    *outputs, caches = _forward(cell)(x, a0, parameters, **cell.options)
    *want, ref_caches = course(cell, reference, "forward")(x, a0, parameters, **cell.options)
    for name, got, ref in zip(cell.outputs, outputs, want, strict=True):
        assert got.shape == ref.shape, name
    assert_close(outputs[1], want[1], np.float64, cell.outputs[1])
    grads = _backward(cell)(da, caches)
    assert grads["dx"].shape == x.shape and grads["da0"].shape == a0.shape
    for key in cell.spec.keys():
        assert grads["d" + key].shape == np.shape(parameters[key]), key
    if shape[4]:  # with no input features the recurrence still runs
        assert_gradients_close(
            grads, course(cell, reference, "backward")(da, ref_caches), np.float64
        )
    else:
        assert all(not np.any(g) for g in grads.values())


def test_n_y_zero_is_refused(cell):
    x, a0, parameters, _ = cell.problem(*SHAPE)
    parameters[cell.output_weight] = np.zeros((0, SHAPE[1]))
    parameters["by"] = np.zeros((0, 1))
    with pytest.raises(ValueError, match="n_y must be at least 1"):
        _forward(cell)(x, a0, parameters, **cell.options)


def test_a_da_that_does_not_fit_the_caches_names_both(cell):
    x, a0, parameters, da = cell.problem(*SHAPE)
    caches = _forward(cell)(x, a0, parameters, **cell.options)[-1]
    backward = _backward(cell)
    with pytest.raises(ValueError, match=r"da has shape \(4, 5, 7\).*caches"):
        backward(np.zeros((4, 5, 7)), caches)
    with pytest.raises(ValueError, match=r"da has shape \(4, 3, 6\)"):
        backward(np.zeros((4, 3, 6)), caches)
    with pytest.raises(TypeError, match="caches must be the \\(list of cell caches, x\\) tuple"):
        backward(da, caches[0])
    with pytest.raises((TypeError, ValueError), match=r"caches\[0\]\[0\]"):
        backward(da, ([(1, 2)] * 6, x))
    # fewer steps: the first caches, as in the course
    short = backward(da[:, :, :3], caches)
    ref_caches = course(cell, reference, "forward")(x, a0, parameters, **cell.options)[-1]
    want = course(cell, reference, "backward")(da[:, :, :3], ref_caches)
    for key in want:
        assert_close(short[key], want[key], np.float64, key)


def test_sizes_past_blas_integers_are_refused_before_allocation(cell):
    _, a0, parameters, _ = cell.problem(1, 4, 2, 1, 1)
    x = np.broadcast_to(np.zeros((1, 1, 1)), (1, 2**16, 2**16))
    with pytest.raises(ValueError, match=r"m\*T_x = 4294967296 .*past the BLAS size limit"):
        _forward(cell)(x, np.zeros((4, 2**16)), parameters, **cell.options)
