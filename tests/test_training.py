"""The output layer and the fused training step: finite differences, the reference, checks."""

import numpy as np
import pytest

import crnn
from crnn import _engine, reference
from crnn.testing import assert_close, numeric_gradient, random_rnn_problem


def _labels(loss, output, n_y, m, T, seed=1):
    rng = np.random.default_rng(seed)
    shape = (m, T) if output == "sequence" else (m,)
    if loss == "softmax":
        return rng.integers(0, n_y, shape)
    return rng.integers(0, 2, (n_y, *shape))


# --- output layer ------------------------------------------------------------------------


def test_output_layer_forward_is_Wya_a_plus_by():
    _, _, p, da = random_rnn_problem(3, 4, 5, 2, 6)
    z = crnn.output_layer_forward(da, p)
    assert_close(z, np.einsum("ya,amt->ymt", p["Wya"], da) + p["by"][:, :, None], np.float64)


@pytest.mark.parametrize("shape", [(4, 3, 5), (4, 3)])
def test_output_layer_backward_matches_finite_differences(shape):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    p = {"Wya": rng.standard_normal((2, 4)), "by": rng.standard_normal((2, 1))}
    G = rng.standard_normal((2, *shape[1:]))

    def loss():
        return float(np.sum(G * crnn.output_layer_forward(a, p)))

    grads = crnn.output_layer_backward(G, a, p)
    for name, target in (("dWya", p["Wya"]), ("dby", p["by"]), ("da", a)):
        assert grads[name].shape == target.shape
        np.testing.assert_allclose(
            grads[name], numeric_gradient(loss, target), rtol=1e-6, atol=1e-8
        )


def test_output_layer_takes_the_lstm_key_and_float32():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3, 5)).astype(np.float32)
    p = {"Wy": rng.standard_normal((2, 4)).astype(np.float32), "by": np.zeros((2, 1), np.float32)}
    z = crnn.output_layer_forward(a, p, weight="Wy")
    grads = crnn.output_layer_backward(z, a, p, weight="Wy")
    assert z.dtype == np.float32 and set(grads) == {"dWy", "dby", "da"}
    assert all(g.dtype == np.float32 for g in grads.values())


def _stride_order(arr):
    """The axes of arr from the smallest stride to the largest: its memory layout."""
    return tuple(np.argsort(arr.strides, kind="stable"))


def test_output_layer_and_pooling_keep_the_cells_layout(cell):
    # every cell's states are in the kernels' layout (crnn._arrays): the logits and every da
    # handed back to the cell's backward must be made in that same layout (no copy of the
    # states, no conversion in the kernels), with the right values
    x, a0, p, _ = cell.problem(3, 4, 2, 5, 6)
    a, key = cell.forward(x, a0, p)[0], cell.output_weight
    assert _stride_order(a) == (0, 2, 1)
    z = crnn.output_layer_forward(a, p, key)
    assert_close(z, np.einsum("ya,amt->ymt", p[key], a) + p["by"][:, :, None], np.float64)
    G = np.random.default_rng(1).standard_normal(z.shape)
    grads = crnn.output_layer_backward(G, a, p, key)
    assert_close(grads["d" + key], np.einsum("ymt,amt->ya", G, a), np.float64)
    assert_close(grads["da"], np.einsum("ya,ymt->amt", p[key], G), np.float64)
    assert _stride_order(z) == _stride_order(grads["da"]) == _stride_order(a)
    for output in ("last", "mean"):
        dh = np.ones((4, 5))
        assert _stride_order(crnn.pool_states_backward(dh, a, output)) == _stride_order(a)


