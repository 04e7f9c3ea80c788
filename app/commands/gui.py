"""``roomscope [FILE]``: the window, on FILE or on the default sample room.

The headless subcommands never import this module's Qt side: the window's
modules are imported only here, when the window is wanted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.core.errors import RoomscopeError


def _default_sample() -> Path:
    from app.commands import info

    return Path(info.default_sample())


def run(args: argparse.Namespace) -> int:
    """Open the window on ``args.file`` or on the default sample room."""
    path = Path(args.file) if args.file else _default_sample()
    if not path.exists():
        raise RoomscopeError(f"{path}: no such file or folder")
    from app.ui.app import run as run_window

    return run_window(path)
