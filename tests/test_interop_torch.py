"""crnn.interop and PyTorch: from_torch, to_torch_state_dict and safetensors files.

The fixtures (tests/data/interop/torch.npz, made by tools/make_torch_fixtures.py with
real PyTorch) check the conversions without torch; with torch installed, the same checks
run on random modules of every form.
"""

import functools
import itertools
import json
import pathlib

import numpy as np
import pytest

import crnn
from crnn.interop import (
    TOLERANCE,
    ConversionError,
    ParityError,
    from_torch,
    load_safetensors,
    save_safetensors,
    to_torch_state_dict,
)
from crnn.layers import LayerStack

DATA = pathlib.Path(__file__).parent / "data" / "interop"

#: (module, nonlinearity) of every recurrent module PyTorch has
MODULES = [("RNN", "tanh"), ("RNN", "relu"), ("LSTM", None), ("GRU", None)]
#: every form: module × num_layers × bidirectional × dtype; batch_first alternates
CASES = [
    (module, nonlinearity, layers, bidirectional, (k % 2 == 1), dtype)
    for k, ((module, nonlinearity), layers, bidirectional, dtype) in enumerate(
        itertools.product(MODULES, (1, 2), (False, True), ("float32", "float64"))
    )
]
N_X, N_A, N_Y, M, T = 3, 4, 3, 2, 5


def case_name(case):
    module, nonlinearity, layers, bidirectional, batch_first, dtype = case
    return "-".join(
        [module + (f"_{nonlinearity}" if nonlinearity else ""), f"l{layers}"]
        + ["bi"] * bidirectional
        + ["bf"] * batch_first
        + [dtype]
    )


def make_case(torch, module, nonlinearity, layers, bidirectional, batch_first, dtype, seed=0):
    """A random PyTorch module and nn.Linear, an input and PyTorch's outputs for it, as
    numpy arrays: "rnn/<key>", "linear/<key>", "x", "out" (the module's output
    sequence), "proba" (the softmax of the linear's), and "config" (JSON)."""
    torch.manual_seed(seed)
    tdtype = getattr(torch, dtype)
    kwargs = {"nonlinearity": nonlinearity} if nonlinearity else {}
    rnn = getattr(torch.nn, module)(
        N_X,
        N_A,
        num_layers=layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        dtype=tdtype,
        **kwargs,
    )
    linear = torch.nn.Linear(N_A * (1 + bidirectional), N_Y, dtype=tdtype)
    x = torch.randn((M, T, N_X) if batch_first else (T, M, N_X), dtype=tdtype)
    with torch.no_grad():
        out, _ = rnn(x)
        proba = torch.softmax(linear(out), dim=-1)
    config = {"nonlinearity": nonlinearity or "tanh", "batch_first": batch_first}
    arrays = {f"rnn/{k}": v.numpy() for k, v in rnn.state_dict().items()}
    arrays.update({f"linear/{k}": v.numpy() for k, v in linear.state_dict().items()})
    arrays.update(x=x.numpy(), out=out.numpy(), proba=proba.numpy())
    arrays["config"] = np.array(json.dumps(config))
    return arrays


