"""``roomscope render FILE -o OUT.png|OUT.svg``: draw the event graph without a window.

The picture is the window's own graph canvas (:class:`app.ui.canvas.GraphCanvas`),
drawn offscreen: the same shapes, colours, lanes and legend (UI.md). A room that
fits is drawn whole at a readable zoom, labels included, in an image as tall as
it needs (up to ``--max-height``); a bigger room is drawn whole, its lanes as
density ribbons. Events the authorization rules reject (against their own auth
events or the state before them, :func:`app.core.roomstate.event_verdicts`)
carry the red cross, unless ``--no-verdicts``. The only subcommand besides the
window that imports Qt: where no display is available, Qt's ``offscreen``
platform is used.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.core.errors import RoomscopeError

__all__ = ["add_arguments", "render_room", "run"]

#: pixels per row when the whole room is drawn at a readable zoom (labels shown)
ROW_PX = 26
SUFFIXES = (".png", ".svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a room file (native JSON, array, NDJSON, or a folder)")
    parser.add_argument(
        "-o", "--output", required=True, help="the image to write: OUT.png or OUT.svg"
    )
    parser.add_argument("--width", type=int, default=1200, help="image width in pixels")
    parser.add_argument(
        "--max-height",
        type=int,
        default=6000,
        help="tallest image drawn at a readable zoom; bigger rooms are drawn "
        "whole, zoomed out, in --height pixels (default 6000)",
    )
    parser.add_argument(
        "--height", type=int, default=1400, help="image height for big rooms (default 1400)"
    )
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--auth-edges", action="store_true", help="also draw auth_events edges")
    parser.add_argument(
        "--no-verdicts",
        action="store_true",
        help="do not run the authorization rules (by default rejected events get a red cross)",
    )


def _ensure_platform() -> None:
    """Use Qt's offscreen platform when there is no display to draw on."""
    if "QT_QPA_PLATFORM" in os.environ:
        return
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def render_room(
    room: object,
    output: Path,
    *,
    width: int = 1200,
    max_height: int = 6000,
    height: int = 1400,
    theme: str = "light",
    auth_edges: bool = False,
    rejected: frozenset[str] = frozenset(),
) -> tuple[int, int]:
    """Draw ``room`` (a Room, EventGraph or event mapping) into ``output``; returns its size."""
    _ensure_platform()
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from app.ui.canvas import GraphCanvas

    app = QApplication.instance() or QApplication([])
    canvas = GraphCanvas()
    canvas.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    canvas.set_theme(theme)
    canvas.set_show_auth_edges(auth_edges)
    canvas.set_minimap_enabled(False)  # the whole room is in the picture
    canvas.resize(width, height)
    canvas.show()
    canvas.set_room(room, rejected=rejected)
    layout = canvas.graph_layout()
    rows = len(layout) if layout is not None else 0
    tall = rows * ROW_PX + 2 * ROW_PX
    size = (width, max(300, tall)) if tall <= max_height else (width, height)
    canvas.resize(*size)
    app.processEvents()
    canvas.zoom_to_fit()
    app.processEvents()
    try:
        canvas.export_image(output)
    finally:
        canvas.close()
        canvas.deleteLater()
        app.processEvents()
    return size


def run(args: argparse.Namespace) -> int:
    """Load FILE and draw it to the output image."""
    output = Path(args.output)
    if output.suffix.lower() not in SUFFIXES:
        raise RoomscopeError(f"{output}: the output must end in .png or .svg")
    if not output.parent.exists():
        raise RoomscopeError(f"{output}: the folder {output.parent} does not exist")
    from app.sources.files import load_room

    room = load_room(args.file)
    rejected: frozenset[str] = frozenset()
    if not args.no_verdicts:
        from app.core.roomstate import event_verdicts

        verdicts = event_verdicts(room.graph)
        rejected = frozenset(e for e, v in verdicts.items() if v.rejected)
    try:
        w, h = render_room(
            room,
            output,
            width=args.width,
            max_height=args.max_height,
            height=args.height,
            theme=args.theme,
            auth_edges=args.auth_edges,
            rejected=rejected,
        )
    except OSError as exc:
        raise RoomscopeError(f"{output}: {exc.strerror or exc}") from None
    note = f", {len(rejected)} rejected" if rejected else ""
    print(f"{output}: {w}x{h}, {len(room.graph.events)} events{note}")
    return 0
