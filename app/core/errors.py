"""The base of every error roomscope shows to a person, and the rule for showing
untrusted text on one line."""

from __future__ import annotations

__all__ = ["RoomscopeError", "printable"]


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
