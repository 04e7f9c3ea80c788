"""State resolution v2 (room versions 2-11) and v2.1 (room version 12, MSC4297).

The algorithm, in the spec's words
(https://spec.matrix.org/v1.16/rooms/v2/#state-resolution; v2.1:
https://spec.matrix.org/v1.16/rooms/v12/#state-resolution):

1. Split the state sets into the *unconflicted state map* and the *conflicted
   state set*.
2. The *full conflicted set* is the conflicted state set, the *auth
   difference* and (v2.1) the *conflicted state subgraph*.
3. The *power events* of the full conflicted set, with the events of their auth
   chains that are in the full conflicted set, sorted by the *reverse
   topological power ordering*, go through the *iterative auth checks* starting
   from the unconflicted state map (v2.1: from an empty map).
4. The other events of the full conflicted set, sorted by the *mainline
   ordering* of the power levels that resulted, go through the iterative auth
   checks starting from the state step 3 left.
5. The unconflicted state map is applied on top.

v2.1 is two flags of :class:`~app.core.versions.RoomVersion`
(``state_res_begin_empty``, ``state_res_conflicted_subgraph``), not a second
copy of the algorithm.

Where the spec leaves room, this module does what Synapse 1.163
(``synapse/state/v2.py``) does; each such place says so.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from itertools import compress
from operator import itemgetter
from sys import intern
from typing import Any

from app.core.auth import AuthResult, check_auth, synapse_auth_types
from app.core.auth_power import is_creator
from app.core.auth_rules import auth_state_facts, power_levels_reader
from app.core.events import PDU, StateKey
from app.core.stateres.common import (
    CREATE,
    CREATE_KEY,
    MEMBER,
    POWER_KEY,
    POWER_LEVELS,
    AuthChainIndex,
    EventSource,
    auth_event_ids,
    sources_of,
)
from app.core.stateres.trace import (
    AuthCheckStep,
    EventSetStep,
    MainlineStep,
    OrderingStep,
    PartialStateStep,
    SortEntry,
    Step,
    state_tuple,
)
from app.core.versions import RoomVersion

__all__ = [
    "CREATOR_POWER_LEVEL",
    "auth_difference",
    "conflicted_state_subgraph",
    "full_conflicted_set",
    "is_power_event",
    "iterative_auth_checks",
    "lexicographical_topological_sort",
    "mainline",
    "mainline_ordering",
    "resolve_conflicted",
    "reverse_topological_power_ordering",
    "sender_power_level",
]

#: The power level Synapse 1.163 gives room creators when sorting (v12, MSC4289:
#: creators have "infinite" power): ``synapse.api.constants.CREATOR_POWER_LEVEL``.
CREATOR_POWER_LEVEL = 2**53


def auth_difference(set_chains: Sequence[int]) -> int:
    """The auth difference: events in some but not all of the state sets' auth chains.

    Spec: "the auth difference is calculated by first calculating the full auth
    chain for each state Si, that is the union of the auth chains for each event
    in Si, and then taking every event that doesn't appear in every auth chain."
    Each chain here includes the state events themselves, as Synapse's auth
    chain difference does (DESIGN.md). Arguments and result are bitsets of an
    :class:`AuthChainIndex`.
    """
    if not set_chains:
        return 0
    union = 0
    intersection = set_chains[0]
    for chain in set_chains:
        union |= chain
        intersection &= chain
    return union & ~intersection


def conflicted_state_subgraph(index: AuthChainIndex, conflicted_ids: Sequence[str]) -> int:
    """v2.1: the events on an auth-event path from one conflicted event to another.

    Spec (v12, MSC4297): the conflicted state subgraph is "the set of events
    that are reachable from a conflicted state event by following auth events,
    and from which a conflicted state event is reachable". An event X is in it
    when some conflicted event has X in its auth chain and X has some
    conflicted event in its own (each chain counting the event itself), which
    includes the conflicted events. This is the intersection of Synapse's
    backwards- and forwards-reachable sets (``_get_auth_chain_difference_using_cover_index_txn``).
    """
    if not conflicted_ids:
        return 0
    conflicted_bits = 0
    backwards = 0
    lowest = None
    for event_id in conflicted_ids:
        position = index.index_of(event_id)
        conflicted_bits |= 1 << position
        backwards |= index.chain(event_id)
        lowest = position if lowest is None else min(lowest, position)
    assert lowest is not None
    # Only events indexed after the oldest conflicted event can have one in their chain.
    candidates = (backwards >> lowest) << lowest
    out = 0
    for position in index.chains_meeting(candidates, conflicted_bits):
        out |= 1 << position
    return out


def full_conflicted_set(
    index: AuthChainIndex,
    conflicted: Mapping[StateKey, frozenset[str]],
    set_chains: Sequence[int],
    *,
    with_subgraph: bool,
) -> tuple[list[str], list[str], list[str] | None]:
    """The full conflicted set, the auth difference and (v2.1) the conflicted subgraph.

    Returns (full conflicted set, auth difference, conflicted subgraph or None),
    event IDs in index order. Events the source does not know are left out of
    the full conflicted set, as Synapse leaves out events it cannot fetch.
    """
    full, diff_bits, subgraph_bits = _full_conflicted_bits(
        index, conflicted, set_chains, with_subgraph=with_subgraph
    )
    diff = index.ids_of(diff_bits)
    subgraph = index.ids_of(subgraph_bits) if subgraph_bits is not None else None
    return full, diff, subgraph


def _full_conflicted_bits(
    index: AuthChainIndex,
    conflicted: Mapping[StateKey, frozenset[str]],
    set_chains: Sequence[int],
    *,
    with_subgraph: bool,
) -> tuple[list[str], int, int | None]:
    """:func:`full_conflicted_set` with the auth difference and subgraph left as bitsets.

    The resolver needs only the full conflicted set; the other two are listed
    for the trace alone, so they are turned into IDs only when it is recorded.
    """
    diff_bits = auth_difference(set_chains)
    full, subgraph_bits = _full_conflicted_from_difference(
        index, conflicted, diff_bits, with_subgraph=with_subgraph
    )
    return full, diff_bits, subgraph_bits


def _full_conflicted_from_difference(
    index: AuthChainIndex,
    conflicted: Mapping[StateKey, frozenset[str]],
    diff_bits: int,
    *,
    with_subgraph: bool,
) -> tuple[list[str], int | None]:
    """The full conflicted set (IDs, index order) and the subgraph's bits, from the difference."""
    conflicted_ids = sorted({eid for ids in conflicted.values() for eid in ids})
    subgraph_bits: int | None = None
    full_bits = diff_bits
    index_of = index.index_of
    for event_id in conflicted_ids:
        full_bits |= 1 << index_of(event_id)
    if with_subgraph:
        subgraph_bits = conflicted_state_subgraph(index, conflicted_ids)
        full_bits |= subgraph_bits
    get = index.source.get
    full = [eid for eid in index.ids_of(full_bits) if get(eid) is not None]
    return full, subgraph_bits


