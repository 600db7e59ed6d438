"""Run a short workload of crnn under valgrind's memcheck and report the errors in crnn's code.

    python tools/memcheck.py [--keep XML]

CPython and its libraries make valgrind report errors of their own by the thousand; this
keeps only those with a frame in crnn's extensions or its C sources, prints them, and
exits 1 if there is any (0 if none, 2 without valgrind); memory possibly lost or still
reachable at exit is the extensions' import-time state, not counted. The workload runs every cell's
course functions (whole, with lengths, in reverse, one step), a training step and a
small fit, at small sizes.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

WORKLOAD = r"""
import numpy as np
import crnn
from crnn.cells import variants

for cell in variants():
    x, a0, p, da = cell.problem(4, 6, 3, 5, 7, seed=1)
    forward = getattr(crnn, f"{cell.name}_forward")
    backward = getattr(crnn, f"{cell.name}_backward")
    for kwargs in ({}, {"lengths": np.array([7, 6, 4, 2, 1])}, {"lengths": [2, 7, 1, 5, 3]},
                   {"reverse": True, "lengths": np.array([7, 5, 5, 2, 1])}):
        *_, caches = forward(x, a0, p, **cell.options, **kwargs)
        backward(da, caches)
    for dtype in (np.float32,):
        x32, a32, p32, da32 = cell.problem(4, 6, 3, 5, 7, seed=2, dtype=dtype)
        backward(da32, forward(x32, a32, p32, **cell.options)[-1])
    y = np.random.default_rng(0).integers(0, 3, (5, 7))
    crnn.loss_and_grads(x, y, a0, p, cell=cell, lengths=[7, 6, 4, 2, 1])
    crnn.loss_and_grads(x, y, a0, p, cell=cell, lengths=[2, 7, 1, 5, 3], want_dx=False)
rng = np.random.default_rng(0)
tagger = crnn.SequenceTagger(n_a=4, epochs=1, verbose=False, cell="lstm")
tagger.fit(rng.standard_normal((3, 8, 5)), rng.integers(0, 2, (8, 5)),
           lengths=[5, 4, 4, 3, 2, 2, 1, 1])
tagger.predict_proba(rng.standard_normal((3, 2, 5)), lengths=[3, 5])
model = crnn.SequenceTagger(n_a=4, epochs=2, verbose=False, cell="gru", num_layers=2,
                            bidirectional=True)
lengths = [5, 4, 4, 3, 2, 2, 1, 1]
model.fit(rng.standard_normal((3, 8, 5)), rng.integers(0, 2, (8, 5)), lengths=lengths)
model.predict(rng.standard_normal((3, 2, 5)))
print("workload done")
"""


#: what valgrind says at exit of the objects an extension makes once, when it is imported,
#: and keeps for the life of the process (its types, code objects, module dict), as
#: CPython's own: not leaks of a call
IMPORT_TIME = ("Leak_PossiblyLost", "Leak_StillReachable")


def crnn_frames(error):
    """The frames of an error that are in crnn's code."""
    frames = []
    for frame in error.iter("frame"):
        where = " ".join(frame.findtext(k) or "" for k in ("obj", "dir", "file", "fn"))
        if "/crnn/" in where or "csrc" in where or "crnn_" in (frame.findtext("fn") or ""):
            frames.append(where.strip())
    return frames


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", metavar="XML", help="keep valgrind's XML report here")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        report = args.keep or os.path.join(folder, "memcheck.xml")
        env = dict(os.environ, PYTHONMALLOC="malloc")
        run = subprocess.run(
            [
                "valgrind",
                "--tool=memcheck",
                "--xml=yes",
                f"--xml-file={report}",
                "--track-origins=yes",
                sys.executable,
                "-c",
                WORKLOAD,
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if "workload done" not in run.stdout:
            print(run.stdout[-3000:], run.stderr[-3000:], file=sys.stderr)
            return 1
        errors = ET.parse(report).getroot().findall("error")
    ours = [
        (e.findtext("kind"), crnn_frames(e))
        for e in errors
        if e.findtext("kind") not in IMPORT_TIME and crnn_frames(e)
    ]
    print(f"memcheck: {len(errors)} errors reported, {len(ours)} with a frame in crnn's code")
    for kind, frames in ours:
        print(f"  {kind}: " + " <- ".join(frames[:4]))
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main())
