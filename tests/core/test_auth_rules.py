"""The authorization rules, rule by rule, in every room version where they differ.

Each test is named after the rule it exercises (v8-v11 numbering unless the name
says otherwise) and takes its expected outcome from the spec text
(https://spec.matrix.org/v1.16/rooms/vN/#authorization-rules). Where roomscope
follows Synapse rather than a literal reading of the spec, the test says so.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from signedjson.sign import sign_json

from app.core.auth import (
    AuthResult,
    auth_types_for_event,
    check_auth,
    check_auth_events,
    rule_numbers,
)
from app.core.auth_power import (
    CREATOR_POWER_LEVEL,
    get_named_level,
    get_power_level,
    get_send_level,
    room_creators,
)
from app.core.auth_rules import auth_state_facts, power_levels_reader
from app.core.builder import build_event, generate_signing_key, room_id_for, verify_key_b64
from app.core.events import PDU, StateKey, parse_pdu
from app.core.versions import KNOWN_ROOM_VERSIONS, RoomVersion
from tests.generators.auth_events import generate_cases

ALL = tuple(KNOWN_ROOM_VERSIONS)
ALICE, BOB, CAROL, DAVE = "@alice:a", "@bob:b", "@carol:c", "@dave:d"
ID_KEY = generate_signing_key(b"identity server", version="0")
OTHER_KEY = generate_signing_key(b"someone else", version="0")


class Room:
    """A room's state, built event by event, and the candidate events to check against it."""

    def __init__(
        self,
        version: str,
        *,
        create_content: Mapping[str, Any] | None = None,
        power_levels: Mapping[str, Any] | None = None,
        join_rule: str | None = "invite",
        members: Mapping[str, str] | None = None,
    ) -> None:
        self.v: RoomVersion = KNOWN_ROOM_VERSIONS[version]
        content: dict[str, Any] = {"room_version": version}
        if not self.v.implicit_room_creator:
            content["creator"] = ALICE
        content.update(create_content or {})
        self.ts = 0
        self.create = self._build("m.room.create", ALICE, content, "", room_id=None, prev=())
        self.room_id = room_id_for(self.create)
        self.state: dict[StateKey, PDU] = {("m.room.create", ""): self.create}
        self.set("m.room.member", ALICE, {"membership": "join"}, ALICE)
        if power_levels is None:
            power_levels = {} if self.v.privileged_creators else {"users": {ALICE: 100}}
        self.set("m.room.power_levels", ALICE, power_levels, "")
        if join_rule is not None:
            self.set("m.room.join_rules", ALICE, {"join_rule": join_rule}, "")
        for user, membership in (members or {}).items():
            sender = user if membership in ("join", "leave", "knock") else ALICE
            self.set("m.room.member", sender, {"membership": membership}, user)

    def _build(
        self,
        type: str,
        sender: str,
        content: Mapping[str, Any],
        state_key: str | None,
        *,
        room_id: str | None,
        prev: tuple[str, ...] = ("$previous:a",),
        auth: Iterable[str] = (),
        extra: dict[str, Any] | None = None,
        redacts: str | None = None,
    ) -> PDU:
        self.ts += 1
        if room_id is None and not self.v.room_id_from_create_event and type != "m.room.create":
            room_id = self.room_id
        if room_id is None and not self.v.room_id_from_create_event:
            room_id = "!room:a"
        return build_event(
            self.v,
            type=type,
            sender=sender,
            content=content,
            state_key=state_key,
            room_id=room_id,
            prev_events=prev,
            auth_events=tuple(auth),
            depth=self.ts,
            origin_server_ts=self.ts,
            extra=extra,
            redacts=redacts,
        )

    def set(self, type: str, sender: str, content: Mapping[str, Any], state_key: str) -> PDU:
        pdu = self.event(type, sender, content, state_key)
        self.state[(type, state_key)] = pdu
        return pdu

    def event(
        self,
        type: str,
        sender: str,
        content: Mapping[str, Any],
        state_key: str | None = None,
        **kw: Any,
    ) -> PDU:
        return self._build(type, sender, content, state_key, room_id=self.room_id, **kw)

    def member(self, sender: str, membership: str, target: str | None = None, **kw: Any) -> PDU:
        content = {"membership": membership, **kw.pop("content", {})}
        return self.event("m.room.member", sender, content, target or sender, **kw)

    def check(self, event: PDU) -> AuthResult:
        return check_auth(event, self.state, create_event=self.create)


def allowed(result: AuthResult) -> bool:
    return result.allowed


def rejected_by(result: AuthResult, rule: str) -> bool:
    return not result.allowed and result.rule == rule


# --- 1. m.room.create ---------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_1_1_create_with_prev_events_is_rejected(version: str) -> None:
    room = Room(version)
    bad = room._build("m.room.create", ALICE, dict(room.create.content), "", room_id=None)
    result = check_auth_events(bad, [])
    assert rejected_by(result, "1.1"), result
    assert allowed(check_auth_events(room.create, []))


@pytest.mark.parametrize("version", ALL[:11])
def test_1_2_create_room_id_domain_must_match_sender(version: str) -> None:
    room = Room(version)
    bad = room._build("m.room.create", BOB, dict(room.create.content), "", room_id="!r:a", prev=())
    assert rejected_by(check_auth_events(bad, []), "1.2")


def test_1_2_v12_create_with_a_room_id_is_rejected() -> None:
    room = Room("12")
    bad = build_event(
        room.v,
        type="m.room.create",
        sender=ALICE,
        content={"room_version": "12"},
        state_key="",
        extra={"room_id": "!somewhere"},
    )
    assert rejected_by(check_auth_events(bad, []), "1.2")


@pytest.mark.parametrize("version", ALL)
def test_1_3_create_with_unknown_room_version_is_rejected(version: str) -> None:
    room = Room(version, create_content={"room_version": "999"})
    assert rejected_by(check_auth_events(room.create, []), "1.3")


@pytest.mark.parametrize("version", ALL)
def test_1_4_creator_property_required_in_v1_to_v10_only(version: str) -> None:
    v = KNOWN_ROOM_VERSIONS[version]
    create = build_event(
        v,
        type="m.room.create",
        sender=ALICE,
        content={"room_version": version},
        state_key="",
        room_id=None if v.room_id_from_create_event else "!r:a",
    )
    result = check_auth_events(create, [])
    if v.implicit_room_creator:
        assert allowed(result), result
    else:
        assert rejected_by(result, "1.4")


@pytest.mark.parametrize(
    ("additional", "ok"),
    [
        (["@bob:b"], True),
        ([], True),
        ("@bob:b", False),
        ([5], False),
        (["bob"], False),
        (["@bob:bad host"], False),
        (["@bob:[::1]:8448"], True),
    ],
)
def test_1_4_v12_additional_creators_must_be_user_ids(additional: object, ok: bool) -> None:
    room = Room("12", create_content={"additional_creators": additional})
    result = check_auth_events(room.create, [])
    assert result.allowed is ok, result
    if not ok:
        assert result.rule == "1.4"


def test_1_4_v11_and_1_5_v12_otherwise_allow() -> None:
    assert check_auth_events(Room("11").create, []).rule == "1.4"
    assert check_auth_events(Room("12").create, []).rule == "1.5"
    assert check_auth_events(Room("10").create, []).rule == "1.5"


# --- 2. (v12: 3.) the event's auth events ----------------------------------------


def _selected(room: Room, event: PDU) -> list[PDU]:
    keys = auth_types_for_event(room.v, event)
    return [room.state[k] for k in sorted(keys) if k in room.state]


def _with_auth(room: Room, event: PDU, auth: list[PDU]) -> PDU:
    return room.event(
        event.type,
        event.sender,
        event.content,
        event.state_key,
        auth=[a.event_id for a in auth],
    )


