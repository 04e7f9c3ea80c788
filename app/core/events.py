"""The event model: PDUs of every room version.

A :class:`PDU` keeps the JSON object exactly as it was given (``raw``), so its
hashes and signatures stay checkable, and exposes the typed fields the rest of
roomscope works with. Parsing errors name the event and the field.

Spec: https://spec.matrix.org/v1.16/server-server-api/#pdus and the
"Event format" section of each room version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import RoomscopeError
from app.core.hashing import as_sent
from app.core.versions import RoomVersion

__all__ = ["PDU", "EventFormatError", "StateKey", "as_sent", "domain_of", "parse_pdu"]

#: (event type, state key): the address of a piece of room state.
StateKey = tuple[str, str]


def domain_of(identifier: str) -> str | None:
    """The server part of a user, room or (v1/v2) event ID: everything after the first
    ``:``; None when there is no ``:``.

    https://spec.matrix.org/v1.16/appendices/#common-identifier-format ("the domain
    of the homeserver which allocated the identifier", after the first colon).
    """
    _, sep, server = identifier.partition(":")
    return server if sep else None


class EventFormatError(RoomscopeError, ValueError):
    """A PDU that is not well formed; the message names the event and the field."""


@dataclass(frozen=True, slots=True, eq=False)
class PDU:
    """One event of a room, as a server would send it over federation.

    Equality is identity: two files may hold different events under one ID,
    and the graph reports that rather than silently merging them.
    """

    event_id: str
    room_version: RoomVersion
    #: The JSON object exactly as given (including ``unsigned`` and any injected
    #: ``event_id``); never mutated.
    raw: Mapping[str, Any] = field(repr=False)
    room_id: str | None
    sender: str
    type: str
    state_key: str | None
    content: Mapping[str, Any] = field(repr=False)
    prev_events: tuple[str, ...]
    auth_events: tuple[str, ...]
    depth: int
    origin_server_ts: int
    redacts: str | None = None
    #: True when ``event_id`` was computed from the reference hash rather than read.
    event_id_computed: bool = False
    #: Facts the authorization rules read on every check, worked out once here
    #: (not arguments): ``domain_of(sender)`` and ``domain_of(state_key)``.
    sender_domain: str | None = field(init=False, repr=False)
    state_key_domain: str | None = field(init=False, repr=False)
    #: :meth:`auth_event_ids`, kept once worked out. Unset until then: a loader
    #: pays nothing for it (neither ``__init__`` nor the parser's fast path sets it).
    auth_event_ids_memo: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _, sep, server = self.sender.partition(":")
        object.__setattr__(self, "sender_domain", server if sep else None)
        domain: str | None = None
        if self.state_key is not None:
            _, sep, server = self.state_key.partition(":")
            domain = server if sep else None
        object.__setattr__(self, "state_key_domain", domain)

    @property
    def is_state(self) -> bool:
        """State events have a ``state_key`` (possibly empty)."""
        return self.state_key is not None

    @property
    def state_tuple(self) -> StateKey | None:
        """``(type, state_key)`` for a state event, else None."""
        if self.state_key is None:
            return None
        return (self.type, self.state_key)

    @property
    def membership(self) -> str | None:
        """``content.membership`` of an m.room.member event, when a string."""
        value = self.content.get("membership")
        return value if isinstance(value, str) else None

    @property
    def server_name(self) -> str:
        """The server part of the sender (``@alice:example.org`` -> ``example.org``)."""
        return domain_of(self.sender) or ""

    def auth_event_ids(self) -> tuple[str, ...]:
        """The IDs of the events that authorise this one.

        Its ``auth_events``, and in room versions whose room ID names the create
        event (v12, MSC4291) that create event as well, implicitly, after the
        listed ones (Synapse 1.163's ``EventBase.auth_event_ids()`` appends it the
        same way). A property of the event, worked out on first use and kept in
        :attr:`auth_event_ids_memo` (state resolution reads it for every event it
        meets, in every resolution).
        https://spec.matrix.org/v1.16/rooms/v12/#authorization-rules
        """
        try:
            return self.auth_event_ids_memo
        except AttributeError:
            pass
        listed = self.auth_events
        room_id = self.room_id
        if (
            self.room_version.room_id_from_create_event
            and self.type != "m.room.create"
            and room_id is not None
            and room_id[:1] == "!"
        ):
            create_id = "$" + room_id[1:]
            if create_id not in listed:
                listed = (*listed, create_id)
        _set_auth_event_ids_memo(self, listed)
        return listed

    def as_sent(self) -> dict[str, Any]:
        """The PDU as the origin server hashed and signed it (see :func:`as_sent`)."""
        return as_sent(self.raw, self.room_version)


def _describe(obj: Mapping[str, Any], where: str | None) -> str:
    event_id = obj.get("event_id")
    if isinstance(event_id, str):
        return f"event {event_id}"
    return f"event {where}" if where else "event"


def _parse_plain(obj: dict[str, Any], version: RoomVersion, event_id: str | None) -> PDU | None:
    """:func:`parse_pdu` for the common case, or None to let it decide.

    A JSON object of exactly the expected types (str, int, dict, list: what a JSON
    parser makes) is wrapped without the general checks, which cost as much as the
    rest of loading a room. Anything else (a missing or mistyped field, subclasses,
    other mappings, v1/v2 ``[event_id, hashes]`` references) returns None, and the
    general path gives the same PDU or the same error as it always did.
    """
    get = obj.get
    etype = get("type")
    sender = get("sender")
    content = get("content")
    if type(etype) is not str or type(sender) is not str or type(content) is not dict:
        return None
    room_id = get("room_id")
    if type(room_id) is not str:
        if room_id is not None or "room_id" in obj:
            return None
        if not (version.room_id_from_create_event and etype == "m.room.create"):
            return None
    state_key = get("state_key")
    if type(state_key) is not str and (state_key is not None or "state_key" in obj):
        return None
    computed = "event_id" not in obj
    if event_id is None:
        event_id = get("event_id")
        if type(event_id) is not str:
            return None
    redacts: str | None = None
    if version.updated_redaction_rules:
        in_content = content.get("redacts")
        redacts = in_content if isinstance(in_content, str) else None
    else:
        redacts = get("redacts")
        if type(redacts) is not str and (redacts is not None or "redacts" in obj):
            return None
    if version.event_refs_with_hashes:
        return None
    prev_events = get("prev_events")
    auth_events = get("auth_events")
    if type(prev_events) is not list or type(auth_events) is not list:
        return None
    for ref in prev_events:
        if type(ref) is not str:
            return None
    for ref in auth_events:
        if type(ref) is not str:
            return None
    depth = get("depth")
    origin_server_ts = get("origin_server_ts")
    if type(depth) is not int or type(origin_server_ts) is not int:
        return None
    pdu = _new_pdu(PDU)
    _set_event_id(pdu, event_id)
    _set_room_version(pdu, version)
    _set_raw(pdu, obj)
    _set_room_id(pdu, room_id)
    _set_sender(pdu, sender)
    _set_type(pdu, etype)
    _set_state_key(pdu, state_key)
    _set_content(pdu, content)
    _set_prev_events(pdu, tuple(prev_events))
    _set_auth_events(pdu, tuple(auth_events))
    _set_depth(pdu, depth)
    _set_origin_server_ts(pdu, origin_server_ts)
    _set_redacts(pdu, redacts)
    _set_event_id_computed(pdu, computed)
    # __post_init__, inline
    _, sep, server = sender.partition(":")
    _set_sender_domain(pdu, server if sep else None)
    domain: str | None = None
    if state_key is not None:
        _, sep, server = state_key.partition(":")
        domain = server if sep else None
    _set_state_key_domain(pdu, domain)
    return pdu


# _parse_plain sets the fields of a PDU through their slots: the generated __init__ of
# a frozen dataclass sets each by name through object.__setattr__, about half of what
# it costs to read a PDU (tests/core/test_events.py checks that every field is set, and
# as PDU(...) would set it).
_new_pdu = object.__new__
_set_event_id = vars(PDU)["event_id"].__set__
_set_room_version = vars(PDU)["room_version"].__set__
_set_raw = vars(PDU)["raw"].__set__
_set_room_id = vars(PDU)["room_id"].__set__
_set_sender = vars(PDU)["sender"].__set__
_set_type = vars(PDU)["type"].__set__
_set_state_key = vars(PDU)["state_key"].__set__
_set_content = vars(PDU)["content"].__set__
_set_prev_events = vars(PDU)["prev_events"].__set__
_set_auth_events = vars(PDU)["auth_events"].__set__
_set_depth = vars(PDU)["depth"].__set__
_set_origin_server_ts = vars(PDU)["origin_server_ts"].__set__
_set_redacts = vars(PDU)["redacts"].__set__
_set_event_id_computed = vars(PDU)["event_id_computed"].__set__
_set_sender_domain = vars(PDU)["sender_domain"].__set__
_set_state_key_domain = vars(PDU)["state_key_domain"].__set__
_set_auth_event_ids_memo = vars(PDU)["auth_event_ids_memo"].__set__


def parse_pdu(
    obj: object,
    version: RoomVersion,
    *,
    where: str | None = None,
    event_id: str | None = None,
) -> PDU:
    """Check ``obj`` against the PDU format of ``version`` and wrap it.

    ``where`` names the event in errors when it has no ``event_id`` (for
    instance ``"line 12"``). ``event_id`` is used where the PDU carries none
    (v3+ rooms, the reference hash computed by the caller).

    Raises :class:`EventFormatError` naming the event and the field.
    """
    if type(obj) is dict:
        pdu = _parse_plain(obj, version, event_id)
        if pdu is not None:
            return pdu
    if not isinstance(obj, Mapping):
        raise EventFormatError(
            f"event {where or ''}: is a {type(obj).__name__}, not a JSON object".replace(
                "event : ", "event: "
            )
        )
    name = _describe(obj, where)

    def fail(msg: str) -> EventFormatError:
        return EventFormatError(f"{name}: {msg}")

    def req_str(key: str) -> str:
        if key not in obj:
            raise fail(f"{key} is missing")
        value = obj[key]
        if not isinstance(value, str):
            raise fail(f"{key} is not a string")
        return value

    def req_int(key: str) -> int:
        if key not in obj:
            raise fail(f"{key} is missing")
        value = obj[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise fail(f"{key} is not an integer")
        return value

    def refs(key: str) -> tuple[str, ...]:
        if key not in obj:
            raise fail(f"{key} is missing")
        value = obj[key]
        if not isinstance(value, list):
            raise fail(f"{key} is not a list")
        out: list[str] = []
        for i, item in enumerate(value):
            if version.event_refs_with_hashes:
                # v1/v2: [event_id, {"sha256": "..."}]
                if not (isinstance(item, list) and len(item) == 2):
                    raise fail(f"{key}[{i}] is not an [event_id, hashes] pair")
                ref, hashes = item
                if not isinstance(ref, str):
                    raise fail(f"{key}[{i}][0] is not a string")
                if not isinstance(hashes, Mapping):
                    raise fail(f"{key}[{i}][1] is not an object")
                out.append(ref)
            else:
                if not isinstance(item, str):
                    raise fail(f"{key}[{i}] is not a string")
                out.append(item)
        return tuple(out)

    etype = req_str("type")
    sender = req_str("sender")
    content = obj.get("content")
    if not isinstance(content, Mapping):
        raise fail("content is missing" if content is None else "content is not an object")

    room_id: str | None
    if "room_id" in obj:
        room_id = req_str("room_id")
    elif version.room_id_from_create_event and etype == "m.room.create":
        room_id = None
    else:
        raise fail("room_id is missing")

    state_key: str | None = None
    if "state_key" in obj:
        state_key = req_str("state_key")

    if event_id is None:
        if "event_id" in obj:
            event_id = req_str("event_id")
        else:
            raise fail(f"event_id is missing (room version {version.identifier} needs it)")
    computed = "event_id" not in obj

    # v1-v10: a top-level redacts; v11+ (MSC2174): content.redacts, and a top-level one
    # means nothing. Synapse's EventBase.redacts reads exactly these and ignores the other.
    redacts: str | None = None
    if version.updated_redaction_rules:
        in_content = content.get("redacts")
        redacts = in_content if isinstance(in_content, str) else None
    elif "redacts" in obj:
        redacts = req_str("redacts")

    return PDU(
        event_id=event_id,
        room_version=version,
        raw=obj,
        room_id=room_id,
        sender=sender,
        type=etype,
        state_key=state_key,
        content=content,
        prev_events=refs("prev_events"),
        auth_events=refs("auth_events"),
        depth=req_int("depth"),
        origin_server_ts=req_int("origin_server_ts"),
        redacts=redacts,
        event_id_computed=computed,
    )
