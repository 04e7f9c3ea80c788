"""The event graph of a room: the DAG of PDUs linked by ``prev_events`` and ``auth_events``.

:meth:`EventGraph.build` indexes the events of a room and works out what the rest of
roomscope draws and resolves over: a topological order that does not trust
``depth``, the events referenced but absent ("missing"), the forward extremities,
the fork and merge points, and what is wrong with the input (cycles, duplicate IDs,
event IDs that do not match their reference hash, events of another room) as
:class:`Finding` records rather than failures: a room file is untrusted input, and
a person debugging a broken room wants to see it, not an exception.

Everything here is iterative, never recursive: real rooms are 100k+ events deep.
Plain dicts and lists carry the hot paths (measured in ``benchmarks/bench_load.py``).

Spec: https://spec.matrix.org/v1.16/server-server-api/#pdus (``prev_events``,
``auth_events``), https://spec.matrix.org/v1.16/server-server-api/#calculating-the-reference-hash-for-an-event
(event IDs of room versions 3+), https://spec.matrix.org/v1.16/rooms/v12/ (room IDs
derived from the create event).
"""

from __future__ import annotations

import dataclasses
import gc
import heapq
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import filterfalse
from types import MappingProxyType

from app.core.events import PDU, as_sent, domain_of
from app.core.hashing import event_id_hasher, room_id_from_create_event_id
from app.core.versions import RoomVersion

__all__ = ["EventGraph", "Finding", "gc_paused"]

# The kinds of finding of the event ID check, and those found before it in build().
_ID_CHECK_KINDS = frozenset({"event_id_mismatch", "unhashable_event"})
_BEFORE_ID_CHECK = frozenset({"duplicate_event_id", "missing_depth"})

# How many event IDs a one-line message names before it says "and N more".
_NAMED_IN_MESSAGE = 5


@dataclass(frozen=True, slots=True)
class Finding:
    """Something wrong (or worth knowing) about a room's events, found while loading.

    ``kind`` is a short word the UI and scripts can match on: ``"cycle"``,
    ``"duplicate_event_id"``, ``"event_id_mismatch"``, ``"unhashable_event"``,
    ``"wrong_room"``, ``"missing_create"``, ``"multiple_create"``,
    ``"room_version_mismatch"``, ``"missing_depth"``; :class:`~app.core.room.Room`
    adds ``"room_id_mismatch"`` and ``"state_set_unknown_event"``. ``event_id``
    names the event concerned, when there is one. ``message`` is one readable line.
    """

    kind: str
    event_id: str | None
    message: str


#: (prev parent, prev child, auth parent, auth child) positions: see
#: :meth:`EventGraph.position_edges`.
PositionEdges = tuple["array[int]", "array[int]", "array[int]", "array[int]"]


