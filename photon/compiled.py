"""The optional compiled core (docs/architecture.md, "The compiled core").

``setup.py`` compiles the modules in ``MODULES`` with Cython, each from its own ``.py`` file
(pure-Python mode: a ``.pxd`` file beside a module adds C types), into an extension module of
the same name beside it. The ``.py`` files stay valid Python and are the tested fallback.

Python imports an extension module in preference to a ``.py`` of the same name, so the
compiled core runs whenever it was built. ``select`` (run once, by ``photon/__init__.py``)
turns it off, for all the listed modules at once, when

- ``PHOTON_NO_EXTENSIONS`` is set to anything but ``""`` or ``"0"``;
- it was not built (no C compiler or no Cython at install time, a plain source checkout);
- a listed module's ``.py`` is not the source it was compiled from (an editable install edited
  since its build; ``pip install -e .`` again rebuilds it): the build writes the SHA-256 of
  every source it compiled to ``compiled.json`` beside this file, checked here.

All or nothing: the ``.pxd`` files give the compiled modules C types they share, which a mix of
compiled and pure modules could not honour. Turning it off is an import hook that loads the
listed modules from their ``.py`` files. ``INFO server`` reports ``photon_build``.

This module imports nothing of photon: ``setup.py`` reads ``MODULES`` from it before photon is
installed.
"""
from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
from pathlib import Path

# The hot path, by dotted name. Keep in step with the .pxd files beside them.
MODULES: tuple[str, ...] = (
    "photon.protocol.parser",
    "photon.protocol.encoder",
    "photon.client",
    "photon.commands.table",
    "photon.commands.dispatch",
    "photon.commands.strings",
    "photon.commands.hashes",
    "photon.commands.lists",
    "photon.commands.sets",
    "photon.commands.zsets",
    "photon.keyspace.keyspace",
    "photon.keyspace.encoding",
    "photon.keyspace.slots",
    "photon.storage.leveldb",
    "photon.nodestate",
    "photon.stats",
)

MANIFEST = "compiled.json"  # written by the build beside this file: {module: sha256 of its .py}
PACKAGE_DIR = Path(__file__).resolve().parent

# "compiled" or "pure", and why (for INFO and the start-up log); set by select().
build = "pure"
reason = "not selected yet"


def source_path(module: str, root: Path | None = None) -> Path:
    """The .py file of a module, under ``root`` (by default the directory above photon/)."""
    root = PACKAGE_DIR.parent if root is None else root
    return root.joinpath(*module.split(".")).with_suffix(".py")


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def disabled_by_env() -> bool:
    return os.environ.get("PHOTON_NO_EXTENSIONS", "") not in ("", "0")


def _is_extension(module: str) -> bool:
    """Whether the compiled module is there (an extension module beside the .py)."""
    base = source_path(module).with_suffix("")
    return any(base.with_name(base.name + suffix).exists()
               for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _why_not_compiled() -> str | None:
    if disabled_by_env():
        return "PHOTON_NO_EXTENSIONS is set"
    try:
        built = json.loads((PACKAGE_DIR / MANIFEST).read_text())
    except (OSError, ValueError):
        return "not built (no C compiler or Cython at install time)"
    for module in MODULES:
        if not _is_extension(module) or module not in built:
            return f"{module} was not compiled"
        if built[module] != source_digest(source_path(module)):
            return (f"{source_path(module).relative_to(PACKAGE_DIR.parent)} changed since it "
                    "was compiled (pip install -e . rebuilds it)")
    return None


class _PureFinder(importlib.abc.MetaPathFinder):
    """Finds the listed modules' .py files, never their extension modules."""

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        if fullname not in MODULES or path is None:
            return None
        loaders = [(importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
                   (importlib.machinery.SourcelessFileLoader,
                    importlib.machinery.BYTECODE_SUFFIXES)]
        for entry in path:
            spec = importlib.machinery.FileFinder(entry, *loaders).find_spec(fullname, target)
            if spec is not None:
                return spec
        return None


def select() -> None:
    """Choose the build for this process, before any listed module is imported."""
    global build, reason
    why = _why_not_compiled()
    if why is None:
        build, reason = "compiled", f"{len(MODULES)} modules compiled with Cython"
        return
    build, reason = "pure", why
    if not any(isinstance(f, _PureFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _PureFinder())
    if "changed since" in why or "was not compiled" in why:
        import warnings
        warnings.warn(f"photon: running the pure-Python core: {why}", RuntimeWarning,
                      stacklevel=2)
