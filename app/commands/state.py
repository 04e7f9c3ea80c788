"""``roomscope state FILE [--at EVENT_ID ...]``: the resolved room state.

See DESIGN.md ("The command line"). With no ``--at``: the state at the room's
forward extremities (what the next event would see). With one ``--at X``: the
state after X. With several: the resolution of the states after each, as if a
new event had them all as ``prev_events``. ``--json`` prints a sorted list of
``[type, state_key, event_id]``. Imports no Qt.

The helpers here (loading a room with its states, picking state sets, printing
a state) serve ``roomscope resolve`` and ``roomscope explain`` too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from app.commands.output import add_room_file_argument, printable, write_json
from app.core.errors import RoomscopeError
from app.core.events import StateKey
from app.core.room import Room
from app.core.roomstate import RoomStates
from app.core.stateres import Resolution
from app.sources.files import load_room

__all__ = [
    "add_arguments",
    "load_states",
    "print_state",
    "read_state_set",
    "run",
    "state_json",
]

ALGORITHMS = ("v1", "v2", "v2.1")

_EPILOG = """\
--json prints the state as a list of [type, state_key, event_id], sorted.

Exit status: 0 on success, 1 when the file cannot be read or an event named
with --at is not in it, 2 for a usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``roomscope state``."""
    add_room_file_argument(parser, _EPILOG)
    parser.add_argument(
        "--at",
        metavar="EVENT_ID",
        action="append",
        default=[],
        help="the state after this event; give several to resolve the states after each",
    )
    add_algorithm_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_algorithm_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--algorithm",
        choices=ALGORITHMS,
        default=None,
        help="resolve with this algorithm instead of the room version's (to compare them)",
    )


def load_states(file: str) -> tuple[Room, RoomStates]:
    """The room in ``file`` and the states before/after each of its events."""
    room = load_room(file)
    return room, RoomStates(room.graph)


def check_events(states: RoomStates, event_ids: Sequence[str]) -> None:
    """A one-line error for an event ID that is not a present event of the room."""
    for event_id in event_ids:
        if event_id not in states:
            missing = states.graph is not None and event_id in states.graph.missing
            what = "is referenced but missing from the file" if missing else "is not in the room"
            raise RoomscopeError(f"event {printable(event_id)} {what}")


def state_json(state: Mapping[StateKey, str]) -> list[list[str]]:
    """The state as DESIGN.md's JSON: ``[[type, state_key, event_id], ...]``, sorted."""
    return sorted([k[0], k[1], v] for k, v in state.items())


def print_state(state: Mapping[StateKey, str], as_json: bool, out: TextIO) -> None:
    """Print ``state`` as JSON or as a table of type, state key and event ID."""
    rows = state_json(state)
    if as_json:
        write_json(rows, out)
        return
    if not rows:
        out.write("(empty state)\n")
        return
    table = [(printable(t), printable(k) if k else '""', printable(e)) for t, k, e in rows]
    w0 = max(len("type"), *(len(r[0]) for r in table))
    w1 = max(len("state_key"), *(len(r[1]) for r in table))
    out.write(f"{'type':<{w0}}  {'state_key':<{w1}}  event_id\n")
    for t, k, e in table:
        out.write(f"{t:<{w0}}  {k:<{w1}}  {e}\n")


def read_state_set(spec: str, room: Room, states: RoomStates) -> dict[StateKey, str]:
    """A state set from ``spec``: a JSON file holding a list of event IDs, or the name
    of one of the room file's ``state_sets``."""
    ids: Any
    path = Path(spec)
    if spec in room.state_sets and not path.exists():
        ids = list(room.state_sets[spec])
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RoomscopeError(f"{printable(spec)}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise RoomscopeError(f"{printable(spec)}: not UTF-8 text") from None
        try:
            ids = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RoomscopeError(
                f"{printable(spec)}: not JSON ({exc.msg} at line {exc.lineno})"
            ) from None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise RoomscopeError(f"{printable(spec)}: a state set is a JSON list of event IDs")
    out: dict[StateKey, str] = {}
    for event_id in ids:
        event = states.get(event_id)
        if event is None:
            raise RoomscopeError(
                f"{printable(spec)}: event {printable(event_id)} is not in the room"
            )
        if event.state_key is None:
            raise RoomscopeError(
                f"{printable(spec)}: event {printable(event_id)} is not a state event"
            )
        key = (event.type, event.state_key)
        if key in out:
            raise RoomscopeError(
                f"{printable(spec)}: events {printable(out[key])} and {printable(event_id)} "
                f"are both ({printable(key[0])}, {printable(key[1])!r})"
            )
        out[key] = event_id
    return out


def resolve_at(
    states: RoomStates, at: Sequence[str], *, trace: bool = False, algorithm: str | None = None
) -> Resolution:
    """``--at`` semantics: none -> the forward extremities; one -> the state after it;
    several -> the resolution of the states after each."""
    if not at:
        at = states.extremities()
        if not at:
            return Resolution({})
    check_events(states, at)
    return states.resolve_at(at, trace=trace, algorithm=algorithm)


def run(args: argparse.Namespace) -> int:
    """Print the state at the extremities, or after the events given with ``--at``."""
    _, states = load_states(args.file)
    resolution = resolve_at(states, args.at, algorithm=args.algorithm)
    print_state(resolution.state, args.json, sys.stdout)
    return 0
