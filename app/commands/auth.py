"""``roomscope auth FILE``: for every event, whether it is rejected and why.

See DESIGN.md ("The command line"). Every event is checked against its own
``auth_events`` (:mod:`app.core.auth_graph`): the rule that rejects it is named by
its number in the room version's list of authorization rules.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TextIO

from app.commands.output import printable, write_json
from app.core.auth_graph import EventVerdict, check_graph_against_auth_events, verdict_text

__all__ = ["add_arguments", "run"]

EXIT_OK = 0

_EPILOG = """\
Each event is checked as a server checks an event it receives: against the rules
that depend only on the event and its own auth_events (rule 1 for m.room.create;
the checks on the auth events themselves), then against the state its auth events
make up. An event whose auth event is rejected, or absent from the file, is
rejected too. Signatures are not checked here (see 'roomscope verify'), except
that a restricted join must carry a signature from the authorising user's server.

Without --json: a table of the rejected events (all events with --all) and a
summary line. --json prints {"$event_id": null | "reason", ...} for every event
in the room's order, null meaning allowed.

Exit status: 0 when the file was read (whatever the verdicts); 1 when it cannot
be read; 2 for a usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``roomscope auth``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    parser.add_argument("file", metavar="FILE", help="a room file (any format roomscope reads)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--all", action="store_true", help="list every event in the table, not only rejected ones"
    )


def as_json(verdicts: Mapping[str, EventVerdict]) -> dict[str, str | None]:
    """The JSON of DESIGN.md: ``{"event_id": null | "reason"}``."""
    return {
        event_id: None if not v.rejected else verdict_text(v.auth_events)
        for event_id, v in verdicts.items()
    }


def _table(verdicts: Mapping[str, EventVerdict], show_all: bool, out: TextIO) -> None:
    rows = [v for v in verdicts.values() if show_all or v.rejected]
    if not rows:
        return
    ids = [printable(v.event_id) for v in rows]
    width = max(len("EVENT"), *(len(i) for i in ids))
    print(f"{'EVENT'.ljust(width)}  VERDICT   RULE", file=out)
    for shown, v in zip(ids, rows, strict=True):
        r = v.auth_events
        word = "allowed" if r.allowed else "rejected"
        print(f"{shown.ljust(width)}  {word.ljust(8)}  {r.rule} {printable(r.rule_name)}", file=out)
        if not r.allowed:
            print(f"    {printable(r.reason)}", file=out)


def run(args: argparse.Namespace) -> int:
    """Check every event of FILE; print a table or JSON."""
    from app.sources.files import load_room  # imported late for a fast --help

    room = load_room(args.file)
    verdicts = check_graph_against_auth_events(room.graph)
    if args.json:
        write_json(as_json(verdicts))
        return EXIT_OK
    _table(verdicts, bool(args.all), sys.stdout)
    rejected = sum(1 for v in verdicts.values() if v.rejected)
    print(f"{len(verdicts)} events: {len(verdicts) - rejected} allowed, {rejected} rejected")
    return EXIT_OK
