"""Showing untrusted text safely where Qt would guess at rich text.

Qt renders a tooltip as rich text whenever ``Qt::mightBeRichText`` thinks it looks
like HTML, so a room's ``"<img src=...>"`` in a sender, a state key, a topic or a
file name would be interpreted, not shown. :func:`plain_tooltip` escapes the text
and wraps it in a paragraph that keeps line breaks: Qt then always takes the
rich-text path, and what it renders is exactly the characters of the text.

Two helpers for two purposes, one place each:

* here, for Qt: :func:`plain_tooltip` (a tooltip) and :func:`single_line` (a label,
  cell or status line: whitespace folded, length bounded). Labels showing room text
  must also be ``setTextFormat(Qt.TextFormat.PlainText)``.
* for a terminal: :func:`app.core.errors.printable`, which also escapes control
  characters (a terminal would obey them; Qt shows them harmlessly).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

__all__ = ["draw_item_frame", "plain_tooltip", "single_line"]

#: Longest tooltip shown; longer text is cut (a tooltip is a glance, not a reader).
MAX_TOOLTIP_CHARS = 2000


def single_line(text: str, limit: int) -> str:
    """``text`` on one line for a Qt widget: runs of whitespace (line breaks too) become
    one space, and text longer than ``limit`` is cut, ending in ``…``."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def draw_item_frame(
    delegate: QStyledItemDelegate,
    painter: QPainter,
    option: QStyleOptionViewItem,
    index: QModelIndex | QPersistentModelIndex,
) -> tuple[QStyleOptionViewItem, str]:
    """Draw an item view cell's background, selection and focus, but not its text.

    For delegates that then draw the (untrusted) text themselves with
    :meth:`QPainter.drawText`, which never interprets markup. Returns the initialised
    style option (its ``text`` cleared) and the text that was taken out of it.
    """
    opt = QStyleOptionViewItem(option)
    delegate.initStyleOption(opt, index)
    text = opt.text
    opt.text = ""
    widget = opt.widget
    style = widget.style() if widget is not None else QApplication.style()
    style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
    return opt, text


def plain_tooltip(text: str) -> str:
    """``text`` as a tooltip that Qt shows verbatim (never interpreted as markup)."""
    if len(text) > MAX_TOOLTIP_CHARS:
        text = text[: MAX_TOOLTIP_CHARS - 1] + "…"
    return f'<p style="white-space:pre-wrap">{html.escape(text, quote=False)}</p>'
