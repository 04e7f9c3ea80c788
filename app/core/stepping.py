"""The steps a person walks through to watch one state resolution, derived from its trace.

The resolver records what it did as a :class:`~app.core.stateres.trace.Trace`
(DESIGN.md: the algorithm exists in one place). This module only regroups
that record into the ten phases the window's Resolution panel shows (UI.md):

1. Sets - the state sets that meet;
2. Split - the unconflicted state map and the conflicted state set;
3. Auth diff - the auth difference;
4. Full set - (v2.1) the conflicted state subgraph, then the full conflicted set;
5. Power order - the reverse topological power ordering, with each sort key;
6. Auth checks - one step per iterative auth check of a power event;
7. Mainline - the mainline of the resolved power levels;
8. Others - the other events in mainline order, with their mainline positions;
9. Auth checks - one step per iterative auth check of those events;
10. Result - the resolved state.

Each :class:`ResolutionStep` says what it is about in words, which events it is
about (the graph view highlights them), which state keys, and what it put into
the partial state; :meth:`Stepping.partial_state` folds those into the partial
state after any step. v1 has no auth difference, full set or mainline
(phases 3, 4 and 7 are absent); its orderings and checks are per key.

Pure: no Qt, no I/O. Spec: https://spec.matrix.org/v1.16/rooms/v2/#state-resolution,
https://spec.matrix.org/v1.16/rooms/v12/#state-resolution (v2.1),
https://spec.matrix.org/v1.16/rooms/v1/#state-resolution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from app.core.errors import RoomscopeError
from app.core.events import PDU, StateKey
from app.core.stateres import EventSource, resolve_state
from app.core.stateres.trace import (
    AuthCheckStep,
    EventSetStep,
    FinalStep,
    InputStep,
    KeyExplanation,
    MainlineStep,
    OrderingStep,
    PartialStateStep,
    SplitStep,
    Trace,
)
from app.core.versions import RoomVersion

__all__ = [
    "PHASES",
    "Phase",
    "ResolutionInputs",
    "ResolutionStep",
    "Stepping",
    "build_steps",
    "inputs_at",
    "inputs_from_named_sets",
    "key_text",
    "step_through",
]

#: The sort power the resolver gives a v12 room creator (shown as "creator").
_CREATOR_POWER = 2**53

StateTuple = tuple[tuple[StateKey, str], ...]


@dataclass(frozen=True, slots=True)
class Phase:
    """One of the ten phases of the panel's step bar."""

    number: int
    name: str
    #: What the phase is, in a sentence (the step bar's tooltip).
    description: str


PHASES: tuple[Phase, ...] = (
    Phase(1, "Sets", "The state sets that meet: the room state each branch had."),
    Phase(
        2,
        "Split",
        "Keys every state set agrees on (unconflicted) and keys they disagree on (conflicted).",
    ),
    Phase(
        3,
        "Auth diff",
        "The auth difference: events in some but not all of the state sets' auth chains.",
    ),
    Phase(
        4,
        "Full set",
        "The full conflicted set: conflicted events, the auth difference and (v2.1) the "
        "conflicted state subgraph.",
    ),
    Phase(
        5,
        "Power order",
        "Power events and their auth chains, sorted by the reverse topological power ordering.",
    ),
    Phase(6, "Auth checks", "Each power event checked against the partial state, in order."),
    Phase(7, "Mainline", "The mainline: the resolved power levels and their ancestors."),
    Phase(8, "Others", "The other events, sorted by mainline position, timestamp and ID."),
    Phase(9, "Auth checks", "Each other event checked against the partial state, in order."),
    Phase(10, "Result", "The resolved state: the partial state with the unconflicted map on top."),
)


def key_text(key: StateKey) -> str:
    """A state key as people read it: ``m.room.member @bob:example.com``; ``m.room.topic``."""
    return f"{key[0]} {key[1]}" if key[1] else key[0]