@pytest.mark.parametrize("version", ALL)
def test_2_1_duplicate_auth_events_for_one_key_are_rejected(version: str) -> None:
    room = Room(version)
    msg = room.event("m.room.message", ALICE, {"body": "hi"})
    other_member = room.member(ALICE, "join")
    auth = [*_selected(room, msg), other_member]
    event = _with_auth(room, msg, auth)
    result = check_auth_events(event, auth, create_event=room.create)
    assert rejected_by(result, f"{rule_numbers(room.v).auth_events}.1"), result


@pytest.mark.parametrize("version", ALL)
def test_2_2_auth_event_outside_the_selection_is_rejected(version: str) -> None:
    room = Room(version)
    msg = room.event("m.room.message", ALICE, {"body": "hi"})
    # join rules are selected for memberships only
    auth = [*_selected(room, msg), room.state[("m.room.join_rules", "")]]
    event = _with_auth(room, msg, auth)
    result = check_auth_events(event, auth, create_event=room.create)
    assert rejected_by(result, f"{rule_numbers(room.v).auth_events}.2"), result
    good = _with_auth(room, msg, _selected(room, msg))
    assert allowed(check_auth_events(good, _selected(room, msg), create_event=room.create))


def test_3_2_v12_listing_the_create_event_is_rejected() -> None:
    room = Room("12")
    msg = room.event("m.room.message", ALICE, {"body": "hi"})
    auth = [*_selected(room, msg), room.create]
    event = _with_auth(room, msg, auth)
    assert rejected_by(check_auth_events(event, auth, create_event=room.create), "3.2")


@pytest.mark.parametrize("version", ALL)
def test_2_3_rejected_auth_event_is_rejected(version: str) -> None:
    room = Room(version)
    msg = room.event("m.room.message", ALICE, {"body": "hi"})
    auth = _selected(room, msg)
    event = _with_auth(room, msg, auth)
    pl = room.state[("m.room.power_levels", "")]
    result = check_auth_events(event, auth, rejected={pl.event_id}, create_event=room.create)
    assert rejected_by(result, f"{rule_numbers(room.v).auth_events}.3"), result


@pytest.mark.parametrize("version", ALL[:11])
def test_2_4_no_create_event_among_auth_events_is_rejected(version: str) -> None:
    room = Room(version)
    msg = room.event("m.room.message", ALICE, {"body": "hi"})
    auth = [a for a in _selected(room, msg) if a.type != "m.room.create"]
    event = _with_auth(room, msg, auth)
    assert rejected_by(check_auth_events(event, auth), "2.4")


@pytest.mark.parametrize("version", ALL)
def test_2_5_auth_event_of_another_room_is_rejected(version: str) -> None:
    room = Room(version)
    msg = room.event("m.room.message", ALICE, {"body": "hi"})
    foreign = room._build(
        "m.room.member", ALICE, {"membership": "join"}, ALICE, room_id="!elsewhere:a"
    )
    auth = [a for a in _selected(room, msg) if a.type != "m.room.member"] + [foreign]
    event = _with_auth(room, msg, auth)
    result = check_auth_events(event, auth, create_event=room.create)
    assert rejected_by(result, f"{rule_numbers(room.v).auth_events}.5"), result


@pytest.mark.parametrize("version", ALL)
def test_2_missing_auth_event_is_rejected(version: str) -> None:
    room = Room(version)
    msg = room.event("m.room.message", ALICE, {"body": "hi"})
    auth = _selected(room, msg)
    event = _with_auth(room, msg, auth)
    result = check_auth_events(event, auth[:-1], create_event=room.create)
    assert not result.allowed and "not available" in result.reason


def test_2_v12_room_id_must_name_an_accepted_create_event() -> None:
    room = Room("12")
    msg = room.event("m.room.message", ALICE, {"body": "hi"})
    auth = _selected(room, msg)
    event = _with_auth(room, msg, auth)
    assert allowed(check_auth_events(event, auth, create_event=room.create))
    result = check_auth_events(
        event, auth, create_event=room.create, rejected={room.create.event_id}
    )
    assert rejected_by(result, "2")
    other = Room("12", create_content={"m.federate": True})
    assert rejected_by(check_auth_events(event, auth, create_event=other.create), "2")


# --- 3. (v12: 4.) m.federate -----------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_3_m_federate_false_rejects_senders_of_other_servers(version: str) -> None:
    room = Room(version, create_content={"m.federate": False}, members={DAVE: "join"})
    result = room.check(room.event("m.room.message", DAVE, {"body": "hi"}))
    assert rejected_by(result, f"{rule_numbers(room.v).federate}"), result
    assert allowed(room.check(room.event("m.room.message", ALICE, {"body": "hi"})))


# --- 4. (v1-v5) m.room.aliases ------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_4_aliases_special_rule_in_v1_to_v5_only(version: str) -> None:
    room = Room(version)
    # BOB is not in the room and has power 0: only the v1-v5 rule lets this through.
    own = room.event("m.room.aliases", BOB, {"aliases": ["#x:b"]}, "b")
    other = room.event("m.room.aliases", BOB, {"aliases": ["#x:a"]}, "a")
    if room.v.special_case_aliases_auth:
        assert room.check(own).rule == "4.3" and allowed(room.check(own))
        assert rejected_by(room.check(other), "4.2")
    else:
        assert not room.check(own).allowed
        assert rejected_by(room.check(own), f"{rule_numbers(room.v).joined}")


# --- m.room.member: join ---------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_4_3_1_creator_first_join_after_create_is_allowed(version: str) -> None:
    room = Room(version)
    room.state = {("m.room.create", ""): room.create}
    join = room.member(ALICE, "join", prev=(room.create.event_id,))
    result = room.check(join)
    assert allowed(result) and result.rule.endswith(".1"), result
    # anyone else (or the creator later) goes through the join rule: invite by default
    assert not room.check(room.member(BOB, "join", prev=(room.create.event_id,))).allowed
    assert not room.check(room.member(ALICE, "join")).allowed


def test_4_3_1_v11_creator_is_the_create_sender_not_content_creator() -> None:
    for version, creator_field_counts in (("10", True), ("11", False)):
        room = Room(version, create_content={"creator": BOB})
        room.state = {("m.room.create", ""): room.create}
        bob = room.check(room.member(BOB, "join", prev=(room.create.event_id,)))
        alice = room.check(room.member(ALICE, "join", prev=(room.create.event_id,)))
        assert bob.allowed is creator_field_counts
        assert alice.allowed is not creator_field_counts


@pytest.mark.parametrize("version", ALL)
def test_4_3_2_join_sender_must_be_target(version: str) -> None:
    room = Room(version, join_rule="public")
    n = rule_numbers(room.v)
    result = room.check(room.member(ALICE, "join", BOB))
    assert rejected_by(result, f"{n.member}.{n.member_join}.2"), result


@pytest.mark.parametrize("version", ALL)
def test_4_3_3_banned_user_cannot_join(version: str) -> None:
    room = Room(version, join_rule="public", members={BOB: "ban"})
    n = rule_numbers(room.v)
    assert rejected_by(room.check(room.member(BOB, "join")), f"{n.member}.{n.member_join}.3")


@pytest.mark.parametrize("version", ALL)
def test_4_3_4_invite_rule_allows_invited_and_joined_only(version: str) -> None:
    room = Room(version, join_rule="invite", members={BOB: "invite", CAROL: "leave"})
    n = rule_numbers(room.v)
    assert allowed(room.check(room.member(BOB, "join")))
    assert allowed(room.check(room.member(ALICE, "join")))
    assert rejected_by(room.check(room.member(CAROL, "join")), f"{n.member}.{n.member_join}.4")
    assert rejected_by(room.check(room.member(DAVE, "join")), f"{n.member}.{n.member_join}.4")


@pytest.mark.parametrize("version", ALL)
def test_4_3_4_knock_rule_is_an_invite_rule_from_v7(version: str) -> None:
    room = Room(version, join_rule="knock", members={BOB: "invite"})
    n = rule_numbers(room.v)
    result = room.check(room.member(BOB, "join"))
    if room.v.knock_join_rule:
        assert allowed(result)
    else:  # an unknown join rule: nobody may join (4.3.7 / 5.2.6)
        assert rejected_by(result, f"{n.member}.{n.member_join}.{n.join_otherwise}")


