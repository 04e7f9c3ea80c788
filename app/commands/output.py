"""How the headless subcommands write: JSON documents and lines of untrusted text.

One place for the ``--json`` output of the subcommands (info, verify, auth and
fetch use it), so they print the same way: UTF-8 with two-space indentation,
and never a traceback half-way through a document. Room files may hold strings
that are not valid Unicode (a lone surrogate, ``"\\ud800"``, is legal JSON);
such a document is written with ``\\u`` escapes instead
(still valid JSON, and it reads back to the same strings). The document is
encoded whole before anything is written, so a failure leaves no half-printed
output.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from app.core.errors import json_text, printable

__all__ = ["add_room_file_argument", "printable", "write_json"]


def write_json(obj: Any, out: TextIO | None = None, *, sort_keys: bool = False) -> None:
    """Write ``obj`` as one JSON document and a newline to ``out`` (stdout by default)."""
    stream = sys.stdout if out is None else out
    stream.write(
        json_text(
            obj,
            indent=2,
            sort_keys=sort_keys,
            encoding=getattr(stream, "encoding", None) or "utf-8",
        )
        + "\n"
    )


def add_room_file_argument(parser: argparse.ArgumentParser, epilog: str) -> None:
    """The ``FILE`` argument of a command that reads a room, and its help's epilog
    (shown as written: it lists the output format and the exit statuses)."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = epilog
    parser.add_argument("file", metavar="FILE", help="a room file or folder of batches")
