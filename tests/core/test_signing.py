"""Signature checks against the spec's known answers and its rules on who signs.

Known answers: https://spec.matrix.org/v1.16/appendices/#cryptographic-test-vectors
(seed ``YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1``, server ``domain``, key
``ed25519:1``). The signatures, hashes and JSON below are copied from that
section of the spec.
"""

from __future__ import annotations

from typing import Any

import nacl.signing
import pytest

from app.core.builder import build_event, generate_signing_key, verify_key_b64
from app.core.hashing import canonical_json, compute_content_hash, redact, unpadded_base64
from app.core.signing import (
    ServerKeyError,
    VerifyKeys,
    decode_unpadded_base64,
    parse_server_keys,
    required_signers,
    verify_server_signature,
)
from app.core.versions import room_version

SEED = decode_unpadded_base64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")
SPEC_KEY = nacl.signing.SigningKey(SEED)
SPEC_KEYS = VerifyKeys({"domain": {"ed25519:1": unpadded_base64(bytes(SPEC_KEY.verify_key))}})

# Spec, "JSON Signing": {} and {"one": 1, "two": "Two"}.
SIG_EMPTY = "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
SIG_ONE_TWO = (
    "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
)

# Spec, "Event Signing": the minimal event and the event with redactable content.
MINIMAL_EVENT: dict[str, Any] = {
    "auth_events": [],
    "content": {},
    "depth": 3,
    "hashes": {"sha256": "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"},
    "origin": "domain",
    "origin_server_ts": 1000000,
    "prev_events": [],
    "room_id": "!x:domain",
    "sender": "@a:domain",
    "signatures": {
        "domain": {
            "ed25519:1": "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg"  # noqa: E501
        }
    },
    "type": "X",
    "unsigned": {"age_ts": 1000000},
}
REDACTABLE_EVENT: dict[str, Any] = {
    "content": {"body": "Here is the message content"},
    "event_id": "$0:domain",
    "hashes": {"sha256": "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"},
    "origin": "domain",
    "origin_server_ts": 1000000,
    "type": "m.room.message",
    "room_id": "!r:domain",
    "sender": "@u:domain",
    "signatures": {
        "domain": {
            "ed25519:1": "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA"  # noqa: E501
        }
    },
    "unsigned": {"age_ts": 1000000},
}
V1 = room_version("1")


def _signed_bytes(event: dict[str, Any]) -> bytes:
    redacted = redact(event, V1)
    redacted.pop("signatures", None)
    redacted.pop("unsigned", None)
    return canonical_json(redacted)


@pytest.mark.parametrize(
    ("obj", "signature"),
    [({}, SIG_EMPTY), ({"one": 1, "two": "Two"}, SIG_ONE_TWO)],
)
def test_spec_json_signing_vectors(obj: dict[str, Any], signature: str) -> None:
    # Signing with the spec's seed gives the spec's signature (ed25519 is deterministic) ...
    assert unpadded_base64(SPEC_KEY.sign(canonical_json(obj)).signature) == signature
    # ... and our check accepts it, and rejects it on a changed object.
    sigs = {"domain": {"ed25519:1": signature}}
    assert verify_server_signature(canonical_json(obj), sigs, "domain", SPEC_KEYS).result == "ok"
    other = canonical_json({**obj, "three": 3})
    check = verify_server_signature(other, sigs, "domain", SPEC_KEYS)
    assert check.result == "invalid"
    assert check.reason == "signature by domain ed25519:1 does not verify"


@pytest.mark.parametrize("event", [MINIMAL_EVENT, REDACTABLE_EVENT], ids=["minimal", "redactable"])
def test_spec_event_signing_vectors(event: dict[str, Any]) -> None:
    assert unpadded_base64(compute_content_hash(event)) == event["hashes"]["sha256"]
    check = verify_server_signature(_signed_bytes(event), event["signatures"], "domain", SPEC_KEYS)
    assert check.result == "ok"
    assert check.key_ids == ("ed25519:1",)
    # The signature covers the redacted event: changing redactable content keeps it
    # valid, while the content hash no longer matches.
    if event["content"]:
        changed = {**event, "content": {"body": "Here is the message content!"}}
        assert unpadded_base64(compute_content_hash(changed)) != event["hashes"]["sha256"]
        check = verify_server_signature(
            _signed_bytes(changed), event["signatures"], "domain", SPEC_KEYS
        )
        assert check.result == "ok"
    # Changing a protected key breaks the signature.
    moved = {**event, "origin_server_ts": 1000001}
    check = verify_server_signature(_signed_bytes(moved), event["signatures"], "domain", SPEC_KEYS)
    assert check.result == "invalid"


def test_builder_reproduces_the_spec_event_signature() -> None:
    """Our signing path (the builder) gives the spec's hash and signature for its event.

    The spec's minimal event has no ``event_id``, which is the v3+ format, and
    an ``origin`` as servers used to send, so building it in v4 with that
    ``origin`` must give exactly its bytes.
    """
    key = generate_signing_key(SEED, version="1")
    assert verify_key_b64(key) == unpadded_base64(bytes(SPEC_KEY.verify_key))
    pdu = build_event(
        room_version("4"),
        type="X",
        sender="@a:domain",
        content={},
        room_id="!x:domain",
        depth=3,
        origin_server_ts=1000000,
        signing_key=key,
        extra={"origin": "domain"},
    )
    expected = {k: v for k, v in MINIMAL_EVENT.items() if k != "unsigned"}
    assert dict(pdu.raw) == expected


def _sigs_check(signatures: object, server: str = "domain") -> tuple[str, str | None]:
    check = verify_server_signature(b"{}", signatures, server, SPEC_KEYS)
    return check.result, check.reason