def _untraced_full_conflicted_set(
    index: AuthChainIndex,
    state_sets: Sequence[Mapping[StateKey, str]],
    unconflicted: Mapping[StateKey, str],
    conflicted: Mapping[StateKey, frozenset[str]],
    with_subgraph: bool,
) -> set[int]:
    """The full conflicted set as :func:`full_conflicted_set` has it, as positions in
    ``index``, unordered, for a resolution without a trace (nor the state sets'
    chains at hand).

    The auth difference without the auth chains of the whole unconflicted state
    map: each state set's full auth chain is ``U | C_i``, ``U`` the chains of the
    unconflicted state map (the same in every set), ``C_i`` those of the set's
    own events at the conflicted keys. Their union minus their intersection is
    ``(union(C_i) - intersection(C_i)) - U``, so only the events of
    ``union(C_i) - intersection(C_i)`` are tested against ``U``
    (:meth:`AuthChainIndex.chains_meet`), which spares indexing the hundreds of
    unconflicted membership events a room has. ``union(C_i)`` is the union of
    the conflicted events' chains, where :func:`conflicted_state_subgraph` starts
    (v2.1). The conflicted events join the auth difference as positions, not bits:
    ORing a bit into a 100k-event room's bitset copies the whole integer each time.
    """
    own = [index.chain_of_all([s[k] for k in conflicted if k in s]) for s in state_sets]
    union = 0
    intersection = own[0] if own else 0
    for chain in own:
        union |= chain
        intersection &= chain
    candidates = union & ~intersection
    positions: set[int] = set()
    if candidates:
        diff_bits = candidates & ~index.chains_meet(unconflicted.values(), candidates)
        if diff_bits:
            positions.update(index.positions_of(diff_bits))
    conflicted_ids: set[str] = set()
    for values in conflicted.values():
        conflicted_ids.update(values)
    # Every conflicted event is indexed: each is some state set's value.
    conflicted_positions = index.indexes_of(conflicted_ids)
    positions.update(conflicted_positions)
    if with_subgraph and conflicted_positions:
        # conflicted_state_subgraph: the events of the conflicted events' chains
        # (indexed after the oldest of them) whose own chains hold one of them.
        conflicted_bits = 0
        for position in conflicted_positions:
            conflicted_bits |= 1 << position
        lowest = min(conflicted_positions)
        # The conflicted events are in it already: only the others are tested.
        within = ((union >> lowest) << lowest) & ~conflicted_bits
        if within:
            positions.update(index.chains_meeting(within, conflicted_bits))
    # Events the source does not know are left out: every event here has been
    # looked up by the index's walks, which noted those it found missing.
    missing = index.missing_ids
    if missing:
        ids = index.event_ids
        return {position for position in positions if ids[position] not in missing}
    return positions


def _full_conflicted_positions(
    index: AuthChainIndex,
    conflicted: Mapping[StateKey, frozenset[str]],
    diff_bits: int,
    with_subgraph: bool,
) -> set[int]:
    """The full conflicted set as :func:`full_conflicted_set` has it, as positions in
    ``index``, unordered.

    The conflicted events join the auth difference as positions, not bits: ORing
    a bit into a 100k-event room's bitset copies the whole integer each time.
    """
    positions = set(index.positions_of(diff_bits))
    conflicted_ids = [eid for values in conflicted.values() for eid in values]
    positions.update(index.indexes_of(conflicted_ids))
    if with_subgraph:
        subgraph = conflicted_state_subgraph(index, sorted(set(conflicted_ids)))
        positions.update(index.positions_of(subgraph))
    if index.has_missing:
        ids = index.event_ids
        get = index.source.get
        return {p for p in positions if get(ids[p]) is not None}
    return positions


def is_power_event(event: PDU) -> bool:
    """A power event: power levels, join rules, a kick or a ban (or the create event).

    Spec: "A power event is a state event with type m.room.power_levels or
    m.room.join_rules, or a state event with type m.room.member where the
    membership is leave or ban and the sender does not match the state_key."
    Synapse 1.163 (``_is_power_event``) also counts m.room.create; so do we.
    (The membership, read from the content, is looked at last: most members in a
    full conflicted set are the sender's own.)
    """
    event_type = event.type
    state_key = event.state_key
    if event_type == MEMBER:
        return (
            state_key is not None
            and state_key != event.sender
            and event.membership in _LEAVE_OR_BAN
        )
    return state_key == "" and event_type in _POWER_TYPES


_POWER_TYPES = frozenset((POWER_LEVELS, "m.room.join_rules", CREATE))
_LEAVE_OR_BAN = frozenset(("leave", "ban"))


def _level(value: object) -> int | None:
    """A power level as Synapse's ``int(level)`` reads it (``true`` is 1), else None."""
    if isinstance(value, int | str | float):
        try:
            return int(value)
        except (ValueError, OverflowError):
            return None
    return None


def sender_power_level(
    event: PDU, source: EventSource, *, index: AuthChainIndex | None = None
) -> int:
    """The power level of the sender of ``event`` according to its auth events.

    As Synapse 1.163's ``_get_power_level_for_sender``: in v12 (MSC4289) a
    creator of the room (from the create event among the auth events) has
    :data:`CREATOR_POWER_LEVEL`; otherwise the level is read from the power
    levels among the event's auth events (``users`` then ``users_default``,
    then 0); without power levels, the room creator (``creator`` before v11,
    the create event's sender from v11) has 100 and everyone else 0. Rejected
    auth events count; missing ones are skipped. A level that is not a number
    counts as 0 (Synapse would fail on it).
    """
    auth_ids = index.auth_ids(event.event_id) if index is not None else auth_event_ids(event)
    return _sender_level(event, auth_ids, source.get)