@pytest.mark.parametrize("version", ALL)
def test_4_3_6_public_room_anyone_may_join(version: str) -> None:
    room = Room(version, join_rule="public")
    n = rule_numbers(room.v)
    result = room.check(room.member(BOB, "join"))
    assert allowed(result) and result.rule == f"{n.member}.{n.member_join}.{n.join_public}"


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("join_rule", [{"a": 1}, ["public"], None, 5])
def test_4_3_7_a_join_rule_that_is_not_a_string_lets_nobody_join_or_knock(
    version: str, join_rule: object
) -> None:
    """A join_rule of any other JSON type is none of the spec's words, so 4.3.7 (v7+:
    4.7.1 for knocks) rejects; Synapse compares it with == and rejects too. It used to
    raise TypeError (unhashable dict) from a set lookup."""
    room = Room(version, members={CAROL: "invite"})
    room.set("m.room.join_rules", ALICE, {"join_rule": join_rule}, "")
    n = rule_numbers(room.v)
    result = room.check(room.member(BOB, "join"))
    assert rejected_by(result, f"{n.member}.{n.member_join}.{n.join_otherwise}"), result
    # An invited user may not join either: the room is not an invite room.
    assert not room.check(room.member(CAROL, "join")).allowed
    knock = room.check(room.member(BOB, "knock"))
    if room.v.knock_join_rule:
        assert rejected_by(knock, f"{n.member}.{n.member_knock}.1"), knock
    else:
        assert rejected_by(knock, f"{n.member}.{n.member_unknown}"), knock


@pytest.mark.parametrize("version", ALL)
def test_4_3_7_no_join_rules_means_invite(version: str) -> None:
    room = Room(version, join_rule=None)
    assert not room.check(room.member(BOB, "join")).allowed


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("rule", ["restricted", "knock_restricted"])
def test_4_3_5_restricted_join_needs_a_joined_authoriser_with_invite_power(
    version: str, rule: str
) -> None:
    room = Room(
        version,
        join_rule=rule,
        members={CAROL: "join", DAVE: "invite"},
        power_levels=(
            {"users": {CAROL: 0}, "invite": 50}
            if KNOWN_ROOM_VERSIONS[version].privileged_creators
            else {"users": {ALICE: 100, CAROL: 0}, "invite": 50}
        ),
    )
    n = rule_numbers(room.v)
    supported = (
        room.v.restricted_join_rule if rule == "restricted" else room.v.knock_restricted_join_rule
    )
    j = f"{n.member}.{n.member_join}"
    by_alice = room.member(BOB, "join", content={"join_authorised_via_users_server": ALICE})
    by_carol = room.member(BOB, "join", content={"join_authorised_via_users_server": CAROL})
    by_nobody = room.member(BOB, "join")
    by_stranger = room.member(BOB, "join", content={"join_authorised_via_users_server": "@x:x"})
    invited = room.member(DAVE, "join")
    if not supported:
        assert rejected_by(room.check(by_alice), f"{j}.{n.join_otherwise}")
        return
    assert allowed(room.check(by_alice)) and room.check(by_alice).rule == f"{j}.5.3"
    assert rejected_by(room.check(by_carol), f"{j}.5.2")  # power 0 < invite 50
    assert rejected_by(room.check(by_nobody), f"{j}.5.2")
    # v10 added "or is not a joined member"; Synapse checks it in v8 and v9 too
    assert rejected_by(room.check(by_stranger), f"{j}.5.2")
    assert room.check(invited).rule == f"{j}.5.1" and room.check(invited).allowed


@pytest.mark.parametrize("version", ["8", "9", "10", "11", "12"])
def test_4_2_restricted_join_must_be_signed_by_the_authorising_server(version: str) -> None:
    room = Room(version, join_rule="restricted")
    n = rule_numbers(room.v)
    content = {"membership": "join", "join_authorised_via_users_server": ALICE}
    draft = room.event("m.room.member", BOB, content, BOB)
    auth = _selected(room, draft)
    ids = [a.event_id for a in auth]
    unsigned = room.event("m.room.member", BOB, content, BOB, auth=ids)
    signed = room.event(
        "m.room.member",
        BOB,
        content,
        BOB,
        auth=ids,
        extra={"signatures": {"a": {"ed25519:1": "c2ln"}}},
    )
    result = check_auth_events(unsigned, auth, create_event=room.create)
    assert rejected_by(result, f"{n.member}.{n.member_signature}"), result
    assert allowed(check_auth_events(signed, auth, create_event=room.create))
    # a verifier, when given, decides
    result = check_auth_events(
        signed, auth, create_event=room.create, verify_signature=lambda e, s: False
    )
    assert rejected_by(result, f"{n.member}.{n.member_signature}")


# --- m.room.member: invite ---------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_4_4_2_invite_requires_sender_joined(version: str) -> None:
    room = Room(version, members={BOB: "leave"})
    n = rule_numbers(room.v)
    result = room.check(room.member(BOB, "invite", CAROL))
    assert rejected_by(result, f"{n.member}.{n.member_invite}.2"), result


@pytest.mark.parametrize("version", ALL)
def test_4_4_3_invite_target_joined_or_banned_is_rejected(version: str) -> None:
    room = Room(version, members={BOB: "join", CAROL: "ban"})
    n = rule_numbers(room.v)
    for target in (BOB, CAROL):
        result = room.check(room.member(ALICE, "invite", target))
        assert rejected_by(result, f"{n.member}.{n.member_invite}.3"), result


@pytest.mark.parametrize("version", ALL)
def test_4_4_4_invite_needs_the_invite_level(version: str) -> None:
    pl = {"users": {BOB: 10}, "invite": 20}
    if not KNOWN_ROOM_VERSIONS[version].privileged_creators:
        pl["users"][ALICE] = 100  # type: ignore[index]
    room = Room(version, members={BOB: "join"}, power_levels=pl)
    n = rule_numbers(room.v)
    result = room.check(room.member(BOB, "invite", CAROL))
    assert rejected_by(result, f"{n.member}.{n.member_invite}.5")
    assert "power 10" in result.reason and "20" in result.reason
    ok = room.check(room.member(ALICE, "invite", CAROL))
    assert allowed(ok) and ok.rule == f"{n.member}.{n.member_invite}.4"


def _third_party_room(version: str, **kw: Any) -> Room:
    room = Room(version, **kw)
    room.set(
        "m.room.third_party_invite",
        ALICE,
        {"display_name": "c...", "public_key": verify_key_b64(ID_KEY)},
        "tok",
    )
    return room


def _third_party_invite(
    room: Room, sender: str = ALICE, mxid: str = CAROL, token: str = "tok", key: Any = ID_KEY
) -> PDU:
    signed = sign_json({"mxid": mxid, "token": token}, "id.example", key)
    content = {"third_party_invite": {"display_name": "c...", "signed": signed}}
    return room.member(sender, "invite", CAROL, content=content)


@pytest.mark.parametrize("version", ALL)
def test_4_4_1_third_party_invite(version: str) -> None:
    room = _third_party_room(version, members={BOB: "join"})
    n = rule_numbers(room.v)
    t = f"{n.member}.{n.member_invite}.1"
    assert room.check(_third_party_invite(room)).rule == f"{t}.7"
    assert allowed(room.check(_third_party_invite(room)))
    assert rejected_by(room.check(_third_party_invite(room, mxid=DAVE)), f"{t}.4")
    assert rejected_by(room.check(_third_party_invite(room, token="other")), f"{t}.5")
    assert rejected_by(room.check(_third_party_invite(room, sender=BOB)), f"{t}.6")
    assert rejected_by(room.check(_third_party_invite(room, key=OTHER_KEY)), f"{t}.8")
    no_signed = room.member(ALICE, "invite", CAROL, content={"third_party_invite": {}})
    assert rejected_by(room.check(no_signed), f"{t}.2")


