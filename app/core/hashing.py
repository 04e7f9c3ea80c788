"""Canonical JSON, redaction, content hashes, reference hashes and event IDs.

Spec: https://spec.matrix.org/v1.16/appendices/#canonical-json,
https://spec.matrix.org/v1.16/server-server-api/#calculating-the-content-hash-for-an-event,
https://spec.matrix.org/v1.16/server-server-api/#calculating-the-reference-hash-for-an-event,
https://spec.matrix.org/v1.16/client-server-api/#redactions and the
"Redactions" section of each room version.
"""

from __future__ import annotations

import binascii
import hashlib
from base64 import b64encode, urlsafe_b64encode
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from canonicaljson import encode_canonical_json

from app.core.versions import EventIdFormat, RoomVersion

__all__ = [
    "as_sent",
    "canonical_json",
    "compute_content_hash",
    "compute_event_id",
    "compute_reference_hash",
    "create_event_id_from_room_id",
    "event_id_from_reference_hash",
    "event_id_hasher",
    "redact",
    "reference_hash_input",
    "room_id_from_create_event_id",
    "unpadded_base64",
    "urlsafe_unpadded_base64",
]


# Fields that homeservers add to the PDUs they serve and that were not part of
# what the origin server hashed and signed.
_SERVED_ONLY_FIELDS = ("unsigned",)


def as_sent(obj: Mapping[str, Any], version: RoomVersion) -> dict[str, Any]:
    """The JSON object of a PDU as the origin server hashed and signed it.

    Drops what homeservers add when serving events: ``unsigned``, the
    ``event_id`` of v3+ rooms (it is the hash, not part of it) and, in
    v12 rooms, the ``room_id`` that Synapse adds to the create event.
    Returns a shallow copy; ``obj`` is left alone. One rule for PDUs and for
    raw objects not yet parsed (a loader computes a v3+ event ID before it
    has a PDU).
    """
    out = dict(obj)
    for key in _SERVED_ONLY_FIELDS:
        out.pop(key, None)
    if version.event_ids_derived:
        out.pop("event_id", None)
    if (
        version.room_id_from_create_event
        and out.get("type") == "m.room.create"
        and out.get("state_key") == ""
    ):
        out.pop("room_id", None)
    return out


def canonical_json(obj: Any, *, float_free: bool = False) -> bytes:
    """The canonical JSON encoding (sorted keys, no spaces, UTF-8).

    ``float_free=True`` is the caller's promise that ``obj`` holds no float (a
    loader whose JSON text had no fraction or exponent knows it): then orjson,
    several times faster, writes it. It gives the same bytes as the stdlib encoder
    (canonicaljson) for strings, integers, booleans, null, objects and arrays, but
    formats some floats differently (``1e-6`` where Python writes ``1e-06``), hence
    the promise. What orjson refuses (integers beyond 64 bits, lone surrogates,
    non-string keys, mappings other than dict) goes to the stdlib encoder, which
    decides as it always did.
    """
    if float_free:
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
    result: bytes = encode_canonical_json(obj)
    return result


def unpadded_base64(data: bytes) -> str:
    """Standard base64 without ``=`` padding."""
    return b64encode(data).decode("ascii").rstrip("=")


def urlsafe_unpadded_base64(data: bytes) -> str:
    """URL-safe base64 (``-`` and ``_``) without ``=`` padding."""
    return urlsafe_b64encode(data).decode("ascii").rstrip("=")


# Top-level keys kept by redaction. v11 (MSC2176) drops origin, membership, prev_state.
_KEPT_TOP_LEVEL_V1 = frozenset(
    {
        "event_id",
        "type",
        "room_id",
        "sender",
        "state_key",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "prev_state",
        "auth_events",
        "origin",
        "origin_server_ts",
        "membership",
    }
)
_KEPT_TOP_LEVEL_V11 = _KEPT_TOP_LEVEL_V1 - {"origin", "membership", "prev_state"}


_NO_KEYS: frozenset[str] = frozenset()
# The event types whose content redaction may keep something of (in some version);
# every other type keeps none (the last line of _kept_content_keys).
_TYPES_KEEPING_CONTENT = frozenset(
    {
        "m.room.member",
        "m.room.create",
        "m.room.join_rules",
        "m.room.power_levels",
        "m.room.aliases",
        "m.room.history_visibility",
        "m.room.redaction",
    }
)


