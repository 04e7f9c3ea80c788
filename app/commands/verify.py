"""``roomscope verify FILE``: check every event's ID, content hash and signatures.

See DESIGN.md ("The command line"). The checks themselves are
:mod:`app.core.verify`; this module loads the room, gathers the server keys
(the file's ``server_keys`` and ``--keys FILE``) and prints the results.
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
from app.core.signing import ServerKeyError, VerifyKeys, parse_server_keys
from app.core.verify import (
    CHECKS,
    EventVerification,
    VerificationSummary,
    summarize,
    verify_events,
)

__all__ = ["add_arguments", "load_keys_file", "merge_server_keys", "run"]

EXIT_OK = 0
EXIT_FAILED = 1

# Column titles of the human table, per check.
_TITLES = {"event_id": "EVENT ID", "content_hash": "CONTENT HASH", "signatures": "SIGNATURES"}

_EPILOG = """\
Each check is answered with one word: ok; not_applicable (event IDs of v1/v2 rooms
are chosen by servers, not hashes); mismatch; invalid; missing; unknown_key (signed
with a key that was not given: not checkable, so not a failure unless --strict).

Signatures are checked with the keys in the file's "server_keys" and in --keys FILE:
{"server.name": {"ed25519:key_id": "<unpadded base64 public key>"}}, or a server's
/_matrix/key/v2/server response (or a list of them). Keys in --keys win.

Without --json, only events with something to report are listed (all with --all),
then a summary line. --json prints
{"events": {"$id": {"event_id": S, "content_hash": S, "signatures": S, ...}},
 "summary": {...}} for every event.

Exit status: 0 when no check failed; 1 when any check found a mismatch, an invalid
or a missing hash or signature (with --strict, also an unknown key), or when the
file cannot be read; 2 for a usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``roomscope verify``."""
    add_room_file_argument(parser, _EPILOG)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--keys",
        metavar="FILE",
        action="append",
        default=[],
        help="a JSON file of server signing keys (may be given more than once)",
    )
    parser.add_argument(
        "--all", action="store_true", help="list every event in the table, not only problems"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="treat a signature by an unknown key as a failure (exit status 1)",
    )


def _key_response_to_server_keys(obj: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """A /_matrix/key/v2/server response as ``{server: {key_id: key}}``.

    https://spec.matrix.org/v1.16/server-server-api/#get_matrixkeyv2server
    (``verify_keys`` and ``old_verify_keys``; the response's own signature is not
    checked: these are keys the user chose to trust).
    """
    server = obj.get("server_name")
    if not isinstance(server, str):
        raise ServerKeyError("server_name is not a string")
    keys: dict[str, str] = {}
    for section in ("old_verify_keys", "verify_keys"):
        entries = obj.get(section, {})
        if not isinstance(entries, Mapping):
            raise ServerKeyError(f"{server}: {section} is not an object")
        for key_id, entry in entries.items():
            key = entry.get("key") if isinstance(entry, Mapping) else None
            if not isinstance(key, str):
                raise ServerKeyError(f"{server}: {section} {key_id}: key is not a string")
            keys[str(key_id)] = key
    return {server: keys}


def _as_server_keys(obj: object) -> dict[str, dict[str, str]]:
    if isinstance(obj, list):
        out: dict[str, dict[str, str]] = {}
        for item in obj:
            if not isinstance(item, Mapping):
                raise ServerKeyError("a list of keys holds something other than a JSON object")
            out = merge_server_keys(out, _key_response_to_server_keys(item))
        return out
    if isinstance(obj, Mapping) and "verify_keys" in obj and "server_name" in obj:
        return _key_response_to_server_keys(obj)
    if isinstance(obj, Mapping) and isinstance(obj.get("server_keys"), Mapping):
        obj = obj["server_keys"]  # a room file given as --keys
    parse_server_keys(obj)  # raises one line when unusable
    assert isinstance(obj, Mapping)
    return {server: dict(keys) for server, keys in obj.items()}


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (Python's json module reads them unless told)."""
    raise ValueError(f"{name} is not allowed in JSON")


