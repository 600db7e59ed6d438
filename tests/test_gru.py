"""The GRU in both conventions: against PyTorch's nn.GRU (live when torch is installed,
else through committed fixtures), and the messages of its bad input. Its agreement with
crnn.reference over shapes and dtypes is in test_reference.py, its cache contract in
test_cache_contract.py, its finite differences in test_gradients.py, its threads in
test_threads.py, with every cell's."""

import pathlib

import numpy as np
import pytest

import crnn
from crnn import reference
from crnn.gru import torch_gru_parameters
from crnn.testing import assert_close, random_gru_problem

FIXTURES = pathlib.Path(__file__).parent / "data" / "gru_torch.npz"


# --- PyTorch's nn.GRU ----------------------------------------------------------------


def _torch_case(case):
    """The crnn parameters and the inputs and outputs of one fixture case."""
    params = torch_gru_parameters(
        case["weight_ih"], case["weight_hh"], case["bias_ih"], case["bias_hh"]
    )
    n_a = params["Wu"].shape[0]
    params["Wy"] = np.zeros((1, n_a))
    params["by"] = np.zeros((1, 1))
    # PyTorch's (T, m, n_x) input and (T, m, n_a) output; crnn's (n_x, m, T)
    return params, case["input"].transpose(2, 1, 0), case["h0"][0].T, case


def _check_against_torch(case):
    params, x, a0, case = _torch_case(case)
    a, _, caches = crnn.gru_forward(x, a0, params, reset_after=True)
    np.testing.assert_allclose(a, case["output"].transpose(2, 1, 0), rtol=1e-10, atol=1e-12)
    grads = crnn.gru_backward(case["upstream"].transpose(2, 1, 0), caches)
    # PyTorch's gradients of sum(output * upstream): the weights' map like the weights;
    # a sum of two biases has the gradient of either (PyTorch's two are equal for r, z)
    want = torch_gru_parameters(case["grad_weight_ih"], case["grad_weight_hh"])
    n_a = a.shape[0]
    g_i, g_h = case["grad_bias_ih"][:, None], case["grad_bias_hh"][:, None]
    np.testing.assert_allclose(g_i[: 2 * n_a], g_h[: 2 * n_a], rtol=1e-12)
    want.update(bu=-g_i[n_a : 2 * n_a], br=g_i[:n_a], bcx=g_i[2 * n_a :], bca=g_h[2 * n_a :])
    for key, value in want.items():
        np.testing.assert_allclose(grads["d" + key], value, rtol=1e-9, atol=1e-11, err_msg=key)
    np.testing.assert_allclose(
        grads["dx"], case["grad_input"].transpose(2, 1, 0), rtol=1e-9, atol=1e-11
    )
    np.testing.assert_allclose(grads["da0"], case["grad_h0"][0].T, rtol=1e-9, atol=1e-11)


def _fixture_cases():
    with np.load(FIXTURES) as f:
        names = sorted({k.split("/")[0] for k in f.files})
        return [
            {k.split("/")[1]: f[k] for k in f.files if k.startswith(name + "/")} for name in names
        ]


def test_the_gru_matches_pytorch_fixtures():
    cases = _fixture_cases()
    assert len(cases) >= 2
    for case in cases:
        _check_against_torch(case)


def make_case(torch, n_x, n_a, m, T, seed):
    """A random nn.GRU in float64, run forward and backward by PyTorch: its weights,
    input, h0, output, an upstream gradient and PyTorch's gradients of
    sum(output * upstream). tools/make_gru_fixtures.py saves these as the fixtures."""
    torch.manual_seed(seed)
    gru = torch.nn.GRU(n_x, n_a, dtype=torch.float64)
    inp = torch.randn(T, m, n_x, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, m, n_a, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(T, m, n_a, dtype=torch.float64)
    out, _ = gru(inp, h0)
    (out * upstream).sum().backward()
    case = {
        "input": inp,
        "h0": h0,
        "output": out,
        "upstream": upstream,
        "grad_input": inp.grad,
        "grad_h0": h0.grad,
    }
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        param = getattr(gru, name + "_l0")
        case[name], case["grad_" + name] = param, param.grad
    return {k: v.detach().numpy().copy() for k, v in case.items()}


def test_the_gru_matches_a_live_pytorch_gru():
    torch = pytest.importorskip("torch")
    for seed, sizes in enumerate([(5, 7, 4, 6), (1, 3, 1, 9), (8, 16, 5, 3)]):
        _check_against_torch(make_case(torch, *sizes, seed))


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reset_after, key", [(False, "Wc"), (False, "bu"), (True, "Wca"), (True, "bca"), (True, "Wy")]
)
def test_a_missing_key_is_a_key_error(reset_after, key):
    x, a0, params, _ = random_gru_problem(3, 4, 2, 3, 5, reset_after=reset_after)
    del params[key]
    with pytest.raises(KeyError, match=key):
        crnn.gru_forward(x, a0, params, reset_after=reset_after)