@pytest.mark.parametrize("version", ["1", "12"])
def test_4_4_1_1_third_party_invite_of_a_banned_user_is_rejected(version: str) -> None:
    room = _third_party_room(version, members={CAROL: "ban"})
    n = rule_numbers(room.v)
    result = room.check(_third_party_invite(room))
    assert rejected_by(result, f"{n.member}.{n.member_invite}.1.1")


def test_4_4_1_7_public_keys_list_counts() -> None:
    room = Room("10")
    room.set(
        "m.room.third_party_invite",
        ALICE,
        {
            "public_key": verify_key_b64(OTHER_KEY),
            "public_keys": [{"public_key": verify_key_b64(ID_KEY)}],
        },
        "tok",
    )
    assert allowed(room.check(_third_party_invite(room)))


# --- m.room.member: leave, ban, knock ------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_4_5_1_leaving_oneself_from_invite_or_join_only(version: str) -> None:
    room = Room(version, members={BOB: "invite", CAROL: "ban", DAVE: "knock"})
    n = rule_numbers(room.v)
    lv = f"{n.member}.{n.member_leave}"
    assert allowed(room.check(room.member(BOB, "leave")))
    assert allowed(room.check(room.member(ALICE, "leave")))
    knocked = room.check(room.member(DAVE, "leave"))
    assert knocked.allowed is room.v.knock_join_rule  # v7+: or knock
    result = room.check(room.member(CAROL, "leave"))
    assert not result.allowed and result.rule in (f"{lv}.1", f"{lv}.2")


@pytest.mark.parametrize("version", ALL)
def test_4_5_kick_needs_kick_level_and_more_power_than_target(version: str) -> None:
    pl: dict[str, Any] = {"users": {BOB: 50, CAROL: 50, DAVE: 0}}
    if not KNOWN_ROOM_VERSIONS[version].privileged_creators:
        pl["users"][ALICE] = 100
    room = Room(version, members={BOB: "join", CAROL: "join", DAVE: "join"}, power_levels=pl)
    n = rule_numbers(room.v)
    lv = f"{n.member}.{n.member_leave}"
    assert room.check(room.member(BOB, "leave", DAVE)).rule == f"{lv}.4"
    assert rejected_by(room.check(room.member(BOB, "leave", CAROL)), f"{lv}.5")  # equal power
    assert rejected_by(room.check(room.member(DAVE, "leave", BOB)), f"{lv}.5")  # kick is 50


@pytest.mark.parametrize("version", ALL)
def test_4_5_3_unban_needs_the_ban_level(version: str) -> None:
    pl: dict[str, Any] = {"users": {BOB: 40, CAROL: 0}, "kick": 10, "ban": 60}
    if not KNOWN_ROOM_VERSIONS[version].privileged_creators:
        pl["users"][ALICE] = 100
    room = Room(version, members={BOB: "join", CAROL: "ban"}, power_levels=pl)
    n = rule_numbers(room.v)
    assert rejected_by(
        room.check(room.member(BOB, "leave", CAROL)), f"{n.member}.{n.member_leave}.3"
    )
    assert allowed(room.check(room.member(ALICE, "leave", CAROL)))


@pytest.mark.parametrize("version", ALL)
def test_4_6_ban_needs_ban_level_and_more_power_than_target(version: str) -> None:
    pl: dict[str, Any] = {"users": {BOB: 50, CAROL: 50}}
    if not KNOWN_ROOM_VERSIONS[version].privileged_creators:
        pl["users"][ALICE] = 100
    room = Room(version, members={BOB: "join", CAROL: "join", DAVE: "leave"}, power_levels=pl)
    n = rule_numbers(room.v)
    b = f"{n.member}.{n.member_ban}"
    assert room.check(room.member(BOB, "ban", DAVE)).rule == f"{b}.2"
    assert rejected_by(room.check(room.member(BOB, "ban", CAROL)), f"{b}.3")
    assert rejected_by(room.check(room.member(DAVE, "ban", CAROL)), f"{b}.1")  # not joined


@pytest.mark.parametrize("version", ALL)
def test_4_7_knock_only_from_v7_on_knock_rooms(version: str) -> None:
    room = Room(version, join_rule="knock", members={CAROL: "invite"})
    n = rule_numbers(room.v)
    result = room.check(room.member(BOB, "knock"))
    if not room.v.knock_join_rule:
        assert rejected_by(result, f"{n.member}.{n.member_unknown}"), result
        return
    k = f"{n.member}.{n.member_knock}"
    assert allowed(result) and result.rule == f"{k}.3"
    assert rejected_by(room.check(room.member(ALICE, "knock", BOB)), f"{k}.2")
    assert rejected_by(room.check(room.member(CAROL, "knock")), f"{k}.4")
    invite_room = Room(version, join_rule="invite")
    assert rejected_by(invite_room.check(invite_room.member(BOB, "knock")), f"{k}.1")


@pytest.mark.parametrize("version", ["7", "8", "9", "10", "12"])
def test_4_7_1_knock_restricted_rooms_take_knocks_from_v10(version: str) -> None:
    room = Room(version, join_rule="knock_restricted")
    assert room.check(room.member(BOB, "knock")).allowed is room.v.knock_restricted_join_rule


@pytest.mark.parametrize("version", ALL)
def test_4_8_unknown_membership_is_rejected(version: str) -> None:
    room = Room(version)
    n = rule_numbers(room.v)
    assert rejected_by(room.check(room.member(ALICE, "dancing")), f"{n.member}.{n.member_unknown}")


@pytest.mark.parametrize("version", ALL)
def test_4_1_member_without_membership_is_rejected(version: str) -> None:
    room = Room(version)
    n = rule_numbers(room.v)
    event = room.event("m.room.member", ALICE, {"displayname": "A"}, ALICE)
    assert rejected_by(room.check(event), f"{n.member}.1")


# --- 5. (v12: 6.) sender joined; 6. third-party invite; 7. required power ---------------


@pytest.mark.parametrize("version", ALL)
def test_5_sender_must_be_joined(version: str) -> None:
    room = Room(version, members={BOB: "invite"})
    result = room.check(room.event("m.room.message", BOB, {"body": "hi"}))
    assert rejected_by(result, f"{rule_numbers(room.v).joined}")


@pytest.mark.parametrize("version", ALL)
def test_6_third_party_invite_event_needs_invite_level(version: str) -> None:
    pl: dict[str, Any] = {"users": {BOB: 0}, "invite": 10}
    if not KNOWN_ROOM_VERSIONS[version].privileged_creators:
        pl["users"][ALICE] = 100
    room = Room(version, members={BOB: "join"}, power_levels=pl)
    n = rule_numbers(room.v)
    ev = room.event("m.room.third_party_invite", BOB, {"public_key": "x"}, "t")
    assert rejected_by(room.check(ev), f"{n.third_party_invite}.1")
    ok = room.event("m.room.third_party_invite", ALICE, {"public_key": "x"}, "t")
    assert allowed(room.check(ok))


@pytest.mark.parametrize("version", ALL)
def test_7_required_power_level_defaults_and_events_map(version: str) -> None:
    pl: dict[str, Any] = {"users": {BOB: 50}, "events": {"m.room.message": 60}}
    if not KNOWN_ROOM_VERSIONS[version].privileged_creators:
        pl["users"][ALICE] = 100
    room = Room(version, members={BOB: "join"}, power_levels=pl)
    n = rule_numbers(room.v)
    # state_default 50: allowed; m.room.message needs 60; events_default 0
    assert allowed(room.check(room.event("m.room.topic", BOB, {"topic": "t"}, "")))
    message = room.check(room.event("m.room.message", BOB, {"body": "hi"}))
    assert rejected_by(message, f"{n.required_power}")
    assert message.reason == "sender @bob:b has power 50, m.room.message needs 60"
    assert allowed(room.check(room.event("m.room.encrypted", BOB, {})))