@contextmanager
def gc_paused(*, settle: bool = True) -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic structures.

    Building a 100k-event graph, or the states at its every event, allocates
    millions of containers and no reference cycles; each allocation burst would
    trigger full collections that walk every live object (measured: ~40% of load
    time, benchmarks/bench_load.py; 22% of the states of a 100k-event room).
    Reference counting still frees everything; the collector resumes (if it was
    on) at exit.

    ``settle``: what was made meanwhile goes straight to the oldest generation
    first (``gc.freeze`` then ``gc.unfreeze``, two list splices). Left in the
    youngest, the first allocation after resuming walks all of it, and later
    collections of the middle generation walk it again (0.3-0.5 s after loading a
    100k-event room, a quarter of ``roomscope info``; ~1.3 s after the states of
    the generated 100k room). It stays collectable by full collections. Without
    it (an event added to a room: a few objects), the collector is only paused.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if settle:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _names(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_NAMED_IN_MESSAGE])
    if len(ids) > _NAMED_IN_MESSAGE:
        shown += f" and {len(ids) - _NAMED_IN_MESSAGE} more"
    return shown


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EventGraph:
    """The events of one room, indexed, ordered and checked. Build with :meth:`build`.

    Only events present in the input are in ``events`` and ``order``; events that
    present events reference but that are absent are in ``missing`` (the UI draws
    them as placeholders).
    """

    room_version: RoomVersion
    #: Present events by ID, in the order first seen in the input.
    events: Mapping[str, PDU]
    #: A deterministic topological order of the present events: every event comes
    #: after all its present ``prev_events`` and ``auth_events``. Ties are broken by
    #: ``(origin_server_ts, event_id)``; when timestamps grow along every edge (honest
    #: clocks) the order is exactly that sort, so adding older history or newer events
    #: never reorders the events already there. ``depth`` is not trusted. Events on
    #: cycles come last (see :attr:`findings`).
    order: Sequence[str]
    #: Index of each present event in :attr:`order`.
    position: Mapping[str, int]
    #: Events referenced through ``prev_events`` or ``auth_events`` but absent.
    missing: frozenset[str]
    #: Present events that no present event lists in ``prev_events``, in order.
    forward_extremities: tuple[str, ...]
    #: Events listed in ``prev_events`` by two or more present events, in order.
    forks: tuple[str, ...]
    #: Events with two or more (distinct) ``prev_events``, in order.
    merges: tuple[str, ...]
    #: The room's ``m.room.create`` event (the first in order, if several), or None.
    create_event: PDU | None
    #: The room ID: from the create event (derived from its ID in v12), else the
    #: most common ``room_id`` of the events; None when nothing says.
    room_id: str | None
    #: What is wrong with the input, ordered by the position of the event concerned.
    findings: tuple[Finding, ...]
    #: Number of present events per sender server, most first.
    server_counts: Mapping[str, int]
    _children: Mapping[str, tuple[str, ...]] = field(repr=False)
    #: See :meth:`position_edges`.
    _position_edges: PositionEdges | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"<EventGraph v{self.room_version.identifier}: {len(self.order)} events, "
            f"{len(self.missing)} missing, {len(self.findings)} findings>"
        )

    def __len__(self) -> int:
        return len(self.order)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self.events

    def children(self, event_id: str) -> tuple[str, ...]:
        """The present events that list ``event_id`` in their ``prev_events``, in order."""
        return self._children.get(event_id, ())

    def with_event_ids_checked(self, *, float_free: bool = False) -> EventGraph:
        """This graph as :meth:`build` makes it with ``check_event_ids=True``, for a
        graph built without the check (a loader that shows the room first and checks
        its given IDs right after): the same findings, in the same order.

        ``float_free`` as for :meth:`build`.
        """
        if not self.room_version.event_ids_derived:
            return self
        checked = _check_event_ids(self.events, self.room_version, float_free=float_free)
        if not checked:
            return self
        position, last = self.position, len(self.order)

        def key(f: Finding) -> tuple[int, int]:
            # build's order: by the event's position, and for one event the findings
            # found before the ID check (duplicates, no depth), then its own, then the
            # rest (cycles, the room's checks); a stable sort keeps each group's order.
            at = -1 if f.event_id is None else position.get(f.event_id, last)
            rank = 1 if f.kind in _ID_CHECK_KINDS else 0 if f.kind in _BEFORE_ID_CHECK else 2
            return at, rank

        findings = sorted((*self.findings, *checked), key=key)
        return dataclasses.replace(self, findings=tuple(findings))

    def position_edges(self) -> PositionEdges | None:
        """The graph's edges by position in :attr:`order`, when that order is simply the
        sort by ``(origin_server_ts, event_id)`` (timestamps grow along every edge, the
        usual case) and no event is missing; else None.

        ``(prev_parent, prev_child, auth_parent, auth_child)``: parallel arrays, one
        entry per distinct ``prev_events`` reference of each event and one per
        ``auth_events`` reference (an event listing one twice gives two), children
        in order. Found on the way while checking the order, so a
        reader (the lane layout) need not look every reference up again.
        """
        return self._position_edges

    @classmethod
    def build(
        cls,
        events: Iterable[PDU],
        *,
        room_version: RoomVersion,
        check_event_ids: bool = True,
        float_free: bool = False,
    ) -> EventGraph:
        """Index ``events`` and work out the graph; never raises on bad input.

        Duplicate event IDs: identical copies (ignoring ``unsigned``) are merged
        silently (overlapping batches are normal); differing copies keep the first
        and add a ``duplicate_event_id`` finding. In rooms whose event IDs are
        reference hashes (v3+), an ``event_id`` given in the input that differs from
        the hash is an ``event_id_mismatch`` finding (DESIGN.md: the given ID stays
        authoritative). ``check_event_ids=False`` skips that check (for callers that
        built the events themselves). ``float_free``: the caller knows the events hold
        no float, so their hashes may be computed the faster way
        (:func:`app.core.hashing.canonical_json`).
        """
        with gc_paused():
            return cls._build(
                events,
                room_version=room_version,
                check_event_ids=check_event_ids,
                float_free=float_free,
            )

    @classmethod
    def _build(
        cls,
        events: Iterable[PDU],
        *,
        room_version: RoomVersion,
        check_event_ids: bool,
        float_free: bool,
    ) -> EventGraph:
        findings: list[Finding] = []
        by_id: dict[str, PDU] = {}
        for pdu in events:
            eid = pdu.event_id
            first = by_id.get(eid)
            if first is None:
                by_id[eid] = pdu
            elif (
                first is not pdu
                and first.raw != pdu.raw
                and as_sent(first.raw, room_version) != as_sent(pdu.raw, room_version)
            ):
                findings.append(
                    Finding(
                        "duplicate_event_id",
                        eid,
                        f"{eid} appears more than once with different content; "
                        "the first copy is kept",
                    )
                )

        no_depth = [eid for eid, pdu in by_id.items() if "depth" not in pdu.raw]
        if no_depth:
            findings.append(
                Finding(
                    "missing_depth",
                    no_depth[0],
                    f"{len(no_depth)} event(s) have no depth ({_names(no_depth)}); read as "
                    "depth 0 (roomscope's order does not use depth; v1 state resolution does)",
                )
            )

        if check_event_ids and room_version.event_ids_derived:
            findings.extend(_check_event_ids(by_id, room_version, float_free=float_free))

        ordered = _order_by_timestamp(by_id)
        edges: PositionEdges | None = None
        if ordered is None:
            order, missing, cycle_findings = _order_by_dependencies(by_id)
            findings.extend(cycle_findings)
            position = {eid: i for i, eid in enumerate(order)}
            children_lists, merges = _children_and_merges(order, by_id)
        else:
            order, position, missing, children_lists, merges, edge_lists = ordered
            if not missing:
                psrc, pdst, asrc, adst = edge_lists
                edges = (array("i", psrc), array("i", pdst), array("i", asrc), array("i", adst))
        children = dict(zip(children_lists, map(tuple, children_lists.values()), strict=True))
        extremities = tuple(filterfalse(children.__contains__, order))
        forks = tuple(
            sorted(
                [eid for eid, kids in children.items() if len(kids) > 1], key=position.__getitem__
            )
        )

        create_event, room_id, room_findings = _check_room(order, by_id, room_version)
        findings.extend(room_findings)

        # Per sender first: far fewer senders than events, and one domain_of each.
        counts: Counter[str] = Counter()
        for sender, n in Counter(pdu.sender for pdu in by_id.values()).items():
            counts[domain_of(sender) or ""] += n
        server_counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

        last = len(order)
        findings.sort(key=lambda f: -1 if f.event_id is None else position.get(f.event_id, last))

        return cls(
            room_version=room_version,
            events=MappingProxyType(by_id),
            order=tuple(order),
            position=MappingProxyType(position),
            missing=frozenset(missing),
            forward_extremities=extremities,
            forks=forks,
            merges=tuple(merges),
            create_event=create_event,
            room_id=room_id,
            findings=tuple(findings),
            server_counts=MappingProxyType(server_counts),
            _children=MappingProxyType(children),
            _position_edges=edges,
        )


