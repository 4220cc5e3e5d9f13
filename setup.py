"""Builds the Cython kernels in cython/ as parsnn._<name> extensions.

The models/ directory is installed as the package parsnn.models, jobscripts/ as
parsnn.jobscripts.
"""
import glob
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

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
        compiler_directives={"language_level": 3, "boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
    ),
)
