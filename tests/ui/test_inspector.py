"""The inspector on its own: built straight from a loaded room (no main window).

Expected verdicts and states come from the spec's rules applied by hand to the
test room (tests/ui/ui_rooms.py): Bob has the default power 0 and
``state_default`` is 50, so his m.room.power_levels event is rejected and
changes nothing; Alice's topic adds (m.room.topic, "") to the state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.ui.document import AuthView, RoomAnalysis, RoomDocument, analyse_document, load_document
from app.ui.inspector import Inspector
from app.ui.state_table import StateTable
from app.ui.workers import JobContext
from tests.ui.ui_rooms import ALICE, BOB, BuiltRoom, write_fork_room

pytestmark = pytest.mark.timeout(120)


def _ctx() -> JobContext:
    return JobContext(lambda percent, text: None)


@pytest.fixture(scope="module")
def loaded(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[BuiltRoom, RoomDocument, RoomAnalysis]:
    room = write_fork_room(tmp_path_factory.mktemp("rooms"))
    doc = load_document(room.path, _ctx())
    return room, doc, analyse_document(doc, _ctx())


@pytest.fixture
def inspector(qtbot: QtBot, loaded: tuple[BuiltRoom, RoomDocument, RoomAnalysis]) -> Inspector:
    _, doc, analysis = loaded
    widget = Inspector()
    qtbot.addWidget(widget)
    widget.resize(420, 800)
    widget.show()
    widget.set_document(doc)
    widget.set_analysis(analysis)
    return widget


def test_nothing_selected_shows_a_hint(inspector: Inspector) -> None:
    inspector.show_event(None)
    assert inspector.stack.currentWidget() is inspector.empty


def test_rejected_event_names_the_rule(
    inspector: Inspector, loaded: tuple[BuiltRoom, RoomDocument, RoomAnalysis]
) -> None:
    room, _, analysis = loaded
    if "auth" in analysis.unavailable:
        pytest.skip(analysis.unavailable["auth"])
    inspector.show_event(room.id("bob_power"))
    assert inspector.verdict.text().startswith("Rejected by rule ")
    assert inspector.verdict.property("verdict") == "rejected"
    reason = inspector.verdict_reason.text()
    assert BOB in reason or "power" in reason
    # The state after a rejected event is the state before it (DESIGN.md).
    rows = inspector.state_table.model.rows
    assert rows and not any(row.changed for row in rows)
    power = [r for r in rows if r.key == ("m.room.power_levels", "")]
    assert power and power[0].after == room.id("power")


def test_allowed_event_and_its_state_change(
    inspector: Inspector, loaded: tuple[BuiltRoom, RoomDocument, RoomAnalysis]
) -> None:
    room, _, analysis = loaded
    if "state" in analysis.unavailable:
        pytest.skip(analysis.unavailable["state"])
    inspector.show_event(room.id("topic"))
    assert inspector.verdict.text() == "Allowed"
    changed = [r for r in inspector.state_table.model.rows if r.changed]
    assert [(r.key, r.before, r.after) for r in changed] == [
        (("m.room.topic", ""), None, room.id("topic"))
    ]
    keys = {r.key for r in inspector.state_table.model.rows}
    assert keys == {
        ("m.room.create", ""),
        ("m.room.member", ALICE),
        ("m.room.member", BOB),
        ("m.room.power_levels", ""),
        ("m.room.join_rules", ""),
        ("m.room.topic", ""),
    }


def test_state_table_filters_and_links(qtbot: QtBot) -> None:
    table = StateTable()
    qtbot.addWidget(table)
    table.resize(500, 300)
    table.show()
    before = {("m.room.create", ""): "$c", ("m.room.member", "@a:x"): "$j1"}
    after = {**before, ("m.room.member", "@b:y"): "$j2", ("m.room.topic", ""): "$t"}
    table.set_states(before, after)
    assert len(table.visible_rows()) == 4
    qtbot.keyClicks(table.filter_edit, "member")
    assert [r.key for r in table.visible_rows()] == [
        ("m.room.member", "@a:x"),
        ("m.room.member", "@b:y"),
    ]
    table.filter_edit.clear()
    qtbot.keyClicks(table.filter_edit, "$t")  # full event IDs match too
    assert [r.key for r in table.visible_rows()] == [("m.room.topic", "")]
    table.filter_edit.clear()
    table.changed_only.setChecked(True)
    assert {r.key for r in table.visible_rows()} == {
        ("m.room.member", "@b:y"),
        ("m.room.topic", ""),
    }
    table.changed_only.setChecked(False)
    # Clicking an event cell asks for that event.
    row = next(i for i, r in enumerate(table.visible_rows()) if r.key == ("m.room.topic", ""))
    index = table.proxy.index(row, 3)
    rect = table.view.visualRect(index)
    with qtbot.waitSignal(table.eventActivated) as got:
        qtbot.mouseClick(table.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert got.args == ["$t"]
    # A type or key column click does not.
    index = table.proxy.index(row, 0)
    with qtbot.assertNotEmitted(table.eventActivated):
        qtbot.mouseClick(
            table.view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=table.view.visualRect(index).center(),
        )


def test_room_text_is_never_rich_text(qtbot: QtBot, tmp_path: Path) -> None:
    """An event type and sender full of markup are shown as the characters they are."""
    import json

    from app.core.builder import build_event
    from app.core.versions import room_version

    v1 = room_version("1")
    evil = "<img src=x><b>bold</b>"
    create = build_event(
        v1,
        type="m.room.create",
        sender="@a:x",
        state_key="",
        content={"creator": "@a:x"},
        event_id="$c:x",
        room_id="!r:x",
    )
    msg = build_event(
        v1,
        type=evil,
        sender=f"@{evil}:x",
        content={"body": evil},
        prev_events=["$c:x"],
        auth_events=["$c:x"],
        event_id="$<a href=x>m</a>:x",
        room_id="!r:x",
        depth=2,
        known_events={"$c:x": create},
    )
    path = tmp_path / "evil.json"
    path.write_text(json.dumps([dict(create.raw), dict(msg.raw)]))
    doc = load_document(path, _ctx())
    widget = Inspector()
    qtbot.addWidget(widget)
    widget.show()
    widget.set_document(doc)
    widget.set_analysis(RoomAnalysis())
    widget.show_event(msg.event_id)
    assert widget.title.text() == evil
    assert widget.event_id_label.text() == "$<a href=x>m</a>:x"
    for label in widget.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()
    assert evil in widget.json_view.toPlainText()
    # The link to the create event is a list item carrying the ID as data.
    assert widget.prev_links.event_ids() == ["$c:x"]
    with qtbot.waitSignal(widget.eventActivated) as got:
        widget.prev_links.activate("$c:x")
    assert got.args == ["$c:x"]


def test_missing_event(inspector: Inspector, tmp_path: Path, qtbot: QtBot) -> None:
    inspector.show_event("$not-in-the-file")
    assert inspector.title.text() == "Missing event"
    assert inspector.verdict.text() == "Not in the file"
    assert inspector.json_view.toPlainText() == ""


@pytest.mark.parametrize(
    ("view", "kind", "headline"),
    [
        (AuthView(True), "allowed", "Allowed"),
        (
            AuthView(False, "rule 4.4.2 (invite)", "sender must be joined"),
            "rejected",
            "Rejected by rule 4.4.2 (invite)",
        ),
        (
            AuthView(True, "rule 9 (power)", "too weak", soft_failed=True),
            "soft_failed",
            "Soft-failed by rule 9 (power)",
        ),
    ],
)
def test_verdict_badges(
    inspector: Inspector,
    loaded: tuple[BuiltRoom, RoomDocument, RoomAnalysis],
    view: AuthView,
    kind: str,
    headline: str,
) -> None:
    room, _, _ = loaded
    event_id = room.id("alice_msg")
    inspector.set_analysis(RoomAnalysis(auth={event_id: view}))
    inspector.show_event(event_id)
    assert inspector.verdict.property("verdict") == kind
    assert inspector.verdict.text() == headline
    if view.reason:
        assert inspector.verdict_reason.text() == view.reason


def test_verification_words(
    inspector: Inspector, loaded: tuple[BuiltRoom, RoomDocument, RoomAnalysis]
) -> None:
    room, _, _ = loaded
    event_id = room.id("alice_msg")
    analysis = RoomAnalysis(
        verification={
            event_id: {"event_id": "ok", "content_hash": "mismatch", "signatures": "unknown_key"}
        },
        verification_reasons={event_id: ("content hash: the hash says X, the content gives Y",)},
    )
    inspector.set_analysis(analysis)
    inspector.show_event(event_id)
    values: dict[str, Any] = {k: v.text() for k, v in inspector._verify_values.items()}
    assert values == {
        "event_id": "✓ ok",
        "content_hash": "✗ mismatch",
        "signatures": "? unknown key",
    }
    assert "content hash" in inspector.verify_note.text()


def test_next_events_are_the_children(
    inspector: Inspector, loaded: tuple[BuiltRoom, RoomDocument, RoomAnalysis]
) -> None:
    room, _, _ = loaded
    inspector.show_event(room.id("bob_join"))  # the fork: both messages follow it
    assert set(inspector.child_links.event_ids()) == {room.id("alice_msg"), room.id("bob_msg")}
    assert inspector.child_heading.text() == "Next events (2)"
    inspector.show_event(room.id("topic"))  # the forward extremity
    assert inspector.child_links.event_ids() == []


@pytest.mark.parametrize("text", ["<img src=x>bold", "<b>b</b>\nline two", "a & b < c", "plain"])
def test_tooltips_show_room_text_verbatim(text: str) -> None:
    """Qt guesses rich text for tooltips; ours render as exactly the characters given."""
    from PySide6.QtGui import QTextDocument

    from app.ui.text import plain_tooltip

    doc = QTextDocument()
    doc.setHtml(plain_tooltip(text))
    assert doc.toPlainText() == text


def test_state_table_tooltips_are_escaped() -> None:
    table = StateTable()
    key = ("m.room.member", "@<b>evil</b>:x")
    table.set_states({key: "$<i>a</i>"}, {key: "$<i>a</i>"})
    model = table.model
    for col in range(4):
        tip = model.data(model.index(0, col), Qt.ItemDataRole.ToolTipRole)
        assert isinstance(tip, str)
        assert "<b>" not in tip and "<i>" not in tip
