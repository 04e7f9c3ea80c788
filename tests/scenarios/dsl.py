"""A compact way to write published state resolution scenarios (Synapse's style).

A scenario is a handful of events (:class:`Ev`, named by a node ID), the DAG as
paths of node IDs, newest first (``["END", "MB", "MA", "PA", "START"]`` means
END's prev event is MB, MB's is MA, ...), and the expected state at END. This
mirrors the harness of Synapse's ``tests/state/test_v2.py`` (``build_event_graph``
and ``do_check``) so its published expectations apply as they are:

* events are built in topological order, ties broken by node ID (Synapse's
  ``lexicographical_topological_sort`` with the node ID as key), and get
  ``origin_server_ts`` 0, 1, 2... in that order;
* an event's ``auth_events`` are the state before it at the keys of the auth
  events selection, its state before is the resolution of the states after its
  prev events (with roomscope's resolver), and its state after is that plus
  itself when it is a state event: the harness authorizes nothing.

The data of each scenario is in the test module that uses it, with attribution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from app.core.auth import auth_types_for_event
from app.core.builder import build_event
from app.core.events import PDU, StateKey
from app.core.stateres import resolve_state
from app.core.stateres.v2 import lexicographical_topological_sort
from app.core.versions import RoomVersion

ALICE = "@alice:example.com"
BOB = "@bob:example.com"
CHARLIE = "@charlie:example.com"
EVELYN = "@evelyn:example.com"
ZARA = "@zara:example.com"

JOIN = {"membership": "join"}
BAN = {"membership": "ban"}


@dataclass(frozen=True)
class Ev:
    """One event of a scenario, named by its node ID."""

    node: str
    sender: str
    type: str
    state_key: str | None
    content: Mapping[str, Any] = field(default_factory=dict)


# Synapse tests/state/test_v2.py: INITIAL_EVENTS and INITIAL_EDGES (every graph starts so).
INITIAL_EVENTS = (
    Ev("CREATE", ALICE, "m.room.create", "", {"creator": ALICE}),
    Ev("IMA", ALICE, "m.room.member", ALICE, JOIN),
    Ev("IPOWER", ALICE, "m.room.power_levels", "", {"users": {ALICE: 100}}),
    Ev("IJR", ALICE, "m.room.join_rules", "", {"join_rule": "public"}),
    Ev("IMB", BOB, "m.room.member", BOB, JOIN),
    Ev("IMC", CHARLIE, "m.room.member", CHARLIE, JOIN),
    Ev("IMZ", ZARA, "m.room.member", ZARA, JOIN),
    Ev("START", ZARA, "m.room.message", None),
    Ev("END", ZARA, "m.room.message", None),
)
INITIAL_EDGES = ("START", "IMZ", "IMC", "IMB", "IJR", "IPOWER", "IMA", "CREATE")


@dataclass
class Built:
    """A built scenario: the PDUs by node ID and the state after each node."""

    version: RoomVersion
    by_node: dict[str, PDU]
    state_after: dict[str, dict[StateKey, str]]

    @property
    def events(self) -> dict[str, PDU]:
        return {p.event_id: p for p in self.by_node.values()}

    def id(self, node: str) -> str:
        return self.by_node[node].event_id

    def key(self, node: str) -> StateKey:
        pdu = self.by_node[node]
        assert pdu.state_key is not None
        return (pdu.type, pdu.state_key)


def build_graph(
    version: RoomVersion,
    events: Sequence[Ev],
    edges: Sequence[Sequence[str]],
    *,
    initial: Sequence[Ev] = INITIAL_EVENTS,
    initial_edges: Sequence[str] = INITIAL_EDGES,
) -> Built:
    """Build the scenario's events and the state after each (see the module docstring)."""
    graph: dict[str, set[str]] = {}
    spec: dict[str, Ev] = {}
    for ev in (*initial, *events):
        graph[ev.node] = set()
        spec[ev.node] = ev
    for path in (initial_edges, *edges):
        for a, b in pairwise(path):
            graph[a].add(b)
    order = lexicographical_topological_sort(graph, lambda n: n)
    by_node: dict[str, PDU] = {}
    by_id: dict[str, PDU] = {}
    state_after: dict[str, dict[StateKey, str]] = {}
    for ts, node in enumerate(order):
        ev = spec[node]
        prevs = sorted(graph[node])
        if not prevs:
            before: dict[StateKey, str] = {}
        elif len(prevs) == 1:
            before = dict(state_after[prevs[0]])
        else:
            before = dict(resolve_state(version, [state_after[p] for p in prevs], by_id).state)
        draft = build_event(
            version,
            type=ev.type,
            sender=ev.sender,
            content=ev.content,
            state_key=ev.state_key,
            room_id="!test:example.com",
            event_id=f"${node}:example.com",
            origin_server_ts=ts,
        )
        auth = [before[k] for k in sorted(auth_types_for_event(version, draft)) if k in before]
        pdu = build_event(
            version,
            type=ev.type,
            sender=ev.sender,
            content=ev.content,
            state_key=ev.state_key,
            room_id="!test:example.com",
            event_id=f"${node}:example.com",
            prev_events=[by_node[p].event_id for p in prevs],
            auth_events=auth,
            depth=1 + max((by_node[p].depth for p in prevs), default=0),
            origin_server_ts=ts,
            known_events=by_id,
        )
        by_node[node] = pdu
        by_id[pdu.event_id] = pdu
        after = dict(before)
        if pdu.state_key is not None:
            after[(pdu.type, pdu.state_key)] = pdu.event_id
        state_after[node] = after
    return Built(version, by_node, state_after)


def changed_state_at_end(built: Built, expected_nodes: Sequence[str]) -> tuple[dict, dict]:
    """(expected, got) as Synapse's ``do_check`` compares them: the state at END
    restricted to the expected keys and the keys that changed since START."""
    expected = {built.key(n): built.id(n) for n in expected_nodes}
    start = built.state_after["START"]
    end = built.state_after["END"]
    got = {k: v for k, v in end.items() if k in expected or start.get(k) != v}
    return expected, got