@pytest.mark.parametrize(
    "reset_after, key, shape, message",
    [
        (
            False,
            "Wu",
            (4, 6),
            r'parameters\["Wu"\] must have shape \(n_a, n_a \+ n_x\) = \(4, 7\) '
            r"for a0 of shape \(4, 3\) and x of shape \(3, 3, 5\), got \(4, 6\)",
        ),
        (False, "Wc", (4, 7, 1), r'parameters\["Wc"\] must be 2-D'),
        (True, "Wcx", (4, 4), r'parameters\["Wcx"\] must have shape \(n_a, n_x\) = \(4, 3\)'),
        (True, "Wca", (3, 4), r'parameters\["Wca"\] must have shape \(n_a, n_a\) = \(4, 4\)'),
        (True, "bca", (5, 1), r'parameters\["bca"\] must have shape \(4, 1\) or \(4,\)'),
        (False, "Wy", (2, 5), r'Wy must be \(n_y, n_a\): parameters\["Wy"\] has shape \(2, 5\)'),
        (False, "Wy", (0, 4), r"n_y must be at least 1"),
    ],
)
def test_misshaped_parameters_are_named(reset_after, key, shape, message):
    x, a0, params, _ = random_gru_problem(3, 4, 2, 3, 5, reset_after=reset_after)
    params[key] = np.zeros(shape)
    with pytest.raises(ValueError, match=message):
        crnn.gru_forward(x, a0, params, reset_after=reset_after)


def test_bad_arguments_get_clear_errors():
    x, a0, params, da = random_gru_problem(3, 4, 2, 3, 5)
    with pytest.raises(
        ValueError, match=r"x must be 3-D of shape \(n_x, m, T_x\), got shape \(3, 3\)"
    ):
        crnn.gru_forward(x[:, :, 0], a0, params)
    with pytest.raises(ValueError, match=r"the batch sizes m disagree: a0 has shape \(4, 2\)"):
        crnn.gru_forward(x, a0[:, :2], params)
    with pytest.raises(TypeError, match=r"x must hold real numbers.*complex128"):
        crnn.gru_forward(x.astype(complex), a0, params)
    with pytest.raises(TypeError, match="parameters must be a dict"):
        crnn.gru_forward(x, a0, [1, 2])
    with pytest.raises(TypeError, match="a0 must be a numpy array, got NoneType"):
        crnn.gru_forward(x, None, params)
    _, _, caches = crnn.gru_forward(x, a0, params)
    with pytest.raises(ValueError, match=r"da has shape \(4, 3, 6\).*at most their 5 steps"):
        crnn.gru_backward(np.zeros((4, 3, 6)), caches)
    with pytest.raises(
        TypeError,
        match="caches must be the \\(list of cell caches, x\\) tuple returned by gru_forward",
    ):
        crnn.gru_backward(da, caches[0])
    with pytest.raises(
        ValueError,
        match=r"caches\[0\]\[0\] must be the cache tuple "
        r"\(a_next, a_prev, ut, rt, cct, xt, parameters\)",
    ):
        crnn.gru_backward(da, ([caches[0][0][:4]] * 5, x))
    _, _, cache = crnn.gru_cell_forward(x[:, :, 0], a0, params)
    with pytest.raises(
        ValueError, match=r"da_next must have the shape of a_next: da_next has shape \(4, 2\)"
    ):
        crnn.gru_cell_backward(np.zeros((4, 2)), cache)


def test_dtypes_follow_numpy_promotion_and_inputs_are_untouched():
    x, a0, params, da = random_gru_problem(3, 4, 2, 3, 5, seed=5)
    want, _, _ = reference.gru_forward(x, a0, params)
    for arr in [x, a0, *params.values()]:
        arr.flags.writeable = False
    a, _, _ = crnn.gru_forward((x * 4).round().astype(np.int32), a0, params)
    assert a.dtype == np.float64
    a32, _, _ = crnn.gru_forward(
        x.astype(np.float32),
        a0.astype(np.float32),
        {k: v.astype(np.float32) for k, v in params.items()},
    )
    assert a32.dtype == np.float32
    mixed, _, _ = crnn.gru_forward(x.astype(np.float32), a0, params)
    assert mixed.dtype == np.float64
    # Fortran order, a reversed view and a read-only input give the contiguous result
    for xv in (np.asfortranarray(x), x[:, ::-1, :][:, ::-1, :], x):
        a, _, _ = crnn.gru_forward(xv, np.asfortranarray(a0), params)
        assert_close(a, want, np.float64, "a")


# --- estimators (every cell's tagger learns, saves and loads: test_models.py) ---------


def test_reset_after_needs_the_gru():
    with pytest.raises(
        ValueError, match='reset_after=True is the GRU\'s convention: it needs cell="gru"'
    ):
        crnn.SequenceTagger(cell="lstm", reset_after=True, verbose=False).fit(
            np.zeros((2, 3, 4)), np.zeros((3, 4), int)
        )
