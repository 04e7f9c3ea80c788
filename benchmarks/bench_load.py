"""How long loading a large room takes: each stage in memory, and ``roomscope info`` end to end.

Makes a room with tools/make_large_room.py (default 100,000 events, 5 servers,
forks, merges, state changes; cached in the temp folder by size and seed) or
uses ``--file``, then times

* the stages of ``load_room``: reading and gunzip, JSON, PDU parsing (computing
  the v3+ event IDs the file leaves out), the event graph (with and without
  checking given event IDs against their reference hashes);
* ``load_room`` as a whole, and ``info_json`` on the result;
* ``roomscope info FILE`` and ``roomscope info --json FILE`` in a subprocess
  (interpreter start, imports, load, output): what a person waits for.

CPU time is shown next to wall time: on a shared machine the wall time says more
about the neighbours than about roomscope.

Usage: .venv/bin/python benchmarks/bench_load.py [--events 100000] [--file ROOM]
       [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.commands.info import info_json  # noqa: E402
from app.core.graph import EventGraph, gc_paused  # noqa: E402
from app.core.versions import room_version  # noqa: E402
from app.sources import files  # noqa: E402

T = TypeVar("T")


def timed(label: str, fn: Callable[[], T], repeat: int) -> T:
    """Run ``fn`` ``repeat`` times; print the best wall and CPU time."""
    best_wall = best_cpu = float("inf")
    result: T | None = None
    for _ in range(repeat):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    print(f"  {label:<44} {best_wall:7.2f} s wall {best_cpu:7.2f} s CPU")
    assert result is not None
    return result


def subprocess_time(args: list[str], repeat: int) -> None:
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        before = os.times()
        wall = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=ROOT
        )
        best_wall = min(best_wall, time.perf_counter() - wall)
        after = os.times()
        cpu = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        best_cpu = min(best_cpu, cpu)
        if result.returncode != 0:
            raise SystemExit(f"roomscope {' '.join(args)} failed: {result.stderr.strip()}")
    label = "roomscope " + " ".join(a if not a.startswith("/") else Path(a).name for a in args)
    print(f"  {label:<44} {best_wall:7.2f} s wall {best_cpu:7.2f} s CPU")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--file", help="time this room file instead of a generated one")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    if args.file:
        path = Path(args.file)
    else:
        path = Path(tempfile.gettempdir()) / f"roomscope-bench-{args.events}-{args.seed}.json.gz"
        if not path.exists():
            print(f"making {path} ...", flush=True)
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "tools" / "make_large_room.py"),
                    str(path),
                    "--events",
                    str(args.events),
                    "--seed",
                    str(args.seed),
                ],
                check=True,
            )
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB on disk; best of {args.repeat}")

    data = path.read_bytes()
    limit = files._byte_limit(None)
    with gc_paused():
        text = timed("read + gunzip", lambda: files._gunzip(data, "f", limit), args.repeat)
        print(f"  ({len(text) / 1e6:.1f} MB of JSON)")
        batch = timed("... + JSON", lambda: files._read_batch(data, "f", limit), args.repeat)
        version = room_version((batch.meta or {}).get("room_version", "10"))
        pdus = timed(
            "PDUs (v3+ IDs computed where absent)",
            lambda: files._parse_events([batch], version, ""),
            args.repeat,
        )
        timed(
            "event graph, given IDs not checked",
            lambda: EventGraph.build(pdus, room_version=version, check_event_ids=False),
            args.repeat,
        )
        # As load_room does: a file without floats has its given IDs checked the fast way.
        timed(
            "event graph, given IDs checked",
            lambda: EventGraph.build(pdus, room_version=version, float_free=batch.float_free),
            args.repeat,
        )
    room = timed("load_room (all of the above, GC paused)", lambda: files.load_room(path), 1)
    timed("info_json", lambda: info_json(room, str(path)), args.repeat)
    g = room.graph
    print(
        f"  ({len(g.order)} events, {len(g.forks)} forks, {len(g.merges)} merges, "
        f"{len(g.missing)} missing, {len(room.findings)} findings)"
    )
    subprocess_time(["info", str(path)], args.repeat)
    subprocess_time(["info", "--json", str(path)], args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
