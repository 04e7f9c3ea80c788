"""State before/after every event (app.core.roomstate), checked against Synapse.

The oracle is Synapse 1.163 run in-process (tests/oracle/synapse_state.py) over
rooms from the seeded generator (tests/generators/forked_rooms.py): a fixed
sample of versions and seeds, plus one random seed printed in the log (the
large differential run is the harness's, tests/core/test_stateres_vs_synapse.py).
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from app.core.auth import auth_types_for_event
from app.core.builder import build_event, generate_signing_key
from app.core.events import PDU, StateKey
from app.core.graph import EventGraph
from app.core.roomstate import RoomStates, StateMap, event_verdicts
from app.core.versions import KNOWN_ROOM_VERSIONS, RoomVersion, room_version

ALICE = "@alice:a.example"
BOB = "@bob:b.example"


def test_state_map_is_a_persistent_map() -> None:
    base = StateMap({("a", ""): "$1", ("b", ""): "$2"})
    child = base.set(("c", ""), "$3")
    assert dict(base) == {("a", ""): "$1", ("b", ""): "$2"}
    assert dict(child) == {("a", ""): "$1", ("b", ""): "$2", ("c", ""): "$3"}
    assert len(child) == 3 and ("c", "") in child and ("c", "") not in base
    assert child._base is base._base  # shared, not copied
    assert base.set(("a", ""), "$1") is base
    removed = child.update({("a", ""): None})
    assert dict(removed) == {("b", ""): "$2", ("c", ""): "$3"} and len(removed) == 2
    assert sorted(removed.values()) == ["$2", "$3"]
    # Many changes make a fresh base rather than a long delta.
    grown = base
    for i in range(2000):
        grown = grown.set(("m", str(i)), f"${i}")
    assert len(grown) == 2002 and len(grown._delta) < 100
    assert grown.to_dict()[("m", "1999")] == "$1999"


def _compare_with_oracle(version: RoomVersion, seed: int) -> None:
    from tests.generators.forked_rooms import SMALL, generate_room
    from tests.oracle.synapse_state import StateTracker, compute_room_states

    room = generate_room(version, seed, SMALL, tracker=StateTracker(version))
    oracle = compute_room_states(version, room.events)
    ours = RoomStates(EventGraph.build(room.events, room_version=version))
    where = f"room version {version.identifier}, seed {seed}"
    for event_id in oracle.order:
        assert ours.is_rejected(event_id) == (event_id in oracle.rejected), (
            f"{where}: {event_id}: Synapse says {oracle.rejected.get(event_id)}, "
            f"roomscope says {ours.verdict(event_id).reason}"
        )
        assert dict(ours.state_before(event_id)) == dict(oracle.state_before[event_id]), (
            f"{where}: state before {event_id}"
        )
        assert dict(ours.state_after(event_id)) == dict(oracle.state_after[event_id]), (
            f"{where}: state after {event_id}"
        )


@pytest.mark.synapse
@pytest.mark.parametrize(
    ("version_id", "seed"), [("1", 3), ("2", 1), ("6", 2), ("10", 3), ("11", 4), ("12", 5)]
)
def test_states_agree_with_synapse_fixed_sample(version_id: str, seed: int) -> None:
    _compare_with_oracle(room_version(version_id), seed)


@pytest.mark.synapse
def test_states_agree_with_synapse_random_seed() -> None:
    seed = int(os.environ.get("ROOMSCOPE_ROOMSTATE_SEED", random.randrange(1_000_000)))
    version = random.Random(seed).choice(list(KNOWN_ROOM_VERSIONS.values()))
    print(f"roomstate random check: room version {version.identifier}, seed {seed}")
    _compare_with_oracle(version, seed)


class Builder:
    """A tiny signed v10 room, auth events chosen from roomscope's own state."""

    def __init__(self) -> None:
        self.version = room_version("10")
        self.states = RoomStates(version=self.version)
        self.by_name: dict[str, PDU] = {}
        self.ts = 0
        self.keys = {s: generate_signing_key(s.encode()) for s in ("a.example", "b.example")}

    def add(
        self,
        name: str,
        sender: str,
        etype: str,
        state_key: str | None,
        content: Mapping[str, Any],
        prevs: Sequence[str],
    ) -> PDU:
        self.ts += 1
        prev_ids = [self.by_name[p].event_id for p in prevs]
        before = self.states.state_for(prev_ids) or StateMap()
        draft = build_event(
            self.version,
            type=etype,
            sender=sender,
            content=content,
            state_key=state_key,
            room_id="!r:a.example",
        )
        auth = [before[k] for k in sorted(auth_types_for_event(self.version, draft)) if k in before]
        pdu = build_event(
            self.version,
            type=etype,
            sender=sender,
            content=content,
            state_key=state_key,
            room_id="!r:a.example",
            prev_events=prev_ids,
            auth_events=auth,
            depth=1 + max((self.by_name[p].depth for p in prevs), default=0),
            origin_server_ts=self.ts,
            signing_key=self.keys[sender.split(":")[1]],
        )
        self.by_name[name] = pdu
        self.states.add(pdu)
        return pdu

    def start(self) -> None:
        self.add("create", ALICE, "m.room.create", "", {"creator": ALICE, "room_version": "10"}, [])
        self.add("ma", ALICE, "m.room.member", ALICE, {"membership": "join"}, ["create"])
        self.add("pl", ALICE, "m.room.power_levels", "", {"users": {ALICE: 100}}, ["ma"])
        self.add("jr", ALICE, "m.room.join_rules", "", {"join_rule": "public"}, ["pl"])
        self.add("mb", BOB, "m.room.member", BOB, {"membership": "join"}, ["jr"])


