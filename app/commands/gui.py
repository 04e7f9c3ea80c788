"""``roomscope [FILE]``: the window (until it exists: the room's summary)."""

from __future__ import annotations

import argparse

from app.commands import info


def run(args: argparse.Namespace) -> int:
    """Open the window on FILE or on the default sample room."""
    return info.run(argparse.Namespace(file=args.file or info.default_sample(), json=False))
