"""The difference between two room states, key by key.

Used to compare the state at two events, the state before and after a what-if
exclusion, and what one event of a replay changed. A state is a map from
``(type, state_key)`` to an event ID (https://spec.matrix.org/v1.16/rooms/v2/#state-resolution
calls it a state map). Pure: no Qt, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.core.events import StateKey

__all__ = ["KeyChange", "StateDiff", "diff_states"]


@dataclass(frozen=True, slots=True)
class KeyChange:
    """One key on which two states differ: its event on the left and on the right."""

    key: StateKey
    left: str | None
    right: str | None

    @property
    def kind(self) -> str:
        """``"added"`` (only on the right), ``"removed"`` (only on the left) or ``"changed"``."""
        if self.left is None:
            return "added"
        if self.right is None:
            return "removed"
        return "changed"


@dataclass(frozen=True, slots=True)
class StateDiff:
    """Where two states differ, sorted by key, and how many keys they share unchanged."""

    changes: tuple[KeyChange, ...]
    unchanged: int

    def __bool__(self) -> bool:
        return bool(self.changes)

    @property
    def keys(self) -> tuple[StateKey, ...]:
        return tuple(c.key for c in self.changes)

    def of_kind(self, kind: str) -> tuple[KeyChange, ...]:
        return tuple(c for c in self.changes if c.kind == kind)

    def summary(self) -> str:
        """One line: "2 changed, 1 added, 0 removed; 40 keys the same"."""
        if not self.changes:
            return f"The states are the same ({self.unchanged} keys)."
        counts = ", ".join(
            f"{len(self.of_kind(kind))} {kind}" for kind in ("changed", "added", "removed")
        )
        return f"{counts}; {self.unchanged} keys the same."


def diff_states(left: Mapping[StateKey, str], right: Mapping[StateKey, str]) -> StateDiff:
    """The keys on which ``left`` and ``right`` hold different events (or only one holds one)."""
    changes: list[KeyChange] = []
    unchanged = 0
    for key in left:
        theirs = right.get(key)
        mine = left[key]
        if theirs == mine:
            unchanged += 1
        else:
            changes.append(KeyChange(key, mine, theirs))
    for key in right:
        if key not in left:
            changes.append(KeyChange(key, None, right[key]))
    changes.sort(key=lambda c: c.key)
    return StateDiff(tuple(changes), unchanged)
