"""Small hand-made rooms for the layout and canvas tests.

Events are parsed with :func:`app.core.events.parse_pdu` in room version 1,
where event IDs may be readable (``$name:server``), so a test names its events.
A room is written as ``(name, sender, type, state_key, prev names, extra content)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.core.events import PDU, parse_pdu
from app.core.versions import room_version

V1 = room_version("1")

Spec = tuple[str, str, str, str | None, Sequence[str], Mapping[str, Any]]


def eid(name: str) -> str:
    return name if name.startswith("$") else f"${name}:example.org"


def make_event(
    name: str,
    sender: str = "@alice:example.org",
    type_: str = "m.room.message",
    state_key: str | None = None,
    prev: Sequence[str] = (),
    content: Mapping[str, Any] | None = None,
    *,
    auth: Sequence[str] = (),
    ts: int | None = None,
    depth: int = 1,
) -> PDU:
    obj: dict[str, Any] = {
        "event_id": eid(name),
        "room_id": "!room:example.org",
        "type": type_,
        "sender": sender,
        "content": dict(content or {"body": name}),
        "prev_events": [[eid(p), {"sha256": ""}] for p in prev],
        "auth_events": [[eid(a), {"sha256": ""}] for a in auth],
        "depth": depth,
        "origin_server_ts": ts if ts is not None else 0,
    }
    if state_key is not None:
        obj["state_key"] = state_key
    return parse_pdu(obj, V1)


def room(events: Iterable[PDU]) -> dict[str, PDU]:
    return {e.event_id: e for e in events}


def chain(
    dag: Mapping[str, Sequence[str]], *, ts: Mapping[str, int] | None = None
) -> dict[str, PDU]:
    """A room of messages from ``{name: [prev names]}``; ts defaults to insertion order."""
    out: dict[str, PDU] = {}
    for i, (name, prevs) in enumerate(dag.items()):
        t = ts[name] if ts is not None and name in ts else i
        out[eid(name)] = make_event(name, prev=prevs, ts=t)
    return out


def sample_fork_merge() -> dict[str, PDU]:
    """A small room: create, joins, power levels, two servers forking and merging."""
    a, b, c = "@alice:example.org", "@bob:other.net", "@carol:third.io"
    evs = [
        make_event("create", a, "m.room.create", "", [], {"creator": a}, ts=1),
        make_event(
            "ja", a, "m.room.member", a, ["create"], {"membership": "join"}, auth=["create"], ts=2
        ),
        make_event(
            "pl",
            a,
            "m.room.power_levels",
            "",
            ["ja"],
            {"users": {a: 100}},
            auth=["create", "ja"],
            ts=3,
        ),
        make_event(
            "jr",
            a,
            "m.room.join_rules",
            "",
            ["pl"],
            {"join_rule": "public"},
            auth=["create", "ja", "pl"],
            ts=4,
        ),
        make_event(
            "jb",
            b,
            "m.room.member",
            b,
            ["jr"],
            {"membership": "join"},
            auth=["create", "jr", "pl"],
            ts=5,
        ),
        make_event(
            "m1",
            a,
            "m.room.message",
            None,
            ["jb"],
            {"body": "hello"},
            auth=["create", "ja", "pl"],
            ts=6,
        ),
        make_event(
            "m2",
            b,
            "m.room.message",
            None,
            ["jb"],
            {"body": "hi from bob"},
            auth=["create", "jb", "pl"],
            ts=7,
        ),
        make_event(
            "topic",
            a,
            "m.room.topic",
            "",
            ["m1"],
            {"topic": "plain <b>text</b>"},
            auth=["create", "ja", "pl"],
            ts=8,
        ),
        make_event(
            "jc",
            c,
            "m.room.member",
            c,
            ["m2"],
            {"membership": "join"},
            auth=["create", "jr", "pl"],
            ts=9,
        ),
        make_event(
            "ban",
            a,
            "m.room.member",
            c,
            ["topic", "jc"],
            {"membership": "ban"},
            auth=["create", "ja", "pl", "jc"],
            ts=10,
        ),
        make_event(
            "m3",
            b,
            "m.room.message",
            None,
            ["jc"],
            {"body": "still here"},
            auth=["create", "jb", "pl"],
            ts=11,
        ),
        make_event(
            "m4",
            a,
            "m.room.message",
            None,
            ["ban", "m3", "lost"],
            {"body": "merged"},
            auth=["create", "ja", "pl"],
            ts=12,
        ),
    ]
    return room(evs)
