"""Synapse 1.163's own state resolution and event authorization, run in-process as an oracle.

roomscope must agree with Synapse (DESIGN.md), so the differential tests and the
benchmarks ask Synapse itself: ``synapse.state.v1.resolve_events_with_store`` and
``synapse.state.v2.resolve_events_with_store`` (v2 and v2.1), and the checks of
``synapse.event_auth`` that ``FederationEventHandler._check_event_auth`` applies to
a PDU received over federation.

What stands in for Synapse's database is :class:`MemoryStore`, an in-memory store
implementing what the resolver calls:

* ``get_events(event_ids, allow_rejected=...)``;
* ``get_auth_chain_difference(room_id, state_sets, conflicted_state,
  additional_backwards_reachable_conflicted_events)``, with Synapse's semantics
  (read from ``EventFederationWorkerStore._get_auth_chain_difference_using_cover_index_txn``):
  the auth chain of a state set contains the state events themselves, and the v2.1
  conflicted subgraph is every event that is both an auth ancestor of a conflicted
  event and an auth descendant of one, the conflicted events included (both ends
  inclusive).

Auth chains are kept as Python ints used as bit sets (one bit per event), so a
difference over thousands of events is a few big-integer operations.

Events always go through the store, never through ``event_map``: Synapse treats a
non-empty ``event_map`` as unpersisted events and walks their auth chains without
memo (DESIGN.md, "Where Synapse and a literal reading of the spec part").

The resolver is async (Twisted in Synapse); here every awaitable it meets is a
coroutine that completes at once (our store, a clock whose ``sleep`` returns), so
:func:`run_sync` drives the coroutine to its end with one ``send``.

:func:`compute_room_states` is the per-event oracle: for a whole DAG, in
topological order, the state before each event (the resolution of the states
after its ``prev_events``), whether Synapse rejects it (its auth events, then the
state before it) and the state after it (a rejected event's state after is the
state before it). :func:`state_at_extremities` resolves the states after the
forward extremities, as if a new event had them all as ``prev_events``.

Also applied, as Synapse does: ``validate_event_for_room_version`` (size limits,
and the *presence* of the sender's server's signature and, for restricted joins,
of the authorising server's; nothing is verified, there are no keys). Not
modelled (federation matters): signature verification, soft failure, fetching
missing events.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from synapse import event_auth
from synapse.api.errors import SynapseError
from synapse.api.room_versions import KNOWN_ROOM_VERSIONS as SYNAPSE_ROOM_VERSIONS
from synapse.api.room_versions import StateResolutionVersions
from synapse.events import EventBase, make_event_from_dict
from synapse.state import v1 as synapse_v1
from synapse.state import v2 as synapse_v2
from synapse.storage.databases.main.event_federation import StateDifference

from app.core.events import PDU, StateKey
from app.core.versions import RoomVersion

__all__ = [
    "MemoryStore",
    "OracleError",
    "RoomStates",
    "StateTracker",
    "SynapseRoom",
    "compute_room_states",
    "run_sync",
    "state_at_extremities",
    "synapse_auth_types",
    "to_synapse_event",
    "topological_order",
]

T = TypeVar("T")

StateMap = dict[StateKey, str]


class OracleError(AssertionError):
    """The oracle could not run (an event Synapse cannot read, a missing event)."""


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never really suspends, and return its result."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise OracleError("the coroutine suspended: something awaited a real Deferred")


class _ImmediateClock:
    """The resolver only ever ``sleep(0)``s to yield to the reactor; there is none here."""

    async def sleep(self, duration: Any) -> None:
        return None


def to_synapse_event(pdu: PDU, rejected_reason: str | None = None) -> EventBase:
    """``pdu`` as a Synapse event (its ID checked against ours)."""
    srv = SYNAPSE_ROOM_VERSIONS[pdu.room_version.identifier]
    try:
        ev = make_event_from_dict(pdu.as_sent(), srv, rejected_reason=rejected_reason)
    except Exception as exc:  # Synapse raises SynapseError or ValueError on bad JSON
        raise OracleError(f"Synapse cannot read {pdu.event_id}: {exc}") from exc
    if ev.event_id != pdu.event_id:
        raise OracleError(f"Synapse computes the ID {ev.event_id} for {pdu.event_id}")
    return ev


class MemoryStore:
    """The part of Synapse's storage that state resolution and event auth read."""

    def __init__(self, room_id: str) -> None:
        self.room_id = room_id
        self.events: dict[str, EventBase] = {}
        self._index: dict[str, int] = {}
        self._ids: list[str] = []
        # Auth chain (the event itself included) as a bit set over _index.
        self._chain: list[int | None] = []

    def add(self, ev: EventBase) -> None:
        """Add (or replace, e.g. to set ``rejected_reason``) an event."""
        self.events[ev.event_id] = ev
        if ev.event_id not in self._index:
            self._index[ev.event_id] = len(self._ids)
            self._ids.append(ev.event_id)
            self._chain.append(None)

    # -- what the resolver calls ------------------------------------------------

    async def get_events(
        self,
        event_ids: Iterable[str],
        allow_rejected: bool = False,
        **_kwargs: Any,
    ) -> dict[str, EventBase]:
        out: dict[str, EventBase] = {}
        for event_id in event_ids:
            ev = self.events.get(event_id)
            if ev is None:
                continue
            if ev.rejected_reason is not None and not allow_rejected:
                continue
            out[event_id] = ev
        return out

    async def get_auth_chain_difference(
        self,
        room_id: str,
        state_sets: list[set[str]],
        conflicted_state: set[str] | None,
        additional_backwards_reachable_conflicted_events: set[str] | None,
    ) -> StateDifference:
        chains = [self.chain_mask(s) for s in state_sets]
        union = 0
        for c in chains:
            union |= c
        inter = chains[0]
        for c in chains[1:]:
            inter &= c
        difference = self._ids_of(union & ~inter)
        subgraph: set[str] | None = None
        if conflicted_state is not None:
            backwards = self.chain_mask(conflicted_state)
            if additional_backwards_reachable_conflicted_events:
                backwards |= self.chain_mask(additional_backwards_reachable_conflicted_events)
            conflicted_bits = 0
            for event_id in conflicted_state:
                conflicted_bits |= 1 << self._index[event_id]
            subgraph = set()
            for event_id in self._ids_of(backwards):
                if self.chain(event_id) & conflicted_bits:
                    subgraph.add(event_id)
        return StateDifference(auth_difference=difference, conflicted_subgraph=subgraph)

    # -- auth chains -------------------------------------------------------------

    def chain(self, event_id: str) -> int:
        """The auth chain of ``event_id`` including itself, as a bit set (iterative)."""
        idx = self._index.get(event_id)
        if idx is None:
            return 0
        known = self._chain[idx]
        if known is not None:
            return known
        stack = [event_id]
        while stack:
            top = stack[-1]
            tidx = self._index[top]
            if self._chain[tidx] is not None:
                stack.pop()
                continue
            pending = [
                a
                for a in self.events[top].auth_event_ids()
                if a in self._index and self._chain[self._index[a]] is None
            ]
            if pending:
                stack.extend(pending)
                continue
            mask = 1 << tidx
            for a in self.events[top].auth_event_ids():
                aidx = self._index.get(a)
                if aidx is not None:
                    mask |= self._chain[aidx] or 0
            self._chain[tidx] = mask
            stack.pop()
        result = self._chain[idx]
        assert result is not None
        return result

    def chain_mask(self, event_ids: Iterable[str]) -> int:
        mask = 0
        for event_id in event_ids:
            mask |= self.chain(event_id)
        return mask

    def _ids_of(self, mask: int) -> set[str]:
        out: set[str] = set()
        ids = self._ids
        while mask:
            low = mask & -mask
            out.add(ids[low.bit_length() - 1])
            mask ^= low
        return out


