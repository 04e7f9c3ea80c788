"""Verifying events: every check's words and reasons, and agreement with Synapse.

Well-formed events come from the builder; tampered ones are made by changing
their JSON. Where a verdict is not obvious from the spec text, Synapse (content
hash check, event IDs, redaction) and signedjson decide what is expected.
"""

from __future__ import annotations

import copy
import json
import random
from base64 import b64decode
from pathlib import Path
from typing import Any

import pytest
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, sign_json, verify_signed_json

from app.core.builder import (
    build_event,
    generate_signing_key,
    key_id_of,
    room_id_for,
    verify_key_b64,
)
from app.core.events import PDU, as_sent, parse_pdu
from app.core.hashing import compute_event_id, redact
from app.core.verify import summarize, verify_event, verify_events
from app.core.versions import KNOWN_ROOM_VERSIONS, RoomVersion, room_version

VERSIONS = sorted(KNOWN_ROOM_VERSIONS.values(), key=lambda v: int(v.identifier))
KEY_A = generate_signing_key(b"server a", version="a1")
KEY_B = generate_signing_key(b"server b", version="b1")
KEYS = {
    "a.example": {key_id_of(KEY_A): verify_key_b64(KEY_A)},
    "b.example": {key_id_of(KEY_B): verify_key_b64(KEY_B)},
}
ALICE = "@alice:a.example"


def _room(version: RoomVersion) -> list[PDU]:
    """create, join, power levels, topic, message: a small room signed by a.example."""
    content: dict[str, Any] = {"room_version": version.identifier}
    if not version.implicit_room_creator:
        content["creator"] = ALICE
    create = build_event(
        version,
        type="m.room.create",
        sender=ALICE,
        state_key="",
        content=content,
        room_id=None if version.room_id_from_create_event else "!r:a.example",
        signing_key=KEY_A,
    )
    room_id = room_id_for(create)
    base = () if version.room_id_from_create_event else (create.event_id,)
    events = [create]
    specs: list[dict[str, Any]] = [
        {"type": "m.room.member", "state_key": ALICE, "content": {"membership": "join"}},
        {"type": "m.room.power_levels", "state_key": "", "content": {"users": {ALICE: 100}}},
        {"type": "m.room.topic", "state_key": "", "content": {"topic": "Tea"}},
        {"type": "m.room.message", "content": {"msgtype": "m.text", "body": "hello"}},
    ]
    for depth, spec in enumerate(specs, start=2):
        events.append(
            build_event(
                version,
                sender=ALICE,
                room_id=room_id,
                prev_events=[events[-1].event_id],
                auth_events=(*base, *[e.event_id for e in events[1:3]]),
                depth=depth,
                origin_server_ts=depth * 1000,
                signing_key=KEY_A,
                known_events={e.event_id: e for e in events},
                **spec,
            )
        )
    return events


def _reparse(pdu: PDU, raw: dict[str, Any], *, keep_id: bool = True) -> PDU:
    """``raw`` as a PDU of the same version; v3+ keep the original ID unless told not to."""
    version = pdu.room_version
    event_id = None
    if version.event_ids_derived:
        event_id = pdu.event_id if keep_id else compute_event_id(as_sent(raw, version), version)
    return parse_pdu(raw, pdu.room_version, event_id=event_id)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_built_rooms_verify_completely(version: RoomVersion) -> None:
    results = verify_events(_room(version), KEYS)
    id_word = "ok" if version.event_ids_derived else "not_applicable"
    for r in results:
        assert (r.event_id_result, r.content_hash, r.signatures) == (id_word, "ok", "ok")
        assert r.reasons == ()
        assert not r.failed(strict=True)
    summary = summarize(results)
    assert summary.failed == 0 and summary.total == 5
    assert summary.line() == "5 events: 5 verified, 0 failed"


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_one_byte_content_change_is_a_content_hash_mismatch(version: RoomVersion) -> None:
    message = _room(version)[-1]
    raw = copy.deepcopy(dict(message.raw))
    raw["content"]["body"] = "hellp"
    r = verify_event(_reparse(message, raw), KEYS)
    # A message's content is redacted away: the ID and the signature still hold.
    assert r.content_hash == "mismatch"
    assert r.reasons == ("content hash: hashes.sha256 does not match the event's content",)
    assert r.signatures == "ok"
    assert r.event_id_result == ("ok" if version.event_ids_derived else "not_applicable")
    assert r.failed()


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_protected_content_change_breaks_hash_id_and_signature(version: RoomVersion) -> None:
    power = _room(version)[2]
    raw = copy.deepcopy(dict(power.raw))
    raw["content"]["users"] = {ALICE: 101}
    r = verify_event(_reparse(power, raw), KEYS)
    assert r.content_hash == "mismatch"
    assert r.signatures == "invalid"
    assert "signatures: signature by a.example ed25519:a1 does not verify" in r.reasons
    if version.event_ids_derived:
        assert r.event_id_result == "mismatch"
        assert r.computed_event_id is not None and r.computed_event_id != power.event_id
        assert (
            f"event ID: the reference hash gives {r.computed_event_id}, not {power.event_id}"
            in r.reasons
        )


