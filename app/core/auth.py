"""The authorization rules of room versions 1 to 12.

This module answers "may this event be in the room?" the way the spec's
"Authorization rules" section of each room version does, and says *why* when
the answer is no: every rejection names the rule by its number in that room
version's list (the numbering moves between versions; see :func:`rule_number`)
and carries a sentence a person can read.

Spec: https://spec.matrix.org/v1.16/rooms/ (the "Authorization rules" section of
each version page) and https://spec.matrix.org/v1.16/server-server-api/#auth-events-selection.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.core.events import PDU, StateKey
from app.core.versions import RoomVersion

__all__ = ["auth_types_for_event"]

CREATE = "m.room.create"
MEMBER = "m.room.member"
POWER_LEVELS = "m.room.power_levels"
JOIN_RULES = "m.room.join_rules"
THIRD_PARTY_INVITE = "m.room.third_party_invite"

#: The content key of a restricted join naming the user who authorised it (v8+).
AUTHORISING_USER = "join_authorised_via_users_server"


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
    if event.type == CREATE:
        return frozenset()
    types: set[StateKey] = {(POWER_LEVELS, ""), (MEMBER, event.sender)}
    if not version.room_id_from_create_event:
        types.add((CREATE, ""))
    if event.type == MEMBER:
        content: Mapping[str, object] = event.content
        membership = content.get("membership")
        if membership in ("join", "invite", "knock"):
            types.add((JOIN_RULES, ""))
        if event.state_key is not None:
            types.add((MEMBER, event.state_key))
        if membership == "invite":
            token = _third_party_invite_token(content)
            if token is not None:
                types.add((THIRD_PARTY_INVITE, token))
        if version.restricted_join_rule and membership == "join":
            authoriser = content.get(AUTHORISING_USER)
            if isinstance(authoriser, str):
                types.add((MEMBER, authoriser))
    return frozenset(types)


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