class SynapseRoom:
    """One room's events, held by a :class:`MemoryStore`, and Synapse's resolver over them."""

    def __init__(
        self,
        version: RoomVersion,
        events: Iterable[PDU] = (),
        rejected: Mapping[str, str] | None = None,
    ) -> None:
        self.version = version
        self.srv = SYNAPSE_ROOM_VERSIONS[version.identifier]
        self.clock = _ImmediateClock()
        self.store: MemoryStore | None = None
        rejected = rejected or {}
        for pdu in events:
            self.add(pdu, rejected.get(pdu.event_id))

    @property
    def is_v1(self) -> bool:
        return self.srv.state_res == StateResolutionVersions.V1

    def add(self, pdu: PDU, rejected_reason: str | None = None) -> EventBase:
        ev = to_synapse_event(pdu, rejected_reason)
        if self.store is None:
            self.store = MemoryStore(ev.room_id)
        self.store.add(ev)
        return ev

    def _store(self) -> MemoryStore:
        if self.store is None:
            raise OracleError("no events")
        return self.store

    def resolve(self, state_sets: Sequence[Mapping[StateKey, str]]) -> StateMap:
        """Synapse's resolution of ``state_sets`` (its v1, v2 or v2.1, by room version)."""
        store = self._store()
        sets = [dict(s) for s in state_sets]
        if not sets:
            return {}
        result: Mapping[StateKey, str]
        if self.is_v1:
            result = run_sync(
                synapse_v1.resolve_events_with_store(
                    store.room_id, self.srv, sets, None, store.get_events
                )
            )
        else:
            result = run_sync(
                synapse_v2.resolve_events_with_store(
                    self.clock, store.room_id, self.srv, sets, None, store
                )
            )
        return dict(result)

    def auth_reason(self, ev: EventBase, state_before: Mapping[StateKey, str]) -> str | None:
        """Why Synapse rejects ``ev`` received with ``state_before``; None if it accepts it.

        Mirrors ``FederationEventHandler._check_event_auth``: the state-independent
        rules and the rules against the event's own auth events, then, when the auth
        events the state before would select differ, the rules against those.
        """
        store = self._store()
        try:
            # Signatures are not verified (no keys), only required to be there: the
            # sender's server's and, for restricted joins, the authorising server's.
            event_auth.validate_event_for_room_version(ev)
        except SynapseError as exc:
            return f"event: {exc.msg}"
        try:
            run_sync(event_auth.check_state_independent_auth_rules(store, ev))  # type: ignore[arg-type]
            claimed = list(
                run_sync(store.get_events(ev.auth_event_ids(), allow_rejected=True)).values()
            )
            event_auth.check_state_dependent_auth_rules(ev, claimed)
        except SynapseError as exc:
            return f"auth events: {exc.msg}"
        except RuntimeError as exc:  # an unknown auth event
            return f"auth events: {exc}"
        if ev.type == "m.room.create":
            return None
        calculated = [
            state_before[key]
            for key in event_auth.auth_types_for_event(self.srv, ev)
            if key in state_before
        ]
        if Counter(ev.auth_event_ids()) == Counter(calculated):
            return None
        calculated_events = [store.events[e] for e in calculated]
        try:
            event_auth.check_state_dependent_auth_rules(ev, calculated_events)
        except SynapseError as exc:
            return f"state before: {exc.msg}"
        return None