def group(arrays, prefix):
    return {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


@functools.cache
def fixtures():
    """The cases of torch.npz by name."""
    with np.load(DATA / "torch.npz") as f:
        arrays = {k: f[k] for k in f.files}
    names = sorted({k.split("/", 1)[0] for k in arrays})
    return {name: group(arrays, name) for name in names}


NAMES = [case_name(c) for c in CASES]


def convert(case, linear=True):
    config = json.loads(str(case["config"]))
    return from_torch(
        group(case, "rnn"),
        group(case, "linear") if linear else None,
        nonlinearity=config["nonlinearity"],
        batch_first=config["batch_first"],
    ), config["batch_first"]


def source_layout(out, batch_first):
    """crnn's (n, m, T_x) as PyTorch's (T_x, m, n) or (m, T_x, n)."""
    return out.transpose((1, 2, 0) if batch_first else (2, 1, 0))


def course_layout(x, batch_first):
    return x.transpose((2, 0, 1) if batch_first else (2, 1, 0))


def test_the_fixtures_hold_every_form():
    assert sorted(fixtures()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_module_with_its_linear_gives_pytorchs_probabilities(name):
    case = fixtures()[name]
    model, batch_first = convert(case)
    assert isinstance(model, crnn.SequenceTagger)
    assert model.dtype == case["x"].dtype.name
    proba = model.predict_proba(course_layout(case["x"], batch_first))
    tol = TOLERANCE[case["x"].dtype]
    np.testing.assert_allclose(source_layout(proba, batch_first), case["proba"], rtol=0, atol=tol)
    np.testing.assert_array_equal(model.classes_, np.arange(N_Y))


@pytest.mark.parametrize("name", NAMES)
def test_a_module_alone_gives_pytorchs_output_sequence(name):
    case = fixtures()[name]
    stack, batch_first = convert(case, linear=False)
    assert isinstance(stack, LayerStack)
    out = stack.forward(course_layout(case["x"], batch_first))
    tol = TOLERANCE[case["x"].dtype]
    np.testing.assert_allclose(source_layout(out, batch_first), case["out"], rtol=0, atol=tol)


@pytest.mark.parametrize("name", NAMES)
def test_verify_passes_on_pytorchs_outputs_and_fails_on_others(name):
    case = fixtures()[name]
    config = json.loads(str(case["config"]))
    args = (group(case, "rnn"), group(case, "linear"))
    kwargs = {"nonlinearity": config["nonlinearity"], "batch_first": config["batch_first"]}
    from_torch(*args, **kwargs, verify=(case["x"], case["proba"]))
    wrong = case["proba"].copy()
    wrong[0, 0, 0] += 1e-3
    with pytest.raises(ParityError, match=r"differ from the source's by 0\.001"):
        from_torch(*args, **kwargs, verify=(case["x"], wrong))


@pytest.mark.parametrize("name", NAMES)
def test_the_state_dict_written_back_converts_to_the_same_model(name):
    case = fixtures()[name]
    model, batch_first = convert(case)
    state = to_torch_state_dict(model)
    assert set(state) == {f"rnn.{k}" for k in group(case, "rnn")} | {
        "linear.weight",
        "linear.bias",
    }
    again = from_torch(
        {k[4:]: v for k, v in state.items() if k.startswith("rnn.")},
        {"weight": state["linear.weight"], "bias": state["linear.bias"]},
        nonlinearity=model.activation,
    )
    assert again.get_params() == model.get_params()
    for key, value in model.parameters_.items():
        np.testing.assert_array_equal(again.parameters_[key], value)
    # a stack's keys carry no prefix: nn.RNN, nn.LSTM and nn.GRU load them as they are
    stack, _ = convert(case, linear=False)
    assert set(to_torch_state_dict(stack)) == set(group(case, "rnn"))


def test_a_converted_model_is_saved_and_loaded_as_crnn_models_are(tmp_path):
    case = fixtures()[case_name(CASES[-1])]
    model, batch_first = convert(case)
    model.save(tmp_path / "model.npz")
    loaded = crnn.load_model(tmp_path / "model.npz")
    x = course_layout(case["x"], batch_first)
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert loaded.n_epochs_ == 0 and loaded.loss_curve_ == []


def test_the_converted_model_does_not_share_the_sources_arrays():
    case = fixtures()[case_name(CASES[0])]
    state = group(case, "rnn")
    before = {k: v.copy() for k, v in state.items()}
    model, _ = convert(case)
    for value in model.parameters_.values():
        value += 1
    for key, value in state.items():
        np.testing.assert_array_equal(value, before[key])


# --- bad input ---------------------------------------------------------------------


def state_of():
    """A two-layer bidirectional LSTM's state dict and its linear's."""
    case = fixtures()[next(n for n in NAMES if n.startswith("LSTM-l2-bi"))]
    return group(case, "rnn"), group(case, "linear")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.pop("weight_ih_l1_reverse"), r"misses \['weight_ih_l1_reverse'\]"),
        (lambda s: s.pop("bias_hh_l0"), r"misses \['bias_hh_l0'\]"),
        (lambda s: s.pop("weight_hh_l0"), "no key 'weight_hh_l0'"),
        (lambda s: s.update(weight_hr_l0=np.zeros((16, 4))), r"\['weight_hr_l0'\].*proj_size"),
        (lambda s: s.update(surprise=np.zeros(1)), r"not weights of .*\['surprise'\]"),
        (
            lambda s: s.update(weight_hh_l1=np.zeros((16, 5))),
            r"weight_hh_l1 must have shape \(16, 4\), got \(16, 5\)",
        ),
        (
            lambda s: s.update(weight_ih_l1=np.zeros((16, 4))),
            r"weight_ih_l1 must have shape \(16, 8\), got \(16, 4\)",
        ),
        (lambda s: s.update(bias_ih_l0=np.zeros(15)), r"bias_ih_l0 must have shape \(16,\)"),
        (
            lambda s: s.update(weight_hh_l300000000=np.zeros((16, 4))),
            "keys of layer 300000000 but none of layer 2",
        ),
        (lambda s: s.update(weight_ih_l0=np.zeros((16, 0))), r"\(16, n_x\) with n_x >= 1"),
        (lambda s: s.update(weight_ih_l0=np.zeros(16)), r"\(16, n_x\) with n_x >= 1"),
        (lambda s: s.update(bias_hh_l0=np.zeros(16, complex)), "complex128 values"),
        (lambda s: s.update(bias_hh_l0=np.array([None] * 16)), "object values"),
        (lambda s: s.update(weight_hh_l0=np.zeros((10, 4))), "G = 1 .*got shape \\(10, 4\\)"),
        (lambda s: s["weight_ih_l0"].__setitem__((0, 0), np.nan), "weight_ih_l0 holds non-finite"),
        (
            lambda s: s.update(weight_hh_l0=s["weight_hh_l0"].astype(np.float16)),
            "weight_hh_l0 is float16",
        ),
    ],
)
def test_a_damaged_state_dict_is_refused_naming_the_key(change, match):
    state, linear = state_of()
    state = {k: v.copy() for k, v in state.items()}
    change(state)
    with pytest.raises(ConversionError, match=match):
        from_torch(state, linear)


