"""The base of every error roomscope shows to a person."""

from __future__ import annotations

__all__ = ["RoomscopeError"]


class RoomscopeError(Exception):
    """An error with a message fit to show as one line: what went wrong, and where.

    The CLI prints it (no traceback) and exits non-zero; the window shows it
    in a dialog and keeps what was already open.
    """
