"""The trace: what the resolver records, and the explanations built from it.

Expectations come from the published scenarios: Synapse's ``test_ban_vs_pl``
(Bob's power levels lose because Alice's ban is applied first in the reverse
topological power ordering) and ``test_mainline_sort`` (T3 beats T4 because it
is later in mainline order), and MSC4297 problem B (v2 resets the power levels,
v2.1 does not).
"""

from __future__ import annotations

import json

from app.core.stateres import resolve_state
from app.core.stateres.trace import (
    AuthCheckStep,
    EventSetStep,
    FinalStep,
    InputStep,
    MainlineStep,
    OrderingStep,
    SplitStep,
)
from app.core.versions import room_version
from tests.scenarios.dsl import build_graph
from tests.scenarios.ruma import expected, load_events, state_map_names
from tests.scenarios.test_synapse_v2 import SCENARIOS

V2 = room_version("2")
PL = ("m.room.power_levels", "")
TOPIC = ("m.room.topic", "")


def _end_resolution(name: str):  # type: ignore[no-untyped-def]
    events, edges, _ = SCENARIOS[name]
    built = build_graph(V2, events, edges)
    end = built.by_node["END"]
    sets = [built.state_after[p.split("$")[1].split(":")[0]] for p in end.prev_events]
    return built, resolve_state(V2, sets, built.events, trace=True)


def test_trace_off_records_nothing() -> None:
    built, traced = _end_resolution("ban_vs_pl")
    end = built.by_node["END"]
    sets = [built.state_after[p.split("$")[1].split(":")[0]] for p in end.prev_events]
    plain = resolve_state(V2, sets, built.events)
    assert plain.trace is None
    assert dict(plain.state) == dict(traced.state)


def test_trace_steps_in_the_algorithms_order() -> None:
    _, resolution = _end_resolution("ban_vs_pl")
    trace = resolution.trace
    assert trace is not None and trace.algorithm == "v2"
    kinds = [type(s) for s in trace.steps]
    assert kinds[0] is InputStep and kinds[1] is SplitStep and kinds[-1] is FinalStep
    names = [s.name for s in trace.steps if isinstance(s, EventSetStep)]
    assert names == ["auth difference", "full conflicted set"]  # no subgraph in v2
    assert [o.name for o in trace.orderings] == [
        "reverse topological power ordering",
        "mainline ordering",
    ]
    assert any(isinstance(s, MainlineStep) for s in trace.steps)
    assert trace.final_state == dict(resolution.state)


def test_why_ban_vs_power_levels() -> None:
    built, resolution = _end_resolution("ban_vs_pl")
    trace = resolution.trace
    assert trace is not None
    why = trace.why(PL)
    assert why.conflicted and why.winner == built.id("PA")
    fates = {c.event_id: c for c in why.candidates}
    pb = fates[built.id("PB")]
    assert pb.fate.startswith("failed auth")
    assert pb.state_sets  # it came from one of the input state sets
    # Bob's power levels were checked after Alice's ban of Bob was applied.
    checks = {c.event_id: c for c in trace.auth_checks}
    assert checks[built.id("PB")].outcome == "rejected"
    assert checks[built.id("PB")].rule
    assert dict(checks[built.id("PB")].auth_state)[("m.room.member", "@bob:example.com")] == (
        built.id("MB")
    )
    power = trace.orderings[0]
    assert [e.event_id for e in power.entries].index(built.id("MB")) < [
        e.event_id for e in power.entries
    ].index(built.id("PB"))


def test_why_mainline_sort() -> None:
    built, resolution = _end_resolution("mainline_sort")
    trace = resolution.trace
    assert trace is not None
    why = trace.why(TOPIC)
    assert why.winner == built.id("T3")
    assert "mainline order" in why.decision
    mainline = trace.mainline
    assert mainline is not None and mainline.power_levels == built.id("PA2")
    entries = {e.event_id: e for e in trace.orderings[1].entries}
    # T3 cites PA2 (position 3), T4 cites PB, which is not on the mainline: its
    # closest mainline event is PA1 (position 2).
    assert entries[built.id("T3")].key[0] == 3
    assert entries[built.id("T4")].key[0] == 2
    assert entries[built.id("T4")].mainline_event == built.id("PA1")