def _kept_content_keys(event_type: str, version: RoomVersion) -> frozenset[str] | None:
    """The content keys redaction keeps for ``event_type``; None means "all of them".

    Only called for the types in :data:`_TYPES_KEEPING_CONTENT`: a type added here
    must be added there too.
    """
    if event_type == "m.room.member":
        keys = {"membership"}
        if version.restricted_join_rule_fix:  # v9+
            keys.add("join_authorised_via_users_server")
        return frozenset(keys)
    if event_type == "m.room.create":
        # v11 (MSC2176): the whole content of the create event survives.
        return None if version.updated_redaction_rules else frozenset({"creator"})
    if event_type == "m.room.join_rules":
        keys = {"join_rule"}
        if version.restricted_join_rule:  # v8+
            keys.add("allow")
        return frozenset(keys)
    if event_type == "m.room.power_levels":
        keys = {
            "ban",
            "events",
            "events_default",
            "kick",
            "redact",
            "state_default",
            "users",
            "users_default",
        }
        if version.updated_redaction_rules:  # v11: MSC3821
            keys.add("invite")
        return frozenset(keys)
    if event_type == "m.room.aliases" and version.special_case_aliases_auth:  # v1-v5
        return frozenset({"aliases"})
    if event_type == "m.room.history_visibility":
        return frozenset({"history_visibility"})
    if event_type == "m.room.redaction" and version.updated_redaction_rules:  # v11
        return frozenset({"redacts"})
    return frozenset()


def redact(event: Mapping[str, Any], version: RoomVersion) -> dict[str, Any]:
    """The redacted form of ``event`` under the rules of ``version``.

    Keeps the top-level keys and the content keys that the version's
    redaction algorithm names; everything else is removed. ``unsigned`` is
    dropped (Synapse keeps a few internal unsigned keys; they never take part
    in hashing or signing).
    """
    kept_top = _KEPT_TOP_LEVEL_V11 if version.updated_redaction_rules else _KEPT_TOP_LEVEL_V1
    return _redact(event, version, kept_top)


def _redact(
    event: Mapping[str, Any], version: RoomVersion, kept_top: frozenset[str]
) -> dict[str, Any]:
    """:func:`redact`, keeping the top-level keys ``kept_top``."""
    if type(event) is dict:
        # A copy less the few keys to drop: a third faster than picking the kept ones
        # (this runs for every event of a room file that leaves its IDs out).
        out = event.copy()
        for key in event.keys() - kept_top:
            del out[key]
    else:
        out = {k: v for k, v in event.items() if k in kept_top}
    event_type = event.get("type")
    if event_type == "m.room.create" and version.room_id_from_create_event:
        # v12 (MSC4291): the create event has no room_id; one a server added (Synapse
        # serves it) is not part of the event. Synapse's redaction drops it from every
        # m.room.create event, whatever its state_key; so do we.
        out.pop("room_id", None)
    content = event.get("content")
    if type(content) is not dict and not isinstance(content, Mapping):
        content = {}
    keep = (
        _kept_content_keys(event_type, version)
        if isinstance(event_type, str) and event_type in _TYPES_KEEPING_CONTENT
        else _NO_KEYS
    )
    if keep is None:
        new_content = dict(content)
    elif keep:
        new_content = {k: v for k, v in content.items() if k in keep}
    else:
        new_content = {}
    if event_type == "m.room.member" and version.updated_redaction_rules:
        invite = content.get("third_party_invite")
        if isinstance(invite, Mapping):
            # v11 (MSC3821): third_party_invite is no longer stripped but keeps only its
            # signed key; an object without one stays as {} (Synapse does the same).
            new_content["third_party_invite"] = (
                {"signed": invite["signed"]} if "signed" in invite else {}
            )
    out["content"] = new_content
    return out


# The spec removes unsigned, signatures and hashes before the content hash. Synapse
# (synapse.crypto.event_signing.compute_content_hash) also removes three top-level keys
# that old Synapse versions kept on events: age_ts, outlier and destinations. Events it
# hashed that way are still around in old rooms, so we remove them too.
_NOT_IN_CONTENT_HASH = frozenset(
    {"unsigned", "signatures", "hashes", "age_ts", "outlier", "destinations"}
)