@pytest.mark.parametrize(
    ("linear", "match"),
    [
        ({"weight": np.zeros((3, 4))}, r"linear.weight must be \(n_y, 8\).*\(3, 4\)"),
        ({"weight": np.zeros((3, 8)), "bias": np.zeros(2)}, r"linear.bias must have shape \(3,\)"),
        ({"weight": np.zeros((3, 8)), "scale": np.zeros(3)}, "must hold 'weight' and 'bias'"),
    ],
)
def test_a_wrong_linear_is_refused_naming_it(linear, match):
    state, _ = state_of()
    with pytest.raises(ConversionError, match=match):
        from_torch(state, linear)


def test_verify_refuses_an_input_without_steps_or_sequences():
    state, _ = state_of()
    for x, out in [
        (np.zeros((0, 2, 3)), np.zeros((0, 2, 8))),
        (np.zeros((5, 0, 3)), np.zeros((5, 0, 8))),
    ]:
        with pytest.raises(ValueError, match="with some steps and sequences"):
            from_torch(state, verify=(x, out))


def test_exported_arrays_are_the_callers_own():
    case = fixtures()[NAMES[0]]
    model, batch_first = convert(case)
    x = course_layout(case["x"], batch_first)
    before = model.predict_proba(x)
    for value in to_torch_state_dict(model).values():
        value += 1
    np.testing.assert_array_equal(model.predict_proba(x), before)


def test_a_conversion_dtype_must_be_one_crnn_computes_in():
    state, linear = state_of()
    with pytest.raises(ConversionError, match="dtype must be float32 or float64, got float16"):
        from_torch(state, linear, dtype=np.float16)


def test_a_float16_state_dict_converts_when_given_a_dtype():
    state, linear = state_of()
    half = {k: v.astype(np.float16) for k, v in state.items()}
    model = from_torch(half, linear, dtype=np.float32)
    assert model.dtype == "float32"


def test_the_lectures_gru_has_no_pytorch_state_dict():
    layer = crnn.testing.random_gru_problem(3, 4, 2, 2, 5)[2]
    del layer["Wy"], layer["by"]
    stack = LayerStack({"layer0": layer}, cell="gru")
    with pytest.raises(ConversionError, match="reset_after convention only"):
        to_torch_state_dict(stack)


def test_verify_refuses_outputs_of_another_shape():
    state, linear = state_of()
    x = np.zeros((5, 2, 3))
    with pytest.raises(ValueError, match=r"shape of the source's for that input, \(5, 2, 3\)"):
        from_torch(state, linear, verify=(x, np.zeros((5, 2, 4))))


# --- safetensors ---------------------------------------------------------------------


def test_a_pytorch_models_safetensors_file_is_served():
    pytest.importorskip("safetensors")
    with np.load(DATA / "torch_tagger.npz") as f:
        x, proba = f["x"], f["proba"]
    model = load_safetensors(DATA / "torch_tagger.safetensors", batch_first=True, verify=(x, proba))
    assert isinstance(model, crnn.SequenceTagger) and model.bidirectional


def test_safetensors_written_by_crnn_are_read_back_the_same(tmp_path):
    pytest.importorskip("safetensors")
    model, _ = convert(fixtures()[case_name(CASES[5])])
    save_safetensors(model, tmp_path / "m.safetensors")
    again = load_safetensors(tmp_path / "m.safetensors", nonlinearity=model.activation)
    for key, value in model.parameters_.items():
        np.testing.assert_array_equal(again.parameters_[key], value)
    stack, _ = convert(fixtures()[case_name(CASES[5])], linear=False)
    save_safetensors(stack, tmp_path / "s.safetensors")
    assert isinstance(load_safetensors(tmp_path / "s.safetensors"), LayerStack)


def test_safetensors_replace_a_file_keeping_its_permissions(tmp_path):
    pytest.importorskip("safetensors")
    model, _ = convert(fixtures()[NAMES[0]])
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old")
    path.chmod(0o640)
    save_safetensors(model, path)
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    assert isinstance(load_safetensors(path, nonlinearity="tanh"), crnn.SequenceTagger)


