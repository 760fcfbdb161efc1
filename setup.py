"""Build script: compiles the C core (csrc/) and the Cython module into one extension."""

import glob
import os
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def core_sources() -> list:
    """Every C file of the core, except the unit tests that live in csrc/tests."""
    files = glob.glob(os.path.join("csrc", "**", "*.c"), recursive=True)
    return sorted(f for f in files if os.sep + "tests" + os.sep not in f)


def extensions() -> list:
    pyx = os.path.join("src", "nanopy", "_core.pyx")
    generated_c = os.path.join("src", "nanopy", "_core.c")
    extra_compile = ["-O2", "-std=gnu11", "-Wall", "-Wno-unused-function"]
    extra_compile += os.environ.get("NANOPY_CFLAGS", "").split()
    extra_link = ["-pthread"] + os.environ.get("NANOPY_LDFLAGS", "").split()
    # OpenSSL is loaded at run time (csrc/transports/tls_engine.c): dlopen lives in libdl
    # on older glibc (manylinux2014).
    if sys.platform.startswith("linux"):
        extra_link.append("-ldl")
    try:
        from Cython.Build import cythonize
    except ImportError:  # sdist with the generated C file shipped: no Cython needed
        return [
            Extension(
                "nanopy._core",
                [generated_c] + core_sources(),
                include_dirs=["csrc"],
                extra_compile_args=extra_compile,
                extra_link_args=extra_link,
            )
        ]
    ext = Extension(
        "nanopy._core",
        [pyx] + core_sources(),
        include_dirs=["csrc"],
        extra_compile_args=extra_compile,
        extra_link_args=extra_link,
    )
    return cythonize(
        [ext],
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "embedsignature": True},
    )


setup(ext_modules=extensions())