def compute_content_hash(event: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical JSON of the event less unsigned, signatures and hashes.

    (And less the age_ts, outlier and destinations keys, as Synapse does.)
    """
    stripped = {k: v for k, v in event.items() if k not in _NOT_IN_CONTENT_HASH}
    return hashlib.sha256(canonical_json(stripped)).digest()


def reference_hash_input(event: Mapping[str, Any], version: RoomVersion) -> dict[str, Any]:
    """The redacted event less ``signatures``, ``age_ts`` and ``unsigned``.

    The one object behind both the reference hash (hence v3+ event IDs) and the
    ed25519 signatures: servers sign the redacted event with signatures and
    unsigned set aside, and hash the same thing. ``event`` must be the PDU as
    sent (:func:`app.core.events.as_sent`).
    https://spec.matrix.org/v1.16/server-server-api/#calculating-the-reference-hash-for-an-event,
    https://spec.matrix.org/v1.16/appendices/#signing-events
    """
    redacted = redact(event, version)
    for key in ("signatures", "age_ts", "unsigned"):
        redacted.pop(key, None)
    return redacted


def compute_reference_hash(
    event: Mapping[str, Any], version: RoomVersion, *, float_free: bool = False
) -> bytes:
    """SHA-256 of the canonical JSON of :func:`reference_hash_input`.

    ``float_free``: see :func:`canonical_json`.
    """
    return hashlib.sha256(
        canonical_json(reference_hash_input(event, version), float_free=float_free)
    ).digest()


# The top-level keys of the reference hash input of a PDU as served, in one pass:
# what redaction keeps, less what as_sent drops (unsigned; event_id where IDs are
# derived) and what reference_hash_input drops (signatures, age_ts, unsigned).
_HASHED_TOP_LEVEL_V1 = _KEPT_TOP_LEVEL_V1 - {"event_id", "signatures", "age_ts", "unsigned"}
_HASHED_TOP_LEVEL_V11 = _KEPT_TOP_LEVEL_V11 - {"event_id", "signatures", "age_ts", "unsigned"}


def compute_event_id(
    event: Mapping[str, Any], version: RoomVersion, *, float_free: bool = False
) -> str | None:
    """The event ID the room version derives from ``event``; None in v1/v2 (IDs are given).

    ``event`` may be the PDU as given or as served: what servers add (an ``event_id``,
    ``unsigned``) is left out first (:func:`as_sent`), since the ID is the hash of what
    the origin server sent, and a served ``event_id`` would otherwise be hashed too.
    ``float_free``: see :func:`canonical_json`.
    https://spec.matrix.org/v1.16/server-server-api/#calculating-the-reference-hash-for-an-event
    """
    return event_id_hasher(version, float_free=float_free)(event)


def event_id_hasher(
    version: RoomVersion, *, float_free: bool = False
) -> Callable[[Mapping[str, Any]], str | None]:
    """:func:`compute_event_id` for many events of one room version: what the version's
    rules decide is looked up once, not per event (loading a 100k-event room calls it
    for every event that leaves its ID out, and checks every one that gives it).
    Raises as :func:`compute_event_id` does, per event.
    """
    if version.event_id_format is EventIdFormat.GIVEN:
        return _no_event_id
    # reference_hash_input(as_sent(event)) in one pass (no copy of the whole event
    # first): the keys as_sent drops are not kept here, and the v12 create event's
    # room_id, which as_sent drops, redaction drops too.
    kept = _HASHED_TOP_LEVEL_V11 if version.updated_redaction_rules else _HASHED_TOP_LEVEL_V1
    urlsafe = version.event_id_format is not EventIdFormat.BASE64
    b2a, sha256, alphabet = binascii.b2a_base64, hashlib.sha256, _URLSAFE_ALPHABET

    def event_id(event: Mapping[str, Any]) -> str | None:
        hashed = canonical_json(_redact(event, version, kept), float_free=float_free)
        # event_id_from_reference_hash, inline
        encoded = b2a(sha256(hashed).digest(), newline=False).rstrip(b"=")
        if urlsafe:
            encoded = encoded.translate(alphabet)
        return "$" + encoded.decode("ascii")

    return event_id


def _no_event_id(event: Mapping[str, Any]) -> None:
    return None


def event_id_from_reference_hash(digest: bytes, version: RoomVersion) -> str | None:
    """``$`` + the reference hash in the version's base64 alphabet; None in v1/v2.

    v3: standard unpadded base64; v4+: URL-safe unpadded base64.
    """
    id_format = version.event_id_format
    if id_format is EventIdFormat.GIVEN:
        return None
    # unpadded_base64 / urlsafe_unpadded_base64 in one step (called per event on load).
    encoded = binascii.b2a_base64(digest, newline=False).rstrip(b"=")
    if id_format is not EventIdFormat.BASE64:
        encoded = encoded.translate(_URLSAFE_ALPHABET)
    return "$" + encoded.decode("ascii")


_URLSAFE_ALPHABET = bytes.maketrans(b"+/", b"-_")


def room_id_from_create_event_id(create_event_id: str) -> str:
    """v12 (MSC4291): the room ID is ``!`` followed by the create event's ID less its ``$``."""
    return "!" + create_event_id[1:]


def create_event_id_from_room_id(room_id: str) -> str | None:
    """v12 (MSC4291): the ID of the create event a room ID names (the inverse of
    :func:`room_id_from_create_event_id`); None for a room ID not starting with ``!``.

    https://spec.matrix.org/v1.16/rooms/v12/
    """
    return "$" + room_id[1:] if room_id.startswith("!") else None
