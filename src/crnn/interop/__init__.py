"""Models trained elsewhere, served by crnn: PyTorch, Keras, ONNX and safetensors.

Every ``from_*`` reads a source's recurrent layers (and the output layer that reads
them) into crnn: a fitted ``crnn.SequenceTagger`` when the output layer reads every step
(a ``crnn.SequenceClassifier`` when it reads the last states, as Keras's and ONNX's can),
else a ``crnn.layers.LayerStack``. Handed ``verify=(x, outputs)``, an input and what the source
gave for it, it raises ``ParityError`` unless crnn's outputs agree within ``TOLERANCE``.
Every ``to_*`` writes a crnn model in the source's own terms. None of the frameworks is
needed to convert weights; onnx and safetensors files need the ``crnn[onnx]`` and
``crnn[safetensors]`` extras.
"""

from crnn.interop._keras import from_keras, to_keras_weights
from crnn.interop._network import TOLERANCE, ConversionError, ParityError
from crnn.interop._onnx import from_onnx, to_onnx
from crnn.interop._safetensors import load_safetensors, save_safetensors
from crnn.interop._torch import from_torch, to_torch_state_dict

__all__ = [
    "from_torch",
    "to_torch_state_dict",
    "from_keras",
    "to_keras_weights",
    "from_onnx",
    "to_onnx",
    "load_safetensors",
    "save_safetensors",
    "ConversionError",
    "ParityError",
    "TOLERANCE",
]
