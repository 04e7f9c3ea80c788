"""``roomscope auth FILE``: for every event, whether it is rejected and why.

See DESIGN.md ("The command line"). Each event is checked as a server checks an
event it receives (:func:`app.core.roomstate.event_verdicts`, the one place
where per-event verdicts are decided): against its own ``auth_events``, then
against the state before it; the rule that rejects it is named by its number in
the room version's list of authorization rules. With ``--soft-fail``, events
that pass both but fail against the room's current state when they arrived are
flagged as soft-failed (they stay in the graph and in its state; JSON keeps
them ``null``, since they are not rejected).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TextIO

from app.commands.output import add_room_file_argument, printable, write_json
from app.core.auth import AuthResult
from app.core.roomstate import EventVerdict, event_verdicts

__all__ = ["add_arguments", "as_json", "run", "verdict_text"]

EXIT_OK = 0

_EPILOG = """\
Each event is checked as a server checks an event it receives: against the rules
that depend only on the event and its own auth_events (rule 1 for m.room.create;
the checks on the auth events themselves), against the state its auth events
make up, and then against the state before it (the resolution of the states
after its prev_events). An event whose auth event is rejected, or absent from
the file, is rejected too. Signatures are not checked here (see 'roomscope
verify'), except that a restricted join must carry a signature from the
authorising user's server.

--soft-fail also flags events that passed but failed against the room's current
state when they arrived (Synapse's soft failure). It resolves the forward
extremities wherever an event arrives out of line: quick on mostly linear
rooms, slow on heavily forked ones.

Without --json: a table of the rejected (and soft-failed) events (all events
with --all) and a summary line. --json prints {"$event_id": null | "reason",
...} for every event in the room's order, null meaning not rejected.

Exit status: 0 when the file was read (whatever the verdicts); 1 when it cannot
be read; 2 for a usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``roomscope auth``."""
    add_room_file_argument(parser, _EPILOG)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--all", action="store_true", help="list every event in the table, not only rejected ones"
    )
    parser.add_argument(
        "--soft-fail",
        action="store_true",
        help="also flag soft-failed events (slower on heavily forked rooms)",
    )


def verdict_text(verdict: EventVerdict) -> str | None:
    """A rejection as one line: "rule 4.4.2 (name): reason [against the state before it]"."""
    result = verdict.result
    if not verdict.rejected or result is None:
        return None
    rule = f"rule {result.rule} " if result.rule else ""
    where = " [against the state before it]" if verdict.stage == "state before" else ""
    return f"{rule}({result.rule_name}): {result.reason}{where}"


def as_json(verdicts: Mapping[str, EventVerdict]) -> dict[str, str | None]:
    """The JSON of DESIGN.md: ``{"event_id": null | "reason"}``."""
    return {event_id: verdict_text(v) for event_id, v in verdicts.items()}


def _word(v: EventVerdict) -> tuple[str, AuthResult | None]:
    if v.rejected:
        return "rejected", v.result
    if v.soft_failed:
        return "soft-fail", v.soft_fail_result
    return "allowed", v.result


def _table(verdicts: Mapping[str, EventVerdict], show_all: bool, out: TextIO) -> None:
    rows = [v for v in verdicts.values() if show_all or v.rejected or v.soft_failed]
    if not rows:
        return
    ids = [printable(v.event_id) for v in rows]
    width = max(len("EVENT"), *(len(i) for i in ids))
    print(f"{'EVENT'.ljust(width)}  VERDICT    RULE", file=out)
    for shown, v in zip(ids, rows, strict=True):
        word, r = _word(v)
        rule = f"{r.rule} {printable(r.rule_name)}" if r is not None else ""
        print(f"{shown.ljust(width)}  {word.ljust(9)}  {rule}", file=out)
        if r is not None and not r.allowed:
            where = " (against the state before it)" if v.stage == "state before" else ""
            print(f"    {printable(r.reason)}{where}", file=out)


def run(args: argparse.Namespace) -> int:
    """Check every event of FILE; print a table or JSON."""
    from app.sources.files import load_room  # imported late for a fast --help

    room = load_room(args.file)
    verdicts = event_verdicts(room.graph, soft_fail=bool(args.soft_fail))
    if args.json:
        write_json(as_json(verdicts))
        return EXIT_OK
    _table(verdicts, bool(args.all), sys.stdout)
    rejected = sum(1 for v in verdicts.values() if v.rejected)
    soft = sum(1 for v in verdicts.values() if v.soft_failed)
    summary = f"{len(verdicts)} events: {len(verdicts) - rejected} allowed, {rejected} rejected"
    if args.soft_fail:
        summary += f", {soft} soft-failed"
    print(summary)
    return EXIT_OK
