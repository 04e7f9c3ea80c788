"""ruma-state-res's published fixtures with their published resolved states.

Data: tests/scenarios/data/ruma (see its README for the source and licence).
The batch tests load every event into a graph, work out the state at every
event with roomscope (each event checked and resolved against its prev events,
as ruma's ``resolve_iteratively`` does) and resolve the states at the forward
extremities; the state-map tests (MSC4297 problems A and B under room versions
11 and 12) resolve the two published state maps directly.
"""

from __future__ import annotations

import pytest

from app.core.graph import EventGraph
from app.core.roomstate import RoomStates
from app.core.stateres import resolve_state
from tests.scenarios.ruma import (
    BATCH_TESTS,
    STATE_MAP_TESTS,
    expected,
    load_events,
    state_map_names,
)


@pytest.mark.parametrize("name", sorted(BATCH_TESTS))
def test_ruma_batch_fixture(name: str) -> None:
    fixture = load_events(BATCH_TESTS[name])
    graph = EventGraph.build(fixture.events, room_version=fixture.version)
    states = RoomStates(graph)
    assert not states.rejected, {e: states.verdict(e).reason for e in states.rejected}
    got = states.resolve_at(states.extremities()).state
    assert dict(got) == expected(name, fixture)


@pytest.mark.parametrize("name", sorted(STATE_MAP_TESTS))
def test_ruma_state_map_fixture(name: str) -> None:
    state_files, pdu_files = STATE_MAP_TESTS[name]
    fixture = load_events(pdu_files)
    sets = [fixture.state_map(state_map_names(f)) for f in state_files]
    got = resolve_state(fixture.version, sets, fixture.by_id).state
    assert dict(got) == expected(name, fixture)
