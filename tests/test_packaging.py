"""Packaging checks: the installed package, and the cheap offline parts of tools/check_wheel.sh.

The installed-package tests run everywhere, also against a wheel from a temporary folder
(cibuildwheel, tools/check_wheel.sh). The source-tree tests (marked slow: they build an
sdist, compile csrc/, run cibuildwheel) need pyproject.toml beside tests/ and skip
without it, or without the tool they drive (cibuildwheel, build, a C compiler); with
CRNN_PACKAGING_STRICT=1 (tools/check_wheel.sh) a missing tool fails instead. None of them
depends on how the extensions were compiled, so the debug-build run of the suite skips
them. The repository's policies (pinned actions, no -march=native, actionlint, the
cibuildwheel of wheels.yml) are checked by tools/lint_policy.py, not here.
"""

import ast
import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

import crnn

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(crnn.__file__).resolve().parent
STRICT = os.environ.get("CRNN_PACKAGING_STRICT") == "1"
EXTENSION_SUFFIXES = (".so", ".pyd")

source_tree = pytest.mark.skipif(
    not (ROOT / "pyproject.toml").exists() or os.environ.get("CRNN_TESTING_DEBUG_BUILD") == "1",
    reason="needs the source tree (and is independent of the build)",
)


def need(condition, what):
    """Skip, or fail under CRNN_PACKAGING_STRICT=1, when a tool is missing."""
    if not condition:
        if STRICT:
            pytest.fail(f"{what} is required by CRNN_PACKAGING_STRICT=1")
        pytest.skip(f"{what} is not available")


def pyproject():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


# --- the installed package ---------------------------------------------------------------


def test_version_is_the_installed_metadata():
    assert importlib.metadata.version("crnn") == crnn.__version__


def test_package_is_marked_typed():
    assert (PACKAGE / "py.typed").is_file()


def compiled_modules():
    return sorted(
        f"crnn.{path.name.split('.')[0]}"
        for path in PACKAGE.iterdir()
        if path.suffix in EXTENSION_SUFFIXES
    )


def stubbed_modules():
    return sorted(f"crnn.{path.stem}" for path in PACKAGE.glob("*.pyi"))


def test_every_compiled_module_has_a_stub():
    compiled = compiled_modules()
    assert compiled, f"no compiled extension in {PACKAGE}"
    missing = [name for name in compiled if name not in stubbed_modules()]
    assert not missing, f"compiled modules without a .pyi stub: {missing}"


