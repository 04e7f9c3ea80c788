"""The base of every error roomscope shows to a person, and the rule for showing
untrusted text on one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["RoomscopeError", "json_text", "printable"]


class RoomscopeError(Exception):
    """An error with a message fit to show as one line: what went wrong, and where.

    The CLI prints it (no traceback) and exits non-zero; the window shows it
    in a dialog and keeps what was already open.
    """


def printable(text: object, limit: int | None = None) -> str:
    """Untrusted text (an event ID, a sender, a server's error) fit for one line.

    Every character that is not printable (newlines, terminal escapes, lone
    surrogates from ``\\udXXX`` escapes in JSON, ...) is written as its Python
    escape (``\\n``, ``\\x1b``, ``\\udcff``), so a room file cannot move the
    cursor, colour the terminal, forge extra lines of output, or make writing
    the line fail. With ``limit``, text longer than that is cut and ends in
    ``...``. One rule for every message and table roomscope prints (DESIGN.md:
    one clear line saying what and where).
    """
    s = str(text)
    if not s.isprintable():
        s = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in s)
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 3, 0)] + "..."
    return s


def json_text(
    obj: Any,
    *,
    indent: int | None = None,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
    encoding: str = "utf-8",
) -> str:
    """``obj`` as JSON text, readable (non-ASCII kept) where ``encoding`` can hold it.

    Room files may hold strings that are not valid Unicode: a lone surrogate escape
    (``"\\ud800"``) is legal JSON. Written raw, it cannot be encoded (a traceback) and
    Qt silently drops it; so when the readable text cannot be encoded, the whole
    document is written with ``\\u`` escapes instead: still valid JSON, read back
    to the same strings.
    """
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, default=default, ensure_ascii=False)
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        text = json.dumps(obj, indent=indent, sort_keys=sort_keys, default=default)
    return text