def _sender_level(event: PDU, auth_ids: Sequence[str], get: Callable[[str], PDU | None]) -> int:
    """:func:`sender_power_level` of ``event`` given its auth event IDs."""
    power: PDU | None = None
    create: PDU | None = None
    for auth_id in auth_ids:
        auth_event = get(auth_id)
        if auth_event is None or auth_event.state_key != "":
            continue
        auth_type = auth_event.type
        if auth_type == POWER_LEVELS:
            if power is None:
                power = auth_event
                if create is not None:
                    break  # the first of each found: nothing later changes the level
        elif auth_type == CREATE and create is None:
            create = auth_event
            if power is not None:
                break
    version = event.room_version
    sender = event.sender
    if create is not None and version.privileged_creators and is_creator(create, sender):
        return CREATOR_POWER_LEVEL
    if power is None:
        if create is None:
            return 0
        creator = create.sender if version.implicit_room_creator else create.content.get("creator")
        return 100 if creator == sender else 0
    content = power.content
    users = content.get("users")
    # (A JSON object is a dict: the ABC check, ~10x slower, only for anything else.)
    level = users.get(sender) if type(users) is dict or isinstance(users, Mapping) else None
    if level is None:
        level = content.get("users_default", 0)
        if level is None:
            return 0
    if type(level) is int:
        return level
    return _level(level) or 0


def reverse_topological_power_ordering(
    event_ids: Sequence[str],
    full_set: frozenset[str],
    index: AuthChainIndex,
    *,
    with_keys: bool = True,
) -> tuple[list[str], dict[str, tuple[int, int, str]]]:
    """Sort power events and their auth chains (within the full conflicted set).

    Spec: the reverse topological power ordering is Kahn's algorithm over the
    auth-event graph where, among the events whose auth events have all been
    taken, the next is the one whose sender has the greatest power level, then
    the smallest origin_server_ts, then the smallest event ID. The graph holds
    ``event_ids`` and every event of their auth chains that is in
    ``full_set`` (Synapse's ``_add_event_and_auth_chain_to_graph``).

    Returns (the order, each event's key as (power level, origin_server_ts,
    event ID); empty unless ``with_keys``, which only a trace needs). Events on
    an auth-event cycle never become free and are left out, as Synapse's sort
    leaves them out. (The work is :func:`_power_ordering`'s, over the index's
    positions.)
    """
    index_of = index.index_of
    order = _power_ordering(
        [index_of(e) for e in event_ids], {index_of(e) for e in full_set}, index
    )
    return [index.event_ids[p] for p in order], _sort_keys(order, index) if with_keys else {}


def _sort_keys(order: Sequence[int], index: AuthChainIndex) -> dict[str, tuple[int, int, str]]:
    """Each sorted event's key as a trace shows it: (power level, origin_server_ts, ID)."""
    nodes = index.sort_node_memo
    keys: dict[str, tuple[int, int, str]] = {}
    for position in order:
        node = nodes[position]
        assert node is not None  # every sorted event has its node
        level_and_ts, ts, event_id, _ = node[1]
        keys[event_id] = (-((level_and_ts + _TS_BOUND) >> 64), ts, event_id)
    return keys


#: A power ordering heap key is (level and ts, ts, event ID, position): minus the
#: sender's power level and the origin_server_ts in one integer first, ``ts -
#: (level << 64)``, the ts held in [-2**63, 2**63). Keys compare as (minus the
#: level, ts, event ID) do: a ts beyond those bounds is held at the nearest, and the
#: key's second item (the ts itself) then orders it. Most heap comparisons end at
#: the first item rather than compare the levels, find them equal, then compare
#: the timestamps (measured: 3-7% less time for the states of the generated 100k
#: room, whose heaps hold hundreds of events).
_TS_BOUND = 1 << 63


def _power_ordering(starts: Sequence[int], full: set[int], index: AuthChainIndex) -> list[int]:
    """:func:`reverse_topological_power_ordering` over the positions of ``index``.

    Positions rather than IDs: small integers hash to themselves and keep the
    memoised nodes together in memory (measured: a third of the sort's time on
    the generated 100k room). Each node (auth events, heap key) is memoised in
    ``index``: a sender's level is a function of the event's own auth events.
    """
    nodes = index.sort_node_memo
    ids = index.event_ids
    get = index.source.get
    auth_ids_get = index.auth_ids_memo.get
    position_of = index.position_memo.__getitem__
    # One walk builds the graph and Kahn's algorithm's counts: each node with auth
    # events inside the full set gets a cell [their number not yet taken, its heap
    # key], listed in ``dependents`` under each of those auth events; the heap keys
    # of the other nodes are ``ready``. A node is in ``dependents`` from when it is
    # first met, so each is pushed once.
    dependents: dict[int, list[list[Any]]] = {position: [] for position in starts}
    dependents_get = dependents.get
    ready: list[tuple[int, int, str, int]] = []
    stack = list(dependents)
    pop, push = stack.pop, stack.append
    intersection = full.intersection
    while stack:
        position = pop()
        node = nodes[position]
        if node is None:
            # The event's auth events (positions) and its heap key (see
            # _TS_BOUND). A sender's level is a function of the event's own auth
            # events.
            event_id = ids[position]
            event = get(event_id)
            assert event is not None  # the full conflicted set holds known events only
            auth_ids = auth_ids_get(event_id) or index.auth_ids(event_id)
            try:
                # Every auth event of an indexed event is indexed (a missing one too).
                auth_positions = tuple(map(position_of, auth_ids))
            except KeyError:
                auth_positions = tuple(index.indexes_of(auth_ids))
            ts = held = event.origin_server_ts
            if not -_TS_BOUND <= ts < _TS_BOUND:
                held = -_TS_BOUND if ts < 0 else _TS_BOUND - 1
            level_and_ts = held - (_sender_level(event, auth_ids, get) << 64)
            node = nodes[position] = (auth_positions, (level_and_ts, ts, event_id, position))
        inside = intersection(node[0])
        if inside:
            cell: list[Any] = [len(inside), node[1]]
            for target in inside:
                found = dependents_get(target)
                if found is None:
                    dependents[target] = [cell]
                    push(target)
                else:
                    found.append(cell)
        else:
            ready.append(node[1])

    # Kahn's algorithm as lexicographical_topological_sort, inlined: each heap key
    # holds the event's own ID, so keys are unique and the heap holds the keys.
    heapq.heapify(ready)
    order: list[int] = []
    append = order.append
    heappop, heappush = heapq.heappop, heapq.heappush
    while ready:
        position = heappop(ready)[3]
        append(position)
        for cell in dependents[position]:
            left = cell[0] - 1
            if left:
                cell[0] = left
            else:
                heappush(ready, cell[1])
    return order