@dataclass(frozen=True, slots=True)
class ResolutionStep:
    """One step of the panel: what it shows, in words, and what it is about."""

    #: Position in :attr:`Stepping.steps`.
    index: int
    #: The phase (1-10, :data:`PHASES`).
    phase: int
    #: What kind of step: "sets", "split", "auth difference", "conflicted state
    #: subgraph", "full conflicted set", "power order", "auth check", "mainline",
    #: "mainline order", "v1 order", "result", or "empty" (a phase with nothing in it).
    kind: str
    title: str
    #: Plain text: what happens in this step and why.
    explanation: str
    #: The events this step is about: the graph view highlights them.
    event_ids: tuple[str, ...]
    #: The one event to bring into view, if any.
    focus: str | None = None
    #: The state keys this step is about.
    keys: tuple[StateKey, ...] = ()
    #: What this step put into the partial state (an auth check that passed).
    applied: tuple[tuple[StateKey, str], ...] = ()
    #: The trace record this step shows (None for an "empty" step).
    record: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Stepping:
    """The steps of one traced resolution (build with :func:`build_steps`)."""

    trace: Trace
    steps: tuple[ResolutionStep, ...]
    #: The partial state the iterative auth checks start from: the unconflicted
    #: state map (v2), an empty map (v2.1, MSC4297), the unconflicted map (v1).
    base: StateTuple
    #: What was resolved, in words ("the merge at $x: the states after $a, $b").
    inputs: str = ""
    #: Names of the state sets, in order ("after $a", "eve", ...).
    set_names: tuple[str, ...] = ()
    _first_of_phase: Mapping[int, int] = field(default_factory=dict, repr=False)
    _decided: Mapping[StateKey, int] = field(default_factory=dict, repr=False)
    _checked: Mapping[tuple[str, StateKey], int] = field(default_factory=dict, repr=False)
    _why: dict[StateKey, KeyExplanation] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def algorithm(self) -> str:
        return self.trace.algorithm

    @property
    def phases(self) -> tuple[int, ...]:
        """The phases this resolution has steps in (v1 has no 3, 4 or 7)."""
        return tuple(sorted(self._first_of_phase))

    def first_step_of(self, phase: int) -> int | None:
        """The index of the first step of ``phase``, or None when it has none."""
        return self._first_of_phase.get(phase)

    def partial_state(self, index: int) -> dict[StateKey, str]:
        """The partial state after step ``index``.

        Before the split nothing is known (empty); from the split on it is the
        state the iterative auth checks start from (:attr:`base`) with what each
        passing check applied; the last step's is the resolved state.
        """
        if not self.steps:
            return {}
        index = max(0, min(index, len(self.steps) - 1))
        step = self.steps[index]
        if step.kind == "result":
            return self.trace.final_state
        if step.phase == 1:
            return {}
        state = dict(self.base)
        for earlier in self.steps[: index + 1]:
            for key, event_id in earlier.applied:
                state[key] = event_id
        return state

    def conflicted_keys(self) -> tuple[StateKey, ...]:
        return self.trace.conflicted_keys

    def why(self, key: StateKey) -> KeyExplanation:
        """The trace's explanation of ``key`` (:meth:`Trace.why`), computed once."""
        found = self._why.get(key)
        if found is None:
            found = self.trace.why(key)
            self._why[key] = found
        return found

    def decided_at(self, key: StateKey) -> int | None:
        """The step after which ``key``'s outcome is known (its last auth check), or
        None when no step checks it (then the result step decides it)."""
        return self._decided.get(key)

    def checked_at(self, event_id: str, key: StateKey) -> int | None:
        """The step of the last auth check of ``event_id`` for ``key``, or None."""
        return self._checked.get((event_id, key))


def _short(event_id: str) -> str:
    return event_id if len(event_id) <= 14 else event_id[:12] + "…"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _sort_key_text(key: tuple[int | str, ...], first_is_power: bool) -> str:
    parts = []
    for i, part in enumerate(key):
        if i == 0 and first_is_power and part == _CREATOR_POWER:
            parts.append("creator")
        else:
            parts.append(str(part))
    return ", ".join(parts)


