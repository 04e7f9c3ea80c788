"""Benchmark: fetch a 5,000-event room from a local Synapse, and where the time goes.

    .venv/bin/python benchmarks/bench_fetch.py [--events 5000] [--page-sizes 100,1000]
                                               [--keep DIR] [--threads 8] [--room-version 10]

Starts Synapse from the venv (tests/integration/synapse_server.py), fills a room
with ``--events`` messages over the client-server API (``--threads`` senders at
once, so the room also gets some forks and merges), then fetches it as a server
admin (and with ``--member`` as a joined ordinary member, through the client
API's ``/messages``) with each page size and reports:

- events per second of the whole fetch (sign-in to keys, as ``roomscope fetch``);
- server: time waiting for Synapse, transfer included (``MatrixHttp.server_seconds``);
- decode: JSON decoding of the answers;
- check: the fetcher's own bookkeeping per event (PDU fields, references);
- and, offline, what loading the file costs: parse_pdu, the event graph, and
  verifying every event ID, content hash and signature (hashing).

Filling the room is the slow part (Synapse persists a few dozen events a second
on this box); ``--keep DIR`` keeps the server's folder so the next run reuses it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.events import parse_pdu  # noqa: E402
from app.core.graph import EventGraph  # noqa: E402
from app.core.verify import verify_event  # noqa: E402
from app.core.versions import room_version  # noqa: E402
from app.sources.homeserver import Credentials, FetchOptions, fetch_room  # noqa: E402
from tests.integration.synapse_server import Client, SynapseServer  # noqa: E402


def populate(
    server: SynapseServer, folder: Path, events: int, threads: int, version: str
) -> dict[str, str]:
    """A room with at least ``events`` events; reuses the one recorded in ``folder``."""
    record = folder / "bench-room.json"
    if record.exists():
        saved: dict[str, str] = json.loads(record.read_text())
        alice = Client(server.base_url, saved["user_id"], saved["token"], server.http)
        have = int(saved.get("events", "0"))
    else:
        alice = server.register("alice", admin=True)
        room_id = alice.create_room(room_version=version, alias="bench")
        saved = {"room_id": room_id, "user_id": alice.user_id, "token": alice.access_token}
        have = 8  # about what createRoom makes
    todo = max(events - have, 0)
    if todo:
        began = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(
                pool.map(
                    lambda i: alice.send_message(saved["room_id"], f"message {i}"), range(todo)
                )
            )
        took = time.perf_counter() - began
        rate = todo / took
        print(f"populate: {todo} messages in {took:.1f} s ({rate:.0f} events/s, {threads} senders)")
        saved["events"] = str(have + todo)
        record.write_text(json.dumps(saved))
    return saved


def bench(folder: Path, args: argparse.Namespace) -> None:
    server = SynapseServer(folder)
    if (folder / "homeserver.yaml").exists():
        # Reuse: same port and config as before.
        config = json.loads((folder / "homeserver.yaml").read_text())
        server.port = config["listeners"][0]["port"]
        server.base_url = f"http://127.0.0.1:{server.port}"
    server.start()
    print(f"synapse up in {server.startup_seconds:.1f} s at {server.base_url}")
    try:
        room = populate(server, folder, args.events, args.threads, args.room_version)
        runs = [("admin", room["token"], size) for size in args.page_sizes]
        if args.member:
            if "member_token" not in room:
                bob = server.register("bob")
                bob.join(room["room_id"])
                room["member_token"] = bob.access_token
                (folder / "bench-room.json").write_text(json.dumps(room))
            runs += [("member", room["member_token"], size) for size in args.page_sizes]
        for who, token, page_size in runs:
            result = fetch_room(
                server.base_url,
                room["room_id"],
                Credentials(access_token=token),
                options=FetchOptions(page_size=page_size),
            )
            st = result.stats
            n = len(result.events)
            rest = st["seconds"] - st["server_seconds"] - st["decode_seconds"] - st["check_seconds"]
            print(
                f"fetch as {who}, page_size={page_size}: {n} events in {st['seconds']:.2f} s = "
                f"{n / st['seconds']:.0f} events/s; {int(st['requests'])} requests, "
                f"{int(st['pages'])} pages; server+transfer {st['server_seconds']:.2f} s, "
                f"JSON decode {st['decode_seconds']:.2f} s, checks {st['check_seconds']:.2f} s, "
                f"other {rest:.2f} s; complete={result.complete}"
            )
        assert result.room_version is not None
        version = room_version(result.room_version)
        began = time.perf_counter()
        pdus = [parse_pdu(ev, version) for ev in result.events]
        t_parse = time.perf_counter() - began
        began = time.perf_counter()
        graph = EventGraph.build(pdus, room_version=version)
        t_graph = time.perf_counter() - began
        began = time.perf_counter()
        bad = sum(verify_event(p, result.server_keys).failed(strict=True) for p in pdus)
        t_verify = time.perf_counter() - began
        print(
            f"offline: parse_pdu {t_parse:.2f} s, event graph {t_graph:.2f} s "
            f"({len(graph.forks)} forks, {len(graph.missing)} missing), verify IDs + hashes + "
            f"signatures {t_verify:.2f} s ({len(pdus) / t_verify:.0f} events/s, {bad} failed)"
        )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument(
        "--page-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000]
    )
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the server's folder here")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--room-version", default="10")
    parser.add_argument(
        "--member", action="store_true", help="also fetch as a joined non-admin member"
    )
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        bench(args.keep, args)
    else:
        with tempfile.TemporaryDirectory(prefix="roomscope-bench-") as tmp:
            bench(Path(tmp), args)


if __name__ == "__main__":
    main()