@pytest.mark.parametrize("version", ALL)
def test_8_state_key_starting_with_at_must_be_the_sender(version: str) -> None:
    room = Room(version, members={BOB: "join"}, power_levels={"state_default": 0})
    n = rule_numbers(room.v)
    assert allowed(room.check(room.event("org.example", BOB, {}, BOB)))
    assert rejected_by(room.check(room.event("org.example", BOB, {}, ALICE)), f"{n.user_state_key}")


# --- 9. (v1-v5, v12: 10.) m.room.power_levels ---------------------------------------------


def _pl_room(version: str, **levels: Any) -> Room:
    users: dict[str, Any] = {BOB: 50, CAROL: 50}
    if not KNOWN_ROOM_VERSIONS[version].privileged_creators:
        users[ALICE] = 100
    content: dict[str, Any] = {"users": users, "state_default": 50, **levels}
    return Room(version, members={BOB: "join", CAROL: "join"}, power_levels=content)


def _new_pl(room: Room, sender: str, **changes: Any) -> PDU:
    content = {
        k: dict(v) if isinstance(v, dict) else v
        for k, v in room.state[("m.room.power_levels", "")].content.items()
    }
    for key, value in changes.items():
        if key.startswith("user_"):
            users = content["users"]
            name = {"user_bob": BOB, "user_carol": CAROL, "user_alice": ALICE, "user_dave": DAVE}[
                key
            ]
            if value is None:
                users.pop(name, None)
            else:
                users[name] = value
        elif value is None:
            content.pop(key, None)
        else:
            content[key] = value
    return room.event("m.room.power_levels", sender, content, "")


@pytest.mark.parametrize("version", ALL)
def test_9_users_keys_must_be_user_ids(version: str) -> None:
    room = _pl_room(version)
    n = rule_numbers(room.v)
    users = dict(room.state[("m.room.power_levels", "")].content["users"])
    users["not-a-user"] = 10
    result = room.check(room.event("m.room.power_levels", BOB, {"users": users}, ""))
    assert rejected_by(result, f"{n.power_levels}.{n.pl_users}")


@pytest.mark.parametrize("version", ALL)
def test_9_string_levels_allowed_before_v10_only(version: str) -> None:
    room = _pl_room(version)
    n = rule_numbers(room.v)
    result = room.check(_new_pl(room, BOB, kick="50"))
    string_users = room.check(_new_pl(room, BOB, user_dave="10"))
    if room.v.enforce_int_power_levels:
        assert rejected_by(result, f"{n.power_levels}.1")
        assert not string_users.allowed
    else:
        assert allowed(result), result
        assert allowed(string_users)


@pytest.mark.parametrize("version", ["9", "10"])
def test_9_2_v10_events_values_must_be_integers(version: str) -> None:
    room = _pl_room(version)
    result = room.check(_new_pl(room, BOB, events={"m.room.name": "50"}))
    if version == "10":
        assert rejected_by(result, "9.2")
    else:
        assert allowed(result)


@pytest.mark.parametrize("version", ALL)
def test_9_no_previous_power_levels_allows(version: str) -> None:
    room = Room(version, members={BOB: "join"})
    del room.state[("m.room.power_levels", "")]
    n = rule_numbers(room.v)
    content = {"users": {BOB: 1000}}
    result = room.check(room.event("m.room.power_levels", ALICE, content, ""))
    assert allowed(result) and result.rule == f"{n.power_levels}.{n.pl_no_previous}"


@pytest.mark.parametrize("version", ALL)
def test_9_named_levels_changes_within_own_power(version: str) -> None:
    room = _pl_room(version, ban=75)
    n = rule_numbers(room.v)
    named = f"{n.power_levels}.{n.pl_named}"
    assert rejected_by(room.check(_new_pl(room, BOB, kick=60)), named)  # new above 50
    assert rejected_by(room.check(_new_pl(room, BOB, ban=40)), named)  # old 75 above 50
    assert allowed(room.check(_new_pl(room, BOB, kick=50)))
    assert allowed(room.check(_new_pl(room, BOB, ban=75)))  # unchanged


@pytest.mark.parametrize("version", ALL)
def test_9_events_and_notifications_changes(version: str) -> None:
    room = _pl_room(version, events={"m.room.name": 75}, notifications={"room": 75})
    n = rule_numbers(room.v)
    p = n.power_levels
    assert rejected_by(room.check(_new_pl(room, BOB, events={})), f"{p}.{n.pl_events_old}")
    assert rejected_by(
        room.check(_new_pl(room, BOB, events={"m.room.name": 75, "m.room.topic": 60})),
        f"{p}.{n.pl_events_new}",
    )
    notifications = room.check(_new_pl(room, BOB, notifications={"room": 10}))
    # v6+: notifications are limited like events
    assert notifications.allowed is not room.v.limit_notifications_power_levels


@pytest.mark.parametrize("version", ALL)
def test_9_users_changes(version: str) -> None:
    room = _pl_room(version)
    n = rule_numbers(room.v)
    p = n.power_levels
    # others' entries at or above the sender's power cannot change or go
    assert rejected_by(room.check(_new_pl(room, BOB, user_carol=10)), f"{p}.{n.pl_users_old}")
    assert rejected_by(room.check(_new_pl(room, BOB, user_carol=None)), f"{p}.{n.pl_users_old}")
    # the sender's own entry may go down
    assert allowed(room.check(_new_pl(room, BOB, user_bob=10)))
    # nobody may be raised above the sender
    assert rejected_by(room.check(_new_pl(room, BOB, user_dave=51)), f"{p}.{n.pl_users_new}")
    assert allowed(room.check(_new_pl(room, BOB, user_dave=50)))


def test_10_4_v12_creators_may_not_be_in_users() -> None:
    room = Room("12", create_content={"additional_creators": [BOB]}, members={BOB: "join"})
    for creator in (ALICE, BOB):
        result = room.check(room.event("m.room.power_levels", ALICE, {"users": {creator: 100}}, ""))
        assert rejected_by(result, "10.4"), result
    assert allowed(
        room.check(room.event("m.room.power_levels", ALICE, {"users": {CAROL: 100}}, ""))
    )


@pytest.mark.parametrize("version", ["11", "12"])
def test_v12_creators_have_infinite_power(version: str) -> None:
    pl = {"users": {CAROL: 100}} if version == "12" else {"users": {ALICE: 100, CAROL: 100}}
    room = Room(
        version,
        create_content={"additional_creators": [BOB]} if version == "12" else None,
        members={BOB: "join", CAROL: "join"},
        power_levels=pl,
    )
    kick_carol = room.check(room.member(BOB, "leave", CAROL))
    kick_alice = room.check(room.member(CAROL, "leave", ALICE))
    if version == "12":
        assert allowed(kick_carol)  # BOB is an additional creator
        assert not kick_alice.allowed and "infinite" in kick_alice.reason
        assert get_power_level(BOB, room.state, room.create) == CREATOR_POWER_LEVEL
        assert room_creators(room.create) == {ALICE, BOB}
    else:
        assert not kick_carol.allowed  # additional_creators means nothing before v12
        assert not kick_alice.allowed  # equal power


# --- 11. (v1-v2) m.room.redaction -------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_11_redaction_v1_v2_same_server_or_redact_level(version: str) -> None:
    pl: dict[str, Any] = {"users": {BOB: 0}}
    if not KNOWN_ROOM_VERSIONS[version].privileged_creators:
        pl["users"][ALICE] = 100
    room = Room(version, members={BOB: "join"}, power_levels=pl)
    n = rule_numbers(room.v)
    own = room.event("m.room.redaction", BOB, {}, redacts="$x:b")
    other = room.event("m.room.redaction", BOB, {}, redacts="$x:a")
    admin = room.event("m.room.redaction", ALICE, {}, redacts="$x:b")
    assert allowed(room.check(own))
    assert allowed(room.check(admin))
    if n.redaction is not None:
        assert rejected_by(room.check(other), f"{n.redaction}.3")
    else:  # v3+: redactions are authorised when applied, not by the rules
        assert allowed(room.check(other))


