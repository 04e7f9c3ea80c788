"""Benchmark of the graph canvas on a big room: load, layout, first paint, frames, hit-test.

Usage::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_canvas.py [--events 100000]
        [--room FILE] [--keep FILE] [--seed 1]

Without ``--room`` it writes a generated room (``--events`` PDUs, room version 10,
several servers that fork and merge like federating servers do) to a temporary
native room file and measures:

* ``load``: :func:`app.sources.files.load_room` of that file (parse + graph);
* ``layout``: :func:`app.layout.lanes.compute_layout`;
* ``first paint``: ``GraphCanvas.set_room`` (layout included) plus the first
  synchronous repaint of the window;
* ``frame``: a synchronous repaint while panning and zooming, at several zoom
  levels (labels, dots, density ribbons, whole room);
* ``hit-test``: ``GraphCanvas.hit_test`` at a node, and a full simulated click.

Targets (issue 5): first paint < 3 s, frames < 16 ms, hit-test < 5 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def generate_room(n: int, seed: int = 1, servers: int = 6) -> dict[str, Any]:
    """A native room file object with ``n`` events (v10, readable-format PDUs).

    Each server keeps its own head; an event from a server points at that head
    and, now and then, at other servers' heads (a merge), so the graph forks
    and merges the way a busy federated room does. Event IDs are given (the
    file is for drawing, not for verifying).
    """
    rng = random.Random(seed)
    names = [f"s{k}.example" for k in range(servers)]
    users = [f"@u{k}:{names[k % servers]}" for k in range(servers * 4)]
    room_id = "!big:s0.example"
    events: list[dict[str, Any]] = []

    def add(sender: str, type_: str, content: dict[str, Any], prev: list[str], sk: str | None):
        i = len(events)
        ev: dict[str, Any] = {
            "event_id": f"$e{i:07d}",
            "room_id": room_id,
            "sender": sender,
            "type": type_,
            "content": content,
            "prev_events": prev,
            "auth_events": [events[0]["event_id"]] if events else [],
            "depth": i + 1,
            "origin_server_ts": 1_700_000_000_000 + i * 1000,
            "hashes": {"sha256": "x"},
            "signatures": {},
        }
        if sk is not None:
            ev["state_key"] = sk
        events.append(ev)
        return ev["event_id"]

    creator = users[0]
    head = add(creator, "m.room.create", {"creator": creator, "room_version": "10"}, [], "")
    heads = {s: head for s in names}
    for u in users:
        s = u.split(":")[1]
        heads[s] = add(u, "m.room.member", {"membership": "join"}, [heads[s]], u)
    while len(events) < n:
        u = rng.choice(users)
        s = u.split(":")[1]
        prev = [heads[s]]
        for o in names:
            if o != s and heads[o] not in prev and rng.random() < 0.08:
                prev.append(heads[o])
        r = rng.random()
        if r < 0.9:
            heads[s] = add(u, "m.room.message", {"body": f"message {len(events)}"}, prev, None)
        elif r < 0.95:
            heads[s] = add(u, "m.room.topic", {"topic": f"topic {len(events)}"}, prev, "")
        elif r < 0.98:
            m = rng.choice(["join", "leave", "invite"])
            heads[s] = add(u, "m.room.member", {"membership": m}, prev, rng.choice(users))
        else:
            heads[s] = add(u, "m.room.power_levels", {"users": {creator: 100}}, prev, "")
    return {"format": "roomscope.room", "version": 1, "room_version": "10", "events": events}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--room", help="measure this room file instead of a generated one")
    ap.add_argument("--keep", help="also write the generated room to this file")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--json", help="also write the figures (milliseconds) to this JSON file")
    args = ap.parse_args()

    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from app.layout.lanes import compute_layout
    from app.sources.files import load_room
    from app.ui.canvas import GraphCanvas

    app = QApplication.instance() or QApplication([])

    if args.room:
        path = Path(args.room)
    else:
        t = time.perf_counter()
        obj = generate_room(args.events, args.seed)
        path = Path(args.keep) if args.keep else Path(tempfile.mkstemp(suffix=".json")[1])
        path.write_text(json.dumps(obj))
        print(f"generate {len(obj['events'])} events   {_ms(time.perf_counter() - t)}")

    t = time.perf_counter()
    c = time.process_time()
    room = load_room(path)
    t_load = time.perf_counter() - t
    c_load = time.process_time() - c
    graph = room.graph
    print(
        f"load_room                {_ms(t_load)}   cpu {_ms(c_load)} ({len(graph.events)} events)"
    )

    t = time.perf_counter()
    c = time.process_time()
    layout = compute_layout(graph.events, graph=graph)  # as the window does
    t_layout = time.perf_counter() - t
    print(
        f"layout                   {_ms(t_layout)}   cpu {_ms(time.process_time() - c)} "
        f"({layout.lane_count} lanes)"
    )

    canvas = GraphCanvas()
    canvas.resize(1400, 900)
    canvas.show()
    app.processEvents()
    vp = canvas._graphics.viewport()
    t = time.perf_counter()
    c = time.process_time()
    canvas.set_room(graph)
    vp.repaint()
    t_first = time.perf_counter() - t
    c_first = time.process_time() - c
    print(f"set_room + first paint   {_ms(t_first)}   cpu {_ms(c_first)} (layout included)")
    print(
        f"load + first paint       {_ms(t_load + t_first)}   cpu {_ms(c_load + c_first)} "
        "(target < 3000 ms)"
    )

    view = canvas._view

    cpu: list[float] = []

    def frame() -> float:
        c0 = time.process_time()
        t0 = time.perf_counter()
        vp.repaint()
        cpu.append(time.process_time() - c0)
        return time.perf_counter() - t0

    results: dict[str, list[float]] = {}
    figures: dict[str, Any] = {
        "events": len(graph.events),
        "lanes": layout.lane_count,
        "load_ms": t_load * 1000,
        "load_cpu_ms": c_load * 1000,
        "layout_ms": t_layout * 1000,
        "set_room_first_paint_ms": t_first * 1000,
        "set_room_first_paint_cpu_ms": c_first * 1000,
        "frames": {},
    }
    n = len(layout)
    for label, rows in (
        ("labels (35 rows)", 35.0),
        ("shapes (150 rows)", 150.0),
        ("dots (450 rows)", 450.0),
        ("density (20k rows)", 20_000.0),
        ("whole room", n + 1.0),
    ):
        canvas._set_view(n / 2 - rows / 2, n / 2 + rows / 2, None)
        app.processEvents()
        frame()
        cpu.clear()
        times = []
        for k in range(args.frames):
            vr = view.viewRect()
            view.translateBy(y=vr.height() * 0.05 * (1 if k % 20 < 10 else -1))
            times.append(frame())
        for k in range(args.frames // 2):
            canvas._zoom(1.1 if k % 2 else 1 / 1.1, None)
            times.append(frame())
        results[label] = times
        figures["frames"][label] = {
            "median_ms": statistics.median(times) * 1000,
            "p95_ms": sorted(times)[int(len(times) * 0.95) - 1] * 1000,
            "max_ms": max(times) * 1000,
            "cpu_median_ms": statistics.median(cpu) * 1000,
        }
        last = canvas._item.last_stats
        print(
            f"frame {label:20s} median {_ms(statistics.median(times))}  "
            f"p95 {_ms(sorted(times)[int(len(times) * 0.95) - 1])}  max {_ms(max(times))}"
            f"  cpu median {_ms(statistics.median(cpu))}  ({last.get('edges', 0)} edges drawn)"
        )

    # hit-test at a visible node, zoomed to a readable level
    canvas._set_view(n / 2 - 20, n / 2 + 20, None)
    app.processEvents()
    row = n // 2
    pt = QPointF(float(layout.x[row]), float(layout.y[row]))
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        hit = canvas.hit_test(pt)
        times.append(time.perf_counter() - t0)
    assert hit == row, (hit, row)
    print(f"hit_test                 median {_ms(statistics.median(times))}  max {_ms(max(times))}")
    figures["hit_test_median_ms"] = statistics.median(times) * 1000
    figures["hit_test_max_ms"] = max(times) * 1000

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    pos = vp.mapFrom(canvas, canvas.node_position(layout.ids[row]))
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, pos=pos)
        times.append(time.perf_counter() - t0)
    assert canvas.selected() == (layout.ids[row],)
    print(f"click (event -> select)  median {_ms(statistics.median(times))}  max {_ms(max(times))}")
    figures["click_median_ms"] = statistics.median(times) * 1000
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    if not args.room and not args.keep:
        path.unlink()
    canvas.close()
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
