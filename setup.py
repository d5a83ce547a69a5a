"""Build the Cython kernels, with OpenMP where the compiler supports it.

The OpenMP probe compiles a tiny program; when it fails (e.g. Apple clang
without libomp) the kernels are built serial instead of failing the install.
"""

import os
import sys
import tempfile

import numpy  # noqa: F401  (build requirement; kernels use no NumPy C-API)
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP_PROBE = r"""
#include <omp.h>
int main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }
"""


def openmp_flags(compiler):
    """Return (compile_args, link_args) enabling OpenMP, or ([], []) if unsupported."""
    if os.environ.get("SKLEARN_HASH_NO_OPENMP"):
        return [], []
    if compiler.compiler_type == "msvc":
        candidates = [(["/openmp"], [])]
    else:
        candidates = [
            (["-fopenmp"], ["-fopenmp"]),
            (["-Xpreprocessor", "-fopenmp"], ["-lomp"]),
        ]
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(OPENMP_PROBE)
        for cflags, lflags in candidates:
            try:
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                compiler.link_executable(
                    objs, "probe", output_dir=tmp, extra_postargs=lflags
                )
            except Exception:  # noqa: BLE001 - any failure means "no OpenMP here"
                continue
            return cflags, lflags
    print(
        "sklearn_hash: OpenMP not available, building serial kernels", file=sys.stderr
    )
    return [], []


class BuildExtOpenMP(build_ext):
    def build_extensions(self):
        cflags, lflags = openmp_flags(self.compiler)
        opt = ["/O2"] if self.compiler.compiler_type == "msvc" else ["-O3"]
        for ext in self.extensions:
            ext.extra_compile_args = opt + cflags + ext.extra_compile_args
            ext.extra_link_args = lflags + ext.extra_link_args
        super().build_extensions()


extensions = [
    Extension(
        "sklearn_hash._asymmetric._sgd",
        ["sklearn_hash/_asymmetric/_sgd.pyx"],
        include_dirs=["sklearn_hash/_asymmetric"],
        depends=["sklearn_hash/_asymmetric/_sgd.h"],
    ),
    Extension(
        "sklearn_hash.neighbors._kernels",
        ["sklearn_hash/neighbors/_kernels.pyx"],
        include_dirs=["sklearn_hash/neighbors"],
        depends=[
            "sklearn_hash/neighbors/_popcount.h",
            "sklearn_hash/neighbors/_popcount_avx512.h",
            "sklearn_hash/neighbors/_heap.pxd",
        ],
    ),
    Extension(
        "sklearn_hash.neighbors._mih",
        ["sklearn_hash/neighbors/_mih.pyx"],
        include_dirs=["sklearn_hash/neighbors"],
        depends=["sklearn_hash/neighbors/_mih.h", "sklearn_hash/neighbors/_heap.pxd"],
    ),
    Extension(
        "sklearn_hash.neighbors._asym_kernels",
        ["sklearn_hash/neighbors/_asym_kernels.pyx"],
        include_dirs=["sklearn_hash/neighbors"],
        depends=[
            "sklearn_hash/neighbors/_asym.h",
            "sklearn_hash/neighbors/_popcount.h",
            "sklearn_hash/neighbors/_popcount_avx512.h",
            "sklearn_hash/neighbors/_heap.pxd",
        ],
    ),
    Extension(
        "sklearn_hash.neighbors._tanimoto_kernels",
        ["sklearn_hash/neighbors/_tanimoto_kernels.pyx"],
        include_dirs=["sklearn_hash/neighbors"],
        depends=[
            "sklearn_hash/neighbors/_tanimoto.h",
            "sklearn_hash/neighbors/_popcount.h",
            "sklearn_hash/neighbors/_popcount_avx512.h",
        ],
    ),
    Extension(
        "sklearn_hash.neighbors._rescore",
        ["sklearn_hash/neighbors/_rescore.pyx"],
        include_dirs=["sklearn_hash/neighbors"],
        depends=[
            "sklearn_hash/neighbors/_rescore.h",
            "sklearn_hash/neighbors/_heap.pxd",
        ],
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": "3"},
    ),
    cmdclass={"build_ext": BuildExtOpenMP},
)