@pytest.mark.parametrize("version", [v for v in VERSIONS if v.event_ids_derived])
def test_changed_event_id_is_reported(version: RoomVersion) -> None:
    topic = _room(version)[3]
    wrong = "$" + "A" * 43
    served = {**topic.raw, "event_id": wrong}  # a server claims another ID
    r = verify_event(parse_pdu(served, version), KEYS)
    assert r.event_id == wrong
    assert r.event_id_result == "mismatch"
    assert r.computed_event_id == topic.event_id
    assert r.content_hash == "ok" and r.signatures == "ok"
    assert r.reasons == (f"event ID: the reference hash gives {topic.event_id}, not {wrong}",)
    assert r.as_json()["computed_event_id"] == topic.event_id


def test_v3_and_v4_ids_use_their_alphabets() -> None:
    """v3: standard base64 ('+', '/'); v4+: URL-safe ('-', '_'), both unpadded."""
    seen: dict[str, set[str]] = {"3": set(), "4": set()}
    for v in ("3", "4"):
        for i in range(40):
            pdu = build_event(
                room_version(v), type="m.room.message", sender="@a:x", content={}, depth=i
            )
            seen[v] |= set(pdu.event_id[1:]) - set(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
            )
            assert len(pdu.event_id) == 44 and "=" not in pdu.event_id
            assert verify_event(pdu).event_id_result == "ok"
    assert seen["3"] <= {"+", "/"} and seen["3"]
    assert seen["4"] <= {"-", "_"} and seen["4"]


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_wrong_signature_is_invalid(version: RoomVersion) -> None:
    join = _room(version)[1]
    raw = copy.deepcopy(dict(join.raw))
    sig = raw["signatures"]["a.example"]["ed25519:a1"]
    raw["signatures"]["a.example"]["ed25519:a1"] = ("B" if sig[0] == "A" else "A") + sig[1:]
    r = verify_event(_reparse(join, raw), KEYS)
    assert r.signatures == "invalid"
    assert r.reasons == ("signatures: signature by a.example ed25519:a1 does not verify",)
    assert r.content_hash == "ok"  # signatures are not part of any hash


def test_missing_and_unknown_signatures() -> None:
    v10 = room_version("10")
    unsigned = build_event(v10, type="m.room.message", sender=ALICE, content={})
    r = verify_event(unsigned, KEYS)
    assert r.signatures == "missing"
    assert r.reasons == ("signatures: no signature by a.example",)
    assert r.failed()

    other = generate_signing_key(b"rotated", version="a2")
    rotated = build_event(v10, type="m.room.message", sender=ALICE, content={}, signing_key=other)
    r = verify_event(rotated, KEYS)
    assert r.signatures == "unknown_key"
    assert not r.failed() and r.failed(strict=True)
    assert verify_event(rotated, None).signatures == "unknown_key"


