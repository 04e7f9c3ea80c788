"""A room's history event by event: what each event changed, forks and merges called out.

The replay walks the graph's topological order (:attr:`EventGraph.order`, the
order a server receiving the events in that order could have seen them). For
each event it says what kind of moment it is - a fork (its parent already had
a child: two branches now grow side by side), a merge (it has two or more
prev_events: the states after them were resolved into its state before), a
rejection - and which state keys it changed, from the states
:class:`~app.core.roomstate.RoomStates` worked out. Computed per event on
demand, so a 100k-event room costs nothing until played.

Spec: https://spec.matrix.org/v1.16/server-server-api/#room-state-resolution
(the state before an event is the resolution of the states after its prev_events).
Pure: no Qt, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.roomstate import RoomStates
from app.core.statediff import KeyChange, diff_states
from app.core.stepping import key_text

__all__ = ["ReplayEvent", "replay_event"]


@dataclass(frozen=True, slots=True)
class ReplayEvent:
    """One moment of the replay."""

    index: int
    event_id: str
    #: Any of "fork", "merge", "rejected", "state", "message".
    kinds: tuple[str, ...]
    #: What happened, in a sentence or two (plain text).
    note: str
    #: The keys this event changed: the state after it against the state after its
    #: first prev event (so a merge shows what the resolution changed, too).
    changes: tuple[KeyChange, ...]

    @property
    def is_fork(self) -> bool:
        return "fork" in self.kinds

    @property
    def is_merge(self) -> bool:
        return "merge" in self.kinds


def replay_event(states: RoomStates, index: int) -> ReplayEvent:
    """The ``index``-th event of the graph's order, as the replay shows it."""
    graph = states.graph
    if graph is None:
        raise ValueError("a replay needs RoomStates built from an event graph")
    event_id = graph.order[index]
    event = graph.events[event_id]
    kinds: list[str] = []
    notes: list[str] = []
    prevs = [p for p in dict.fromkeys(event.prev_events) if p in graph.events]
    for parent in prevs:
        siblings = graph.children(parent)
        if len(siblings) > 1 and siblings[0] != event_id:
            kinds.append("fork")
            n = siblings.index(event_id) + 1 if event_id in siblings else len(siblings)
            notes.append(f"Fork: {parent} now has {n} children; the branches grow side by side.")
            break
    if len(prevs) > 1:
        kinds.append("merge")
        notes.append(
            f"Merge of {len(prevs)} branches: the states after {', '.join(prevs)} are resolved "
            "into the state before this event."
        )
    if states.is_rejected(event_id):
        kinds.append("rejected")
        reason = states.verdict(event_id).reason or "rejected"
        notes.append(f"Rejected ({reason}); the state after it is the state before it.")
    kinds.append("state" if event.state_key is not None else "message")
    after = states.state_after(event_id)
    if prevs:
        previous = states.state_after(prevs[0])
        changes = diff_states(previous, after).changes
    else:
        changes = diff_states({}, after).changes
    if event.state_key is not None and not states.is_rejected(event_id):
        notes.append(f"Sets {key_text((event.type, event.state_key))}.")
    if "merge" in kinds:
        own = (event.type, event.state_key) if event.state_key is not None else None
        resolved = [c for c in changes if c.key != own]
        if resolved:
            notes.append(
                f"The resolution changed {len(resolved)} key(s) against the first branch: "
                + ", ".join(key_text(c.key) for c in resolved[:4])
                + (" …" if len(resolved) > 4 else "")
                + "."
            )
    note = " ".join(notes) or f"{event.type} from {event.sender}."
    return ReplayEvent(index, event_id, tuple(kinds), note, changes)