class _Builder:
    def __init__(self, trace: Trace, set_names: Sequence[str]) -> None:
        self.trace = trace
        self.v1 = trace.algorithm == "v1"
        self.set_names = tuple(set_names)
        self.steps: list[ResolutionStep] = []
        self.first: dict[int, int] = {}
        self.decided: dict[StateKey, int] = {}
        self.checked: dict[tuple[str, StateKey], int] = {}
        split = trace.split
        self.unconflicted: StateTuple = split.unconflicted if split is not None else ()
        self.conflicted = dict(split.conflicted) if split is not None else {}
        self.begin_empty = trace.algorithm == "v2.1"
        self.check_numbers: dict[str, int] = {}
        self.check_totals: dict[str, int] = {}
        for check in trace.auth_checks:
            self.check_totals[check.phase] = self.check_totals.get(check.phase, 0) + 1

    def add(
        self,
        phase: int,
        kind: str,
        title: str,
        explanation: str,
        event_ids: Sequence[str] = (),
        *,
        focus: str | None = None,
        keys: Sequence[StateKey] = (),
        applied: Sequence[tuple[StateKey, str]] = (),
        record: object = None,
    ) -> None:
        index = len(self.steps)
        self.first.setdefault(phase, index)
        self.steps.append(
            ResolutionStep(
                index,
                phase,
                kind,
                title,
                explanation,
                tuple(dict.fromkeys(event_ids)),
                focus,
                tuple(keys),
                tuple(applied),
                record,
            )
        )

    def name_of_set(self, i: int) -> str:
        return self.set_names[i] if i < len(self.set_names) else f"state set {i + 1}"

    # -- each kind of trace record ----------------------------------------------------

    def inputs(self, step: InputStep) -> None:
        n = len(step.state_sets)
        ids = [eid for state_set in step.state_sets for _, eid in state_set]
        sizes = ", ".join(
            f"{self.name_of_set(i)}: {_count(len(s), 'key')}" for i, s in enumerate(step.state_sets)
        )
        text = (
            f"{_count(n, 'state set')} meet here ({sizes}). Each is the room state one side "
            "had: for a merge, the state after each of its prev_events. State resolution "
            "decides the one state they all lead to."
        )
        if n < 2:
            text += " With a single state set there is nothing to resolve."
        self.add(1, "sets", "The state sets", text, ids, record=step)

    def split(self, step: SplitStep) -> None:
        candidates = [eid for _, cands in step.conflicted for eid, _ in cands]
        keys = [k for k, _ in step.conflicted]
        if self.v1:
            rule = (
                "v1 calls a key conflicted only when two state sets hold different events for it."
            )
        else:
            rule = (
                "A key is conflicted when the state sets hold different events for it, or "
                "some state set lacks it."
            )
        text = (
            f"{_count(len(step.unconflicted), 'key')} hold the same event in every state set: "
            f"the unconflicted state map, taken as it is. {_count(len(step.conflicted), 'key')} "
            f"conflict ({_count(len(candidates), 'candidate event')}): the conflicted state set. "
            + rule
        )
        if not step.conflicted:
            text += " Nothing conflicts, so the unconflicted state map is the result."
        self.add(
            2, "split", "Unconflicted and conflicted", text, candidates, keys=keys, record=step
        )

    def event_set(self, step: EventSetStep) -> None:
        n = _count(len(step.event_ids), "event")
        if step.name == "auth difference":
            text = (
                f"The auth difference ({n}): every event that is in the auth chain of some "
                "state set but not of all of them (a state set's auth chain is the union of "
                "the auth chains of its events, the events themselves included). These are "
                "the events the branches disagree about having seen."
            )
            self.add(3, "auth difference", "The auth difference", text, step.event_ids, record=step)
        elif step.name == "conflicted state subgraph":
            text = (
                f"The conflicted state subgraph ({n}), new in v2.1 (MSC4297): every event on "
                "an auth-event path from one conflicted event to another. Replaying them "
                "means a power change that two conflicted events both depend on is checked "
                "again, instead of being lost."
            )
            self.add(
                4,
                "conflicted state subgraph",
                "The conflicted state subgraph",
                text,
                step.event_ids,
                record=step,
            )
        else:
            parts = "the conflicted events and the auth difference"
            if self.trace.event_set("conflicted state subgraph") is not None:
                parts = (
                    "the conflicted events, the auth difference and the conflicted state subgraph"
                )
            text = (
                f"The full conflicted set ({n}): {parts}. Only these events are replayed "
                "through the authorization rules; everything else stays as the unconflicted "
                "state map says."
            )
            self.add(
                4,
                "full conflicted set",
                "The full conflicted set",
                text,
                step.event_ids,
                record=step,
            )

    def ordering(self, step: OrderingStep) -> None:
        ids = [e.event_id for e in step.entries]
        if step.name == "reverse topological power ordering":
            text = (
                f"{_count(len(ids), 'event')}: the power events of the full conflicted set "
                "(power levels, join rules, kicks and bans, and the create event) with the "
                "events of their auth chains that are in the set. Sorted so every event comes "
                "after its auth events; among events free at the same time, the sender with "
                "the greatest power level first, then the earliest origin_server_ts, then the "
                "smallest event ID. Sort key: (power level, origin_server_ts, event ID)."
            )
            if not ids:
                text = "The full conflicted set has no power events: nothing to order."
            self.add(5, "power order", "Reverse topological power ordering", text, ids, record=step)
        elif step.name == "mainline ordering":
            text = (
                f"The {_count(len(ids), 'other event')} of the full conflicted set, sorted by "
                "the mainline position of their closest mainline event (the first mainline "
                "event reached through their power levels auth events; older first, 0 for "
                "none), then origin_server_ts, then event ID."
            )
            if not ids:
                text = "Every event of the full conflicted set was a power event: no others."
            self.add(8, "mainline order", "Mainline ordering", text, ids, record=step)
        else:
            key = step.name.removeprefix("v1 order of ")
            type_, _, state_key = key.partition("/")
            phase = (
                5 if type_ in ("m.room.power_levels", "m.room.join_rules", "m.room.member") else 8
            )
            text = (
                f"v1 orders the {_count(len(ids), 'candidate')} for {key_text((type_, state_key))} "
                "by depth (greatest first), then by the SHA-1 of the event ID. Sort key: "
                "(depth, SHA-1)."
            )
            self.add(
                phase,
                "v1 order",
                f"v1 order of {key_text((type_, state_key))}",
                text,
                ids,
                keys=[(type_, state_key)],
                record=step,
            )

    def auth_check(self, step: AuthCheckStep) -> None:
        number = self.check_numbers.get(step.phase, 0) + 1
        self.check_numbers[step.phase] = number
        total = self.check_totals.get(step.phase, number)
        if self.v1:
            phase = 9 if step.phase == "other state" else 6
        else:
            phase = 6 if step.phase == "power events" else 9
        what = f"{step.event_id} ({key_text(step.key)})"
        if step.outcome == "allowed":
            verdict = "passed the authorization rules"
            if step.rule:
                verdict += f" (rule {step.rule}" + (
                    f", {step.rule_name})" if step.rule_name else ")"
                )
            if not self.v1:
                verdict += f": it is now the partial state's {key_text(step.key)}"
        elif step.outcome == "previously rejected":
            verdict = (
                "is skipped: it was rejected when it was received, and an event rejected "
                "once is never admitted again"
            )
        else:
            rule = f"rule {step.rule}" if step.rule else "the authorization rules"
            name = f" ({step.rule_name})" if step.rule_name else ""
            reason = f": {step.reason}" if step.reason else ""
            verdict = f"failed {rule}{name}{reason}"
        against = (
            "the partial state's values for the keys the auth rules read, over the "
            "event's own auth events"
            if not self.v1
            else "the auth state v1 builds for this key"
        )
        text = (
            f"Check {number} of {total} ({step.phase}): {what} {verdict}. "
            f"Checked against {against}."
        )
        if not self.v1 and number == 1:
            start = (
                "an empty state map (v2.1, MSC4297: nothing is assumed)"
                if self.begin_empty
                else "the unconflicted state map (v2)"
            )
            if step.phase == "power events":
                text += f" The partial state starts as {start}."
            else:
                text += " The partial state is what the power events left."
        auth_ids = [eid for _, eid in step.auth_state]
        applied = [(step.key, step.event_id)] if step.allowed and not self.v1 else []
        index = len(self.steps)
        self.decided[step.key] = index
        self.checked[(step.event_id, step.key)] = index
        title = (
            "Passed" if step.allowed else ("Skipped" if step.outcome != "rejected" else "Failed")
        )
        self.add(
            phase,
            "auth check",
            f"{title}: {key_text(step.key)}",
            text,
            [step.event_id, *auth_ids],
            focus=step.event_id,
            keys=[step.key],
            applied=applied,
            record=step,
        )

    def mainline(self, step: MainlineStep) -> None:
        n = len(step.mainline)
        if step.power_levels is None:
            text = (
                "No power levels event came out of the power events: the mainline is empty "
                "and every other event has mainline position 0."
            )
        elif not step.mainline:
            text = (
                f"The resolved power levels are {step.power_levels}. No events are left after "
                "the power events, so no mainline is needed."
            )
        else:
            text = (
                f"The mainline of the resolved power levels {step.power_levels}: it and the "
                "power levels events reached by following the m.room.power_levels entry of "
                f"each one's auth events ({_count(n, 'event')}). Position 1 is the oldest, "
                f"{n} the resolved power levels."
            )
        self.add(
            7,
            "mainline",
            "The mainline",
            text,
            step.mainline or ([step.power_levels] if step.power_levels else []),
            focus=step.power_levels,
            record=step,
        )

    def result(self, step: FinalStep) -> None:
        final = dict(step.state)
        winners = [final[k] for k in self.conflicted if k in final]
        lost = [k for k in self.conflicted if k not in final]
        text = f"The resolved state: {_count(len(final), 'key')}."
        if not self.v1:
            text += (
                " The unconflicted state map is applied over the partial state, so keys "
                "every state set agreed on keep their value."
            )
        if self.conflicted:
            text += f" {_count(len(self.conflicted), 'conflicted key')} were decided"
            text += (
                f"; {_count(len(lost), 'key')} ended up absent (a state reset)." if lost else "."
            )
        self.add(
            10,
            "result",
            "The resolved state",
            text,
            winners,
            keys=list(self.conflicted),
            record=step,
        )

    def empty(self, phase: int, title: str, text: str) -> None:
        self.add(phase, "empty", title, text)


