"""Stacked and bidirectional layers (crnn.layers), for every cell of the registry."""

import numpy as np
import pytest
from conftest import course

import crnn
from crnn import reference
from crnn.cells import variants
from crnn.layers import init_stack, layer_names, stack_backward, stack_forward
from crnn.testing import assert_close, numeric_gradient

N_X, N_A, N_Y, M, T = 3, 4, 2, 3, 5


def _stack(cell, seed=0, **form):
    """x, a0 by layer, the parameters of a stack of cell, and G (the top's gradient)."""
    rng = np.random.default_rng(seed)
    parameters = init_stack(N_X, N_A, N_Y, cell=cell.name, seed=seed, **cell.options, **form)
    names = layer_names(form.get("num_layers", 1), form.get("bidirectional", False))
    for name in names:
        # biases off zero: a relu layer over zeros from the layer below would sit exactly
        # on relu's kink, where finite differences average its two slopes
        for key, value in parameters[name].items():
            if key.startswith("b"):
                value[...] = rng.standard_normal(value.shape) * 0.3
    a0 = {name: rng.standard_normal((N_A, M)) * 0.5 for name in names}
    x = rng.standard_normal((N_X, M, T))
    width = (
        2 * N_A if form.get("bidirectional") and form.get("merge", "concat") == "concat" else N_A
    )
    return x, a0, parameters, rng.standard_normal((width, M, T))


def _run(cell, x, a0, parameters, **form):
    return stack_forward(x, a0, parameters, cell=cell.name, **cell.options, **form)


def _with_output(cell, layer):
    """A layer's dict with a zero output layer, for the course's functions."""
    return {**layer, cell.output_weight: np.zeros((1, N_A)), "by": np.zeros((1, 1))}


def test_one_layer_is_the_course_forward(cell):
    x, a0, parameters, G = _stack(cell, 1)
    a, y, caches = _run(cell, x, a0, parameters)
    layer = _with_output(cell, parameters["layer0"])
    *outputs, course_caches = course(cell, crnn, "forward")(x, a0["layer0"], layer, **cell.options)
    assert_close(a, outputs[0], np.float64, "a")
    grads = stack_backward(G, caches)
    want = course(cell, crnn, "backward")(G, course_caches)
    assert_close(grads["dx"], want.pop("dx"), np.float64, "dx")
    for key, value in want.items():
        assert_close(grads["layer0"][key], value, np.float64, key)
    logits = np.einsum("yn,nmt->ymt", parameters["Wy"], a) + parameters["by"][:, :, None]
    assert_close(y, reference.softmax(logits), np.float64, "y_pred")


@pytest.mark.parametrize("merge", ["concat", "sum"])
def test_a_bidirectional_layer_merges_both_directions(cell, merge):
    x, a0, parameters, _ = _stack(cell, 2, bidirectional=True, merge=merge)
    a, _, _ = _run(cell, x, a0, parameters, bidirectional=True, merge=merge)
    fwd = course(cell, crnn, "forward")(
        x, a0["layer0"], _with_output(cell, parameters["layer0"]), **cell.options
    )[0]
    rev = course(cell, crnn, "forward")(
        x,
        a0["layer0_reverse"],
        _with_output(cell, parameters["layer0_reverse"]),
        **cell.options,
        reverse=True,
    )[0]
    want = np.concatenate((fwd, rev)) if merge == "concat" else fwd + rev
    assert_close(a, want, np.float64, "a")