_EdgeLists = tuple[list[int], list[int], list[int], list[int]]
_Ordered = tuple[list[str], dict[str, int], set[str], dict[str, list[str]], list[str], _EdgeLists]


def _order_by_timestamp(by_id: Mapping[str, PDU]) -> _Ordered | None:
    """The order of :attr:`EventGraph.order` when timestamps grow along every edge.

    Then the sort by ``(origin_server_ts, event_id)`` is a topological order, and it
    is exactly what Kahn's algorithm with that tie-break gives (the smallest event
    left always has its parents placed already). One pass over the edges checks
    it, and finds on the way the missing events, the children and the merges.
    Returns (order, position, missing, children, merges), or None at the first
    edge that goes back in time (skewed clocks, a cycle): then the caller orders
    by the dependencies instead.
    """
    order = [eid for _, eid in sorted([(pdu.origin_server_ts, eid) for eid, pdu in by_id.items()])]
    position = {eid: i for i, eid in enumerate(order)}
    at = position.get
    missing: set[str] = set()
    children: dict[str, list[str]] = {}
    merges: list[str] = []
    psrc: list[int] = []
    pdst: list[int] = []
    asrc: list[int] = []
    adst: list[int] = []
    add_prev_parent, add_prev_child = psrc.append, pdst.append
    add_auth_parent, add_auth_child = asrc.append, adst.append
    for i, eid in enumerate(order):
        pdu = by_id[eid]
        prevs = pdu.prev_events
        if len(prevs) > 1:
            prevs = tuple(dict.fromkeys(prevs))
            if len(prevs) > 1:
                merges.append(eid)
        for ref in prevs:
            j = at(ref)
            if j is None:
                missing.add(ref)
            elif j >= i:
                return None
            else:
                kids = children.get(ref)
                if kids is None:
                    children[ref] = [eid]
                else:
                    kids.append(eid)
                add_prev_parent(j)
                add_prev_child(i)
        for ref in pdu.auth_events:
            j = at(ref)
            if j is None:
                missing.add(ref)
            elif j >= i:
                return None
            else:
                add_auth_parent(j)
                add_auth_child(i)
    return order, position, missing, children, merges, (psrc, pdst, asrc, adst)


