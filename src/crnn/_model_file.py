"""crnn's model files, read as untrusted input.

A model file is a zip (numpy's ``.npz``) of one ``.npy`` member per parameter plus a JSON
metadata member. Nothing is unpickled. The reader takes the metadata first, has the caller
check it and derive from it the exact shape and dtype of every array, then compares each
member's ``.npy`` header with that before it reads the member's data. The bytes read are
bounded: the metadata by ``METADATA_MAX_BYTES``, the arrays by what their checked headers
declare and by the caller's ``max_bytes``. So a small file cannot make crnn decompress
or allocate much more than the model it claims to hold.
"""

import contextlib
import json
import math
import os
import secrets
import stat
import zipfile

import numpy as np

#: The name of the JSON metadata member (without ``.npy``).
METADATA = "__crnn_metadata__"
#: The most bytes the metadata member may take.
METADATA_MAX_BYTES = 1 << 20


class ModelFileError(ValueError):
    """A model file that crnn cannot load: damaged, not crnn's, or from another version."""


def json_default(value):
    """What JSON writes for the numpy values of a model's metadata."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.random.Generator):
        return None  # a Generator's state is not kept: the file holds the fitted model
    return str(np.dtype(value))


def describe(file):
    """What messages call file: its path, or the name of an open file."""
    if isinstance(file, (str, os.PathLike)):
        return os.fspath(file)
    return str(getattr(file, "name", f"<{type(file).__name__}>"))


def write(file, metadata, arrays):
    """Write arrays and metadata (JSON-able) to file, a path (atomically: see
    atomic_write) or a binary file object."""
    members = {**arrays, METADATA: np.array(json.dumps(metadata, default=json_default))}
    if hasattr(file, "write"):
        np.savez(file, **members)
        return
    # np.savez would add ".npz" to a path: written exactly where the caller said
    atomic_write(file, lambda f: np.savez(f, **members))


def atomic_write(path, write):
    """Call write(f) on a binary file object whose bytes become the file at path.

    The path is written atomically: to a temporary file in the same folder, flushed to
    disk, then renamed over the path, so that the path holds the old file or the whole
    new one, never a part, whatever stops the writing. A file replaced keeps its
    permissions; a symbolic link stays one, its target replaced.
    """
    path = os.path.realpath(os.fsdecode(path))
    folder = os.path.dirname(path)
    # created as open() creates a file, with the permissions the umask leaves, or those
    # of the file it replaces
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temporary, flags, 0o666)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder):
    """Flush a rename in folder to disk, where the system allows it (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read(file, check_metadata, max_bytes):
    """The metadata and arrays of a model file, read in that order.

    Arguments:
    file -- a path or a binary file object
    check_metadata -- called with the metadata dict; raises ModelFileError naming the
                      field it refuses, else returns {key: (shape, dtype)}, every array the
                      file must hold
    max_bytes -- the most bytes the arrays may take together

    Returns:
    metadata -- the dict check_metadata accepted
    arrays -- dict key -> a writable array of exactly the shape and dtype expected
    """
    name = describe(file)
    try:
        with zipfile.ZipFile(file) as zf:
            members = {info.filename: info for info in zf.infolist()}
            info = members.get(METADATA + ".npy")
            if info is None:
                raise ModelFileError(f"{name} is not a crnn model file: it has no {METADATA} entry")
            text = _member(zf, info, (), None, METADATA_MAX_BYTES, name)
            try:
                metadata = json.loads(str(text[()]))
            except (ValueError, TypeError) as exc:
                raise ModelFileError(f"{name}: its metadata is not JSON: {exc}") from None
            if not isinstance(metadata, dict):
                raise ModelFileError(f"{name}: its metadata is not a JSON object")
            expected = check_metadata(metadata)
            listed = sorted(k.removesuffix(".npy") for k in members if k != METADATA + ".npy")
            if listed != sorted(expected):
                raise ModelFileError(
                    f"{name} holds the arrays {listed}, "
                    f"but its metadata asks for {sorted(expected)}"
                )
            total = sum(
                math.prod(shape) * np.dtype(dtype).itemsize for shape, dtype in expected.values()
            )
            if total > max_bytes:
                raise ModelFileError(
                    f"{name} declares arrays of {total} bytes, past max_bytes = {max_bytes}; "
                    f"pass a larger max_bytes to load a model this large"
                )
            arrays = {
                key: _member(zf, members[key + ".npy"], shape, np.dtype(dtype), None, name)
                for key, (shape, dtype) in expected.items()
            }
    except ModelFileError:
        raise
    except FileNotFoundError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as exc:  # zipfile's and zlib's own errors
        raise ModelFileError(f"{name} is not a crnn model file or is damaged: {exc!r}") from None
    return metadata, arrays


def _member(zf, info, shape, dtype, limit, name):
    """The array of member info, after checking its .npy header: shape and dtype as
    expected (dtype None: the metadata's string, at most limit bytes)."""
    key = info.filename[:-4]
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            declared, fortran, declared_dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            declared, fortran, declared_dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ModelFileError(f"{name}: the array {key!r} has .npy format {version}")
        if dtype is None:  # the metadata: one unicode string of bounded length
            ok = declared == () and declared_dtype.kind == "U"
            if not ok or declared_dtype.itemsize > limit:
                raise ModelFileError(
                    f"{name}: its metadata must be one string of at most {limit} bytes, "
                    f"got {declared_dtype} of shape {declared}"
                )
            dtype = declared_dtype
        elif declared != tuple(shape) or declared_dtype != dtype:
            raise ModelFileError(
                f"{name}: the array {key!r} must be {dtype} of shape {tuple(shape)}, "
                f"its header declares {declared_dtype} of shape {declared}"
            )
        nbytes = math.prod(declared) * dtype.itemsize
        buffer = bytearray(nbytes)
        view, got = memoryview(buffer), 0
        while got < nbytes:
            n = f.readinto(view[got:])
            if not n:
                raise ModelFileError(f"{name}: the array {key!r} is truncated")
            got += n
        if f.read(1):  # also makes zipfile check the member's CRC
            raise ModelFileError(f"{name}: the array {key!r} has data past its declared shape")
    order = "F" if fortran else "C"
    return np.frombuffer(buffer, dtype).reshape(declared, order=order)
