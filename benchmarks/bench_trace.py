"""What the resolver's step trace costs: nothing when off, something when on.

``resolve_state(..., trace=False)`` must build no trace record at all. This
script resolves the same generated forks (tests.generators.forked_rooms) with
tracing off and on, counts the trace records constructed in each mode (by
wrapping the record classes' constructors), and reports the median times.

Usage (from the checkout)::

    .venv/bin/python -m benchmarks.bench_trace            # medium forks, 5 seeds
    .venv/bin/python -m benchmarks.bench_trace --events 2000 --seeds 3

Exit status 1 if any record was built with tracing off.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.core.graph import EventGraph  # noqa: E402
from app.core.roomstate import RoomStates  # noqa: E402
from app.core.stateres import MappingSource, resolve_state  # noqa: E402
from app.core.stateres import trace as trace_module  # noqa: E402
from app.core.versions import room_version  # noqa: E402

RECORDS = (
    "InputStep",
    "SplitStep",
    "EventSetStep",
    "SortEntry",
    "OrderingStep",
    "MainlineStep",
    "AuthCheckStep",
    "PartialStateStep",
    "FinalStep",
    "Trace",
)

built = {"count": 0}


def _count_records() -> None:
    """Wrap every record class's __init__ so constructions are counted."""
    for name in RECORDS:
        cls = getattr(trace_module, name)
        original = cls.__init__

        def counting(self: object, *args: object, __original=original, **kw: object) -> None:
            built["count"] += 1
            __original(self, *args, **kw)

        cls.__init__ = counting


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default="10")
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from tests.generators.forked_rooms import RoomShape, generate_room

    version = room_version(args.version)
    shape = RoomShape(events=args.events, users=40, servers=4, initial_members=25)
    _count_records()
    off: list[float] = []
    on: list[float] = []
    built_off = built_on = 0
    merges = 0
    for seed in range(args.seeds):
        room = generate_room(version, seed, shape)
        states = RoomStates(EventGraph.build(room.events, room_version=version))
        inputs = []
        for event_id in room.merges:
            event = states.get(event_id)
            assert event is not None
            sets = states.state_sets_at([p for p in event.prev_events if p in states])
            if len(sets) > 1:
                inputs.append([s.to_dict() for s in sets])
        merges += len(inputs)
        events = {e.event_id: e for e in room.events}
        rejected = states.rejected
        for trace in (False, True):
            for _ in range(args.repeat):
                source = MappingSource(events, rejected)  # fresh: cold auth chains
                before = built["count"]
                start = time.perf_counter()
                for sets in inputs:
                    resolve_state(version, sets, source, trace=trace)
                elapsed = time.perf_counter() - start
                (on if trace else off).append(elapsed)
                if trace:
                    built_on += built["count"] - before
                else:
                    built_off += built["count"] - before
    print(
        f"room version {version.identifier}, {args.seeds} rooms of ~{args.events} events, "
        f"{merges} merges resolved, {args.repeat} repeats"
    )
    print(
        f"trace off: median {statistics.median(off) * 1000:.1f} ms per room, "
        f"{built_off} trace records built"
    )
    print(
        f"trace on:  median {statistics.median(on) * 1000:.1f} ms per room, "
        f"{built_on} trace records built"
    )
    return 1 if built_off else 0


if __name__ == "__main__":
    sys.exit(main())
