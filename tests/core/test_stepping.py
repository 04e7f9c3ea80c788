"""The stepper's steps, derived from the resolver's trace (app.core.stepping).

Expectations come from published scenarios, not from roomscope's output:
Synapse's ``tests/state/test_v2.py`` "ban vs pl" (the state at END keeps PA, MA
and MB: Alice's ban is applied before Bob's power levels, which then fail) and
ruma-state-res's MSC4297 problem B fixture with its published v2.0 and v2.1
results (v2.1 replays the power levels between the conflicted ones, its
conflicted state subgraph, and keeps the newest power levels; v2.0 resets them).
Each step is also checked against the trace record it shows.
"""

from __future__ import annotations

import pytest

from app.core.errors import RoomscopeError
from app.core.graph import EventGraph
from app.core.roomstate import RoomStates
from app.core.stateres import resolve_state
from app.core.stateres.trace import (
    AuthCheckStep,
    EventSetStep,
    OrderingStep,
    PartialStateStep,
)
from app.core.stepping import (
    PHASES,
    Stepping,
    build_steps,
    inputs_at,
    inputs_from_named_sets,
    step_through,
)
from app.core.versions import room_version
from tests.scenarios.dsl import Built, build_graph
from tests.scenarios.ruma import Fixture, expected, load_events, state_map_names
from tests.scenarios.test_synapse_v2 import SCENARIOS

V2 = room_version("2")
PL = ("m.room.power_levels", "")
BOB = ("m.room.member", "@bob:example.com")
ALICE = ("m.room.member", "@alice:example.com")


def ban_vs_pl() -> tuple[Built, RoomStates]:
    events, edges, _ = SCENARIOS["ban_vs_pl"]
    built = build_graph(V2, events, edges)
    graph = EventGraph.build(built.by_node.values(), room_version=V2, check_event_ids=False)
    return built, RoomStates(graph)


def ban_vs_pl_steps() -> tuple[Built, Stepping]:
    built, states = ban_vs_pl()
    inputs = inputs_at(states, [built.id("END")])
    return built, step_through(V2, inputs, states)


def problem_b(algorithm: str | None = None) -> tuple[Fixture, Stepping]:
    fixture = load_events(["MSC4297-problem-B/pdus-v12.json"])
    sets = [
        fixture.state_map(state_map_names(f))
        for f in ("MSC4297-problem-B/state-eve.json", "MSC4297-problem-B/state-zara.json")
    ]
    resolution = resolve_state(
        fixture.version, sets, fixture.by_id, trace=True, algorithm=algorithm
    )
    assert resolution.trace is not None
    return fixture, build_steps(resolution.trace, set_names=("eve", "zara"))


def test_phases_follow_the_algorithm_and_every_phase_has_a_step() -> None:
    _, stepping = ban_vs_pl_steps()
    phases = [s.phase for s in stepping.steps]
    assert phases == sorted(phases)  # the steps walk the phases in order
    assert stepping.phases == tuple(p.number for p in PHASES)
    assert [p.name for p in PHASES][:3] == ["Sets", "Split", "Auth diff"]
    for number in stepping.phases:
        first = stepping.first_step_of(number)
        assert first is not None and stepping.steps[first].phase == number
    assert [s.index for s in stepping.steps] == list(range(len(stepping)))


def test_ban_vs_pl_published_outcome_step_by_step() -> None:
    built, stepping = ban_vs_pl_steps()
    trace = stepping.trace
    # One step per iterative auth check, in the trace's order, each about the
    # event checked and the auth state it was checked against.
    checks = [s for s in stepping.steps if s.kind == "auth check"]
    assert [s.record for s in checks] == list(trace.auth_checks)
    for step in checks:
        record = step.record
        assert isinstance(record, AuthCheckStep)
        assert set(step.event_ids) == {record.event_id, *(e for _, e in record.auth_state)}
        assert step.focus == record.event_id and step.keys == (record.key,)
    # Published: the ban comes first and Bob's power levels then fail auth.
    order = [s.record.event_id for s in checks]  # type: ignore[attr-defined]
    assert order.index(built.id("MB")) < order.index(built.id("PB"))
    pb = next(s for s in checks if s.focus == built.id("PB"))
    assert pb.applied == () and "failed" in pb.explanation and pb.title.startswith("Failed")
    mb = next(s for s in checks if s.focus == built.id("MB"))
    assert mb.applied == ((BOB, built.id("MB")),)
    # The partial state after the last power check is the trace's own record.
    last_power = max(s.index for s in checks if s.phase == 6)
    recorded = next(
        s for s in trace.steps if isinstance(s, PartialStateStep) and s.phase == "the power events"
    )
    assert stepping.partial_state(last_power) == dict(recorded.state)
    # Published: the state at END keeps PA, MA and MB.
    final = stepping.partial_state(len(stepping) - 1)
    assert final[PL] == built.id("PA")
    assert final[BOB] == built.id("MB")
    assert final[ALICE] == built.id("MA")
    assert stepping.steps[-1].kind == "result"
    assert set(stepping.steps[-1].event_ids) == {built.id(n) for n in ("PA", "MA", "MB")}
    # The power levels key is decided at Bob's failed check, its last.
    assert stepping.decided_at(PL) == pb.index
    assert stepping.why(PL).winner == built.id("PA")


def test_partial_state_before_the_split_is_empty_then_the_unconflicted_map() -> None:
    _, stepping = ban_vs_pl_steps()
    assert stepping.partial_state(0) == {}
    split = stepping.trace.split
    assert split is not None
    assert stepping.partial_state(1) == dict(split.unconflicted)  # v2 starts from it
    assert stepping.base == split.unconflicted


