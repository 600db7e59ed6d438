"""Print crnn's runtime dependencies pinned to their floors, one requirement a line.

    python tools/min_requirements.py > oldest.txt
    python -m pip install -c oldest.txt ".[test]"

The floors are the ``>=`` bounds of ``[project] dependencies`` in pyproject.toml, so the
oldest-dependencies CI job tests exactly what the metadata promises. A dependency without
a ``>=`` floor is an error: it would make that promise untestable.
"""

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
FLOOR = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(?:,.*)?$")


def floors(pyproject=PYPROJECT):
    """The floor of every runtime dependency.

    Arguments:
    pyproject -- path of the pyproject.toml to read

    Returns:
    pins -- list of "name==version" strings, in the order of the dependencies
    """
    with open(pyproject, "rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    pins = []
    for requirement in dependencies:
        match = FLOOR.match(requirement)
        if match is None:
            raise ValueError(f"dependency {requirement!r} has no '>=' floor to test")
        pins.append(f"{match[1]}=={match[2]}")
    return pins


if __name__ == "__main__":
    sys.stdout.write("".join(pin + "\n" for pin in floors()))
