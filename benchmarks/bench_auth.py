"""How long ``roomscope auth`` takes on a large room: the checks alone, and the command.

Uses the room benchmarks/bench_load.py caches (tools/make_large_room.py, default
100,000 events, room version 10; made here if absent) or ``--file``. Times

* ``event_verdicts`` on the loaded room (every event against its own auth
  events and the state before it), CPU and wall, per event;
* ``roomscope auth --json FILE`` in a subprocess (start, load, check, output).

CPU time is shown next to wall time: on a shared machine the wall time says more
about the neighbours than about roomscope.

Usage: .venv/bin/python benchmarks/bench_auth.py [--events 100000] [--file ROOM] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.roomstate import event_verdicts  # noqa: E402
from app.sources.files import load_room  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = args.file
    if path is None:
        path = Path(tempfile.gettempdir()) / f"roomscope-bench-{args.events}-{args.seed}.json.gz"
        if not path.exists():
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
    room = load_room(path)
    n = len(room.graph.order)
    for _ in range(args.repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        verdicts = event_verdicts(room.graph)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        rejected = sum(1 for v in verdicts.values() if v.rejected)
        print(
            f"auth checks: {n} events, {rejected} rejected: cpu {cpu:.2f} s "
            f"({cpu / n * 1e6:.1f} us/event), wall {wall:.2f} s"
        )
    for _ in range(args.repeat):
        start = os.times()
        wall = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "app", "auth", "--json", str(path)],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
        )
        wall = time.perf_counter() - wall
        end = os.times()
        cpu = (end.children_user + end.children_system) - (
            start.children_user + start.children_system
        )
        print(f"roomscope auth --json: cpu {cpu:.2f} s, wall {wall:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
