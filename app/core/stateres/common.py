"""What every state resolution algorithm shares: the event source, auth chains, the split.

The resolver reads events through an :class:`EventSource` (``get`` and
``is_rejected``); a plain ``Mapping[str, PDU]`` is accepted too (nothing
rejected). Auth chains are held by an :class:`AuthChainIndex`: every event the
resolver meets gets a dense integer, and its auth chain (the event itself and
every event reachable through ``auth_events``) is an ``int`` used as a bitset.
Chains are computed iteratively (rooms are 100k+ events deep) and memoised for
as long as the event source lives, so the auth difference of two state sets is
a handful of big-integer ``|`` and ``&`` operations.

Spec: https://spec.matrix.org/v1.16/server-server-api/#auth-chain (auth chain),
https://spec.matrix.org/v1.16/rooms/v2/#state-resolution (definitions).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, cast, runtime_checkable

from app.core.auth_power import CREATE_KEY, POWER_LEVELS_KEY
from app.core.auth_result import CREATE, JOIN_RULES, MEMBER, POWER_LEVELS
from app.core.events import PDU, StateKey

__all__ = [
    "CREATE",
    "CREATE_KEY",
    "JOIN_RULES",
    "MEMBER",
    "POWER_KEY",
    "POWER_LEVELS",
    "AuthChainIndex",
    "EventSource",
    "MappingSource",
    "as_event_source",
    "auth_event_ids",
    "chain_index_for",
    "split_conflicted_state_set",
]

# The event types and state keys are the auth rules' own (auth_result.CREATE,
# auth_power.CREATE_KEY, ...), under the names the resolver has always used.
POWER_KEY: StateKey = POWER_LEVELS_KEY


@runtime_checkable
class EventSource(Protocol):
    """Where the resolver finds events: by ID, and whether each was rejected.

    ``get`` returns None for an event that is not known (a "missing" event).
    """

    def get(self, event_id: str, /) -> PDU | None: ...

    def is_rejected(self, event_id: str, /) -> bool: ...


class MappingSource:
    """An :class:`EventSource` over a plain mapping; ``rejected`` names rejected events."""

    __slots__ = ("__weakref__", "_chain_index", "_events", "_rejected", "get", "is_rejected")

    #: ``get(event_id) -> PDU | None``: the mapping's own ``get`` (bound once, no
    #: Python-level call per lookup on the resolver's hot paths).
    get: Callable[[str], PDU | None]
    #: ``is_rejected(event_id) -> bool``.
    is_rejected: Callable[[str], bool]

    def __init__(self, events: Mapping[str, PDU], rejected: Iterable[str] = ()) -> None:
        self._events = events
        self._rejected = frozenset(rejected)
        self.get = events.get
        self.is_rejected = self._rejected.__contains__
        #: This source's memoised index (see :func:`chain_index_for`).
        self._chain_index: AuthChainIndex | None = None

    @property
    def events(self) -> Mapping[str, PDU]:
        return self._events


def as_event_source(events: EventSource | Mapping[str, PDU]) -> EventSource:
    """``events`` itself when it has ``is_rejected``, else a :class:`MappingSource` over it."""
    # The exact-type test first: ``isinstance`` against a runtime-checkable Protocol
    # inspects the class's attributes on every call (~9 us, measured), which is a
    # few percent of a small resolution.
    if type(events) is MappingSource:
        return events
    if hasattr(events, "is_rejected") and hasattr(events, "get"):
        return cast(EventSource, events)
    return MappingSource(cast(Mapping[str, PDU], events))


def auth_event_ids(event: PDU) -> tuple[str, ...]:
    """The IDs of the events that authorise ``event``: :meth:`PDU.auth_event_ids`.

    Its ``auth_events``, and in room versions whose room ID names the create
    event (v12, MSC4291) the create event as well, implicitly, after the listed
    ones: Synapse 1.163's ``EventBase.auth_event_ids()`` appends it the same way,
    so auth chains, power levels of senders and iterative auth checks all see it.
    """
    return event.auth_event_ids()


class AuthChainIndex:
    """Auth chains as integer bitsets, memoised.

    Each event met gets a bit, in an order where auth events come before the
    events they authorise; ``chain(e)`` has the bit of ``e`` and of every event
    in its auth chain. Following Synapse (whose auth chain difference counts the
    state events themselves, DESIGN.md), the chain includes the event itself.

    Missing events get a bit and an empty auth chain. Auth-event cycles (only
    possible with hand-made or malicious input, since IDs of v3+ events are
    hashes) are cut at the edge that closes the cycle, so nothing loops.
    """

    __slots__ = (
        "_auth_ids",
        "_auth_memo",
        "_auth_part",
        "_auth_part_refs",
        "_auth_types",
        "_chain",
        "_check_info",
        "_ids",
        "_index",
        "_mainlines",
        "_missing",
        "_names_of_state_keys",
        "_pl_parent",
        "_power_event",
        "_power_facts",
        "_resolutions",
        "_sort_node",
        "_source",
        "_state_facts",
        "_state_key_names",
    )

    def __init__(self, source: EventSource) -> None:
        self._source = source
        self._index: dict[str, int] = {}
        self._ids: list[str] = []
        self._chain: list[int] = []
        self._missing: set[str] = set()
        #: Memos for v2 (see v2.py): the first power levels auth event per event,
        #: the mainline per power levels event.
        self._pl_parent: dict[str, str | None] = {}
        self._mainlines: dict[str | None, list[str]] = {}
        #: Whether each (known) event is a power event (v2's is_power_event), by
        #: position (None: not yet known; see :meth:`by_position`).
        self._power_event: list[bool | None] = []
        #: Verdicts of iterative auth checks: (event, its auth state's events) ->
        #: result. The auth rules are a function of exactly those events (PDUs
        #: compare by identity, so the key is hashed without reading any ID).
        self._auth_memo: dict[tuple[PDU, ...], Any] = {}
        #: Each event's own auth events as an auth state (known, not rejected ones,
        #: by key), the part of its iterative auth check's auth state that does
        #: not depend on the partial state. Read-only once stored.
        self._auth_part: dict[str, dict[StateKey, PDU]] = {}
        #: Per version identifier, each state event's check info for v2's memoised
        #: iterative auth checks (v2._check_info: how to read its facts, its
        #: verdicts, its key's name, ...), by position.
        self._check_info: dict[str, list[Any]] = {}
        #: What the auth rules read of each state event (auth_state_facts) by ID, for
        #: v2's memoised checks (None for a missing or rejected one, and for None),
        #: and the power levels facts they made, each kept once.
        self._state_facts: dict[Hashable, Any] = {}
        #: What the auth rules read of a power levels event for an event with a given
        #: reader (auth_rules.power_levels_reader): by reader, by power levels ID.
        self._power_facts: dict[Hashable, dict[str, Hashable]] = {}
        #: State keys by the names v2's memoised checks give them, and the reverse.
        self._state_key_names: dict[str, StateKey] = {}
        self._names_of_state_keys: dict[StateKey, str] = {}
        #: Each event's auth events and its key in the reverse topological power
        #: ordering's heap, (minus its sender's power level and its
        #: origin_server_ts in one integer, origin_server_ts, ID, position; see
        #: v2._TS_BOUND), by position (v2._power_ordering).
        self._sort_node: list[tuple[tuple[int, ...], tuple[int, int, str, int]] | None] = []
        #: Every event ID a stored part or verdict read (see :meth:`forget_parts_using`;
        #: None, from a verdict's key, is never looked up).
        self._auth_part_refs: set[str | None] = set()
        #: Each event's auth event IDs (v12: with the implicit create event).
        self._auth_ids: dict[str, tuple[str, ...]] = {}
        #: Each event's auth types (keys of the auth events selection) per version.
        self._auth_types: dict[tuple[str, str], frozenset[StateKey]] = {}
        #: Untraced v2 resolutions served (see :meth:`note_resolution`).
        self._resolutions = 0

    def note_resolution(self) -> bool:
        """Count an untraced resolution over this index; True when it has served one
        before, so memoising the iterative auth checks can pay (RoomStates keeps one
        index for a room's thousands of resolutions). A one-off resolution's checks
        are 10-15% faster without building memos nothing will read (measured on the
        small inputs of benchmarks/bench_stateres.py)."""
        self._resolutions += 1
        return self._resolutions > 1

    @property
    def source(self) -> EventSource:
        return self._source

    def by_position(self, memo: list[Any]) -> list[Any]:
        """``memo``, one of this index's memos by position, with an entry (None until
        stored) for every position indexed so far; returned for convenience.

        The resolver's hot loops read these memos once per event of every full
        conflicted set. A list's entry is one pointer away, where a dict keyed by
        position hashes and probes a table as big as the room (measured: the
        states of the generated 100k room).
        """
        missing = len(self._ids) - len(memo)
        if missing > 0:
            memo.extend([None] * missing)
        return memo

    @property
    def power_event_memo(self) -> list[bool | None]:
        """Whether each event is a power event, by position (see :meth:`by_position`)."""
        return self.by_position(self._power_event)

    @property
    def power_levels_parent_memo(self) -> dict[str, str | None]:
        return self._pl_parent

    @property
    def mainline_memo(self) -> dict[str | None, list[str]]:
        return self._mainlines

    @property
    def auth_memo(self) -> dict[tuple[PDU, ...], Any]:
        return self._auth_memo

    @property
    def auth_part_memo(self) -> dict[str, dict[StateKey, PDU]]:
        return self._auth_part

    def check_info_memo(self, version_id: str) -> list[Any]:
        """Each state event's check info for one version, by position (see v2's
        _check_info); sized by :meth:`by_position` before it is read."""
        found = self._check_info.get(version_id)
        if found is None:
            found = self._check_info[version_id] = []
        return found

    @property
    def state_facts_memo(self) -> dict[Hashable, Any]:
        return self._state_facts

    @property
    def power_facts_memo(self) -> dict[Hashable, dict[str, Hashable]]:
        return self._power_facts

    @property
    def state_key_names(self) -> dict[str, StateKey]:
        return self._state_key_names

    @property
    def names_of_state_keys(self) -> dict[StateKey, str]:
        return self._names_of_state_keys

    @property
    def sort_node_memo(self) -> list[tuple[tuple[int, ...], tuple[int, int, str, int]] | None]:
        """Each event's sort node (v2._power_ordering), by position (:meth:`by_position`)."""
        return self.by_position(self._sort_node)

    @property
    def auth_part_refs(self) -> set[str | None]:
        return self._auth_part_refs

    def forget_parts_using(self, event_id: str) -> None:
        """Drop the stored auth state parts (and fast verdicts) if one read ``event_id``.

        A source that grows (:class:`app.core.roomstate.RoomStates` adds events and
        rejects them as it goes) calls this when ``event_id`` appears or is rejected,
        so that no part keeps what it said about the event before.
        """
        if event_id in self._auth_part_refs:
            self._check_info.clear()
            self._state_facts.clear()
            self._power_facts.clear()
            self._auth_part.clear()
            self._auth_part_refs.clear()

    @property
    def auth_ids_memo(self) -> dict[str, tuple[str, ...]]:
        """Each event's :func:`auth_event_ids` read so far (see :meth:`auth_ids`)."""
        return self._auth_ids

    @property
    def auth_types_memo(self) -> dict[tuple[str, str], frozenset[StateKey]]:
        return self._auth_types

    @property
    def has_missing(self) -> bool:
        """True when the index read some event as missing."""
        return bool(self._missing)

    @property
    def position_memo(self) -> Mapping[str, int]:
        """Each indexed event's position, by ID (read-only: the index's own dict)."""
        return self._index

    @property
    def event_ids(self) -> list[str]:
        """The event ID at each position (read-only: the index's own list)."""
        return self._ids

    @property
    def missing_ids(self) -> frozenset[str] | set[str]:
        """The events the index found missing from its source (read-only)."""
        return self._missing

    def was_missing(self, event_id: str) -> bool:
        """True when the index read ``event_id`` as missing (its chains lack it)."""
        return event_id in self._missing

    def stale(self) -> bool:
        """True when an event that was missing has since appeared in the source."""
        get = self._source.get
        return any(get(e) is not None for e in self._missing)

    def __len__(self) -> int:
        return len(self._ids)

    def index_of(self, event_id: str) -> int:
        """The bit of ``event_id``, indexing it (and its auth chain) if needed."""
        found = self._index.get(event_id)
        if found is None:
            self._add(event_id)
            found = self._index[event_id]
        return found

    def indexes_of(self, event_ids: Collection[str]) -> list[int]:
        """:meth:`index_of` each of ``event_ids``, in their order (one C-level pass
        when all are indexed, as on a resolution's hot paths)."""
        try:
            return list(map(self._index.__getitem__, event_ids))
        except KeyError:
            return [self.index_of(event_id) for event_id in event_ids]

    def bit(self, event_id: str) -> int:
        return 1 << self.index_of(event_id)

    def chain(self, event_id: str) -> int:
        """The auth chain of ``event_id``, itself included, as a bitset."""
        found = self._index.get(event_id)
        if found is None:
            self._add(event_id)
            found = self._index[event_id]
        return self._chain[found]

    def chain_of_all(self, event_ids: Iterable[str]) -> int:
        """The union of the auth chains of ``event_ids`` (each included)."""
        index = self._index
        roots = event_ids if isinstance(event_ids, list | tuple) else list(event_ids)
        try:
            # Each ID looked up once when all are indexed (the common case: a whole
            # state's chain in RoomStates reads hundreds of IDs, 2.3 million over
            # the generated 100k room, where a first pass for unindexed ones took
            # a second).
            positions = list(map(index.__getitem__, roots))
        except KeyError:
            unindexed = [event_id for event_id in roots if event_id not in index]
            # One walk for all of them, the first root first (as one call each would).
            unindexed.reverse()
            self._add_all(unindexed)
            positions = list(map(index.__getitem__, roots))
        out = 0
        chains = self._chain
        for position in positions:
            out |= chains[position]
        return out

    def chains_meet(self, roots: Iterable[str], within: int) -> int:
        """The events of ``within`` (a bitset) that are in the auth chain of some root.

        The same answer as ``chain_of_all(roots) & within`` without indexing the
        roots: the walk goes up ``auth_events`` from the roots through events not
        yet indexed (whose chains cannot hold an event of ``within``, which has
        indexed events only) and stops at each indexed event, whose chain is known.
        The resolver uses it for the unconflicted state map, which is most of a
        room's state but rarely reaches the auth difference.
        """
        index_get = self._index.get
        chains = self._chain
        auth_ids = self._auth_ids
        auth_ids_get = auth_ids.get
        get = self._source.get
        found = 0
        # Each event is looked at once, when first met: an indexed one ORs its chain,
        # another is walked on from (its auth events are read when it is popped).
        seen: set[str] = set()
        stack: list[str] = []
        push = stack.append
        pop = stack.pop
        parents: Iterable[str] = roots
        while True:
            for parent in parents:
                if parent in seen:
                    continue
                seen.add(parent)
                position = index_get(parent)
                if position is not None:
                    found |= chains[position]
                else:
                    push(parent)
            if not stack:
                return found & within
            event_id = pop()
            parents = auth_ids_get(event_id)  # type: ignore[assignment]
            if parents is None:
                event = get(event_id)
                if event is None:
                    parents = self._missing_auth_ids(event_id)
                else:
                    # PDU.auth_event_ids(), without a call once memoised.
                    try:
                        parents = event.auth_event_ids_memo
                    except AttributeError:
                        parents = event.auth_event_ids()
                    auth_ids[event_id] = parents

    def chains_meeting(self, within: int, targets: int) -> list[int]:
        """The events of ``within`` (a bitset) whose auth chains hold an event of
        ``targets`` (a bitset), as positions, oldest first. Both hold indexed events
        only. (Positions, not IDs: every caller goes on with the index's positions.)"""
        chains = self._chain
        out: list[int] = []
        if within.bit_count() < 64:
            while within:
                low = within & -within
                position = low.bit_length() - 1
                if chains[position] & targets:
                    out.append(position)
                within ^= low
            return out
        text = bin(within)[:1:-1]  # least significant bit first (see positions_of)
        find = text.find
        position = find("1")
        while position >= 0:
            if chains[position] & targets:
                out.append(position)
            position = find("1", position + 1)
        return out

    def ids_of(self, bits: int) -> list[str]:
        """The event IDs whose bits are set in ``bits``, oldest first."""
        ids = self._ids
        return [ids[i] for i in self.positions_of(bits)]

    @staticmethod
    def positions_of(bits: int) -> list[int]:
        """The positions of the bits set in ``bits``, lowest first."""
        if bits.bit_count() < 64:
            out: list[int] = []
            while bits:
                low = bits & -bits
                out.append(low.bit_length() - 1)
                bits ^= low
            return out
        # Least significant bit first; str.find skips the zeros in C (a 100k-event
        # room's bitsets are 100k digits with a few hundred ones).
        text = bin(bits)[:1:-1]
        out = []
        find = text.find
        i = find("1")
        while i >= 0:
            out.append(i)
            i = find("1", i + 1)
        return out

    def auth_ids(self, event_id: str) -> tuple[str, ...]:
        """:func:`auth_event_ids` of the event (empty when unknown), memoised."""
        found = self._auth_ids.get(event_id)
        if found is None:
            event = self._source.get(event_id)
            found = auth_event_ids(event) if event is not None else ()
            self._auth_ids[event_id] = found
        return found

    def _missing_auth_ids(self, event_id: str) -> tuple[str, ...]:
        """The index's walks meeting an event the source does not have: noted as
        missing, with no auth events.

        (A known event's auth event IDs are read inline by the walks, from
        :attr:`PDU.auth_event_ids_memo` when set: a cold small resolution meets
        ~85 events, and a method call for each was 2-3% of its time, measured.)
        """
        self._missing.add(event_id)
        self._auth_ids[event_id] = ()
        return ()

    def _add(self, root: str) -> None:
        """Index ``root`` and its unindexed ancestors (see :meth:`_add_all`)."""
        self._add_all([root])

    def _add_all(self, stack: list[str]) -> None:
        """Index the events of ``stack`` and their unindexed ancestors, post-order,
        without recursion; ``stack`` is consumed, its last event first.

        A depth-first walk from each root: a node's auth events are visited last
        first, each indexed one's chain ORed into the node's, each unindexed one
        walked from (the node waits on the path, with its place in its auth
        events), and the node is indexed once its auth events are done. An auth
        event on the current path closes a cycle: that edge is cut.
        """
        index = self._index
        index_get = index.get
        chains = self._chain
        ids = self._ids
        auth_ids = self._auth_ids
        get = self._source.get
        while stack:
            node = stack.pop()
            if node in index:
                continue
            #: The nodes waiting on the path: (ID, chains ORed so far, auth events left).
            path: list[tuple[str, int, Iterator[str]]] = []
            on_path = {node}
            parents_left: Iterator[str] | None = None
            bits = 0
            while True:
                if parents_left is None:
                    # (Read from the event, not from ``auth_ids``: an event not
                    # indexed yet is seldom there, and never in a fresh index.)
                    event = get(node)
                    if event is None:
                        parents = self._missing_auth_ids(node)
                    else:
                        # PDU.auth_event_ids(), without a call once memoised.
                        try:
                            parents = event.auth_event_ids_memo
                        except AttributeError:
                            parents = event.auth_event_ids()
                        auth_ids[node] = parents
                    bits = 0
                    parents_left = reversed(parents)
                for parent in parents_left:
                    found = index_get(parent)
                    if found is not None:
                        bits |= chains[found]
                    elif parent not in on_path:
                        # Walk from it first; this node waits.
                        path.append((node, bits, parents_left))
                        node = parent
                        on_path.add(node)
                        parents_left = None
                        break
                else:
                    position = len(ids)
                    index[node] = position
                    ids.append(node)
                    chain = bits | 1 << position
                    chains.append(chain)
                    if not path:
                        break
                    on_path.discard(node)
                    node, bits, parents_left = path.pop()
                    bits |= chain


