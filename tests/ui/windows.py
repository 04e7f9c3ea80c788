"""The window as the tests open it: settings in the test's own file, closed by qtbot."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.ui.mainwindow import MainWindow


def make_window(
    qtbot: QtBot,
    tmp_path: Path,
    *,
    samples_dir: Path,
    size: tuple[int, int] | None = None,
    show: bool = True,
) -> MainWindow:
    """A MainWindow whose settings live in ``tmp_path/settings.ini`` (a second window
    made with the same ``tmp_path`` reads what the first one remembered), listing the
    sample rooms of ``samples_dir``; shown and exposed unless ``show`` is False."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, samples_dir=samples_dir)
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    if show:
        window.show()
        qtbot.waitExposed(window)
    return window
