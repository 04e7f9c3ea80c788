"""The step trace of one state resolution, as plain frozen records.

The resolver records what it does only when asked (``resolve_state(...,
trace=True)``); with tracing off no record is built. The window and
``roomscope explain`` replay a :class:`Trace`: they never re-run the
algorithm, so it exists in one place.

A trace is a sequence of steps in the order the algorithm took them:

* :class:`InputStep` - the state sets given;
* :class:`SplitStep` - the unconflicted state map and the conflicted state set;
* :class:`EventSetStep` - the auth difference, the conflicted state subgraph
  (v2.1) and the full conflicted set;
* :class:`OrderingStep` - the reverse topological power ordering (each event
  with its sort key: power level of the sender, origin_server_ts, event ID),
  the mainline ordering (mainline position, origin_server_ts, event ID) or the
  v1 order (depth, SHA-1 of the event ID);
* :class:`MainlineStep` - the mainline of the resolved power levels;
* :class:`AuthCheckStep` - one iterative auth check: the event, the auth state
  it was checked against, and the outcome with the rule;
* :class:`PartialStateStep` - the partial state after a phase;
* :class:`FinalStep` - the resolved state.

:meth:`Trace.why` says, for one conflicted key, which candidates there were,
where they came from and why the winner won. :meth:`Trace.render_text` and
:meth:`Trace.to_json` serve ``roomscope explain``.

Spec: https://spec.matrix.org/v1.16/rooms/v2/#state-resolution,
https://spec.matrix.org/v1.16/rooms/v1/#state-resolution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.core.events import StateKey

__all__ = [
    "AuthCheckStep",
    "Candidate",
    "Comparison",
    "EventSetStep",
    "FinalStep",
    "InputStep",
    "KeyExplanation",
    "MainlineStep",
    "OrderingStep",
    "PartialStateStep",
    "SortEntry",
    "SplitStep",
    "Step",
    "Trace",
    "state_tuple",
]

#: The sort power of a v12 room creator (MSC4289), shown as "creator".
_CREATOR_POWER = 2**53

#: A state map as a sorted tuple of ((type, state_key), event_id).
StateTuple = tuple[tuple[StateKey, str], ...]


def state_tuple(state: Mapping[StateKey, str]) -> StateTuple:
    """``state`` as a sorted tuple, the form every trace record keeps."""
    return tuple(sorted(state.items()))


def _key_text(key: StateKey) -> str:
    return f"({key[0]}, {key[1]!r})"


@dataclass(frozen=True, slots=True)
class InputStep:
    """The state sets to resolve, in the order given."""

    state_sets: tuple[StateTuple, ...]


@dataclass(frozen=True, slots=True)
class SplitStep:
    """The unconflicted state map and the conflicted state set.

    v1 calls a key conflicted only when two state sets hold different events
    for it; v2 also when a state set lacks it.
    """

    unconflicted: StateTuple
    #: Each conflicted key with its candidates and, per candidate, the indexes of
    #: the state sets that hold it.
    conflicted: tuple[tuple[StateKey, tuple[tuple[str, tuple[int, ...]], ...]], ...]


@dataclass(frozen=True, slots=True)
class EventSetStep:
    """A set of events the algorithm computed, named in the spec's words.

    ``name`` is ``"auth difference"``, ``"conflicted state subgraph"`` or
    ``"full conflicted set"``.
    """

    name: str
    event_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SortEntry:
    """One event in an ordering, with the sort key that placed it.

    For the reverse topological power ordering ``key`` is (power level of the
    sender, origin_server_ts, event ID) and ``power_event`` says whether the
    event is a power event itself or only in a power event's auth chain; for
    the mainline ordering it is (mainline position, origin_server_ts, event
    ID) with ``mainline_event`` the closest mainline event; for v1 it is
    (depth, SHA-1 of the event ID).
    """

    event_id: str
    key: tuple[int | str, ...]
    power_event: bool = False
    mainline_event: str | None = None


@dataclass(frozen=True, slots=True)
class OrderingStep:
    """An ordering of events: ``name`` says which and ``key_names`` name the key parts."""

    name: str
    key_names: tuple[str, ...]
    entries: tuple[SortEntry, ...]


@dataclass(frozen=True, slots=True)
class MainlineStep:
    """The mainline: the resolved power levels event, then its power-levels ancestors.

    Listed newest first (the resolved power levels event first); an event's
    mainline position counts from the oldest (1) to the newest; 0 for events
    with no mainline event in their power-levels ancestry.
    """

    power_levels: str | None
    mainline: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuthCheckStep:
    """One iterative auth check (or a v1 pairwise check).

    ``outcome`` is ``"allowed"``, ``"rejected"`` (failed the auth rules at
    this point), or ``"previously rejected"`` (rejected when it was received;
    Synapse never admits such an event into resolved state, DESIGN.md).
    """

    phase: str
    event_id: str
    key: StateKey
    outcome: str
    rule: str | None
    rule_name: str | None
    reason: str | None
    #: The auth state the event was checked against: key -> event ID.
    auth_state: StateTuple

    @property
    def allowed(self) -> bool:
        return self.outcome == "allowed"


@dataclass(frozen=True, slots=True)
class PartialStateStep:
    """The partial state after a phase of the algorithm."""

    phase: str
    state: StateTuple


@dataclass(frozen=True, slots=True)
class FinalStep:
    """The resolved state."""

    state: StateTuple


Step = (
    InputStep
    | SplitStep
    | EventSetStep
    | OrderingStep
    | MainlineStep
    | AuthCheckStep
    | PartialStateStep
    | FinalStep
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One event that could have ended up as the value of a conflicted key."""

    event_id: str
    #: Indexes of the input state sets that hold it under this key (empty for an
    #: event that came in through the auth difference or the conflicted subgraph).
    state_sets: tuple[int, ...]
    #: What happened to it, in a sentence.
    fate: str


