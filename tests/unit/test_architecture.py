"""The layers of docs/architecture.md hold: import-linter's contracts (pyproject.toml), no import
cycle anywhere (imports inside functions included), every module importable on its own, the
keyspace and storage free of networking code, and the launcher implementing the node interface
the parts are written against."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from photon.node import Node
from tests.unit.fakes import FakeServer

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in (ROOT / "photon").rglob("*.py"))
IMPORTABLE = [m for m in MODULES if m != "photon.__main__"]  # that one runs the CLI


def test_import_linter_contracts_are_kept():
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command;"
                           "lint_imports_command()"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def _cycles(graph: grimp.ImportGraph, modules: list[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        on_stack.add(m)
        for n in graph.find_modules_directly_imported_by(m):
            if not n.startswith("photon"):
                continue
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on_stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            component = []
            while True:
                n = stack.pop()
                on_stack.discard(n)
                component.append(n)
                if n == m:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for m in modules:
        if m not in index:
            visit(m)
    return found


def test_no_import_cycles_at_all():
    graph = grimp.build_graph("photon", cache_dir=None)
    modules = sorted(m for m in graph.modules if m.startswith("photon"))
    assert len(modules) == len(MODULES)
    # a package imports its own modules and they may import siblings through it: grimp counts
    # "import photon.x.y" as importing photon.x.y, never photon.x, so no edge is made up here
    assert _cycles(graph, modules) == []


def test_every_module_imports_alone():
    """Each module in an interpreter where no other photon module was imported first, so an
    import that only works after another module set things up fails here."""
    script = (
        "import importlib, sys, traceback\n"
        "failed = []\n"
        f"for name in {IMPORTABLE!r}:\n"
        "    for m in [m for m in sys.modules if m == 'photon' or m.startswith('photon.')]:\n"
        "        del sys.modules[m]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        failed.append(name + ': ' + traceback.format_exc(limit=3))\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("module", ["photon.keyspace.keyspace", "photon.storage.layout",
                                    "photon.cluster.shardmap"])
def test_keyspace_and_storage_load_no_networking(module):
    script = (f"import sys, {module}\n"
              "net = ('asyncio', 'hiredis', 'aiohttp', 'uvloop', 'ssl', 'lupa')\n"
              "layers = ('photon.peer', 'photon.protocol', 'photon.replication', "
              "'photon.routing', 'photon.commands', 'photon.client', 'photon.server')\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in net "
              "or m.startswith(layers)))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_only_the_launcher_imports_the_server():
    graph = grimp.build_graph("photon", cache_dir=None)
    assert graph.find_modules_that_directly_import("photon.server") == {"photon.cli"}


def test_the_server_is_the_node_the_parts_expect():
    server = FakeServer(4)
    assert isinstance(server, Node)
    undeclared = [name for name in Node.__annotations__ if name not in vars(server)
                  and not hasattr(type(server), name)]
    assert undeclared == []
