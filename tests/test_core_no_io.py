"""DESIGN.md, "Layers": app/core is pure Matrix logic, with no file or network I/O.

Read from the source (an AST walk), so that a module which only *could* do I/O on some
path is caught too: no import of a module whose job is I/O, no call of ``open``,
``print`` or ``input``. (tests/test_layers.py checks the imports at run time: no Qt,
no httpx.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "app" / "core"
IO_MODULES = frozenset(
    {
        "os",
        "io",
        "pathlib",
        "shutil",
        "socket",
        "subprocess",
        "tempfile",
        "urllib",
        "httpx",
        "requests",
        "gzip",
        "sqlite3",
        "glob",
        "fileinput",
    }
)
IO_CALLS = frozenset({"open", "print", "input"})


def io_uses(source: str) -> list[str]:
    """``"line N: what"`` for every I/O import or call in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in IO_CALLS
        ):
            found.append(f"line {node.lineno}: {node.func.id}()")
            continue
        else:
            continue
        found.extend(
            f"line {node.lineno}: import {n}" for n in names if n.split(".")[0] in IO_MODULES
        )
    return found


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: p.name)
def test_core_module_does_no_io(path: Path) -> None:
    assert io_uses(path.read_text(encoding="utf-8")) == [], path


def test_the_check_can_fail() -> None:
    bad = "import os\nfrom pathlib import Path\nx = open('f').read()\nprint(x)\n"
    assert sorted(io_uses(bad)) == [
        "line 1: import os",
        "line 2: import pathlib",
        "line 3: open()",
        "line 4: print()",
    ]
