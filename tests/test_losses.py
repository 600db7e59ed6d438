"""crnn.losses against plain numpy (crnn.reference) and finite differences; bad labels."""

import numpy as np
import pytest

from crnn import reference
from crnn.losses import sigmoid, sigmoid_binary_cross_entropy, softmax, softmax_cross_entropy
from crnn.testing import assert_close, numeric_gradient


def _logits(shape=(4, 3, 5), seed=0, dtype=np.float64):
    return (2 * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize(
    "fn, ref_fn, ref_output, n_labels, label_shape",
    [
        (softmax_cross_entropy, reference.softmax_cross_entropy, reference.softmax, 4, (3, 5)),
        (
            sigmoid_binary_cross_entropy,
            reference.sigmoid_binary_cross_entropy,
            reference.sigmoid,
            2,
            (4, 3, 5),
        ),
    ],
)
def test_each_loss_matches_the_reference(fn, ref_fn, ref_output, n_labels, label_shape):
    z = _logits()
    y = np.random.default_rng(1).integers(0, n_labels, label_shape)
    loss, d = fn(z, y)
    ref_loss, ref_d = ref_fn(ref_output(z), y)
    assert_close(loss, ref_loss, np.float64, "loss")
    assert_close(d, ref_d, np.float64, "dlogits")


def test_one_hot_labels_give_the_same_as_indices():
    z = _logits()
    y = np.random.default_rng(3).integers(0, 4, (3, 5))
    one_hot = np.eye(4)[y].transpose(2, 0, 1)
    loss_i, d_i = softmax_cross_entropy(z, y)
    loss_h, d_h = softmax_cross_entropy(z, one_hot)
    assert_close(loss_h, loss_i, np.float64, "loss")
    assert_close(d_h, d_i, np.float64, "dlogits")


def test_the_seeds_m_by_T_tags_work_with_one_output():
    z = _logits((1, 3, 5))
    y = np.random.default_rng(4).integers(0, 2, (3, 5))
    assert sigmoid_binary_cross_entropy(z, y)[0] == sigmoid_binary_cross_entropy(z, y[None])[0]


@pytest.mark.parametrize(
    "fn, labels",
    [
        (softmax_cross_entropy, "indices"),
        (softmax_cross_entropy, "soft"),
        (sigmoid_binary_cross_entropy, "soft"),
    ],
)
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_dlogits_match_finite_differences(fn, labels, reduction):
    z = _logits()
    rng = np.random.default_rng(5)
    if labels == "indices":
        y = rng.integers(0, 4, (3, 5))
    else:
        y = rng.random(z.shape)
        if fn is softmax_cross_entropy:
            y /= y.sum(axis=0)
    _, d = fn(z, y, reduction)
    numeric = numeric_gradient(lambda: fn(z, y, reduction)[0], z)
    np.testing.assert_allclose(d, numeric, rtol=1e-6, atol=1e-9)


def test_mean_is_the_sum_over_the_number_of_positions():
    z = _logits()
    y = np.random.default_rng(6).integers(0, 4, (3, 5))
    total, d_sum = softmax_cross_entropy(z, y, "sum")
    mean, d_mean = softmax_cross_entropy(z, y, "mean")
    assert mean == pytest.approx(total / 15, rel=1e-14)
    np.testing.assert_allclose(d_mean, d_sum / 15, rtol=1e-14)


def test_one_label_per_example_for_many_to_one():
    z = _logits((4, 6))
    y = np.array([0, 1, 2, 3, 0, 1])
    loss, d = softmax_cross_entropy(z, y)
    ref_loss, ref_d = reference.softmax_cross_entropy(reference.softmax(z)[:, :, None], y[:, None])
    assert_close(loss, ref_loss, np.float64, "loss")
    assert_close(d, ref_d[:, :, 0], np.float64, "dlogits")


def test_large_logits_are_stable():
    z = np.array([[1000.0, -1000.0], [0.0, 0.0]])[:, :, None]  # (2, 2, 1)
    loss, d = softmax_cross_entropy(z, np.array([[1], [1]]))
    assert loss == pytest.approx(1000.0 + np.log1p(np.exp(-1000.0)))
    assert np.all(np.isfinite(d))
    loss, d = sigmoid_binary_cross_entropy(np.array([[800.0, -800.0]]), np.array([[0, 1]]))
    assert loss == pytest.approx(1600.0)
    np.testing.assert_array_equal(d, [[1.0, -1.0]])
    assert np.all(np.isfinite(softmax(z))) and np.all(np.isfinite(sigmoid(z)))


def test_float32_is_computed_in_float32():
    z = _logits(dtype=np.float32)
    y = np.random.default_rng(7).integers(0, 4, (3, 5))
    loss, d = softmax_cross_entropy(z, y)
    assert d.dtype == np.float32
    ref_loss, ref_d = reference.softmax_cross_entropy(reference.softmax(z.astype(np.float64)), y)
    assert_close(d, ref_d, np.float32, "dlogits")
    assert_close(loss, ref_loss, np.float32, "loss")


def test_inputs_are_not_modified():
    z = _logits()
    y = np.random.default_rng(8).random(z.shape)
    z0, y0 = z.copy(), y.copy()
    softmax_cross_entropy(z, y)
    sigmoid_binary_cross_entropy(z, y)
    np.testing.assert_array_equal(z, z0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("fn", [softmax_cross_entropy, sigmoid_binary_cross_entropy])
def test_a_label_array_of_the_wrong_shape_is_named(fn):
    with pytest.raises(ValueError, match=r"y must be .*shape.*got shape \(3, 4\)"):
        fn(_logits(), np.zeros((3, 4)))


@pytest.mark.parametrize(
    "y, message",
    [
        (np.full((3, 5), 4), r"y holds 4 at index \(0, 0\).*range\(n_y\) = range\(4\)"),
        (np.full((3, 5), -1), r"y holds -1 .*non-negative"),
        (np.where(np.eye(3, 5) > 0, np.nan, 0.0), r"y holds nan at index \(0, 0\).*finite"),
        (np.full((3, 5), 1.5), r"y holds 1.5 .*integers"),
    ],
)
def test_bad_class_indices_get_clear_errors(y, message):
    with pytest.raises(ValueError, match=message):
        softmax_cross_entropy(_logits(), y)


@pytest.mark.parametrize("fn", [softmax_cross_entropy, sigmoid_binary_cross_entropy])
@pytest.mark.parametrize(
    "value, message", [(np.nan, "finite"), (2.0, r"\[0, 1\]"), (-0.5, r"\[0, 1\]")]
)
def test_bad_one_hot_or_binary_labels_get_clear_errors(fn, value, message):
    y = np.zeros((4, 3, 5))
    y[1, 2, 3] = value
    with pytest.raises(ValueError, match=rf"y holds .* at index \(1, 2, 3\).*{message}"):
        fn(_logits(), y)


def test_bad_reduction_and_logits():
    with pytest.raises(ValueError, match="reduction"):
        softmax_cross_entropy(_logits(), np.zeros((3, 5), int), reduction="avg")
    with pytest.raises(TypeError, match="logits"):
        softmax_cross_entropy(None, np.zeros((3, 5), int))
    with pytest.raises(ValueError, match="n_y >= 1"):
        softmax_cross_entropy(np.zeros((0, 3, 5)), np.zeros((3, 5), int))
