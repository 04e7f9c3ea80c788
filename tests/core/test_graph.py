"""The event graph: order, missing events, extremities, forks, merges and findings.

Expected values are worked out by hand from the small DAGs drawn in each test
(or, for the random DAGs, checked against the definition of a topological order).
"""

from __future__ import annotations

import gc
import random
from collections.abc import Sequence
from typing import Any

import pytest

from app.core.events import PDU, parse_pdu
from app.core.graph import EventGraph, Finding, gc_paused
from app.core.hashing import compute_event_id
from app.core.versions import RoomVersion, room_version

V1 = room_version("1")
V10 = room_version("10")
V12 = room_version("12")
ROOM = "!room:a.example"


def ev(
    event_id: str,
    prev: Sequence[str] = (),
    auth: Sequence[str] = (),
    *,
    ts: int = 0,
    depth: int = 1,
    type_: str = "m.room.message",
    state_key: str | None = None,
    sender: str = "@alice:a.example",
    room_id: str | None = ROOM,
    content: dict[str, Any] | None = None,
    version: RoomVersion = V10,
    **extra: Any,
) -> PDU:
    """A v3+-shaped (or v1-shaped, for V1) PDU with a given, readable ID."""

    def refs(ids: Sequence[str]) -> list[Any]:
        if version.event_refs_with_hashes:
            return [[i, {"sha256": "x"}] for i in ids]
        return list(ids)

    raw: dict[str, Any] = {
        "event_id": event_id,
        "type": type_,
        "sender": sender,
        "content": {} if content is None else content,
        "prev_events": refs(prev),
        "auth_events": refs(auth),
        "depth": depth,
        "origin_server_ts": ts,
        **extra,
    }
    if room_id is not None:
        raw["room_id"] = room_id
    if state_key is not None:
        raw["state_key"] = state_key
    return parse_pdu(raw, version)


def create(event_id: str = "$create", version: RoomVersion = V10, **kw: Any) -> PDU:
    return ev(
        event_id,
        type_="m.room.create",
        state_key="",
        content={"room_version": version.identifier},
        version=version,
        **kw,
    )


def build(events: Sequence[PDU], version: RoomVersion = V10) -> EventGraph:
    return EventGraph.build(events, room_version=version, check_event_ids=False)


def kinds(graph: EventGraph) -> list[str]:
    return [f.kind for f in graph.findings]


def assert_topological(graph: EventGraph) -> None:
    pos = graph.position
    assert sorted(graph.order) == sorted(graph.events)
    for eid in graph.order:
        pdu = graph.events[eid]
        for ref in (*pdu.prev_events, *pdu.auth_events):
            if ref in pos:
                assert pos[ref] < pos[eid], f"{ref} must come before {eid}"


def test_linear_chain() -> None:
    g = build([create(ts=1), ev("$b", ["$create"], ["$create"], ts=2), ev("$c", ["$b"], ts=3)])
    assert g.order == ("$create", "$b", "$c")
    assert dict(g.position) == {"$create": 0, "$b": 1, "$c": 2}
    assert g.forward_extremities == ("$c",)
    assert g.children("$create") == ("$b",)
    assert g.children("$c") == ()
    assert g.forks == () and g.merges == ()
    assert g.missing == frozenset()
    assert g.create_event is not None and g.create_event.event_id == "$create"
    assert g.room_id == ROOM
    assert g.findings == ()
    assert dict(g.server_counts) == {"a.example": 3}


def test_fork_and_merge() -> None:
    #   create -> a -> {b, c} -> d (merge)
    g = build(
        [
            create(ts=1),
            ev("$a", ["$create"], ts=2),
            ev("$b", ["$a"], ts=4),
            ev("$c", ["$a"], ts=3),
            ev("$d", ["$b", "$c"], ts=5),
        ]
    )
    assert g.order == ("$create", "$a", "$c", "$b", "$d")
    assert g.forks == ("$a",)
    assert g.merges == ("$d",)
    assert g.children("$a") == ("$c", "$b")
    assert g.forward_extremities == ("$d",)