@dataclass(frozen=True, slots=True)
class KeyExplanation:
    """Why one state key resolved as it did."""

    key: StateKey
    conflicted: bool
    winner: str | None
    candidates: tuple[Candidate, ...]
    #: The sentence that decided it.
    decision: str

    def render_text(self) -> str:
        lines = [f"{_key_text(self.key)} -> {self.winner or '(absent)'}"]
        for candidate in self.candidates:
            where = (
                "state set"
                + ("s " if len(candidate.state_sets) > 1 else " ")
                + ", ".join(str(i) for i in candidate.state_sets)
                if candidate.state_sets
                else "not in any state set"
            )
            lines.append(f"  {candidate.event_id} ({where}): {candidate.fate}")
        lines.append(f"  => {self.decision}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Trace:
    """Every step of one state resolution, in order."""

    #: "v1", "v2" or "v2.1".
    algorithm: str
    room_version: str
    steps: tuple[Step, ...]

    # -- finding steps ---------------------------------------------------------------

    def _first(self, kind: type[Any]) -> Any:
        for step in self.steps:
            if isinstance(step, kind):
                return step
        return None

    @property
    def input(self) -> InputStep | None:
        found: InputStep | None = self._first(InputStep)
        return found

    @property
    def split(self) -> SplitStep | None:
        found: SplitStep | None = self._first(SplitStep)
        return found

    @property
    def final_state(self) -> dict[StateKey, str]:
        found: FinalStep | None = self._first(FinalStep)
        return dict(found.state) if found is not None else {}

    def event_set(self, name: str) -> tuple[str, ...] | None:
        """The events of the :class:`EventSetStep` called ``name``, or None."""
        for step in self.steps:
            if isinstance(step, EventSetStep) and step.name == name:
                return step.event_ids
        return None

    @property
    def auth_checks(self) -> tuple[AuthCheckStep, ...]:
        return tuple(s for s in self.steps if isinstance(s, AuthCheckStep))

    @property
    def orderings(self) -> tuple[OrderingStep, ...]:
        return tuple(s for s in self.steps if isinstance(s, OrderingStep))

    @property
    def mainline(self) -> MainlineStep | None:
        found: MainlineStep | None = self._first(MainlineStep)
        return found

    @property
    def conflicted_keys(self) -> tuple[StateKey, ...]:
        split = self.split
        return tuple(k for k, _ in split.conflicted) if split is not None else ()

    # -- explanations ----------------------------------------------------------------

    def why(self, key: StateKey) -> KeyExplanation:
        """Why ``key`` resolved as it did: the candidates and the deciding sentence."""
        final = self.final_state
        winner = final.get(key)
        split = self.split
        conflicted = dict(split.conflicted) if split is not None else {}
        unconflicted = dict(split.unconflicted) if split is not None else {}
        if key not in conflicted:
            if key in unconflicted:
                decision = f"{unconflicted[key]} is in every state set: the key is unconflicted"
                if self.algorithm == "v1":
                    decision = (
                        f"{unconflicted[key]} is the only event any state set holds: "
                        "the key is unconflicted"
                    )
                return KeyExplanation(key, False, winner, (), decision)
            return KeyExplanation(key, False, winner, (), "no state set holds this key")

        checks = [c for c in self.auth_checks if c.key == key]
        candidates_order: list[str] = [eid for eid, _ in conflicted[key]]
        from_sets = {eid: sets for eid, sets in conflicted[key]}
        for check in checks:
            if check.event_id not in from_sets and check.event_id not in candidates_order:
                candidates_order.append(check.event_id)

        if self.algorithm == "v1":
            return self._why_v1(key, winner, candidates_order, from_sets, checks)

        last_check: dict[str, AuthCheckStep] = {}
        for check in checks:
            last_check[check.event_id] = check
        phase_of = {c.event_id: c.phase for c in checks}
        position = {c.event_id: i for i, c in enumerate(self.auth_checks)}
        candidates: list[Candidate] = []
        for event_id in candidates_order:
            last = last_check.get(event_id)
            if last is None:
                fate = "never checked (not known to the resolver, or outside every ordering)"
            elif last.outcome == "previously rejected":
                fate = "was rejected when received and is never admitted again"
            elif last.outcome == "rejected":
                fate = f"failed auth: {_rule_text(last)}"
            elif event_id == winner:
                fate = f"passed auth ({last.phase})"
            else:
                fate = f"passed auth ({last.phase}) but was replaced by a later event"
            candidates.append(Candidate(event_id, from_sets.get(event_id, ()), fate))

        if winner is None:
            decision = (
                "no candidate passed the iterative auth checks: the key is absent from the "
                "resolved state (a state reset)"
            )
        elif winner not in phase_of:
            decision = f"{winner} won without being checked"
        else:
            phase = phase_of[winner]
            order = (
                "reverse topological power order" if phase == "power events" else "mainline order"
            )
            later = [
                c.event_id
                for c in checks
                if c.event_id != winner and c.allowed and position[c.event_id] < position[winner]
            ]
            if later:
                decision = (
                    f"{winner} was applied later in {order} than "
                    + ", ".join(later)
                    + " and passed auth"
                )
            else:
                failed = [c for c in candidates if c.event_id != winner]
                if failed:
                    decision = f"{winner} is the only candidate that passed auth; " + (
                        "; ".join(f"{c.event_id} {c.fate}" for c in failed)
                    )
                else:
                    decision = f"{winner} passed auth in {order}"
        return KeyExplanation(key, True, winner, tuple(candidates), decision)

    def _why_v1(
        self,
        key: StateKey,
        winner: str | None,
        order: list[str],
        from_sets: Mapping[str, tuple[int, ...]],
        checks: Sequence[AuthCheckStep],
    ) -> KeyExplanation:
        outcome = {c.event_id: c for c in checks}
        walk_key = key[0] in ("m.room.power_levels", "m.room.join_rules", "m.room.member")
        ordered: list[str] = []
        for step in self.orderings:
            if step.name == f"v1 order of {key[0]}/{key[1]}":
                ordered = [e.event_id for e in step.entries]
        start = ordered[-1] if walk_key and ordered else None
        candidates: list[Candidate] = []
        for event_id in order:
            check = outcome.get(event_id)
            if check is not None and not check.allowed:
                fate = f"failed auth: {_rule_text(check)}"
            elif event_id == winner:
                fate = "chosen" + (", passed auth" if check is not None else "")
            elif event_id == start:
                fate = "the start of the walk (lowest depth), not checked itself"
            elif check is None:
                fate = (
                    "not reached: the walk stopped at an earlier failure"
                    if walk_key
                    else "not checked: an earlier candidate passed, or it is unknown or rejected"
                )
            else:
                fate = "passed auth but a later candidate in the walk replaced it"
            candidates.append(Candidate(event_id, from_sets.get(event_id, ()), fate))
        winner_check = outcome.get(winner) if winner is not None else None
        if winner is None:
            decision = "none of the candidates is known to the resolver: the key is dropped"
        elif winner_check is not None and not winner_check.allowed:
            decision = (
                f"{winner}: no candidate passed auth, and v1 then keeps the last in its order "
                "(the least depth)"
            )
        elif key[0] in ("m.room.power_levels", "m.room.join_rules", "m.room.member"):
            decision = (
                f"{winner}: v1 applies the candidates from lowest depth up, each checked "
                "against the one before; the last that passed auth in that chain wins"
            )
        else:
            decision = (
                f"{winner}: v1 takes the first candidate, by greatest depth then SHA-1 of "
                "the event ID, that passes auth"
            )
        return KeyExplanation(key, True, winner, tuple(candidates), decision)

    # -- comparing algorithms --------------------------------------------------------

    def compare(self, other: Trace) -> Comparison:
        """How ``other`` (the same inputs under another algorithm) differs from this trace.

        Lists the keys that resolve differently, with both explanations, and what
        each algorithm did differently on the way: the events only one of them
        put in its full conflicted set (v2.1's conflicted state subgraph), and
        the partial state each started its iterative auth checks from.
        """
        mine, theirs = self.final_state, other.final_state
        keys = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        full_mine = set(self.event_set("full conflicted set") or ())
        full_theirs = set(other.event_set("full conflicted set") or ())
        return Comparison(
            self.algorithm,
            other.algorithm,
            tuple(keys),
            tuple((self.why(k), other.why(k)) for k in keys),
            tuple(sorted(full_mine - full_theirs)),
            tuple(sorted(full_theirs - full_mine)),
            _starting_state(self),
            _starting_state(other),
        )

    # -- renderings ------------------------------------------------------------------

    def render_text(self) -> str:
        """The whole trace as readable text (``roomscope explain``)."""
        out: list[str] = [f"State resolution {self.algorithm} (room version {self.room_version})"]
        for step in self.steps:
            out.append("")
            out.extend(_render_step(step))
        split = self.split
        if split is not None and split.conflicted:
            out.append("")
            out.append("Why each conflicted key resolved as it did:")
            for key, _ in split.conflicted:
                out.append(self.why(key).render_text())
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form of the trace: ``{"algorithm", "room_version", "steps", "why"}``."""
        steps = [_step_json(step) for step in self.steps]
        why = []
        for key in self.conflicted_keys:
            explanation = self.why(key)
            why.append(
                {
                    "key": list(key),
                    "winner": explanation.winner,
                    "decision": explanation.decision,
                    "candidates": [
                        {
                            "event_id": c.event_id,
                            "state_sets": list(c.state_sets),
                            "fate": c.fate,
                        }
                        for c in explanation.candidates
                    ],
                }
            )
        return {
            "algorithm": self.algorithm,
            "room_version": self.room_version,
            "steps": steps,
            "why": why,
        }


def _starting_state(trace: Trace) -> str:
    if trace.algorithm == "v1":
        return "v1 checks candidates against the unconflicted state, key group by key group"
    if trace.algorithm == "v2.1":
        return "the iterative auth checks start from an empty state map"
    return "the iterative auth checks start from the unconflicted state map"


@dataclass(frozen=True, slots=True)
class Comparison:
    """The same resolution under two algorithms (see :meth:`Trace.compare`)."""

    algorithm: str
    other_algorithm: str
    differing_keys: tuple[StateKey, ...]
    explanations: tuple[tuple[KeyExplanation, KeyExplanation], ...]
    #: Events in this algorithm's full conflicted set but not the other's, and back.
    only_here: tuple[str, ...]
    only_there: tuple[str, ...]
    starts_here: str
    starts_there: str

    def render_text(self) -> str:
        a, b = self.algorithm, self.other_algorithm
        lines = [f"Compared with {b}:"]
        if not self.differing_keys:
            lines.append(f"  {a} and {b} resolve these state sets the same way.")
            return "\n".join(lines)
        lines.append(f"  {a}: {self.starts_here}; {b}: {self.starts_there}.")
        for name, only in ((a, self.only_here), (b, self.only_there)):
            if only:
                source = (
                    "from its conflicted state subgraph" if name == "v2.1" else "in its full set"
                )
                lines.append(f"  Only {name} replays ({source}): " + ", ".join(only))
        for mine, theirs in self.explanations:
            key = _key_text(mine.key)
            lines.append(
                f"  {key}: {a} -> {mine.winner or '(absent)'}, {b} -> {theirs.winner or '(absent)'}"
            )
            lines.append(f"    {a}: {mine.decision}")
            lines.append(f"    {b}: {theirs.decision}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "other_algorithm": self.other_algorithm,
            "differing_keys": [list(k) for k in self.differing_keys],
            "only_here": list(self.only_here),
            "only_there": list(self.only_there),
            "explanations": [
                {
                    "key": list(mine.key),
                    "winner": mine.winner,
                    "other_winner": theirs.winner,
                    "decision": mine.decision,
                    "other_decision": theirs.decision,
                }
                for mine, theirs in self.explanations
            ],
        }


def _rule_text(check: AuthCheckStep) -> str:
    parts = []
    if check.rule:
        parts.append(f"rule {check.rule}")
    if check.rule_name:
        parts.append(check.rule_name)
    head = " ".join(parts)
    reason = check.reason or "not allowed"
    return f"{head}: {reason}" if head else reason


def _state_lines(state: StateTuple, indent: str = "  ") -> list[str]:
    if not state:
        return [f"{indent}(empty)"]
    return [f"{indent}{_key_text(key)} -> {event_id}" for key, event_id in state]


def _render_step(step: Step) -> list[str]:
    if isinstance(step, InputStep):
        lines = [f"Input: {len(step.state_sets)} state sets"]
        for i, state_set in enumerate(step.state_sets):
            lines.append(f" state set {i}:")
            lines.extend(_state_lines(state_set))
        return lines
    if isinstance(step, SplitStep):
        lines = [f"Unconflicted state map ({len(step.unconflicted)} keys):"]
        lines.extend(_state_lines(step.unconflicted))
        lines.append(f"Conflicted state set ({len(step.conflicted)} keys):")
        for key, candidates in step.conflicted:
            text = ", ".join(
                f"{eid} (state set{'s' if len(sets) > 1 else ''} "
                f"{', '.join(str(i) for i in sets) or '-'})"
                for eid, sets in candidates
            )
            lines.append(f"  {_key_text(key)}: {text}")
        return lines
    if isinstance(step, EventSetStep):
        name = step.name[0].upper() + step.name[1:]
        lines = [f"{name} ({len(step.event_ids)} events):"]
        lines.extend(f"  {eid}" for eid in step.event_ids)
        if not step.event_ids:
            lines.append("  (none)")
        return lines
    if isinstance(step, OrderingStep):
        lines = [f"{step.name[0].upper() + step.name[1:]} (sort key: {', '.join(step.key_names)}):"]
        for i, entry in enumerate(step.entries, 1):
            extra = ""
            if step.key_names and step.key_names[0] == "sender power level":
                extra = "" if entry.power_event else "  [in a power event's auth chain]"
            if entry.mainline_event is not None:
                extra = f"  [closest mainline event {entry.mainline_event}]"
            sort_key = ", ".join(
                "creator" if j == 0 and k == _CREATOR_POWER and extra is not None else str(k)
                for j, k in enumerate(entry.key)
            )
            lines.append(f"  {i}. {entry.event_id}  ({sort_key}){extra}")
        if not step.entries:
            lines.append("  (none)")
        return lines
    if isinstance(step, MainlineStep):
        lines = [f"Mainline of the resolved power levels {step.power_levels or '(none)'}:"]
        n = len(step.mainline)
        for i, eid in enumerate(step.mainline):
            lines.append(f"  position {n - i}: {eid}")
        if not step.mainline:
            lines.append("  (empty: every event has mainline position 0)")
        return lines
    if isinstance(step, AuthCheckStep):
        if step.outcome == "allowed":
            verdict = "passed auth"
        elif step.outcome == "previously rejected":
            verdict = "skipped: rejected when received, never admitted again"
        else:
            verdict = f"failed auth: {_rule_text(step)}"
        lines = [f"Auth check [{step.phase}] {step.event_id} {_key_text(step.key)}: {verdict}"]
        auth = ", ".join(f"{k[0]}/{k[1]}={eid}" for k, eid in step.auth_state)
        lines.append(f"  against: {auth or '(nothing)'}")
        return lines
    if isinstance(step, PartialStateStep):
        lines = [f"Partial state after {step.phase}:"]
        lines.extend(_state_lines(step.state))
        return lines
    lines = ["Resolved state:"]
    lines.extend(_state_lines(step.state))
    return lines


def _state_json(state: StateTuple) -> list[list[str]]:
    return [[k[0], k[1], eid] for k, eid in state]


def _step_json(step: Step) -> dict[str, Any]:
    if isinstance(step, InputStep):
        return {"step": "input", "state_sets": [_state_json(s) for s in step.state_sets]}
    if isinstance(step, SplitStep):
        return {
            "step": "split",
            "unconflicted": _state_json(step.unconflicted),
            "conflicted": [
                {
                    "key": list(key),
                    "candidates": [{"event_id": e, "state_sets": list(s)} for e, s in cands],
                }
                for key, cands in step.conflicted
            ],
        }
    if isinstance(step, EventSetStep):
        return {"step": step.name, "event_ids": list(step.event_ids)}
    if isinstance(step, OrderingStep):
        return {
            "step": step.name,
            "key_names": list(step.key_names),
            "entries": [
                {
                    "event_id": e.event_id,
                    "key": list(e.key),
                    "power_event": e.power_event,
                    "mainline_event": e.mainline_event,
                }
                for e in step.entries
            ],
        }
    if isinstance(step, MainlineStep):
        return {
            "step": "mainline",
            "power_levels": step.power_levels,
            "mainline": list(step.mainline),
        }
    if isinstance(step, AuthCheckStep):
        return {
            "step": "auth check",
            "phase": step.phase,
            "event_id": step.event_id,
            "key": list(step.key),
            "outcome": step.outcome,
            "rule": step.rule,
            "rule_name": step.rule_name,
            "reason": step.reason,
            "auth_state": _state_json(step.auth_state),
        }
    if isinstance(step, PartialStateStep):
        return {"step": "partial state", "phase": step.phase, "state": _state_json(step.state)}
    return {"step": "final", "state": _state_json(step.state)}
