"""Builds the Cython kernels in cython/ as parsnn._<name> extensions.

The models/ directory is installed as the package parsnn.models, jobscripts/ as
parsnn.jobscripts.
"""
import glob
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
extensions = [
    Extension(
        f"parsnn._{os.path.splitext(os.path.basename(pyx))[0]}",
        [os.path.relpath(pyx, HERE)],
        include_dirs=[np.get_include(), "cython"],
        depends=sorted(os.path.relpath(h, HERE) for h in glob.glob(os.path.join(HERE, "cython", "*.h"))),
        extra_compile_args=["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-Wno-unused-function"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for pyx in sorted(glob.glob(os.path.join(HERE, "cython", "*.pyx")))
]

setup(
    packages=["parsnn", "parsnn.models", "parsnn.models.pd14", "parsnn.models.brunel", "parsnn.models.multicolumn",
              "parsnn.jobscripts", "parsnn.mapping"],
    package_dir={"parsnn": "parsnn", "parsnn.models": "models", "parsnn.jobscripts": "jobscripts"},
    package_data={"parsnn.models.pd14": ["*.toml"], "parsnn.jobscripts": ["*.in"],
                  "parsnn.mapping": ["machines/*.toml", "hardware/*.toml"]},
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": 3, "boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
    ),
)
