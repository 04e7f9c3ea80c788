"""Power levels: every number the authorization rules compare, computed in one place.

The rules speak of "the sender's power level", "the invite level", "the event
type's required power level" and, from room version 12, of room creators whose
power is infinite. This module turns the room's m.room.create and
m.room.power_levels events into those numbers, for the rules
(:mod:`app.core.auth`), state resolution (which sorts by power) and the window.

Values are read the way Synapse 1.163 reads them, because roomscope must agree
with it on every room: a level is whatever Python's ``int()`` makes of the JSON
value (so ``"50"`` is 50 in rooms before v10, and ``50.9`` would be 50); an
explicit ``null`` means "use the default" except for ``state_default`` and
``events_default``; a value ``int()`` cannot read makes Synapse fail the check,
which here raises :class:`UnreadablePowerLevels` and the rules reject the event.

Spec: https://spec.matrix.org/v1.16/client-server-api/#mroompower_levels,
https://spec.matrix.org/v1.16/rooms/v12/#authorization-rules (room creators),
https://spec.matrix.org/v1.16/rooms/v1/#authorization-rules (defaults).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from app.core.auth_result import show_value as _show
from app.core.events import PDU, StateKey

__all__ = [
    "CREATOR_POWER_LEVEL",
    "NAMED_LEVEL_DEFAULTS",
    "UnreadablePowerLevels",
    "format_level",
    "get_named_level",
    "get_power_level",
    "get_send_level",
    "is_creator",
    "power_levels_event",
    "read_level",
    "room_creators",
]

#: The state keys the rules read of every room, one object each for the whole
#: program (the auth rules, the auth types and state resolution): a dict lookup of
#: the very key stored ends at the identity test, where an equal tuple compares its
#: strings.
CREATE_KEY: StateKey = ("m.room.create", "")
POWER_LEVELS_KEY: StateKey = ("m.room.power_levels", "")
JOIN_RULES_KEY: StateKey = ("m.room.join_rules", "")

#: The power of a room creator in room version 12: "infinitely high" in the spec.
#: 2**53 is above every integer canonical JSON may carry (v6+ allow at most
#: 2**53 - 1), so no power level can reach it; Synapse uses the same number.
CREATOR_POWER_LEVEL = 2**53

#: The spec's defaults for the named levels when the power levels event lacks them.
NAMED_LEVEL_DEFAULTS: Mapping[str, int] = {
    "ban": 50,
    "kick": 50,
    "redact": 50,
    "invite": 0,
    "state_default": 50,
    "events_default": 0,
    "users_default": 0,
}


class UnreadablePowerLevels(ValueError):
    """A power level value that cannot be read as a number (Synapse fails on it too)."""


def read_level(value: object) -> int:
    """A JSON power level value as an integer, the way Synapse reads it (``int()``).

    Integers, booleans, finite floats (truncated) and strings Python's ``int()``
    accepts are read; anything else raises :class:`UnreadablePowerLevels`.
    """
    if type(value) is int:
        return value
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return int(value)
    elif isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise UnreadablePowerLevels(f"power level {_show(value)} is not an integer")


def format_level(level: int) -> str:
    """A power level for a sentence; a v12 creator's power reads "infinite"."""
    return "infinite" if level >= CREATOR_POWER_LEVEL else str(level)


def power_levels_event(auth_state: Mapping[StateKey, PDU]) -> PDU | None:
    """The room's m.room.power_levels event (state key ``""``), if any."""
    return auth_state.get(POWER_LEVELS_KEY)


def room_creators(create_event: PDU) -> frozenset[str]:
    """The room's creators, as the room version defines them.

    v1-v10: ``content.creator`` of the create event (when a string).
    v11: the create event's ``sender`` (MSC2175).
    v12 (MSC4289): the ``sender`` plus every string in ``content.additional_creators``.
    """
    version = create_event.room_version
    if not version.implicit_room_creator:
        creator = create_event.content.get("creator")
        return frozenset((creator,)) if isinstance(creator, str) else frozenset()
    out = {create_event.sender}
    if version.privileged_creators:
        extra = create_event.content.get("additional_creators")
        if isinstance(extra, list):
            out.update(x for x in extra if isinstance(x, str))
    return frozenset(out)