def test_two_extremities_and_server_counts() -> None:
    g = build(
        [
            create(ts=1),
            ev("$x", ["$create"], ts=2, sender="@bob:b.example"),
            ev("$y", ["$create"], ts=3, sender="@carol:b.example"),
        ]
    )
    assert g.forward_extremities == ("$x", "$y")
    assert dict(g.server_counts) == {"b.example": 2, "a.example": 1}
    assert list(g.server_counts) == ["b.example", "a.example"]


def test_order_ignores_depth_and_respects_auth_events() -> None:
    # $late claims depth 1 and an early timestamp, but its auth event $pl comes first.
    g = build(
        [
            create(ts=10, depth=50),
            ev("$pl", ["$create"], ["$create"], ts=30, depth=40),
            ev("$late", ["$create"], ["$create", "$pl"], ts=20, depth=1),
        ]
    )
    assert g.order == ("$create", "$pl", "$late")


def test_ties_broken_by_timestamp_then_event_id_whatever_the_input_order() -> None:
    events = [
        create(ts=1),
        ev("$b", ["$create"], ts=5),
        ev("$a", ["$create"], ts=5),
        ev("$c", ["$create"], ts=4),
    ]
    expected = ("$create", "$c", "$a", "$b")
    for _ in range(5):
        random.shuffle(events)
        assert build(events).order == expected


def test_missing_events_and_v1_reference_pairs() -> None:
    g = build(
        [
            ev("$b:a.example", ["$gone:a.example"], ["$auth:a.example"], version=V1, ts=2),
            ev("$c:a.example", ["$b:a.example"], version=V1, ts=3),
        ],
        version=V1,
    )
    assert g.missing == frozenset({"$gone:a.example", "$auth:a.example"})
    assert g.order == ("$b:a.example", "$c:a.example")
    assert g.create_event is None
    assert kinds(g) == ["missing_create"]
    assert g.findings[0].event_id is None


def test_duplicate_reference_counted_once() -> None:
    g = build([create(ts=1), ev("$a", ["$create", "$create"], ["$create"], ts=2)])
    assert g.order == ("$create", "$a")
    assert g.merges == ()
    assert g.children("$create") == ("$a",)


def test_cycle_is_a_finding_and_everything_is_still_placed() -> None:
    # create -> a; b -> c -> d -> b (cycle), e after d, f independent of the cycle.
    events = [
        create(ts=1),
        ev("$a", ["$create"], ts=2),
        ev("$b", ["$a", "$d"], ts=3),
        ev("$c", ["$b"], ts=4),
        ev("$d", ["$c"], ts=5),
        ev("$e", ["$d"], ts=6),
        ev("$f", ["$a"], ts=100),
    ]
    g = build(events)
    assert g.order == ("$create", "$a", "$f", "$b", "$c", "$d", "$e")
    cycles = [f for f in g.findings if f.kind == "cycle"]
    assert len(cycles) == 1
    assert cycles[0].event_id == "$b"
    for name in ("$b", "$c", "$d"):
        assert name in cycles[0].message
    assert "$e" not in cycles[0].message
    random.shuffle(events)
    assert build(events).order == g.order


def test_self_reference_is_a_cycle() -> None:
    g = build([create(ts=1), ev("$a", ["$create", "$a"], ts=2), ev("$b", ["$a"], ts=3)])
    assert g.order == ("$create", "$a", "$b")
    assert kinds(g) == ["cycle"]
    assert g.findings[0].event_id == "$a"


def test_two_separate_cycles_in_dependency_order() -> None:
    # x <-> y, then p <-> q where p also depends on y.
    g = build(
        [
            ev("$x", ["$y"], ts=50),
            ev("$y", ["$x"], ts=60),
            ev("$p", ["$q", "$y"], ts=1),
            ev("$q", ["$p"], ts=2),
        ]
    )
    assert g.order == ("$x", "$y", "$p", "$q")
    assert [f.kind for f in g.findings if f.kind == "cycle"] == ["cycle", "cycle"]


def test_deep_chain_and_deep_cycle_without_recursion() -> None:
    n = 100_000
    chain = [ev("$0", ts=0)] + [ev(f"${i}", [f"${i - 1}"], ts=i) for i in range(1, n)]
    g = build(chain)
    assert len(g.order) == n and g.order[-1] == f"${n - 1}"
    assert g.forward_extremities == (f"${n - 1}",)
    # Close the chain into one 100k-event cycle.
    looped = [ev("$0", [f"${n - 1}"], ts=0), *chain[1:]]
    g = build(looped)
    assert len(g.order) == n
    assert [f.kind for f in g.findings if f.kind == "cycle"] == ["cycle"]
    assert "(100000)" in g.findings[-1].message


