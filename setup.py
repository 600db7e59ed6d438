"""Build crnn's Cython extensions.

The kernels call BLAS through ``scipy.linalg.cython_blas``: nothing links a BLAS library,
scipy hands over the function pointers when the module is imported.

Environment:
  CRNN_DEBUG=1   turn Cython's bounds, wraparound and initialisation checks back on and
                 compile with -O0 -g (for the debug run of the test suite).
"""
import os
import sys

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
    compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]

macros = [("CRNN_DEBUG", "1" if DEBUG else "0")]

# both kernels cimport crnn/_elementwise.pxd, whose loops csrc/crnn_elementwise.c holds
extensions = [
    Extension(
        f"crnn.{name}",
        sources=[f"src/crnn/{name}.pyx", *c_sources, "csrc/crnn_elementwise.c"],
        include_dirs=["csrc"],
        define_macros=macros,
        extra_compile_args=compile_args,
    )
    for name, c_sources in (("_rnn", []), ("_lstm", ["csrc/crnn_lstm.c"]))
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        # a debug build writes its C apart, so that it never replaces the optimised one
        build_dir="build/cython-debug" if DEBUG else None,
    ),
)
