"""Room: a graph plus what the room file says; Room.from_events and pdu_from_json."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.builder import build_event
from app.core.events import EventFormatError
from app.core.room import Room, pdu_from_json, room_version_of_events
from app.core.versions import UnknownRoomVersionError, room_version

V10 = room_version("10")


def create_obj(version: str = "10") -> dict[str, Any]:
    return {
        "type": "m.room.create",
        "state_key": "",
        "sender": "@a:x.example",
        "room_id": "!r:x.example",
        "content": {"room_version": version},
        "prev_events": [],
        "auth_events": [],
        "depth": 1,
        "origin_server_ts": 1,
    }


def test_from_events_accepts_json_objects_and_computes_ids() -> None:
    built = build_event(
        V10,
        type="m.room.create",
        state_key="",
        sender="@a:x.example",
        content={"room_version": "10"},
        room_id="!r:x.example",
        origin_server_ts=1,
    )
    room = Room.from_events([dict(built.raw)])
    assert room.room_version is V10
    assert list(room.events) == [built.event_id]
    assert room.room_id == "!r:x.example"
    assert room.title == "room"
    assert room.findings == ()


def test_from_events_version_order_of_precedence() -> None:
    assert Room.from_events([create_obj("10")], room_version="9").room_version.identifier == "9"
    assert Room.from_events([create_obj("10")]).room_version.identifier == "10"
    no_version = create_obj()
    del no_version["content"]["room_version"]
    no_version["event_id"] = "$c:x.example"
    assert Room.from_events([no_version]).room_version.identifier == "1"
    with pytest.raises(UnknownRoomVersionError):
        Room.from_events([create_obj("99")])


def test_room_id_mismatch_and_metadata() -> None:
    room = Room.from_events(
        [create_obj()],
        room_id="!other:x.example",
        annotations={"title": "T"},
        state_sets={"s": iter(["$x"])},
        name="n",
    )
    assert room.room_id == "!other:x.example"
    assert room.title == "T"
    assert room.state_sets["s"] == ("$x",)
    assert [f.kind for f in room.findings] == ["room_id_mismatch", "state_set_unknown_event"]


def test_pdu_from_json_names_the_field_before_hashing() -> None:
    obj = create_obj()
    obj["depth"] = "one"
    with pytest.raises(EventFormatError, match=r"event line 3: depth is not an integer"):
        pdu_from_json(obj, V10, where="line 3")


def test_room_version_of_events() -> None:
    assert room_version_of_events([{"type": "m.room.message"}, create_obj("7")])[0] == "7"
    assert room_version_of_events([{"type": "m.room.message"}]) == ("1", None)
    bare = create_obj()
    bare["content"] = "not an object"
    assert room_version_of_events([bare])[0] == "1"


def test_an_event_without_depth_or_id_gets_the_id_of_what_was_given() -> None:
    """ruma-style fixtures have no depth: it is read as 0 for parsing only. The v3+ ID is
    the reference hash of the object as given (no depth added), computed here the way
    Synapse does (its redaction, canonical JSON, SHA-256, URL-safe unpadded base64)."""
    import hashlib
    from base64 import urlsafe_b64encode

    from canonicaljson import encode_canonical_json

    redaction = pytest.importorskip("synapse.synapse_rust.events")
    versions = pytest.importorskip("synapse.api.room_versions")
    obj: dict[str, Any] = {
        "type": "m.room.message",
        "room_id": "!r:x",
        "sender": "@a:x",
        "content": {"body": "hi"},
        "prev_events": [],
        "auth_events": [],
        "origin_server_ts": 5,
        "hashes": {"sha256": "x"},
        "signatures": {},
        "unsigned": {"age": 1},
    }
    pdu = pdu_from_json(obj, V10, where="line 1")
    pruned = redaction.redact_event_dict(versions.KNOWN_ROOM_VERSIONS["10"], dict(obj))
    for key in ("signatures", "unsigned"):
        pruned.pop(key, None)
    digest = hashlib.sha256(encode_canonical_json(pruned)).digest()
    assert pdu.event_id == "$" + urlsafe_b64encode(digest).decode().rstrip("=")
    assert pdu.event_id_computed and pdu.depth == 0
    assert pdu.raw is obj  # kept exactly as given: no depth written into it
    with pytest.raises(EventFormatError, match="line 1: sender is not a string"):
        pdu_from_json({**obj, "sender": 5, "content": {"x": float("nan")}}, V10, where="line 1")
