"""Builds the optional compiled core (photon/compiled.py): Cython compiles the hot path's own
.py modules into extension modules beside them. Without Cython or a C compiler, or with
PHOTON_NO_EXTENSIONS set, the pure-Python package is installed, with one warning line.
Everything else about the package is in pyproject.toml."""
from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
compiled = runpy.run_path(str(ROOT / "photon" / "compiled.py"))
MODULES = compiled["MODULES"]

# Cython's settings for every module. Annotations are not C types (annotation_typing off):
# a module compiled keeps its Python semantics exactly, and C types come from .pxd files.
DIRECTIVES = {
    "language_level": 3,
    "annotation_typing": False,
    "binding": False,
    "embedsignature": False,
    "always_allow_keywords": True,
    "warn.unreachable": False,  # the pure-Python branches of `if cython.compiled:`
}


def warn(why: str) -> None:
    print(f"WARNING: photon: installing the pure-Python core only ({why})", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext that cythonizes the listed modules first, and gives up with one warning
    line instead of failing the install."""

    def finalize_options(self) -> None:
        self.why_pure = None
        if compiled["disabled_by_env"]():
            self.why_pure = "PHOTON_NO_EXTENSIONS is set"
        elif sys.implementation.name != "cpython":
            self.why_pure = f"{sys.implementation.name} is not CPython"
        else:
            try:
                from Cython.Build import cythonize
                self.distribution.ext_modules = cythonize(
                    self.distribution.ext_modules, compiler_directives=DIRECTIVES, quiet=True,
                    build_dir=os.path.join(self.build_temp or "build", "cython"))
            except Exception as e:  # no Cython, or it refused a module
                self.why_pure = f"Cython: {type(e).__name__}: {e}"
        if self.why_pure is not None:
            self.distribution.ext_modules = []
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def run(self) -> None:
        if self.why_pure is None:
            try:
                super().run()
            except Exception as e:  # no C compiler, a compile error: the pure package
                self.why_pure = f"the compiled core failed to build: {type(e).__name__}: {e}"[:300]
                self.extensions = []
        if self.why_pure is not None:
            warn(self.why_pure)
            return
        self.write_manifest()

    def write_manifest(self) -> None:
        """The sources compiled, by digest, beside the extension modules (see
        photon/compiled.py: a .py changed since is not shadowed by its stale build)."""
        digests = {m: compiled["source_digest"](compiled["source_path"](m, ROOT))
                   for m in MODULES}
        package_dir = Path(self.get_ext_fullpath("photon.x")).parent
        package_dir.mkdir(parents=True, exist_ok=True)
        (package_dir / compiled["MANIFEST"]).write_text(json.dumps(digests, indent=1) + "\n")

    def get_outputs(self) -> list[str]:
        outputs = super().get_outputs()
        if self.extensions:
            package_dir = Path(self.get_ext_fullpath("photon.x")).parent
            outputs.append(str(package_dir / compiled["MANIFEST"]))
        return outputs


setup(
    ext_modules=[Extension(m, [str(Path(*m.split(".")).with_suffix(".py"))]) for m in MODULES],
    cmdclass={"build_ext": OptionalBuildExt},
)
