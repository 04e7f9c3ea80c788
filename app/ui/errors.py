"""Errors in the window: one clear line, in plain text, and nothing lost.

DESIGN.md: a bad file, a bad event, a failed request is "one clear line saying
what and where ... a message in the window for the GUI, and nothing already
loaded lost". Messages often quote untrusted text (a file name, a field of an
event), so every dialog forces :attr:`Qt.TextFormat.PlainText`: a message
holding ``<b>`` shows the angle brackets, it does not render them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.errors import RoomscopeError
from app.ui.text import single_line

__all__ = ["one_line", "show_error"]

#: Longest message shown; a server's error page or a huge field name is cut here.
MAX_MESSAGE_CHARS = 600


def one_line(exc: BaseException) -> str:
    """A one-line, human message for ``exc``.

    A :class:`RoomscopeError` already says what and where; anything else is an
    unexpected failure, named by its type so a bug report can find it. Line
    breaks are folded and the text is bounded, so a dialog never grows past the
    screen.
    """
    text = str(exc).strip()
    if isinstance(exc, RoomscopeError):
        message = text or type(exc).__name__
    elif isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        message = f"{exc.strerror}{where}"
    elif isinstance(exc, MemoryError):
        message = "not enough memory to open this room"
    else:
        message = f"unexpected error ({type(exc).__name__}){': ' + text if text else ''}"
    return single_line(message, MAX_MESSAGE_CHARS)


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    """A modal error dialog whose text is shown as plain text, never rich text."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(message)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.exec()
