"""Diffing two states (app.core.statediff): hand-made states, expectations by construction."""

from __future__ import annotations

from app.core.statediff import KeyChange, diff_states

TOPIC = ("m.room.topic", "")
NAME = ("m.room.name", "")
PL = ("m.room.power_levels", "")
BOB = ("m.room.member", "@bob:example.com")


def test_changed_added_removed_and_unchanged() -> None:
    left = {TOPIC: "$t1", PL: "$p", BOB: "$join"}
    right = {TOPIC: "$t2", PL: "$p", NAME: "$n"}
    diff = diff_states(left, right)
    assert diff.changes == (
        KeyChange(BOB, "$join", None),
        KeyChange(NAME, None, "$n"),
        KeyChange(TOPIC, "$t1", "$t2"),
    )
    assert [c.kind for c in diff.changes] == ["removed", "added", "changed"]
    assert diff.unchanged == 1
    assert diff.keys == (BOB, NAME, TOPIC)
    assert diff.of_kind("added") == (KeyChange(NAME, None, "$n"),)
    assert bool(diff)
    assert diff.summary() == "1 changed, 1 added, 1 removed; 1 keys the same."


def test_identical_states() -> None:
    state = {TOPIC: "$t", PL: "$p"}
    diff = diff_states(state, dict(state))
    assert not diff and diff.changes == () and diff.unchanged == 2
    assert "same" in diff.summary()


def test_empty_states() -> None:
    assert diff_states({}, {}).changes == ()
    assert diff_states({}, {TOPIC: "$t"}).changes == (KeyChange(TOPIC, None, "$t"),)