# --- power maths ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
def test_power_levels_without_a_power_levels_event(version: str) -> None:
    room = Room(version)
    del room.state[("m.room.power_levels", "")]
    alice = get_power_level(ALICE, room.state, room.create)
    assert alice == (CREATOR_POWER_LEVEL if room.v.privileged_creators else 100)
    assert get_power_level(BOB, room.state, room.create) == 0
    assert get_named_level("ban", room.state) == 50
    assert get_named_level("invite", room.state) == 0
    assert get_send_level("m.room.name", "", None) == 50
    assert get_send_level("m.room.message", None, None) == 0


def test_power_levels_users_default() -> None:
    room = Room("10", power_levels={"users": {ALICE: 100}, "users_default": 7})
    assert get_power_level(BOB, room.state) == 7


# --- the rules' shortcuts agree with the general readers ------------------------------------------
# check_auth reads integer levels, creators and server names without the general
# functions of app.core.auth_power / app.core.events; these tests hold the shortcuts
# to those functions (which the rest of this file and the Synapse fuzz hold to Synapse).


def test_membership_levels_shortcut_agrees_with_the_power_readers() -> None:
    # check_auth reads the four levels of a membership change inline when the power
    # levels' users is a plain dict; any other mapping goes through the general
    # readers (get_power_level and friends). Both must give the same verdict, word
    # for word, and the general readers must agree with get_power_level /
    # get_named_level (an unreadable value: both fail).
    import dataclasses
    from types import MappingProxyType

    from app.core.auth_power import UnreadablePowerLevels
    from app.core.auth_rules import _TEXTS, _Checker

    compared = unreadable = 0
    for case in generate_cases(29, 2500):
        event, state, create = case.event, case.state, case.create
        create = create or state.get(("m.room.create", ""))
        if event.type != "m.room.member" or event.state_key is None or create is None:
            continue
        pl = state.get(("m.room.power_levels", ""))
        if pl is None or type(pl.content.get("users", {})) is not dict:
            continue
        target = event.state_key
        expected: tuple[int, ...] | None
        try:
            expected = (
                get_power_level(event.sender, state, create),
                get_power_level(target, state, create),
                get_named_level("invite", state),
                get_named_level("ban", state),
            )
        except UnreadablePowerLevels:
            expected = None
            unreadable += 1
        checker = _Checker(event, state, create, _TEXTS[case.version.identifier])
        try:
            got: tuple[int, ...] | None = checker.member_levels(event.sender, target)
        except UnreadablePowerLevels:
            got = None
        assert got == expected, case.label
        content = dict(pl.content)
        content["users"] = MappingProxyType(dict(content.get("users", {})))
        general = dict(state)
        general[("m.room.power_levels", "")] = dataclasses.replace(pl, content=content)
        inline = check_auth(event, state, create_event=create)
        assert check_auth(event, general, create_event=create) == inline, case.label
        compared += 1
    assert compared > 500
    assert unreadable > 0


@pytest.mark.parametrize("version", ["10", "12"])
def test_membership_levels_shortcut_falls_back_for_odd_values(version: str) -> None:
    # users_default null means 0 (Synapse), a string level is read with int() before
    # v10 only; v12 creators have infinite power whatever users says.
    room = Room(
        version,
        members={BOB: "join", CAROL: "join"},
        power_levels={"users": {BOB: 60}, "users_default": None, "ban": 50},
    )
    kick = room.check(room.member(BOB, "leave", CAROL))  # Carol: users_default null -> 0
    assert allowed(kick), kick
    assert kick.reason == "sender has power 60 (kick needs 50), target has 0"
    by_carol = room.check(room.member(CAROL, "ban", BOB))
    assert not by_carol.allowed
    assert by_carol.reason == "sender @carol:c has power 0, banning needs 50"
    creator_ban = room.check(room.member(ALICE, "ban", BOB))
    if room.v.privileged_creators:
        assert allowed(creator_ban)
        assert creator_ban.reason == "sender has power infinite (ban needs 50), target has 60"
    else:  # Alice is not in users: users_default null -> 0
        assert not creator_ban.allowed


def test_is_creator_agrees_with_room_creators() -> None:
    from app.core.auth_power import is_creator, room_creators
    from tests.generators.auth_events import USERS, generate_cases

    creates = {}
    for case in generate_cases(31, 1500):
        for pdu in (case.create, case.state.get(("m.room.create", "")), case.event):
            if pdu is not None and pdu.type == "m.room.create":
                creates[pdu.event_id] = pdu
    assert len(creates) > 20
    for create in creates.values():
        creators = room_creators(create)
        candidates = {*USERS, create.sender, *creators, "@nobody:z", ""}
        for user in candidates:
            assert is_creator(create, user) == (user in creators), (create.content, user)


def test_pdu_server_names_are_those_of_domain_of() -> None:
    import dataclasses

    from app.core.events import domain_of

    room = Room("10", members={BOB: "join"})
    for pdu in [*room.state.values(), room.event("m.room.message", BOB, {"body": "x"})]:
        assert pdu.sender_domain == domain_of(pdu.sender)
        expected = domain_of(pdu.state_key) if pdu.state_key is not None else None
        assert pdu.state_key_domain == expected
    member = room.state[("m.room.member", BOB)]
    assert (member.sender_domain, member.state_key_domain) == ("b", "b")
    moved = dataclasses.replace(member, sender="@x:elsewhere.org", state_key="no-colon")
    assert (moved.sender_domain, moved.state_key_domain) == ("elsewhere.org", None)


def test_power_levels_unchanged_entries_shortcut() -> None:
    from app.core.auth_rules import _changed_keys, _plain_users

    # Only entries that are the same integer before and after are left out:
    # a bool or a string equal to the integer is still compared by the rules.
    old = {"a": 1, "b": True, "c": "5", "d": 2, "f": None}
    new = {"a": 1, "b": 1, "c": "5", "e": 3, "f": None}
    assert sorted(_changed_keys(old, new)) == ["b", "c", "d", "e", "f"]
    assert _plain_users({"@a:b": 1, "@c:d": 0})
    assert _plain_users({})
    assert not _plain_users({"@a:b": "1"})
    assert not _plain_users({"@a:b": True})
    assert not _plain_users({"nobody": 1})
    assert not _plain_users({"@nobody": 1})
    assert not _plain_users([])


@pytest.mark.parametrize("version", ["1", "9"])
def test_9_unchanged_unreadable_level_still_rejects(version: str) -> None:
    # Before v10 a level is read with int(); Synapse fails on "abc" even when it is
    # unchanged, so the event is not accepted, and an unchanged "50" is fine.
    n = rule_numbers(KNOWN_ROOM_VERSIONS[version])
    room = _pl_room(version, kick="abc")
    result = room.check(_new_pl(room, ALICE, user_dave=10))
    assert rejected_by(result, f"{n.power_levels}.{n.pl_named}"), result
    room = _pl_room(version, kick="50")
    assert allowed(room.check(_new_pl(room, ALICE, user_dave=10)))


@pytest.mark.parametrize("version", ["1", "2"])
def test_11_unreadable_redact_level_rejects_under_the_redaction_rule(version: str) -> None:
    # Synapse's check_redaction reads the redact level with int() and fails on
    # "fifty": the redaction is not accepted, and the rule that read it is 11.1.
    room = Room(version, members={BOB: "join"}, power_levels={"users": {ALICE: 100}})
    pl = room.state[("m.room.power_levels", "")]
    room.set("m.room.power_levels", ALICE, {**pl.content, "redact": "fifty"}, "")
    result = room.check(room.event("m.room.redaction", BOB, {}, redacts="$x:a"))
    assert rejected_by(result, "11.1"), result
    assert result.rule_name == "redaction: redact level"