def _order_by_dependencies(
    by_id: Mapping[str, PDU],
) -> tuple[list[str], set[str], list[Finding]]:
    """Kahn's algorithm with a heap on ``(origin_server_ts, event_id)``; events on or
    after a cycle placed last (:func:`_place_cycles`). Also the missing events."""
    # Edges: parent -> dependents over prev_events and auth_events together, each
    # distinct parent counted once.
    dependents: dict[str, list[str]] = {}
    indegree: dict[str, int] = {}
    missing: set[str] = set()
    for eid, pdu in by_id.items():
        n = 0
        refs = pdu.prev_events + pdu.auth_events
        for ref in set(refs) if len(refs) > 1 else refs:
            if ref in by_id:
                deps = dependents.get(ref)
                if deps is None:
                    dependents[ref] = [eid]
                else:
                    deps.append(eid)
                n += 1
            else:
                missing.add(ref)
        indegree[eid] = n

    heap = [(pdu.origin_server_ts, eid) for eid, pdu in by_id.items() if not indegree[eid]]
    heapq.heapify(heap)
    order: list[str] = []
    push, pop = heapq.heappush, heapq.heappop
    while heap:
        eid = pop(heap)[1]
        order.append(eid)
        for dep in dependents.get(eid, ()):
            d = indegree[dep] - 1
            indegree[dep] = d
            if not d:
                push(heap, (by_id[dep].origin_server_ts, dep))

    findings: list[Finding] = []
    if len(order) < len(by_id):
        leftover = [eid for eid, d in indegree.items() if d]
        placed, findings = _place_cycles(leftover, by_id, dependents)
        order.extend(placed)
    return order, missing, findings


def _children_and_merges(
    order: Sequence[str], by_id: Mapping[str, PDU]
) -> tuple[dict[str, list[str]], list[str]]:
    """The present children of each event (in order), and the merge events."""
    children: dict[str, list[str]] = {}
    merges: list[str] = []
    for eid in order:
        prevs = by_id[eid].prev_events
        if len(prevs) > 1:
            prevs = tuple(dict.fromkeys(prevs))
            if len(prevs) > 1:
                merges.append(eid)
        for ref in prevs:
            if ref in by_id:
                kids = children.get(ref)
                if kids is None:
                    children[ref] = [eid]
                else:
                    kids.append(eid)
    return children, merges


def _check_event_ids(
    by_id: Mapping[str, PDU], version: RoomVersion, *, float_free: bool = False
) -> list[Finding]:
    """v3+: given event IDs must be the reference hash of the event as sent.

    https://spec.matrix.org/v1.16/rooms/v4/#event-ids (and v3): the event ID is
    ``$`` + the reference hash, which covers the redacted event less ``signatures``
    and ``unsigned``; ``PDU.as_sent`` drops what homeservers add.
    """
    out: list[Finding] = []
    event_id_of = event_id_hasher(version, float_free=float_free)
    for eid, pdu in by_id.items():
        if pdu.event_id_computed:
            continue
        try:
            expected = event_id_of(pdu.raw)
        except (ValueError, TypeError, RecursionError) as exc:
            out.append(
                Finding(
                    "unhashable_event",
                    eid,
                    f"{eid}: the reference hash cannot be computed ({exc})",
                )
            )
            continue
        if expected != eid:
            out.append(
                Finding(
                    "event_id_mismatch",
                    eid,
                    f"{eid}: the event's reference hash gives the ID {expected}",
                )
            )
    return out