def test_duplicates() -> None:
    a1 = ev("$a", ["$create"], ts=2, content={"body": "one"})
    a1_again = ev("$a", ["$create"], ts=2, content={"body": "one"}, unsigned={"age": 5})
    a2 = ev("$a", ["$create"], ts=2, content={"body": "two"})
    g = build([create(ts=1), a1, a1_again])
    assert g.findings == () and g.events["$a"] is a1
    g = build([create(ts=1), a1, a2])
    assert kinds(g) == ["duplicate_event_id"]
    assert g.findings[0].event_id == "$a"
    assert g.events["$a"] is a1
    assert len(g.order) == 2


def with_real_id(pdu: PDU) -> PDU:
    """The same event under the ID its reference hash gives (v3+)."""
    real = compute_event_id(pdu.as_sent(), V10)
    assert real is not None and real.startswith("$") and real != pdu.event_id
    return parse_pdu({**pdu.raw, "event_id": real}, V10)


def test_event_id_mismatch_in_v3_plus_rooms() -> None:
    c = with_real_id(create(ts=1))
    good = with_real_id(ev("$tmp", [c.event_id], ts=2))
    bad = ev("$readable", [c.event_id], ts=3)
    g = EventGraph.build([c, good, bad], room_version=V10)
    assert [(f.kind, f.event_id) for f in g.findings] == [("event_id_mismatch", "$readable")]
    # unsigned and the injected event_id are not hashed: serving them changes nothing.
    served = parse_pdu({**good.raw, "unsigned": {"age": 1234}}, V10)
    assert EventGraph.build([c, served], room_version=V10).findings == ()
    # v1 IDs are chosen by the sender: no check.
    g = EventGraph.build([ev("$x:a", version=V1, ts=1)], room_version=V1)
    assert "event_id_mismatch" not in kinds(g)


def test_event_id_mismatch_after_a_change_the_hash_covers() -> None:
    rule = with_real_id(
        ev("$tmp", ts=2, type_="m.room.join_rules", state_key="", content={"join_rule": "public"})
    )
    assert "event_id_mismatch" not in kinds(EventGraph.build([rule], room_version=V10))
    # The reference hash covers the redacted event: join_rule survives redaction.
    tampered = parse_pdu({**rule.raw, "content": {"join_rule": "invite"}}, V10)
    assert "event_id_mismatch" in kinds(EventGraph.build([tampered], room_version=V10))
    # A message body does not survive redaction, so changing it keeps the ID.
    msg = with_real_id(ev("$tmp", ts=2, content={"body": "hello"}))
    edited = parse_pdu({**msg.raw, "content": {"body": "hellO"}}, V10)
    assert "event_id_mismatch" not in kinds(EventGraph.build([edited], room_version=V10))


def test_room_findings() -> None:
    g = build(
        [
            create(ts=1),
            create("$create2", ts=2, prev=["$create"]),
            ev("$other", ["$create"], ts=3, room_id="!elsewhere:b.example"),
        ]
    )
    assert kinds(g) == ["multiple_create", "wrong_room"]
    assert [f.event_id for f in g.findings] == ["$create2", "$other"]
    assert g.create_event is not None and g.create_event.event_id == "$create"


def test_room_version_mismatch() -> None:
    g = build([create(ts=1, version=V10)], version=V10)
    assert g.findings == ()
    c = ev("$c", type_="m.room.create", state_key="", content={}, ts=1)  # "1" by default
    g = build([c])
    assert kinds(g) == ["room_version_mismatch"]


def test_v12_room_id_comes_from_the_create_event() -> None:
    c = create("$abc", version=V12, room_id=None, ts=1)
    g = EventGraph.build(
        [c, ev("$m", ["$abc"], room_id="!abc", version=V12, ts=2)],
        room_version=V12,
        check_event_ids=False,
    )
    assert g.room_id == "!abc"
    assert g.findings == ()
    g = EventGraph.build(
        [c, ev("$m", ["$abc"], room_id="!zzz", version=V12, ts=2)],
        room_version=V12,
        check_event_ids=False,
    )
    assert kinds(g) == ["wrong_room"]