def test_a_damaged_safetensors_file_is_refused(tmp_path):
    pytest.importorskip("safetensors")
    data = (DATA / "torch_tagger.safetensors").read_bytes()
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConversionError, match="is not a safetensors file"):
        load_safetensors(path)
    with pytest.raises(ConversionError, match="more than max_bytes=100"):
        load_safetensors(DATA / "torch_tagger.safetensors", max_bytes=100)
    with pytest.raises(ConversionError, match=r"neither rnn='lstm' nor linear='linear'"):
        load_safetensors(DATA / "torch_tagger.safetensors", rnn="lstm")


# --- live, with PyTorch ------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES + [(*c[:4], not c[4], c[5]) for c in CASES], ids=case_name)
def test_every_form_round_trips_through_pytorch(case):
    torch = pytest.importorskip("torch")
    module, nonlinearity, layers, bidirectional, batch_first, dtype = case
    arrays = make_case(torch, *case, seed=7)
    kwargs = {"nonlinearity": nonlinearity} if nonlinearity else {}
    rnn = getattr(torch.nn, module)(
        N_X, N_A, layers, bidirectional=bidirectional, batch_first=batch_first, **kwargs
    ).to(getattr(torch, dtype))
    rnn.load_state_dict({k: torch.from_numpy(v) for k, v in group(arrays, "rnn").items()})
    linear = torch.nn.Linear(N_A * (1 + bidirectional), N_Y).to(getattr(torch, dtype))
    linear.load_state_dict({k: torch.from_numpy(v) for k, v in group(arrays, "linear").items()})
    model = from_torch(rnn, linear, verify=(arrays["x"], arrays["proba"]))
    # and back: a fresh module loads crnn's state dict and gives crnn's outputs
    state = to_torch_state_dict(model)
    fresh = getattr(torch.nn, module)(
        N_X, N_A, layers, bidirectional=bidirectional, batch_first=batch_first, **kwargs
    ).to(getattr(torch, dtype))
    fresh.load_state_dict({k[4:]: torch.from_numpy(v) for k, v in state.items() if k[:4] == "rnn."})
    with torch.no_grad():
        out, _ = fresh(torch.from_numpy(arrays["x"]))
        proba = torch.softmax(
            out @ torch.from_numpy(state["linear.weight"]).T
            + torch.from_numpy(state["linear.bias"]),
            dim=-1,
        )
    ours = model.predict_proba(course_layout(arrays["x"], batch_first))
    np.testing.assert_allclose(
        proba.numpy(), source_layout(ours, batch_first), rtol=0, atol=TOLERANCE[np.dtype(dtype)]
    )


@pytest.mark.parametrize("module", ["RNN", "LSTM", "GRU"])
def test_packed_sequences_match_crnn_lengths(module):
    torch = pytest.importorskip("torch")
    torch.manual_seed(3)
    rnn = getattr(torch.nn, module)(N_X, N_A, 2, bidirectional=True, dtype=torch.float64)
    x = torch.randn(T, 3, N_X, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 4])
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    with torch.no_grad():
        out, _ = rnn(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    from_torch(rnn, verify=(x, out, lengths.numpy()))


def test_a_module_without_biases_converts():
    torch = pytest.importorskip("torch")
    rnn = torch.nn.GRU(N_X, N_A, 2, bias=False, batch_first=True)
    x = torch.randn(M, T, N_X)
    with torch.no_grad():
        out, _ = rnn(x)
    stack = from_torch(rnn, verify=(x, out))
    assert not np.any(stack.parameters["layer1"]["bcx"])


def test_a_bfloat16_module_converts_when_given_a_dtype():
    torch = pytest.importorskip("torch")
    rnn = torch.nn.LSTM(N_X, N_A).to(torch.bfloat16)
    with pytest.raises(ConversionError, match=r"torch\.bfloat16.*pass dtype="):
        from_torch(rnn)
    stack = from_torch(rnn, dtype=np.float32)
    np.testing.assert_array_equal(
        stack.parameters["layer0"]["Wi"][:, N_A:], rnn.weight_ih_l0.detach().float().numpy()[:N_A]
    )


def test_modules_crnn_does_not_compute_are_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(ConversionError, match="proj_size=2"):
        from_torch(torch.nn.LSTM(N_X, N_A, proj_size=2))
    with pytest.raises(ConversionError, match="got Linear"):
        from_torch(torch.nn.Linear(N_X, N_A))
    with pytest.raises(ConversionError, match=r"linear must be nn\.Linear, got RNN"):
        from_torch(torch.nn.RNN(N_X, N_A), torch.nn.RNN(N_A, N_Y))