@pytest.mark.parametrize(
    "form",
    [
        {"num_layers": 2},
        {"num_layers": 2, "bidirectional": True},
        {"num_layers": 2, "bidirectional": True, "merge": "sum", "dropout": 0.3, "seed": 5},
        {"num_layers": 2, "bidirectional": True, "lengths": [5, 2, 4]},
    ],
    ids=["stacked", "bidirectional", "sum and dropout", "lengths"],
)
def test_stacks_match_finite_differences(cell, form):
    shape = {k: v for k, v in form.items() if k in ("num_layers", "bidirectional", "merge")}
    x, a0, parameters, G = _stack(cell, 3, **shape)

    def loss():
        return float(np.sum(G * _run(cell, x, a0, parameters, **form)[0]))

    grads = stack_backward(G, _run(cell, x, a0, parameters, **form)[2])
    np.testing.assert_allclose(grads["dx"], numeric_gradient(loss, x), rtol=1e-6, atol=1e-8)
    for name in layer_names(form["num_layers"], form.get("bidirectional", False)):
        np.testing.assert_allclose(
            grads[name]["da0"],
            numeric_gradient(loss, a0[name]),
            rtol=1e-6,
            atol=1e-8,
            err_msg=f"{name}: da0",
        )
        for key, value in parameters[name].items():
            np.testing.assert_allclose(
                grads[name]["d" + key],
                numeric_gradient(loss, value),
                rtol=1e-6,
                atol=1e-8,
                err_msg=f"{name}: d{key}",
            )


def test_each_example_of_a_stack_equals_running_it_alone(cell):
    form = {"num_layers": 2, "bidirectional": True}
    x, a0, parameters, G = _stack(cell, 4, **form)
    lengths = np.array([5, 2, 4])
    for i, L in enumerate(lengths):
        G[:, i, L:] = 0  # a da past the end flows to the state kept there: none here
    a, y, caches = _run(cell, x, a0, parameters, lengths=lengths, **form)
    grads = stack_backward(G, caches)
    for i, L in enumerate(lengths):
        alone = {name: s[:, i : i + 1] for name, s in a0.items()}
        a_i, y_i, caches_i = _run(cell, x[:, i : i + 1, :L].copy(), alone, parameters, **form)
        assert_close(a[:, i : i + 1, :L], a_i, np.float64, "a")
        assert_close(y[:, i : i + 1, :L], y_i, np.float64, "y_pred")
        assert not np.any(y[:, i, L:])
        g_i = stack_backward(G[:, i : i + 1, :L].copy(), caches_i)
        assert_close(grads["dx"][:, i : i + 1, :L], g_i["dx"], np.float64, "dx")


def test_init_stack_shapes_and_names():
    parameters = init_stack(3, 4, 2, cell="lstm", num_layers=2, bidirectional=True, seed=0)
    assert list(parameters) == ["layer0", "layer0_reverse", "layer1", "layer1_reverse", "Wy", "by"]
    assert parameters["layer0"]["Wf"].shape == (4, 4 + 3)
    assert parameters["layer1"]["Wf"].shape == (4, 4 + 8)  # reads the concatenated output
    assert parameters["Wy"].shape == (2, 8) and parameters["by"].shape == (2, 1)
    assert "Wy" not in parameters["layer0"]
    summed = init_stack(
        3, 4, 2, cell="gru", num_layers=2, bidirectional=True, merge="sum", reset_after=True, seed=0
    )
    assert summed["layer1"]["Wcx"].shape == (4, 4) and summed["Wy"].shape == (2, 4)


def test_dropout_masks_the_inputs_above_the_first_layer_and_only_when_asked():
    cell = variants()[0]
    x, a0, parameters, G = _stack(cell, 6, num_layers=3)
    _, _, caches = _run(cell, x, a0, parameters, num_layers=3, dropout=0.5, seed=1)
    masks = [layer[2] for layer in caches[0]]
    assert masks[0] is None and all(mask is not None for mask in masks[1:])
    assert set(np.unique(masks[1])) <= {0.0, 2.0}
    _, _, plain = _run(cell, x, a0, parameters, num_layers=3)
    assert all(layer[2] is None for layer in plain[0])


@pytest.mark.parametrize(
    "change, error, message",
    [
        (lambda p: p.pop("layer1"), KeyError, "parameters has no 'layer1'"),
        (lambda p: p["layer1"].pop("Waa"), KeyError, r"layer1.*has no key .*Waa"),
        (
            lambda p: p["layer1"].update(Wax=np.zeros((4, 3))),
            ValueError,
            'in layer "layer1": .*Wax',
        ),
    ],
)
def test_bad_layer_dicts_are_named(change, error, message):
    cell = variants()[0]
    x, a0, parameters, _ = _stack(cell, 7, num_layers=2)
    change(parameters)
    with pytest.raises(error, match=message):
        _run(cell, x, a0, parameters, num_layers=2)


