"""The state before and after every event of a room, and each event's verdict.

For every event E, in the graph's topological order:

* the *state before* E is the resolution of the states after its
  ``prev_events`` (S(E) in the spec's words); one prev event, or several with
  the same state, need no resolution;
* E is checked against its own auth events (:func:`~app.core.auth.check_auth_events`
  and :func:`~app.core.auth.check_auth` over the auth state they form), then
  against the state before it, as a server does on receipt of a PDU
  (https://spec.matrix.org/v1.16/server-server-api/#checks-performed-on-receipt-of-a-pdu,
  checks 4 and 5); failing either, it is *rejected*;
* the *state after* E is the state before it, with E in place when E is a
  state event that was not rejected. An event rejected once stays rejected
  (DESIGN.md): later resolutions never admit it.

As Synapse 1.163 (``FederationEventHandler._check_event_auth``), the check
against the state before E is skipped when the auth events E lists are the ones
the state before it would select; otherwise E is checked against those.

*Soft failure* (check 6: "passes authorization rules based on the current state
of the room, otherwise it is soft failed") depends on what a server had
received when E arrived, which a static graph does not say. roomscope defines
the current state on receipt of E as the resolved state at the forward
extremities of the events before E in the graph's order (the order a server
receiving the events in that order would have seen), taking only events that
were neither rejected nor soft failed as extremities, as Synapse does; like
Synapse it skips the check when those extremities are E's own prev events. It
is computed on demand (:meth:`RoomStates.soft_failures`), not with the states.

States are :class:`StateMap` values: an immutable map made of a shared base
dict and a small delta, so a non-state event shares its state with its parent
and a state event costs one small dict copy, never a copy of the room state.

Events whose prev events are all missing have, as their state before, the
state their own auth events form (nothing better is known).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from app.core.auth import (
    AuthResult,
    auth_types_for_event,
    check_auth,
    check_auth_events,
    rule_numbers,
)
from app.core.errors import RoomscopeError
from app.core.events import PDU, StateKey
from app.core.graph import EventGraph, gc_paused
from app.core.stateres import Resolution, resolve_state
from app.core.stateres.common import (
    CREATE,
    CREATE_KEY,
    AuthChainIndex,
    auth_event_ids,
)
from app.core.stateres.v2 import resolve_conflicted
from app.core.versions import RoomVersion, StateResAlgorithm

__all__ = [
    "DEFAULT_SOFT_FAIL_RESOLUTIONS",
    "EventVerdict",
    "RoomStates",
    "SoftFailureTooCostly",
    "StateMap",
    "compute_room_states",
    "event_verdicts",
]


#: How many resolutions :meth:`RoomStates.soft_failures` may spend by default.
DEFAULT_SOFT_FAIL_RESOLUTIONS = 500


class SoftFailureTooCostly(RoomscopeError):
    """Checking for soft failures would take too many resolutions (see soft_failures)."""


class StateMap(Mapping[StateKey, str]):
    """An immutable state map: a shared ``base`` dict plus a small ``delta``.

    ``delta`` maps keys to event IDs, or to None for a key removed from the
    base. :meth:`set` returns a new map sharing the base; when the delta grows
    past about the square root of the size, the new map gets a fresh base.
    """

    __slots__ = ("_base", "_chain", "_delta", "_derivations", "_size")

    def __init__(
        self,
        base: dict[StateKey, str] | None = None,
        delta: dict[StateKey, str | None] | None = None,
    ) -> None:
        #: Ways this map was made from others: (other map, events added, events
        #: replaced or removed). Lets auth chains be derived (RoomStates._chain_of).
        self._derivations: tuple[tuple[StateMap, tuple[str, ...], tuple[str, ...]], ...] = ()
        self._base: dict[StateKey, str] = base if base is not None else {}
        self._delta: dict[StateKey, str | None] = delta if delta is not None else {}
        size = len(self._base)
        for key, value in self._delta.items():
            in_base = key in self._base
            if value is None and in_base:
                size -= 1
            elif value is not None and not in_base:
                size += 1
        self._size = size
        self._chain: int | None = None

    @classmethod
    def of(cls, state: Mapping[StateKey, str]) -> StateMap:
        if isinstance(state, StateMap):
            return state
        return cls(dict(state))

    def __getitem__(self, key: StateKey) -> str:
        delta = self._delta
        if key in delta:
            value = delta[key]
            if value is None:
                raise KeyError(key)
            return value
        return self._base[key]

    def get(self, key: StateKey, default: str | None = None) -> str | None:  # type: ignore[override]
        delta = self._delta
        if key in delta:
            value = delta[key]
            return default if value is None else value
        return self._base.get(key, default)

    def __contains__(self, key: object) -> bool:
        delta = self._delta
        if key in delta:
            return delta[key] is not None
        return key in self._base

    def __iter__(self) -> Iterator[StateKey]:
        delta = self._delta
        for key in self._base:
            if key not in delta:
                yield key
        for key, value in delta.items():
            if value is not None:
                yield key

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"<StateMap {self._size} keys, delta {len(self._delta)}>"

    def to_dict(self) -> dict[StateKey, str]:
        out = dict(self._base)
        for key, value in self._delta.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
        return out

    def values(self) -> list[str]:  # type: ignore[override]
        """The event IDs of the map (a list: faster than the Mapping view)."""
        delta = self._delta
        if not delta:
            return list(self._base.values())
        out = [v for k, v in self._base.items() if k not in delta]
        out.extend(v for v in delta.values() if v is not None)
        return out

    def set(self, key: StateKey, event_id: str) -> StateMap:
        """A new map with ``key`` -> ``event_id``."""
        previous = self.get(key)
        if previous == event_id:
            return self
        child = self.update({key: event_id})
        child._derivations = ((self, (event_id,), () if previous is None else (previous,)),)
        return child

    def update(self, changes: Mapping[StateKey, str | None]) -> StateMap:
        """A new map with ``changes`` applied (None removes a key)."""
        delta = dict(self._delta)
        base = self._base
        for key, value in changes.items():
            if base.get(key) == value:
                delta.pop(key, None)
            else:
                delta[key] = value
        if len(delta) * len(delta) > max(len(base), 1024):
            merged = dict(base)
            for key, value in delta.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            return StateMap(merged)
        return StateMap(base, delta)


@dataclass(frozen=True, slots=True)
class EventVerdict:
    """Whether an event is accepted, rejected or soft failed, and why.

    ``stage`` says which check decided a rejection: ``"auth events"`` (check 4:
    the event's own auth events) or ``"state before"`` (check 5).
    ``result`` is the deciding :class:`~app.core.auth.AuthResult`.
    """

    event_id: str
    rejected: bool
    stage: str | None = None
    result: AuthResult | None = None
    soft_failed: bool = False
    soft_fail_result: AuthResult | None = None

    @property
    def reason(self) -> str | None:
        """One line naming the rule, or None for an accepted event."""
        if self.rejected and self.result is not None:
            where = "its auth events" if self.stage == "auth events" else "the state before it"
            return f"rejected against {where}: {self.result.describe()}"
        if self.soft_failed and self.soft_fail_result is not None:
            return f"soft failed against the current state: {self.soft_fail_result.describe()}"
        return None


_ACCEPTED: dict[str, EventVerdict] = {}


class RoomStates:
    """The states before/after each event of a graph and each event's verdict.

    Also an :class:`~app.core.stateres.EventSource` (``get``, ``is_rejected``)
    over the graph's events, with one memoised auth chain index.
    """

    def __init__(self, graph: EventGraph | None = None, *, version: RoomVersion | None = None):
        """The states of every event of ``graph``; or, with ``version`` and no graph, an
        empty room to :meth:`add` events to one at a time (each after its prev events)."""
        if graph is None and version is None:
            raise ValueError("RoomStates needs a graph or a room version")
        self.graph = graph
        self.version: RoomVersion = graph.room_version if graph is not None else version  # type: ignore[assignment]
        self._events: Mapping[str, PDU] = graph.events if graph is not None else {}
        self.create_event: PDU | None = graph.create_event if graph is not None else None
        self._order: list[str] = []
        self._rejected: set[str] = set()
        self.get = self._events.get
        self.is_rejected = self._rejected.__contains__
        self._before: dict[str, StateMap] = {}
        self._after: dict[str, StateMap] = {}
        self._verdicts: dict[str, EventVerdict] = {}
        self._merge_cache: dict[tuple[int, ...], StateMap] = {}
        self._index = AuthChainIndex(self)
        self._soft: dict[str, EventVerdict] | None = None
        self._empty = StateMap()
        #: How many resolutions the states took (merges of distinct states).
        self.resolutions = 0
        if graph is not None:
            events = graph.events
            with gc_paused():
                for event_id in graph.order:
                    self._add(events[event_id])

    # -- EventSource ---------------------------------------------------------------

    #: ``get(event_id) -> PDU | None`` and ``is_rejected(event_id) -> bool``: the
    #: mapping's and the set's own methods, bound in ``__init__``, so the resolver's
    #: millions of lookups over a 100k-event room make no Python-level call (measured:
    #: 7% of the CPU time of the states of the generated 100k room).
    get: Callable[[str], PDU | None]
    is_rejected: Callable[[str], bool]

    # -- results -------------------------------------------------------------------

    def state_before(self, event_id: str) -> StateMap:
        return self._before[event_id]

    def state_after(self, event_id: str) -> StateMap:
        return self._after[event_id]

    def verdict(self, event_id: str) -> EventVerdict:
        found = self._verdicts.get(event_id)
        if found is None:
            return EventVerdict(event_id, False)
        return found

    @property
    def rejected(self) -> frozenset[str]:
        return frozenset(self._rejected)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._after

    def resolve_at(
        self, event_ids: Sequence[str], *, trace: bool = False, algorithm: str | None = None
    ) -> Resolution:
        """The resolution of the states after ``event_ids``, as if a new event had
        them all as ``prev_events`` (``roomscope state --at``)."""
        sets = [self._after[e] for e in dict.fromkeys(event_ids)]
        if len(sets) == 1 and not trace and algorithm is None:
            return Resolution(sets[0])
        return resolve_state(self.version, sets, self, trace=trace, algorithm=algorithm)

    def state_sets_at(self, event_ids: Sequence[str]) -> list[StateMap]:
        return [self._after[e] for e in dict.fromkeys(event_ids)]

    def extremities(self) -> tuple[str, ...]:
        """The forward extremities of the graph (present events no event follows)."""
        if self.graph is not None:
            return tuple(self.graph.forward_extremities)
        referenced = {p for e in self._order for p in self._events[e].prev_events}
        return tuple(e for e in self._order if e not in referenced)

    # -- computation ---------------------------------------------------------------

    def _auth_state_of(self, event: PDU) -> dict[StateKey, PDU]:
        out: dict[StateKey, PDU] = {}
        for auth_id in auth_event_ids(event):
            auth_event = self._events.get(auth_id)
            if auth_event is not None and auth_event.state_key is not None:
                out[(auth_event.type, auth_event.state_key)] = auth_event
        return out

    def _auth_types(self, event: PDU) -> frozenset[StateKey]:
        types = auth_types_for_event(self.version, event)
        if self.version.room_id_from_create_event and event.type != CREATE:
            types = types | {CREATE_KEY}
        return types

    def _check(self, event: PDU, before: Mapping[StateKey, str]) -> EventVerdict | None:
        """Checks 4 and 5 of receipt; None when the event is accepted."""
        events = self._events
        create = self.create_event
        decided = self._after
        for auth_id in event.auth_events:
            if auth_id in events and auth_id not in decided:
                # Present but not yet decided: graph.order puts every event after its
                # present auth events, except on a cycle of references. Such an event
                # can never be authorised (its auth chain has no bottom).
                result = AuthResult.reject(
                    f"{rule_numbers(self.version).auth_events}",
                    "auth events: missing",
                    f"auth event {auth_id} is on a cycle of references with this event",
                )
                return EventVerdict(event.event_id, True, "auth events", result)
        listed = [events[a] for a in event.auth_events if a in events]
        result = check_auth_events(event, listed, rejected=self._rejected, create_event=create)
        if not result.allowed:
            return EventVerdict(event.event_id, True, "auth events", result)
        if event.type == CREATE and event.state_key == "":
            return None
        result = check_auth(event, self._auth_state_of(event), create_event=create)
        if not result.allowed:
            return EventVerdict(event.event_id, True, "auth events", result)
        # Check 5: the auth events the state before would select.
        calculated: dict[StateKey, PDU] = {}
        for key in self._auth_types(event):
            event_id = before.get(key)
            if event_id is not None and event_id in events:
                calculated[key] = events[event_id]
        if sorted(auth_event_ids(event)) == sorted(e.event_id for e in calculated.values()):
            return None
        result = check_auth(event, calculated, create_event=create)
        if not result.allowed:
            return EventVerdict(event.event_id, True, "state before", result)
        return None

    def _merge(self, states: list[StateMap]) -> StateMap:
        """The resolution of distinct ``states``, cached by their identities."""
        cache_key = tuple(sorted(id(s) for s in states))
        found = self._merge_cache.get(cache_key)
        if found is not None:
            return found
        self.resolutions += 1
        result = self._resolve(states)
        self._merge_cache[cache_key] = result
        return result

    def _resolve(self, states: list[StateMap]) -> StateMap:
        version = self.version
        if version.state_res is StateResAlgorithm.V1:
            return StateMap(dict(resolve_state(version, states, self).state))
        base = states[0]._base
        if all(s._base is base for s in states):
            # Fast split: keys outside every delta hold the base's value in every set.
            touched: set[StateKey] = set()
            for s in states:
                touched.update(s._delta)
            unconflicted_touched: dict[StateKey, str | None] = {}
            conflicted: dict[StateKey, frozenset[str]] = {}
            for key in touched:
                values = {s.get(key) for s in states}
                if len(values) == 1:
                    unconflicted_touched[key] = values.pop()
                else:
                    values.discard(None)
                    conflicted[key] = frozenset(v for v in values if v is not None)
            if not conflicted:
                return states[0].update(unconflicted_touched)
            unconflicted: Mapping[StateKey, str] = _Overlay(base, unconflicted_touched, conflicted)
            base_shared = True
            plain: dict[StateKey, str] = {}
        else:
            plain, conflicted = _split(states)
            if not conflicted:
                return StateMap(plain)
            unconflicted = plain
            unconflicted_touched = {}
            base_shared = False
        set_chains = [self._chain_of(s) for s in states]
        partial = resolve_conflicted(
            version, states, unconflicted, conflicted, self._index, set_chains=set_chains
        )
        # Step 5: the unconflicted state map over what the conflicted events set.
        changes: dict[StateKey, str | None] = dict(unconflicted_touched)
        for key, value in partial.items():
            if key not in unconflicted:
                changes[key] = value
        for key in conflicted:
            changes.setdefault(key, None)  # no candidate passed: the key is gone
        result = states[0].update(changes) if base_shared else StateMap(plain).update(changes)
        derivations = []
        for s in states:
            if s._base is not result._base:
                continue  # only maps on one base can be compared by their deltas
            added: list[str] = []
            removed: list[str] = []
            for key in set(s._delta) | set(result._delta):
                mine, theirs = s.get(key), result.get(key)
                if mine != theirs:
                    if theirs is not None:
                        added.append(theirs)
                    if mine is not None:
                        removed.append(mine)
            derivations.append((s, tuple(added), tuple(removed)))
        result._derivations = tuple(derivations)
        return result

    def _chain_of(self, state: StateMap) -> int:
        """The auth chain of a state (its events included), derived where possible.

        A map made from another whose chain is known (by :meth:`StateMap.set`, or a
        resolution from one of its inputs) has that chain plus the chains of the
        events added, provided every event it replaced is in the added events'
        chains (the usual case: a new membership or power levels event cites the
        one it replaces). Otherwise it is computed whole, once, and cached.
        """
        chain = state._chain
        if chain is not None:
            return chain
        index = self._index
        extra = 0
        current = state
        while current._chain is None:
            chosen: tuple[StateMap, int] | None = None
            for parent, added, removed in current._derivations:
                added_chain = index.chain_of_all(added)
                if all((added_chain >> index.index_of(r)) & 1 for r in removed):
                    if parent._chain is not None:
                        chosen = (parent, added_chain)
                        break
                    if chosen is None:
                        chosen = (parent, added_chain)
            if chosen is None:
                break
            current = chosen[0]
            extra |= chosen[1]
        base_chain = current._chain
        if base_chain is None:
            base_chain = index.chain_of_all(current.values())
            current._chain = base_chain
        chain = base_chain | extra
        state._chain = chain
        return chain

    def state_for(self, prev_events: Sequence[str]) -> StateMap | None:
        """The state before an event with these ``prev_events``: the resolution of the
        states after the known ones (cached per distinct set of states); the empty
        state for no prev events; None when they are all unknown."""
        after = self._after
        prevs = [p for p in dict.fromkeys(prev_events) if p in after]
        if not prevs:
            return None if prev_events else self._empty
        if len(prevs) == 1:
            return after[prevs[0]]
        distinct: dict[int, StateMap] = {}
        for p in prevs:
            state = after[p]
            distinct[id(state)] = state
        if len(distinct) == 1:
            return next(iter(distinct.values()))
        return self._merge(list(distinct.values()))

    def add(self, event: PDU) -> EventVerdict | None:
        """Add one event (after its prev events) to a room built without a graph.

        Returns the verdict when the event is rejected, else None.
        """
        if self.graph is not None:
            raise ValueError("add() is for rooms built incrementally, not from a graph")
        events = self._events
        assert isinstance(events, dict)
        events[event.event_id] = event
        if self._index.was_missing(event.event_id):
            self._reset_index()
        else:
            self._index.forget_parts_using(event.event_id)
        if self.create_event is None and event.type == CREATE and event.state_key == "":
            self.create_event = event
        with gc_paused(settle=False):
            self._add(event)
        self._soft = None
        return self._verdicts.get(event.event_id)

    def _reset_index(self) -> None:
        """Start a new auth chain index (and forget every state's chain in the old one).

        Called when an event the index had read as missing appears: the chains,
        senders' power levels and mainlines it derived without the event are
        wrong now. (Rare: an accepted event's auth events are all present, so
        only a rejected event's chain can have read a missing one.)
        """
        self._index = AuthChainIndex(self)
        for states in (self._after, self._before):
            for state in states.values():
                state._chain = None
        for state in self._merge_cache.values():
            state._chain = None

    def _add(self, event: PDU) -> None:
        event_id = event.event_id
        self._order.append(event_id)
        after = self._after
        found = self.state_for(event.prev_events)
        if found is None:
            # Every prev event is missing: take the state its auth events form.
            before = StateMap({k: e.event_id for k, e in self._auth_state_of(event).items()})
        else:
            before = found
        self._before[event_id] = before
        verdict = self._check(event, before)
        if verdict is not None:
            self._rejected.add(event_id)
            self._index.forget_parts_using(event_id)
            self._verdicts[event_id] = verdict
            after[event_id] = before
        elif event.state_key is not None:
            after[event_id] = before.set((event.type, event.state_key), event_id)
        else:
            after[event_id] = before

    # -- soft failure --------------------------------------------------------------

    def soft_failures(
        self, *, max_resolutions: int | None = DEFAULT_SOFT_FAIL_RESOLUTIONS
    ) -> Mapping[str, EventVerdict]:
        """Events accepted but soft failed against the current state on receipt.

        See the module docstring for what "current state" means here. Computed
        on first use and cached. Each event whose prev events are not the
        forward extremities of the events before it costs a resolution of those
        extremities' states (cached per distinct set of states): cheap on mostly
        linear rooms, slow on rooms with many long-lived branches (a 5k-event
        room with six live branches: ~3,500 resolutions, minutes). Past
        ``max_resolutions`` new resolutions it stops with
        :class:`SoftFailureTooCostly` (None: no limit).
        """
        if self._soft is not None:
            return self._soft
        budget_start = self.resolutions
        soft: dict[str, EventVerdict] = {}
        extremities: dict[str, None] = {}
        events = self._events
        for event_id in self._order:
            event = events[event_id]
            if event_id in self._rejected:
                continue
            prevs = set(event.prev_events)
            if extremities and set(extremities) != prevs:
                if max_resolutions is not None and (
                    self.resolutions - budget_start >= max_resolutions
                ):
                    raise SoftFailureTooCostly(
                        f"checking for soft failures stopped after {max_resolutions} "
                        "resolutions of the forward extremities' states (a heavily forked room)"
                    )
                tips = {id(self._after[e]): self._after[e] for e in extremities}
                current = (
                    next(iter(tips.values()))
                    if len(tips) == 1
                    else self._merge(list(tips.values()))
                )
                missing = [p for p in prevs if p not in self._after]
                if missing:
                    current = self._merge([current, self._before[event_id]])
                calculated: dict[StateKey, PDU] = {}
                for key in self._auth_types(event):
                    found = current.get(key)
                    if found is not None and found in events:
                        calculated[key] = events[found]
                if event.type != CREATE:
                    result = check_auth(event, calculated, create_event=self.create_event)
                    if not result.allowed:
                        soft[event_id] = EventVerdict(
                            event_id, False, soft_failed=True, soft_fail_result=result
                        )
                        continue
            for p in prevs:
                extremities.pop(p, None)
            extremities[event_id] = None
        self._soft = soft
        return soft


class _Overlay(Mapping[StateKey, str]):
    """The unconflicted state map of a fast split: the base, changed keys, minus conflicts."""

    __slots__ = ("_base", "_changes", "_conflicted")

    def __init__(
        self,
        base: Mapping[StateKey, str],
        changes: Mapping[StateKey, str | None],
        conflicted: Mapping[StateKey, object],
    ) -> None:
        self._base = base
        self._changes = changes
        self._conflicted = conflicted

    def __getitem__(self, key: StateKey) -> str:
        if key in self._conflicted:
            raise KeyError(key)
        if key in self._changes:
            value = self._changes[key]
            if value is None:
                raise KeyError(key)
            return value
        return self._base[key]

    def get(self, key: StateKey, default: str | None = None) -> str | None:  # type: ignore[override]
        """As Mapping.get, without the KeyError a missing key costs (hot in the checks)."""
        if key in self._conflicted:
            return default
        changes = self._changes
        if key in changes:
            value = changes[key]
            return default if value is None else value
        return self._base.get(key, default)

    def __contains__(self, key: object) -> bool:
        if key in self._conflicted:
            return False
        if key in self._changes:
            return self._changes[key] is not None  # type: ignore[index]
        return key in self._base

    def __iter__(self) -> Iterator[StateKey]:
        for key in self._base:
            if key not in self._conflicted and key not in self._changes:
                yield key
        for key, value in self._changes.items():
            if value is not None and key not in self._conflicted:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _split(
    states: Sequence[StateMap],
) -> tuple[dict[StateKey, str], dict[StateKey, frozenset[str]]]:
    """:func:`~app.core.stateres.common.split_conflicted_state_set` with set operations.

    The unconflicted state map is the (key, event) pairs every state has; every
    other key of any state is conflicted. Intersecting the dicts' item views runs
    in C, where the common split tests each key of a room state in Python.
    """
    dicts = [s.to_dict() for s in states]
    first = dicts[0]
    common = first.items() & dicts[1].items()
    for other in dicts[2:]:
        common &= other.items()
    unconflicted = dict(common)
    keys = first.keys() | dicts[1].keys()
    for other in dicts[2:]:
        keys |= other.keys()
    conflicted: dict[StateKey, frozenset[str]] = {}
    for key in keys - unconflicted.keys():
        conflicted[key] = frozenset(v for v in (d.get(key) for d in dicts) if v is not None)
    return unconflicted, conflicted


def compute_room_states(graph: EventGraph) -> RoomStates:
    """The states before/after every event of ``graph`` and each event's verdict."""
    return RoomStates(graph)


def event_verdicts(graph: EventGraph, *, soft_fail: bool = False) -> dict[str, EventVerdict]:
    """For ``roomscope auth``: each event's verdict (rejected, soft failed, or accepted).

    Rejection (checks 4 and 5 on receipt: the event's own auth events, then the
    state before it) is always worked out. ``soft_fail`` adds check 6 (see
    :meth:`RoomStates.soft_failures`), which costs a resolution of the forward
    extremities' states wherever an event arrives out of line: cheap on mostly
    linear rooms, minutes on a 5k-event room with half a dozen live branches.
    """
    states = RoomStates(graph)
    out = {e: states.verdict(e) for e in graph.order}
    if soft_fail:
        out.update(states.soft_failures())
    return out