def test_finding_is_a_frozen_value() -> None:
    f = Finding("cycle", "$a", "x")
    with pytest.raises(AttributeError):
        f.kind = "other"  # type: ignore[misc]
    assert f == Finding("cycle", "$a", "x")


def random_dag(rng: random.Random, n: int, honest_clocks: bool) -> list[PDU]:
    events = [create(ts=0)]
    for i in range(1, n):
        prev = rng.sample([e.event_id for e in events[-8:]], k=min(len(events), rng.randint(1, 3)))
        auth = rng.sample([e.event_id for e in events], k=min(len(events), 2))
        ts = i * 10 if honest_clocks else rng.randint(0, 5)
        events.append(ev(f"$e{i:04d}", prev, auth, ts=ts, depth=rng.randint(1, 3)))
    return events


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_dags_are_ordered_topologically_and_deterministically(seed: int) -> None:
    rng = random.Random(seed)
    events = random_dag(rng, 300, honest_clocks=False)
    g = build(events)
    assert_topological(g)
    assert g.findings == ()
    shuffled = events[:]
    rng.shuffle(shuffled)
    assert build(shuffled).order == g.order
    for eid in g.order:
        kids = g.children(eid)
        assert all(eid in g.events[k].prev_events for k in kids)
        assert (eid in g.forward_extremities) == (not kids)
        assert (eid in g.forks) == (len(kids) >= 2)


@pytest.mark.parametrize("seed", [5, 6])
def test_adding_older_history_does_not_reorder(seed: int) -> None:
    rng = random.Random(seed)
    events = random_dag(rng, 400, honest_clocks=True)
    full = build(events).order
    recent = build(events[200:]).order
    assert [e for e in full if e in set(recent)] == list(recent)


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_random_graphs_with_cycles_against_networkx(seed: int) -> None:
    """Every event placed once; edges between different cycles (SCCs) respected;
    one cycle finding per strongly connected component of 2+ events (networkx as oracle).
    """
    nx = pytest.importorskip("networkx")
    rng = random.Random(seed)
    n = 200
    ids = [f"$e{i:03d}" for i in range(n)]
    prevs: dict[str, list[str]] = {}
    for i, eid in enumerate(ids):
        refs = rng.sample(ids[max(0, i - 10) : i], k=min(i, rng.randint(0, 2)))
        if rng.random() < 0.05:
            refs.append(rng.choice(ids[i:]))  # a reference forward: may close a cycle
        prevs[eid] = refs
    g = build([ev(eid, prevs[eid], ts=rng.randint(0, 50)) for eid in ids])

    assert sorted(g.order) == sorted(ids)
    dag = nx.DiGraph()
    dag.add_nodes_from(ids)
    dag.add_edges_from((p, eid) for eid in ids for p in prevs[eid] if p != eid)
    sccs = [c for c in nx.strongly_connected_components(dag) if len(c) > 1]
    self_loops = {eid for eid in ids if eid in prevs[eid]}
    comp = {e: i for i, c in enumerate(nx.strongly_connected_components(dag)) for e in c}
    for eid in ids:
        for p in prevs[eid]:
            if comp[p] != comp[eid]:
                assert g.position[p] < g.position[eid]
    cycle_events = {f.event_id for f in g.findings if f.kind == "cycle"}
    expected = {min(c, key=lambda e: (g.events[e].origin_server_ts, e)) for c in sccs}
    expected |= {e for e in self_loops if not any(e in c for c in sccs)}
    assert cycle_events == expected
    assert sum(f.kind == "cycle" for f in g.findings) == len(expected)
    assert expected, "the seed should make at least one cycle"


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_the_timestamp_shortcut_gives_kahns_order(seed: int) -> None:
    """With honest clocks the graph orders by a sort and one check of every edge
    (graph._order_by_timestamp); it must give exactly what Kahn's algorithm with the
    (origin_server_ts, event_id) heap gives, and step aside when a clock lies."""
    from app.core import graph as graph_module

    rng = random.Random(seed)
    for honest in (True, False):
        events = random_dag(rng, 300, honest_clocks=honest)
        # Some equal timestamps along edges are honest too (ties broken by event ID),
        # and some references to events not in the room.
        events.append(ev("$zz-missing-parent", ["$absent"], ["$e0001"], ts=10**6))
        by_id = {e.event_id: e for e in events}
        kahn, missing, _ = graph_module._order_by_dependencies(by_id)
        shortcut = graph_module._order_by_timestamp(by_id)
        if shortcut is None:
            assert not honest
            continue
        order, position, found_missing, children, merges, _edges = shortcut
        assert order == kahn
        assert found_missing == missing == {"$absent"}
        assert position == {eid: i for i, eid in enumerate(kahn)}
        kids, merged = graph_module._children_and_merges(kahn, by_id)
        assert children == kids and merges == merged
    # A child stamped before its parent: no shortcut.
    late = [ev("$a", ts=5), ev("$b", ["$a"], ts=1)]
    assert graph_module._order_by_timestamp({e.event_id: e for e in late}) is None
    assert build(late).order == ("$a", "$b")


