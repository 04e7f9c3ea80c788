"""The ``roomscope`` command: the window by default, headless subcommands for scripts.

``roomscope`` opens the window on a bundled sample room, ``roomscope FILE``
opens FILE, and ``roomscope SUBCOMMAND ...`` runs one of the headless
subcommands below. Headless subcommands other than ``render`` import neither
Qt nor pyqtgraph. Errors are one line on stderr and a non-zero exit status;
never a traceback (DESIGN.md). That holds for roomscope's own bugs too: an
unexpected exception is reported as one line naming its type and exit status
70 (EX_SOFTWARE, "internal software error"); with ``ROOMSCOPE_DEBUG=1`` in the
environment it propagates with its traceback instead (the test suite sets it,
so a bug fails a test rather than turning into an exit status).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from app import __version__
from app.core.errors import RoomscopeError, printable

__all__ = ["SUBCOMMANDS", "internal_error_line", "main"]

#: subcommand -> (module under app.commands, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "info": ("info", "room ID, version, event count, forks, extremities, missing events"),
    "verify": ("verify", "check event IDs, content hashes and signatures"),
    "auth": ("auth", "for every event, whether it is rejected and why"),
    "state": ("state", "the resolved room state at the extremities or at given events"),
    "resolve": ("resolve", "resolve explicit state sets"),
    "explain": ("explain", "the step-by-step trace of a state resolution"),
    "fetch": ("fetch", "fetch a room's event graph from a homeserver into a room file"),
    "render": ("render", "draw the event graph to PNG or SVG without a window"),
}

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70

#: Set to anything non-empty to let unexpected exceptions through with a traceback.
DEBUG_ENV = "ROOMSCOPE_DEBUG"


def _command_module(name: str) -> ModuleType:
    return importlib.import_module(f"app.commands.{SUBCOMMANDS[name][0]}")


def _build_parser(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, ModuleType | None]:
    parser = argparse.ArgumentParser(
        prog="roomscope",
        description="See inside Matrix rooms: the event graph, the authorization rules "
        "and state resolution, step by step.",
        epilog="subcommands: "
        + "; ".join(f"{name}: {help_}" for name, (_, help_) in SUBCOMMANDS.items())
        + ". Run 'roomscope SUBCOMMAND --help' for each.",
    )
    parser.add_argument("--version", action="version", version=f"roomscope {__version__}")
    if argv and argv[0] in SUBCOMMANDS:
        name = argv[0]
        module = _command_module(name)
        sub = argparse.ArgumentParser(prog=f"roomscope {name}", description=SUBCOMMANDS[name][1])
        module.add_arguments(sub)
        return sub, module
    parser.add_argument("file", nargs="?", help="a room file to open (default: a sample room)")
    return parser, None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser, module = _build_parser(args_list)
    try:
        if module is not None:
            args = parser.parse_args(args_list[1:])
            status: int = module.run(args)
            return status
        args = parser.parse_args(args_list)
        from app.commands import gui

        return gui.run(args)
    except RoomscopeError as exc:
        print(f"roomscope: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("roomscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug in roomscope itself: still one line, not a traceback
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"roomscope: {internal_error_line(exc)}", file=sys.stderr)
        return EXIT_INTERNAL


def internal_error_line(exc: BaseException) -> str:
    """One line for an exception roomscope did not expect: its type and message, and
    how to get the traceback for a bug report."""
    if isinstance(exc, MemoryError):
        return "out of memory"
    text = printable(" ".join(str(exc).split()), 300)
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return (
        f"internal error ({detail}); this is a bug in roomscope: "
        f"run again with {DEBUG_ENV}=1 for the traceback"
    )