def test_verdict_is_an_ordinary_frozen_auth_result() -> None:
    # The rules build their verdicts with auth_result.verdict (a faster constructor):
    # what it returns must be indistinguishable from AuthResult(...).
    import dataclasses

    from app.core.auth_result import verdict

    made = verdict(
        False, "4.4.3", "invite: target not joined or banned", "@bob:b is already joined"
    )
    plain = AuthResult(
        False, "4.4.3", "invite: target not joined or banned", "@bob:b is already joined"
    )
    assert type(made) is AuthResult
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert dataclasses.astuple(made) == (
        False,
        "4.4.3",
        "invite: target not joined or banned",
        "@bob:b is already joined",
    )
    assert made.describe() == plain.describe()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.rule = "1"  # type: ignore[misc]
    assert not hasattr(made, "__dict__")


# -- auth_state_facts: what the rules read of each event of the auth state ----------
# State resolution's memoised iterative auth checks reuse a verdict for an auth state
# whose events have the same facts (v2._memoised_checks). The promise is checked by
# changing the generated cases' auth states behind equal facts (random changes to the
# power levels, members and join rules, another sender and event ID) and comparing the
# verdicts; and it has teeth: facts blind to any one thing the rules read (a facts
# function that "forgot" a field) are caught by the same search.

FACTS_SEED = 7
FACTS_CASES = 900
FACTS_VARIANTS = 10
_GONE = object()
_LEVEL_VALUES: tuple[object, ...] = (0, 10, 50, 100, 50, None, "50", True, 1.5, _GONE)
_USER_POOL = ("@alice:a", "@bob:b", "@carol:c", "@dave:a", "@eve:e", "@zed:z")
_TYPE_POOL = (
    "m.room.member",
    "m.room.name",
    "m.room.topic",
    "m.room.power_levels",
    "m.room.join_rules",
    "m.room.redaction",
    "m.room.message",
    "m.room.third_party_invite",
    "org.example.state",
)
_NAMED = (
    "users_default",
    "events_default",
    "state_default",
    "ban",
    "kick",
    "redact",
    "invite",
    "notifications",
    "org.example.level",
)


def _put(mapping: dict[str, Any], key: str, value: object) -> None:
    if value is _GONE:
        mapping.pop(key, None)
    else:
        mapping[key] = value


def _changed_content(
    rng: Any, event: PDU, key: StateKey, content: Mapping[str, Any]
) -> dict[str, Any]:
    """``content`` of the event at ``key`` with one to three random changes."""
    out: dict[str, Any] = copy.deepcopy(dict(content))
    authoriser = event.content.get("join_authorised_via_users_server")
    users_read = (
        event.sender,
        event.state_key,
        authoriser if isinstance(authoriser, str) else None,
    )
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if key[0] == "m.room.power_levels":
            if r < 0.45:
                users = out.get("users")
                if not isinstance(users, dict):
                    users = out["users"] = {}
                user = rng.choice((*_USER_POOL, *[u for u in users_read if u]))
                _put(users, user, rng.choice(_LEVEL_VALUES))
            elif r < 0.65:
                events = out.get("events")
                if not isinstance(events, dict):
                    events = out["events"] = {}
                _put(events, rng.choice((*_TYPE_POOL, event.type)), rng.choice(_LEVEL_VALUES))
            elif r < 0.95:
                _put(out, rng.choice(_NAMED), rng.choice(_LEVEL_VALUES))
            else:
                _put(out, rng.choice(("users", "events")), rng.choice(([], "x", None, _GONE)))
        elif key[0] == "m.room.member":
            if r < 0.5:
                word = rng.choice(("join", "invite", "leave", "ban", "knock", "bogus", 5, _GONE))
                _put(out, "membership", word)
            else:
                name = rng.choice(
                    ("displayname", "avatar_url", "reason", "join_authorised_via_users_server")
                )
                _put(out, name, rng.choice(("x", "@bob:b", 5, _GONE)))
        elif key[0] == "m.room.join_rules":
            if r < 0.5:
                rule = rng.choice(
                    ("public", "invite", "knock", "restricted", "knock_restricted", "private")
                )
                _put(out, "join_rule", rng.choice((rule, rule, ["invite"], _GONE)))
            else:
                _put(out, rng.choice(("allow", "org.example")), rng.choice(([], "x", _GONE)))
        else:
            _put(out, "org.example", rng.choice(("x", 5, _GONE)))
    return out


def _with(original: PDU, content: Mapping[str, Any], sender: str, n: int) -> PDU:
    """Another event at ``original``'s key: ``content``, ``sender``, a new event ID."""
    raw = dict(original.raw)
    raw["content"] = dict(content)
    raw["sender"] = sender
    raw["origin_server_ts"] = original.origin_server_ts + n + 1
    event_id = f"$facts-variant-{n}:{sender.partition(':')[2] or 'a'}"
    if "event_id" in raw:
        raw["event_id"] = event_id
    return parse_pdu(raw, original.room_version, event_id=event_id)


def _facts_cases() -> list[tuple[PDU, dict[StateKey, PDU]]]:
    """The generated events and the auth states iterative auth checks would give them."""
    out = []
    for case in generate_cases(FACTS_SEED, FACTS_CASES):
        event = case.event
        if event.type == "m.room.create":
            continue
        keys = set(auth_types_for_event(case.version, event)) | {("m.room.create", "")}
        out.append((event, {k: case.state[k] for k in keys if k in case.state}))
    # Rules the generator seldom reaches, a few times each: a restricted join by
    # someone neither invited nor joined (the authorising user's power), and a v1
    # redaction by someone below the redact level.
    pl = {"users": {ALICE: 100, CAROL: 50}, "invite": 50, "redact": 50}
    restricted = Room("10", power_levels=pl, join_rule="restricted", members={CAROL: "join"})
    join = restricted.member(BOB, "join", content={"join_authorised_via_users_server": CAROL})
    v1 = Room("1", power_levels=pl, members={BOB: "join"})
    redaction = v1.event("m.room.redaction", BOB, {}, redacts="$x:zz")
    for _ in range(5):
        out.append((join, dict(restricted.state)))
        out.append((redaction, dict(v1.state)))
    return out


_CASES_CACHE: list[tuple[PDU, dict[StateKey, PDU]]] = []


def _cases() -> list[tuple[PDU, dict[StateKey, PDU]]]:
    if not _CASES_CACHE:
        _CASES_CACHE.extend(_facts_cases())
    return _CASES_CACHE


def _search(facts: Any, *, stop_at_first: bool) -> tuple[int, list[str]]:
    """Auth states changed at one key behind equal ``facts``: how many were checked,
    and those whose verdict changed."""
    checked = 0
    found: list[str] = []
    for i, (event, state) in enumerate(_cases()):
        rng = random.Random(i)
        before = check_auth(event, state)
        for key, current in sorted(state.items()):
            want = facts(event, key, current)
            hash(want)
            for n in range(FACTS_VARIANTS):
                content = _changed_content(rng, event, key, current.content)
                sender = rng.choice((current.sender, current.sender, *_USER_POOL))
                other = _with(current, content, sender, n)
                if facts(event, key, other) != want:
                    continue
                checked += 1
                after = check_auth(event, {**state, key: other})
                if after != before:
                    found.append(
                        f"v{event.room_version.identifier} {event.type} {dict(event.content)} "
                        f"at {key}: {dict(current.content)} -> {content}: "
                        f"{before.describe()} / {after.describe()}"
                    )
                    if stop_at_first:
                        return checked, found
    return checked, found


def test_auth_state_facts_equal_facts_give_the_same_verdict() -> None:
    checked, found = _search(auth_state_facts, stop_at_first=False)
    assert not found, "\n".join(found[:5])
    # Not vacuous: thousands of changed auth states kept their facts.
    assert checked > 5000, checked


def test_auth_state_facts_depend_on_the_event_only_at_the_power_levels() -> None:
    # v2 keeps the facts of every other key per state event, whatever the event checked.
    cases = _cases()
    for event, state in cases[:200]:
        for key, current in state.items():
            if key == ("m.room.power_levels", ""):
                continue
            for other_event, _ in cases[:20]:
                assert auth_state_facts(other_event, key, current) == auth_state_facts(
                    event, key, current
                )


