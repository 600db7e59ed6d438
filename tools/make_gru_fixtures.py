"""Make tests/data/gru_torch.npz: small nn.GRU runs by real PyTorch, so that the GRU is
checked against PyTorch in CI without torch.

    python tools/make_gru_fixtures.py        # needs torch
"""

import pathlib
import sys

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_gru import make_case  # noqa: E402

SIZES = [(3, 4, 2, 5), (6, 8, 3, 7), (2, 1, 1, 4)]  # (n_x, n_a, m, T)


def main():
    arrays = {}
    for k, sizes in enumerate(SIZES):
        for key, value in make_case(torch, *sizes, seed=100 + k).items():
            arrays[f"case{k}/{key}"] = value
    out = ROOT / "tests" / "data" / "gru_torch.npz"
    np.savez_compressed(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size} bytes) with torch {torch.__version__}")


if __name__ == "__main__":
    main()