def lexicographical_topological_sort(
    graph: Mapping[str, Collection[str]], key: Callable[[str], Any]
) -> list[str]:
    """Kahn's algorithm, auth events first, ties broken by the smallest ``key``.

    ``graph`` maps each node to the nodes it points at (its auth events); a
    node is taken once every node it points at has been taken. Among the
    nodes free at a time the one with the smallest ``key`` goes first, which
    is how Synapse 1.163 (``lexicographical_topological_sort``) breaks the
    spec's ties. Nodes on a cycle never become free and are left out.
    """
    dependents: dict[str, list[str]] = {}
    remaining: dict[str, int] = {}
    ready: list[tuple[Any, str]] = []
    for node, edges in graph.items():
        remaining[node] = len(edges)
        for target in edges:
            dependents.setdefault(target, []).append(node)
            remaining.setdefault(target, len(graph.get(target, ())))
        if not edges:
            ready.append((key(node), node))
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        for child in dependents.get(node, ()):
            remaining[child] -= 1
            if remaining[child] == 0:
                heapq.heappush(ready, (key(child), child))
    return order


def _power_levels_parent(
    event_id: str,
    source: EventSource,
    memo: dict[str, str | None] | None = None,
    index: AuthChainIndex | None = None,
) -> str | None:
    """The first m.room.power_levels event among the event's auth events (Synapse's choice)."""
    if memo is not None:
        known = memo.get(event_id, _UNSET)
        if known is not _UNSET:
            return known  # type: ignore[no-any-return]
    found: str | None = None
    get = source.get
    event = get(event_id)
    if event is not None:
        for auth_id in index.auth_ids(event_id) if index is not None else auth_event_ids(event):
            auth_event = get(auth_id)
            if (
                auth_event is not None
                and auth_event.type == POWER_LEVELS
                and auth_event.state_key == ""
            ):
                found = auth_id
                break
    if memo is not None:
        memo[event_id] = found
    return found


def mainline(
    power_levels_id: str | None, source: EventSource, *, index: AuthChainIndex | None = None
) -> list[str]:
    """The mainline of a power levels event, newest first.

    Spec: "the mainline of P is the list of events generated by starting with
    P and recursively taking the m.room.power_levels events from the
    auth_events, ordered such that P is last." Returned here with P first.
    A power-levels cycle stops the walk. ``index`` memoises it.
    """
    if index is not None and power_levels_id in index.mainline_memo:
        return index.mainline_memo[power_levels_id]
    memo = index.power_levels_parent_memo if index is not None else None
    out: list[str] = []
    seen: set[str] = set()
    current = power_levels_id
    get = source.get
    while current is not None and current not in seen:
        if get(current) is None:
            break
        out.append(current)
        seen.add(current)
        current = _power_levels_parent(current, source, memo, index)
    if index is not None:
        index.mainline_memo[power_levels_id] = out
    return out


def mainline_ordering(
    event_ids: Sequence[str],
    mainline_newest_first: Sequence[str],
    source: EventSource,
    *,
    index: AuthChainIndex | None = None,
    with_keys: bool = True,
) -> tuple[list[str], dict[str, tuple[int, int, str]], dict[str, str | None]]:
    """Sort events by their mainline position, then origin_server_ts, then event ID.

    Spec: "the closest mainline event to an event e is the first event
    encountered in the mainline when iteratively descending through the
    m.room.power_levels events in the auth_events of e" (e itself first, as
    Synapse's ``_get_mainline_depth_for_event`` starts with e); its position
    counts from the oldest mainline event, 1; with none, 0.

    Returns (the order, each event's key, each event's closest mainline event);
    the last two are empty unless ``with_keys``, which only a trace needs.
    """
    memo = index.power_levels_parent_memo if index is not None else None
    position = {eid: len(mainline_newest_first) - i for i, eid in enumerate(mainline_newest_first)}
    # The walk from an event goes through its power levels parents, one parent per
    # event, so every event on a walk has the walk's answer: remember it for each,
    # and a later walk that meets one stops there.
    known: dict[str, tuple[int, str | None]] = {}
    known_get = known.get
    position_get = position.get
    no_memo: dict[str, str | None] = {}
    memo_get = (memo if memo is not None else no_memo).get
    get = source.get
    keyed: list[tuple[int, int, str]] = []
    closest: dict[str, str | None] = {}
    for event_id in event_ids:
        event = get(event_id)
        assert event is not None
        answer = known_get(event_id)
        if answer is None and position_get(event_id) is None:
            # Most events' first power levels auth event is on the mainline: that
            # one step without the walk's set (its first step, inline).
            parent = memo_get(event_id, _UNSET)
            if parent is _UNSET:
                parent = _power_levels_parent(event_id, source, memo, index)
            if parent is not None:
                at = position_get(parent)
                if at is not None:
                    answer = known[event_id] = (at, parent)
        if answer is None:
            walked: set[str] = set()
            current: str | None = event_id
            answer = (0, None)
            while current is not None and current not in walked:
                at = position_get(current)
                if at is not None:
                    answer = (at, current)
                    break
                found_answer = known_get(current)
                if found_answer is not None:
                    answer = found_answer
                    break
                walked.add(current)
                parent = memo_get(current, _UNSET)
                if parent is _UNSET:
                    parent = _power_levels_parent(current, source, memo, index)
                current = parent
            for step in walked:
                known[step] = answer
        keyed.append((answer[0], event.origin_server_ts, event_id))
        if with_keys:
            closest[event_id] = answer[1]
    # Each key ends with the event's own ID: sorting the keys sorts the events.
    keyed.sort()
    order = [key[2] for key in keyed]
    return order, {key[2]: key for key in keyed} if with_keys else {}, closest