def is_creator(create_event: PDU | None, user_id: str) -> bool:
    """True when ``user_id`` is one of the room's creators (see :func:`room_creators`).

    Asked on every power lookup in v12 rooms, so it tests the create event's fields
    directly rather than building the set of creators.
    """
    if create_event is None:
        return False
    version = create_event.room_version
    if not version.implicit_room_creator:
        creator = create_event.content.get("creator")
        return isinstance(creator, str) and creator == user_id
    if create_event.sender == user_id:
        return True
    if not version.privileged_creators:
        return False
    extra = create_event.content.get("additional_creators")
    # A non-string entry never equals a user ID, as room_creators leaves it out.
    return isinstance(extra, list) and user_id in extra


def get_power_level(
    user_id: str,
    auth_state: Mapping[StateKey, PDU],
    create_event: PDU | None = None,
) -> int:
    """The power level of ``user_id`` in the state ``auth_state``.

    v12: a creator's power is :data:`CREATOR_POWER_LEVEL`, whatever the power
    levels say. Otherwise ``users[user_id]``, else ``users_default``, else 0.
    With no power levels event the creator has 100 and everyone else 0.
    ``create_event`` defaults to the create event in ``auth_state``.

    Raises :class:`UnreadablePowerLevels` for values Synapse cannot read.
    """
    create = create_event if create_event is not None else auth_state.get(CREATE_KEY)
    if (
        create is not None
        and create.room_version.privileged_creators
        and is_creator(create, user_id)
    ):
        return CREATOR_POWER_LEVEL
    pl = auth_state.get(POWER_LEVELS_KEY)
    if pl is None:
        if create is None:
            return 0
        if not create.room_version.implicit_room_creator and not isinstance(
            create.content.get("creator"), str
        ):
            # Synapse reads content["creator"] here and fails when it is absent.
            raise UnreadablePowerLevels("the create event has no creator")
        return 100 if is_creator(create, user_id) else 0
    users = pl.content.get("users", {})
    if type(users) is not dict and not isinstance(users, Mapping):
        raise UnreadablePowerLevels(f"users in the power levels is {_show(users)}, not an object")
    level = users.get(user_id)
    if level is None:
        level = pl.content.get("users_default", 0)
    if level is None:
        return 0
    return read_level(level)


def get_named_level(
    name: str, auth_state: Mapping[StateKey, PDU], default: int | None = None
) -> int:
    """The level named ``name`` (``ban``, ``kick``, ``redact``, ``invite``...).

    ``default`` defaults to the spec's (see :data:`NAMED_LEVEL_DEFAULTS`); an
    absent or ``null`` value means the default. Raises
    :class:`UnreadablePowerLevels` for values Synapse cannot read.
    """
    if default is None:
        default = NAMED_LEVEL_DEFAULTS.get(name, 0)
    pl = auth_state.get(POWER_LEVELS_KEY)
    if pl is None:
        return default
    value = pl.content.get(name)
    return default if value is None else read_level(value)


def get_send_level(event_type: str, state_key: str | None, power_levels: PDU | None) -> int:
    """The event type's *required power level*.

    ``events[event_type]`` if present, else ``state_default`` (50) for state
    events and ``events_default`` (0) for the rest. Synapse treats an explicit
    ``null`` in ``events`` as absent but fails on a ``null`` default, and so
    does this (:class:`UnreadablePowerLevels`).
    """
    content: Mapping[str, Any] = power_levels.content if power_levels is not None else {}
    events = content.get("events", {})
    if type(events) is not dict and not isinstance(events, Mapping):
        raise UnreadablePowerLevels(f"events in the power levels is {_show(events)}, not an object")
    level = events.get(event_type)
    if level is None:
        name = "state_default" if state_key is not None else "events_default"
        level = content.get(name, NAMED_LEVEL_DEFAULTS[name])
    return read_level(level)
