"""The authorization rules of room versions 1 to 12.

This module answers "may this event be in the room?" the way the spec's
"Authorization rules" section of each room version does, and says *why* when
the answer is no: every rejection names the rule by its number in that room
version's list (the numbering moves between versions; see :func:`rule_numbers`)
and carries a sentence a person can read.

This module is the one to import. It holds the auth events selection
(:func:`auth_types_for_event`) and the rules that depend only on the event and
its own auth events (:func:`check_auth_events`); the state-dependent rules
(:func:`check_auth`) live in :mod:`app.core.auth_rules`, the verdict type and
the numbering in :mod:`app.core.auth_result`, the power maths in
:mod:`app.core.auth_power`; all are re-exported here.

Spec: https://spec.matrix.org/v1.16/rooms/ (the "Authorization rules" section of
each version page) and https://spec.matrix.org/v1.16/server-server-api/#auth-events-selection.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Container, Mapping, Sequence

from app.core.auth_power import (
    CREATE_KEY,
    JOIN_RULES_KEY,
    POWER_LEVELS_KEY,
    get_named_level,
    get_power_level,
    is_creator,
    room_creators,
)
from app.core.auth_result import (
    ALLOWED,
    AUTHORISING_USER,
    CREATE,
    MEMBER,
    THIRD_PARTY_INVITE,
    AuthResult,
    RuleNumbers,
    domain_of,
    rule_numbers,
    show_value,
)
from app.core.auth_rules import check_auth
from app.core.events import PDU, StateKey
from app.core.hashing import room_id_from_create_event_id
from app.core.versions import KNOWN_ROOM_VERSIONS, RoomVersion

__all__ = [
    "ALLOWED",
    "AuthResult",
    "RuleNumbers",
    "SignatureVerifier",
    "auth_types_for_event",
    "check_auth",
    "check_auth_events",
    "get_named_level",
    "get_power_level",
    "is_creator",
    "room_creators",
    "rule_numbers",
    "synapse_auth_types",
]


#: ``(event, server_name) -> bool``: is ``event`` validly signed by ``server_name``?
SignatureVerifier = Callable[[PDU, str], bool]


def auth_types_for_event(version: RoomVersion, event: PDU) -> frozenset[StateKey]:
    """The (type, state_key) pairs an event's ``auth_events`` may be drawn from.

    The spec's "auth events selection"
    (https://spec.matrix.org/v1.16/server-server-api/#auth-events-selection):
    the create event (before v12), the current power levels, the sender's
    membership and, for m.room.member events, the target's membership, the
    join rules (for join, invite and knock), the m.room.third_party_invite named
    by ``content.third_party_invite.signed.token`` (invites) and, where the room
    version has restricted joins (v8+), the membership of
    ``content.join_authorised_via_users_server`` (joins).

    v12 (MSC4291): the create event is *not* selected; the room ID names it.
    Synapse 1.163's ``auth_types_for_event`` still returns the create key in
    v12 because its events add the create event to ``auth_event_ids()``
    implicitly; apart from that key the answers are the same.

    The m.room.create event itself has no auth events. Malformed content (a
    non-string token or authorising user) selects nothing for that item, where
    Synapse would raise.
    """
    etype = event.type
    with_create = not version.room_id_from_create_event
    if etype != MEMBER:
        if etype == CREATE:
            return _NO_TYPES
        # The common case, in one call.
        if with_create:
            return frozenset((POWER_LEVELS_KEY, CREATE_KEY, (MEMBER, event.sender)))
        return frozenset((POWER_LEVELS_KEY, (MEMBER, event.sender)))
    content: Mapping[str, object] = event.content
    membership = content.get("membership")
    state_key = event.state_key
    if state_key is not None and (membership == "leave" or membership == "ban"):
        # The most common membership changes, in one call.
        if with_create:
            return frozenset(
                (POWER_LEVELS_KEY, CREATE_KEY, (MEMBER, event.sender), (MEMBER, state_key))
            )
        return frozenset((POWER_LEVELS_KEY, (MEMBER, event.sender), (MEMBER, state_key)))
    types: list[StateKey] = [POWER_LEVELS_KEY, (MEMBER, event.sender)]
    if with_create:
        types.append(CREATE_KEY)
    if membership == "join" or membership == "invite" or membership == "knock":
        types.append(JOIN_RULES_KEY)
    if state_key is not None:
        types.append((MEMBER, state_key))
    if membership == "invite":
        token = _third_party_invite_token(content)
        if token is not None:
            types.append((THIRD_PARTY_INVITE, token))
    if version.restricted_join_rule and membership == "join":
        authoriser = content.get(AUTHORISING_USER)
        if isinstance(authoriser, str):
            types.append((MEMBER, authoriser))
    return frozenset(types)


_NO_TYPES: frozenset[StateKey] = frozenset()


def synapse_auth_types(version: RoomVersion, event: PDU) -> tuple[StateKey, ...]:
    """:func:`auth_types_for_event` as Synapse 1.163 answers it, which state
    resolution must agree with: the create key is there in v12 too (its events add
    the create event to ``auth_event_ids()`` implicitly).

    A tuple, made without a set for the commonest events (every type but
    m.room.create; leaves, bans, knocks, invites without a third-party invite and
    joins naming no authorising user): the iterative auth checks ask for every
    event they check. A key may repeat (a user leaving is sender and target);
    readers write each key independently.
    """
    etype = event.type
    if etype != MEMBER:
        if etype == CREATE:
            return ()
        return (POWER_LEVELS_KEY, CREATE_KEY, (MEMBER, event.sender))
    state_key = event.state_key
    if state_key is not None:
        content = event.content
        membership = content.get("membership")
        if membership == "leave" or membership == "ban":
            return (POWER_LEVELS_KEY, CREATE_KEY, (MEMBER, event.sender), (MEMBER, state_key))
        if (
            membership == "knock"
            or (membership == "invite" and "third_party_invite" not in content)
            or (
                membership == "join"
                and not (version.restricted_join_rule and AUTHORISING_USER in content)
            )
        ):
            return (
                POWER_LEVELS_KEY,
                CREATE_KEY,
                (MEMBER, event.sender),
                JOIN_RULES_KEY,
                (MEMBER, state_key),
            )
    types = auth_types_for_event(version, event)
    if CREATE_KEY in types:
        return tuple(types)
    return (*types, CREATE_KEY)


def _third_party_invite_token(content: Mapping[str, object]) -> str | None:
    """``content.third_party_invite.signed.token`` when it is a string, else None."""
    tpi = content.get("third_party_invite")
    if not isinstance(tpi, Mapping):
        return None
    signed = tpi.get("signed")
    if not isinstance(signed, Mapping):
        return None
    token = signed.get("token")
    return token if isinstance(token, str) else None


# ---------------------------------------------------------------------------
# Identifiers


_HOST_RE = re.compile(r"\A[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*\Z")


def _valid_server_name(name: str) -> bool:
    """The server name grammar (https://spec.matrix.org/v1.16/appendices/#server-name).

    Hostnames are checked as Synapse checks them: dot-separated labels of
    letters, digits and hyphens, or a bracketed IPv6 literal, with an optional
    numeric port.
    """
    if name.endswith("]"):
        host = name
    else:
        host, sep, port = name.rpartition(":")
        if not sep:
            host = port
        elif not (port.isascii() and port.isdigit()):
            return False
    if host.startswith("["):
        if not host.endswith("]"):
            return False
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    return bool(_HOST_RE.match(host))


def _valid_user_id(user_id: object) -> bool:
    """``@localpart:server`` with a valid server name, at most 255 bytes (v12 creators)."""
    if not isinstance(user_id, str) or len(user_id.encode("utf-8")) > 255:
        return False
    if not user_id.startswith("@"):
        return False
    server = domain_of(user_id)
    return server is not None and _valid_server_name(server)


# ---------------------------------------------------------------------------
# The state-independent checks: rule 1 (m.room.create), v12 rule 2 and the
# checks on the event's own auth events.


def check_auth_events(
    event: PDU,
    auth_events: Sequence[PDU],
    *,
    rejected: Container[str] = (),
    create_event: PDU | None = None,
    verify_signature: SignatureVerifier | None = None,
) -> AuthResult:
    """The rules that depend on the event and its own ``auth_events`` only.

    The equivalent of Synapse's ``check_state_independent_auth_rules`` plus
    the part of its ``validate_event_for_room_version`` that is an auth rule:

    * rule 1: the m.room.create event's own checks (for create events this
      is the whole verdict);
    * v12 rule 2: ``room_id`` must name an accepted create event. Pass that
      event as ``create_event`` (it is not in ``auth_events`` in v12); without
      it rule 2 is left to :func:`check_auth`;
    * rule 2 (v12: 3): each auth event must be in the same room, under a
      distinct (type, state_key), of a type the auth events selection allows
      (:func:`auth_types_for_event`), not itself rejected (IDs in
      ``rejected``), and (before v12) one of them the create event;
    * v8+ rule 4.2 (v12: 5.2): a join naming ``join_authorised_via_users_server``
      must be signed by that user's server. ``verify_signature(event, server)``
      decides; without it, as Synapse does at this point (it has checked the
      signatures' validity on receipt), the presence of a signature from that
      server counts.

    ``auth_events`` are the PDUs of ``event.auth_events`` the caller has. An ID
    listed by the event but absent from ``auth_events`` is *missing*, and the
    event is rejected under rule 2 with a reason saying so: Synapse does not
    accept an event whose auth events it cannot find (it drops it rather than
    storing it as rejected; for roomscope both mean "not in the room").

    Signatures by the sender's server are not checked here: that is
    ``roomscope verify``'s job (app.core.verify).
    """
    version = event.room_version
    n = rule_numbers(version)
    if event.type == CREATE and event.state_key == "":
        return _check_create(event)

    ae = n.auth_events
    by_id = {pdu.event_id: pdu for pdu in auth_events}
    listed: list[PDU] = []
    for event_id in event.auth_events:
        pdu = by_id.get(event_id)
        if pdu is None:
            return AuthResult.reject(
                f"{ae}",
                "auth events: missing",
                f"auth event {event_id} is not available, so the event cannot be authorised",
            )
        listed.append(pdu)

    if version.room_id_from_create_event and create_event is not None:
        # 2. (v12) If the event's room_id is not an event ID for an accepted
        # (not rejected) m.room.create event, with the sigil ! instead of $, reject.
        expected_room = room_id_from_create_event_id(create_event.event_id)
        if event.room_id != expected_room or create_event.type != CREATE:
            return AuthResult.reject(
                f"{n.room_id}",
                "room ID names the create event",
                f"room_id {event.room_id} is not the ID of the create event "
                f"{create_event.event_id} with ! for $",
            )
        if create_event.event_id in rejected:
            return AuthResult.reject(
                f"{n.room_id}",
                "room ID names the create event",
                f"the create event {create_event.event_id} named by room_id was rejected",
            )

    expected = auth_types_for_event(version, event)
    seen: dict[StateKey, str] = {}
    for pdu in listed:
        # 2.5. (v3+; Synapse checks it in every version) If any event in
        # auth_events has a room_id which does not match that of the event being
        # authorised, reject.
        if pdu.room_id != event.room_id and not (
            version.room_id_from_create_event and pdu.type == CREATE
        ):
            return AuthResult.reject(
                f"{ae}.5",
                "auth events: same room",
                f"auth event {pdu.event_id} is in room {pdu.room_id}, not {event.room_id}",
            )
        key = pdu.state_tuple
        # 2.1. If there are duplicate entries for a given type and state_key pair, reject.
        if key is not None and key in seen:
            return AuthResult.reject(
                f"{ae}.1",
                "auth events: duplicates",
                f"auth events {seen[key]} and {pdu.event_id} are both "
                f"({key[0]}, {show_value(key[1])})",
            )
        # 2.2. If there are entries whose type and state_key don't match those
        # specified by the auth events selection algorithm, reject.
        # (v12: m.room.create MUST NOT be selected.)
        if key is None or key not in expected:
            what = f"({key[0]}, {show_value(key[1])})" if key else f"a non-state {pdu.type} event"
            return AuthResult.reject(
                f"{ae}.2",
                "auth events: selection",
                f"auth event {pdu.event_id} is {what}, which the auth events selection "
                f"does not choose for this event",
            )
        # 2.3. If there are entries which were themselves rejected under the
        # checks performed on receipt of a PDU, reject.
        if pdu.event_id in rejected:
            return AuthResult.reject(
                f"{ae}.3",
                "auth events: not rejected",
                f"auth event {pdu.event_id} ({key[0]}, {show_value(key[1])}) was itself rejected",
            )
        seen[key] = pdu.event_id
    # 2.4. (v1-v11) If there is no m.room.create event among the entries, reject.
    if not version.room_id_from_create_event and (CREATE, "") not in seen:
        return AuthResult.reject(
            f"{ae}.4",
            "auth events: create event",
            "there is no m.room.create event among the auth events",
        )

    # 4.2. (v8+) If content has a join_authorised_via_users_server key: if the
    # event is not validly signed by the homeserver of the user ID denoted by
    # the key, reject. Synapse applies this to joins only
    # (validate_event_for_room_version), and so does roomscope.
    if (
        version.restricted_join_rule
        and event.type == MEMBER
        and event.content.get("membership") == "join"
        and AUTHORISING_USER in event.content
    ):
        rule = f"{n.member}.{n.member_signature}"
        authoriser = event.content[AUTHORISING_USER]
        server = domain_of(authoriser) if isinstance(authoriser, str) else None
        if server is None:
            return AuthResult.reject(
                rule,
                "authorising server signature",
                f"{AUTHORISING_USER} is {show_value(authoriser)}, not a user ID",
            )
        if verify_signature is not None:
            signed = verify_signature(event, server)
        else:
            signatures = event.raw.get("signatures")
            signed = isinstance(signatures, Mapping) and server in signatures
        if not signed:
            return AuthResult.reject(
                rule,
                "authorising server signature",
                f"the join is not signed by {server}, the server of the authorising user "
                f"{authoriser}",
            )
    return AuthResult.ok(f"{ae}", "auth events", f"the event's auth events pass rule {ae}")


def _check_create(event: PDU) -> AuthResult:
    """Rule 1: an m.room.create event, on its own."""
    version = event.room_version
    # 1.1. If it has any prev_events, reject.
    if event.prev_events:
        return AuthResult.reject(
            "1.1",
            "create: no prev_events",
            f"the create event has {len(event.prev_events)} prev_events",
        )
    if version.room_id_from_create_event:
        # 1.2. (v12) If the event has a room_id, reject. A room_id equal to the
        # one derived from the event's ID was added by the serving homeserver
        # (Synapse does so); it cannot have been hashed, so it is not the event's.
        if event.room_id is not None and event.room_id != room_id_from_create_event_id(
            event.event_id
        ):
            return AuthResult.reject(
                "1.2", "create: no room_id", f"the create event has a room_id ({event.room_id})"
            )
    else:
        # 1.2. (v1-v11) If the domain of the room_id does not match the domain
        # of the sender, reject.
        room_domain = domain_of(event.room_id or "")
        sender_domain = domain_of(event.sender)
        if room_domain is None or sender_domain is None or room_domain != sender_domain:
            return AuthResult.reject(
                "1.2",
                "create: room_id domain",
                f"room_id {event.room_id} is not on the sender's server ({event.sender})",
            )
    # 1.3. If content.room_version is present and is not a recognised version, reject.
    room_version = event.content.get("room_version", "1")
    if not isinstance(room_version, str) or room_version not in KNOWN_ROOM_VERSIONS:
        return AuthResult.reject(
            "1.3",
            "create: room_version",
            f"room_version {show_value(room_version)} is not a known version",
        )
    if not version.implicit_room_creator:
        # 1.4. (v1-v10) If content has no creator property, reject.
        if "creator" not in event.content:
            return AuthResult.reject("1.4", "create: creator", "the create event has no creator")
        return AuthResult.ok("1.5", "create", "a create event with no prev_events")
    if version.privileged_creators and "additional_creators" in event.content:
        # 1.4. (v12) If additional_creators is present in content and is not an
        # array of strings where each string passes the same user ID validation
        # applied to sender, reject.
        extra = event.content["additional_creators"]
        if not isinstance(extra, list):
            return AuthResult.reject(
                "1.4",
                "create: additional_creators",
                f"additional_creators is {show_value(extra)}, not an array",
            )
        for item in extra:
            if not _valid_user_id(item):
                return AuthResult.reject(
                    "1.4",
                    "create: additional_creators",
                    f"additional_creators entry {show_value(item)} is not a valid user ID",
                )
        return AuthResult.ok("1.5", "create", "a create event with valid additional_creators")
    # 1.4. (v11) / 1.5. (v12) Otherwise, allow.
    return AuthResult.ok(
        "1.5" if version.privileged_creators else "1.4", "create", "a create event"
    )