@pytest.mark.parametrize(
    "form, message",
    [
        ({"lengths": [5, 0, 3]}, r"^lengths must be in 1..T_x = 1..5, got \[0\]"),
        ({"num_layers": 0}, "num_layers must be an int >= 1"),
        ({"merge": "mean"}, 'merge must be "concat" or "sum"'),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
        ({"bidirectional": "yes"}, "bidirectional must be True or False"),
    ],
)
def test_bad_forms_are_named(form, message):
    cell = variants()[0]
    x, a0, parameters, _ = _stack(cell, 8)
    with pytest.raises(ValueError, match=message):
        _run(cell, x, a0, parameters, **form)


def test_the_last_state_of_a_bidirectional_stack_matches_finite_differences(cell_name):
    """Its forward half from the last step, its reverse half from step 0 (where that
    direction ends), with lengths: the training step's loss against finite differences."""
    from crnn.layers import Stack

    stack = Stack(cell_name, 2, True)
    rng = np.random.default_rng(9)
    flat = stack.initialize(N_X, N_A, N_Y, "glorot", rng, np.float64)
    for key, value in flat.items():
        if key.split(".")[-1].startswith("b"):
            value[...] = rng.standard_normal(value.shape) * 0.3
    x = rng.standard_normal((N_X, M, T))
    y = rng.integers(0, N_Y, size=M)
    a0 = np.zeros((N_A, M))
    step = {
        "loss": "softmax",
        "reduction": "sum",
        "output": "last",
        "cell": stack,
        "lengths": [5, 2, 4],
    }
    _, grads = crnn.loss_and_grads(x, y, a0, flat, **step)
    reverse_bias = {"rnn": "ba", "lstm": "bf", "gru": "bu"}[cell_name]
    for key in (f"layer0_reverse.{reverse_bias}", f"layer1_reverse.{reverse_bias}", "Wy"):
        numeric = numeric_gradient(
            lambda: crnn.loss_and_grads(x, y, a0, flat, **step)[0], flat[key]
        )
        np.testing.assert_allclose(grads["d" + key], numeric, rtol=1e-6, atol=1e-8, err_msg=key)


def test_a_float32_stack_with_dropout_stays_float32():
    cell = variants()[2]
    parameters = init_stack(N_X, N_A, N_Y, cell="lstm", num_layers=3, dtype=np.float32, seed=0)
    x = np.random.default_rng(0).standard_normal((N_X, M, T)).astype(np.float32)
    a, _, caches = _run(cell, x, None, parameters, num_layers=3, dropout=np.float32(0.3), seed=1)
    grads = stack_backward(np.ones_like(a), caches)
    assert a.dtype == grads["dx"].dtype == grads["layer0"]["dWf"].dtype == np.float32
    assert all(layer[2] is None or layer[2].dtype == np.float32 for layer in caches[0])


def test_stack_backward_names_a_da_of_the_wrong_width():
    cell = variants()[0]
    x, a0, parameters, G = _stack(cell, 10, bidirectional=True)
    _, _, caches = _run(cell, x, a0, parameters, bidirectional=True)
    with pytest.raises(ValueError, match=r"da must have the top layer's 8 output features"):
        stack_backward(G[:N_A], caches)


def test_a_layer_stack_refuses_parameters_that_do_not_form_it():
    from crnn.layers import LayerStack

    p = init_stack(3, 4, 2, cell="rnn", num_layers=2, bidirectional=True)
    layers = {k: v for k, v in p.items() if k.startswith("layer")}
    with pytest.raises(
        ValueError, match=r'parameters\["layer1"\]\["Wax"\] must have shape \(4, 4\)'
    ):
        LayerStack(layers, cell="rnn", num_layers=2, bidirectional=True, merge="sum")
    with pytest.raises(KeyError, match=r'parameters\["layer0"\] must be a dict of exactly'):
        LayerStack({**layers, "layer0": p}, cell="rnn", num_layers=2, bidirectional=True)
    stack = LayerStack(layers, cell="rnn", num_layers=2, bidirectional=True)
    assert (stack.n_x, stack.n_a, stack.n_out, stack.dtype) == (3, 4, 8, np.float64)
