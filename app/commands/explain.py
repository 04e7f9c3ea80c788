"""``roomscope explain FILE [--at ...|--state-set ...]``: the step trace of a resolution.

See DESIGN.md ("The command line"). Which resolution:

* ``--state-set IDS.json ...``: those state sets (as ``roomscope resolve``);
* ``--at A --at B ...``: the states after those events (as ``roomscope state``);
* one ``--at X`` where X has two or more ``prev_events``: the resolution that
  gave X its state before (the merge at X); for any other single event there
  is nothing to resolve and the trace shows one state set;
* neither: the room file's ``state_sets`` if it names some, else the forward
  extremities.

Text output is the trace step by step, then, for each conflicted key, the
candidates and the sentence that decided it. ``--json`` prints
:meth:`~app.core.stateres.trace.Trace.to_json` plus the resolved ``state``.
``--algorithm`` replays the same inputs with another algorithm; ``--compare``
resolves them with a second one as well and says which keys differ and why
(e.g. ``--compare v2`` on a v12 room shows what v2.1 changes). Imports no Qt.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

from app.commands.output import add_room_file_argument, printable, write_json
from app.commands.resolve import state_sets_from_args
from app.commands.state import (
    ALGORITHMS,
    add_algorithm_argument,
    check_events,
    load_states,
    state_json,
)
from app.core.errors import RoomscopeError
from app.core.events import StateKey
from app.core.stateres import resolve_state

__all__ = ["add_arguments", "run"]

_EPILOG = """\
--json prints {"algorithm", "room_version", "inputs", "steps", "why", "state"}:
steps in order (input, split, auth difference, conflicted state subgraph, full
conflicted set, orderings, mainline, each auth check with its rule, partial
states, final), and for each conflicted key its candidates and the deciding
sentence; state as a list of [type, state_key, event_id], sorted.

Exit status: 0 on success, 1 when a file cannot be read or an event or state set
is not valid, 2 for a usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``roomscope explain``."""
    add_room_file_argument(parser, _EPILOG)
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--at",
        metavar="EVENT_ID",
        action="append",
        default=[],
        help="explain the resolution of the states after these events (one merge "
        "event: the resolution that gave it its state)",
    )
    group.add_argument(
        "--state-set",
        metavar="IDS.json",
        action="append",
        default=[],
        help="a JSON list of event IDs (or a state set named in the room file); repeat",
    )
    add_algorithm_argument(parser)
    parser.add_argument(
        "--compare",
        choices=ALGORITHMS,
        default=None,
        metavar="ALGORITHM",
        help="also resolve with this algorithm (v1, v2 or v2.1) and say where and why "
        "the results differ",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _printable(text: str) -> str:
    """Untrusted text (state keys, IDs) with control characters escaped, lines kept."""
    return "\n".join(printable(line) for line in text.split("\n"))


def run(args: argparse.Namespace) -> int:
    """Resolve the chosen state sets with tracing on and print the trace."""
    room, states = load_states(args.file)
    inputs: str
    sets: Sequence[Mapping[StateKey, str]]
    if args.state_set or (not args.at and room.state_sets):
        sets = state_sets_from_args(args.state_set, room, states)
        inputs = "state sets " + ", ".join(args.state_set or list(room.state_sets))
    else:
        at: Sequence[str] = args.at or states.extremities()
        if not at:
            raise RoomscopeError("the room has no events to resolve at")
        check_events(states, at)
        if len(at) == 1:
            event = states.get(at[0])
            assert event is not None
            prevs = [p for p in dict.fromkeys(event.prev_events) if p in states]
            if len(prevs) > 1:
                at = prevs
                inputs = f"the merge at {args.at[0] if args.at else at[0]}: the states after " + (
                    ", ".join(prevs)
                )
            else:
                inputs = f"the state after {at[0]}"
        else:
            inputs = "the states after " + ", ".join(at)
        sets = states.state_sets_at(at)
    resolution = resolve_state(
        room.room_version, sets, states, trace=True, algorithm=args.algorithm
    )
    trace = resolution.trace
    assert trace is not None
    comparison = None
    if args.compare is not None:
        other = resolve_state(room.room_version, sets, states, trace=True, algorithm=args.compare)
        assert other.trace is not None
        comparison = trace.compare(other.trace)
    if args.json:
        out = {"inputs": inputs, **trace.to_json(), "state": state_json(resolution.state)}
        if comparison is not None:
            out["comparison"] = comparison.to_json()
        write_json(out)
    else:
        sys.stdout.write(f"Resolving {printable(inputs)}\n")
        sys.stdout.write(_printable(trace.render_text()))
        sys.stdout.write("\n")
        if comparison is not None:
            sys.stdout.write("\n" + _printable(comparison.render_text()) + "\n")
    return 0