def build_steps(
    trace: Trace,
    *,
    inputs: str = "",
    set_names: Sequence[str] = (),
    explain: bool = False,
) -> Stepping:
    """The panel's steps for ``trace``, in the algorithm's order.

    Every phase the algorithm has gets at least one step (an "empty" step says
    when there is nothing in it, e.g. no power events), so the step bar can
    jump to any of them. ``inputs`` and ``set_names`` only label things.
    ``explain`` works out every conflicted key's explanation now (do it off the
    UI thread for big resolutions) rather than on first use.
    """
    b = _Builder(trace, set_names)
    v1 = b.v1
    for record in trace.steps:
        if isinstance(record, InputStep):
            b.inputs(record)
        elif isinstance(record, SplitStep):
            b.split(record)
        elif isinstance(record, EventSetStep):
            b.event_set(record)
        elif isinstance(record, OrderingStep):
            if record.name == "mainline ordering" and 7 not in b.first:
                b.empty(
                    7, "The mainline", "No mainline: no events are left after the power events."
                )
            b.ordering(record)
        elif isinstance(record, MainlineStep):
            if 6 not in b.first:
                b.empty(6, "No power events to check", "There are no power events to check.")
            b.mainline(record)
        elif isinstance(record, AuthCheckStep):
            b.auth_check(record)
        elif isinstance(record, PartialStateStep):
            continue  # the partial state is shown on every step
        elif isinstance(record, FinalStep):
            if not v1 and b.conflicted and 9 not in b.first:
                b.empty(9, "No other events to check", "There are no other events to check.")
            b.result(record)
    base: StateTuple = () if b.begin_empty else b.unconflicted
    steps = tuple(b.steps)
    stepping = Stepping(
        trace,
        steps,
        base,
        inputs,
        tuple(set_names),
        _first_of_phase=dict(b.first),
        _decided=dict(b.decided),
        _checked=dict(b.checked),
    )
    if explain:
        for key in trace.conflicted_keys:
            stepping.why(key)
    return stepping