# Indexes memoised per event source other than a MappingSource (which holds its
# own): weakly where the source allows it, else a few recent sources held strongly
# (a plain dict cannot be weakly referenced). An index in the weak registry reaches
# its source through a weak proxy, set again on every call: were it held
# strongly, the registry's value would keep its key alive, and every source ever
# resolved would stay in memory.
_WEAK_INDEXES: weakref.WeakKeyDictionary[object, AuthChainIndex] = weakref.WeakKeyDictionary()
_STRONG_INDEXES: OrderedDict[int, tuple[object, AuthChainIndex]] = OrderedDict()
_STRONG_LIMIT = 4


def chain_index_for(source: EventSource, key: object | None = None) -> AuthChainIndex:
    """The memoised :class:`AuthChainIndex` of ``source`` (keyed by ``key`` if given).

    An index is rebuilt when an event it had found missing has appeared since,
    so a mapping that grows between calls stays correct. Events must not change
    under an existing ID. The index lives as long as its key, not longer: use it
    while ``source`` is alive (it may read ``source`` through a weak proxy).
    """
    owner = source if key is None else key
    if type(owner) is MappingSource:
        # Held by the source itself: a reference cycle, freed with the source.
        index = owner._chain_index
        if index is not None:
            index._source = source
            if not index.stale():
                return index
        index = owner._chain_index = AuthChainIndex(source)
        return index
    try:
        weak_source = cast(EventSource, weakref.proxy(source))
        index = _WEAK_INDEXES.get(owner)
    except TypeError:
        return _strongly_held_index(source, owner)
    if index is not None:
        index._source = weak_source
        if not index.stale():
            return index
    index = AuthChainIndex(weak_source)
    _WEAK_INDEXES[owner] = index
    return index