def load_keys_file(path: str | Path) -> dict[str, dict[str, str]]:
    """Read a ``--keys`` file; :class:`RoomscopeError` with one line when unusable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RoomscopeError(f"{path}: cannot read keys file ({reason})") from None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise RoomscopeError(f"{path}: line {exc.lineno}: not valid JSON") from None
    except RecursionError:
        raise RoomscopeError(f"{path}: not valid JSON (nested too deeply)") from None
    except ValueError as exc:
        raise RoomscopeError(f"{path}: not valid JSON ({printable(exc, 120)})") from None
    try:
        return _as_server_keys(obj)
    except ServerKeyError as exc:
        raise RoomscopeError(f"{path}: {exc}") from None


def merge_server_keys(*sources: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Merge key sets; later sources win for the same server and key ID."""
    out: dict[str, dict[str, str]] = {}
    for source in sources:
        for server, keys in source.items():
            out.setdefault(server, {}).update(keys)
    return out


def _table(
    results: Sequence[EventVerification], show_all: bool, keys_given: bool, out: TextIO
) -> None:
    """The events worth a look (all with ``show_all``), one row each, reasons below.

    With no keys at all, every signature is "unknown_key": the summary line says so
    once instead of a row per event.
    """
    rows = [
        r
        for r in results
        if show_all or r.failed() or (keys_given and (r.reasons or r.failed(strict=True)))
    ]
    if not rows:
        return
    ids = [printable(r.event_id) for r in rows]
    id_width = max(len("EVENT"), *(len(i) for i in ids))
    widths = {c: max(len(_TITLES[c]), 14) for c in CHECKS}
    header = "EVENT".ljust(id_width) + "  " + "  ".join(_TITLES[c].ljust(widths[c]) for c in CHECKS)
    print(header.rstrip(), file=out)
    for shown_id, r in zip(ids, rows, strict=True):
        line = shown_id.ljust(id_width) + "  "
        line += "  ".join(r.result(c).ljust(widths[c]) for c in CHECKS)
        print(line.rstrip(), file=out)
        for reason in r.reasons:
            print(f"    {printable(reason)}", file=out)


def _line_without_keys(summary: VerificationSummary) -> str:
    problems = [
        f"{check} {word}: {n}"
        for check in CHECKS
        if check != "signatures"
        for word, n in sorted(summary.counts[check].items())
        if word not in ("ok", "not_applicable")
    ]
    missing = summary.counts["signatures"].get("missing", 0)
    if missing:
        problems.append(f"signatures missing: {missing}")
    text = f"{summary.total} events: {summary.failed} failed"
    if problems:
        text += " (" + ", ".join(problems) + ")"
    return text + "; signatures not checked: no server keys (give them with --keys FILE)"


def run(args: argparse.Namespace) -> int:
    """Verify FILE; print a table or JSON; exit status as the epilog says."""
    from app.sources.files import load_room  # imported late for a fast --help

    room = load_room(args.file)
    keys = merge_server_keys(room.server_keys, *(load_keys_file(p) for p in args.keys))
    try:
        verify_keys = VerifyKeys(keys)
    except ServerKeyError as exc:
        raise RoomscopeError(f"{args.file}: {exc}") from None

    graph = room.graph
    order = getattr(graph, "order", None) or list(graph.events)
    results = verify_events((graph.events[eid] for eid in order), verify_keys)
    summary = summarize(results)
    strict = bool(args.strict)

    if args.json:
        doc = {
            "room_version": room.room_version.identifier,
            "events": {r.event_id: r.as_json() for r in results},
            "summary": {
                "total": summary.total,
                "failed": summary.failed_strict if strict else summary.failed,
                "counts": {check: dict(summary.counts[check]) for check in CHECKS},
                "keys_known_for": sorted(s for s, k in keys.items() if k),
            },
        }
        write_json(doc)
    else:
        _table(results, bool(args.all), bool(verify_keys), sys.stdout)
        print(summary.line() if verify_keys else _line_without_keys(summary))

    failed = summary.failed_strict if strict else summary.failed
    return EXIT_FAILED if failed else EXIT_OK