# -- what to resolve -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolutionInputs:
    """What a resolution starts from: state sets, where they came from, in words."""

    state_sets: tuple[Mapping[StateKey, str], ...]
    set_names: tuple[str, ...]
    description: str
    #: The events whose states after are resolved (empty for explicit state sets).
    at: tuple[str, ...] = ()
    #: The merge event whose state before this is, when resolving at a merge.
    merge: str | None = None


class _States(Protocol):
    """What :func:`inputs_at` needs of :class:`app.core.roomstate.RoomStates`."""

    def get(self, event_id: str, /) -> PDU | None: ...
    def state_after(self, event_id: str) -> Mapping[StateKey, str]: ...
    def extremities(self) -> tuple[str, ...]: ...
    def __contains__(self, event_id: object) -> bool: ...


def inputs_at(states: _States, selected: Sequence[str] = ()) -> ResolutionInputs:
    """The state sets to resolve for a selection (UI.md: "Resolve state here").

    * one event with two or more prev_events (a merge): the states after its
      prev_events - the resolution that gave the merge its state before;
    * several events: the states after each, as if a new event had them all as
      prev_events (``roomscope state --at A --at B``);
    * nothing: the forward extremities (what the next event would see).

    One event that is not a merge has a single state set: nothing to resolve,
    which the steps then say. ``states`` is a :class:`~app.core.roomstate.RoomStates`.
    Raises :class:`RoomscopeError` for an event the room does not hold.
    """
    room = states
    chosen = list(dict.fromkeys(selected))
    for event_id in chosen:
        if event_id not in room:
            raise RoomscopeError(f"{event_id} is not an event of this room (missing?)")
    merge: str | None = None
    if not chosen:
        at = list(room.extremities())
        what = "the forward extremities"
    elif len(chosen) == 1:
        event = room.get(chosen[0])
        prevs = [p for p in dict.fromkeys(event.prev_events) if p in room] if event else []
        if len(prevs) > 1:
            at, merge = prevs, chosen[0]
            what = f"the merge at {chosen[0]}"
        else:
            at = chosen
            what = f"{chosen[0]} alone (not a merge)"
    else:
        at = chosen
        what = f"{len(chosen)} selected events"
    if not at:
        raise RoomscopeError("the room has no events to resolve at")
    sets = tuple(room.state_after(e) for e in at)
    names = tuple(f"after {e}" for e in at)
    description = f"{what}: the states after " + ", ".join(at)
    return ResolutionInputs(sets, names, description, tuple(at), merge)


