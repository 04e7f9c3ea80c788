"""``roomscope resolve FILE --state-set IDS.json ...``: resolve explicit state sets.

See DESIGN.md ("The command line"). Each ``--state-set`` is a JSON file holding a
list of event IDs (or the name of one of the room file's ``state_sets``); with
none, the room file's own ``state_sets`` are resolved. The events' rejection
status is the one roomscope works out for the room's DAG (an event rejected
there is never admitted, as in Synapse). Same output as ``roomscope state``.
Imports no Qt.
"""

from __future__ import annotations

import argparse
import sys

from app.commands.output import add_room_file_argument
from app.commands.state import (
    add_algorithm_argument,
    load_states,
    print_state,
    read_state_set,
)
from app.core.errors import RoomscopeError
from app.core.events import StateKey
from app.core.room import Room
from app.core.roomstate import RoomStates
from app.core.stateres import resolve_state

__all__ = ["add_arguments", "run", "state_sets_from_args"]

_EPILOG = """\
--json prints the resolved state as a list of [type, state_key, event_id], sorted.

Exit status: 0 on success, 1 when a file cannot be read or a state set is not
valid, 2 for a usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``roomscope resolve``."""
    add_room_file_argument(parser, _EPILOG)
    parser.add_argument(
        "--state-set",
        metavar="IDS.json",
        action="append",
        default=[],
        help="a JSON list of event IDs (or the name of a state set in the room file); repeat",
    )
    add_algorithm_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def state_sets_from_args(
    specs: list[str], room: Room, states: RoomStates
) -> list[dict[StateKey, str]]:
    """The state sets named on the command line, else the room file's own."""
    if not specs:
        specs = list(room.state_sets)
        if not specs:
            raise RoomscopeError(
                "no state sets: give --state-set IDS.json (the room file names none)"
            )
    return [read_state_set(spec, room, states) for spec in specs]


def run(args: argparse.Namespace) -> int:
    """Resolve the state sets given and print the result."""
    room, states = load_states(args.file)
    sets = state_sets_from_args(args.state_set, room, states)
    resolution = resolve_state(room.room_version, sets, states, algorithm=args.algorithm)
    print_state(resolution.state, args.json, sys.stdout)
    return 0
