"""Canonical JSON, base64, content hashes, reference hashes, event IDs and v12 room IDs.

Expected values are the spec's own examples (appendices: "Unpadded Base64",
"Canonical JSON", "Cryptographic Test Vectors"), or Synapse's results.
"""

from __future__ import annotations

import hashlib
import json
from base64 import b64encode
from typing import Any

import pytest

from app.core.builder import build_event
from app.core.hashing import (
    canonical_json,
    compute_content_hash,
    compute_event_id,
    compute_reference_hash,
    event_id_from_reference_hash,
    room_id_from_create_event_id,
    unpadded_base64,
    urlsafe_unpadded_base64,
)
from app.core.versions import KNOWN_ROOM_VERSIONS, room_version

VERSIONS = sorted(KNOWN_ROOM_VERSIONS.values(), key=lambda v: int(v.identifier))


@pytest.mark.parametrize(
    ("data", "encoded"),
    [
        (b"", ""),
        (b"f", "Zg"),
        (b"fo", "Zm8"),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg"),
        (b"fooba", "Zm9vYmE"),
        (b"foobar", "Zm9vYmFy"),
    ],
)
def test_spec_unpadded_base64(data: bytes, encoded: str) -> None:
    assert unpadded_base64(data) == encoded
    assert urlsafe_unpadded_base64(data) == encoded  # no 62nd/63rd characters here


def test_urlsafe_alphabet() -> None:
    # 0xfb 0xff encodes to the 62nd and 63rd characters: "+/" or "-_".
    assert unpadded_base64(b"\xfb\xff") == "+/8"
    assert urlsafe_unpadded_base64(b"\xfb\xff") == "-_8"


