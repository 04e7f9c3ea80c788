"""State resolution v1 (room version 1).

Spec: https://spec.matrix.org/v1.16/rooms/v1/#state-resolution. The spec's
description is short and informal; this module follows Synapse 1.163
(``synapse/state/v1.py``), which is what room-version-1 rooms actually run:

* A key is conflicted only when two state sets hold *different* events for it
  (a key some state sets lack is not conflicted, unlike v2).
* Conflicted events that are unknown or were rejected are left out (Synapse
  fetches them without ``allow_rejected``); a key left with one candidate is
  unconflicted, a key left with none is dropped.
* The auth state is the unconflicted state's entries for the keys the
  conflicted events' auth rules read; conflicted m.room.power_levels is resolved
  first, then m.room.join_rules, then m.room.member, then everything else, each
  resolved key joining the auth state.
* Events are ordered by depth (greatest first), then by the hex SHA-1 of the
  event ID.
* Power levels, join rules and membership: the candidates are walked from the
  lowest depth up, each checked against the auth state with the one before it
  in place; the walk stops at the first that fails, and the one before it wins
  (the first candidate is never checked). Other keys: the first candidate in
  order that passes auth wins; if none does, the last.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from app.core.auth import auth_types_for_event, check_auth
from app.core.events import PDU, StateKey
from app.core.stateres.common import (
    CREATE_KEY,
    JOIN_RULES,
    MEMBER,
    POWER_KEY,
    EventSource,
    sources_of,
)
from app.core.stateres.trace import (
    AuthCheckStep,
    OrderingStep,
    SortEntry,
    SplitStep,
    Step,
    state_tuple,
)
from app.core.versions import RoomVersion

__all__ = ["resolve_v1", "split_v1", "v1_order"]


def split_v1(
    state_sets: Sequence[Mapping[StateKey, str]],
) -> tuple[dict[StateKey, str], dict[StateKey, frozenset[str]]]:
    """Unconflicted and conflicted state, v1's way: only differing values conflict.

    The state sets are merged (the last set's value wins); a key is conflicted
    when some set's value differs from the merged one, i.e. when two sets differ.
    Every entry of the last set agrees with the merge, so it is not compared.
    """
    if len(state_sets) == 2:
        # The common case (two branches): a key is conflicted when both sets hold
        # it with different values.
        first, second = state_sets
        merged = dict(first)
        merged.update(second)
        second_get = second.get
        two: dict[StateKey, frozenset[str]] = {}
        for key, value in first.items():
            other = second_get(key, value)
            if other != value:
                two[key] = frozenset((value, other))
                del merged[key]
        return merged, two
    merged = {}
    for state_set in state_sets:
        merged.update(state_set)
    conflicted_keys: dict[StateKey, None] = {}
    for state_set in state_sets[:-1]:
        for key, value in state_set.items():
            if value != merged[key]:
                conflicted_keys[key] = None
    conflicted: dict[StateKey, frozenset[str]] = {}
    for key in conflicted_keys:
        conflicted[key] = frozenset(s[key] for s in state_sets if key in s)
        del merged[key]
    return merged, conflicted


def _sha1(event_id: str) -> str:
    return hashlib.sha1(event_id.encode("utf-8")).hexdigest()


def v1_order(events: Sequence[PDU]) -> list[PDU]:
    """Greatest depth first, then the hex SHA-1 of the event ID (Synapse's ``_ordered_events``).

    The hashes only break ties of depth: when every depth differs they are not computed.
    """
    if len(events) == 2:  # the common case: two candidates
        first, second = events
        if first.depth != second.depth:
            return [first, second] if first.depth > second.depth else [second, first]
    elif len({e.depth for e in events}) == len(events):
        return sorted(events, key=_minus_depth)
    return sorted(events, key=lambda e: (-e.depth, _sha1(e.event_id)))


def _minus_depth(event: PDU) -> int:
    return -event.depth


def resolve_v1(
    version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    source: EventSource,
    *,
    steps: list[Step] | None = None,
) -> dict[StateKey, str]:
    """Resolve ``state_sets`` with the v1 algorithm; see the module docstring."""
    if len(state_sets) == 1:
        return dict(state_sets[0])
    unconflicted, conflicted_ids = split_v1(state_sets)
    if steps is not None:
        steps.append(
            SplitStep(
                state_tuple(unconflicted),
                tuple(
                    (key, tuple((e, sources_of(state_sets, key, e)) for e in sorted(ids)))
                    for key, ids in sorted(conflicted_ids.items())
                ),
            )
        )

    is_rejected = source.is_rejected
    get = source.get
    result = unconflicted.copy()
    # Keys left with two or more candidates (unknown and rejected events dropped).
    conflicted: list[tuple[StateKey, list[PDU]]] = []
    candidates: list[PDU] | None = [] if steps is not None else None
    for key, ids in conflicted_ids.items():
        events: list[PDU] = []
        for event_id in ids:
            event = None if is_rejected(event_id) else get(event_id)
            if event is not None:
                events.append(event)
        if candidates is not None:
            candidates.extend(events)
        if len(events) > 1:
            conflicted.append((key, events))
        elif events:
            result[key] = events[0].event_id
    # The auth state: the unconflicted state's accepted, known events.
    auth_state: dict[StateKey, PDU] = {}
    if candidates is None:
        # Synapse keeps only the keys the candidates' auth rules read (the union
        # of their auth types, _create_auth_events_from_maps). check_auth reads
        # only keys in the checked event's own auth types, so the other entries
        # change no verdict, and taking them all costs less than working out
        # every candidate's auth types. The one key the auth types never hold is
        # v12's create event (the room ID names it): it stays out, as there.
        for key, auth_id in unconflicted.items():
            if not is_rejected(auth_id):
                event = get(auth_id)
                if event is not None:
                    auth_state[key] = event
        if version.room_id_from_create_event:
            auth_state.pop(CREATE_KEY, None)
    else:
        # Tracing: the auth state Synapse builds, as the trace shows it.
        unconflicted_get = unconflicted.get
        wanted = {k for e in candidates for k in auth_types_for_event(version, e)}
        for auth_key in wanted:
            found = unconflicted_get(auth_key)
            if found is None or is_rejected(found):
                continue
            event = get(found)
            if event is not None:
                auth_state[auth_key] = event

    def order_step(key: StateKey, ordered: Sequence[PDU]) -> None:
        if steps is not None:
            steps.append(
                OrderingStep(
                    f"v1 order of {key[0]}/{key[1]}",
                    ("depth", "SHA-1 of the event ID"),
                    tuple(SortEntry(e.event_id, (e.depth, _sha1(e.event_id))) for e in ordered),
                )
            )

    def resolve_auth_key(key: StateKey, events: list[PDU], phase: str) -> PDU:
        """Synapse's _resolve_auth_events: walk the candidates from the lowest depth
        up, each checked with the one before it in place; the first that fails
        leaves the one before it."""
        walk = v1_order(events)
        if steps is not None:
            order_step(key, walk)
        walk.reverse()
        kind, state_key = key
        shared = steps is None
        for event in events:
            if event.type != kind or event.state_key != state_key:
                shared = False
        if shared:
            # Synapse checks against the auth state restricted to the candidates'
            # auth types. check_auth reads only keys in the checked event's own auth
            # types (a subset of those), so the whole auth state gives the same
            # verdicts without a copy. The key being resolved is in no phase's auth
            # state yet (it was conflicted): it is set for the walk and taken out after.
            local = auth_state
        else:
            # Tracing (the restricted auth state is what the trace shows), or a
            # state set that files an event under another event's key.
            wanted = {k for e in events for k in auth_types_for_event(version, e)}
            local = {k: auth_state[k] for k in wanted if k in auth_state}
        previous = walk[0]
        try:
            for event in walk[1:]:
                local[(previous.type, previous.state_key or "")] = previous
                verdict = check_auth(event, local)
                if steps is not None:
                    _record(steps, phase, event, key, verdict, local)
                if not verdict.allowed:
                    return previous
                previous = event
            return previous
        finally:
            if shared:
                del auth_state[key]

    # Power levels, then join rules, then memberships, then the rest (each phase's
    # winners join the auth state of the next), keys in order within each phase.
    conflicted.sort()
    resolved: dict[StateKey, PDU] = {}
    join_rules: list[tuple[StateKey, list[PDU]]] = []
    members: list[tuple[StateKey, list[PDU]]] = []
    others: list[tuple[StateKey, list[PDU]]] = []
    for item in conflicted:
        kind = item[0][0]
        if kind == MEMBER:
            members.append(item)
        elif kind == JOIN_RULES:
            join_rules.append(item)
        elif item[0] != POWER_KEY:
            others.append(item)
        else:
            resolved[POWER_KEY] = resolve_auth_key(POWER_KEY, item[1], "power levels")
            auth_state[POWER_KEY] = resolved[POWER_KEY]
    for phase, items in (("join rules", join_rules), ("memberships", members)):
        chosen_in_phase = [(key, resolve_auth_key(key, events, phase)) for key, events in items]
        for key, event in chosen_in_phase:
            resolved[key] = auth_state[key] = event
    for key, events in others:
        ordered = v1_order(events)
        if steps is not None:
            order_step(key, ordered)
        chosen = ordered[-1]
        for event in ordered:
            verdict = check_auth(event, auth_state)
            if steps is not None:
                _record(steps, "other state", event, key, verdict, auth_state)
            if verdict.allowed:
                chosen = event
                break
        resolved[key] = chosen
    for key, event in resolved.items():
        result[key] = event.event_id
    return result


def _record(
    steps: list[Step] | None,
    phase: str,
    event: PDU,
    key: StateKey,
    result: object,
    auth_state: Mapping[StateKey, PDU],
) -> None:
    if steps is None:
        return
    allowed = bool(getattr(result, "allowed", False))
    rule = getattr(result, "rule", None)
    rule_name = getattr(result, "rule_name", None)
    reason = getattr(result, "reason", None)
    steps.append(
        AuthCheckStep(
            phase,
            event.event_id,
            key,
            "allowed" if allowed else "rejected",
            None if rule is None else str(rule),
            None if rule_name is None else str(rule_name),
            None if reason is None else str(reason),
            tuple(sorted((k, e.event_id) for k, e in auth_state.items())),
        )
    )
