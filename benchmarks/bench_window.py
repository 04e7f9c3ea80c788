"""The window opening a big room: time to the first paint, the analysis stages, and how
long the UI thread is ever blocked while that runs.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_window.py ROOM_FILE
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_window.py --events 100000

A room file (``tools/make_large_room.py OUT.json.gz`` writes a valid 100k-event
one) or, with ``--events``, the graph-only room of benchmarks/bench_canvas.py.
"First paint" is when the event loop has delivered the canvas's first paint after
the room is shown (what a person sees; no forced grab). "Blocked" is the longest
gap between ticks of a 10 ms timer on the UI thread: what a person would feel as a
frozen window. Settings go to a temporary file.

Each mark shows wall time and the CPU time of the process (every thread) since the
file was opened: on a machine shared with other work the wall time says more about
the neighbours than about roomscope; the load average at the start is printed too.
``--paint-only`` stops at the first paint (no waiting for the analysis), for
repeated runs; note that a big file's given event IDs are checked only after the
first paint (the analysis's first stage, "checking the IDs of N events"), so for
such files the paint comes before that check; run the script several times, each
a fresh process (cold imports are part of what a person waits for).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, QTimer
from PySide6.QtWidgets import QGraphicsView

from app.ui.app import create_application
from app.ui.mainwindow import MainWindow


class _PaintWatcher(QObject):
    """Calls ``then`` whenever ``widget`` (the canvas's viewport) receives a paint event."""

    def __init__(self, widget: QObject, then: Callable[[], None]) -> None:
        super().__init__(widget)
        self._then = then
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._then()
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("room", nargs="?", type=Path)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument(
        "--paint-only", action="store_true", help="stop at the first paint (no analysis)"
    )
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="roomscope-bench-"))
    path: Path = args.room
    if path is None:
        from benchmarks.bench_canvas import generate_room

        path = tmp / f"generated-{args.events}.json"
        path.write_text(json.dumps(generate_room(args.events)))

    app = create_application()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    run(app, path, tmp, paint_only=args.paint_only)
    return 0


def run(app: Any, path: Path, tmp: Path, *, paint_only: bool) -> None:
    """Open ``path`` in a new window and print when it was shown, painted and analysed."""
    window = MainWindow(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    app.processEvents()

    gaps: list[tuple[float, float]] = []
    last = [time.perf_counter()]
    t0 = time.perf_counter()
    c0 = time.process_time()
    cpu: dict[str, float] = {}

    def mark(name: str) -> None:
        if name not in marks:
            marks[name] = time.perf_counter() - t0
            cpu[name] = time.process_time() - c0

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((last[0] - t0, now - last[0]))
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    marks: dict[str, float] = {}
    window.roomOpened.connect(lambda _doc: mark("room shown"))
    window.analysisReady.connect(lambda _a: mark("analysis complete"))
    stages: list[tuple[float, str]] = []
    window.jobs.busy.connect(
        lambda name, pct, text: stages.append((time.perf_counter() - t0, f"{name}: {text}"))
        if not stages or not stages[-1][1].endswith(text)
        else None
    )
    # The window's own event loop, as in the app (a polling loop would add its own
    # CPU time and fight the loading thread for the interpreter lock).
    loop = QEventLoop()
    give_up = QTimer()
    give_up.setSingleShot(True)
    give_up.timeout.connect(loop.quit)
    give_up.start(900_000)

    def painted() -> None:
        if "room shown" in marks and "first paint" not in marks:
            # Queued: runs once this paint is done.
            QTimer.singleShot(0, lambda: (mark("first paint"), paint_only and loop.quit()))

    watcher = _PaintWatcher(window.canvas.findChild(QGraphicsView).viewport(), painted)
    window.analysisReady.connect(lambda _a: loop.quit())
    window.open_file(path)
    loop.exec()
    if paint_only:
        window.cancel_jobs()
        window.jobs.wait_for_done()
    del watcher
    timer.stop()

    doc = window.document
    assert doc is not None
    print(f"{path.name}: {len(doc.graph):,} events")
    for name, at in marks.items():
        print(f"  {name:<18} {at:7.2f} s wall {cpu[name]:7.2f} s CPU")
    seen: set[str] = set()
    for at, text in stages:
        key = text.split(" (")[0]
        if key not in seen:
            seen.add(key)
            print(f"    {at:7.2f} s  {key}")
    worst = sorted(gaps, key=lambda g: -g[1])[:5]
    print(
        "  UI thread blocked longest:",
        ", ".join(f"{g * 1000:.0f} ms at {a:.1f} s" for a, g in worst),
    )
    window.close()


if __name__ == "__main__":
    raise SystemExit(main())
