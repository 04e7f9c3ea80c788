"""v1, v2 and v2.1 side by side (app.core.compare).

Expectations: ruma-state-res's published MSC4297 results (problem B: v2.0 keeps
the oldest power levels, v2.1 the newest; problem A: v2.0 loses the join rules,
v2.1 keeps them), and Synapse's "ban vs pl" (PA, MA, MB), on which v2 and v2.1
agree.
"""

from __future__ import annotations

from app.core.compare import ALGORITHMS, compare_algorithms
from app.core.versions import room_version
from tests.scenarios.dsl import build_graph
from tests.scenarios.ruma import expected, load_events, state_map_names
from tests.scenarios.test_synapse_v2 import SCENARIOS

PL = ("m.room.power_levels", "")
JR = ("m.room.join_rules", "")


def _fixture(problem: str, pdus: str, sets: tuple[str, str]):  # type: ignore[no-untyped-def]
    fixture = load_events([f"MSC4297-problem-{problem}/{pdus}"])
    state_sets = [
        fixture.state_map(state_map_names(f"MSC4297-problem-{problem}/{s}")) for s in sets
    ]
    return fixture, state_sets


def test_problem_b_v2_and_v21_differ_on_the_power_levels() -> None:
    fixture, sets = _fixture("B", "pdus-v12.json", ("state-eve.json", "state-zara.json"))
    comparison = compare_algorithms(fixture.version, sets, fixture.by_id)
    assert comparison.algorithms == ALGORITHMS
    assert comparison.native == "v2.1"
    v20 = expected("msc4297_problem_b_state_res_v2_0", fixture)
    v21 = expected("msc4297_problem_b_state_res_v2_1", fixture)
    assert dict(comparison.result("v2.1").state) == v21
    assert comparison.value("v2", PL) == v20[PL]
    assert comparison.value("v2.1", PL) == v21[PL]
    assert PL in comparison.differing
    assert comparison.differs_between("v2", "v2.1") == (PL,)
    why = comparison.explanation("v2.1", PL)
    assert why is not None and why.winner == v21[PL]
    pair = comparison.pair("v2.1", "v2")
    assert pair is not None and fixture.ids["$01-m-room-power_levels"] in pair.only_here


def test_problem_a_v20_loses_the_join_rules() -> None:
    fixture, sets = _fixture("A", "pdus-v12.json", ("state-bob.json", "state-charlie.json"))
    comparison = compare_algorithms(fixture.version, sets, fixture.by_id)
    v21 = expected("msc4297_problem_a_state_res_v2_1", fixture)
    assert dict(comparison.result("v2.1").state) == v21
    assert comparison.value("v2", JR) is None  # the published v2.0 reset
    assert JR in comparison.differing


def test_ban_vs_pl_v2_and_v21_agree() -> None:
    version = room_version("2")
    events, edges, _ = SCENARIOS["ban_vs_pl"]
    built = build_graph(version, events, edges)
    end = built.by_node["END"]
    names = {p.event_id: n for n, p in built.by_node.items()}
    sets = [built.state_after[names[p]] for p in end.prev_events]
    comparison = compare_algorithms(version, sets, built.events)
    assert comparison.native == "v2"
    for algorithm in ("v2", "v2.1"):
        assert comparison.value(algorithm, PL) == built.id("PA")
        assert comparison.value(algorithm, ("m.room.member", "@bob:example.com")) == built.id("MB")
    assert comparison.differs_between("v2", "v2.1") == ()
    assert comparison.result("v1").error is None  # v1 runs on the same events


def test_only_some_algorithms() -> None:
    fixture, sets = _fixture("B", "pdus-v12.json", ("state-eve.json", "state-zara.json"))
    comparison = compare_algorithms(fixture.version, sets, fixture.by_id, algorithms=("v2.1",))
    assert comparison.algorithms == ("v2.1",)
    assert comparison.differing == ()
