"""Room versions as data.

Every property in which room versions differ is a field of :class:`RoomVersion`;
each version is written as a change from the one before it, so the list below
reads like the spec's changelog.

Spec: https://spec.matrix.org/v1.16/rooms/ (one page per version), and
MSC4289, MSC4291, MSC4297 for room version 12.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from app.core.errors import RoomscopeError

__all__ = [
    "KNOWN_ROOM_VERSIONS",
    "EventIdFormat",
    "RoomVersion",
    "StateResAlgorithm",
    "UnknownRoomVersionError",
    "room_version",
]


class EventIdFormat(enum.Enum):
    """How an event's ID is obtained."""

    #: v1, v2: chosen by the sending server, ``$localpart:server``, carried in the PDU.
    GIVEN = "given"
    #: v3: ``$`` + reference hash, standard unpadded base64.
    BASE64 = "base64"
    #: v4+: ``$`` + reference hash, URL-safe unpadded base64.
    URLSAFE_BASE64 = "urlsafe_base64"


class StateResAlgorithm(enum.Enum):
    """The state resolution algorithm family."""

    V1 = "v1"
    V2 = "v2"


class UnknownRoomVersionError(RoomscopeError, ValueError):
    """A room version that roomscope does not know."""


@dataclass(frozen=True, slots=True)
class RoomVersion:
    """The properties that distinguish one room version from another."""

    identifier: str
    event_id_format: EventIdFormat
    #: v1/v2 PDUs carry ``event_id`` and list ``prev_events``/``auth_events`` as
    #: ``[event_id, {"sha256": ...}]`` pairs; v3+ list bare event IDs.
    event_refs_with_hashes: bool
    state_res: StateResAlgorithm
    #: v2.1 (MSC4297): iterative auth checks start from an empty state map
    #: instead of the unconflicted state map.
    state_res_begin_empty: bool
    #: v2.1 (MSC4297): the full conflicted set includes the conflicted state subgraph.
    state_res_conflicted_subgraph: bool
    #: v5: signing keys must be valid at origin_server_ts (a federation matter;
    #: recorded for completeness, roomscope verifies with the keys it is given).
    enforce_key_validity: bool
    #: v1-v5: m.room.aliases has its own auth rule.
    special_case_aliases_auth: bool
    #: v6+: reject floats and out-of-range integers in canonical JSON.
    strict_canonical_json: bool
    #: v6+: ``notifications`` in power levels is checked on change.
    limit_notifications_power_levels: bool
    #: v7+: the ``knock`` join rule and membership.
    knock_join_rule: bool
    #: v8+: the ``restricted`` join rule.
    restricted_join_rule: bool
    #: v9+: redaction keeps ``join_authorised_via_users_server`` in m.room.member.
    restricted_join_rule_fix: bool
    #: v10+: the ``knock_restricted`` join rule.
    knock_restricted_join_rule: bool
    #: v10+: power level values must be integers (not strings).
    enforce_int_power_levels: bool
    #: v11+: the room creator is the create event's sender; ``creator`` is gone.
    implicit_room_creator: bool
    #: v11+: the redaction algorithm of MSC2176/MSC3821/MSC3989.
    updated_redaction_rules: bool
    #: v12 (MSC4289): creators (sender + ``additional_creators``) have infinite
    #: power and may not appear in the power levels' ``users``.
    privileged_creators: bool
    #: v12 (MSC4291): the room ID is derived from the create event's ID; the
    #: create event is not listed in ``auth_events`` and has no ``room_id``.
    room_id_from_create_event: bool

    @property
    def state_res_name(self) -> str:
        """ "v1", "v2" or "v2.1": the name of the algorithm, as people say it."""
        if self.state_res is StateResAlgorithm.V1:
            return "v1"
        if self.state_res_begin_empty or self.state_res_conflicted_subgraph:
            return "v2.1"
        return "v2"

    @property
    def event_ids_derived(self) -> bool:
        """True where event IDs are the reference hash (v3+)."""
        return self.event_id_format is not EventIdFormat.GIVEN


V1 = RoomVersion(
    identifier="1",
    event_id_format=EventIdFormat.GIVEN,
    event_refs_with_hashes=True,
    state_res=StateResAlgorithm.V1,
    state_res_begin_empty=False,
    state_res_conflicted_subgraph=False,
    enforce_key_validity=False,
    special_case_aliases_auth=True,
    strict_canonical_json=False,
    limit_notifications_power_levels=False,
    knock_join_rule=False,
    restricted_join_rule=False,
    restricted_join_rule_fix=False,
    knock_restricted_join_rule=False,
    enforce_int_power_levels=False,
    implicit_room_creator=False,
    updated_redaction_rules=False,
    privileged_creators=False,
    room_id_from_create_event=False,
)
V2 = replace(V1, identifier="2", state_res=StateResAlgorithm.V2)
V3 = replace(V2, identifier="3", event_id_format=EventIdFormat.BASE64, event_refs_with_hashes=False)
V4 = replace(V3, identifier="4", event_id_format=EventIdFormat.URLSAFE_BASE64)
V5 = replace(V4, identifier="5", enforce_key_validity=True)
V6 = replace(
    V5,
    identifier="6",
    special_case_aliases_auth=False,
    strict_canonical_json=True,
    limit_notifications_power_levels=True,
)
V7 = replace(V6, identifier="7", knock_join_rule=True)
V8 = replace(V7, identifier="8", restricted_join_rule=True)
V9 = replace(V8, identifier="9", restricted_join_rule_fix=True)
V10 = replace(V9, identifier="10", knock_restricted_join_rule=True, enforce_int_power_levels=True)
V11 = replace(V10, identifier="11", implicit_room_creator=True, updated_redaction_rules=True)
V12 = replace(
    V11,
    identifier="12",
    state_res_begin_empty=True,
    state_res_conflicted_subgraph=True,
    privileged_creators=True,
    room_id_from_create_event=True,
)

KNOWN_ROOM_VERSIONS: Mapping[str, RoomVersion] = MappingProxyType(
    {v.identifier: v for v in (V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12)}
)


def room_version(identifier: object) -> RoomVersion:
    """The room version called ``identifier``; :class:`UnknownRoomVersionError` if none."""
    if isinstance(identifier, str):
        found = KNOWN_ROOM_VERSIONS.get(identifier)
        if found is not None:
            return found
    known = ", ".join(KNOWN_ROOM_VERSIONS)
    raise UnknownRoomVersionError(f"unknown room version {identifier!r} (roomscope knows {known})")