def _auth_types(version: RoomVersion, event: PDU) -> frozenset[StateKey]:
    """Synapse 1.163's auth types of ``event`` (:func:`~app.core.auth.synapse_auth_types`)."""
    return frozenset(synapse_auth_types(version, event))


def iterative_auth_checks(
    version: RoomVersion,
    event_ids: Sequence[str],
    base: Mapping[StateKey, str],
    source: EventSource,
    *,
    phase: str,
    steps: list[Step] | None,
    changes: dict[StateKey, str] | None = None,
    index: AuthChainIndex | None = None,
) -> dict[StateKey, str]:
    """Apply the events in order to ``base``, each if it passes the auth rules.

    Spec: for each event, the auth state is built from the event's own auth
    events, replaced by the partial state's values for the keys the auth
    events selection algorithm names; the event is added to the partial state
    if it passes the authorization rules against that auth state.

    As Synapse 1.163 (``_iterative_auth_checks``): rejected auth events and
    rejected state entries are left out of the auth state, and an event that
    was rejected when received is never admitted (DESIGN.md; Synapse issue
    13797). When ``steps`` is a list, each check is appended as an
    :class:`AuthCheckStep`.

    The partial state is ``base`` overlaid with ``changes``; only ``changes``
    (created when None) is written, and returned, so ``base`` is never copied.
    With ``index``, auth events, auth types and verdicts are memoised in it.
    """
    if changes is None:
        changes = {}
    if index is not None and steps is None:
        index_of = index.index_of
        positions = [index_of(e) for e in event_ids]
        partial = _PartialFacts(base, index, changes)
        _memoised_checks(version, positions, source, index, partial)
        partial.write_changes(changes)
        return changes
    memo = index.auth_memo if index is not None else None
    types_memo = index.auth_types_memo if index is not None else None
    get = source.get
    is_rejected = source.is_rejected
    changes_get = changes.get
    base_get = base.get
    identifier = version.identifier
    for event_id in event_ids:
        event = get(event_id)
        if event is None:
            continue
        state_key = event.state_key
        if state_key is None:
            continue
        if types_memo is None:
            types = _auth_types(version, event)
        else:
            types_key = (identifier, event_id)
            found_types = types_memo.get(types_key)
            if found_types is None:
                found_types = _auth_types(version, event)
                types_memo[types_key] = found_types
            types = found_types
        auth_state = _own_auth_state(event_id, event, source, index).copy()
        for key in types:
            current = changes_get(key)
            if current is None:
                current = base_get(key)
                if current is None:
                    continue
            current_event = get(current)
            if current_event is not None and not is_rejected(current):
                auth_state[key] = current_event
        key = (event.type, state_key)
        if is_rejected(event_id):
            if steps is not None:
                steps.append(
                    AuthCheckStep(
                        phase,
                        event_id,
                        key,
                        "previously rejected",
                        None,
                        None,
                        "the event was rejected when it was received",
                        _ids(auth_state),
                    )
                )
            continue
        if memo is None:
            result = check_auth(event, auth_state)
        else:
            # The auth state's events name its contents (each event has one key);
            # their order only decides whether an identical state shares an entry.
            memo_key = (event, *auth_state.values())
            found: AuthResult | None = memo.get(memo_key)
            if found is None:
                found = check_auth(event, auth_state)
                memo[memo_key] = found
            result = found
        if result.allowed:
            changes[key] = event_id
        if steps is not None:
            steps.append(
                AuthCheckStep(
                    phase,
                    event_id,
                    key,
                    "allowed" if result.allowed else "rejected",
                    _opt_str(result, "rule"),
                    _opt_str(result, "rule_name"),
                    _opt_str(result, "reason"),
                    _ids(auth_state),
                )
            )
    return changes


def _plain_checks(
    version: RoomVersion,
    event_ids: Sequence[str],
    base: Mapping[StateKey, str],
    source: EventSource,
    changes: dict[StateKey, str],
    index: AuthChainIndex,
) -> dict[StateKey, str]:
    """:func:`iterative_auth_checks` without a trace or memos, for a one-off resolution.

    The same verdict per event: an event rejected on receipt is skipped before
    its auth state is built (only a trace shows that state), and the auth state
    holds what the rules read. They read the keys of the event's auth types (the
    :func:`~app.core.auth.synapse_auth_types` tuple; but one rule, see below), so
    the partial state's events there come first, and the event's own auth events
    are read only for the keys it lacks: the last known, not rejected one at each,
    as an auth state built in order keeps (a reverse walk that skips the keys
    already set). When only the create event lacks, the last auth event is tried
    first (v12 adds the create event there). In v2 the unconflicted state map
    most often has every key, and the own auth events are not read at all
    (measured: -8% instructions of the checks of a small v10 resolution, the same
    in v12; benchmarks/bench_stateres.py's inputs). A power levels event with a
    state_key other than "" has all its own auth events (the power levels rule
    reads the previous power levels under its own state_key).
    """
    get = source.get
    is_rejected = source.is_rejected
    changes_get = changes.get
    base_get = base.get
    auth_ids_get = index.auth_ids_memo.get
    no_base = not base
    for event_id in event_ids:
        event = get(event_id)
        if event is None:
            continue
        state_key = event.state_key
        if state_key is None or is_rejected(event_id):
            continue
        auth_state: dict[StateKey, PDU] = {}
        lacking = 0
        for key in synapse_auth_types(version, event):
            current = changes_get(key)
            if current is None:
                if no_base:  # v2.1 begins empty: the partial state is the changes
                    lacking += 1
                    continue
                current = base_get(key)
                if current is None:
                    lacking += 1
                    continue
            current_event = get(current)
            if current_event is not None and not is_rejected(current):
                auth_state[key] = current_event
            else:
                lacking += 1
        if lacking or (state_key and event.type == POWER_LEVELS):
            auth_ids = auth_ids_get(event_id) or index.auth_ids(event_id)
            if lacking == 1 and auth_ids and CREATE_KEY not in auth_state:
                # Only the create event lacks, and most often it is the last auth
                # event (v12 adds it there): then it is the own one at its key.
                last = auth_ids[-1]
                create = get(last)
                if (
                    create is not None
                    and create.type == CREATE
                    and create.state_key == ""
                    and not is_rejected(last)
                    and not (state_key and event.type == POWER_LEVELS)
                ):
                    auth_state[CREATE_KEY] = create
                    auth_ids = ()
            # The own auth events where the partial state has none: the last known,
            # not rejected one at each key (the one an auth state built in order
            # keeps).
            for auth_id in reversed(auth_ids):
                auth_event = get(auth_id)
                if auth_event is None:
                    continue
                auth_key = auth_event.state_key
                if auth_key is not None:
                    own_key = (auth_event.type, auth_key)
                    if own_key not in auth_state and not is_rejected(auth_id):
                        auth_state[own_key] = auth_event
        if check_auth(event, auth_state).allowed:
            changes[(event.type, state_key)] = event_id
    return changes


