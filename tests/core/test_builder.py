"""The event builder makes PDUs whose IDs, hashes and signatures are right.

The expectations come from Synapse (the test oracle): its event IDs
(``make_event_from_dict`` derives v3+ IDs from the reference hash), its content
hash check, its redaction (``redact_event_dict``) for what is signed, and
signedjson for the ed25519 check. Nothing here compares our output to itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
from base64 import b64decode
from typing import Any

import pytest
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, verify_signed_json

from app.core.builder import (
    PLACEHOLDER_REFERENCE_HASH,
    build_event,
    generate_signing_key,
    key_id_of,
    room_id_for,
    verify_key_b64,
)
from app.core.events import PDU
from app.core.versions import KNOWN_ROOM_VERSIONS, RoomVersion

synapse_rv = pytest.importorskip("synapse.api.room_versions")
synapse_events = pytest.importorskip("synapse.events")
synapse_signing = pytest.importorskip("synapse.crypto.event_signing")
synapse_rust_events = pytest.importorskip("synapse.synapse_rust.events")

pytestmark = pytest.mark.synapse

VERSIONS = sorted(KNOWN_ROOM_VERSIONS.values(), key=lambda v: int(v.identifier))
KEY = generate_signing_key(b"builder tests", version="abc")


def _unb64(s: str) -> bytes:
    return b64decode(s + "=" * (-len(s) % 4))


def _synapse_event(pdu: PDU) -> Any:
    rv = synapse_rv.KNOWN_ROOM_VERSIONS[pdu.room_version.identifier]
    return synapse_events.make_event_from_dict(dict(pdu.as_sent()), rv)


def _check_with_synapse(pdu: PDU) -> None:
    rv = synapse_rv.KNOWN_ROOM_VERSIONS[pdu.room_version.identifier]
    ev = _synapse_event(pdu)
    assert ev.event_id == pdu.event_id
    assert synapse_signing.check_event_content_hash(ev)
    server = pdu.sender.split(":", 1)[1]
    redacted = synapse_rust_events.redact_event_dict(rv, pdu.as_sent())
    verify_key = decode_verify_key_bytes(key_id_of(KEY), _unb64(verify_key_b64(KEY)))
    verify_signed_json(redacted, server, verify_key)  # raises if the signature is bad


def _small_room(version: RoomVersion) -> list[PDU]:
    """create, creator's join, power levels, a message, a redaction: every format feature."""
    alice = "@alice:a.example"
    create_content: dict[str, Any] = {"room_version": version.identifier}
    if not version.implicit_room_creator:
        create_content["creator"] = alice
    create = build_event(
        version,
        type="m.room.create",
        sender=alice,
        content=create_content,
        state_key="",
        signing_key=KEY,
        room_id=None if version.room_id_from_create_event else "!r:a.example",
    )
    room_id = room_id_for(create)
    known = {create.event_id: create}
    implicit_create = version.room_id_from_create_event
    auth0 = () if implicit_create else (create.event_id,)
    join = build_event(
        version,
        type="m.room.member",
        sender=alice,
        state_key=alice,
        content={"membership": "join", "displayname": "Alice"},
        room_id=room_id,
        prev_events=[create.event_id],
        auth_events=auth0,
        depth=2,
        origin_server_ts=1000,
        signing_key=KEY,
        known_events=known,
    )
    known[join.event_id] = join
    power = build_event(
        version,
        type="m.room.power_levels",
        sender=alice,
        state_key="",
        content={"users": {alice: 100}, "invite": 0},
        room_id=room_id,
        prev_events=[join.event_id],
        auth_events=(*auth0, join.event_id),
        depth=3,
        origin_server_ts=2000,
        signing_key=KEY,
        known_events=known,
    )
    known[power.event_id] = power
    msg = build_event(
        version,
        type="m.room.message",
        sender=alice,
        content={"msgtype": "m.text", "body": "héllo ☃"},
        room_id=room_id,
        prev_events=[power.event_id],
        auth_events=(*auth0, join.event_id, power.event_id),
        depth=4,
        origin_server_ts=3000,
        signing_key=KEY,
        known_events=known,
    )
    known[msg.event_id] = msg
    redaction = build_event(
        version,
        type="m.room.redaction",
        sender=alice,
        content={"reason": "oops"},
        redacts=msg.event_id,
        room_id=room_id,
        prev_events=[msg.event_id],
        auth_events=(*auth0, join.event_id, power.event_id),
        depth=5,
        origin_server_ts=4000,
        signing_key=KEY,
        known_events=known,
    )
    return [create, join, power, msg, redaction]


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_built_events_verify_with_synapse(version: RoomVersion) -> None:
    events = _small_room(version)
    for pdu in events:
        _check_with_synapse(pdu)
    create, _join, _power, msg, redaction = events
    # The redaction's target is where the version puts it; Synapse agrees.
    assert redaction.redacts == msg.event_id
    assert _synapse_event(redaction).redacts == msg.event_id
    if version.room_id_from_create_event:
        assert "room_id" not in create.raw
        assert room_id_for(create) == "!" + create.event_id[1:]
    else:
        assert room_id_for(create) == "!r:a.example"


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_event_format_per_version(version: RoomVersion) -> None:
    create, join, *_ = _small_room(version)
    if version.event_refs_with_hashes:  # v1, v2
        assert join.raw["event_id"] == join.event_id
        assert join.raw["event_id"].endswith(":a.example")
        ((ref_id, ref_hashes),) = join.raw["prev_events"]
        assert ref_id == create.event_id
        # The reference hash of the known create event, as Synapse computes it.
        _, digest = synapse_signing.compute_event_reference_hash(_synapse_event(create))
        assert _unb64(ref_hashes["sha256"]) == digest
    else:
        assert "event_id" not in join.raw
        assert join.raw["prev_events"] == [create.event_id]
        alphabet_sign = "+/" if version.identifier == "3" else "-_"
        assert len(join.event_id) == 44 and join.event_id.startswith("$")
        assert all(c.isalnum() or c in alphabet_sign for c in join.event_id[1:])
    assert "origin" not in join.raw  # as Synapse 1.163 (and the spec since #998) send them
    sig_key = f"ed25519:{KEY.version}"
    assert set(join.raw["signatures"]["a.example"]) == {sig_key}


