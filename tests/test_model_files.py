"""Model files are untrusted input: checked metadata first, bounded reads, clear errors."""

import io
import json
import resource
import sys
import zipfile

import numpy as np
import pytest

import crnn
from crnn import ModelFileError, SequenceClassifier, SequenceTagger


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small fitted tagger saved to a file; (model, path)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 20, 5))
    y = (x[0] > 0).astype(int)
    model = SequenceTagger(n_a=4, epochs=2, verbose=False).fit(x, y)
    path = tmp_path_factory.mktemp("model") / "tagger.npz"
    model.save(path)
    return model, path


def test_save_and_load_through_file_objects(saved):
    model, _ = saved
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    loaded = crnn.load_model(buffer)
    x = np.random.default_rng(1).standard_normal((3, 4, 5))
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(loaded.classes_, model.classes_)


def _set(key, value):
    return lambda meta: meta.__setitem__(key, value)


def _set_param(key, value):
    return lambda meta: meta["params"].__setitem__(key, value)


@pytest.mark.parametrize(
    "change, field",
    [
        (_set("n_classes_", 10**12), "n_classes_"),
        (_set("n_classes_", "two"), "n_classes_"),
        (_set("n_classes_", -3), "n_classes_"),
        (_set("n_classes_", 3), "classes_"),
        (_set("n_features_in_", 99), "Wax"),
        (_set("n_features_in_", True), "n_features_in_"),
        (_set_param("n_a", "big"), "params"),
        (_set_param("n_a", 5), "Wax"),
        (_set_param("cell", "elman"), "params"),
        (_set_param("cell", "gru"), "Wu"),
        (_set_param("activation", "sigmoid"), "params"),
        (_set_param("dtype", "float32"), "Wax"),
        (_set_param("surprise", 1), "params"),
        (_set("params", [1, 2]), "params"),
        (_set("class", "Pipeline"), "class"),
        (_set("classes_", [1, 0]), "classes_"),
        (_set("loss_curve_", ["nan"]), "loss_curve_"),
        (_set("n_epochs_", 10**9), "n_epochs_"),
        (_set("best_epoch_", 0), "best_epoch_"),
        (lambda meta: meta.pop("loss_curve_"), "loss_curve_"),
    ],
)
def test_tampered_metadata_is_refused_naming_the_field(
    saved, tmp_path, change, field, rewrite_model_file
):
    _, path = saved
    bad = rewrite_model_file(path, tmp_path / "bad.npz", change)
    with pytest.raises(ModelFileError, match=f"bad.npz.*{field}"):
        crnn.load_model(bad)


@pytest.mark.parametrize(
    "change, what",
    [
        (
            lambda a: a.__setitem__("Waa", a["Waa"][:, :3]),
            "'Waa' must be float64 of shape \\(4, 4\\)",
        ),
        (
            lambda a: a.__setitem__("Wya", np.zeros((3, 4))),
            "'Wya' must be float64 of shape \\(2, 4\\)",
        ),
        (lambda a: a.__setitem__("by", a["by"].astype(np.float32)), "'by' must be float64"),
        (lambda a: a.pop("ba"), "arrays \\['Waa', 'Wax', 'Wya', 'by'\\]"),
        (lambda a: a.__setitem__("extra", np.zeros(2)), "'extra'"),
        (lambda a: a.__setitem__("Wax", np.full_like(a["Wax"], np.inf)), "'Wax' holds non-finite"),
    ],
)
def test_arrays_that_do_not_fit_the_metadata_are_refused(
    saved, tmp_path, change, what, rewrite_model_file
):
    _, path = saved
    bad = rewrite_model_file(path, tmp_path / "bad.npz", change_arrays=change)
    with pytest.raises(ModelFileError, match=what):
        crnn.load_model(bad)


def _peak_rss_mib():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


@pytest.mark.slow  # it writes 512 MiB of zeros through zlib
@pytest.mark.skipif(sys.platform == "win32", reason="resource is POSIX")
def test_a_compressed_bomb_is_refused_before_it_is_decompressed(
    saved, tmp_path, model_file_members
):
    _, path = saved
    arrays, meta = model_file_members(path)
    bomb = tmp_path / "bomb.npz"
    # "Wax" declares 512 MiB of zeros, which deflate to about 0.5 MB
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for key, arr in arrays.items():
            with z.open(f"{key}.npy", "w") as f:
                if key == "Wax":
                    np.lib.format.write_array_header_1_0(
                        f, {"descr": "<f8", "fortran_order": False, "shape": (8192, 8192)}
                    )
                    zeros = bytes(1 << 20)
                    for _ in range(512):
                        f.write(zeros)
                else:
                    np.lib.format.write_array(f, arr)
        with z.open("__crnn_metadata__.npy", "w") as f:
            np.lib.format.write_array(f, np.array(json.dumps(meta)))
    assert bomb.stat().st_size < 4 << 20
    before = _peak_rss_mib()
    with pytest.raises(
        ModelFileError, match="'Wax' must be float64 of shape \\(4, 3\\), its header declares"
    ):
        crnn.load_model(bomb)
    assert _peak_rss_mib() - before < 64