class _DraftEvent:
    """Just what ``synapse.event_auth.auth_types_for_event`` reads of an event."""

    def __init__(self, pdu: PDU) -> None:
        self.type = pdu.type
        self.sender = pdu.sender
        self.state_key = pdu.state_key
        self.content = pdu.content
        self.membership = pdu.membership


def synapse_auth_types(version: RoomVersion, pdu: PDU) -> set[StateKey]:
    """Synapse's auth event selection (``auth_types_for_event``) for ``pdu``."""
    srv = SYNAPSE_ROOM_VERSIONS[version.identifier]
    return set(event_auth.auth_types_for_event(srv, _DraftEvent(pdu)))  # type: ignore[arg-type]


def topological_order(events: Iterable[PDU], *, after_auth_events: bool = False) -> list[PDU]:
    """The events ordered so every event comes after its known ``prev_events``.

    With ``after_auth_events``, also after its known ``auth_events``: the order a
    server could accept them in, since it fetches an event's auth events before
    checking it (an event may cite auth events that are not among its ancestors:
    Eve's join in the MSC4297 problem B rooms, a power-levels change on a sibling
    branch). Kahn's algorithm, ties by (depth, event ID), iterative.
    """
    by_id = {e.event_id: e for e in events}
    children: dict[str, list[str]] = {eid: [] for eid in by_id}
    waiting: dict[str, int] = {}
    for e in by_id.values():
        deps = (*e.prev_events, *e.auth_events) if after_auth_events else e.prev_events
        known = {p for p in deps if p in by_id}
        waiting[e.event_id] = len(known)
        for p in known:
            children[p].append(e.event_id)
    ready = [(e.depth, e.event_id) for e in by_id.values() if waiting[e.event_id] == 0]
    heapq.heapify(ready)
    out: list[PDU] = []
    while ready:
        _, eid = heapq.heappop(ready)
        out.append(by_id[eid])
        for c in children[eid]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, (by_id[c].depth, c))
    if len(out) != len(by_id):
        raise OracleError("the prev_events (and auth_events) graph has a cycle")
    return out


