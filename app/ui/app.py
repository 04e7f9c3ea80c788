"""The Qt application: set-up, themes, and the entry point that opens the window.

:func:`run` is what ``roomscope [FILE]`` calls (app/commands/gui.py). Settings
(window geometry, docks, recent files, theme) live in the user's QSettings under
``roomscope/roomscope``; tests give the window a QSettings on a temporary file.

Themes: Qt's Fusion style with a light or a dark palette, and a small style
sheet for roomscope's own widgets (section headings, verdict badges, the lesson
note). The graph's own colours are the canvas's (app/ui/style.py).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication, QWidget

__all__ = [
    "THEMES",
    "apply_theme",
    "create_application",
    "report_unexpected_errors",
    "run",
    "user_settings",
]

ORGANIZATION = "roomscope"
APPLICATION = "roomscope"

#: Window colours per theme: (window, base, alternate base, text, dim text, accent, border).
THEMES: dict[str, dict[str, str]] = {
    "light": {
        "window": "#f4f5f7",
        "panel": "#ffffff",
        "alt": "#f7f8fa",
        "text": "#1d2330",
        "dim": "#5d6675",
        "accent": "#0072b2",  # Okabe-Ito blue
        "accent_text": "#ffffff",
        "border": "#d9dde3",
        "heading": "#3b4352",
        "ok_bg": "#e3f4ec",
        "ok_fg": "#00684a",
        "bad_bg": "#fbe6e0",
        "bad_fg": "#a63a10",
        "warn_bg": "#fdf1d8",
        "warn_fg": "#8a5a00",
        "note_bg": "#eef5fb",
        "note_border": "#b9d5ea",
        "selection": "#cfe3f3",
    },
    "dark": {
        "window": "#1b1e24",
        "panel": "#23272f",
        "alt": "#272c35",
        "text": "#e3e6eb",
        "dim": "#9aa3b1",
        "accent": "#56b4e9",  # Okabe-Ito sky blue
        "accent_text": "#0b1116",
        "border": "#353b46",
        "heading": "#c4cad4",
        "ok_bg": "#173a2e",
        "ok_fg": "#6fd3a8",
        "bad_bg": "#43221a",
        "bad_fg": "#ff9b73",
        "warn_bg": "#3d3218",
        "warn_fg": "#f0c060",
        "note_bg": "#1f2f3d",
        "note_border": "#2f4d66",
        "selection": "#2c4a63",
    },
}


def _palette(c: dict[str, str]) -> QPalette:
    pal = QPalette()
    role = QPalette.ColorRole
    pal.setColor(role.Window, QColor(c["window"]))
    pal.setColor(role.WindowText, QColor(c["text"]))
    pal.setColor(role.Base, QColor(c["panel"]))
    pal.setColor(role.AlternateBase, QColor(c["alt"]))
    pal.setColor(role.Text, QColor(c["text"]))
    pal.setColor(role.Button, QColor(c["panel"]))
    pal.setColor(role.ButtonText, QColor(c["text"]))
    pal.setColor(role.ToolTipBase, QColor(c["panel"]))
    pal.setColor(role.ToolTipText, QColor(c["text"]))
    pal.setColor(role.PlaceholderText, QColor(c["dim"]))
    pal.setColor(role.Highlight, QColor(c["selection"]))
    pal.setColor(role.HighlightedText, QColor(c["text"]))
    pal.setColor(role.Link, QColor(c["accent"]))
    pal.setColor(role.Mid, QColor(c["border"]))
    pal.setColor(role.Midlight, QColor(c["border"]))
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, r, QColor(c["dim"]))
    return pal


def stylesheet(theme: str) -> str:
    """The style sheet of roomscope's own widgets in ``theme``."""
    c = THEMES[theme]
    return f"""
QMainWindow::separator {{ background: {c["border"]}; width: 1px; height: 1px; }}
QDockWidget {{ font-weight: 600; }}
QDockWidget::title {{
    background: {c["window"]}; padding: 7px 10px; border-bottom: 1px solid {c["border"]};
}}
QDockWidget > QWidget {{ background: {c["panel"]}; font-weight: normal; }}
QToolBar {{
    background: {c["window"]}; border: none; border-bottom: 1px solid {c["border"]};
    padding: 4px 8px; spacing: 4px;
}}
QToolBar QToolButton {{ padding: 5px 10px; border-radius: 5px; }}
QToolBar QToolButton:hover {{ background: {c["selection"]}; }}
QToolBar QToolButton:checked {{ background: {c["selection"]}; }}
QToolBar QToolButton:disabled {{ color: {c["dim"]}; }}
QToolBar::separator {{ background: {c["border"]}; width: 1px; margin: 6px 6px; }}
QLineEdit#search {{
    padding: 5px 9px; border: 1px solid {c["border"]}; border-radius: 6px;
    background: {c["panel"]};
}}
QLineEdit#search:focus {{ border-color: {c["accent"]}; }}
QStatusBar {{ background: {c["window"]}; border-top: 1px solid {c["border"]}; }}
QStatusBar::item {{ border: none; }}
QLabel[statusField="true"] {{
    color: {c["dim"]}; padding: 2px 10px; border-left: 1px solid {c["border"]};
}}
QLabel#status_room {{ color: {c["text"]}; font-family: "DejaVu Sans Mono", monospace; }}
QLabel#section {{
    color: {c["heading"]}; font-weight: 700; font-size: 8.5pt; padding-top: 2px;
}}
QLabel#factName {{ color: {c["dim"]}; }}
QLabel#findings {{ color: {c["warn_fg"]}; }}
QFrame#mergeBox {{
    background: {c["note_bg"]}; border: 1px solid {c["note_border"]}; border-radius: 6px;
}}
QFrame#mergeBox QLabel {{ background: transparent; }}
QToolButton#findingsButton {{ color: {c["warn_fg"]}; font-weight: 600; padding: 1px 8px; }}
QLabel#hint {{ color: {c["dim"]}; }}
QLabel#mono {{ font-family: "DejaVu Sans Mono", monospace; color: {c["dim"]}; }}
QLabel#inspectorTitle {{ font-size: 13pt; font-weight: 600; }}
QLabel#lessonTitle {{ font-size: 12pt; font-weight: 600; }}
QLabel#lessonSummary {{ color: {c["dim"]}; }}
QFrame#lessonNote {{
    background: {c["note_bg"]}; border: 1px solid {c["note_border"]}; border-radius: 8px;
}}
QFrame#lessonNote QLabel {{ background: transparent; }}
QLabel#noteText {{ font-size: 10.5pt; }}
QLabel#verdict {{ padding: 5px 10px; border-radius: 6px; font-weight: 600; }}
QLabel#verdict[verdict="allowed"] {{ background: {c["ok_bg"]}; color: {c["ok_fg"]}; }}
QLabel#verdict[verdict="rejected"] {{ background: {c["bad_bg"]}; color: {c["bad_fg"]}; }}
QLabel#verdict[verdict="soft_failed"] {{ background: {c["warn_bg"]}; color: {c["warn_fg"]}; }}
QLabel#verdict[verdict="unknown"], QLabel#verdict[verdict="pending"] {{
    background: {c["alt"]}; color: {c["dim"]};
}}
QLabel[check="ok"] {{ color: {c["ok_fg"]}; }}
QLabel[check="mismatch"], QLabel[check="invalid"], QLabel[check="missing"] {{
    color: {c["bad_fg"]}; font-weight: 600;
}}
QLabel[check="unknown_key"] {{ color: {c["warn_fg"]}; }}
QLabel[check="not_applicable"] {{ color: {c["dim"]}; }}
QListWidget {{ border: 1px solid {c["border"]}; border-radius: 6px; padding: 2px; }}
QListWidget::item {{ padding: 5px 6px; border-radius: 4px; }}
QListWidget::item:hover {{ background: {c["alt"]}; }}
QListWidget::item:selected {{ background: {c["selection"]}; color: {c["text"]}; }}
QListWidget#eventLinks {{ border: none; padding: 0; background: transparent; }}
QListWidget#eventLinks::item {{ padding: 0; }}
QPlainTextEdit#jsonView {{ border: none; padding: 6px; background: {c["panel"]}; }}
QTabWidget::pane {{ border: none; border-top: 1px solid {c["border"]}; }}
QTabBar::tab {{
    padding: 6px 14px; border: none; border-bottom: 2px solid transparent;
    color: {c["dim"]}; background: transparent;
}}
QTabBar::tab:selected {{ color: {c["text"]}; border-bottom: 2px solid {c["accent"]}; }}
QTableView {{
    border: 1px solid {c["border"]}; border-radius: 6px; gridline-color: transparent;
    selection-background-color: {c["selection"]}; selection-color: {c["text"]};
}}
QHeaderView::section {{
    background: {c["window"]}; border: none; border-bottom: 1px solid {c["border"]};
    padding: 5px 6px; font-weight: 600; color: {c["heading"]};
}}
QPushButton {{
    padding: 5px 14px; border: 1px solid {c["border"]}; border-radius: 6px;
    background: {c["panel"]};
}}
QPushButton:default {{
    background: {c["accent"]}; color: {c["accent_text"]}; border-color: {c["accent"]};
}}
QPushButton:disabled {{
    color: {c["dim"]}; background: {c["alt"]}; border-color: {c["border"]};
}}
QSplitter::handle {{ background: {c["border"]}; height: 1px; }}
QScrollArea, QScrollArea > QWidget > QWidget#inspectorBody {{ background: {c["panel"]}; }}
QScrollArea > QWidget > QWidget#lessonText {{ background: {c["panel"]}; }}
"""