def test_hashes_missing_or_invalid() -> None:
    v10 = room_version("10")
    pdu = build_event(v10, type="m.room.message", sender=ALICE, content={}, signing_key=KEY_A)
    for hashes, word, reason in [
        (None, "missing", "content hash: hashes.sha256 is missing"),
        ({}, "missing", "content hash: hashes.sha256 is missing"),
        ({"sha256": 7}, "invalid", "content hash: hashes.sha256 is not a string"),
        ({"sha256": "#"}, "invalid", "content hash: hashes.sha256 is not base64 (bad length)"),
    ]:
        raw = dict(pdu.raw)
        if hashes is None:
            del raw["hashes"]
        else:
            raw["hashes"] = hashes
        r = verify_event(_reparse(pdu, raw), KEYS)
        assert (r.content_hash, r.reasons[0]) == (word, reason)


def test_restricted_join_needs_the_authorising_servers_signature() -> None:
    v10 = room_version("10")
    join = build_event(
        v10,
        type="m.room.member",
        sender=ALICE,
        state_key=ALICE,
        content={"membership": "join", "join_authorised_via_users_server": "@bob:b.example"},
        room_id="!r:a.example",
        signing_key=KEY_A,
    )
    r = verify_event(join, KEYS)
    assert r.signatures == "missing"
    assert r.reasons == ("signatures: no signature by b.example",)
    assert [(s.server, s.result) for s in r.signers] == [
        ("a.example", "ok"),
        ("b.example", "missing"),
    ]
    # The resident server b.example signs the same (redacted) event too.
    cosigned = sign_json(redact(join.as_sent(), v10), "b.example", KEY_B)
    raw = {**join.raw, "signatures": cosigned["signatures"]}
    r = verify_event(_reparse(join, raw), KEYS)
    assert (r.signatures, r.event_id_result, r.content_hash) == ("ok", "ok", "ok")
    # v7 has no restricted joins: the key is just content, b.example need not sign.
    v7 = build_event(
        room_version("7"),
        type="m.room.member",
        sender=ALICE,
        state_key=ALICE,
        content={"membership": "join", "join_authorised_via_users_server": "@bob:b.example"},
        room_id="!r:a.example",
        signing_key=KEY_A,
    )
    assert verify_event(v7, KEYS).signatures == "ok"


def test_third_party_invite_needs_no_signature() -> None:
    """An invite made from a third-party invite may come from any server (Synapse:
    _is_invite_via_3pid): nothing has to sign it, so there is nothing to fail."""
    invite = build_event(
        room_version("10"),
        type="m.room.member",
        sender=ALICE,
        state_key="@carol:c.example",
        content={"membership": "invite", "third_party_invite": {"signed": {"token": "t"}}},
    )
    r = verify_event(invite, KEYS)
    assert (r.signatures, r.signers, r.reasons) == ("not_applicable", (), ())


def test_served_fields_are_ignored() -> None:
    """unsigned, a v3+ event_id and Synapse's v12 create room_id are not hashed or signed."""
    for version in VERSIONS:
        create = _room(version)[0]
        served = dict(create.raw)
        served["unsigned"] = {"age": 5, "prev_content": {"x": 1}}
        if version.event_ids_derived:
            served["event_id"] = create.event_id
        if version.room_id_from_create_event:
            served["room_id"] = room_id_for(create)
        r = verify_event(parse_pdu(served, version), KEYS)
        assert not r.failed(strict=True), (version.identifier, r.reasons)


