"""The lane layout: its invariants, its stability when a room grows, and bad graphs.

Random rooms use a fixed set of seeds plus one random seed printed in the log
(``ROOMSCOPE_SEED`` reruns it).
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.layout.lanes import Layout, compute_layout
from tests.layout.rooms import chain, eid, make_event, sample_fork_merge

RANDOM_SEED = int(os.environ.get("ROOMSCOPE_SEED", random.randrange(1 << 30)))
print(f"tests/layout/test_lanes.py random seed: {RANDOM_SEED} (set ROOMSCOPE_SEED to rerun)")
SEEDS = [1, 2, 3, 4, 5, RANDOM_SEED]


@dataclass(frozen=True)
class Ev:
    """A bare event: only what the layout reads (fast to make by the 100k)."""

    event_id: str
    prev_events: tuple[str, ...]
    auth_events: tuple[str, ...] = ()
    origin_server_ts: int = 0
    depth: int = 0


def random_room(seed: int, n: int = 300, *, honest_clocks: bool = True) -> dict[str, Ev]:
    """Servers with their own heads that fork and merge (like bench_canvas's rooms)."""
    rng = random.Random(seed)
    events: dict[str, Ev] = {}
    heads = ["e0"]
    events["e0"] = Ev("e0", (), (), 0)
    for i in range(1, n):
        k = min(len(heads), rng.choice([1, 1, 1, 2, 2, 3]))
        prevs = tuple(rng.sample(heads, k))
        ts = i if honest_clocks else rng.randrange(n)
        e = f"e{i}"
        events[e] = Ev(e, prevs, ("e0",), ts, depth=rng.randrange(1000))
        for p in prevs:
            if p in heads and rng.random() < 0.8:
                heads.remove(p)
        heads.append(e)
        if rng.random() < 0.15:  # an old event forks again
            heads.append(rng.choice(list(events)))
        heads = heads[-6:]
    return events


def edges(layout: Layout) -> list[tuple[str, str]]:
    return [(layout.ids[p], layout.ids[c]) for p, c in layout.prev_edges.tolist()]


def assert_invariants(layout: Layout, events: Mapping[str, Ev] | Mapping[str, object]) -> None:
    """What every layout of an acyclic room must satisfy."""
    n = len(layout)
    assert sorted(layout.y.tolist()) == list(range(n))
    assert len(set(layout.ids)) == n
    assert all(layout.index[e] == i for i, e in enumerate(layout.ids))
    # every present event and every referenced one is laid out; placeholders are the absent
    for e in events:
        assert e in layout.index
        assert not layout.placeholder[layout.index[e]]
    for i, e in enumerate(layout.ids):
        assert bool(layout.placeholder[i]) == (e not in events)
    # every child below its parents
    p, c = layout.prev_edges[:, 0], layout.prev_edges[:, 1]
    assert (p < c).all(), "an edge points upwards in an acyclic room"
    assert not layout.upward.any()
    # no edge runs through a node: the vertical run of each edge is empty
    at = {(int(layout.x[r]), r) for r in range(n)}
    for (rp, rc), lane in zip(layout.prev_edges.tolist(), layout.route.tolist(), strict=True):
        # the edge changes into lane ``route`` just below the parent, runs down it,
        # and changes into the child's lane just above the child
        # the rows strictly between the two ends must be free in that lane
        for r in range(rp + 1, rc):
            assert (lane, r) not in at, f"edge {rp}->{rc} runs through the node at row {r}"


# ---------------------------------------------------------------- shapes of small rooms


def test_a_linear_room_is_one_lane_in_order() -> None:
    room = chain({"a": [], "b": ["a"], "c": ["b"], "d": ["c"]})
    layout = compute_layout(room)
    assert layout.ids == tuple(eid(x) for x in "abcd")
    assert layout.x.tolist() == [0, 0, 0, 0]
    assert layout.lane_count == 1
    assert_invariants(layout, room)


def test_a_fork_opens_a_lane_and_the_merge_closes_it() -> None:
    room = chain({"a": [], "b1": ["a"], "b2": ["a"], "m": ["b1", "b2"], "after": ["m"]})
    layout = compute_layout(room)
    lane = {e: layout.lane_of(eid(e)) for e in ("a", "b1", "b2", "m", "after")}
    assert lane["b1"] == lane["a"], "the first child continues its parent's lane"
    assert lane["b2"] != lane["a"], "a second child opens a lane"
    assert lane["m"] in (lane["b1"], lane["b2"])
    assert lane["after"] == lane["m"]
    assert layout.lane_count == 2
    assert_invariants(layout, room)


def test_freed_lanes_are_reused() -> None:
    # two forks one after the other: the second reuses the lane the first freed
    room = chain(
        {"a": [], "x1": ["a"], "y1": ["a"], "m1": ["x1", "y1"], "x2": ["m1"], "y2": ["m1"]}
        | {"m2": ["x2", "y2"]}
    )
    layout = compute_layout(room)
    assert layout.lane_count == 2
    assert layout.lane_of(eid("y1")) == layout.lane_of(eid("y2"))


def test_rows_do_not_trust_depth() -> None:
    a = make_event("a", depth=50, ts=1)
    b = make_event("b", prev=["a"], depth=1, ts=2)
    c = make_event("c", prev=["b"], depth=7, ts=3)
    layout = compute_layout({e.event_id: e for e in (c, b, a)})
    assert layout.ids == (eid("a"), eid("b"), eid("c"))


def test_rows_follow_the_graph_when_clocks_lie() -> None:
    # the child's timestamp is before its parent's: the graph wins
    room = chain({"a": [], "b": ["a"], "c": ["b"]}, ts={"a": 30, "b": 10, "c": 20})
    layout = compute_layout(room)
    assert layout.ids == (eid("a"), eid("b"), eid("c"))


def test_concurrent_events_are_ordered_by_timestamp_then_id() -> None:
    room = chain({"a": [], "z": ["a"], "y": ["a"], "x": ["a"]}, ts={"a": 0, "z": 1, "y": 2, "x": 1})
    layout = compute_layout(room)
    assert layout.ids == (eid("a"), eid("x"), eid("z"), eid("y"))


def test_the_input_order_does_not_matter() -> None:
    room = random_room(7)
    items = list(room.items())
    random.Random(1).shuffle(items)
    a, b = compute_layout(room), compute_layout(dict(items))
    assert a.ids == b.ids
    assert a.x.tolist() == b.x.tolist()
    assert a.route.tolist() == b.route.tolist()


def test_missing_events_get_placeholders_just_above_their_child() -> None:
    room = sample_fork_merge()
    layout = compute_layout(room)
    lost = layout.index[eid("lost")]
    assert layout.placeholder[lost]
    assert layout.placeholder.sum() == 1
    assert layout.index[eid("m4")] == lost + 1
    assert (layout.index[eid("lost")], layout.index[eid("m4")]) in {
        tuple(e) for e in layout.prev_edges.tolist()
    }
    assert_invariants(layout, room)


def test_auth_edges_are_kept_apart_from_prev_edges() -> None:
    room = sample_fork_merge()
    layout = compute_layout(room)
    auth = {(layout.ids[a], layout.ids[e]) for a, e in layout.auth_edges.tolist()}
    prev = set(edges(layout))
    assert (eid("create"), eid("pl")) in auth
    assert (eid("create"), eid("pl")) not in prev
    assert (eid("ja"), eid("pl")) in prev
    expected = sum(len(set(e.auth_events)) for e in room.values())
    assert len(auth) == expected


@pytest.mark.parametrize("seed", SEEDS)
def test_invariants_on_random_rooms(seed: int) -> None:
    room = random_room(seed)
    layout = compute_layout(room)
    assert_invariants(layout, room)
    # with honest clocks the rows are the events sorted by (timestamp, ID)
    assert list(layout.ids) == sorted(room, key=lambda e: (room[e].origin_server_ts, e))


@pytest.mark.parametrize("seed", SEEDS)
def test_invariants_when_clocks_lie(seed: int) -> None:
    room = random_room(seed, honest_clocks=False)
    assert_invariants(compute_layout(room), room)


# ---------------------------------------------------------------- bad graphs


def test_cycles_are_laid_out_and_flagged() -> None:
    room = {
        "a": Ev("a", ("c",), (), 1),
        "b": Ev("b", ("a",), (), 2),
        "c": Ev("c", ("b",), (), 3),
        "d": Ev("d", ("c",), (), 4),
    }
    layout = compute_layout(room)
    assert sorted(layout.ids) == ["a", "b", "c", "d"]
    assert layout.upward.sum() == 1
    up = [edges(layout)[i] for i in np.flatnonzero(layout.upward)]
    assert up == [("c", "a")]
    assert layout.ids[-1] == "d"


def test_self_references_and_duplicate_parents() -> None:
    room = {"a": Ev("a", ("a",), ("a",), 1), "b": Ev("b", ("a", "a"), (), 2)}
    layout = compute_layout(room)
    assert edges(layout) == [("a", "b")]
    assert len(layout.auth_edges) == 0


def test_absurd_timestamps() -> None:
    room = {
        "a": Ev("a", (), (), -(10**30)),
        "b": Ev("b", ("a",), (), 10**30),
        "c": Ev("c", ("a",), (), 5),
    }
    layout = compute_layout(room)
    assert layout.ids == ("a", "c", "b")


def test_an_empty_room() -> None:
    layout = compute_layout({})
    assert len(layout) == 0
    assert layout.lane_count == 0


def test_a_deep_room_has_no_recursion() -> None:
    n = 100_000
    room = {f"e{i}": Ev(f"e{i}", (f"e{i - 1}",) if i else (), (), i) for i in range(n)}
    layout = compute_layout(room)
    assert layout.lane_count == 1
    assert layout.ids[-1] == f"e{n - 1}"


def test_a_wide_fork_opens_many_lanes() -> None:
    room = {"root": Ev("root", (), (), 0)}
    room |= {f"c{i}": Ev(f"c{i}", ("root",), (), i + 1) for i in range(2000)}
    layout = compute_layout(room)
    assert layout.lane_count == 2000
    assert_invariants(layout, room)


# ---------------------------------------------------------------- stability


def ancestors_closed_subset(room: Mapping[str, Ev], keep: int) -> dict[str, Ev]:
    """The first ``keep`` events by timestamp: closed under parents (honest clocks)."""
    order = sorted(room, key=lambda e: room[e].origin_server_ts)[:keep]
    return {e: room[e] for e in order}


def descendants_closed_subset(room: Mapping[str, Ev], drop: int) -> dict[str, Ev]:
    """All but the ``drop`` oldest events: their parents become missing."""
    order = sorted(room, key=lambda e: room[e].origin_server_ts)[drop:]
    return {e: room[e] for e in order}


def relative(layout: Layout, ids: Sequence[str]) -> list[str]:
    return sorted(ids, key=layout.index.__getitem__)


@pytest.mark.parametrize("seed", SEEDS)
def test_from_scratch_newer_events_keep_the_old_row_order(seed: int) -> None:
    room = random_room(seed, honest_clocks=False)
    # "newer": events none of the old events descend from; with lying clocks too
    order = list(compute_layout(room).ids)
    old = {e: room[e] for e in order[: len(order) // 2]}
    before = compute_layout(old)
    after = compute_layout(room)
    present = [e for e in before.ids if e in old]
    assert relative(after, present) == present


@pytest.mark.parametrize("seed", SEEDS)
def test_from_scratch_older_history_keeps_the_row_order_with_honest_clocks(seed: int) -> None:
    room = random_room(seed)
    old = descendants_closed_subset(room, 100)
    before = compute_layout(old)
    after = compute_layout(room)
    present = [e for e in before.ids if e in old]
    assert relative(after, present) == present


@pytest.mark.parametrize("seed", SEEDS)
def test_incremental_newer_events_keep_rows_and_lanes(seed: int) -> None:
    room = random_room(seed)
    old = ancestors_closed_subset(room, 150)
    before = compute_layout(old)
    after = compute_layout(room, previous=before)
    for r, e in enumerate(before.ids):
        assert after.index[e] == r, "an old row moved"
        assert after.lane_of(e) == before.lane_of(e), "an old event changed lane"
    assert_invariants(after, room)
    # the old edges keep their routes
    old_routes = dict(zip(edges(before), before.route.tolist(), strict=True))
    new_routes = dict(zip(edges(after), after.route.tolist(), strict=True))
    for edge, lane in old_routes.items():
        assert new_routes[edge] == lane


@pytest.mark.parametrize("seed", SEEDS)
def test_incremental_older_history_goes_above_and_keeps_lanes(seed: int) -> None:
    room = random_room(seed)
    old = descendants_closed_subset(room, 120)
    before = compute_layout(old)
    after = compute_layout(room, previous=before)
    kept = [e for e in before.ids if e in old]
    first = after.index[kept[0]]
    assert first > before.index[kept[0]], "older history goes above"
    assert relative(after, kept) == kept
    for e in kept:
        assert after.lane_of(e) == before.lane_of(e)
    # rows between old events keep their distances, less the placeholders that left
    gone = [r for r, e in enumerate(before.ids) if before.placeholder[r]]
    for e in kept:
        r = before.index[e]
        left = sum(1 for g in gone if g < r)
        assert after.index[e] - first == r - before.index[kept[0]] - left + sum(
            1 for g in gone if g < before.index[kept[0]]
        )
    # the placeholders that arrived are events now
    for e in before.ids:
        assert bool(after.placeholder[after.index[e]]) == (e not in room)
    assert_invariants(after, room)


@pytest.mark.parametrize("seed", SEEDS)
def test_incremental_growth_both_ways(seed: int) -> None:
    room = random_room(seed, n=400)
    order = sorted(room, key=lambda e: room[e].origin_server_ts)
    middle = {e: room[e] for e in order[100:250]}
    before = compute_layout(middle)
    after = compute_layout(room, previous=before)
    kept = [e for e in before.ids if e in middle]
    assert relative(after, kept) == kept
    for e in kept:
        assert after.lane_of(e) == before.lane_of(e)
    assert_invariants(after, room)


SAMPLES = sorted((Path(__file__).resolve().parents[2] / "sample_rooms").glob("*.json"))


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_invariants_on_the_sample_rooms(path: Path) -> None:
    from app.sources.files import load_room

    graph = load_room(path).graph
    layout = compute_layout(graph.events)
    assert_invariants(layout, graph.events)
    assert {layout.ids[i] for i in np.flatnonzero(layout.placeholder)} == set(graph.missing)
    # the create event is the first row
    if graph.create_event is not None:
        assert layout.ids[0] == graph.create_event.event_id


# ---------------------------------------------------------------- laid out from the graph


def as_pdus(room: Mapping[str, Ev], *, missing: bool = False) -> dict[str, object]:
    """``room`` as PDUs (room version 1), some listing an auth event twice or their own
    parent as an auth event too; with ``missing``, every 50th event is left out."""
    out: dict[str, object] = {}
    for i, ev in enumerate(room.values()):
        if missing and i % 50 == 25:
            continue
        auth = list(ev.auth_events)
        if i % 7 == 3:
            auth += [*auth, *ev.prev_events[:1]]
        pdu = make_event(ev.event_id, prev=ev.prev_events, auth=auth, ts=ev.origin_server_ts)
        out[pdu.event_id] = pdu
    return out


def assert_same_layout(a: Layout, b: Layout) -> None:
    assert a.ids == b.ids
    assert dict(a.index) == dict(b.index)
    for name in ("x", "y", "prev_edges", "route", "upward", "auth_edges", "placeholder"):
        left, right = getattr(a, name), getattr(b, name)
        assert left.dtype == right.dtype, name
        assert np.array_equal(left, right), name
    assert a.lane_count == b.lane_count


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["honest", "lying clocks", "missing events"])
def test_the_graphs_order_and_edges_give_the_same_layout(
    seed: int, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.graph import EventGraph
    from app.layout import lanes
    from tests.layout.rooms import V1

    room = random_room(seed, 400, honest_clocks=kind != "lying clocks")
    events: Any = as_pdus(room, missing=kind == "missing events")
    graph = EventGraph.build(events.values(), room_version=V1)
    # Only an honest room with nothing missing offers its edges (the quick way).
    assert (graph.position_edges() is not None) == (kind == "honest")
    slow = compute_layout(graph.events)
    if kind == "honest":  # the quick way does not read the events again
        monkeypatch.setattr(lanes, "_read", None)
    assert_same_layout(compute_layout(graph.events, graph=graph), slow)


def test_a_graph_of_other_events_is_not_used() -> None:
    from app.core.graph import EventGraph
    from tests.layout.rooms import V1

    room: Any = as_pdus(random_room(1, 100))
    graph = EventGraph.build(room.values(), room_version=V1)
    fewer = dict(list(room.items())[:60])
    assert_same_layout(compute_layout(fewer, graph=graph), compute_layout(fewer))
    # as many events, under the same IDs, in another room: its own layout
    other: Any = as_pdus(random_room(2, 100))
    assert_same_layout(compute_layout(other, graph=graph), compute_layout(other))
    # the same events in another mapping: laid out the ordinary way, to the same result
    assert_same_layout(compute_layout(dict(room), graph=graph), compute_layout(graph.events))


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_the_sample_rooms_laid_out_from_their_graph(path: Path) -> None:
    from app.sources.files import load_room

    graph = load_room(path).graph
    assert_same_layout(compute_layout(graph.events, graph=graph), compute_layout(graph.events))