@dataclass(slots=True)
class RoomStates:
    """What Synapse makes of every event of a DAG."""

    room: SynapseRoom
    order: list[str]
    state_before: dict[str, StateMap] = field(default_factory=dict)
    state_after: dict[str, StateMap] = field(default_factory=dict)
    #: event ID -> why Synapse rejects it (absent: accepted).
    rejected: dict[str, str] = field(default_factory=dict)
    #: event ID -> the state sets resolved to get its state before (merges only).
    merge_inputs: dict[str, list[StateMap]] = field(default_factory=dict)


class StateTracker:
    """The per-event oracle, fed one event at a time (each after its ``prev_events``)."""

    def __init__(self, version: RoomVersion) -> None:
        self.states = RoomStates(room=SynapseRoom(version), order=[])

    def state_before(self, prev_events: Iterable[str]) -> StateMap:
        """The resolution of the states after ``prev_events`` (the known ones)."""
        states = self.states
        distinct: list[StateMap] = []
        for p in prev_events:
            s = states.state_after.get(p)
            if s is not None and not any(s is d or s == d for d in distinct):
                distinct.append(s)
        if not distinct:
            return {}
        if len(distinct) == 1:
            return distinct[0]
        return states.room.resolve(distinct)

    def add(self, pdu: PDU) -> str | None:
        """Work out ``pdu``'s state before and after; return why it is rejected, or None."""
        states = self.states
        room = states.room
        before = self.state_before(pdu.prev_events)
        prevs = {id(states.state_after[p]) for p in pdu.prev_events if p in states.state_after}
        if len(prevs) > 1:
            states.merge_inputs[pdu.event_id] = [
                states.state_after[p] for p in pdu.prev_events if p in states.state_after
            ]
        ev = room.add(pdu)
        reason = room.auth_reason(ev, before)
        states.order.append(pdu.event_id)
        states.state_before[pdu.event_id] = before
        if reason is not None:
            states.rejected[pdu.event_id] = reason
            room.add(pdu, reason)
            states.state_after[pdu.event_id] = before
        elif pdu.state_key is not None:
            after = dict(before)
            after[(pdu.type, pdu.state_key)] = pdu.event_id
            states.state_after[pdu.event_id] = after
        else:
            states.state_after[pdu.event_id] = before
        return reason


def compute_room_states(
    version: RoomVersion, events: Iterable[PDU], *, after_auth_events: bool = False
) -> RoomStates:
    """The state before and after every event, and every rejection, as Synapse decides them
    (events fed in :func:`topological_order`)."""
    tracker = StateTracker(version)
    for pdu in topological_order(events, after_auth_events=after_auth_events):
        tracker.add(pdu)
    return tracker.states


def state_at_extremities(states: RoomStates, extremities: Sequence[str]) -> StateMap:
    """Synapse's state for a new event whose ``prev_events`` are ``extremities``."""
    sets: list[StateMap] = []
    for eid in extremities:
        s = states.state_after[eid]
        if not any(s is d or s == d for d in sets):
            sets.append(s)
    if len(sets) == 1:
        return dict(sets[0])
    return states.room.resolve(sets)
