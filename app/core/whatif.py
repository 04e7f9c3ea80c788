"""What if some events had never been received? Re-resolve without them.

The excluded events are taken out of the room as if the servers had never
sent them: the event graph is rebuilt without them (events that cite them now
cite missing events), every event's state and verdict is worked out again
(:class:`~app.core.roomstate.RoomStates`), and the state at the chosen point is
resolved again. The result says how the state there differs, and which events
are rejected now that were not (or the other way round).

The point resolved at is the given events (e.g. a merge's prev_events); an
excluded one is replaced by its nearest ancestors through ``prev_events``
that are not excluded. With no point given, the forward extremities of each
graph. Pure: no Qt, no I/O.

Spec: https://spec.matrix.org/v1.16/server-server-api/#room-state-resolution.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from app.core.events import StateKey
from app.core.graph import EventGraph
from app.core.roomstate import RoomStates
from app.core.statediff import StateDiff, diff_states

__all__ = ["WhatIf", "what_if_excluded"]


@dataclass(frozen=True, slots=True)
class WhatIf:
    """The state at one point with and without some events."""

    #: The excluded events that were in the room.
    excluded: tuple[str, ...]
    #: Where the state was resolved, with all events and without the excluded ones.
    at_before: tuple[str, ...]
    at_after: tuple[str, ...]
    before: dict[StateKey, str]
    after: dict[StateKey, str]
    diff: StateDiff
    #: Events whose verdict changed: (event ID, rejected with all events, rejected without).
    verdicts_changed: tuple[tuple[str, bool, bool], ...]
    #: The room without the excluded events (for further steps, e.g. stepping through).
    states: RoomStates

    def summary(self) -> str:
        n = len(self.excluded)
        head = f"Without {n} event{'s' if n != 1 else ''}: "
        if not self.diff:
            head += "the state is the same."
        else:
            head += self.diff.summary()
        if self.verdicts_changed:
            head += f" {len(self.verdicts_changed)} event(s) change verdict."
        return head


def _replace_excluded(graph: EventGraph, at: Sequence[str], excluded: Collection[str]) -> list[str]:
    """``at`` with each excluded event replaced by its nearest non-excluded ancestors."""
    out: dict[str, None] = {}
    seen: set[str] = set()
    stack = list(reversed(list(at)))
    while stack:
        event_id = stack.pop()
        if event_id in seen:
            continue
        seen.add(event_id)
        if event_id not in excluded:
            if event_id in graph.events:
                out[event_id] = None
            continue
        event = graph.events.get(event_id)
        if event is not None:
            stack.extend(reversed(event.prev_events))
    return list(out)


def what_if_excluded(
    states: RoomStates, excluded: Collection[str], at: Sequence[str] = ()
) -> WhatIf:
    """The state at ``at`` (default: the forward extremities) with and without ``excluded``.

    ``states`` must have been built from a graph (:class:`RoomStates` of an
    :class:`EventGraph`).
    """
    graph = states.graph
    if graph is None:
        raise ValueError("what_if_excluded needs RoomStates built from an event graph")
    gone = frozenset(e for e in excluded if e in graph.events)
    at_before = [e for e in dict.fromkeys(at) if e in graph.events] or list(states.extremities())
    before = dict(states.resolve_at(at_before).state) if at_before else {}
    kept = [graph.events[e] for e in graph.order if e not in gone]
    new_graph = EventGraph.build(kept, room_version=graph.room_version, check_event_ids=False)
    new_states = RoomStates(new_graph)
    at_after = _replace_excluded(graph, at_before, gone) if at else list(new_states.extremities())
    at_after = [e for e in at_after if e in new_states]
    after = dict(new_states.resolve_at(at_after).state) if at_after else {}
    changed = []
    for event_id in new_graph.order:
        was, now = states.is_rejected(event_id), new_states.is_rejected(event_id)
        if was != now:
            changed.append((event_id, was, now))
    return WhatIf(
        tuple(sorted(gone, key=graph.position.__getitem__)),
        tuple(at_before),
        tuple(at_after),
        before,
        after,
        diff_states(before, after),
        tuple(changed),
        new_states,
    )
