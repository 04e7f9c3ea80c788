"""What the tools/screenshots*.py scripts share: offscreen Qt, one window on a
temporary QSettings file (the user's settings are never touched), the ``--out``,
``--samples`` and ``--only`` arguments, waiting for a signal, and saving a PNG.

Each script lists its shots (anything with a ``name``) and a ``take`` function
that opens a room, arranges the window and returns the PNG it wrote (None: skipped).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.ui.app import create_application  # noqa: E402
from app.ui.mainwindow import MainWindow  # noqa: E402

__all__ = ["ROOT", "MainWindow", "run", "save", "settle", "wait_for"]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


S = TypeVar("S", bound=_Named)


def settle(rounds: int = 5) -> None:
    """Let Qt lay out and paint what just changed."""
    app = QApplication.instance()
    assert app is not None
    for _ in range(rounds):
        app.processEvents()


def wait_for(window: MainWindow, signal: Any, start: Callable[[], None]) -> list[Any]:
    """Run ``start`` and wait (up to ~200 s) until ``signal`` fires; its arguments."""
    got: list[Any] = []
    signal.connect(got.append)
    try:
        start()
        for _ in range(2000):
            if got:
                break
            window.wait_idle(100)
            settle(1)
    finally:
        signal.disconnect(got.append)
    if not got:
        raise SystemExit("timed out")
    return got


def save(image: QPixmap, file: Path) -> Path:
    if not image.save(str(file), "PNG"):
        raise SystemExit(f"could not write {file}")
    return file


def run(
    doc: str,
    shots: Sequence[S],
    take: Callable[[MainWindow, S, Path, Path], Path | None],
    argv: list[str] | None = None,
    *,
    size: tuple[int, int] = (1600, 1000),
) -> int:
    """The scripts' ``main``: ``take(window, shot, out_dir, samples_dir)`` for each shot."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--samples", type=Path, default=ROOT / "sample_rooms")
    parser.add_argument("--only", help="take only the shot of this name")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    create_application()
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, samples_dir=args.samples)
        window.resize(*size)
        window.show()
        for shot in shots:
            if args.only and shot.name != args.only:
                continue
            file = take(window, shot, args.out, args.samples)
            if file is not None:
                print(f"wrote {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file}")
        window.close()
    return 0
