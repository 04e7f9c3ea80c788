"""A low-level builder of valid PDUs for every room version.

Tests, state-resolution scenario generators and the sample rooms need events
whose hashes, signatures and IDs are right (or deliberately wrong, through
``extra``). :func:`build_event` writes the JSON in the format of the room
version, adds the content hash, signs it when given a key, derives the event ID
where the version does, and returns the parsed :class:`~app.core.events.PDU`.

It does no authorization and no defaulting of ``auth_events``: what the caller
passes is what the event says, so invalid events are as easy to make as valid
ones.

Choices worth knowing:

* v1/v2 ``prev_events``/``auth_events`` are ``[event_id, {"sha256": hash}]``
  pairs. The hash is the reference hash of the referenced event when the caller
  passes it in ``known_events``; otherwise it is :data:`PLACEHOLDER_REFERENCE_HASH`,
  the SHA-256 of the empty string, so the pair keeps the spec's shape. No
  algorithm of the spec or of Synapse checks these hashes, so the placeholder
  changes nothing but the bytes hashed.
* No ``origin``: the spec dropped it from the PDU format (matrix-spec #998,
  "doesn't serve an actual purpose") and Synapse 1.163 sends it in no room
  version. Older servers did; pass ``extra={"origin": server}`` to build such an
  event (v1-v10 redaction still protects it, v11 does not).
* ``redacts`` is top-level for v1-v10 and inside ``content`` from v11
  (MSC2174), as the versions define it.
* v1/v2 event IDs are ``event_id`` when given, else a readable ``$<n>:<server>``
  with ``n`` from a process-wide counter.

Spec: https://spec.matrix.org/v1.16/server-server-api/#pdus,
https://spec.matrix.org/v1.16/server-server-api/#adding-hashes-and-signatures-to-outgoing-events,
https://spec.matrix.org/v1.16/appendices/#signing-events and the "Event format"
section of each room version (https://spec.matrix.org/v1.16/rooms/).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from signedjson.key import decode_signing_key_base64, get_verify_key
from signedjson.key import generate_signing_key as _random_signing_key
from signedjson.sign import sign_json
from signedjson.types import SigningKey

from app.core.events import PDU, domain_of, parse_pdu
from app.core.hashing import (
    compute_content_hash,
    compute_event_id,
    compute_reference_hash,
    reference_hash_input,
    room_id_from_create_event_id,
    unpadded_base64,
)
from app.core.versions import RoomVersion

__all__ = [
    "PLACEHOLDER_REFERENCE_HASH",
    "SigningKey",
    "add_signature",
    "build_event",
    "generate_signing_key",
    "key_id_of",
    "reference_hash_b64",
    "room_id_for",
    "verify_key_b64",
]

# SigningKey (signedjson.types): an ed25519 key as signedjson uses it, a PyNaCl
# key with ``alg`` and ``version`` attributes (key ID ``ed25519:<version>``).

#: The SHA-256 of zero bytes, unpadded base64: the hash written into a v1/v2
#: event reference when the referenced event is not known to the builder.
PLACEHOLDER_REFERENCE_HASH = unpadded_base64(hashlib.sha256(b"").digest())

_event_counter = itertools.count(1)


def generate_signing_key(seed: bytes | None = None, version: str = "1") -> SigningKey:
    """An ed25519 signing key with key ID ``ed25519:<version>``.

    With ``seed`` the key is deterministic: a 32-byte seed is used as the
    ed25519 seed itself (as the spec's examples do); any other length is first
    hashed with SHA-256. Without ``seed`` the key is random.
    """
    if seed is None:
        random_key: SigningKey = _random_signing_key(version)
        return random_key
    if len(seed) != 32:
        seed = hashlib.sha256(seed).digest()
    key: SigningKey = decode_signing_key_base64("ed25519", version, unpadded_base64(seed))
    return key


def key_id_of(key: SigningKey) -> str:
    """The key ID of ``key`` as it appears in ``signatures``: ``ed25519:<version>``."""
    return f"{key.alg}:{key.version}"


def verify_key_b64(key: SigningKey) -> str:
    """The public half of ``key`` in unpadded base64, as ``server_keys`` holds it."""
    return unpadded_base64(bytes(get_verify_key(key)))


def reference_hash_b64(pdu: PDU) -> str:
    """The reference hash of ``pdu`` as sent, unpadded base64 (v1/v2 event references)."""
    return unpadded_base64(compute_reference_hash(pdu.as_sent(), pdu.room_version))


def room_id_for(create: PDU) -> str:
    """The room ID of the room that ``create`` (its m.room.create event) creates.

    v12 (MSC4291): ``!`` + the create event's ID less its ``$``. Older
    versions: the create event's own ``room_id``.
    """
    if create.room_version.room_id_from_create_event:
        return room_id_from_create_event_id(create.event_id)
    if create.room_id is None:
        raise ValueError(f"create event {create.event_id} has no room_id")
    return create.room_id


def _refs(version: RoomVersion, ids: Sequence[str], known: Mapping[str, PDU]) -> list[Any]:
    if not version.event_refs_with_hashes:
        return list(ids)
    out: list[Any] = []
    for event_id in ids:
        ref = known.get(event_id)
        digest = reference_hash_b64(ref) if ref is not None else PLACEHOLDER_REFERENCE_HASH
        out.append([event_id, {"sha256": digest}])
    return out


def build_event(
    version: RoomVersion,
    *,
    type: str,
    sender: str,
    content: Mapping[str, Any],
    state_key: str | None = None,
    room_id: str | None = None,
    prev_events: Sequence[str] = (),
    auth_events: Sequence[str] = (),
    depth: int = 1,
    origin_server_ts: int = 0,
    event_id: str | None = None,
    redacts: str | None = None,
    extra: Mapping[str, Any] | None = None,
    signing_key: SigningKey | None = None,
    known_events: Mapping[str, PDU] | None = None,
) -> PDU:
    """Build one PDU of room version ``version``, hashed, optionally signed.

    ``room_id`` defaults to ``!room:<sender's server>`` except in v12, where
    the create event has none and every other event must be given the one
    :func:`room_id_for` returns. ``event_id`` is used only in v1/v2 (in v3+ the
    ID is the reference hash; passing one there is an error). ``extra`` keys
    are written last, over anything the builder wrote, before hashing and
    signing. ``known_events`` supplies the reference hashes of v1/v2 event
    references (see the module docstring).

    Raises ValueError for arguments no PDU of ``version`` could have.
    """
    server = domain_of(sender) or ""
    is_create = type == "m.room.create" and state_key == ""
    obj: dict[str, Any] = {
        "type": type,
        "sender": sender,
        "content": dict(content),
        "prev_events": _refs(version, prev_events, known_events or {}),
        "auth_events": _refs(version, auth_events, known_events or {}),
        "depth": depth,
        "origin_server_ts": origin_server_ts,
    }
    if version.room_id_from_create_event and is_create:
        if room_id is not None:
            raise ValueError(f"room version {version.identifier}: the create event has no room_id")
    elif room_id is None:
        if version.room_id_from_create_event:
            raise ValueError(
                f"room version {version.identifier}: room_id is required (use room_id_for)"
            )
        obj["room_id"] = f"!room:{server}"
    else:
        obj["room_id"] = room_id
    if state_key is not None:
        obj["state_key"] = state_key
    if redacts is not None:
        if version.updated_redaction_rules:
            obj["content"]["redacts"] = redacts
        else:
            obj["redacts"] = redacts
    if version.event_ids_derived:
        if event_id is not None:
            raise ValueError(
                f"room version {version.identifier}: event IDs are reference hashes, not chosen"
            )
    else:
        obj["event_id"] = event_id if event_id is not None else _readable_id(server)
    if extra:
        obj.update(extra)

    obj["hashes"] = {"sha256": unpadded_base64(compute_content_hash(obj))}
    signatures = obj.get("signatures")
    obj["signatures"] = dict(signatures) if isinstance(signatures, Mapping) else {}
    if signing_key is not None:
        _sign(obj, version, server, signing_key)

    derived = compute_event_id(obj, version)
    return parse_pdu(obj, version, event_id=derived)


def _sign(obj: dict[str, Any], version: RoomVersion, server: str, key: SigningKey) -> None:
    """Add ``server``'s signature to ``obj["signatures"]`` (kept: the others'), in place.

    Servers sign the redacted event, signatures and unsigned set aside
    (:func:`app.core.hashing.reference_hash_input`):
    https://spec.matrix.org/v1.16/appendices/#signing-events
    """
    signed = sign_json(reference_hash_input(obj, version), server, key)
    signatures = {k: dict(v) for k, v in obj["signatures"].items()}
    signatures.setdefault(server, {}).update(signed["signatures"][server])
    obj["signatures"] = signatures


def add_signature(pdu: PDU, server: str, signing_key: SigningKey) -> PDU:
    """``pdu`` with one more signature, by ``server`` (e.g. the authorising server of a
    restricted join). The event ID stays: the reference hash leaves signatures out."""
    sent = pdu.as_sent()  # what was signed: no unsigned, no served event_id
    signatures = sent.get("signatures")
    sent["signatures"] = dict(signatures) if isinstance(signatures, Mapping) else {}
    _sign(sent, pdu.room_version, server, signing_key)
    obj = {**pdu.raw, "signatures": sent["signatures"]}
    return parse_pdu(obj, pdu.room_version, event_id=pdu.event_id)


def _readable_id(server: str) -> str:
    return f"${next(_event_counter)}:{server}"
