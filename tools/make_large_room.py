"""Write a large, valid room to a native room file: for benchmarks and for trying the window.

The room (default 100,000 events, room version 10) has several servers, users
joining over time, forks and merges, and state changes (topics, names, a
moderator promoted now and then); every event is built with
``app.core.builder.build_event`` (hashes right, IDs derived, signed by its
server's key unless ``--no-sign``), and its ``auth_events`` are chosen by the
spec's auth events selection (``app.core.auth.auth_types_for_event``) from the
room's current state, so the auth rules accept every event.

The DAG: the room keeps a few forward extremities; each new event either extends
one of them, merges them all, or forks one (two events on the same parent), so
the graph has forks and merges all along. Timestamps grow along every edge, as
with honest clocks. The output is deterministic for a given ``--seed``.

Usage:
    .venv/bin/python tools/make_large_room.py OUT.json.gz [--events 100000]
        [--servers 5] [--room-version 10] [--seed 1] [--no-sign] [--event-ids]

``--event-ids`` writes each event with its ``event_id``, as a homeserver serves
events (and as ``roomscope fetch`` saves them): the loader then checks the given
IDs instead of computing them (benchmarks/bench_window.py times both kinds).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.auth import auth_types_for_event  # noqa: E402
from app.core.builder import (  # noqa: E402
    SigningKey,
    build_event,
    generate_signing_key,
    key_id_of,
    room_id_for,
    verify_key_b64,
)
from app.core.events import PDU, StateKey, parse_pdu  # noqa: E402
from app.core.room import Room  # noqa: E402
from app.core.versions import RoomVersion, room_version  # noqa: E402
from app.sources.files import save_room  # noqa: E402

MAX_EXTREMITIES = 6


class RoomMaker:
    """Builds the room event by event, keeping the current state and the extremities."""

    def __init__(self, version: RoomVersion, servers: Sequence[str], seed: int, sign: bool) -> None:
        self.version = version
        self.rng = random.Random(seed)
        self.keys: dict[str, SigningKey] = {
            s: generate_signing_key(f"make_large_room {s}".encode(), version="1") for s in servers
        }
        self.sign = sign
        self.events: list[PDU] = []
        self.by_id: dict[str, PDU] = {}
        self.state: dict[StateKey, PDU] = {}
        self.extremities: list[str] = []
        self.depth: dict[str, int] = {}
        self.ts = 1_700_000_000_000
        self.room_id: str | None = None
        self.admin = f"@admin:{servers[0]}"
        self.users = [f"@user{i}:{servers[i % len(servers)]}" for i in range(len(servers) * 20)]
        self.joined: list[str] = []
        # Users whose join is an ancestor of every extremity: only they may send. A join
        # made on one branch is not in the state of its siblings, so a message there
        # would be rejected (a room version 10 sender must be joined in the state
        # before the event, not only somewhere in the room).
        self.settled: set[str] = set()
        self.waiting = list(self.users)
        self.rng.shuffle(self.waiting)

    def add(
        self,
        type_: str,
        sender: str,
        content: Mapping[str, Any],
        state_key: str | None = None,
        prev: Sequence[str] | None = None,
    ) -> PDU:
        """Build one event on ``prev`` (default: one extremity) and update state."""
        if prev is None:
            prev = [self.rng.choice(self.extremities)] if self.extremities else []
        self.ts += self.rng.randint(1, 2000)
        server = sender.partition(":")[2]
        # What the auth events selection needs is the type, sender, state key and content.
        draft = {"type": type_, "sender": sender, "content": content, "room_id": "!draft"}
        draft |= {"prev_events": [], "auth_events": [], "depth": 1, "origin_server_ts": 0}
        if state_key is not None:
            draft["state_key"] = state_key
        wanted = auth_types_for_event(self.version, parse_pdu(draft, self.version, event_id="$"))
        auth = sorted(self.state[key].event_id for key in wanted if key in self.state)
        depth = max((self.depth[p] for p in prev), default=0) + 1
        pdu = build_event(
            self.version,
            type=type_,
            sender=sender,
            content=content,
            state_key=state_key,
            room_id=self.room_id,
            prev_events=prev,
            auth_events=auth,
            depth=depth,
            origin_server_ts=self.ts,
            signing_key=self.keys[server] if self.sign else None,
            known_events=self.by_id if self.version.event_refs_with_hashes else None,
        )
        self.events.append(pdu)
        self.by_id[pdu.event_id] = pdu
        self.depth[pdu.event_id] = depth
        self.extremities = [e for e in self.extremities if e not in prev] + [pdu.event_id]
        if state_key is not None:
            self.state[(type_, state_key)] = pdu
        if len(self.extremities) == 1:
            # Every event reaches some forward extremity, so with one left, every join
            # made so far is in its past: those users may now send on any branch.
            self.settled.update(self.joined)
        if self.room_id is None:
            self.room_id = room_id_for(pdu)
        return pdu

    def start(self) -> None:
        content: dict[str, Any] = {"room_version": self.version.identifier}
        if not self.version.implicit_room_creator:
            content["creator"] = self.admin
        self.add("m.room.create", self.admin, content, "")
        self.add("m.room.member", self.admin, {"membership": "join"}, self.admin)
        users = {} if self.version.privileged_creators else {self.admin: 100}
        self.add(
            "m.room.power_levels",
            self.admin,
            {"users": users, "users_default": 0, "state_default": 50, "events_default": 0},
            "",
        )
        self.add("m.room.join_rules", self.admin, {"join_rule": "public"}, "")
        self.add("m.room.history_visibility", self.admin, {"history_visibility": "shared"}, "")
        self.joined.append(self.admin)
        self.settled.add(self.admin)

    def speaker(self, user: str) -> str:
        """``user`` if they may send on every branch, else the room's admin: the same
        draws from the random generator either way, so a seed's room changes only in
        the senders that would have been rejected."""
        return user if user in self.settled else self.admin

    def step(self) -> None:
        """One action: a message, a join, a state change; on an extremity, a merge or a fork."""
        rng = self.rng
        roll = rng.random()
        prev: list[str] | None = None
        if len(self.extremities) > 1 and (roll < 0.15 or len(self.extremities) >= MAX_EXTREMITIES):
            prev = sorted(self.extremities)  # merge every branch
        elif roll > 0.97:
            parent = rng.choice(self.extremities)
            sender = self.speaker(rng.choice(self.joined))
            self.add(
                "m.room.message", sender, {"msgtype": "m.text", "body": "fork"}, None, [parent]
            )
            prev = [parent]  # a second child of the same parent: a fork

        kind = rng.random()
        if self.waiting and kind < 0.02:
            user = self.waiting.pop()
            self.add("m.room.member", user, {"membership": "join"}, user, prev)
            self.joined.append(user)
        elif kind < 0.03:
            self.add("m.room.topic", self.admin, {"topic": f"topic {len(self.events)}"}, "", prev)
        elif kind < 0.035:
            self.add("m.room.name", self.admin, {"name": f"room {len(self.events)}"}, "", prev)
        elif kind < 0.037 and len(self.joined) > 1:
            pl = dict(self.state[("m.room.power_levels", "")].content)
            users = dict(pl.get("users", {}))
            users[rng.choice(self.joined[1:])] = 50
            pl["users"] = users
            self.add("m.room.power_levels", self.admin, pl, "", prev)
        else:
            sender = self.speaker(rng.choice(self.joined))
            body = f"message {len(self.events)}"
            self.add("m.room.message", sender, {"msgtype": "m.text", "body": body}, None, prev)


def make_room(
    n: int,
    servers: Sequence[str],
    version: RoomVersion,
    seed: int,
    sign: bool,
    *,
    event_ids: bool = False,
) -> Room:
    maker = RoomMaker(version, servers, seed, sign)
    maker.start()
    while len(maker.events) < n:
        maker.step()
    events = maker.events[:n]
    if event_ids:
        # As served: the ID beside the fields it is the hash of (v3+; v1/v2 carry it).
        events = [
            parse_pdu({"event_id": pdu.event_id, **pdu.raw}, version, event_id=pdu.event_id)
            for pdu in events
        ]
    return Room.from_events(
        events,
        room_version=version,
        source={"tool": "tools/make_large_room.py", "seed": seed, "events": n},
        annotations={"title": f"A generated room of {n} events on {len(servers)} servers"},
        server_keys={s: {key_id_of(k): verify_key_b64(k)} for s, k in maker.keys.items()},
        check_event_ids=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the room file to write (.json or .json.gz)")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--servers", type=int, default=5)
    parser.add_argument("--room-version", default="10")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-sign", action="store_true", help="leave signatures empty")
    parser.add_argument(
        "--event-ids", action="store_true", help="write each event's event_id, as served"
    )
    args = parser.parse_args(argv)
    servers = [f"s{i}.example" for i in range(args.servers)]
    start = time.perf_counter()
    room = make_room(
        args.events,
        servers,
        room_version(args.room_version),
        args.seed,
        not args.no_sign,
        event_ids=args.event_ids,
    )
    built = time.perf_counter()
    save_room(room, args.out)
    graph = room.graph
    print(
        f"{args.out}: {len(graph.order)} events, {len(graph.forks)} forks, "
        f"{len(graph.merges)} merges, {len(graph.forward_extremities)} extremities, "
        f"{len(graph.server_counts)} servers; built in {built - start:.1f} s, "
        f"written in {time.perf_counter() - built:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
