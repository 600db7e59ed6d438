"""The README's code runs as written (that CI runs its test command is checked by
tools/lint_policy.py)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

pytestmark = pytest.mark.skipif(not README.exists(), reason="needs the source tree")


def _blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_python_examples_run(tmp_path, monkeypatch):
    blocks = _blocks("python")
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)  # an example saves a model file
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