def inputs_from_named_sets(
    events: Mapping[str, PDU], named: Mapping[str, Sequence[str]]
) -> ResolutionInputs:
    """Explicit state sets, each a list of state event IDs (a room file's ``state_sets``)."""
    sets: list[dict[StateKey, str]] = []
    for name, ids in named.items():
        state: dict[StateKey, str] = {}
        for event_id in ids:
            event = events.get(event_id)
            if event is None:
                raise RoomscopeError(f"state set {name!r} names {event_id}, not in the room")
            if event.state_key is None:
                raise RoomscopeError(f"state set {name!r} names {event_id}, not a state event")
            state[(event.type, event.state_key)] = event_id
        sets.append(state)
    if not sets:
        raise RoomscopeError("no state sets to resolve")
    names = tuple(named)
    return ResolutionInputs(tuple(sets), names, "the state sets " + ", ".join(names))


def step_through(
    version: RoomVersion,
    inputs: ResolutionInputs,
    events: EventSource | Mapping[str, PDU],
    *,
    algorithm: str | None = None,
    explain: bool = True,
) -> Stepping:
    """Resolve ``inputs`` with tracing on and build the steps (run it off the UI thread)."""
    resolution = resolve_state(version, inputs.state_sets, events, trace=True, algorithm=algorithm)
    assert resolution.trace is not None
    return build_steps(
        resolution.trace,
        inputs=inputs.description,
        set_names=inputs.set_names,
        explain=explain,
    )
