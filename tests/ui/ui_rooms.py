"""Small room files for the window's tests, built with app.core.builder.

``fork_room`` is a v10 room of two servers: Alice (a.example) creates it, Bob
(b.example) joins; then both send a message at once (a fork), Alice's next message
merges the two branches, and Bob tries to change the power levels without the
power to (an event the auth rules reject). Every event is signed and the file
carries the servers' keys, so verification has something to check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.builder import build_event, generate_signing_key, key_id_of, verify_key_b64
from app.core.events import PDU
from app.core.versions import room_version

V10 = room_version("10")
KEYS = {
    "a.example": generate_signing_key(b"ui tests a", version="a1"),
    "b.example": generate_signing_key(b"ui tests b", version="b1"),
}
ALICE = "@alice:a.example"
BOB = "@bob:b.example"
ROOM_ID = "!fork:a.example"


@dataclass
class BuiltRoom:
    path: Path
    events: dict[str, PDU]  # by readable name
    names: dict[str, str]  # event ID -> readable name

    def id(self, name: str) -> str:
        return self.events[name].event_id


def _ev(
    built: dict[str, PDU],
    name: str,
    *,
    type: str,
    sender: str,
    content: dict[str, Any],
    state_key: str | None = None,
    prev: tuple[str, ...] = (),
    auth: tuple[str, ...] = (),
    ts: int,
) -> None:
    server = sender.split(":", 1)[1]
    built[name] = build_event(
        V10,
        type=type,
        sender=sender,
        content=content,
        state_key=state_key,
        room_id=ROOM_ID,
        prev_events=[built[p].event_id for p in prev],
        auth_events=[built[a].event_id for a in auth],
        depth=1 + max((built[p].depth for p in prev), default=0),
        origin_server_ts=ts,
        signing_key=KEYS[server],
    )


def fork_room_events() -> dict[str, PDU]:
    b: dict[str, PDU] = {}
    t = 1_700_000_000_000
    _ev(
        b,
        "create",
        type="m.room.create",
        sender=ALICE,
        state_key="",
        content={"creator": ALICE, "room_version": "10"},
        ts=t,
    )
    _ev(
        b,
        "alice_join",
        type="m.room.member",
        sender=ALICE,
        state_key=ALICE,
        content={"membership": "join"},
        prev=("create",),
        auth=("create",),
        ts=t + 1,
    )
    _ev(
        b,
        "power",
        type="m.room.power_levels",
        sender=ALICE,
        state_key="",
        content={"users": {ALICE: 100}, "users_default": 0, "state_default": 50},
        prev=("alice_join",),
        auth=("create", "alice_join"),
        ts=t + 2,
    )
    _ev(
        b,
        "join_rules",
        type="m.room.join_rules",
        sender=ALICE,
        state_key="",
        content={"join_rule": "public"},
        prev=("power",),
        auth=("create", "alice_join", "power"),
        ts=t + 3,
    )
    _ev(
        b,
        "bob_join",
        type="m.room.member",
        sender=BOB,
        state_key=BOB,
        content={"membership": "join"},
        prev=("join_rules",),
        auth=("create", "power", "join_rules"),
        ts=t + 4,
    )
    _ev(
        b,
        "alice_msg",
        type="m.room.message",
        sender=ALICE,
        content={"msgtype": "m.text", "body": "<b>hello</b> from Alice"},
        prev=("bob_join",),
        auth=("create", "alice_join", "power"),
        ts=t + 5,
    )
    _ev(
        b,
        "bob_msg",
        type="m.room.message",
        sender=BOB,
        content={"msgtype": "m.text", "body": "hi from Bob"},
        prev=("bob_join",),
        auth=("create", "bob_join", "power"),
        ts=t + 6,
    )
    _ev(
        b,
        "merge",
        type="m.room.message",
        sender=ALICE,
        content={"msgtype": "m.text", "body": "both branches meet here"},
        prev=("alice_msg", "bob_msg"),
        auth=("create", "alice_join", "power"),
        ts=t + 7,
    )
    _ev(
        b,
        "bob_power",
        type="m.room.power_levels",
        sender=BOB,
        state_key="",
        content={"users": {ALICE: 100, BOB: 100}, "users_default": 0, "state_default": 50},
        prev=("merge",),
        auth=("create", "bob_join", "power"),
        ts=t + 8,
    )
    _ev(
        b,
        "topic",
        type="m.room.topic",
        sender=ALICE,
        state_key="",
        content={"topic": "<i>not italic</i>"},
        prev=("bob_power",),
        auth=("create", "alice_join", "power"),
        ts=t + 9,
    )
    return b


def write_fork_room(folder: Path, name: str = "fork.json") -> BuiltRoom:
    events = fork_room_events()
    lesson = [
        {"event_id": events["create"].event_id, "note": "The room begins with its create event."},
        {"event_id": events["alice_msg"].event_id, "note": "Alice and Bob speak at once: a fork."},
        {"event_id": events["merge"].event_id, "note": "Alice's next message merges the branches."},
    ]
    obj = {
        "format": "roomscope.room",
        "version": 1,
        "room_id": ROOM_ID,
        "room_version": "10",
        "annotations": {
            "title": "A fork and a merge",
            "summary": "Two servers send at once; the next event joins the branches.",
            "lesson": lesson,
        },
        "server_keys": {s: {key_id_of(k): verify_key_b64(k)} for s, k in KEYS.items()},
        "events": [dict(p.raw) for p in events.values()],
    }
    path = folder / name
    path.write_text(json.dumps(obj, indent=1))
    return BuiltRoom(path, events, {p.event_id: n for n, p in events.items()})