def test_checking_event_ids_later_gives_what_build_gives() -> None:
    from app.core.room import pdu_from_json

    """A loader may build the graph first and check the given IDs after it has shown the
    room (EventGraph.with_event_ids_checked): the findings must be build's, in build's
    order, including several findings about one event."""
    c = with_real_id(create(ts=1))
    good = with_real_id(ev("$tmp", [c.event_id], ts=2))
    events = [
        c,
        good,
        ev("$readable", [c.event_id], ts=3),  # mismatch
        ev("$dup", [c.event_id], ts=4, content={"body": "one"}),  # mismatch, duplicate
        ev("$dup", [c.event_id], ts=4, content={"body": "two"}),
        pdu_from_json(
            {k: v for k, v in ev("$nodepth", [c.event_id], ts=5).raw.items() if k != "depth"},
            V10,
        ),
        create("$create2", ts=6, prev=[c.event_id]),  # mismatch, second create
        ev("$other", [c.event_id], ts=7, room_id="!elsewhere:b.example"),  # and wrong room
        ev("$loop1", ["$loop2"], ts=8),  # mismatches on a cycle
        ev("$loop2", ["$loop1"], ts=9),
        ev("$odd", [c.event_id], ts=10, content={"n": 2**70}),
    ]
    whole = EventGraph.build(events, room_version=V10)
    assert {
        "event_id_mismatch",
        "duplicate_event_id",
        "missing_depth",
        "cycle",
        "wrong_room",
    } <= set(kinds(whole))
    later = EventGraph.build(events, room_version=V10, check_event_ids=False)
    assert "event_id_mismatch" not in kinds(later)
    checked = later.with_event_ids_checked()
    assert checked.findings == whole.findings
    assert checked.order == whole.order and checked.events == whole.events
    # Nothing to check: the same graph.
    assert build([c, good]).with_event_ids_checked().findings == ()
    v1 = EventGraph.build([ev("$x:a", version=V1)], room_version=V1, check_event_ids=False)
    assert v1.with_event_ids_checked() is v1


# -- gc_paused ------------------------------------------------------------------------


def _generation_of(obj: object) -> int | None:
    for generation in range(3):
        if any(o is obj for o in gc.get_objects(generation=generation)):
            return generation
    return None


@pytest.mark.parametrize(("settle", "expected"), [(True, 2), (False, 0)])
def test_gc_paused_leaves_what_it_made_in_the_oldest_generation_when_settling(
    settle: bool, expected: int
) -> None:
    was_enabled = gc.isenabled()
    gc.enable()
    try:
        gc.collect()
        with gc_paused(settle=settle):
            assert not gc.isenabled()
            made: list[list[int]] = [[] for _ in range(3)]
        assert gc.isenabled()
        assert _generation_of(made[0]) == expected
    finally:
        if not was_enabled:
            gc.disable()


def test_gc_paused_leaves_a_disabled_collector_disabled() -> None:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            made: list[int] = []
        assert not gc.isenabled()
        assert _generation_of(made) == 0
    finally:
        if was_enabled:
            gc.enable()