def test_rejected_event_leaves_state_alone_and_stays_rejected() -> None:
    b = Builder()
    b.start()
    # Bob (power 0) tries to change the power levels: rejected.
    bad = b.add("bad_pl", BOB, "m.room.power_levels", "", {"users": {BOB: 100}}, ["mb"])
    verdict = b.states.verdict(bad.event_id)
    assert verdict.rejected and verdict.stage is not None and verdict.reason
    assert b.states.state_after(bad.event_id) is b.states.state_before(bad.event_id)
    # A message after it: the power levels are still Alice's.
    msg = b.add("msg", ALICE, "m.room.message", None, {"body": "hi"}, ["bad_pl"])
    key: StateKey = ("m.room.power_levels", "")
    assert b.states.state_after(msg.event_id)[key] == b.by_name["pl"].event_id
    # Non-state events share their parent's state object.
    assert b.states.state_after(msg.event_id) is b.states.state_before(msg.event_id)


def test_soft_failure_against_the_current_state() -> None:
    b = Builder()
    b.start()
    # Alice bans Bob; concurrently (same prev event) Bob sends a message, received after.
    ban = b.add("ban", ALICE, "m.room.member", BOB, {"membership": "ban"}, ["mb"])
    msg = b.add("bob_msg", BOB, "m.room.message", None, {"body": "hi"}, ["mb"])
    assert not b.states.is_rejected(msg.event_id)  # passes the state before it
    soft = b.states.soft_failures()
    assert msg.event_id in soft and ban.event_id not in soft
    assert "soft failed" in (soft[msg.event_id].reason or "")
    graph = EventGraph.build(b.by_name.values(), room_version=b.version)
    verdicts = event_verdicts(graph, soft_fail=True)
    assert verdicts[msg.event_id].soft_failed and not verdicts[msg.event_id].rejected
    # The graph-built states agree with the incremental ones.
    again = RoomStates(graph)
    for pdu in b.by_name.values():
        assert dict(again.state_after(pdu.event_id)) == dict(b.states.state_after(pdu.event_id))


def test_merge_resolutions_are_cached() -> None:
    b = Builder()
    b.start()
    b.add("t1", ALICE, "m.room.topic", "", {"topic": "one"}, ["mb"])
    b.add("t2", ALICE, "m.room.topic", "", {"topic": "two"}, ["mb"])
    m1 = b.add("m1", ALICE, "m.room.message", None, {}, ["t1", "t2"])
    m2 = b.add("m2", BOB, "m.room.message", None, {}, ["t2", "t1"])
    assert b.states.resolutions == 1
    assert b.states.state_before(m1.event_id) is b.states.state_before(m2.event_id)
    # Published rule (mainline ordering, equal positions): the later topic wins.
    assert b.states.state_after(m1.event_id)[("m.room.topic", "")] == b.by_name["t2"].event_id


def test_soft_failure_check_has_a_budget() -> None:
    from app.core.roomstate import SoftFailureTooCostly

    b = Builder()
    b.start()
    b.add("t1", ALICE, "m.room.topic", "", {"topic": "one"}, ["mb"])
    b.add("t2", ALICE, "m.room.topic", "", {"topic": "two"}, ["mb"])
    b.add("late", ALICE, "m.room.message", None, {}, ["t1"])  # the current state merges t1, t2
    with pytest.raises(SoftFailureTooCostly):
        b.states.soft_failures(max_resolutions=0)
    assert b.states.soft_failures() == {}