def stub_api(module_name):
    """The public names of a stub, and the parameter names of each of its functions."""
    tree = ast.parse((PACKAGE / f"{module_name.split('.')[-1]}.pyi").read_text("utf-8"))
    names, params = set(), {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
            args = node.args
            params[node.name] = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_")}, params


@pytest.mark.parametrize("module_name", stubbed_modules())
def test_stub_matches_the_module(module_name):
    module = importlib.import_module(module_name)
    names, params = stub_api(module_name)
    if hasattr(module, "__all__"):
        public = set(module.__all__)
    else:
        public = {
            n for n, v in vars(module).items() if not n.startswith("_") and not inspect.ismodule(v)
        }
    assert names == public, (
        f"{module_name}: only in the stub {sorted(names - public)}, "
        f"only in the module {sorted(public - names)}"
    )
    for name, stub_params in params.items():
        actual = list(inspect.signature(getattr(module, name)).parameters)
        assert stub_params == actual, f"{module_name}.{name}: stub {stub_params}, module {actual}"


# --- the source tree -----------------------------------------------------------------------


def run(*cmd, cwd=ROOT, timeout=300, env=None):
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, f"{cmd}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def supported_pythons():
    """("3.11", ...) from the classifiers, checked against requires-python."""
    project = pyproject()["project"]
    versions = sorted(
        (
            c.rsplit("::", 1)[1].strip()
            for c in project["classifiers"]
            if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
        ),
        key=lambda v: int(v.split(".")[1]),
    )
    assert project["requires-python"] == f">={versions[0]}"
    return versions


# (platform, architecture, the platform tags each Python gets): one row per runner of
# wheels.yml, each of which builds its native architecture
RUNNERS = [
    ("linux", "x86_64", ["manylinux_x86_64", "musllinux_x86_64"]),  # ubuntu-latest
    ("linux", "aarch64", ["manylinux_aarch64", "musllinux_aarch64"]),  # ubuntu-24.04-arm
    ("macos", "x86_64", ["macosx_x86_64"]),  # macos-15-intel
    ("macos", "arm64", ["macosx_arm64"]),  # macos-latest
    ("windows", "AMD64", ["win_amd64"]),  # windows-latest
]


@pytest.mark.slow
@source_tree
@pytest.mark.skipif(sys.platform != "linux", reason="checked on a Linux host")
@pytest.mark.parametrize("platform, archs, tags", RUNNERS)
def test_cibuildwheel_builds_exactly_the_supported_pythons(platform, archs, tags):
    need(importlib.util.find_spec("cibuildwheel") is not None, "cibuildwheel")
    cmd = [
        sys.executable,
        "-m",
        "cibuildwheel",
        "--platform",
        platform,
        "--archs",
        archs,
        "--print-build-identifiers",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    identifiers = set(run(*cmd, env=env, timeout=120).split())
    expected = {f"cp{v.replace('.', '')}-{tag}" for v in supported_pythons() for tag in tags}
    assert identifiers == expected


@pytest.mark.slow
@source_tree
@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_csrc_compiles_without_warnings(cc, tmp_path):
    need(shutil.which(cc) is not None, cc)
    # C99 without extensions: what MSVC accepts too (no VLAs, restrict behind a macro)
    flags = [
        "-std=c99",
        "-pedantic",
        "-Wall",
        "-Wextra",
        "-Wvla",
        "-Wshadow",
        "-Wstrict-prototypes",
        "-Werror",
        "-O2",
        "-c",
        f"-I{ROOT / 'csrc'}",
    ]
    for source in sorted((ROOT / "csrc").glob("*.c")):
        run(cc, *flags, str(source), "-o", str(tmp_path / f"{source.stem}.o"))


PRODUCT_DIRS = {".git", "build", "dist", "__pycache__", ".pytest_cache", ".mypy_cache"}
PRODUCT_SUFFIXES = (".egg-info", ".so", ".pyd", ".o", ".obj")
GENERATED_C = (".c", ".cpp", ".html")  # Cython's output, beside the .pyx in src/crnn


def build_products(directory, names):
    """shutil.copytree's ignore: what a fresh checkout of the sources does not hold."""
    in_package = Path(directory).parent.name == "src"
    return {
        n
        for n in names
        if n in PRODUCT_DIRS
        or n.endswith(PRODUCT_SUFFIXES)
        or (in_package and n.endswith(GENERATED_C))
    }


def sdist_names(tmp_path):
    """The members of an sdist built, offline, from a copy of the source tree."""
    need(importlib.util.find_spec("build") is not None, "build")
    for module in ("setuptools", "Cython", "scipy"):
        need(importlib.util.find_spec(module) is not None, f"{module} (to build offline)")
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=build_products)
    # offline: this environment's setuptools and Cython, whatever its scipy (an sdist
    # holds no compiled code, so the oldest-dependencies run may build one too)
    run(
        sys.executable,
        "-m",
        "build",
        "--sdist",
        "--no-isolation",
        "--skip-dependency-check",
        "--outdir",
        str(tmp_path / "dist"),
        str(tree),
        cwd=tmp_path,
    )
    (sdist,) = (tmp_path / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        return {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}


@pytest.mark.slow
@source_tree
def test_sdist_ships_sources_and_no_build_products(tmp_path):
    names = sdist_names(tmp_path)
    required = [
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "pyproject.toml",
        "setup.py",
        "src/crnn/py.typed",
    ]
    required += [
        p.relative_to(ROOT).as_posix()
        for pattern in (
            "src/crnn/*.pyx",
            "src/crnn/*.pxd",
            "src/crnn/*.pyi",
            "src/crnn/*.py",
            "src/crnn/data/*",
            "csrc/*",
            "tests/*.py",
            "examples/*.py",
        )
        for p in ROOT.glob(pattern)
    ]
    missing = sorted(set(required) - names)
    assert not missing, f"missing from the sdist: {missing}"
    products = sorted(
        n
        for n in names
        if re.search(r"(^src/crnn/[^/]*\.(c|cpp|html)$|\.(so|pyd|o)$|^build/|__pycache__)", n)
    )
    assert not products, f"build products in the sdist: {products}"
