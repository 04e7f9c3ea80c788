"""Synapse's published state resolution v2 scenarios, with their published expectations.

Data from element-hq/synapse ``tests/state/test_v2.py`` (Apache-2.0 / AGPL-3.0,
Copyright New Vector Ltd): the events, DAG paths and expected state of
``StateTestCase`` and ``LexicographicalTestCase``. Rewritten in our own
harness (tests/scenarios/dsl.py); nothing of Synapse runs here.
"""

from __future__ import annotations

import pytest

from app.core.stateres.v2 import lexicographical_topological_sort
from app.core.versions import room_version
from tests.scenarios.dsl import ALICE, BAN, BOB, CHARLIE, EVELYN, JOIN, Ev, build_graph
from tests.scenarios.dsl import changed_state_at_end as changed

PL = "m.room.power_levels"
TOPIC = "m.room.topic"
MEMBER = "m.room.member"

SCENARIOS = {
    "ban_vs_pl": (
        [
            Ev("PA", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
            Ev("MA", ALICE, MEMBER, ALICE, JOIN),
            Ev("MB", ALICE, MEMBER, BOB, BAN),
            Ev("PB", BOB, PL, "", {"users": {ALICE: 100, BOB: 50}}),
        ],
        [["END", "MB", "MA", "PA", "START"], ["END", "PB", "PA"]],
        ["PA", "MA", "MB"],
    ),
    "join_rule_evasion": (
        [
            # Sic: "join_rules", not "join_rule", in the published test.
            Ev("JR", ALICE, "m.room.join_rules", "", {"join_rules": "private"}),
            Ev("ME", EVELYN, MEMBER, EVELYN, JOIN),
        ],
        [["END", "JR", "START"], ["END", "ME", "START"]],
        ["JR"],
    ),
    "offtopic_pl": (
        [
            Ev("PA", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
            Ev("PB", BOB, PL, "", {"users": {ALICE: 100, BOB: 50, CHARLIE: 50}}),
            Ev("PC", CHARLIE, PL, "", {"users": {ALICE: 100, BOB: 50, CHARLIE: 0}}),
        ],
        [["END", "PC", "PB", "PA", "START"], ["END", "PA"]],
        ["PC"],
    ),
    "topic_basic": (
        [
            Ev("T1", ALICE, TOPIC, ""),
            Ev("PA1", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
            Ev("T2", ALICE, TOPIC, ""),
            Ev("PA2", ALICE, PL, "", {"users": {ALICE: 100, BOB: 0}}),
            Ev("PB", BOB, PL, "", {"users": {ALICE: 100, BOB: 50}}),
            Ev("T3", BOB, TOPIC, ""),
        ],
        [["END", "PA2", "T2", "PA1", "T1", "START"], ["END", "T3", "PB", "PA1"]],
        ["PA2", "T2"],
    ),
    "topic_reset": (
        [
            Ev("T1", ALICE, TOPIC, ""),
            Ev("PA", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
            Ev("T2", BOB, TOPIC, ""),
            Ev("MB", ALICE, MEMBER, BOB, BAN),
        ],
        [["END", "MB", "T2", "PA", "T1", "START"], ["END", "T1"]],
        ["T1", "MB", "PA"],
    ),
    "topic": (
        [
            Ev("T1", ALICE, TOPIC, ""),
            Ev("PA1", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
            Ev("T2", ALICE, TOPIC, ""),
            Ev("PA2", ALICE, PL, "", {"users": {ALICE: 100, BOB: 0}}),
            Ev("PB", BOB, PL, "", {"users": {ALICE: 100, BOB: 50}}),
            Ev("T3", BOB, TOPIC, ""),
            Ev("MZ1", "@zara:example.com", "m.room.message", None),
            Ev("T4", ALICE, TOPIC, ""),
        ],
        [
            ["END", "T4", "MZ1", "PA2", "T2", "PA1", "T1", "START"],
            ["END", "MZ1", "T3", "PB", "PA1"],
        ],
        ["T4", "PA2"],
    ),
    "mainline_sort": (
        [
            Ev("T1", ALICE, TOPIC, ""),
            Ev("PA1", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
            Ev("T2", ALICE, TOPIC, ""),
            Ev("PA2", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}, "events": {PL: 100}}),
            Ev("PB", BOB, PL, "", {"users": {ALICE: 100, BOB: 50}}),
            Ev("T3", BOB, TOPIC, ""),
            Ev("T4", ALICE, TOPIC, ""),
        ],
        [["END", "T3", "PA2", "T2", "PA1", "T1", "START"], ["END", "T4", "PB", "PA1"]],
        # T3 wins: the other topics point at older power levels; without the
        # mainline ordering T4 (sent after T3) would.
        ["T3", "PA2"],
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_published_v2_scenario(name: str) -> None:
    events, edges, expected_nodes = SCENARIOS[name]
    # Synapse runs these in room version 2 (RoomVersions.V2).
    built = build_graph(room_version("2"), events, edges)
    expected, got = changed(built, expected_nodes)
    assert got == expected


def test_lexicographical_sort() -> None:
    graph = {"l": {"o"}, "m": {"n", "o"}, "n": {"o"}, "o": set(), "p": {"o"}}
    assert lexicographical_topological_sort(graph, lambda x: x) == ["o", "l", "n", "m", "p"]