def _own_auth_state(
    event_id: str, event: PDU, source: EventSource, index: AuthChainIndex | None
) -> dict[StateKey, PDU]:
    """The part of ``event``'s auth state in the iterative auth checks that does not
    depend on the partial state: its own auth events (known, not rejected ones) by
    key, as Synapse 1.163's ``_iterative_auth_checks`` builds it. Memoised in
    ``index`` when given (read-only once stored; the events it read are noted for
    :meth:`AuthChainIndex.forget_parts_using`)."""
    if index is not None:
        found = index.auth_part_memo.get(event_id)
        if found is not None:
            return found
    get = source.get
    is_rejected = source.is_rejected
    part: dict[StateKey, PDU] = {}
    own_auth_ids = index.auth_ids(event_id) if index is not None else auth_event_ids(event)
    for auth_id in own_auth_ids:
        auth_event = get(auth_id)
        if auth_event is None:
            continue
        auth_key = auth_event.state_key
        if auth_key is not None and not is_rejected(auth_id):
            part[(auth_event.type, auth_key)] = auth_event
    if index is not None:
        index.auth_part_memo[event_id] = part
        index.auth_part_refs.update(own_auth_ids)
    return part


def _key_name(key: StateKey) -> str:
    """A state key as one string (injective: the type's length comes first).

    The checks' hot loop looks keys up by these: a string caches its hash, a
    (type, state_key) tuple is rehashed from its parts on every lookup
    (measured: half the cost of a memoised check on the 100k room).
    """
    return f"{len(key[0])}:{key[0]}{key[1]}"


class _PartialFacts(dict[str, Hashable]):
    """The partial state as the facts verdicts are kept by (:meth:`fact_of`), by key
    name (:func:`_key_name`): ``base`` overlaid with the checks' changes, read on
    first use of a key (None for a key neither has) and kept up to date by the
    checks.

    A dict that fills itself, so that every later read is a plain dict lookup.
    It keeps the facts; the checks note what they change in :attr:`changed` (by
    key name: a string caches its hash, a state key tuple is hashed again on
    every write), which :meth:`write_changes` turns into state keys once the
    checks are done. A check that finds no verdict reads the event IDs
    (:meth:`event_at`). ``changes`` (state keys) are changes made before.
    """

    __slots__ = ("_base_get", "_keys", "_part_refs", "_source", "_state_facts", "changed")

    def __init__(
        self,
        base: Mapping[StateKey, str],
        index: AuthChainIndex,
        changes: Mapping[StateKey, str] | None = None,
    ) -> None:
        super().__init__()
        self._base_get = base.get
        self._keys = index.state_key_names
        self._source = index.source
        self._state_facts = index.state_facts_memo
        self._part_refs = index.auth_part_refs
        #: The event IDs the checks put in the partial state, by key name.
        self.changed: dict[str, str] = {}
        if changes:
            for key, event_id in changes.items():
                self.changed[_name_of(key, index)] = event_id

    def event_at(self, name: str) -> str | None:
        """The partial state's event ID at the key named ``name``: ``changed`` over ``base``."""
        value = self.changed.get(name)
        return self._base_get(self._keys[name]) if value is None else value

    def write_changes(self, changes: dict[StateKey, str]) -> None:
        """Put what the checks changed into ``changes``, by state key (once they are
        done: a resolution writes them once for its two phases)."""
        keys = self._keys
        for name, event_id in self.changed.items():
            changes[keys[name]] = event_id

    def __missing__(self, name: str) -> Hashable:
        key = self._keys[name]
        fact = self[name] = self.fact_of(self.event_at(name), key)
        return fact

    def fact_of(self, event_id: str | None, key: StateKey) -> Hashable:
        """What :func:`_memoised_checks` keeps a verdict by for ``event_id`` at ``key``:
        None for no event, a missing or a rejected one (the event checked keeps its
        own auth event there); a power levels event's own ID (its facts depend on
        the event checked, and are worked out on a miss); else what the rules read
        of it (:func:`~app.core.auth_rules.auth_state_facts`). Kept in the index,
        the ID noted for :meth:`AuthChainIndex.forget_parts_using`.
        """
        if event_id is None:
            return None
        state_facts = self._state_facts
        fact: Hashable = state_facts.get(event_id, _UNSET)
        if fact is _UNSET:
            event = self._source.get(event_id)
            if event is None or self._source.is_rejected(event_id):
                fact = None
            elif key == POWER_KEY:
                fact = intern(event_id)
            else:
                # Not the power levels: the facts do not depend on the event checked.
                fact = auth_state_facts(event, key, event)
                if type(fact) is str:
                    fact = intern(fact)
            # Strings are kept as one object per value (an ID reaches here as the
            # state maps' object or the auth events' one), so the verdicts' keys
            # compare by identity.
            state_facts[event_id] = fact
            self._part_refs.add(event_id)
        return fact


