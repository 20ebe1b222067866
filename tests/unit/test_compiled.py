"""The optional compiled core (photon/compiled.py): which build a process runs, and why."""
from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from photon import compiled

ROOT = Path(__file__).resolve().parents[2]


def _fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A photon/ holding every listed module's .py, an empty 'extension module' beside each
    and the manifest of their digests: a complete, up-to-date build."""
    package = tmp_path / "photon"
    digests = {}
    for module in compiled.MODULES:
        source = compiled.source_path(module, tmp_path)
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"# {module}\n")
        ext = source.with_suffix("").name + importlib.machinery.EXTENSION_SUFFIXES[0]
        source.with_name(ext).write_bytes(b"")
        digests[module] = compiled.source_digest(source)
    (package / compiled.MANIFEST).write_text(json.dumps(digests))
    monkeypatch.setattr(compiled, "PACKAGE_DIR", package)
    monkeypatch.delenv("PHOTON_NO_EXTENSIONS", raising=False)
    return package


def test_an_up_to_date_build_is_used(tmp_path, monkeypatch):
    _fake_package(tmp_path, monkeypatch)
    assert compiled._why_not_compiled() is None


@pytest.mark.parametrize("value, off", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_photon_no_extensions_turns_it_off(tmp_path, monkeypatch, value, off):
    _fake_package(tmp_path, monkeypatch)
    monkeypatch.setenv("PHOTON_NO_EXTENSIONS", value)
    assert (compiled._why_not_compiled() == "PHOTON_NO_EXTENSIONS is set") is off


def test_a_source_edited_since_its_build_turns_it_off(tmp_path, monkeypatch):
    _fake_package(tmp_path, monkeypatch)
    module = compiled.MODULES[-1]
    compiled.source_path(module).write_text("# edited\n")
    assert "changed since it was compiled" in compiled._why_not_compiled()


def test_a_missing_extension_or_manifest_turns_it_off(tmp_path, monkeypatch):
    package = _fake_package(tmp_path, monkeypatch)
    module = compiled.MODULES[0]
    for ext in compiled.source_path(module).parent.glob("*.so"):
        ext.unlink()
    assert compiled._why_not_compiled() == f"{module} was not compiled"
    (package / compiled.MANIFEST).unlink()
    assert compiled._why_not_compiled().startswith("not built")


def _probe(env: dict[str, str]) -> dict:
    """Which build a fresh interpreter picks, and where its listed modules come from."""
    code = ("import json, importlib, photon.compiled as c; "
            "print(json.dumps([c.build, c.reason, "
            "{m: importlib.import_module(m).__file__ for m in c.MODULES}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **env}, cwd=ROOT)
    build, reason, files = json.loads(out.stdout)
    return {"build": build, "reason": reason, "files": files}


def test_photon_no_extensions_imports_every_listed_module_from_its_py():
    probe = _probe({"PHOTON_NO_EXTENSIONS": "1"})
    assert probe["build"] == "pure"
    assert all(f.endswith(".py") for f in probe["files"].values()), probe["files"]


def test_the_compiled_build_imports_the_extension_modules():
    """Where the compiled core was built (and is required, as in CI), it is what runs."""
    probe = _probe({"PHOTON_NO_EXTENSIONS": ""})
    if os.environ.get("PHOTON_REQUIRE_COMPILED"):
        assert probe["build"] == "compiled", probe["reason"]
    if probe["build"] == "compiled":
        assert not any(f.endswith(".py") for f in probe["files"].values()), probe["files"]
    else:
        assert all(f.endswith(".py") for f in probe["files"].values()), probe["files"]