@pytest.mark.parametrize("layout", ["cells", "C", "F", "strided"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_output_layer_products_read_any_layout(layout, dtype):
    """Forward and backward against einsum, for a and dlogits in every layout."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal((5, 3, 4))
    dz = rng.standard_normal((2, 3, 4))
    if layout == "cells":
        a = crnn.rnn_forward(
            rng.standard_normal((2, 3, 4)),
            a[:, :, 0],
            {
                "Wax": rng.standard_normal((5, 2)),
                "Waa": rng.standard_normal((5, 5)),
                "ba": np.zeros((5, 1)),
                "Wya": np.zeros((1, 5)),
                "by": np.zeros((1, 1)),
            },
        )[0]
    elif layout == "F":
        a, dz = np.asfortranarray(a), np.asfortranarray(dz)
    elif layout == "strided":
        a, dz = np.repeat(a, 2, axis=1)[:, ::2], np.repeat(dz, 2, axis=2)[:, :, ::2]
    p = {"Wya": rng.standard_normal((2, 5)), "by": rng.standard_normal((2, 1))}
    p = {k: v.astype(dtype) for k, v in p.items()}
    a, dz = a.astype(dtype), dz.astype(dtype)
    logits = crnn.output_layer_forward(a, p)
    want = np.einsum("ya,amt->ymt", p["Wya"], a) + p["by"][:, :, None]
    assert logits.dtype == dtype
    assert_close(logits, want, dtype, "logits")
    g = crnn.output_layer_backward(dz, a, p)
    assert_close(g["da"], np.einsum("ya,ymt->amt", p["Wya"], dz), dtype, "da")
    assert_close(g["dWya"], np.einsum("ymt,amt->ya", dz, a), dtype, "dWya")
    assert g["dWya"].flags.c_contiguous


def test_output_layer_shape_errors_name_the_arguments():
    p = {"Wya": np.zeros((2, 4)), "by": np.zeros((2, 1))}
    with pytest.raises(
        ValueError, match=r'parameters\["Wya"\] has shape \(2, 4\) but a has shape \(5, 3, 2\)'
    ):
        crnn.output_layer_forward(np.zeros((5, 3, 2)), p)
    with pytest.raises(ValueError, match=r"dlogits must have shape .*\(2, 3, 2\)"):
        crnn.output_layer_backward(np.zeros((3, 3, 2)), np.zeros((4, 3, 2)), p)


# --- the fused step ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss, output",
    [
        ("softmax", "sequence"),
        ("sigmoid", "sequence"),
        ("softmax", "last"),
        ("softmax", "mean"),
        ("sigmoid", "last"),
    ],
)
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_every_gradient_matches_finite_differences(cell, loss, output, reduction):
    x, a0, p, _ = cell.problem(3, 4, 3, 2, 5, seed=2 if cell.name == "rnn" else 5)
    y = _labels(loss, output, 3, 2, 5)

    def f():
        return crnn.loss_and_grads(x, y, a0, p, loss, reduction, output, cell=cell)[0]

    _, grads = crnn.loss_and_grads(x, y, a0, p, loss, reduction, output, cell=cell)
    # the LSTM's hold dc0 too, the gradient of its cell state's start
    extra = {"dc0"} if cell.name == "lstm" else set()
    assert set(grads) == {"d" + k for k in p} | {"da0", "dx"} | extra
    for name, target in (*p.items(), ("a0", a0), ("x", x)):
        np.testing.assert_allclose(
            grads["d" + name], numeric_gradient(f, target), rtol=1e-6, atol=1e-8, err_msg=name
        )


def test_rnn_loss_and_grads_is_the_rnns_loss_and_grads():
    x, a0, p, _ = random_rnn_problem(3, 4, 3, 2, 5, seed=2)
    y = _labels("softmax", "sequence", 3, 2, 5)
    value, grads = crnn.rnn_loss_and_grads(x, y, a0, p, "softmax", "mean", "sequence")
    want_value, want = crnn.loss_and_grads(x, y, a0, p, "softmax", "mean", "sequence", cell="rnn")
    assert value == want_value
    assert set(grads) == {"dWax", "dWaa", "dba", "dWya", "dby", "da0", "dx"}
    np.testing.assert_equal(grads, want)


def test_the_fused_step_matches_the_course_functions_composed():
    """reference.rnn_forward, the reference loss, the output layer summed step by step,
    reference.rnn_backward."""
    x, a0, p, _ = random_rnn_problem(3, 5, 4, 3, 7, seed=3)
    y = _labels("softmax", "sequence", 4, 3, 7)
    a, y_pred, caches = reference.rnn_forward(x, a0, p)
    ref_loss, dz = reference.softmax_cross_entropy(y_pred, y)
    dWya = sum(dz[:, :, t] @ a[:, :, t].T for t in range(7))
    dby = sum(dz[:, :, t].sum(axis=1, keepdims=True) for t in range(7))
    da = np.stack([p["Wya"].T @ dz[:, :, t] for t in range(7)], axis=2)
    ref = reference.rnn_backward(da, caches)
    loss, grads = crnn.rnn_loss_and_grads(x, y, a0, p)
    assert_close(loss, ref_loss, np.float64, "loss")
    for name, want in (("dWya", dWya), ("dby", dby), *ref.items()):
        assert_close(grads[name], want, np.float64, name)


@pytest.mark.parametrize(
    "form",
    ["one layer", "lengths", "unsorted lengths", "F-ordered x", "stack"],
)
def test_without_dx_the_step_gives_the_same_gradients(cell, form):
    """want_dx=False leaves out "dx" and changes no other gradient, on every engine path."""
    x, a0, p, _ = cell.problem(3, 5, 4, 4, 6, seed=5)
    y = _labels("softmax", "sequence", 4, 4, 6)
    lengths = {"lengths": [6, 5, 3, 2], "unsorted lengths": [3, 6, 2, 5]}.get(form)
    if form == "F-ordered x":
        x = np.asfortranarray(x)
    kind = cell
    if form == "stack":
        kind = crnn.layers.Stack(cell.name, 2, True, **cell.options)
        p = kind.initialize(3, 5, 4, "glorot", np.random.default_rng(0), np.float64)
    args = (x, y, a0, p, "softmax", "sum", "sequence", kind, lengths)
    loss, full = crnn.loss_and_grads(*args)
    loss_no_dx, grads = crnn.loss_and_grads(*args, want_dx=False)
    assert loss_no_dx == loss
    assert "dx" in full and "dx" not in grads
    assert sorted(grads) == sorted(k for k in full if k != "dx")
    for key, value in grads.items():
        np.testing.assert_array_equal(value, full[key], err_msg=key)


@pytest.mark.parametrize("output", ["sequence", "last", "mean"])
@pytest.mark.parametrize("lengths", [None, [6, 2, 5, 3]], ids=["full", "lengths"])
def test_the_validation_loss_is_the_training_steps(cell, output, lengths):
    """model_loss, a forward pass alone, gives loss_and_grads's loss."""
    from crnn.training import model_loss

    x, a0, p, _ = cell.problem(3, 5, 4, 4, 6, seed=6)
    y = _labels("softmax", output, 4, 4, 6)
    want, _ = crnn.loss_and_grads(x, y, a0, p, "softmax", "mean", output, cell, lengths)
    got = model_loss(x, y, a0, p, cell, "softmax", "mean", output, lengths)
    assert_close(got, want, np.float64, "loss")


def test_float32_is_trained_in_float32():
    x, a0, p, _ = random_rnn_problem(3, 5, 4, 3, 7, dtype=np.float32, seed=4)
    y = _labels("softmax", "sequence", 4, 3, 7)
    loss32, g32 = crnn.rnn_loss_and_grads(x, y, a0, p)
    p64 = {k: v.astype(np.float64) for k, v in p.items()}
    loss64, g64 = crnn.rnn_loss_and_grads(x.astype(np.float64), y, a0.astype(np.float64), p64)
    assert_close(loss32, loss64, np.float32, "loss")
    for k in g64:
        assert g32[k].dtype == np.float32
        assert_close(g32[k], g64[k], np.float32, k)


@pytest.mark.parametrize("order", ["C", "F"], ids=["fast paths", "general kernels"])
def test_one_forward_and_one_backward_kernel_call_whatever_T(monkeypatch, order):
    calls = []
    entries = {
        "common_forward": "forward",
        "forward_kernel": "forward",
        "common_backward": "backward",
        "backward_kernel": "backward",
    }
    for name, role in entries.items():
        kernel = getattr(_engine, name)

        def counted(*args, _k=kernel, _n=name, _role=role, **kwargs):
            result = _k(*args, **kwargs)
            if result is not None or _n.endswith("kernel"):  # the common case that ran
                calls.append(_role)
            return result

        monkeypatch.setattr(_engine, name, counted)
    x, a0, p, _ = random_rnn_problem(3, 4, 3, 2, 40)
    crnn.rnn_loss_and_grads(
        np.asarray(x, order=order), _labels("softmax", "sequence", 3, 2, 40), a0, p
    )
    assert calls == ["forward", "backward"]


def test_inputs_are_not_modified():
    x, a0, p, _ = random_rnn_problem(3, 4, 3, 2, 5)
    y = _labels("softmax", "sequence", 3, 2, 5)
    before = [arr.copy() for arr in (x, a0, y, *p.values())]
    crnn.rnn_loss_and_grads(x, y, a0, p)
    for old, new in zip(before, (x, a0, y, *p.values())):
        np.testing.assert_array_equal(old, new)


def test_bad_arguments_get_clear_errors():
    x, a0, p, _ = random_rnn_problem(3, 4, 3, 2, 5)
    y = _labels("softmax", "sequence", 3, 2, 5)
    with pytest.raises(ValueError, match="loss must be one of"):
        crnn.rnn_loss_and_grads(x, y, a0, p, loss="hinge")
    with pytest.raises(ValueError, match="output must be one of"):
        crnn.rnn_loss_and_grads(x, y, a0, p, output="first")
    with pytest.raises(ValueError, match="cell must be one of"):
        crnn.loss_and_grads(x, y, a0, p, cell="elman")
    with pytest.raises(ValueError, match=r"y must be class indices of shape \(2,\)"):
        crnn.rnn_loss_and_grads(x, y, a0, p, output="last")
    with pytest.raises(ValueError, match=r"y holds 3 at index"):
        crnn.rnn_loss_and_grads(x, np.full((2, 5), 3), a0, p)
    with pytest.raises(ValueError, match=r"x must be 3-D"):
        crnn.rnn_loss_and_grads(x[:, :, 0], y, a0, p)