def _random_delivery(events: Sequence[PDU], rng: random.Random) -> list[PDU]:
    """The events in a random order where about one in five comes as soon as one of its
    prev events is there, the others after all of them.

    An early event can come before its own auth events (and before the events
    whose state it merges): it is rejected for the missing auth event, and the
    auth event, arriving later, is read for the first time.
    """
    by_id = {e.event_id: e for e in events}
    need: dict[str, int] = {}
    children: dict[str, list[str]] = {e.event_id: [] for e in events}
    for e in events:
        prevs = {p for p in e.prev_events if p in by_id}
        need[e.event_id] = min(len(prevs), 1) if rng.random() < 0.2 else len(prevs)
        for p in prevs:
            children[p].append(e.event_id)
    ready = [eid for eid, n in need.items() if n == 0]
    done: set[str] = set()
    out: list[PDU] = []
    while ready:
        event_id = ready.pop(rng.randrange(len(ready)))
        if event_id in done:
            continue
        done.add(event_id)
        out.append(by_id[event_id])
        for child in children[event_id]:
            need[child] -= 1
            if need[child] == 0:
                ready.append(child)
    assert len(out) == len(events)
    return out


@pytest.mark.synapse
@pytest.mark.parametrize(("version_id", "seed"), [("10", 12), ("10", 16), ("11", 12), ("12", 18)])
def test_incremental_states_agree_with_synapse_when_events_arrive_out_of_order(
    version_id: str, seed: int
) -> None:
    """RoomStates.add fed events late (after events citing them), as Synapse's oracle.

    Memos kept across resolutions (auth state parts, verdicts, auth chains) must
    not keep what they read before an event appeared or was rejected: every
    event's verdict and states must match Synapse's, fed the same order.
    """
    from tests.generators.forked_rooms import WIDE, generate_room
    from tests.oracle.synapse_state import StateTracker

    version = room_version(version_id)
    room = generate_room(version, seed, WIDE, tracker=StateTracker(version))
    order = _random_delivery(room.events, random.Random(seed))
    oracle = StateTracker(version)
    ours = RoomStates(version=version)
    late = 0
    seen: set[str] = set()
    for pdu in order:
        late += any(a not in seen for a in pdu.auth_events)
        seen.add(pdu.event_id)
        reason = oracle.add(pdu)
        verdict = ours.add(pdu)
        where = f"room version {version_id}, seed {seed}, {pdu.event_id}"
        assert (verdict is not None) == (reason is not None), (
            f"{where}: Synapse says {reason}, roomscope says {verdict and verdict.reason}"
        )
        before = dict(ours.state_before(pdu.event_id))
        assert before == dict(oracle.states.state_before[pdu.event_id]), f"{where}: before"
        after = dict(ours.state_after(pdu.event_id))
        assert after == dict(oracle.states.state_after[pdu.event_id]), f"{where}: after"
    assert late > 0, "the order should deliver some auth events late"
    assert ours.resolutions > 0


def test_a_join_with_an_object_for_its_authorising_user_is_resolved_like_any_other() -> None:
    # Untrusted content the rules ignore: before room version 8 nothing reads
    # join_authorised_via_users_server (v8+ rejects a join whose value is not a
    # user ID, 4.2). Merged twice, so that the second resolution's checks are the
    # memoised ones, which once put that value in a key and failed to hash it.
    b = Builder()
    b.version = room_version("7")
    b.states = RoomStates(version=b.version)
    b.add("create", ALICE, "m.room.create", "", {"creator": ALICE, "room_version": "7"}, [])
    b.add("ma", ALICE, "m.room.member", ALICE, {"membership": "join"}, ["create"])
    b.add("pl", ALICE, "m.room.power_levels", "", {"users": {ALICE: 100}}, ["ma"])
    b.add("jr", ALICE, "m.room.join_rules", "", {"join_rule": "public"}, ["pl"])
    authoriser = {"join_authorised_via_users_server": {"user": ALICE}}
    b.add("mb", BOB, "m.room.member", BOB, {"membership": "join", **authoriser}, ["jr"])
    b.add("t1", ALICE, "m.room.topic", "", {"topic": "one"}, ["jr"])
    b.add("m1", ALICE, "m.room.message", None, {}, ["mb", "t1"])
    b.add("t2", ALICE, "m.room.topic", "", {"topic": "two"}, ["t1"])
    m2 = b.add("m2", ALICE, "m.room.message", None, {}, ["mb", "t2"])
    assert b.states.resolutions == 2
    assert not b.states.is_rejected(b.by_name["mb"].event_id)
    # Each conflicted key has one candidate, which passes its checks.
    state = b.states.state_before(m2.event_id)
    assert state[("m.room.member", BOB)] == b.by_name["mb"].event_id
    assert state[("m.room.topic", "")] == b.by_name["t2"].event_id
