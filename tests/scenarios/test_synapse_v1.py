"""Synapse's published room-version-1 branch scenarios (state resolution v1).

Data from element-hq/synapse ``tests/test_state.py`` (Apache-2.0, Copyright
OpenMarket Ltd): ``test_branch_no_conflict``, ``test_branch_basic_conflict``,
``test_branch_have_banned_conflict`` and ``test_branch_have_perms_conflict``,
with their nodes, edges, depths and the published state before the last event.
As in Synapse's harness (``Graph`` and ``StateHandler.compute_event_context``)
events are taken in depth order, the event IDs are the node names, the sender
is ``@user_id:example.com`` unless given, nothing is authorized per event, and
the state before an event resolves the states after its prev events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from app.core.builder import build_event
from app.core.events import PDU, StateKey
from app.core.stateres import resolve_state
from app.core.versions import room_version

V1 = room_version("1")
USER = "@user_id:example.com"
USER2 = "@user_id_2:example.com"
USER2B = "@user_id2:example.com"
JOIN = {"membership": "join"}
BAN = {"membership": "ban"}


def N(etype: str, state_key: str | None = None, depth: int | None = None, **kw: Any) -> dict:
    return {"type": etype, "state_key": state_key, "depth": depth, **kw}


CASES: dict[str, tuple[dict[str, dict], dict[str, list[str]], str, set[str]]] = {
    "branch_no_conflict": (
        {
            "START": N("m.room.create", "", 1, content={}),
            "A": N("m.room.message", None, 2),
            "B": N("m.room.message", None, 3),
            "C": N("m.room.name", "", 3),
            "D": N("m.room.message", None, 4),
        },
        {"A": ["START"], "B": ["A"], "C": ["A"], "D": ["B", "C"]},
        "D",
        {"START", "C"},
    ),
    "branch_basic_conflict": (
        {
            "START": N("m.room.create", "", 1, content={"creator": USER}),
            "A": N("m.room.member", USER, 2, content=JOIN),
            "B": N("m.room.name", "", 3),
            "C": N("m.room.name", "", 4),
            "D": N("m.room.message", None, 5),
        },
        {"A": ["START"], "B": ["A"], "C": ["A"], "D": ["B", "C"]},
        "D",
        {"START", "A", "C"},
    ),
    "branch_have_banned_conflict": (
        {
            "START": N("m.room.create", "", 1, content={"creator": USER}),
            "A": N("m.room.member", USER, 2, content=JOIN),
            "B": N("m.room.name", "", 3),
            "C": N("m.room.member", USER2, 4, content=BAN),
            "D": N("m.room.name", "", 4, sender=USER2),
            "E": N("m.room.message", None, 5),
        },
        {"A": ["START"], "B": ["A"], "C": ["B"], "D": ["B"], "E": ["C", "D"]},
        "E",
        # C wins over D: the ban is in force when D is checked.
        {"START", "A", "B", "C"},
    ),
    "branch_have_perms_conflict": (
        {
            "A1": N("m.room.create", "", 1, content={"creator": USER}),
            "A2": N("m.room.member", USER, content=JOIN),
            "A3": N("m.room.member", USER2B, content=JOIN),
            "A4": N(
                "m.room.power_levels",
                "",
                content={"events": {"m.room.name": 50}, "users": {USER: 100, USER2B: 60}},
            ),
            "A5": N("m.room.name", ""),
            "B": N(
                "m.room.power_levels",
                "",
                content={"events": {"m.room.name": 50}, "users": {USER2B: 30}},
            ),
            "C": N("m.room.name", "", sender=USER2B),
            "D": N("m.room.message"),
        },
        {
            "A2": ["A1"],
            "A3": ["A2"],
            "A4": ["A3"],
            "A5": ["A4"],
            "B": ["A5"],
            "C": ["A5"],
            "D": ["B", "C"],
        },
        "D",
        # B wins: power levels are resolved first, and win over other changes.
        {"A1", "A2", "A3", "A5", "B"},
    ),
}


def _depths(nodes: Mapping[str, dict], edges: Mapping[str, list[str]]) -> dict[str, int]:
    # Synapse's _add_depths: a node without a depth is one deeper than its deepest prev.
    out: dict[str, int] = {}
    pending = list(nodes)
    while pending:
        node = pending.pop()
        if node in out:
            continue
        given = nodes[node]["depth"]
        if given is not None:
            out[node] = given
            continue
        prevs = edges[node]
        missing = [p for p in prevs if p not in out]
        if missing:
            pending.append(node)
            pending.extend(missing)
            continue
        out[node] = 1 + max(out[p] for p in prevs)
    return out


def _run(name: str) -> tuple[dict[str, PDU], list[dict[StateKey, str]], dict[StateKey, str]]:
    """Build case ``name``; returns its events, the state sets met at its last
    event and the state before that event."""
    nodes, edges, last, _ = CASES[name]
    depth = _depths(nodes, edges)
    events: dict[str, PDU] = {}
    after: dict[str, dict[StateKey, str]] = {}
    before_last: dict[StateKey, str] = {}
    last_sets: list[dict[StateKey, str]] = []
    for node in sorted(nodes, key=lambda n: depth[n]):  # Synapse walks by depth (stable)
        spec = nodes[node]
        prevs = edges.get(node, [])
        sets = [after[p] for p in prevs]
        if not sets:
            before: dict[StateKey, str] = {}
        elif len(sets) == 1:
            before = dict(sets[0])
        else:
            before = dict(resolve_state(V1, sets, events).state)
        pdu = build_event(
            V1,
            type=spec["type"],
            state_key=spec["state_key"],
            sender=spec.get("sender", USER),
            content=spec.get("content", {}),
            room_id="!room_id:example.com",
            event_id=node,
            prev_events=prevs,
            depth=depth[node],
        )
        events[node] = pdu
        state = dict(before)
        if pdu.state_key is not None:
            state[(pdu.type, pdu.state_key)] = node
        after[node] = state
        if node == last:
            before_last = before
            last_sets = sets
    return events, last_sets, before_last


@pytest.mark.parametrize("name", sorted(CASES))
def test_published_v1_branch_case(name: str) -> None:
    _, _, before_last = _run(name)
    assert set(before_last.values()) == CASES[name][3]


def test_v1_trace_of_the_perms_case() -> None:
    """B's power levels win first; then neither name passes under them (user 1 has
    no level in B, user 2 only 30 of the 50 needed), and v1 keeps A5, the least deep."""
    events, sets, _ = _run("branch_have_perms_conflict")
    got = resolve_state(V1, sets, events, trace=True)
    assert got.trace is not None
    name = got.trace.why(("m.room.name", ""))
    assert name.winner == "A5"
    assert "no candidate passed auth" in name.decision
    assert {c.event_id: c.fate.startswith("failed auth") for c in name.candidates} == {
        "A5": True,
        "C": True,
    }
    assert got.trace.why(("m.room.power_levels", "")).winner == "B"
