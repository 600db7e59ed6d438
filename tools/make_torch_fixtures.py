"""Make the PyTorch fixtures of tests/test_interop_torch.py with real PyTorch, so that
crnn.interop's conversions are checked in CI without torch:

- tests/data/interop/torch.npz: a random module and nn.Linear of every form, an input
  and PyTorch's outputs for it;
- tests/data/interop/torch_tagger.safetensors: a model (a bidirectional LSTM and its
  nn.Linear, batch_first) saved by safetensors.torch, and torch_tagger.npz: an input and
  the model's probabilities.

    python tools/make_torch_fixtures.py        # needs torch and safetensors
"""

import pathlib
import sys

import numpy as np
import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_interop_torch import CASES, case_name, make_case  # noqa: E402

OUT = ROOT / "tests" / "data" / "interop"


class Tagger(torch.nn.Module):
    """A tagger as PyTorch users write one: a recurrent module, then a linear layer."""

    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
        self.linear = torch.nn.Linear(8, 3)

    def forward(self, x):
        return torch.softmax(self.linear(self.rnn(x)[0]), dim=-1)


def main():
    arrays = {}
    for k, case in enumerate(CASES):
        for key, value in make_case(torch, *case, seed=100 + k).items():
            arrays[f"{case_name(case)}/{key}"] = value
    np.savez_compressed(OUT / "torch.npz", **arrays)
    torch.manual_seed(1)
    tagger = Tagger()
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        proba = tagger(x)
    save_file(tagger.state_dict(), OUT / "torch_tagger.safetensors")
    np.savez_compressed(OUT / "torch_tagger.npz", x=x.numpy(), proba=proba.numpy())
    for path in sorted(OUT.glob("torch*")):
        print(f"wrote {path} ({path.stat().st_size} bytes) with torch {torch.__version__}")


if __name__ == "__main__":
    main()
