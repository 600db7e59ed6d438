"""safetensors files of PyTorch recurrent models, read and written without torch.

A file holds a module's state dict under PyTorch's names: the recurrent module's keys
(``rnn.weight_ih_l0``, ...) and the output layer's (``linear.weight``,
``linear.bias``), each group under the prefix of the attribute the user's module kept
it in. safetensors (``pip install crnn[safetensors]``) reads them as numpy arrays.
"""

import os

from crnn._model_file import atomic_write
from crnn.interop._network import ConversionError, build, verify_given
from crnn.interop._torch import to_torch_state_dict, torch_network
from crnn.models import DEFAULT_MAX_BYTES

__all__ = ["load_safetensors", "save_safetensors"]


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "crnn.interop's safetensors files need the safetensors package: "
            "pip install crnn[safetensors]"
        ) from None
    return safetensors.numpy


def _group(arrays, prefix):
    """The arrays under prefix, with the prefix taken off."""
    head = prefix + "."
    return {key[len(head) :]: value for key, value in arrays.items() if key.startswith(head)}


def load_safetensors(
    path,
    *,
    rnn=None,
    linear="linear",
    nonlinearity="tanh",
    batch_first=False,
    dtype=None,
    verify=None,
    max_bytes=DEFAULT_MAX_BYTES,
):
    """crnn's model of a PyTorch recurrent model saved as safetensors.

    Arguments:
    path -- the .safetensors file (untrusted: its size is checked before it is read)
    rnn -- the prefix of the recurrent module's keys: None for "rnn" if the file has
           keys under it, else none (as save_safetensors writes a LayerStack's); ""
           for none
    linear -- the prefix of the nn.Linear's keys; the file need not hold them
    nonlinearity -- for an nn.RNN, "tanh" or "relu" (the file does not say)
    batch_first, dtype, verify -- as for from_torch
    max_bytes -- the largest file read (1 GiB by default)

    Returns:
    model -- a fitted crnn.SequenceTagger when the file holds the linear's keys, else a
             crnn.layers.LayerStack
    """
    st = _safetensors_numpy()
    size = os.path.getsize(path)
    if size > max_bytes:
        raise ConversionError(
            f"{os.fspath(path)} has {size} bytes, more than max_bytes={max_bytes}"
        )
    try:
        arrays = st.load_file(path)
    except Exception as exc:  # safetensors' own errors have no common base class
        raise ConversionError(f"{os.fspath(path)} is not a safetensors file: {exc}") from None
    if rnn is None:
        rnn = "rnn" if any(k.startswith("rnn.") for k in arrays) else ""
    head = _group(arrays, linear) if linear else {}
    mine = (f"{linear}.",) if linear else ()
    if rnn:
        state = _group(arrays, rnn)
        mine += (f"{rnn}.",)
        left = sorted(k for k in arrays if not k.startswith(mine))
        if left:
            raise ConversionError(
                f"{os.fspath(path)} holds keys under neither rnn={rnn!r} nor "
                f"linear={linear!r}: {left}"
            )
    else:
        state = {k: v for k, v in arrays.items() if not (mine and k.startswith(mine))}
    network = torch_network(
        state,
        head or None,
        nonlinearity=nonlinearity,
        dtype=dtype,
        what=f"file's {rnn!r}" if rnn else "file",
    )
    model = build(network)
    if verify is not None:
        verify_given(model, verify, batch_first)
    return model


def save_safetensors(model, path, *, rnn=None, linear="linear"):
    """Write a crnn model's weights as safetensors under PyTorch's names
    (to_torch_state_dict's), which ``load_state_dict`` of the PyTorch model loads after
    ``safetensors.torch.load_file``. The file is written atomically, as crnn's model
    files are.

    Arguments:
    model -- a crnn.layers.LayerStack, or a fitted SequenceTagger or SequenceClassifier
    path -- where to write it
    rnn, linear -- the prefixes of the keys, as for to_torch_state_dict
    """
    st = _safetensors_numpy()
    data = st.save(to_torch_state_dict(model, rnn=rnn, linear=linear))
    atomic_write(path, lambda f: f.write(data))