def _strongly_held_index(source: EventSource, owner: object) -> AuthChainIndex:
    """:func:`chain_index_for` for an owner (or a source) that cannot be weakly referenced."""
    index: AuthChainIndex | None = None
    entry = _STRONG_INDEXES.get(id(owner))
    if entry is not None and entry[0] is owner:
        index = entry[1]
        _STRONG_INDEXES.move_to_end(id(owner))
        index._source = source
        if not index.stale():
            return index
    index = AuthChainIndex(source)
    _STRONG_INDEXES[id(owner)] = (owner, index)
    while len(_STRONG_INDEXES) > _STRONG_LIMIT:
        _STRONG_INDEXES.popitem(last=False)
    return index


def split_conflicted_state_set(
    state_sets: Sequence[Mapping[StateKey, str]],
) -> tuple[dict[StateKey, str], dict[StateKey, frozenset[str]]]:
    """Split the state sets into the unconflicted state map and the conflicted state set.

    Spec (v2): "If a given key K is present in every Si with the same value V in
    each state map, then the pair (K, V) belongs to the unconflicted state map.
    Otherwise, V belongs to the conflicted state set." A key missing from some
    state set is therefore conflicted (Synapse's ``v2._seperate`` agrees).
    Returns (unconflicted, conflicted) where conflicted maps each key to the
    event IDs the state sets hold for it.
    """
    unconflicted: dict[StateKey, str] = {}
    conflicted: dict[StateKey, frozenset[str]] = {}
    if not state_sets:
        return unconflicted, conflicted
    first, *rest = state_sets
    if not rest:
        return dict(first), conflicted
    if len(rest) == 1:
        # Two state sets (the common case): each key of the first is looked up once
        # in the second, and the second's other keys once in the first.
        # The second's keys are looked at only when it has some the first lacks:
        # when every one of them held a value under one of the first's keys.
        second = rest[0]
        second_get = second.get
        in_both = 0  # the first's keys with a value in the second, but unconflicted ones
        held: str | None
        for key, held in first.items():
            other = second_get(key)
            if other == held and held is not None:
                unconflicted[key] = held
            elif held is None:
                conflicted[key] = frozenset(()) if other is None else frozenset((other,))
                in_both += other is not None
            elif other is None:
                conflicted[key] = frozenset((held,))
            else:
                conflicted[key] = frozenset((held, other))
                in_both += 1
        if len(unconflicted) + in_both < len(second):
            for key, other in second.items():
                if key not in first:
                    conflicted[key] = frozenset(()) if other is None else frozenset((other,))
        return unconflicted, conflicted
    keys: set[StateKey] = set(first)
    for state_set in rest:
        keys.update(state_set)
    for key in keys:
        value = first.get(key)
        same = value is not None
        if same:
            for state_set in rest:
                if state_set.get(key) != value:
                    same = False
                    break
        if same:
            assert value is not None
            unconflicted[key] = value
        else:
            conflicted[key] = frozenset(
                v for v in (s.get(key) for s in state_sets) if v is not None
            )
    return unconflicted, conflicted


def sources_of(
    state_sets: Sequence[Mapping[StateKey, str]], key: StateKey, event_id: str
) -> tuple[int, ...]:
    """The indexes of the state sets that hold ``event_id`` under ``key``."""
    return tuple(i for i, s in enumerate(state_sets) if s.get(key) == event_id)


def iter_state(state: Mapping[StateKey, str]) -> Iterator[tuple[StateKey, str]]:
    """The (key, event ID) pairs of ``state``, sorted."""
    return iter(sorted(state.items()))
