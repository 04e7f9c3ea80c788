"""The layer rule of DESIGN.md: core, sources and layout never pull in Qt.

Each check runs in a fresh interpreter, so modules imported by other tests
cannot hide (or fake) a violation.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")

PROBE = """
import importlib, pkgutil, sys
pkg = importlib.import_module({pkg!r})
for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
    importlib.import_module(info.name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in {forbidden!r})
print(",".join(bad))
"""


@pytest.mark.parametrize("package", ["app.core", "app.sources", "app.layout"])
def test_package_imports_no_qt(package: str) -> None:
    code = PROBE.format(pkg=package, forbidden=FORBIDDEN)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{package} pulled in {out}"


@pytest.mark.parametrize("package", ["app.core", "app.layout"])
def test_package_imports_no_network(package: str) -> None:
    """core and layout do no I/O: not even httpx may be imported."""
    code = PROBE.format(pkg=package, forbidden=("httpx",))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{package} pulled in {out}"


def test_probe_detects_qt() -> None:
    """The probe itself can fail: importing app.ui must show PySide6."""
    code = PROBE.format(pkg="app.ui", forbidden=FORBIDDEN) + "\nimport PySide6\n"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code + "print(','.join(sorted(m for m in sys.modules if m.startswith('PySide6'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "PySide6" in out
