"""DESIGN.md, "The command line": headless subcommands other than ``render`` import
neither Qt nor pyqtgraph (they start in a blink and run where no Qt is installed).

Each subcommand runs as people run it, ``python -X importtime -m app ...`` in a fresh
interpreter, and the import log (every module the process loaded, on stderr) must name
no Qt module. ``render`` is the control: it must show PySide6, or the probe is blind.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOM = ROOT / "sample_rooms" / "msc4297-problem-a-v11.json"
FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")


def imported_modules(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Run ``python -X importtime -m app ARGS``; the top-level packages it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    modules: set[str] = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            modules.add(name.split(".")[0])
    return modules, done


# Every headless subcommand of app.cli.SUBCOMMANDS but render, with arguments that make
# it do its work (fetch loads its homeserver client and refuses the URL: connecting to a
# closed port would cost 15 s of retries for no more imports at module level).
HEADLESS: dict[str, tuple[str, ...]] = {
    "info": ("info", str(ROOM)),
    "verify": ("verify", str(ROOM)),
    "auth": ("auth", str(ROOM)),
    "state": ("state", str(ROOM)),
    "resolve": ("resolve", str(ROOM), "--state-set", "bob", "--state-set", "charlie"),
    "explain": ("explain", str(ROOM)),
    "fetch": ("fetch", "ftp://127.0.0.1:9", "!room:x", "-o", "{tmp}/out.json", "--token", "t"),
}


def test_every_headless_subcommand_is_covered() -> None:
    from app.cli import SUBCOMMANDS

    assert set(SUBCOMMANDS) - {"render"} == set(HEADLESS)


@pytest.mark.parametrize("name", sorted(HEADLESS))
def test_headless_subcommand_imports_no_qt(name: str, tmp_path: Path) -> None:
    args = tuple(a.replace("{tmp}", str(tmp_path)) for a in HEADLESS[name])
    modules, done = imported_modules(*args)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    if name == "fetch":
        assert "httpx" in modules and "not an http(s) URL" in done.stderr
    assert "app" in modules, "the import log was not read"
    assert not modules & set(FORBIDDEN), f"{name} imported {sorted(modules & set(FORBIDDEN))}"


def test_probe_sees_qt_in_render(tmp_path: Path) -> None:
    modules, done = imported_modules("render", str(ROOM), "-o", str(tmp_path / "out.png"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "PySide6" in modules
