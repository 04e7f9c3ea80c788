"""auth_types_for_event against the spec's auth events selection.

https://spec.matrix.org/v1.16/server-server-api/#auth-events-selection: the create
event (not in v12), the power levels, the sender's membership; for m.room.member
also the target's membership, the join rules for join/invite/knock, the
third-party invite named by the token (invites), and, where restricted rooms
exist (v8+), the authorising user's membership (joins).
"""

from __future__ import annotations

from typing import Any

import pytest

from app.core.auth import auth_types_for_event
from app.core.builder import build_event
from app.core.versions import KNOWN_ROOM_VERSIONS

ALL = tuple(KNOWN_ROOM_VERSIONS)
CREATE = ("m.room.create", "")
PL = ("m.room.power_levels", "")
JR = ("m.room.join_rules", "")


def _event(version: str, type: str, content: dict[str, Any], state_key: str | None = None) -> Any:
    v = KNOWN_ROOM_VERSIONS[version]
    return build_event(
        v,
        type=type,
        sender="@alice:a",
        content=content,
        state_key=state_key,
        room_id="!room:a" if not v.room_id_from_create_event else "!abc",
        prev_events=("$p",),
    )


def _base(version: str) -> set[tuple[str, str]]:
    keys = {PL, ("m.room.member", "@alice:a")}
    if not KNOWN_ROOM_VERSIONS[version].room_id_from_create_event:
        keys.add(CREATE)
    return keys


@pytest.mark.parametrize("version", ALL)
def test_selection_for_a_message_is_create_power_levels_sender(version: str) -> None:
    types = auth_types_for_event(
        KNOWN_ROOM_VERSIONS[version], _event(version, "m.room.message", {})
    )
    assert types == _base(version)


@pytest.mark.parametrize("version", ALL)
def test_create_event_has_no_auth_events(version: str) -> None:
    v = KNOWN_ROOM_VERSIONS[version]
    create = build_event(
        v,
        type="m.room.create",
        sender="@alice:a",
        content={"room_version": version},
        state_key="",
        room_id=None if v.room_id_from_create_event else "!room:a",
    )
    assert auth_types_for_event(v, create) == frozenset()


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("membership", ["join", "invite", "knock", "leave", "ban"])
def test_selection_for_memberships(version: str, membership: str) -> None:
    ev = _event(version, "m.room.member", {"membership": membership}, "@bob:b")
    expected = _base(version) | {("m.room.member", "@bob:b")}
    if membership in ("join", "invite", "knock"):
        expected.add(JR)
    assert auth_types_for_event(KNOWN_ROOM_VERSIONS[version], ev) == expected


@pytest.mark.parametrize("version", ALL)
def test_third_party_invite_selects_the_token(version: str) -> None:
    content = {"membership": "invite", "third_party_invite": {"signed": {"token": "tok"}}}
    ev = _event(version, "m.room.member", content, "@bob:b")
    types = auth_types_for_event(KNOWN_ROOM_VERSIONS[version], ev)
    assert ("m.room.third_party_invite", "tok") in types


@pytest.mark.parametrize("version", ALL)
def test_authorising_user_selected_for_joins_from_v8(version: str) -> None:
    content = {"membership": "join", "join_authorised_via_users_server": "@carol:c"}
    ev = _event(version, "m.room.member", content, "@alice:a")
    types = auth_types_for_event(KNOWN_ROOM_VERSIONS[version], ev)
    assert (("m.room.member", "@carol:c") in types) is KNOWN_ROOM_VERSIONS[
        version
    ].restricted_join_rule
    leave = _event(version, "m.room.member", {**content, "membership": "leave"}, "@alice:a")
    assert ("m.room.member", "@carol:c") not in auth_types_for_event(
        KNOWN_ROOM_VERSIONS[version], leave
    )