def _check_room(
    order: Sequence[str], by_id: Mapping[str, PDU], version: RoomVersion
) -> tuple[PDU | None, str | None, list[Finding]]:
    """The create event, the room ID, and events that belong to another room.

    https://spec.matrix.org/v1.16/rooms/v12/: the room ID is ``!`` + the create
    event's ID less its ``$``; before v12 it is the create event's ``room_id``.
    """
    findings: list[Finding] = []
    creates = [
        eid for eid, pdu in by_id.items() if pdu.type == "m.room.create" and pdu.state_key == ""
    ]
    if len(creates) > 1:
        rank = {eid: i for i, eid in enumerate(order)}
        creates.sort(key=rank.__getitem__)
    create = by_id[creates[0]] if creates else None
    if create is None:
        if by_id:
            findings.append(
                Finding(
                    "missing_create",
                    None,
                    "the room's m.room.create event is not among the events",
                )
            )
    else:
        if len(creates) > 1:
            for eid in creates[1:]:
                findings.append(
                    Finding(
                        "multiple_create",
                        eid,
                        f"{eid} is a second m.room.create event (the first is {create.event_id})",
                    )
                )
        claimed = create.content.get("room_version", "1")
        if claimed != version.identifier:
            findings.append(
                Finding(
                    "room_version_mismatch",
                    create.event_id,
                    f"{create.event_id}: the create event says room version {claimed!r}, "
                    f"the room is read as version {version.identifier}",
                )
            )

    room_id: str | None
    if create is not None and version.room_id_from_create_event:
        room_id = room_id_from_create_event_id(create.event_id)
    elif create is not None and create.room_id is not None:
        room_id = create.room_id
    else:
        ids = Counter(pdu.room_id for pdu in by_id.values() if pdu.room_id is not None)
        room_id = min(ids, key=lambda r: (-ids[r], r)) if ids else None

    others = {pdu.room_id for pdu in by_id.values()} - {room_id, None}
    if room_id is not None and others:
        for eid in order:
            rid = by_id[eid].room_id
            if rid is not None and rid != room_id:
                findings.append(
                    Finding(
                        "wrong_room",
                        eid,
                        f"{eid}: room_id {rid} is not the room's ID {room_id}",
                    )
                )
    return create, room_id, findings


def _place_cycles(
    leftover: list[str], by_id: Mapping[str, PDU], dependents: Mapping[str, list[str]]
) -> tuple[list[str], list[Finding]]:
    """Order the events Kahn's algorithm could not place: those on or after a cycle.

    The strongly connected components of the leftover events are found
    iteratively (Tarjan), then placed in a topological order of the components
    (ties by their smallest ``(origin_server_ts, event_id)``), the members of a
    component by ``(origin_server_ts, event_id)``. Every component of two or more
    events, or of one event that references itself, is a cycle finding.
    """
    left = set(leftover)

    def key(eid: str) -> tuple[int, str]:
        return (by_id[eid].origin_server_ts, eid)

    succ = {eid: [d for d in dependents.get(eid, ()) if d in left] for eid in leftover}
    successors = succ.__getitem__

    components = _strongly_connected(sorted(left, key=key), successors)
    comp_of: dict[str, int] = {}
    for ci, comp in enumerate(components):
        comp.sort(key=key)
        for eid in comp:
            comp_of[eid] = ci

    comp_edges: set[tuple[int, int]] = set()
    for eid in left:
        cu = comp_of[eid]
        for dep in successors(eid):
            cw = comp_of[dep]
            if cu != cw:
                comp_edges.add((cu, cw))
    comp_indegree = [0] * len(components)
    comp_succ: dict[int, list[int]] = {}
    for cu, cw in comp_edges:
        comp_indegree[cw] += 1
        comp_succ.setdefault(cu, []).append(cw)

    heap = [(key(comp[0]), ci) for ci, comp in enumerate(components) if not comp_indegree[ci]]
    heapq.heapify(heap)
    placed: list[str] = []
    findings: list[Finding] = []
    while heap:
        ci = heapq.heappop(heap)[1]
        comp = components[ci]
        placed.extend(comp)
        first = comp[0]
        if len(comp) > 1:
            findings.append(
                Finding(
                    "cycle",
                    first,
                    f"events {_names(comp)} ({len(comp)}) form a cycle through "
                    "prev_events/auth_events; they are placed after the rest",
                )
            )
        elif first in dependents.get(first, ()):
            findings.append(
                Finding(
                    "cycle",
                    first,
                    f"{first} lists itself in its prev_events/auth_events",
                )
            )
        for cw in comp_succ.get(ci, ()):
            comp_indegree[cw] -= 1
            if not comp_indegree[cw]:
                heapq.heappush(heap, (key(components[cw][0]), cw))
    return placed, findings


def _strongly_connected(
    nodes: Sequence[str], successors: Callable[[str], list[str]]
) -> list[list[str]]:
    """Tarjan's strongly connected components, with an explicit stack (no recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(successors(root)))]
        while work:
            v, it = work[-1]
            descended = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(successors(w))))
                    descended = True
                    break
                if w in on_stack and index[w] < low[v]:
                    low[v] = index[w]
            if descended:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == index[v]:
                comp: list[str] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                result.append(comp)
    return result