def _blind(change: Any) -> Any:
    """auth_state_facts as if it did not see what ``change`` alters (a content change
    for the event at one key, given the event checked)."""

    def facts(event: PDU, key: StateKey, state_event: PDU) -> object:
        content = change(event, key, state_event.content)
        if content is None:
            return auth_state_facts(event, key, state_event)
        return auth_state_facts(event, key, _with(state_event, content, state_event.sender, 99))

    return facts


def _without_pl(path: Any) -> Any:
    """A content change dropping, from the power levels, the entry ``path(event)`` names:
    (``users``/``events``, key) or a top-level name."""

    def change(event: PDU, key: StateKey, content: Mapping[str, Any]) -> object:
        if key != ("m.room.power_levels", ""):
            return None
        where = path(event)
        out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in content.items()}
        if isinstance(where, tuple):
            inner = out.get(where[0])
            if isinstance(inner, dict) and isinstance(where[1], str):
                inner.pop(where[1], None)
        else:
            out.pop(where, None)
        return out

    return change


def _same_word(name: str, key_type: str, word: str) -> Any:
    def change(event: PDU, key: StateKey, content: Mapping[str, Any]) -> object:
        return {**content, name: word} if key[0] == key_type else None

    return change


BLIND_SPOTS = {
    "users[sender]": _without_pl(lambda e: ("users", e.sender)),
    "users[target]": _without_pl(lambda e: ("users", e.state_key)),
    "users[authorising user]": _without_pl(
        lambda e: ("users", e.content.get("join_authorised_via_users_server"))
    ),
    "events[type]": _without_pl(lambda e: ("events", e.type)),
    "users_default": _without_pl(lambda e: "users_default"),
    "state_default": _without_pl(lambda e: "state_default"),
    "events_default": _without_pl(lambda e: "events_default"),
    "invite": _without_pl(lambda e: "invite"),
    "ban": _without_pl(lambda e: "ban"),
    "kick": _without_pl(lambda e: "kick"),
    "redact": _without_pl(lambda e: "redact"),
    "membership": _same_word("membership", "m.room.member", "join"),
    "join_rule": _same_word("join_rule", "m.room.join_rules", "public"),
}


@pytest.mark.parametrize("blind_spot", sorted(BLIND_SPOTS))
def test_auth_state_facts_missing_what_a_rule_reads_is_caught(blind_spot: str) -> None:
    # The search above would fail if auth_state_facts left out this field.
    checked, found = _search(_blind(BLIND_SPOTS[blind_spot]), stop_at_first=True)
    assert found, f"no verdict changed behind facts blind to {blind_spot} ({checked} checked)"


# -- power_levels_reader: what the power levels facts read of the event checked ------
# v2._memoised_checks keeps a power levels event's facts per (power levels event,
# reader): events with equal readers must get equal facts from every power levels
# event, and a reader that leaves out any part of it is caught.


AUTHORISER = "join_authorised_via_users_server"


def _reader_power_levels() -> list[PDU]:
    """Power levels events that tell users and event types apart: the generated cases'
    own, and variants of them giving every user and type of the cases its own level."""
    cases = _cases()
    key = ("m.room.power_levels", "")
    originals = [state[key] for _, state in cases if key in state][:40]
    users = sorted(
        {u for event, _ in cases for u in (event.sender, event.state_key) if u}
        | {u for event, _ in cases if isinstance(u := event.content.get(AUTHORISER), str)}
    )
    types = sorted({event.type for event, _ in cases})
    out = list(originals)
    for n, original in enumerate(originals[:10]):
        content = {
            **original.content,
            "users": {u: 1 + i + n for i, u in enumerate(users)},
            "events": {t: 200 + i + n for i, t in enumerate(types)},
        }
        out.append(_with(original, content, original.sender, n))
    return out


def _reader_groups(reader: Any) -> list[list[PDU]]:
    cases = _cases()
    events = [event for event, _ in cases]
    # A self-join without an authorising user for every restricted join's joiner.
    restricted = Room("10", join_rule="restricted", members={CAROL: "join"})
    events.append(restricted.member(BOB, "join"))
    groups: dict[object, list[PDU]] = {}
    for event in events:
        groups.setdefault(reader(event), []).append(event)
    return [g for g in groups.values() if len(g) > 1]


def _reader_mismatches(reader: Any) -> int:
    """How many (power levels, group) pairs give events of one reader group unequal facts."""
    key = ("m.room.power_levels", "")
    mismatches = 0
    for power_levels in _reader_power_levels():
        for group in _reader_groups(reader):
            facts = [auth_state_facts(event, key, power_levels) for event in group]
            mismatches += any(f != facts[0] for f in facts)
    return mismatches


def test_power_levels_reader_equal_readers_get_equal_power_levels_facts() -> None:
    assert _reader_mismatches(power_levels_reader) == 0
    # Not vacuous: many events share a reader.
    assert sum(len(g) for g in _reader_groups(power_levels_reader)) > 300


READER_BLIND_SPOTS = {
    "type": lambda e: (e.sender, e.state_key, e.content.get(AUTHORISER)),
    "sender": lambda e: (e.type, e.state_key, e.content.get(AUTHORISER)),
    "target": lambda e: (e.type, e.sender, e.content.get(AUTHORISER)),
    "authorising user": lambda e: (e.type, e.sender, e.state_key),
}


@pytest.mark.parametrize("blind_spot", sorted(READER_BLIND_SPOTS))
def test_power_levels_reader_missing_part_is_caught(blind_spot: str) -> None:
    assert _reader_mismatches(READER_BLIND_SPOTS[blind_spot]) > 0


@pytest.mark.parametrize("authoriser", [{"user": CAROL}, [CAROL], 5, None])
def test_power_levels_reader_of_an_authorising_user_that_is_not_a_string(
    authoriser: object,
) -> None:
    # Untrusted content: the reader is hashable (it keys a memo) and, as the facts
    # read no level for such a value, the same as with no authorising user at all.
    room = Room("10", join_rule="restricted", members={CAROL: "join"})
    event = room.member(BOB, "join", content={AUTHORISER: authoriser})
    plain = room.member(BOB, "join")
    assert hash(power_levels_reader(event)) == hash(power_levels_reader(plain))
    assert power_levels_reader(event) == power_levels_reader(plain)
    key = ("m.room.power_levels", "")
    for power_levels in _reader_power_levels():
        assert auth_state_facts(event, key, power_levels) == auth_state_facts(
            plain, key, power_levels
        )


# -- the keys the rules read ------------------------------------------------------
# State resolution's fast paths rely on it: the one-off checks build an auth state
# from the partial state at the event's auth types only (v2._plain_checks), and
# the memoised ones keep verdicts by what the rules read at those keys
# (v2._memoised_checks). A rule reading any other key would make both wrong.


class _ReadKeys(Mapping[StateKey, PDU]):
    """An auth state that notes every key looked up in it (and whether it was
    iterated, which would read them all)."""

    def __init__(self, state: Mapping[StateKey, PDU]) -> None:
        self._state = state
        self.read: set[StateKey] = set()
        self.iterated = False

    def __getitem__(self, key: StateKey) -> PDU:
        self.read.add(key)
        return self._state[key]

    def __iter__(self) -> Any:
        self.iterated = True
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)


def test_the_rules_read_only_the_auth_types_keys_and_a_power_levels_events_own() -> None:
    outside = 0
    for case in generate_cases(37, 1500):
        event = case.event
        allowed = set(auth_types_for_event(case.version, event)) | {("m.room.create", "")}
        if event.type == "m.room.power_levels" and event.state_key is not None:
            # The previous power levels, under the event's own state_key (Synapse's).
            allowed.add(("m.room.power_levels", event.state_key))
        outside += any(key not in allowed for key in case.state)
        state = _ReadKeys(case.state)
        check_auth(event, state, create_event=case.create)
        assert not state.iterated, f"{case.label}: the rules iterated the auth state"
        assert state.read <= allowed, f"{case.label}: read {sorted(state.read - allowed)}"
    # Not vacuous: most states hold keys the event's rules must not read.
    assert outside > 1000
