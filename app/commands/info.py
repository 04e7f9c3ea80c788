"""``roomscope info FILE``: what a room file holds, at a glance.

See DESIGN.md ("The command line"): room ID, version, event count, forks,
extremities, missing events, plus the servers taking part and the findings of
loading (cycles, duplicate IDs, mismatched event IDs, ...). Imports no Qt.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from app.commands.output import add_room_file_argument, printable, write_json
from app.core.room import Room
from app.sources.files import load_room

__all__ = ["add_arguments", "default_sample", "info_json", "run"]

# How many items of a list the human output shows before "and N more".
_SHOWN = 5
# How many findings the human output lists before summarising the rest by kind.
_SHOWN_FINDINGS = 20

_EPILOG = """\
--json prints one object with these keys (more may be added, none removed):
  file                 the path given
  room_id              the room ID (the file's, else from the create event), or null
  room_version         the room version identifier, e.g. "10"
  state_resolution     "v1", "v2" or "v2.1"
  title                annotations.title of the file, else the file's name
  events               number of events in the file (duplicates counted once)
  create_event         the m.room.create event's ID, or null
  forward_extremities  IDs of events no event in the file builds on, in graph order
  forks                IDs of events two or more events list in prev_events
  merges               IDs of events with two or more prev_events
  missing_events       IDs referenced (prev_events, auth_events) but absent, sorted
  servers              {"server.name": number of events sent from it}, most first
  findings             [{"kind": word, "event_id": ID or null, "message": line}]

Exit status: 0 when the file was read (findings or not), 1 when it could not be
read, 2 for a usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``roomscope info``."""
    add_room_file_argument(parser, _EPILOG)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def default_sample() -> str:
    """The path of the sample room ``roomscope`` opens when given no file: the fork and
    merge (UI.md, "First minute": two branches visibly fork and merge)."""
    return str(Path(__file__).resolve().parents[2] / "sample_rooms" / "fork-and-merge.json")


def info_json(room: Room, file: str) -> dict[str, Any]:
    """The ``--json`` object of ``roomscope info`` (keys documented in the epilog)."""
    graph = room.graph
    return {
        "file": file,
        "room_id": room.room_id,
        "room_version": room.room_version.identifier,
        "state_resolution": room.room_version.state_res_name,
        "title": room.title,
        "events": len(graph.order),
        "create_event": graph.create_event.event_id if graph.create_event else None,
        "forward_extremities": list(graph.forward_extremities),
        "forks": list(graph.forks),
        "merges": list(graph.merges),
        "missing_events": sorted(graph.missing),
        "servers": dict(graph.server_counts),
        "findings": [
            {"kind": f.kind, "event_id": f.event_id, "message": f.message} for f in room.findings
        ],
    }


def _some(ids: Sequence[str]) -> str:
    if not ids:
        return "0"
    shown = ", ".join(printable(i) for i in ids[:_SHOWN])
    more = f", and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else ""
    return f"{len(ids)}: {shown}{more}"


def _write_human(info: dict[str, Any], out: TextIO) -> None:
    servers: dict[str, int] = info["servers"]
    server_text = ", ".join(f"{printable(s)} ({n})" for s, n in list(servers.items())[:_SHOWN])
    if len(servers) > _SHOWN:
        server_text += f", and {len(servers) - _SHOWN} more"
    rows = [
        ("file", printable(info["file"])),
        ("title", printable(info["title"])),
        ("room ID", printable(info["room_id"] or "(unknown)")),
        (
            "room version",
            f"{printable(info['room_version'])} (state resolution {info['state_resolution']})",
        ),
        ("events", str(info["events"])),
        ("create event", printable(info["create_event"] or "(absent)")),
        ("forward extremities", _some(info["forward_extremities"])),
        ("forks", _some(info["forks"])),
        ("merges", _some(info["merges"])),
        ("missing events", _some(info["missing_events"])),
        ("servers", f"{len(servers)}: {server_text}" if servers else "0"),
        ("findings", str(len(info["findings"]))),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        out.write(f"{label:<{width}}  {value}\n")
    findings: list[dict[str, Any]] = info["findings"]
    for f in findings[:_SHOWN_FINDINGS]:
        out.write(f"  {f['kind']}: {printable(f['message'])}\n")
    if len(findings) > _SHOWN_FINDINGS:
        rest: dict[str, int] = {}
        for f in findings[_SHOWN_FINDINGS:]:
            rest[f["kind"]] = rest.get(f["kind"], 0) + 1
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(rest.items()))
        out.write(f"  ... and {len(findings) - _SHOWN_FINDINGS} more: {summary}\n")


def run(args: argparse.Namespace) -> int:
    """Load FILE and print its summary; a file that cannot be read raises RoomFileError."""
    room = load_room(args.file)
    info = info_json(room, str(args.file))
    if getattr(args, "json", False):
        write_json(info, sys.stdout)
    else:
        _write_human(info, sys.stdout)
    return 0