def test_canonical_json_failure_is_a_finding_not_a_crash() -> None:
    v10 = room_version("10")
    pdu = build_event(v10, type="m.room.message", sender=ALICE, content={}, signing_key=KEY_A)
    raw = {**pdu.raw, "content": {"x": float("nan")}}
    r = verify_event(_reparse(pdu, raw), KEYS)
    assert r.content_hash == "invalid"
    assert r.reasons[0].startswith("event: cannot be encoded as canonical JSON")


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_non_canonical_numbers_are_invalid_from_v6(version: RoomVersion) -> None:
    """v6+ (https://spec.matrix.org/v1.16/rooms/v6/#canonical-json): no floats, no integers
    outside [-(2**53)+1, (2**53)-1]. Built with the numbers in, so hashes and signatures
    match: only the JSON rule can flag them. Synapse agrees (validate_canonicaljson)."""
    validate = pytest.importorskip("synapse.events.utils").validate_canonicaljson
    for bad, where in [
        ({"n": 1.5}, "a non-integer number at content.n"),
        ({"deep": [0, {"x": 2**53}]}, "an integer out of range at content.deep[1].x"),
        ({"n": -(2**53)}, "an integer out of range at content.n"),
    ]:
        pdu = build_event(
            version,
            type="m.room.message",
            sender=ALICE,
            content=bad,
            room_id="!r:a.example",
            signing_key=KEY_A,
        )
        r = verify_event(pdu, KEYS)
        assert r.signatures == "ok"
        with pytest.raises(Exception, match="JSON"):
            validate(dict(pdu.as_sent()))
        if int(version.identifier) >= 6:
            assert r.content_hash == "invalid"
            assert r.reasons == (
                "content hash: the event is not canonical JSON, as room version "
                f"{version.identifier} requires ({where})",
            )
        else:
            assert r.content_hash == "ok" and r.reasons == ()
    edge = {"a": 2**53 - 1, "b": -(2**53) + 1, "c": [True, None, "1.5"]}
    pdu = build_event(
        version, type="m.room.message", sender=ALICE, content=edge, room_id="!r:a.example"
    )
    assert verify_event(pdu, KEYS).content_hash == "ok"


# Synapse as the oracle on randomly tampered events ----------------------------------------

synapse_rv = pytest.importorskip("synapse.api.room_versions")
synapse_events = pytest.importorskip("synapse.events")
synapse_signing = pytest.importorskip("synapse.crypto.event_signing")
synapse_rust_events = pytest.importorskip("synapse.synapse_rust.events")


def _synapse_verdict(raw: dict[str, Any], version: RoomVersion) -> tuple[str, str, str]:
    rv = synapse_rv.KNOWN_ROOM_VERSIONS[version.identifier]
    sent = {k: v for k, v in raw.items() if k != "unsigned"}
    if version.event_ids_derived:
        sent.pop("event_id", None)
    event = synapse_events.make_event_from_dict(copy.deepcopy(sent), rv)
    try:
        content_ok = synapse_signing.check_event_content_hash(event)
    except Exception:
        content_ok = False
    vk = decode_verify_key_bytes(key_id_of(KEY_A), b64decode(verify_key_b64(KEY_A) + "="))
    try:
        verify_signed_json(synapse_rust_events.redact_event_dict(rv, sent), "a.example", vk)
        sig = "ok"
    except SignatureVerifyException:
        sig = "bad"
    return event.event_id, "ok" if content_ok else "bad", sig


def _mutate(raw: dict[str, Any], rnd: random.Random) -> None:
    choice = rnd.randrange(6)
    if choice == 0:
        raw["content"] = {**raw["content"], "extra": rnd.randrange(10**6)}
    elif choice == 1:
        raw["origin_server_ts"] += rnd.randrange(1, 1000)
    elif choice == 2:
        raw["depth"] += 1
    elif choice == 3 and raw["content"]:
        key = rnd.choice(sorted(raw["content"]))
        raw["content"] = {k: v for k, v in raw["content"].items() if k != key}
    elif choice == 4:
        raw["unsigned"] = {"age": rnd.randrange(100)}  # harmless
    else:
        raw["sender"] = raw["sender"].replace("alice", "alicf")


def test_tampered_events_agree_with_synapse() -> None:
    seed = 20261127
    rnd = random.Random(seed)
    for version in VERSIONS:
        for pdu in _room(version):
            for _ in range(4):
                raw = copy.deepcopy(dict(pdu.raw))
                _mutate(raw, rnd)
                mutated = _reparse(pdu, raw, keep_id=False)
                r = verify_event(mutated, KEYS)
                event_id, content, sig = _synapse_verdict(raw, version)
                where = (seed, version.identifier, pdu.type, raw)
                if version.event_ids_derived:
                    assert r.computed_event_id == event_id, where
                assert (r.content_hash == "ok") == (content == "ok"), where
                assert (r.signatures == "ok") == (sig == "ok"), where


# Real PDUs recorded from Synapse (tools/record_test_pdus.py) ------------------------------

PDU_DIR = Path(__file__).resolve().parent.parent / "data" / "pdus"


