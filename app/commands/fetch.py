"""``roomscope fetch HOMESERVER ROOM -o FILE``: a room's event graph into a room file.

Signs in with ``--token`` (or the environment variable
``ROOMSCOPE_ACCESS_TOKEN``), or ``--user`` with the password read from stdin
(``--password-stdin``, so it is not in the shell history or the process list).
Neither is written to the file. ``--extend`` adds what is new or missing to
an existing file. A progress line is drawn on stderr when it is a terminal;
Ctrl-C cancels and saves what was fetched.

The fetching itself is :func:`app.sources.homeserver.fetch_room`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from app.commands.output import printable, write_json
from app.core.errors import RoomscopeError
from app.sources.homeserver import (
    TOKEN_ENV,
    Credentials,
    FetchOptions,
    FetchProgress,
    FetchResult,
    fetch_room,
    read_native_file,
    save_fetched,
)
from app.sources.http_client import CancelToken

__all__ = ["TOKEN_ENV", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "homeserver",
        metavar="HOMESERVER",
        help="a URL (https://matrix.example.org) or a server name (example.org: "
        "its .well-known/matrix/client is asked where the client API lives)",
    )
    parser.add_argument(
        "room", metavar="ROOM", help="a room ID (!id:server) or alias (#name:server)"
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the room file to write"
    )
    parser.add_argument(
        "--token", help=f"an access token (default: the environment variable {TOKEN_ENV})"
    )
    parser.add_argument("--user", help="sign in as this user with m.login.password")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password for --user from the first line of stdin",
    )
    parser.add_argument(
        "--limit", type=int, metavar="N", help="stop paging back after N events (default: all)"
    )
    parser.add_argument("--ca-file", metavar="F", help="trust this CA bundle (PEM) for TLS")
    parser.add_argument(
        "--extend",
        action="store_true",
        help="FILE exists: keep its events and fetch only what is newer or missing",
    )
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    parser.add_argument("--no-keys", action="store_true", help="do not fetch server signing keys")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def _credentials(args: argparse.Namespace, stdin: TextIO) -> Credentials:
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if args.user:
        if not args.password_stdin:
            raise RoomscopeError("--user needs --password-stdin (the password on stdin)")
        password = stdin.readline().rstrip("\r\n")
        if not password:
            raise RoomscopeError("--password-stdin: no password on stdin")
        return Credentials(user=args.user, password=password)
    if args.password_stdin:
        raise RoomscopeError("--password-stdin needs --user")
    if not token:
        raise RoomscopeError(
            f"no credentials: give --token, set {TOKEN_ENV}, or --user with --password-stdin"
        )
    return Credentials(access_token=token)


class _ProgressLine:
    """One line on a terminal, redrawn at most ten times a second."""

    def __init__(self, stream: TextIO, limit: int | None) -> None:
        self.stream = stream
        self.limit = limit
        self.last = 0.0
        self.width = 0

    def __call__(self, p: FetchProgress) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and p.phase != "done":
            return
        self.last = now
        fraction = p.fraction
        if self.limit:
            fraction = min(p.events / self.limit, 1.0)
        bar = ""
        if fraction is not None and p.phase == "paging":
            filled = int(fraction * 20)
            bar = "[" + "#" * filled + "-" * (20 - filled) + f"] {fraction:4.0%} "
        text = f"{p.phase}: {bar}{p.events} events, {p.pages} pages, {p.missing} missing"
        pad = max(self.width - len(text), 0)
        self.width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def finish(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def _summary(result: FetchResult, path: Path) -> dict[str, Any]:
    return {
        "file": str(path),
        "room_id": result.room_id,
        "room_version": result.room_version,
        "alias": result.source.get("alias"),
        "events": len(result.events),
        "missing": len(result.missing),
        "reached_create": result.reached_create,
        "complete": result.complete,
        "cancelled": result.cancelled,
        "server_admin": result.source.get("server_admin"),
        "servers_with_keys": sorted(result.server_keys),
        "notes": list(result.notes),
    }


def run(args: argparse.Namespace) -> int:
    path = Path(args.output)
    existing: dict[str, Any] | None = None
    if args.extend:
        if path.exists():
            existing = read_native_file(path)
    elif path.exists() and not args.force:
        raise RoomscopeError(f"{path} exists: --extend adds to it, --force overwrites it")
    if args.limit is not None and args.limit < 1:
        raise RoomscopeError("--limit must be at least 1")
    if args.ca_file and not Path(args.ca_file).is_file():
        raise RoomscopeError(f"--ca-file {args.ca_file}: no such file")
    credentials = _credentials(args, sys.stdin)
    options = FetchOptions(limit=args.limit, fetch_keys=not args.no_keys)
    progress = _ProgressLine(sys.stderr, args.limit) if sys.stderr.isatty() else None
    cancel = CancelToken()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = fetch_room(
                args.homeserver,
                args.room,
                credentials,
                options=options,
                existing=existing,
                progress=progress,
                cancel=cancel,
                verify=args.ca_file or True,
            )
        except BaseException as exc:  # handed to the main thread, which reports it
            outcome["error"] = exc

    # The fetch runs in a worker so that Ctrl-C in the main thread can cancel it
    # cleanly and what was fetched is still saved.
    worker = threading.Thread(target=work, name="roomscope-fetch", daemon=True)
    worker.start()
    interrupted = False
    while worker.is_alive():
        try:
            worker.join(0.2)
        except KeyboardInterrupt:
            interrupted = True
            cancel.cancel()
    if progress is not None:
        progress.finish()
    if "error" in outcome:
        raise outcome["error"]
    result: FetchResult = outcome["result"]
    if not result.events:
        raise RoomscopeError(f"no events fetched from {result.room_id or args.room}; nothing saved")
    save_fetched(result, path)
    summary = _summary(result, path)
    if args.json:
        write_json(summary, sort_keys=True)
    else:
        state = "complete" if result.complete else "incomplete"
        if result.cancelled:
            state = "cancelled"
        print(
            f"{printable(path)}: {summary['events']} events of {printable(result.room_id)} "
            f"(room version {result.room_version or '?'}), {summary['missing']} missing, {state}"
        )
        for line in result.notes:
            print(f"  note: {printable(line)}")
    if interrupted or result.cancelled:
        return 130
    return 0