def apply_theme(app: QApplication, theme: str) -> None:
    """Give ``app`` the palette and style sheet of ``theme`` ("light" or "dark")."""
    if theme not in THEMES:
        theme = "light"
    app.setPalette(_palette(THEMES[theme]))
    app.setStyleSheet(stylesheet(theme))


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication (made once): names for QSettings, Fusion style, a readable font."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        app = QApplication(list(argv) if argv is not None else [sys.argv[0]])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("roomscope")
    app.setStyle("Fusion")
    families = set(QFontDatabase.families())
    for family in ("Inter", "Cantarell", "Noto Sans", "DejaVu Sans"):
        if family in families:
            font = QFont(family)
            font.setPointSizeF(9.5)
            app.setFont(font)
            break
    apply_theme(app, "light")
    return app


def user_settings() -> QSettings:
    """The user's settings (geometry, docks, recent files, theme)."""
    return QSettings(ORGANIZATION, APPLICATION)


def run(path: Path | None, *, settings: QSettings | None = None) -> int:
    """Open the window on ``path`` and run the event loop; returns the exit status."""
    if not os.environ.get("QT_QPA_PLATFORM") and sys.platform.startswith("linux"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            from app.core.errors import RoomscopeError

            raise RoomscopeError(
                "no display to open the window on (set DISPLAY, or use a headless "
                "subcommand such as 'roomscope info FILE')"
            )
    app = create_application()
    from app.ui.mainwindow import MainWindow

    window = MainWindow(settings or user_settings())
    sys.excepthook = report_unexpected_errors(window)
    window.show()
    if path is not None:
        target = path
        QTimer.singleShot(0, lambda: window.open_file(target))
    app.setAttribute(Qt.ApplicationAttribute.AA_DontShowIconsInMenus, False)
    return int(app.exec())


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def report_unexpected_errors(parent: QWidget) -> ExceptHook:
    """An exception hook for roomscope's own bugs while the window runs.

    PySide6 hands an exception escaping a slot to ``sys.excepthook`` and goes on;
    the default hook prints a traceback nobody at a desktop sees. This one still
    prints it (on stderr, for a bug report) and tells the person, in one plain-text
    line, that something went wrong and that what they had open is still open
    (DESIGN.md: a message in the window, nothing already loaded lost). An error
    raised while that dialog is up is only printed, so a bug that repeats on every
    repaint cannot stack dialogs. Ctrl+C in the terminal keeps Python's behaviour.
    """
    from app.ui.errors import one_line, show_error

    showing = [False]

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        traceback.print_exception(exc_type, exc, tb)
        if showing[0]:
            return
        showing[0] = True
        try:
            show_error(
                parent,
                "roomscope: internal error",
                f"{one_line(exc)}\n\nThis is a bug in roomscope; the details were printed "
                "on the terminal. The room you had open is still open.",
            )
        finally:
            showing[0] = False

    return hook