# Spec, appendices, "Canonical JSON", "Examples" (input text, expected output).
CANONICAL_EXAMPLES = [
    ("{}", "{}"),
    ('{"one": 1, "two": "Two"}', '{"one":1,"two":"Two"}'),
    ('{"b": "2", "a": "1"}', '{"a":"1","b":"2"}'),
    ('{"b":"2","a":"1"}', '{"a":"1","b":"2"}'),
    (
        '{"auth": {"success": true, "mxid": "@john.doe:example.com", "profile": {'
        '"display_name": "John Doe", "three_pids": [{"medium": "email", "address": '
        '"john.doe@example.org"}, {"medium": "msisdn", "address": "123456789"}]}}}',
        '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",'
        '"three_pids":[{"address":"john.doe@example.org","medium":"email"},'
        '{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    ),
    ('{"a": "日本語"}', '{"a":"日本語"}'),
    ('{"本": 2, "日": 1}', '{"日":1,"本":2}'),
    ('{"a": "\\u65E5"}', '{"a":"日"}'),
    ('{"a": null}', '{"a":null}'),
    # The spec's last example is {"a": -0, "b": 1e10}; "1e10" parses to a float in
    # Python, and Synapse (and canonicaljson) write floats with a ".0". Room versions 6+
    # forbid floats outright, and older rooms' events were hashed by servers that wrote
    # them as Python does, so we keep Synapse's behaviour and test the integer form here.
    ('{"a": -0, "b": 10000000000}', '{"a":0,"b":10000000000}'),
]


@pytest.mark.parametrize(("text", "expected"), CANONICAL_EXAMPLES)
def test_spec_canonical_json_examples(text: str, expected: str) -> None:
    assert canonical_json(json.loads(text)) == expected.encode("utf-8")


def test_canonical_json_escapes_only_what_the_grammar_says() -> None:
    # Control characters as \u00XX except those with short escapes; U+2028 raw.
    assert canonical_json({"a": '\x01\x1f\b\t\n\f\r"\\ \u2028'}) == (
        b'{"a":"\\u0001\\u001f\\b\\t\\n\\f\\r\\"\\\\ \xe2\x80\xa8"}'
    )


def test_content_hash_spec_vectors() -> None:
    # Spec, "Cryptographic Test Vectors", "Event Signing": the hashes.sha256 it emits.
    minimal = {
        "room_id": "!x:domain",
        "sender": "@a:domain",
        "origin": "domain",
        "origin_server_ts": 1000000,
        "signatures": {},
        "hashes": {},
        "type": "X",
        "content": {},
        "prev_events": [],
        "auth_events": [],
        "depth": 3,
        "unsigned": {"age_ts": 1000000},
    }
    assert unpadded_base64(compute_content_hash(minimal)) == (
        "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"
    )
    redactable = {
        "content": {"body": "Here is the message content"},
        "event_id": "$0:domain",
        "origin": "domain",
        "origin_server_ts": 1000000,
        "type": "m.room.message",
        "room_id": "!r:domain",
        "sender": "@u:domain",
        "signatures": {},
        "unsigned": {"age_ts": 1000000},
    }
    assert unpadded_base64(compute_content_hash(redactable)) == (
        "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"
    )


def test_content_hash_covers_all_but_unsigned_signatures_hashes() -> None:
    """https://spec.matrix.org/v1.16/server-server-api/#calculating-the-content-hash-for-an-event"""
    base: dict[str, Any] = {"type": "X", "content": {"a": 1}, "event_id": "$e:x"}
    h = compute_content_hash(base)
    for ignored in ("unsigned", "signatures", "hashes"):
        assert compute_content_hash({**base, ignored: {"anything": 1}}) == h
    for kept in ("event_id", "content", "foo"):
        assert compute_content_hash({**base, kept: "changed"}) != h
    assert h == hashlib.sha256(b'{"content":{"a":1},"event_id":"$e:x","type":"X"}').digest()


def test_content_hash_ignores_what_synapse_ignores() -> None:
    """Top-level age_ts, outlier, destinations: left out, as Synapse leaves them out."""
    signing = pytest.importorskip("synapse.crypto.event_signing")
    base: dict[str, Any] = {"type": "X", "content": {"a": 1}, "event_id": "$e:x"}
    for key in ("age_ts", "outlier", "destinations", "foo"):
        event = {**base, key: 5}
        _, expected = signing.compute_content_hash(event, hashlib.sha256)
        assert compute_content_hash(event) == expected, key


def test_reference_hash_is_over_the_redacted_event() -> None:
    """https://spec.matrix.org/v1.16/server-server-api/#calculating-the-reference-hash-for-an-event"""
    v4 = room_version("4")
    event: dict[str, Any] = {
        "type": "m.room.message",
        "content": {"body": "a"},
        "sender": "@a:x",
        "room_id": "!r:x",
        "depth": 1,
        "prev_events": [],
        "auth_events": [],
        "origin_server_ts": 0,
        "hashes": {"sha256": "h"},
    }
    ref = compute_reference_hash(event, v4)
    # The redacted form has content {}; signatures, unsigned, age_ts do not count.
    expected_bytes = canonical_json({**event, "content": {}})
    assert ref == hashlib.sha256(expected_bytes).digest()
    assert compute_reference_hash({**event, "content": {"body": "b"}}, v4) == ref
    assert compute_reference_hash({**event, "signatures": {"x": {}}, "unsigned": {}}, v4) == ref
    assert compute_reference_hash({**event, "age_ts": 5}, v4) == ref
    assert compute_reference_hash({**event, "hashes": {"sha256": "g"}}, v4) != ref
    # v3: "$" + standard unpadded base64; v4+: URL-safe.
    assert compute_event_id(event, room_version("3")) == "$" + b64encode(ref).decode().rstrip("=")
    assert compute_event_id(event, v4) == "$" + urlsafe_unpadded_base64(ref)
    assert compute_event_id(event, room_version("1")) is None
    assert event_id_from_reference_hash(b"\xfb\xff", room_version("3")) == "$+/8"
    assert event_id_from_reference_hash(b"\xfb\xff", room_version("12")) == "$-_8"


def test_v12_room_id_is_the_create_event_id() -> None:
    """MSC4291 / https://spec.matrix.org/v1.16/rooms/v12/: "!" + create event ID less "$"."""
    assert room_id_from_create_event_id("$abc-_") == "!abc-_"


# Synapse as the oracle for event IDs of every derived-ID version --------------------------

synapse_rv = pytest.importorskip("synapse.api.room_versions")
synapse_events = pytest.importorskip("synapse.events")


@pytest.mark.parametrize("version", [v for v in VERSIONS if v.event_ids_derived])
def test_event_ids_agree_with_synapse(version: Any) -> None:
    rv = synapse_rv.KNOWN_ROOM_VERSIONS[version.identifier]
    for i in range(25):
        is_create = i == 0
        pdu = build_event(
            version,
            type="m.room.create" if is_create else f"m.type.{i % 3}",
            sender=f"@u{i}:s{i % 4}.example",
            state_key="" if is_create or i % 2 else None,
            content={"room_version": version.identifier, "n": i, "ü": "✓" * i},
            room_id=None if (is_create and version.room_id_from_create_event) else "!r:x",
            prev_events=[f"$p{j}" for j in range(i % 3)],
            depth=i,
            origin_server_ts=i * 7919,
        )
        event = synapse_events.make_event_from_dict(dict(pdu.as_sent()), rv)
        assert compute_event_id(pdu.as_sent(), version) == event.event_id
        # As a server serves it: its ID and unsigned added (and v12 the create's room_id).
        served = {**pdu.raw, "event_id": "$served", "unsigned": {"age": 5}}
        if is_create and version.room_id_from_create_event:
            served["room_id"] = event.room_id
        assert compute_event_id(served, version) == event.event_id
        if is_create and version.room_id_from_create_event:
            assert room_id_from_create_event_id(pdu.event_id) == event.room_id


def test_v12_create_event_id_from_room_id_is_the_inverse() -> None:
    from app.core.hashing import create_event_id_from_room_id

    assert create_event_id_from_room_id("!abc-_") == "$abc-_"
    assert room_id_from_create_event_id(create_event_id_from_room_id("!xyz") or "") == "!xyz"
    assert create_event_id_from_room_id("#alias:x") is None
    assert create_event_id_from_room_id("") is None


@pytest.mark.parametrize("version", [v for v in VERSIONS if v.event_ids_derived])
def test_event_ids_of_every_redaction_case_agree_with_synapse(version: Any) -> None:
    """compute_event_id redacts and hashes in one pass (and with orjson when the caller
    promises no floats): Synapse's IDs for the event types whose content redaction
    keeps something, with served-only keys, pre-v11 top-level keys and extra content."""
    rv = synapse_rv.KNOWN_ROOM_VERSIONS[version.identifier]
    cases: list[tuple[str, str | None, dict[str, Any]]] = [
        ("m.room.create", "", {"room_version": version.identifier, "creator": "@a:x", "z": 1}),
        ("m.room.member", "@b:x", {"membership": "invite", "displayname": "B"}),
        (
            "m.room.member",
            "@c:x",
            {
                "membership": "join",
                "join_authorised_via_users_server": "@a:x",
                "third_party_invite": {"signed": {"mxid": "@c:x", "token": "t"}, "x": 2},
            },
        ),
        ("m.room.member", "@d:x", {"membership": "invite", "third_party_invite": {"y": 1}}),
        ("m.room.join_rules", "", {"join_rule": "restricted", "allow": [], "other": True}),
        ("m.room.power_levels", "", {"users": {"@a:x": 100}, "invite": 50, "notifications": {}}),
        ("m.room.aliases", "x", {"aliases": ["#a:x"], "other": "y"}),
        ("m.room.history_visibility", "", {"history_visibility": "shared", "n": 1}),
        ("m.room.redaction", None, {"redacts": "$r", "reason": "spam"}),
        ("m.room.message", None, {"body": "hi ✓ \u0000 \u2028", "msgtype": "m.text"}),
    ]
    for i, (etype, state_key, content) in enumerate(cases):
        is_create = etype == "m.room.create"
        pdu = build_event(
            version,
            type=etype,
            sender="@a:x",
            state_key=state_key,
            content=content,
            room_id=None if (is_create and version.room_id_from_create_event) else "!r:x",
            prev_events=["$p"],
            depth=i + 1,
            origin_server_ts=1000 + i,
        )
        expected = synapse_events.make_event_from_dict(dict(pdu.as_sent()), rv).event_id
        extra = {"origin": "x", "membership": "join", "prev_state": [], "age_ts": 3}
        served = {**pdu.raw, **extra, "event_id": "$served", "unsigned": {"age": 5}}
        served_expected = synapse_events.make_event_from_dict(
            {k: v for k, v in served.items() if k not in ("event_id", "unsigned")}, rv
        ).event_id
        for float_free in (False, True):
            assert compute_event_id(pdu.as_sent(), version, float_free=float_free) == expected
            assert compute_event_id(served, version, float_free=float_free) == served_expected


def test_float_free_encoding_is_byte_identical() -> None:
    """canonical_json(float_free=True) (orjson) writes what the stdlib encoder writes:
    every escape, every non-ASCII character as keys and values, key order by code
    point (not UTF-16), integers to 64 bits; what orjson refuses goes to the stdlib."""
    chars = [chr(c) for c in range(0x800)] + ["\u2028", "\ufeff", "\uffff", "\U0001f600"]
    chars += ["\ue000", "\U00010000", "\U0010ffff"]
    objs: list[Any] = [{"k": "".join(chars)}, {c: i for i, c in enumerate(chars)}]
    objs.append({"n": [0, -1, 2**53, 2**63 - 1, -(2**63), 2**64 - 1, True, False, None]})
    objs.append({"deep": [{"a": [[{"b": {}}]], "": []}], "t": (1, "x")})
    objs.append({"big": 2**64, "neg": -(2**63) - 1})  # beyond orjson: the stdlib writes it
    for obj in objs:
        assert canonical_json(obj, float_free=True) == canonical_json(obj)
    with pytest.raises(ValueError):  # a lone surrogate is not UTF-8, either way
        canonical_json({"s": "\ud800"}, float_free=True)


def test_floats_keep_pythons_format() -> None:
    """Without the promise, floats are written as canonicaljson (Synapse) writes them."""
    assert canonical_json({"x": 1e-06, "y": 3e-05}) == b'{"x":1e-06,"y":3e-05}'
