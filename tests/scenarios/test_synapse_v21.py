"""Synapse's published state resolution v2.1 (MSC4297) state-reset scenarios.

Data from element-hq/synapse ``tests/state/test_v21.py`` (Apache-2.0 / AGPL-3.0,
Copyright New Vector Ltd): ``test_state_reset_replay_conflicted_subgraph`` and
``test_state_reset_start_empty_set``, events, auth events, state maps and
expected state as published. Synapse runs them in ``RoomVersions.HydraV11``,
the prototype of room version 12 (v2.1 state resolution, implicit create event);
here they are built as room version 12 PDUs. Under v2 (room version 11 rules,
``algorithm="v2"``) the same inputs reset, which is what v2.1 fixes.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from app.core.builder import build_event, room_id_for
from app.core.events import PDU, StateKey
from app.core.stateres import resolve_state
from app.core.versions import room_version
from tests.scenarios.dsl import ALICE, BOB, CHARLIE, EVELYN, ZARA

V12 = room_version("12")
CREATE = ("m.room.create", "")
PL = ("m.room.power_levels", "")
JR = ("m.room.join_rules", "")


def member(user: str) -> StateKey:
    return ("m.room.member", user)


class Room:
    """Events made the way the published test's ``create_event`` makes them."""

    def __init__(self) -> None:
        self.events: dict[str, PDU] = {}
        self.ts = itertools.count(1)
        self.room_id: str | None = None

    def add(
        self,
        etype: str,
        state_key: str,
        sender: str,
        content: Mapping[str, Any],
        auth: Sequence[PDU] = (),
        prev: Sequence[PDU] = (),
    ) -> PDU:
        pdu = build_event(
            V12,
            type=etype,
            state_key=state_key,
            sender=sender,
            content=content,
            room_id=self.room_id,
            auth_events=[a.event_id for a in auth],
            prev_events=[p.event_id for p in prev],
            depth=5,
            origin_server_ts=next(self.ts),
        )
        if self.room_id is None:
            self.room_id = room_id_for(pdu)
        self.events[pdu.event_id] = pdu
        return pdu


def state(*events: PDU) -> dict[StateKey, str]:
    out: dict[StateKey, str] = {}
    for e in events:
        assert e.state_key is not None
        out[(e.type, e.state_key)] = e.event_id
    return out


JOIN = {"membership": "join"}


def test_state_reset_replay_conflicted_subgraph() -> None:
    r = Room()
    create = r.add("m.room.create", "", ALICE, {"creator": ALICE})
    ma = r.add("m.room.member", ALICE, ALICE, JOIN, prev=[create])
    power1 = r.add("m.room.power_levels", "", ALICE, {"users": {}}, auth=[ma])
    jr = r.add("m.room.join_rules", "", ALICE, {"join_rule": "public"}, auth=[ma, power1])
    mb = r.add("m.room.member", BOB, BOB, JOIN, auth=[power1, jr])
    mc = r.add("m.room.member", CHARLIE, CHARLIE, JOIN, auth=[power1, jr])
    power2 = r.add("m.room.power_levels", "", ALICE, {"users": {BOB: 50}}, auth=[ma, power1])
    power3 = r.add(
        "m.room.power_levels", "", BOB, {"users": {BOB: 50, CHARLIE: 50}}, auth=[mb, power2]
    )
    me1 = r.add("m.room.member", EVELYN, EVELYN, JOIN, auth=[power3, jr])
    # Eve renames herself, citing the OLD power levels directly (and the new ones
    # only through her previous membership): the "dodgy" event.
    me2 = r.add("m.room.member", EVELYN, EVELYN, JOIN, auth=[power1, jr, me1])
    mz = r.add("m.room.member", ZARA, ZARA, JOIN, auth=[power3, jr])

    dodgy_after_eve_rename = state(create, ma, mb, mc, me2, power1, jr)
    sensible_after_zara_joins = state(create, ma, mb, mc, mz, power3, jr)
    published = state(create, ma, mb, mc, me1, mz, power3, jr)

    got = resolve_state(V12, [dodgy_after_eve_rename, sensible_after_zara_joins], r.events)
    assert dict(got.state) == published


def test_state_reset_start_empty_set() -> None:
    r = Room()
    create = r.add("m.room.create", "", ALICE, {"creator": ALICE})
    ma1 = r.add("m.room.member", ALICE, ALICE, JOIN)
    power = r.add("m.room.power_levels", "", ALICE, {"users": {BOB: 100}}, auth=[ma1])
    jr1 = r.add("m.room.join_rules", "", ALICE, {"join_rule": "public"}, auth=[ma1, power])
    mb = r.add("m.room.member", BOB, BOB, JOIN, auth=[power, jr1])
    jr2 = r.add("m.room.join_rules", "", ALICE, {"join_rule": "invite"}, auth=[ma1, power])
    ma2 = r.add("m.room.member", ALICE, ALICE, {"membership": "leave"}, auth=[power, ma1])

    correct = state(create, ma2, mb, power, jr2)
    incorrect = state(create, ma2, mb, power, jr1)
    published = state(create, ma2, mb, power, jr2)

    got = resolve_state(V12, [correct, incorrect], r.events)
    assert dict(got.state) == published
    # v2 starts from the unconflicted state, where Alice has left: neither join
    # rules event passes and the key resets (MSC4297 problem A).
    reset = resolve_state(V12, [correct, incorrect], r.events, algorithm="v2")
    assert JR not in reset.state


def test_conflicted_subgraph_of_the_replay_case_is_between_conflicted_events() -> None:
    """The published test also checks the create event is never in the difference."""
    r = Room()
    create = r.add("m.room.create", "", ALICE, {"creator": ALICE})
    ma = r.add("m.room.member", ALICE, ALICE, JOIN, prev=[create])
    power1 = r.add("m.room.power_levels", "", ALICE, {"users": {}}, auth=[ma])
    jr = r.add("m.room.join_rules", "", ALICE, {"join_rule": "public"}, auth=[ma, power1])
    mb = r.add("m.room.member", BOB, BOB, JOIN, auth=[power1, jr])
    power2 = r.add("m.room.power_levels", "", ALICE, {"users": {BOB: 50}}, auth=[ma, power1])
    power3 = r.add(
        "m.room.power_levels", "", BOB, {"users": {BOB: 50, CHARLIE: 50}}, auth=[mb, power2]
    )
    me1 = r.add("m.room.member", EVELYN, EVELYN, JOIN, auth=[power3, jr])
    me2 = r.add("m.room.member", EVELYN, EVELYN, JOIN, auth=[power1, jr, me1])
    mz = r.add("m.room.member", ZARA, ZARA, JOIN, auth=[power3, jr])
    trace = resolve_state(
        V12,
        [state(create, ma, mb, me2, power1, jr), state(create, ma, mb, mz, power3, jr)],
        r.events,
        trace=True,
    ).trace
    assert trace is not None
    subgraph = set(trace.event_set("conflicted state subgraph") or ())
    full = set(trace.event_set("full conflicted set") or ())
    # power1 and power3 conflict; power2, mb and me1 lie on auth paths between
    # conflicted events, so v2.1 replays them; the create event does not.
    assert {power1.event_id, power2.event_id, power3.event_id, me1.event_id} <= subgraph
    assert create.event_id not in full