def test_signature_words() -> None:
    good = {"domain": {"ed25519:1": SIG_EMPTY}}
    assert _sigs_check(good) == ("ok", None)
    assert _sigs_check({}) == ("missing", "no signature by domain")
    assert _sigs_check("nonsense") == ("missing", "no signature by domain")
    assert _sigs_check({"other": {"ed25519:1": SIG_EMPTY}}) == ("missing", "no signature by domain")
    assert _sigs_check({"domain": {"curve25519:1": "x"}})[0] == "missing"
    assert _sigs_check({"domain": {"ed25519:2": SIG_EMPTY}}) == (
        "unknown_key",
        "signed by domain with ed25519:2, a key not given",
    )
    assert _sigs_check({"domain": {"ed25519:1": SIG_EMPTY}}, server="elsewhere")[0] == "missing"
    # Known key with a bad signature: invalid, even if another (unknown) key also signed.
    flipped = ("L" + SIG_EMPTY[1:]) if SIG_EMPTY[0] != "L" else ("M" + SIG_EMPTY[1:])
    assert _sigs_check({"domain": {"ed25519:1": flipped, "ed25519:2": SIG_EMPTY}})[0] == "invalid"
    assert _sigs_check({"domain": {"ed25519:1": "!!!"}})[0] == "invalid"
    assert _sigs_check({"domain": {"ed25519:1": 5}})[0] == "invalid"
    assert _sigs_check({"domain": {"ed25519:1": SIG_EMPTY[:20]}})[0] == "invalid"
    # Valid known signature plus an unknown key: ok (only known keys are checked).
    assert _sigs_check({"domain": {"ed25519:1": SIG_EMPTY, "ed25519:9": "zz"}})[0] == "ok"


def test_no_keys_at_all_is_unknown_key_not_ok() -> None:
    check = verify_server_signature(
        b"{}", {"domain": {"ed25519:1": SIG_EMPTY}}, "domain", VerifyKeys()
    )
    assert check.result == "unknown_key"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "server_keys: is not a JSON object of server names"),
        ({"a": []}, "server_keys: a: is not an object of key IDs"),
        ({"a": {"ed25519:1": 3}}, "server_keys: a ed25519:1: key is not a string"),
        ({"a": {"nocolon": "AAAA"}}, "server_keys: a nocolon: key ID is not algorithm:name"),
        ({"a": {"ed25519:1": "*"}}, "server_keys: a ed25519:1: key is not unpadded base64"),
        (
            {"a": {"ed25519:1": "AAAA"}},
            "server_keys: a ed25519:1: an ed25519 key is 32 bytes, not 3",
        ),
    ],
)
def test_bad_server_keys_are_one_line_errors(keys: object, message: str) -> None:
    with pytest.raises(ServerKeyError) as info:
        parse_server_keys(keys)
    assert str(info.value) == message


def test_server_keys_accept_padded_urlsafe_and_skip_other_algorithms() -> None:
    raw = bytes(range(32))
    std = unpadded_base64(raw)
    parsed = parse_server_keys(
        {"a": {"ed25519:std": std, "ed25519:pad": std + "=", "curve25519:x": "whatever"}}
    )
    assert set(parsed["a"]) == {"ed25519:std", "ed25519:pad"}
    assert bytes(parsed["a"]["ed25519:std"]) == raw


def test_decode_unpadded_base64() -> None:
    assert decode_unpadded_base64("AQID") == b"\x01\x02\x03"
    assert decode_unpadded_base64("AQI") == b"\x01\x02"
    assert decode_unpadded_base64("-_8") == b"\xfb\xff"
    for bad in ("A", "AQ$D", "AQ ID"):
        with pytest.raises(ValueError):
            decode_unpadded_base64(bad)


# Who must sign: https://spec.matrix.org/v1.16/server-server-api/#validating-hashes-and-signatures-on-received-events


def test_sender_server_signs() -> None:
    pdu = build_event(room_version("10"), type="m.room.message", sender="@a:a.example", content={})
    assert required_signers(pdu) == ("a.example",)


def test_v1_v2_event_id_server_signs_too() -> None:
    for v in ("1", "2"):
        pdu = build_event(
            room_version(v), type="m.room.message", sender="@a:a.example", content={},
            event_id="$x:c.example",
        )  # fmt: skip
        assert required_signers(pdu) == ("a.example", "c.example")
        same = build_event(
            room_version(v), type="m.room.message", sender="@a:a.example", content={},
            event_id="$y:a.example",
        )  # fmt: skip
        assert required_signers(same) == ("a.example",)


@pytest.mark.parametrize("version", [str(n) for n in range(1, 13)])
def test_restricted_join_authoriser_signs_from_v8(version: str) -> None:
    v = room_version(version)
    pdu = build_event(
        v,
        type="m.room.member",
        sender="@a:a.example",
        state_key="@a:a.example",
        content={"membership": "join", "join_authorised_via_users_server": "@b:b.example"},
        room_id="!r:a.example",
    )
    expected = ("a.example", "b.example") if int(version) >= 8 else ("a.example",)
    assert required_signers(pdu) == expected


def test_third_party_invite_needs_no_sender_signature() -> None:
    v = room_version("10")
    invite = build_event(
        v,
        type="m.room.member",
        sender="@a:a.example",
        state_key="@c:c.example",
        content={"membership": "invite", "third_party_invite": {"signed": {}}},
    )
    assert required_signers(invite) == ()
    plain = build_event(
        v,
        type="m.room.member",
        sender="@a:a.example",
        state_key="@c:c.example",
        content={"membership": "invite"},
    )
    assert required_signers(plain) == ("a.example",)
