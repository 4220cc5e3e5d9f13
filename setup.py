"""Builds the Cython kernels in cython/ as parsnn._<name> extensions.

The models/ directory is installed as the package parsnn.models, jobscripts/ as
parsnn.jobscripts.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def mpi_flags():
    """(include dirs, library dirs) of the MPI that mpi4py runs on: from ``mpicc -show`` (the mpich
    wheel's wrapper, also inside pip's isolated build environment), else the prefixes' include/ and
    lib/ folders that hold mpi.h and libmpi."""
    incs, libs = [], []
    mpicc = os.environ.get("MPICC") or shutil.which("mpicc") or shutil.which(
        "mpicc", path=os.path.join(sys.prefix, "bin"))
    if mpicc:
        try:
            out = subprocess.run([mpicc, "-show"], capture_output=True, text=True, check=True).stdout
            incs = re.findall(r"-I(\S+)", out)
            libs = re.findall(r"-L(\S+)", out)
        except (OSError, subprocess.CalledProcessError):
            pass
    for prefix in (sys.prefix, sys.base_prefix, *os.environ.get("PATH", "").split(os.pathsep)):
        root = os.path.dirname(prefix) if prefix.endswith("bin") else prefix
        if not any(os.path.exists(os.path.join(i, "mpi.h")) for i in incs) and \
                os.path.exists(os.path.join(root, "include", "mpi.h")):
            incs.append(os.path.join(root, "include"))
        if not libs and glob.glob(os.path.join(root, "lib", "libmpi.so*")):
            libs.append(os.path.join(root, "lib"))
    if not any(os.path.exists(os.path.join(i, "mpi.h")) for i in incs):
        raise SystemExit("parsnn build: mpi.h not found (install the 'mpich' wheel or set MPICC)")
    return incs, libs


def mpi4py_include():
    """mpi4py's folder with its .pxd files and C headers (for ``from mpi4py cimport MPI``)."""
    import mpi4py
    return [os.path.dirname(os.path.dirname(mpi4py.__file__)), mpi4py.get_include()]


MPI_INCLUDE, MPI_LIBDIRS = mpi_flags()
# the kernels that call MPI link libmpi; at run time it is found in this environment's lib/ (where
# the mpich wheel puts it) or is the one mpi4py has already loaded (same soname)
RUNTIME_LIBDIRS = [os.path.join(sys.prefix, "lib")]
OPENMP = ["-fopenmp"]


def extension(pyx: str) -> Extension:
    """The extension parsnn._<name> of cython/<name>.pyx."""
    name = os.path.splitext(os.path.basename(pyx))[0]
    uses_mpi = name == "engine"
    return Extension(
        f"parsnn._{name}",
        [os.path.relpath(pyx, HERE)],
        include_dirs=[np.get_include(), "cython"] + (MPI_INCLUDE + mpi4py_include()[1:] if uses_mpi else []),
        depends=sorted(os.path.relpath(h, HERE) for h in glob.glob(os.path.join(HERE, "cython", "*.h"))),
        extra_compile_args=["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math",
                            "-Wno-unused-function"] + OPENMP,
        extra_link_args=OPENMP,
        # libm named at link time: pow, exp and log bind to glibc's current symbol versions, not to the
        # unversioned fallback (the oldest version's error-handling wrapper); the same values
        libraries=(["mpi"] if uses_mpi else []) + ["m"],
        library_dirs=MPI_LIBDIRS if uses_mpi else [],
        runtime_library_dirs=RUNTIME_LIBDIRS if uses_mpi else [],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )


extensions = [extension(pyx) for pyx in sorted(glob.glob(os.path.join(HERE, "cython", "*.pyx")))]

# every package under parsnn/ and every model folder under models/ is found without listing it here
PACKAGES = (["parsnn", "parsnn.models", "parsnn.jobscripts"]
            + [f"parsnn.{p}" for p in find_packages("parsnn")]
            + [f"parsnn.models.{p}" for p in find_packages("models")])

setup(
    packages=PACKAGES,
    package_dir={"parsnn": "parsnn", "parsnn.models": "models", "parsnn.jobscripts": "jobscripts"},
    package_data={**{p: ["*.toml"] for p in PACKAGES if p.startswith("parsnn.models.")},
                  "parsnn.jobscripts": ["*.in"],
                  "parsnn.machines": ["*.toml", "bench/*.c"],
                  "parsnn.mapping": ["hardware/*.toml"]},
    ext_modules=cythonize(
        extensions,
        include_path=mpi4py_include()[:1],
        compiler_directives={"language_level": 3, "boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
    ),
)