def test_unknown_reference_gets_the_placeholder_hash() -> None:
    v1 = KNOWN_ROOM_VERSIONS["1"]
    pdu = build_event(v1, type="m.room.message", sender="@a:x", content={}, prev_events=["$nope:x"])
    assert pdu.raw["prev_events"] == [["$nope:x", {"sha256": PLACEHOLDER_REFERENCE_HASH}]]
    assert _unb64(PLACEHOLDER_REFERENCE_HASH) == hashlib.sha256(b"").digest()
    assert pdu.prev_events == ("$nope:x",)


def test_given_and_generated_v1_ids() -> None:
    v2 = KNOWN_ROOM_VERSIONS["2"]
    given = build_event(v2, type="m.room.message", sender="@a:x", content={}, event_id="$e:x")
    assert given.event_id == "$e:x"
    one = build_event(v2, type="m.room.message", sender="@a:srv", content={})
    two = build_event(v2, type="m.room.message", sender="@a:srv", content={})
    assert one.event_id != two.event_id
    assert one.event_id.startswith("$") and one.event_id.endswith(":srv")


def test_unsigned_event_has_no_signatures_and_tampering_changes_the_id() -> None:
    v10 = KNOWN_ROOM_VERSIONS["10"]
    a = build_event(v10, type="m.room.message", sender="@a:x", content={"body": "1"})
    b = build_event(v10, type="m.room.message", sender="@a:x", content={"body": "2"})
    assert a.raw["signatures"] == {}
    # Content is not part of the reference hash of a message, but its hash is.
    assert a.event_id != b.event_id
    assert a.raw["hashes"] != b.raw["hashes"]


def test_wrong_key_does_not_verify() -> None:
    v10 = KNOWN_ROOM_VERSIONS["10"]
    other = generate_signing_key(b"someone else", version="abc")
    pdu = build_event(v10, type="m.room.message", sender="@a:x", content={}, signing_key=other)
    rv = synapse_rv.KNOWN_ROOM_VERSIONS["10"]
    redacted = synapse_rust_events.redact_event_dict(rv, pdu.as_sent())
    verify_key = decode_verify_key_bytes(key_id_of(KEY), _unb64(verify_key_b64(KEY)))
    with pytest.raises(SignatureVerifyException):
        verify_signed_json(redacted, "x", verify_key)


def test_seeded_keys_are_deterministic() -> None:
    assert verify_key_b64(generate_signing_key(b"s")) == verify_key_b64(generate_signing_key(b"s"))
    assert verify_key_b64(generate_signing_key(b"s")) != verify_key_b64(generate_signing_key(b"t"))
    assert key_id_of(generate_signing_key()) == "ed25519:1"


def test_impossible_arguments_are_refused() -> None:
    v12 = KNOWN_ROOM_VERSIONS["12"]
    with pytest.raises(ValueError, match="room_id"):
        build_event(v12, type="m.room.message", sender="@a:x", content={})
    with pytest.raises(ValueError, match="room_id"):
        build_event(
            v12, type="m.room.create", sender="@a:x", content={}, state_key="", room_id="!r:x"
        )
    with pytest.raises(ValueError, match="reference hashes"):
        build_event(
            KNOWN_ROOM_VERSIONS["4"],
            type="m.room.message",
            sender="@a:x",
            content={},
            event_id="$a",
        )


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_add_signature_keeps_the_id_and_both_signatures_verify(version: RoomVersion) -> None:
    """A co-signature (e.g. a restricted join's authorising server) checked by signedjson
    over Synapse's redaction; the event ID is unchanged (signatures are not hashed)."""
    from app.core.builder import add_signature

    other = generate_signing_key(b"builder tests: co-signer", version="co")
    room_id = None
    if version.room_id_from_create_event:  # v12: the room ID comes from a create event
        create = build_event(
            version, type="m.room.create", sender="@alice:a.example", content={}, state_key=""
        )
        room_id = room_id_for(create)
    pdu = build_event(
        version,
        type="m.room.message",
        sender="@alice:a.example",
        content={"body": "hi"},
        room_id=room_id,
        signing_key=KEY,
    )
    served = dataclasses.replace(pdu, raw={**pdu.raw, "unsigned": {"age": 5}})
    cosigned = add_signature(served, "b.example", other)
    assert cosigned.event_id == pdu.event_id
    assert cosigned.raw["unsigned"] == {"age": 5}  # what the server added is kept as given
    assert set(cosigned.raw["signatures"]) == {"a.example", "b.example"}
    rv = synapse_rv.KNOWN_ROOM_VERSIONS[version.identifier]
    redacted = synapse_rust_events.redact_event_dict(rv, cosigned.as_sent())
    for server, key in (("a.example", KEY), ("b.example", other)):
        verify_key = decode_verify_key_bytes(key_id_of(key), _unb64(verify_key_b64(key)))
        verify_signed_json(redacted, server, verify_key)  # raises if a signature is bad
    _check_with_synapse(cosigned)
