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

__all__ = ["plain_tooltip", "single_line"]

#: Longest tooltip shown; longer text is cut (a tooltip is a glance, not a reader).
MAX_TOOLTIP_CHARS = 2000


def single_line(text: str, limit: int) -> str:
    """``text`` on one line for a Qt widget: runs of whitespace (line breaks too) become
    one space, and text longer than ``limit`` is cut, ending in ``…``."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain_tooltip(text: str) -> str:
    """``text`` as a tooltip that Qt shows verbatim (never interpreted as markup)."""
    if len(text) > MAX_TOOLTIP_CHARS:
        text = text[: MAX_TOOLTIP_CHARS - 1] + "…"
    return f'<p style="white-space:pre-wrap">{html.escape(text, quote=False)}</p>'