def test_event_set_steps_are_the_traces_sets() -> None:
    _, stepping = ban_vs_pl_steps()
    trace = stepping.trace
    for step in stepping.steps:
        if isinstance(step.record, EventSetStep):
            assert step.event_ids == step.record.event_ids
            assert step.phase == (3 if step.record.name == "auth difference" else 4)
        if isinstance(step.record, OrderingStep):
            assert step.event_ids == tuple(e.event_id for e in step.record.entries)
    assert stepping.steps[2].event_ids == trace.event_set("auth difference")


def test_problem_b_v21_replays_the_conflicted_subgraph() -> None:
    fixture, stepping = problem_b()
    ids = fixture.ids
    subgraph = [s for s in stepping.steps if s.kind == "conflicted state subgraph"]
    assert len(subgraph) == 1 and subgraph[0].phase == 4
    # MSC4297: the power levels between the two conflicted ones are replayed.
    assert ids["$01-m-room-power_levels"] in subgraph[0].event_ids
    assert "MSC4297" in subgraph[0].explanation
    # v2.1 starts the iterative auth checks from an empty state map.
    assert stepping.base == ()
    first_check = min(s.index for s in stepping.steps if s.kind == "auth check")
    assert stepping.partial_state(first_check - 1) == {}
    assert "empty state map" in stepping.steps[first_check].explanation
    published = expected("msc4297_problem_b_state_res_v2_1", fixture)
    assert stepping.partial_state(len(stepping) - 1) == published


def test_problem_b_v20_has_no_subgraph_and_resets() -> None:
    fixture, stepping = problem_b("v2")
    assert not any(s.kind == "conflicted state subgraph" for s in stepping.steps)
    published = expected("msc4297_problem_b_state_res_v2_0", fixture)
    assert stepping.partial_state(len(stepping) - 1)[PL] == published[PL]
    failed = [
        s
        for s in stepping.steps
        if s.kind == "auth check" and s.focus == fixture.ids["$02-m-room-power_levels"]
    ]
    assert failed and failed[0].applied == ()


def test_v1_has_no_auth_difference_full_set_or_mainline() -> None:
    from app.core.builder import build_event

    v1 = room_version("1")
    user = "@user_id:example.com"

    def ev(eid: str, etype: str, depth: int, **kw: object) -> object:
        return build_event(v1, type=etype, sender=user, event_id=eid, depth=depth, **kw)  # type: ignore[arg-type]

    create = ev("START", "m.room.create", 1, state_key="", content={"creator": user})
    a = ev("A", "m.room.member", 2, state_key=user, content={"membership": "join"})
    b = ev("B", "m.room.name", 3, state_key="", content={})
    c = ev("C", "m.room.name", 4, state_key="", content={})
    events = {e.event_id: e for e in (create, a, b, c)}  # type: ignore[attr-defined]
    base = {("m.room.create", ""): "START", ("m.room.member", user): "A"}
    got = resolve_state(
        v1,
        [{**base, ("m.room.name", ""): "B"}, {**base, ("m.room.name", ""): "C"}],
        events,  # type: ignore[arg-type]
        trace=True,
    )
    assert got.trace is not None
    stepping = build_steps(got.trace)
    assert stepping.algorithm == "v1"
    for missing in (3, 4, 7):
        assert stepping.first_step_of(missing) is None
    kinds = [s.kind for s in stepping.steps]
    assert kinds[0] == "sets" and kinds[1] == "split" and kinds[-1] == "result"
    assert "v1 order" in kinds
    order = next(s for s in stepping.steps if s.kind == "v1 order")
    assert order.event_ids == ("C", "B")  # greatest depth first (Synapse v1)
    assert stepping.partial_state(len(stepping) - 1)[("m.room.name", "")] == "C"


def test_a_single_state_set_has_nothing_to_resolve() -> None:
    built, states = ban_vs_pl()
    inputs = inputs_at(states, [built.id("PA")])
    assert len(inputs.state_sets) == 1 and "not a merge" in inputs.description
    stepping = step_through(V2, inputs, states)
    assert [s.kind for s in stepping.steps] == ["sets", "split", "result"]
    assert "nothing to resolve" in stepping.steps[0].explanation


def test_inputs_at_a_merge_several_events_and_the_extremities() -> None:
    built, states = ban_vs_pl()
    at_merge = inputs_at(states, [built.id("END")])
    assert at_merge.merge == built.id("END")
    assert set(at_merge.at) == {built.id("MB"), built.id("PB")}
    assert at_merge.state_sets[at_merge.at.index(built.id("PB"))][PL] == built.id("PB")
    several = inputs_at(states, [built.id("MB"), built.id("PB")])
    assert several.merge is None and several.at == (built.id("MB"), built.id("PB"))
    ends = inputs_at(states, [])
    assert ends.at == (built.id("END"),)
    with pytest.raises(RoomscopeError):
        inputs_at(states, ["$nope:example.com"])


def test_named_state_sets() -> None:
    built, _ = ban_vs_pl()
    named = inputs_from_named_sets(
        built.events, {"a": [built.id("PA"), built.id("MB")], "b": [built.id("PB")]}
    )
    assert named.set_names == ("a", "b")
    assert named.state_sets[0] == {PL: built.id("PA"), BOB: built.id("MB")}
    with pytest.raises(RoomscopeError):
        inputs_from_named_sets(built.events, {"a": [built.id("START")]})  # a message
    with pytest.raises(RoomscopeError):
        inputs_from_named_sets(built.events, {"a": ["$unknown:example.com"]})