def test_a_consistent_but_huge_model_is_refused_past_max_bytes(saved, tmp_path, rewrite_model_file):
    _, path = saved
    big = rewrite_model_file(
        path, tmp_path / "big.npz", lambda meta: meta["params"].__setitem__("n_a", 40000)
    )
    with pytest.raises(ModelFileError, match="past max_bytes = 1000"):
        crnn.load_model(big, max_bytes=1000)
    with pytest.raises(ModelFileError, match="past max_bytes"):
        crnn.load_model(big)  # 1 GiB by default: a 40000-unit RNN takes 12.8 GB


def test_a_foreign_version_is_refused_before_any_array_is_read(
    saved, tmp_path, monkeypatch, rewrite_model_file
):
    _, path = saved
    old = rewrite_model_file(path, tmp_path / "old.npz", _set("crnn_version", "0.0.1"))
    read, real = [], crnn._model_file._member
    monkeypatch.setattr(
        crnn._model_file,
        "_member",
        lambda zf, info, *a: read.append(info.filename) or real(zf, info, *a),
    )
    with pytest.raises(ModelFileError, match=r"saved by crnn 0\.0\.1"):
        crnn.load_model(old)
    assert read == ["__crnn_metadata__.npy"]


def test_a_huge_metadata_entry_is_refused(saved, tmp_path, model_file_members):
    _, path = saved
    arrays, meta = model_file_members(path)
    meta["padding"] = "x" * (2 << 20)
    arrays["__crnn_metadata__"] = np.array(json.dumps(meta))
    with open(tmp_path / "fat.npz", "wb") as out:
        np.savez(out, **arrays)
    with pytest.raises(ModelFileError, match="metadata must be one string of at most"):
        crnn.load_model(tmp_path / "fat.npz")


def test_every_truncation_gets_a_clear_error(saved, tmp_path):
    _, path = saved
    data = path.read_bytes()
    for cut in range(len(data)):
        with pytest.raises(ModelFileError):
            crnn.load_model(io.BytesIO(data[:cut]))


def _same_model(a, b):
    return (
        a.get_params() == b.get_params()
        and a.classes_.tolist() == b.classes_.tolist()
        and a.loss_curve_ == b.loss_curve_
        and a.parameters_.keys() == b.parameters_.keys()
        and all(np.array_equal(a.parameters_[k], b.parameters_[k]) for k in a.parameters_)
    )


def test_every_flipped_byte_gets_a_clear_error_or_the_same_model(saved):
    """A byte the zip format checks (its CRCs, sizes, headers) or crnn checks (the metadata,
    the arrays' headers) gets a ModelFileError; one it never reads (a timestamp, say)
    changes nothing: never another exception, never another model."""
    model, path = saved
    data = path.read_bytes()
    harmless = 0
    for at in range(len(data)):
        damaged = bytearray(data)
        damaged[at] ^= 0xFF
        try:
            loaded = crnn.load_model(io.BytesIO(bytes(damaged)))
        except ModelFileError:
            continue
        assert _same_model(loaded, model), f"byte {at} of {len(data)} flipped gave another model"
        harmless += 1
    assert harmless < len(data) // 10  # the most of the file is checked


def test_the_loaded_model_is_of_the_class_asked_for(saved):
    _, path = saved
    with pytest.raises(ModelFileError, match="holds a SequenceTagger, not a SequenceClassifier"):
        SequenceClassifier.load(path)
    assert isinstance(SequenceTagger.load(path), SequenceTagger)


def test_save_replaces_the_file_whole_or_not_at_all(tmp_path, monkeypatch):
    import crnn._model_file as model_file

    rng = np.random.default_rng(0)
    model = crnn.SequenceTagger(n_a=3, epochs=1, verbose=False)
    model.fit(rng.standard_normal((2, 4, 3)), rng.integers(0, 2, (4, 3)))
    path = tmp_path / "model.npz"
    model.save(path)
    before = path.read_bytes()
    assert (path.stat().st_mode & 0o777) == 0o666 & ~_umask()

    def fails(f, **members):
        f.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(model_file.np, "savez", fails)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before  # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no temporary left


def _umask():
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and symbolic links")
def test_save_keeps_a_replaced_files_permissions_and_a_symbolic_link(saved, tmp_path):
    import os

    model, _ = saved
    private = tmp_path / "private.npz"
    model.save(private)
    private.chmod(0o600)
    model.save(private)
    assert (private.stat().st_mode & 0o777) == 0o600
    link = tmp_path / "link.npz"
    link.symlink_to(private)
    model.save(link)
    assert link.is_symlink() and os.path.samefile(link, private)
    model.save(os.fsencode(tmp_path / "bytes.npz"))  # a bytes path, as open() takes
    assert crnn.load_model(tmp_path / "bytes.npz").n_epochs_ == model.n_epochs_
