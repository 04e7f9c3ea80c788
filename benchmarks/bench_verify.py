"""How long verifying a large room takes: in memory, and ``roomscope verify`` end to end.

Builds a room of N signed events with the builder (a linear chain with some forks
and state changes; every event signed by one of three servers), then times

* ``verify_events`` over the PDUs in memory (IDs, content hashes, ed25519), and
* ``roomscope verify FILE --json`` on the same room written as a native room file
  (loading, graph, verification, JSON output), in a subprocess.

Usage: .venv/bin/python benchmarks/bench_verify.py [--events 100000] [--version 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.builder import (  # noqa: E402
    build_event,
    generate_signing_key,
    key_id_of,
    room_id_for,
    verify_key_b64,
)
from app.core.events import PDU  # noqa: E402
from app.core.signing import VerifyKeys  # noqa: E402
from app.core.verify import summarize, verify_events  # noqa: E402
from app.core.versions import room_version  # noqa: E402


def build_room(n: int, version_id: str) -> tuple[list[PDU], dict[str, dict[str, str]]]:
    version = room_version(version_id)
    servers = ["a.example", "b.example", "c.example"]
    keys = {s: generate_signing_key(s.encode(), version="k1") for s in servers}
    server_keys = {s: {key_id_of(k): verify_key_b64(k)} for s, k in keys.items()}
    alice = "@alice:a.example"
    content = {"room_version": version_id}
    if not version.implicit_room_creator:
        content["creator"] = alice
    create = build_event(
        version,
        type="m.room.create",
        sender=alice,
        state_key="",
        content=content,
        room_id=None if version.room_id_from_create_event else "!bench:a.example",
        signing_key=keys["a.example"],
    )
    room_id = room_id_for(create)
    events = [create]
    base = [] if version.room_id_from_create_event else [create.event_id]
    heads = [create.event_id]
    for i in range(1, n):
        server = servers[i % 3]
        sender = f"@u{i % 50}:{server}"
        if i % 10 == 0:
            kind = {"type": "m.room.topic", "state_key": "", "content": {"topic": f"t{i}"}}
        else:
            kind = {"type": "m.room.message", "content": {"msgtype": "m.text", "body": f"m{i}"}}
        pdu = build_event(
            version,
            sender=sender,
            room_id=room_id,
            prev_events=heads,
            auth_events=base,
            depth=i + 1,
            origin_server_ts=1_700_000_000_000 + i,
            signing_key=keys[server],
            **kind,  # type: ignore[arg-type]
        )
        events.append(pdu)
        # A fork every 100 events, merged by the next one.
        heads = [pdu.event_id] if i % 100 else [pdu.event_id, events[-2].event_id]
    return events, server_keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--version", default="10")
    args = parser.parse_args()

    t0 = time.perf_counter()
    events, server_keys = build_room(args.events, args.version)
    print(f"built {len(events)} signed v{args.version} events in {time.perf_counter() - t0:.1f}s")

    keys = VerifyKeys(server_keys)
    t0 = time.perf_counter()
    results = verify_events(events, keys)
    elapsed = time.perf_counter() - t0
    print(
        f"verify_events: {elapsed:.2f}s, {elapsed / len(events) * 1e6:.0f} µs/event; "
        f"{summarize(results).line()}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "room.json"
        doc = {
            "format": "roomscope.room",
            "version": 1,
            "room_version": args.version,
            "server_keys": server_keys,
            "events": [dict(e.raw) for e in events],
        }
        path.write_text(json.dumps(doc))
        size = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "app", "verify", str(path), "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - t0
        summary = json.loads(proc.stdout)["summary"] if proc.stdout else proc.stderr
        print(
            f"roomscope verify --json ({size:.0f} MB file): {elapsed:.1f}s, "
            f"exit {proc.returncode}, summary {summary}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