def _memoised_checks(
    version: RoomVersion,
    positions: Sequence[int],
    source: EventSource,
    index: AuthChainIndex,
    partial: _PartialFacts,
) -> None:
    """:func:`iterative_auth_checks` without a trace, memoised in ``index``.

    Without a trace only each verdict matters, and it is a function of the
    event, its own auth events (its *part*, memoised) and what the rules read of
    the partial state's events at its auth types
    (:func:`~app.core.auth_rules.auth_state_facts`: a member's membership, the
    join rule, the few power levels entries the event's rules look at). So the
    verdicts are kept by those facts (:meth:`_PartialFacts.fact_of`): a check
    seen before with the same facts runs no rules. The power levels are there by
    ID first; only when that misses are they reduced to the facts the event's
    rules read (most misses come from power levels changed elsewhere than where
    the event's rules read). Events rejected on receipt are never admitted
    (skipped before anything is read). :meth:`AuthChainIndex.forget_parts_using`
    drops the verdicts and facts when an event they read appears or is rejected.
    ``partial`` is the partial state (the base overlaid with what the checks
    changed, kept up to date; :meth:`_PartialFacts.write_changes` gives the
    changes). The events are given by their positions in ``index``.
    """
    infos = index.by_position(index.check_info_memo(version.identifier))
    state_facts = index.state_facts_memo
    get = source.get
    is_rejected = source.is_rejected
    changed = partial.changed
    ids = index.event_ids
    for position in positions:
        info = infos[position]
        if not info:
            if info is False:
                continue  # not a state event
            event_id = ids[position]
            event = get(event_id)
            if event is None:
                continue  # a missing event is not remembered: it may appear later
            if event.state_key is None:
                infos[position] = False
                continue
            if is_rejected(event_id):
                continue
            info = infos[position] = _check_info(version, event, index, partial.fact_of)
        # An event with check info was not rejected then, and is not now: its own
        # facts noted its ID, so rejecting it would have dropped the check info.
        (
            facts_of,
            verdicts,
            name,
            own_fact,
            event_id,
            types,
            names,
            by_facts,
            power_at,
            facts_by_power,
        ) = info
        facts = facts_of(partial)
        allowed = verdicts.get(facts)
        if allowed is None:
            # The facts as a tuple (one name's itemgetter gives the fact itself), the
            # power levels reduced to what this event's rules read of them.
            full = (facts,) if len(names) == 1 else facts
            if power_at >= 0 and full[power_at] is not None:
                power_id = partial.event_at(names[power_at])
                assert power_id is not None  # its facts are not None
                # The same for every event with the same reader (most often the
                # same sender's other events of the type, or memberships).
                power_facts = facts_by_power.get(power_id, _UNSET)
                if power_facts is _UNSET:
                    event = get(event_id)
                    power_levels = get(power_id)
                    assert event is not None and power_levels is not None
                    power_facts = auth_state_facts(event, POWER_KEY, power_levels)
                    # Kept once however many verdicts share them (they live as long).
                    power_facts = state_facts.setdefault(power_facts, power_facts)
                    facts_by_power[power_id] = power_facts
                reduced = list(full)
                reduced[power_at] = power_facts
                full = tuple(reduced)
            allowed = by_facts.get(full)
            if allowed is None:
                event = get(event_id)
                assert event is not None
                values = map(partial.event_at, names)
                auth_state = _own_auth_state(event_id, event, source, index).copy()
                for type_key, current in zip(types, values, strict=True):
                    if current is None:
                        continue
                    current_event = get(current)
                    if current_event is not None and not is_rejected(current):
                        auth_state[type_key] = current_event
                allowed = by_facts[full] = check_auth(event, auth_state).allowed
            verdicts[facts] = allowed
        if allowed:
            partial[name] = own_fact
            changed[name] = event_id


def _no_facts(partial: object) -> tuple[()]:
    """The facts of an event with no auth types (a create event): none."""
    return ()


_UNSET: Any = object()


def _check_info(
    version: RoomVersion,
    event: PDU,
    index: AuthChainIndex,
    fact_of: Callable[[str, StateKey], Hashable],
) -> tuple[
    Callable[[_PartialFacts], Hashable],
    dict[Hashable, bool],
    str,
    Hashable,
    str,
    tuple[StateKey, ...],
    tuple[str, ...],
    dict[tuple[Hashable, ...], bool],
    int,
    dict[str, Hashable],
]:
    """A state event's check info for :func:`_memoised_checks`, the fields the hot
    loop reads first: what reads the facts of the partial state at its auth types
    (one C call: an ``itemgetter`` of their names), its verdicts by those facts
    (the power levels by ID), its key's :func:`_key_name`, its own facts (what it
    puts in the partial state when it passes: ``fact_of`` it, as it is not
    rejected) and its ID; then its auth types and their names, its verdicts by the
    full facts, where the power levels key is among its auth types (-1: not
    there) and the power levels facts of its
    :func:`~app.core.auth_rules.power_levels_reader` by power levels ID (one dict
    per reader in the index's ``power_facts_memo``, shared by the events with that
    reader). Names are made once per key and index (:func:`_name_of`).
    """
    assert event.state_key is not None
    key = (event.type, event.state_key)
    types = tuple(_auth_types(version, event))
    names = [_name_of(type_key, index) for type_key in (key, *types)]
    power_at = types.index(POWER_KEY) if POWER_KEY in types else -1
    own_fact = fact_of(event.event_id, key)
    facts_of: Callable[[_PartialFacts], Hashable] = itemgetter(*names[1:]) if types else _no_facts
    reader = power_levels_reader(event) if power_at >= 0 else None
    power_facts_memo = index.power_facts_memo
    facts_by_power = power_facts_memo.get(reader)
    if facts_by_power is None:
        facts_by_power = power_facts_memo[reader] = {}
    return (
        facts_of,
        {},
        names[0],
        own_fact,
        event.event_id,
        types,
        tuple(names[1:]),
        {},
        power_at,
        facts_by_power,
    )


def _name_of(key: StateKey, index: AuthChainIndex) -> str:
    """The :func:`_key_name` of ``key``, made once per index (its
    ``names_of_state_keys``; ``state_key_names`` the reverse)."""
    names_of_keys = index.names_of_state_keys
    name = names_of_keys.get(key)
    if name is None:
        name = names_of_keys[key] = _key_name(key)
        index.state_key_names[name] = key
    return name


def _opt_str(result: Any, name: str) -> str | None:
    value = getattr(result, name, None)
    return None if value is None else str(value)