def test_render_and_json() -> None:
    _, resolution = _end_resolution("ban_vs_pl")
    trace = resolution.trace
    assert trace is not None
    text = trace.render_text()
    for heading in (
        "Unconflicted state map",
        "Conflicted state set",
        "Auth difference",
        "Full conflicted set",
        "Reverse topological power ordering",
        "Mainline",
        "Why each conflicted key resolved as it did",
    ):
        assert heading in text
    data = json.loads(json.dumps(trace.to_json()))
    assert data["algorithm"] == "v2"
    assert data["steps"][0]["step"] == "input"
    assert {tuple(w["key"]) for w in data["why"]} == set(trace.conflicted_keys)


def test_problem_b_v2_resets_and_v21_does_not() -> None:
    fixture = load_events(["MSC4297-problem-B/pdus-v12.json"])
    sets = [
        fixture.state_map(state_map_names(f))
        for f in ("MSC4297-problem-B/state-eve.json", "MSC4297-problem-B/state-zara.json")
    ]
    v21 = resolve_state(fixture.version, sets, fixture.by_id, trace=True)
    v20 = resolve_state(fixture.version, sets, fixture.by_id, trace=True, algorithm="v2")
    assert v21.trace is not None and v20.trace is not None
    assert dict(v21.state) == expected("msc4297_problem_b_state_res_v2_1", fixture)
    first_pl = fixture.ids["$00-m-room-power_levels"]
    last_pl = fixture.ids["$02-m-room-power_levels"]
    assert v20.state[PL] == first_pl and v21.state[PL] == last_pl
    comparison = v21.trace.compare(v20.trace)
    assert PL in comparison.differing_keys
    # v2.1 replays the power levels between the two conflicted ones.
    assert fixture.ids["$01-m-room-power_levels"] in comparison.only_here
    text = comparison.render_text()
    assert "conflicted state subgraph" in text and "failed auth" in text
    checks = [c for c in v20.trace.auth_checks if c.event_id == last_pl]
    assert checks and checks[0].outcome == "rejected"


def test_previously_rejected_events_are_never_admitted() -> None:
    from app.core.stateres import MappingSource

    built, _ = _end_resolution("topic_basic")
    end = built.by_node["END"]
    sets = [built.state_after[p.split("$")[1].split(":")[0]] for p in end.prev_events]
    source = MappingSource(built.events, rejected={built.id("PA2")})
    got = resolve_state(V2, sets, source, trace=True)
    assert got.state[PL] != built.id("PA2")
    assert got.trace is not None
    skipped = [c for c in got.trace.auth_checks if c.event_id == built.id("PA2")]
    assert skipped and skipped[0].outcome == "previously rejected"
    assert isinstance(skipped[0], AuthCheckStep) and not skipped[0].allowed
    assert "never admitted" in got.trace.why(PL).render_text()


def test_v1_trace_orders_by_depth_then_sha1() -> None:
    from app.core.builder import build_event

    v1 = room_version("1")
    user = "@user_id:example.com"
    create = build_event(
        v1,
        type="m.room.create",
        state_key="",
        sender=user,
        content={"creator": user},
        event_id="START",
        depth=1,
    )
    a = build_event(
        v1,
        type="m.room.member",
        state_key=user,
        sender=user,
        content={"membership": "join"},
        event_id="A",
        depth=2,
    )
    b = build_event(
        v1, type="m.room.name", state_key="", sender=user, content={}, event_id="B", depth=3
    )
    c = build_event(
        v1, type="m.room.name", state_key="", sender=user, content={}, event_id="C", depth=4
    )
    events = {e.event_id: e for e in (create, a, b, c)}
    base = {("m.room.create", ""): "START", ("m.room.member", user): "A"}
    got = resolve_state(
        v1,
        [{**base, ("m.room.name", ""): "B"}, {**base, ("m.room.name", ""): "C"}],
        events,
        trace=True,
    )
    assert got.state[("m.room.name", "")] == "C"
    assert got.trace is not None and got.trace.algorithm == "v1"
    order = got.trace.orderings[0]
    assert isinstance(order, OrderingStep)
    assert [e.event_id for e in order.entries] == ["C", "B"]  # greatest depth first
    assert "greatest depth" in got.trace.why(("m.room.name", "")).decision
