"""What-if exclusion (app.core.whatif) and replay moments (app.core.replay).

The room is Synapse's published "ban vs pl" graph (tests/scenarios): START ->
PA, then MA -> MB on one branch and PB on the other, END merging MB and PB.
Expectations follow from that DAG and the spec: leaving out Alice's ban (MB)
means Bob's membership is his join (IMB) on both branches, and the merge's
left branch ends at MA (MB's prev event).
"""

from __future__ import annotations

import pytest

from app.core.graph import EventGraph
from app.core.replay import replay_event
from app.core.roomstate import RoomStates
from app.core.versions import room_version
from app.core.whatif import what_if_excluded
from tests.scenarios.dsl import Built, build_graph
from tests.scenarios.test_synapse_v2 import SCENARIOS

V2 = room_version("2")
BOB = ("m.room.member", "@bob:example.com")
PL = ("m.room.power_levels", "")


def ban_vs_pl() -> tuple[Built, RoomStates]:
    events, edges, _ = SCENARIOS["ban_vs_pl"]
    built = build_graph(V2, events, edges)
    graph = EventGraph.build(built.by_node.values(), room_version=V2, check_event_ids=False)
    return built, RoomStates(graph)


def test_without_the_ban_bob_stays_joined() -> None:
    built, states = ban_vs_pl()
    end = built.by_node["END"]
    result = what_if_excluded(states, [built.id("MB")], list(end.prev_events))
    assert result.excluded == (built.id("MB"),)
    assert set(result.at_before) == {built.id("MB"), built.id("PB")}
    assert set(result.at_after) == {built.id("MA"), built.id("PB")}  # MB's prev event
    assert result.before[BOB] == built.id("MB")  # published: the ban wins at END
    assert result.after[BOB] == built.id("IMB")
    changed = {c.key: c for c in result.diff.changes}
    assert changed[BOB].left == built.id("MB") and changed[BOB].right == built.id("IMB")
    assert built.id("MB") not in result.states
    assert "Without 1 event" in result.summary()


def test_excluding_nothing_changes_nothing() -> None:
    built, states = ban_vs_pl()
    result = what_if_excluded(states, [], [])
    assert result.excluded == () and not result.diff and result.verdicts_changed == ()
    assert result.at_before == result.at_after == (built.id("END"),)


def test_excluding_an_unknown_event_is_ignored() -> None:
    _, states = ban_vs_pl()
    result = what_if_excluded(states, ["$not-here:example.com"])
    assert result.excluded == () and not result.diff


def test_what_if_needs_a_graph() -> None:
    with pytest.raises(ValueError):
        what_if_excluded(RoomStates(version=V2), [])


def test_replay_calls_out_forks_and_merges() -> None:
    built, states = ban_vs_pl()
    graph = states.graph
    assert graph is not None
    moments = {graph.order[i]: replay_event(states, i) for i in range(len(graph.order))}
    # PA has two children, MA and PB; the second to arrive starts a fork.
    ma, pb = moments[built.id("MA")], moments[built.id("PB")]
    assert graph.position[built.id("MA")] < graph.position[built.id("PB")]
    assert not ma.is_fork and pb.is_fork
    assert "Fork" in pb.note
    end = moments[built.id("END")]
    assert end.is_merge and "Merge of 2 branches" in end.note
    assert "message" in end.kinds
    # PB sets the power levels (the state after PA had PA's).
    assert {c.key: c.right for c in pb.changes}[PL] == built.id("PB")
    create = moments[built.id("CREATE")]
    assert create.index == 0 and not create.is_fork and not create.is_merge