def _recorded(version: str) -> tuple[dict[str, Any], list[PDU]]:
    doc = json.loads((PDU_DIR / f"v{version}.json").read_text(encoding="utf-8"))
    rv = room_version(doc["room_version"])
    pdus = [
        parse_pdu(obj, rv, event_id=compute_event_id(as_sent(obj, rv), rv)) for obj in doc["events"]
    ]
    return doc, pdus


@pytest.mark.parametrize("version", ["10", "12"])
def test_recorded_synapse_pdus_verify_completely(version: str) -> None:
    doc, pdus = _recorded(version)
    assert doc["source"]["homeserver"].startswith("Synapse ")
    assert len(pdus) >= 10
    results = verify_events(pdus, doc["server_keys"])
    for r in results:
        assert (r.event_id_result, r.content_hash, r.signatures) == ("ok", "ok", "ok"), r.reasons
        assert [s.server for s in r.signers] == ["roomscope.test"]
    # Our event IDs are Synapse's: every reference Synapse wrote points at an event we
    # computed the same ID for, and (v12) Synapse's room ID is our create event's ID.
    ids = {p.event_id for p in pdus}
    for p in pdus:
        assert set(p.prev_events) | set(p.auth_events) <= ids
    create = pdus[0]
    assert create.type == "m.room.create"
    if version == "12":
        assert "room_id" not in create.raw
        assert doc["room_id"] == "!" + create.event_id[1:]
        assert all(p.room_id == doc["room_id"] for p in pdus[1:])


@pytest.mark.parametrize("version", ["10", "12"])
def test_recorded_pdus_tampering_is_caught(version: str) -> None:
    doc, pdus = _recorded(version)
    keys = doc["server_keys"]
    by_type = {}
    for p in pdus:
        by_type.setdefault(p.type, p)
    message, power = by_type["m.room.message"], by_type["m.room.power_levels"]

    raw = copy.deepcopy(dict(message.raw))
    body = raw["content"]["body"]
    raw["content"]["body"] = body[:-1] + chr(ord(body[-1]) ^ 1)  # one byte
    r = verify_event(_reparse(message, raw), keys)
    assert (r.event_id_result, r.content_hash, r.signatures) == ("ok", "mismatch", "ok")

    raw = copy.deepcopy(dict(power.raw))
    raw["content"]["users_default"] = 1
    r = verify_event(_reparse(power, raw), keys)
    assert (r.event_id_result, r.content_hash, r.signatures) == ("mismatch", "mismatch", "invalid")

    served = {**message.raw, "event_id": power.event_id}
    r = verify_event(parse_pdu(served, message.room_version), keys)
    assert r.event_id_result == "mismatch" and r.computed_event_id == message.event_id

    raw = copy.deepcopy(dict(message.raw))
    ((key_id, sig),) = raw["signatures"]["roomscope.test"].items()
    raw["signatures"]["roomscope.test"][key_id] = (
        sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    )
    r = verify_event(_reparse(message, raw), keys)
    assert r.signatures == "invalid"
    assert r.reasons == (f"signatures: signature by roomscope.test {key_id} does not verify",)

    # Another server's key under the same ID: every signature is invalid.
    wrong = {"roomscope.test": {key_id: verify_key_b64(KEY_A)}}
    assert {r.signatures for r in verify_events(pdus, wrong)} == {"invalid"}
    # No keys: nothing is checkable, nothing is claimed to be fine.
    assert {r.signatures for r in verify_events(pdus, None)} == {"unknown_key"}


@pytest.mark.parametrize("version", ["10", "12"])
def test_recorded_redacted_form_keeps_id_and_signature(version: str) -> None:
    """A server serves a redacted event pruned: its content hash cannot match any more,
    but its event ID and signature (both over the redacted form) still do."""
    doc, pdus = _recorded(version)
    target = next(p for p in pdus if p.type == "m.room.redaction").redacts
    assert target is not None
    event = next(p for p in pdus if p.event_id == target)
    pruned = redact(event.as_sent(), event.room_version)
    r = verify_event(_reparse(event, pruned), doc["server_keys"])
    assert (r.event_id_result, r.content_hash, r.signatures) == ("ok", "mismatch", "ok")
    assert r.reasons[0].endswith("(the event looks redacted: only what redaction keeps is left)")
