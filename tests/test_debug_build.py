"""The whole suite, once more, against a debug build of the extension.

The debug build (``CRNN_DEBUG=1``) turns Cython's bounds, wraparound and initialisation
checks back on, so an out-of-range index or a pointer taken from an empty view in a
kernel's entry point raises instead of reading memory silently. It needs the source
tree and a C compiler; run from an installed wheel without the sources, it is skipped.
It takes minutes: it is marked slow.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_DEBUG_RUN = os.environ.get("CRNN_TESTING_DEBUG_BUILD") == "1"


def test_debug_run_imports_the_debug_build():
    from crnn import _engine

    assert _engine.DEBUG_BUILD == IN_DEBUG_RUN


@pytest.mark.slow
@pytest.mark.skipif(IN_DEBUG_RUN, reason="this is the debug run")
@pytest.mark.skipif(not (ROOT / "setup.py").exists(), reason="needs the source tree")
def test_suite_passes_with_bounds_checks_on(tmp_path):
    pytest.importorskip("Cython")
    env = dict(os.environ, CRNN_DEBUG="1")
    build = subprocess.run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "build",
            "--build-base",
            str(tmp_path / "build"),
            "--build-lib",
            str(tmp_path / "lib"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    env.update(CRNN_TESTING_DEBUG_BUILD="1", PYTHONPATH=str(tmp_path / "lib"))
    run = subprocess.run(
        # the fast suite: the slow ones build or run end to end, no kernel of their own
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not slow",
            str(ROOT / "tests"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
