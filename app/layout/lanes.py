"""A lane layout of the event graph, in the style of commit-graph viewers.

The room's events are drawn one per row, the create event at the top and time
flowing down (UI.md), each event in a vertical *lane*:

* **Rows** follow a deterministic topological order of the ``prev_events``
  graph (https://spec.matrix.org/v1.16/server-server-api/#pdus): every event
  sits below all of its parents. ``depth`` is not trusted (a server can write
  anything there); the order is Kahn's algorithm that, among the events whose
  parents are all placed, always takes the least ``(origin_server_ts,
  event_id)``. Where timestamps never decrease along an edge (honest clocks),
  that order is simply the events sorted by ``(origin_server_ts, event_id)``.
* **Lanes**: when an event is placed it reserves a lane for each child not yet
  reserved: the first child (by row) continues the parent's own lane, the
  other children open new lanes (a fork), and a child already reserved by an
  earlier parent is joined by an edge (a merge), which lets the parent's lane
  close. Freed lanes are reused, lowest first. A reserved lane stays empty
  from the reservation down to the child, so an edge never passes through a
  node: each edge leaves its parent with a one-row diagonal into the child's
  lane (``route`` says which lane its vertical run uses).
* **Missing** events (referenced by ``prev_events`` or ``auth_events`` but not
  in the room) get placeholder rows, keyed by the earliest timestamp of the
  events referring to them, so they sit just above their first child.
* **Cycles** (a malicious or broken graph) cannot stop the order: when no event
  is ready, the least remaining one is placed anyway and the edges that now
  point upwards are flagged in :attr:`Layout.upward`.

Everything is iterative and O((V + E) log V): a 100k-deep room is laid out in
well under a second, and no recursion limit can be reached.

Stability when events are added (fetching history, new events arriving). What
is guaranteed, and tested (``tests/layout/test_lanes.py``):

1. **Incremental growth** (``compute_layout(events, previous=old)``): every
   event of ``old`` keeps its lane, and rows keep their order and distances:
   new events that are ancestors of an old event ("older history") go into new
   rows *above* all old rows, every other new event ("newer events") into new
   rows *below* them. An old row ``r`` becomes ``r + k`` where ``k`` is the
   number of new rows above. New rows get lanes that are free for the rows
   their edges cross, so no edge of the new events runs through an old node.
   A placeholder of the old layout whose event has now arrived keeps its place
   (it is no longer drawn as missing); an edge that this arrival adds between
   two old rows may point upwards and is then flagged in :attr:`Layout.upward`.
2. **From scratch**, the row order of any events ``G`` is unchanged in ``G`` plus
   newer events ``N`` (no event of ``G`` has a ``prev_event`` in ``N``): the
   rows of ``G`` keep their relative order. If timestamps never decrease along
   an edge, the relative order is kept for any added events, older or newer.
   Lanes are only guaranteed by (1).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["EventLike", "Layout", "compute_layout", "events_of"]

IntArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]


class EventLike(Protocol):
    """What the layout reads of an event (a :class:`~app.core.events.PDU` fits)."""

    @property
    def event_id(self) -> str: ...
    @property
    def prev_events(self) -> tuple[str, ...]: ...
    @property
    def auth_events(self) -> tuple[str, ...]: ...
    @property
    def origin_server_ts(self) -> int: ...


def _frozen(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True, eq=False)
class Layout:
    """Positions of a room's events: one row per event, each in a lane.

    Indices are rows: event ``i`` is drawn at row ``y[i] == i`` in lane
    ``x[i]``. Edges are ``(parent_index, child_index)`` pairs; ``prev_edges``
    come from ``prev_events`` and ``auth_edges`` from ``auth_events``
    (``(auth_event_index, event_index)``). Arrays are read-only.
    """

    ids: tuple[str, ...]
    index: Mapping[str, int] = field(repr=False)
    #: lane of each event
    x: IntArray = field(repr=False)
    #: row of each event (equal to its index)
    y: IntArray = field(repr=False)
    #: (parent, child) index pairs of ``prev_events`` edges, sorted by child
    prev_edges: IntArray = field(repr=False)
    #: the lane in which each prev edge runs vertically (the child's lane, or
    #: the parent's for edges laid out bottom-up from older history)
    route: IntArray = field(repr=False)
    #: prev edges whose child is not below its parent (cycles, late arrivals)
    upward: BoolArray = field(repr=False)
    #: (auth event, event) index pairs of ``auth_events`` edges
    auth_edges: IntArray = field(repr=False)
    #: True for placeholders of missing events (referenced, absent)
    placeholder: BoolArray = field(repr=False)
    lane_count: int

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def row_count(self) -> int:
        return len(self.ids)

    def row_of(self, event_id: str) -> int:
        """The row of ``event_id`` (KeyError if it is not laid out)."""
        return self.index[event_id]

    def lane_of(self, event_id: str) -> int:
        return int(self.x[self.index[event_id]])


# --------------------------------------------------------------------------- order


def _nodes(
    events: Mapping[str, EventLike],
) -> tuple[list[str], dict[str, int], list[int], list[list[int]], list[list[int]], int]:
    """Number the events and the missing ones; return ids, index, ts, parents, auths.

    Parents are deduplicated; a self-reference is dropped (it cannot be drawn).
    """
    ids: list[str] = list(events)
    index: dict[str, int] = {eid: i for i, eid in enumerate(ids)}
    ts: list[int] = [int(events[eid].origin_server_ts) for eid in ids]
    present = len(ids)
    missing_ts: dict[int, int] = {}
    parents: list[list[int]] = []
    auths: list[list[int]] = []

    def ref(ref_id: str, child_ts: int) -> int:
        j = index.get(ref_id)
        if j is None:
            j = len(ids)
            index[ref_id] = j
            ids.append(ref_id)
            ts.append(child_ts)
        if j >= present:
            missing_ts[j] = min(missing_ts.get(j, child_ts), child_ts)
        return j

    for i in range(present):
        ev = events[ids[i]]
        seen: set[int] = set()
        row: list[int] = []
        for pid in ev.prev_events:
            j = ref(pid, ts[i])
            if j != i and j not in seen:
                seen.add(j)
                row.append(j)
        parents.append(row)
        arow: list[int] = []
        aseen: set[int] = set()
        for aid in ev.auth_events:
            j = ref(aid, ts[i])
            if j != i and j not in aseen:
                aseen.add(j)
                arow.append(j)
        auths.append(arow)
    for j, t in missing_ts.items():
        ts[j] = t
    parents.extend([] for _ in range(len(ids) - present))
    auths.extend([] for _ in range(len(ids) - present))
    return ids, index, ts, parents, auths, present


def _topological(
    nodes: Sequence[int],
    ts: Sequence[int],
    ids: Sequence[str],
    parents: Sequence[Sequence[int]],
    children: Sequence[Sequence[int]],
    member: Sequence[bool] | None = None,
) -> list[int]:
    """Kahn's algorithm taking the least (ts, id) ready node; cycles are broken.

    Only edges between nodes of ``nodes`` count (``member`` marks them).
    """
    inside = member
    indeg: dict[int, int] = {}
    for n in nodes:
        indeg[n] = sum(1 for p in parents[n] if inside is None or inside[p])
    heap: list[tuple[int, str, int]] = [(ts[n], ids[n], n) for n in nodes if indeg[n] == 0]
    heapq.heapify(heap)
    by_key = sorted(nodes, key=lambda n: (ts[n], ids[n]))
    cursor = 0
    placed: set[int] = set()
    out: list[int] = []
    while len(out) < len(nodes):
        if not heap:
            # a cycle: force the least node not yet placed
            while by_key[cursor] in placed:
                cursor += 1
            n = by_key[cursor]
            indeg[n] = 0
            heapq.heappush(heap, (ts[n], ids[n], n))
        _, _, n = heapq.heappop(heap)
        if n in placed:
            continue
        placed.add(n)
        out.append(n)
        for c in children[n]:
            if (inside is None or inside[c]) and c not in placed:
                indeg[c] -= 1
                if indeg[c] == 0:
                    heapq.heappush(heap, (ts[c], ids[c], c))
    return out


# --------------------------------------------------------------------------- lanes


class _Lanes:
    """Lane occupancy: ``busy[l]`` is the last row (in the pass's direction) where
    lane ``l`` is occupied; ``_RESERVED`` while a child is still expected."""

    RESERVED = 1 << 60

    def __init__(self, busy: list[int] | None = None) -> None:
        self.busy: list[int] = list(busy or [])
        self.free: list[int] = []  # lanes free from the current row on (a heap)
        self.pending: list[tuple[int, int]] = []  # (busy, lane) not yet free

    def allocate(self, row: int) -> int:
        """The lowest lane free from ``row`` on; reserved until :meth:`release`."""
        while self.pending and self.pending[0][0] < row:
            _, lane = heapq.heappop(self.pending)
            if self.busy[lane] < row:
                heapq.heappush(self.free, lane)
        while self.free:
            lane = heapq.heappop(self.free)
            if self.busy[lane] < row:
                self.busy[lane] = self.RESERVED
                return lane
        lane = len(self.busy)
        self.busy.append(self.RESERVED)
        return lane

    def release(self, lane: int, last_row: int) -> None:
        self.busy[lane] = last_row
        heapq.heappush(self.pending, (last_row, lane))

    def seed(self) -> None:
        """Make every lane with a finite ``busy`` a candidate for reuse."""
        for lane, b in enumerate(self.busy):
            if b != self.RESERVED:
                heapq.heappush(self.pending, (b, lane))


def _assign_lanes(
    order: Sequence[int],
    rows: Mapping[int, int] | Sequence[int],
    parents: Sequence[Sequence[int]],
    children: Sequence[Sequence[int]],
    lanes: _Lanes,
    lane_of: dict[int, int],
    route: dict[tuple[int, int], int],
) -> None:
    """Place ``order`` (increasing ``rows``) into lanes, reserving children's lanes.

    ``parents``/``children`` may be the reversed graph (for a bottom-up pass);
    ``route[(parent, child)]`` records the lane of each edge's vertical run,
    keyed in the pass's own direction.
    """
    reserved: dict[int, int] = {}
    for n in order:
        r = rows[n]
        lane = reserved.pop(n, None)
        if lane is None:
            lane = lanes.allocate(r)
        lane_of[n] = lane
        kids = sorted(
            (c for c in children[n] if c in rows and rows[c] > r and c not in lane_of),
            key=lambda c: rows[c],
        )
        continued = False
        for c in kids:
            if c in reserved:
                route[(n, c)] = reserved[c]
            elif not continued:
                reserved[c] = lane
                route[(n, c)] = lane
                continued = True
            else:
                new = lanes.allocate(r + 1)
                reserved[c] = new
                route[(n, c)] = new
        if not continued:
            lanes.release(lane, r)
    for c, lane in reserved.items():  # children outside the pass
        lanes.release(lane, rows[c])


# --------------------------------------------------------------------------- layout


def compute_layout(events: Mapping[str, EventLike], *, previous: Layout | None = None) -> Layout:
    """Lay out ``events`` (event ID -> event); see the module docstring.

    With ``previous`` (a layout of a subset of these events, plus placeholders)
    the old placement is kept and new events are added above and below it.
    """
    ids, _index, ts, parents, auths, present = _nodes(events)
    n_nodes = len(ids)
    children: list[list[int]] = [[] for _ in range(n_nodes)]
    for c in range(n_nodes):
        for p in parents[c]:
            children[p].append(c)

    lane_of: dict[int, int] = {}
    route: dict[tuple[int, int], int] = {}
    row_of: dict[int, int]

    if previous is None or not any(i in _index for i in previous.ids):
        order = _topological(range(n_nodes), ts, ids, parents, children)
        row_of = {n: r for r, n in enumerate(order)}
        _assign_lanes(order, row_of, parents, children, _Lanes(), lane_of, route)
        final = order
    else:
        final, row_of = _extend(previous, ids, _index, ts, parents, children, lane_of, route)

    return _build(final, row_of, ids, parents, auths, present, lane_of, route)


def _extend(
    previous: Layout,
    ids: list[str],
    index: dict[str, int],
    ts: list[int],
    parents: list[list[int]],
    children: list[list[int]],
    lane_of: dict[int, int],
    route: dict[tuple[int, int], int],
) -> tuple[list[int], dict[int, int]]:
    """Keep ``previous``'s rows and lanes; put older history above, newer events below."""
    n_nodes = len(ids)
    old_nodes: list[int] = []
    for i, eid in enumerate(previous.ids):
        n = index.get(eid)
        if n is not None:
            old_nodes.append(n)
            lane_of[n] = int(previous.x[i])
    is_old = [False] * n_nodes
    for n in old_nodes:
        is_old[n] = True
    # Older history: new nodes that are ancestors of an old node (walk up, iteratively).
    above = [False] * n_nodes
    stack = [p for n in old_nodes for p in parents[n] if not is_old[p]]
    while stack:
        p = stack.pop()
        if above[p] or is_old[p]:
            continue
        above[p] = True
        stack.extend(q for q in parents[p] if not above[q] and not is_old[q])
    below = [not is_old[n] and not above[n] for n in range(n_nodes)]
    top = [n for n in range(n_nodes) if above[n]]
    bottom = [n for n in range(n_nodes) if below[n]]

    # Rows: top block (its own order), then the old rows in their old order, then bottom.
    top_order = _topological(top, ts, ids, parents, children, above)
    bottom_order = _topological(bottom, ts, ids, parents, children, below)
    old_order = sorted(old_nodes, key=lambda n: previous.index[ids[n]])
    k = len(top_order)
    final = top_order + old_order + bottom_order
    row_of = {n: r for r, n in enumerate(final)}

    n_lanes = previous.lane_count
    # Old lanes' first and last occupied rows (in the new numbering), counting the
    # vertical runs of old edges.
    first = [1 << 60] * n_lanes
    last = [-1] * n_lanes
    for n in old_nodes:
        lane, r = lane_of[n], row_of[n]
        first[lane] = min(first[lane], r)
        last[lane] = max(last[lane], r)
    for (p, c), lane in zip(previous.prev_edges.tolist(), previous.route.tolist(), strict=True):
        rp, rc = p + k, c + k
        lo, hi = min(rp, rc), max(rp, rc)
        first[lane] = min(first[lane], lo)
        last[lane] = max(last[lane], hi)
        pid, cid = previous.ids[p], previous.ids[c]
        if pid in index and cid in index:
            route[(index[pid], index[cid])] = lane

    # Bottom block, top-down: lanes are free after their last old row.
    down = _Lanes(last)
    down.seed()
    # Old parents of bottom nodes start the pass: process them as "already placed"
    # by reserving lanes for their new children.
    boundary = sorted({p for c in bottom for p in parents[c] if is_old[p]}, key=lambda n: row_of[n])
    pass_rows = {n: row_of[n] for n in bottom}
    for p in boundary:
        pass_rows[p] = row_of[p]
    _assign_lanes_from(boundary, bottom_order, pass_rows, children, down, lane_of, route)

    # Top block, bottom-up on the reversed graph: lanes are free above their first row.
    up = _Lanes([-f for f in first])
    up.seed()
    rev_rows = {n: -row_of[n] for n in top}
    boundary_up = sorted(
        {c for p in top for c in children[p] if is_old[c]}, key=lambda n: -row_of[n]
    )
    for c in boundary_up:
        rev_rows[c] = -row_of[c]
    rev_route: dict[tuple[int, int], int] = {}
    _assign_lanes_from(
        boundary_up, list(reversed(top_order)), rev_rows, parents, up, lane_of, rev_route
    )
    for (c, p), lane in rev_route.items():
        route[(p, c)] = lane
    return final, row_of


def _assign_lanes_from(
    boundary: Sequence[int],
    order: Sequence[int],
    rows: dict[int, int],
    children: Sequence[Sequence[int]],
    lanes: _Lanes,
    lane_of: dict[int, int],
    route: dict[tuple[int, int], int],
) -> None:
    """Like :func:`_assign_lanes`, after already-placed ``boundary`` nodes reserve
    lanes for their children in the pass (they never continue their own lane)."""
    reserved: dict[int, int] = {}
    events: list[tuple[int, int, int]] = []  # (row, kind, node): boundary first at a row
    for b in boundary:
        events.append((rows[b], 0, b))
    for n in order:
        events.append((rows[n], 1, n))
    events.sort()
    for r, kind, n in events:
        if kind == 1:
            lane = reserved.pop(n, None)
            if lane is None:
                lane = lanes.allocate(r)
            lane_of[n] = lane
        else:
            lane = lane_of[n]
        kids = sorted(
            (c for c in children[n] if c in rows and rows[c] > r and c not in lane_of),
            key=lambda c: rows[c],
        )
        continued = False
        for c in kids:
            if c in reserved:
                route[(n, c)] = reserved[c]
            elif not continued and kind == 1:
                reserved[c] = lane
                route[(n, c)] = lane
                continued = True
            else:
                new = lanes.allocate(r + 1)
                reserved[c] = new
                route[(n, c)] = new
        if kind == 1 and not continued:
            lanes.release(lane, r)
    for c, lane in reserved.items():
        lanes.release(lane, rows[c])


def _build(
    final: Sequence[int],
    row_of: Mapping[int, int],
    ids: Sequence[str],
    parents: Sequence[Sequence[int]],
    auths: Sequence[Sequence[int]],
    present: int,
    lane_of: Mapping[int, int],
    route: Mapping[tuple[int, int], int],
) -> Layout:
    n = len(final)
    x = np.empty(n, dtype=np.int32)
    placeholder = np.zeros(n, dtype=np.bool_)
    for r, node in enumerate(final):
        x[r] = lane_of[node]
        placeholder[r] = node >= present
    pe: list[tuple[int, int]] = []
    ro: list[int] = []
    for node in final:
        rc = row_of[node]
        for p in parents[node]:
            rp = row_of[p]
            pe.append((rp, rc))
            ro.append(route.get((p, node), lane_of[node]))
    ae: list[tuple[int, int]] = [(row_of[a], row_of[node]) for node in final for a in auths[node]]
    prev_edges = np.array(pe, dtype=np.int32).reshape(-1, 2)
    upward = (
        prev_edges[:, 0] >= prev_edges[:, 1] if len(pe) else np.zeros(0, dtype=np.bool_)
    ).astype(np.bool_)
    return Layout(
        ids=tuple(ids[node] for node in final),
        index={ids[node]: r for r, node in enumerate(final)},
        x=_frozen(x),
        y=_frozen(np.arange(n, dtype=np.int32)),
        prev_edges=_frozen(prev_edges),
        route=_frozen(np.array(ro, dtype=np.int32)),
        upward=_frozen(upward),
        auth_edges=_frozen(np.array(ae, dtype=np.int32).reshape(-1, 2)),
        placeholder=_frozen(placeholder),
        lane_count=int(x.max()) + 1 if n else 0,
    )


def events_of(graph_or_events: Any) -> Mapping[str, EventLike]:
    """The event map of an ``EventGraph`` (its ``.events``) or of a plain mapping."""
    events = getattr(graph_or_events, "events", graph_or_events)
    if not isinstance(events, Mapping):
        raise TypeError("expected an EventGraph or a mapping of event ID to event")
    return events