def _ids(auth_state: Mapping[StateKey, PDU]) -> tuple[tuple[StateKey, str], ...]:
    return tuple(sorted((k, e.event_id) for k, e in auth_state.items()))


def resolve_conflicted(
    version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    unconflicted: Mapping[StateKey, str],
    conflicted: Mapping[StateKey, frozenset[str]],
    index: AuthChainIndex,
    *,
    set_chains: Sequence[int] | None = None,
    steps: list[Step] | None = None,
) -> dict[StateKey, str]:
    """Steps 2-4 of the algorithm: what the conflicted events change.

    Returns the keys the iterative auth checks set, over the base state (the
    unconflicted state map in v2, nothing in v2.1). The caller applies the
    unconflicted state map on top (step 5). ``set_chains`` are the auth chains
    of the state sets when the caller has them already.
    """
    source = index.source
    with_subgraph = version.state_res_conflicted_subgraph
    index_of = index.index_of
    # Nothing below depends on the order of the full conflicted set (both sorts
    # have unique keys), so it is a set of the index's positions; only the trace
    # lists it.
    full: set[int]
    if set_chains is None and steps is None:
        full = _untraced_full_conflicted_set(
            index, state_sets, unconflicted, conflicted, with_subgraph
        )
    else:
        if set_chains is None:
            # Each state set is the unconflicted state map plus its own values at the
            # conflicted keys: the unconflicted events' chains are ORed once.
            common = index.chain_of_all(unconflicted.values())
            set_chains = [
                common | index.chain_of_all(s[k] for k in conflicted if k in s) for s in state_sets
            ]
        diff_bits = auth_difference(set_chains)
        if steps is None:
            full = _full_conflicted_positions(index, conflicted, diff_bits, with_subgraph)
        else:
            full_ids, subgraph_bits = _full_conflicted_from_difference(
                index, conflicted, diff_bits, with_subgraph=with_subgraph
            )
            steps.append(EventSetStep("auth difference", tuple(index.ids_of(diff_bits))))
            if subgraph_bits is not None:
                steps.append(
                    EventSetStep("conflicted state subgraph", tuple(index.ids_of(subgraph_bits)))
                )
            steps.append(EventSetStep("full conflicted set", tuple(full_ids)))
            full = {index_of(e) for e in full_ids}

    # Power events: Synapse 1.163 includes m.room.create (see is_power_event).
    get = source.get
    ids = index.event_ids
    power_memo = index.power_event_memo
    candidates = list(full)
    flags = list(map(power_memo.__getitem__, candidates))
    if None in flags:
        for i, position in enumerate(candidates):
            if flags[i] is None:
                event = get(ids[position])
                assert event is not None  # the full conflicted set holds known events
                flags[i] = power_memo[position] = is_power_event(event)
    power_events = list(compress(candidates, flags))
    sorted_positions = _power_ordering(power_events, full, index)
    if steps is not None:
        power_order = [ids[p] for p in sorted_positions]
        power_keys = _sort_keys(sorted_positions, index)
        is_power = frozenset(ids[p] for p in power_events)
        steps.append(
            OrderingStep(
                "reverse topological power ordering",
                ("sender power level", "origin_server_ts", "event ID"),
                tuple(
                    SortEntry(eid, power_keys[eid], power_event=eid in is_power)
                    for eid in power_order
                ),
            )
        )

    # v2 starts from the unconflicted state map; v2.1 (MSC4297) from an empty map.
    # Synapse restricts the base to the keys the checks read, which changes nothing.
    base: Mapping[StateKey, str] = {} if version.state_res_begin_empty else unconflicted
    changes: dict[StateKey, str] = {}
    # Untraced, the checks are memoised in the index once it is reused; a trace
    # records every check (iterative_auth_checks with the index's part memos).
    memoised = steps is None and index.note_resolution()
    partial = _PartialFacts(base, index) if memoised else None
    checks_index = index if steps is not None else None
    if partial is not None:
        _memoised_checks(version, sorted_positions, source, index, partial)
    elif steps is None:
        _plain_checks(version, [ids[p] for p in sorted_positions], base, source, changes, index)
    else:
        iterative_auth_checks(
            version,
            [ids[p] for p in sorted_positions],
            base,
            source,
            phase="power events",
            steps=steps,
            changes=changes,
            index=checks_index,
        )
    if steps is not None:
        steps.append(PartialStateStep("the power events", state_tuple({**base, **changes})))

    others = [ids[p] for p in full.difference(sorted_positions)]
    if partial is not None:
        resolved_power = partial.event_at(_name_of(POWER_KEY, index))
    else:
        resolved_power = changes.get(POWER_KEY) or base.get(POWER_KEY)
    line = mainline(resolved_power, source, index=index) if others else []
    other_order, other_keys, closest = mainline_ordering(
        others, line, source, index=index, with_keys=steps is not None
    )
    if steps is not None:
        steps.append(MainlineStep(resolved_power, tuple(line)))
        steps.append(
            OrderingStep(
                "mainline ordering",
                ("mainline position", "origin_server_ts", "event ID"),
                tuple(
                    SortEntry(eid, other_keys[eid], mainline_event=closest[eid])
                    for eid in other_order
                ),
            )
        )
    if partial is not None:
        other_positions = index.indexes_of(other_order)
        _memoised_checks(version, other_positions, source, index, partial)
        partial.write_changes(changes)
    elif steps is None:
        _plain_checks(version, other_order, base, source, changes, index)
    else:
        iterative_auth_checks(
            version,
            other_order,
            base,
            source,
            phase="other events",
            steps=steps,
            changes=changes,
            index=checks_index,
        )
    if steps is not None:
        steps.append(PartialStateStep("the other events", state_tuple({**base, **changes})))
    return changes


def trace_split(
    state_sets: Sequence[Mapping[StateKey, str]],
    unconflicted: Mapping[StateKey, str],
    conflicted: Mapping[StateKey, frozenset[str]],
) -> tuple[tuple[StateKey, tuple[tuple[str, tuple[int, ...]], ...]], ...]:
    """The conflicted state set in the form :class:`SplitStep` keeps."""
    return tuple(
        (key, tuple((eid, sources_of(state_sets, key, eid)) for eid in sorted(ids)))
        for key, ids in sorted(conflicted.items())
    )
