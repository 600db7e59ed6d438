"""Build crnn's Cython extensions.

The kernels call BLAS through ``scipy.linalg.cython_blas``: nothing links a BLAS library,
scipy hands over the function pointers when the module is imported.

Environment:
  CRNN_DEBUG=1   turn Cython's bounds, wraparound and initialisation checks back on and
                 compile with -O0 -g (for the debug run of the test suite).
  CRNN_SANITIZE=address,undefined
                 compile and link with gcc's or clang's sanitizers (-fsanitize=...); run
                 Python with their runtime preloaded (the sanitizers job of CI).
"""

import os
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("CRNN_DEBUG", "") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "embedsignature": True,
}

if sys.platform == "win32":
    compile_args = ["/Od", "/Zi"] if DEBUG else ["/O2"]
else:
    # crnn never reads floating-point exception flags: without trapping math, gcc may
    # compute both sides of a select, and so vectorise the tanh and exp loops of csrc/
    compile_args = (["-O0", "-g"] if DEBUG else ["-O3"]) + ["-fno-trapping-math"]

SANITIZE = os.environ.get("CRNN_SANITIZE", "")
link_args = []
if SANITIZE and sys.platform != "win32":
    sanitize = [f"-fsanitize={SANITIZE}", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]
    compile_args, link_args = [*compile_args, "-g", *sanitize], sanitize

macros = [
    ("CRNN_DEBUG", "1" if DEBUG else "0"),
    ("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION"),
    # numpy's memory handlers (NEP 49, _arrays.pyx) came with 1.22; crnn needs 1.24
    ("NPY_TARGET_VERSION", "NPY_1_22_API_VERSION"),
]

# the C loops each extension compiles in: _engine, the recurrence engine, runs every
# cell's time loop and compiles in their per-step loops (csrc/crnn_<cell>.c) and the
# shared elementwise ones; it cimports the array checks of _arrays (_arrays.pxd), whose
# pool is csrc/crnn_memory.c; _gemmtime is the benchmark's GEMM timer
c_sources = {
    "_arrays": ["csrc/crnn_memory.c"],
    "_engine": ["csrc/crnn_gru.c", "csrc/crnn_lstm.c", "csrc/crnn_elementwise.c"],
    "_gemmtime": [],
}
extensions = [
    Extension(
        f"crnn.{name}",
        sources=[f"src/crnn/{name}.pyx", *sources],
        # numpy's headers: the kernels take ndarrays (cheaper to accept than memoryviews)
        include_dirs=["csrc", numpy.get_include()],
        define_macros=macros,
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    for name, sources in c_sources.items()
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        # a debug build writes its C apart, so that it never replaces the optimised one
        build_dir="build/cython-debug" if DEBUG else None,
    ),
)
