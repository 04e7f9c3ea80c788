"""The Resolution panel in the window, driven as a person would (pytest-qt, offscreen).

The rooms are the bundled samples built from published scenarios (sample_rooms/,
whose ``annotations.labels`` name each event by its published node name):

* ``ban-vs-power-levels.json`` - Synapse's ``tests/state/test_v2.py`` "ban vs pl":
  at END the state keeps PA, MA and MB (Alice's ban beats Bob's power levels,
  which fail auth once the ban is applied);
* ``msc4297-problem-b-v12.json`` / ``-v11.json`` - ruma-state-res's MSC4297
  problem B fixture: the published resolved state keeps ``02-m-room-power_levels``
  under v2.1 and resets to ``00-m-room-power_levels`` under v2.0.

Every step is stepped through with the Next button or the keyboard and checked
against the trace record it shows (what the table lists, which events the
graph view highlights) and, at the end, against the published state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from pytestqt.qtbot import QtBot

from app.core.stateres.trace import (
    AuthCheckStep,
    EventSetStep,
    FinalStep,
    InputStep,
    MainlineStep,
    OrderingStep,
    SplitStep,
)
from app.core.stepping import key_text
from app.ui.mainwindow import MainWindow
from app.ui.resolution_panel import EVENT_ID_ROLE, FAIL, ResolutionPanel, _LongText
from tests.ui.windows import make_window

pytestmark = pytest.mark.timeout(180)

SAMPLES = Path(__file__).resolve().parents[2] / "sample_rooms"
RUMA_EXPECTED = (
    Path(__file__).resolve().parents[1] / "scenarios" / "data" / "ruma" / "expected.json"
)
PL = ("m.room.power_levels", "")


def open_window(qtbot: QtBot, tmp_path: Path, name: str) -> MainWindow:
    window = make_window(qtbot, tmp_path, samples_dir=tmp_path, size=(1400, 900))
    with qtbot.waitSignal(window.analysisReady, timeout=30_000):
        window.open_file(SAMPLES / name)
    window.wait_idle()
    return window


def labels(window: MainWindow) -> dict[str, str]:
    """Published node name -> event ID, from the sample's annotations."""
    assert window.document is not None
    found = window.document.room.annotations["labels"]
    return {name: eid for eid, name in found.items()}


def highlighted(window: MainWindow) -> set[str] | None:
    """The events the graph view shows unfaded (None: nothing is faded)."""
    lit = window.canvas.highlighted()
    return None if lit is None else set(lit)


def published_state(window: MainWindow, name: str) -> dict[tuple[str, str], str]:
    """A ruma-published resolved state, its events found by label in the sample room.

    The sample renames the users (``@alice:wonderland.example``), so each key is
    the labelled event's own (type, state_key).
    """
    n = labels(window)
    published = json.loads(RUMA_EXPECTED.read_text())[name]
    out = {}
    for _, _, event in published:
        pdu = window.document.graph.events[n[event.removeprefix("$")]]  # type: ignore[union-attr]
        assert pdu.state_key is not None
        out[(pdu.type, pdu.state_key)] = pdu.event_id
    return out


def about(record: object, conflicted: set[tuple[str, str]]) -> set[str]:
    """What a step about ``record`` should light up, read from the trace record itself."""
    if isinstance(record, InputStep):
        return {eid for s in record.state_sets for _, eid in s}
    if isinstance(record, SplitStep):
        return {eid for _, cands in record.conflicted for eid, _ in cands}
    if isinstance(record, EventSetStep):
        return set(record.event_ids)
    if isinstance(record, OrderingStep):
        return {e.event_id for e in record.entries}
    if isinstance(record, AuthCheckStep):
        return {record.event_id, *(eid for _, eid in record.auth_state)}
    if isinstance(record, MainlineStep):
        return set(record.mainline) or ({record.power_levels} if record.power_levels else set())
    if isinstance(record, FinalStep):
        return {eid for key, eid in record.state if key in conflicted}
    return set()


def rows(panel: ResolutionPanel, which: str = "content") -> list[tuple[str, ...]]:
    model = panel.content_model if which == "content" else panel.partial_model
    return list(model.rows)


def resolve_here(qtbot: QtBot, window: MainWindow, event_id: str) -> ResolutionPanel:
    controller = window.resolution
    window.select_event(event_id)
    assert window.act_resolve.isEnabled()
    with qtbot.waitSignal(controller.steppingReady, timeout=30_000):
        window.act_resolve.trigger()
    panel: ResolutionPanel = controller.panel
    assert controller.dock.isVisible()
    return panel


def walk(qtbot: QtBot, window: MainWindow, panel: ResolutionPanel) -> list[dict[str, Any]]:
    """Click Next through every step; at each, check it against its trace record."""
    stepping = panel.stepping
    assert stepping is not None
    conflicted = set(stepping.trace.conflicted_keys)
    seen: list[dict[str, Any]] = []
    assert panel.index == 0
    while True:
        step = stepping.steps[panel.index]
        record = step.record
        lit = highlighted(window)
        assert lit == about(record, conflicted) & set(window.document.graph.events)  # type: ignore[union-attr]
        assert panel.title.text().startswith(f"{step.phase}. ")
        assert panel.phase_buttons[step.phase].isChecked()
        table = rows(panel)
        if isinstance(record, AuthCheckStep):
            assert table[0][1] == record.event_id
            outcome = {"allowed": "passed", "rejected": "failed"}.get(record.outcome, "skipped")
            assert table[1][1].startswith(outcome)
            listed = {r[1] for r in table[2:] if r[0] != "Reason"}
            assert listed == {eid for _, eid in record.auth_state}
        elif isinstance(record, OrderingStep):
            assert [r[1] for r in table] == [e.event_id for e in record.entries]
            width = len(record.key_names)
            assert [r[3 : 3 + width] for r in table] == [
                tuple("creator" if k == 2**53 else str(k) for k in e.key) for e in record.entries
            ]
        elif isinstance(record, InputStep):
            assert panel.content_model.columnCount() == 1 + len(record.state_sets)
        elif isinstance(record, SplitStep):
            n_conflicted = sum(len(c) for _, c in record.conflicted)
            assert [r[1] for r in table].count("conflicted") == n_conflicted
            assert [r[1] for r in table].count("unconflicted") == len(record.unconflicted)
        elif isinstance(record, EventSetStep):
            assert [r[0] for r in table] == list(record.event_ids)
        elif isinstance(record, MainlineStep):
            assert [r[1] for r in table] == list(record.mainline)
        partial = {r[0]: r[1] for r in rows(panel, "partial")}
        expected_partial = stepping.partial_state(step.index)
        assert partial == {key_text(k): v for k, v in expected_partial.items()}
        seen.append({"step": step, "lit": lit, "partial": expected_partial})
        if not panel.next_button.isEnabled():
            break
        qtbot.mouseClick(panel.next_button, Qt.MouseButton.LeftButton)
    assert panel.index == len(stepping) - 1
    return seen


def test_ban_vs_power_levels_step_by_step(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, "ban-vs-power-levels.json")
    n = labels(window)
    panel = resolve_here(qtbot, window, n["END"])
    stepping = panel.stepping
    assert stepping is not None and stepping.algorithm == "v2"
    # The merge's prev events' states are resolved.
    assert set(window.resolution.inputs.at) == {n["MB"], n["PB"]}
    seen = walk(qtbot, window, panel)
    phases = [s["step"].phase for s in seen]
    assert phases[0] == 1 and phases[-1] == 10 and phases == sorted(phases)
    assert set(phases) == set(range(1, 11))

    # Published (Synapse "ban vs pl"): the ban is checked before Bob's power levels,
    # which fail auth; the state at END keeps PA, MA and MB.
    checks = [s["step"] for s in seen if s["step"].kind == "auth check"]
    focus = [c.focus for c in checks]
    assert focus.index(n["MB"]) < focus.index(n["PB"])
    pb = checks[focus.index(n["PB"])]
    assert pb.title.startswith("Failed") and not pb.record.allowed
    final = seen[-1]["partial"]
    assert final[PL] == n["PA"]
    assert final[("m.room.member", "@bob:builders.example")] == n["MB"]
    assert final[("m.room.member", "@alice:wonderland.example")] == n["MA"]
    assert seen[-1]["lit"] == {n["PA"], n["MA"], n["MB"]}
    result_rows = {r[0]: r[1] for r in rows(panel)}
    assert result_rows["m.room.power_levels"] == n["PA"]

    # The why-card of the power levels: undecided before Bob's check, then the sentence.
    card = panel._cards[PL]
    assert "PA" in card.decision.text() and "passed auth" in card.body.text()
    panel.go_to(pb.index - 1)
    assert card.decision.text() == "Undecided so far."
    panel.go_to(pb.index)
    assert "PA" in card.decision.text()
    assert "failed auth: rule" in card.body.text()
    assert card.property("current") is True


def test_keyboard_jump_and_play(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, "ban-vs-power-levels.json")
    n = labels(window)
    panel = resolve_here(qtbot, window, n["END"])
    stepping = panel.stepping
    assert stepping is not None
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_N)
    assert panel.index == 1
    qtbot.keyClick(panel, Qt.Key.Key_Right)
    assert panel.index == 2
    qtbot.keyClick(panel, Qt.Key.Key_P)
    qtbot.keyClick(panel, Qt.Key.Key_Left)
    assert panel.index == 0
    # N also steps from anywhere in the window (the Resolve menu's Next step).
    window.canvas_widget.setFocus()
    window.resolution.act_next.trigger()
    assert panel.index == 1
    # The step bar jumps to a phase's first step.
    qtbot.mouseClick(panel.phase_buttons[7], Qt.MouseButton.LeftButton)
    assert panel.step is not None and panel.step.phase == 7
    assert panel.index == stepping.first_step_of(7)
    qtbot.keyClick(panel, Qt.Key.Key_End)
    assert panel.index == len(stepping) - 1
    # Space plays from the start when at the end, and steps on its own.
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_Space)
    assert panel.playing and panel.index == 0
    qtbot.waitUntil(lambda: panel.index >= 2, timeout=5000)
    qtbot.keyClick(panel, Qt.Key.Key_Space)
    assert not panel.playing
    # Space is the stepper's own: on the graph it does not play.
    window.canvas_widget.setFocus()
    qtbot.keyClick(window.canvas_widget, Qt.Key.Key_Space)
    assert not panel.playing
    # Double-clicking an event in a table goes to it in the graph.
    panel.go_to(stepping.first_step_of(6) or 0)
    index = panel.content_model.index(0, 1)
    event_id = index.data(EVENT_ID_ROLE)
    with qtbot.waitSignal(panel.eventActivated) as got:
        panel._activated(index)
    assert got.args == [event_id]


def test_problem_b_v12_steps_and_compare(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, "msc4297-problem-b-v12.json")
    n = labels(window)
    v21 = published_state(window, "msc4297_problem_b_state_res_v2_1")
    v20 = published_state(window, "msc4297_problem_b_state_res_v2_0")
    controller = window.resolution
    # The file's published state sets (eve, zara).
    assert controller.act_resolve_sets.isEnabled()
    with qtbot.waitSignal(controller.steppingReady, timeout=30_000):
        controller.act_resolve_sets.trigger()
    panel = controller.panel
    stepping = panel.stepping
    assert stepping is not None and stepping.algorithm == "v2.1"
    assert stepping.set_names == ("eve", "zara")
    seen = walk(qtbot, window, panel)
    subgraph = [s for s in seen if s["step"].kind == "conflicted state subgraph"]
    assert len(subgraph) == 1
    # MSC4297: the power levels between the conflicted ones are replayed and lit.
    assert n["01-m-room-power_levels"] in subgraph[0]["lit"]
    panel.go_to(subgraph[0]["step"].index)
    from_column = {r[0]: r[1] for r in rows(panel)}
    # Neither conflicted nor in the auth difference: only v2.1 replays it.
    assert from_column[n["01-m-room-power_levels"]] == "only the subgraph (v2.1)"
    assert from_column[n["02-m-room-power_levels"]].startswith("conflicted")
    panel.go_to(len(stepping) - 1)
    assert panel.phase_buttons[4].isEnabled()
    assert seen[-1]["partial"] == v21
    # v2.1 starts from nothing: the partial state is empty until the first check passes.
    first_check = next(s for s in seen if s["step"].kind == "auth check")
    assert seen[first_check["step"].index - 1]["partial"] == {}

    # Compare mode: v2.0 resets the power levels, v2.1 keeps the newest.
    with qtbot.waitSignal(controller.dialogOpened, timeout=30_000) as opened:
        qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    dialog = opened.args[0]
    from app.ui.compare_view import CompareView

    view = dialog.findChild(CompareView)
    assert view is not None
    table = {r[0]: r for r in view.model.rows}
    headers = view.model.headers
    row = table["m.room.power_levels"]
    assert row[headers.index("v2")] == v20[PL]
    assert row[headers.index("v2.1 (this room's)")] == v21[PL]
    assert row[-1] == "differs"
    assert view.model.rows.index(row) in view.differing_rows()
    assert "m.room.power_levels" in view.summary.text()
    assert "conflicted state subgraph" in view.details.toPlainText()


def test_problem_b_v11_resolves_with_v20_and_resets(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, "msc4297-problem-b-v11.json")
    v20 = published_state(window, "msc4297_problem_b_state_res_v2_0")
    controller = window.resolution
    with qtbot.waitSignal(controller.steppingReady, timeout=30_000):
        controller.act_resolve_sets.trigger()
    panel = controller.panel
    assert panel.stepping is not None and panel.stepping.algorithm == "v2"
    assert not panel.phase_buttons[4].isEnabled() or all(
        s.kind != "conflicted state subgraph" for s in panel.stepping.steps
    )
    seen = walk(qtbot, window, panel)
    assert seen[-1]["partial"][PL] == v20[PL]


def test_what_if_diff_and_replay(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, "ban-vs-power-levels.json")
    n = labels(window)
    controller = window.resolution
    resolve_here(qtbot, window, n["END"])
    bob = "m.room.member @bob:builders.example"

    # What if Alice's ban never arrived: Bob stays joined at the merge.
    window.select_event(n["MB"])
    with qtbot.waitSignal(controller.dialogOpened, timeout=30_000) as opened:
        controller.act_whatif.trigger()
    from app.ui.whatif_view import WhatIfView

    whatif = opened.args[0].findChild(WhatIfView)
    assert whatif is not None and whatif.result.excluded == (n["MB"],)
    diff_rows = {r[0]: r for r in whatif.diff_view.model.rows}
    assert diff_rows[bob][1:3] == (n["MB"], n["IMB"])
    assert highlighted(window) == {n["MB"]}

    # Diff the states after MB and PB: the MB branch has MA and MB, the PB branch PB.
    window.canvas.select([n["MB"], n["PB"]])
    with qtbot.waitSignal(controller.dialogOpened, timeout=30_000) as opened:
        controller.act_diff.trigger()
    from app.ui.diff_view import DiffView

    diff = opened.args[0].findChild(DiffView)
    assert diff is not None
    alice = "m.room.member @alice:wonderland.example"
    assert {r[0] for r in diff.model.rows} == {bob, alice, "m.room.power_levels"}
    assert {r[0]: r[1:3] for r in diff.model.rows}[alice] == (n["MA"], n["IMA"])
    assert {r[0]: r[1:3] for r in diff.model.rows}["m.room.power_levels"] == (n["PA"], n["PB"])

    # Replay: forks and merges called out, the graph shows what has arrived so far.
    with qtbot.waitSignal(controller.dialogOpened, timeout=30_000) as opened:
        controller.act_replay.trigger()
    from app.ui.replay import ReplayView

    replay = opened.args[0].findChild(ReplayView)
    assert replay is not None
    order = list(window.document.graph.order)  # type: ignore[union-attr]
    replay.go_to(order.index(n["PB"]))
    assert "FORK" in replay.title.text()
    assert highlighted(window) == set(order[: order.index(n["PB"]) + 1])
    replay.go_to(order.index(n["END"]))
    assert "MERGE" in replay.title.text() and "Merge of 2 branches" in replay.note.text()
    state = {r[0]: r[1] for r in replay.model.rows}
    assert state["m.room.power_levels"] == n["PA"]  # published: the ban wins at END
    opened.args[0].close()


def test_the_panel_alone_without_a_resolution(qtbot: QtBot) -> None:
    panel = ResolutionPanel()
    qtbot.addWidget(panel)
    assert panel.stepping is None and panel.step is None
    assert not panel.next_button.isEnabled() and not panel.back_button.isEnabled()
    assert "Resolve here" in panel.explanation.text()
    assert not any(b.isEnabled() for b in panel.phase_buttons.values())
    panel.next()
    panel.back()
    panel.jump_to_phase(3)  # nothing happens, nothing breaks
    assert panel.index == 0


def test_opening_another_room_clears_the_panel(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, "ban-vs-power-levels.json")
    panel = resolve_here(qtbot, window, labels(window)["END"])
    assert panel.stepping is not None
    with qtbot.waitSignal(window.analysisReady, timeout=30_000):
        window.open_file(SAMPLES / "fork-and-merge.json")
    window.wait_idle()
    assert panel.stepping is None
    # At the forward extremities of the new room.
    with qtbot.waitSignal(window.resolution.steppingReady, timeout=30_000):
        window.resolution.act_resolve_ends.trigger()
    assert panel.stepping is not None
    assert window.resolution.inputs.at == tuple(window.document.graph.forward_extremities)  # type: ignore[union-attr]


def test_many_conflicted_keys_use_a_key_table_and_one_card(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past CARDS_AT_ONCE keys (hundreds, on big forks) the pane lists the keys."""
    import app.ui.resolution_panel as module

    monkeypatch.setattr(module, "CARDS_AT_ONCE", 1)
    window = open_window(qtbot, tmp_path, "ban-vs-power-levels.json")
    n = labels(window)
    panel = resolve_here(qtbot, window, n["END"])
    stepping = panel.stepping
    assert stepping is not None
    assert panel.keys_table.isVisible()
    assert [r[0] for r in panel.keys_model.rows] == [
        key_text(k) for k in stepping.conflicted_keys()
    ]
    assert {r[1] for r in panel.keys_model.rows} == {"undecided"}
    pb = next(s for s in stepping.steps if s.kind == "auth check" and s.focus == n["PB"])
    panel.go_to(pb.index)
    # The key being checked is marked and its card shown, decided by this check.
    assert list(panel._cards) == [PL]
    assert panel._cards[PL].current and "PA" in panel._cards[PL].decision.text()
    row = [r[0] for r in panel.keys_model.rows].index("m.room.power_levels")
    assert panel.keys_model.marks[row] is not None
    assert panel.keys_model.rows[row][1] == n["PA"]
    # That one card fills the pane (no scroll area of cards) and its candidate list
    # scrolls inside it: the same widget for every key, plain text.
    card = panel._cards[PL]
    assert card is panel.single_card and card.isVisible() and not panel.cards_area.isVisible()
    assert isinstance(card.body, _LongText) and "failed auth: rule" in card.body.text()
    assert card.body.toPlainText() == card.body.text()
    # The failed check's title is in the failure colour (its own palette, no style sheet).
    assert panel.title.palette().color(QPalette.ColorRole.WindowText) == FAIL
    # Clicking another key shows its card.
    panel._key_clicked(panel.keys_model.index(0, 0))
    assert list(panel._cards) == [stepping.conflicted_keys()[0]]
    assert panel._cards[stepping.conflicted_keys()[0]] is card
    assert card.title.text() == key_text(stepping.conflicted_keys()[0])
    # A row picked in the step's table is let go at the next step (the table is refilled
    # in place, not reset).
    panel.content.selectRow(0)
    assert panel.content.selectionModel().hasSelection()
    panel.go_to(pb.index + 1)
    assert not panel.content.selectionModel().hasSelection()
    panel.go_to(len(stepping) - 1)
    assert "undecided" not in {r[1] for r in panel.keys_model.rows}
    assert panel.title.palette().color(QPalette.ColorRole.WindowText) != FAIL
    # A new resolution re-aims the same card (kept, not deleted) from its first step.
    panel.set_stepping(stepping)
    assert panel._cards[stepping.conflicted_keys()[0]] is card and not card.isHidden()
    assert card.decision.text() == "Undecided so far."
    assert "not checked yet" in card.body.text()
    monkeypatch.setattr(module, "CARDS_AT_ONCE", 24)
    panel.set_stepping(stepping)
    assert card.isHidden() and not panel.cards_area.isHidden()
    assert panel._cards[PL] is not card and "not checked yet" in panel._cards[PL].body.text()


def test_rows_model_refills_in_place(qtbot: QtBot) -> None:
    """The next step of the same kind changes rows in place: no reset, only what changed."""
    from PySide6.QtWidgets import QTableView

    from app.ui.resolution_panel import MARK, RowsModel

    model = RowsModel()
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    seen: list[tuple[Any, ...]] = []
    model.modelReset.connect(lambda: seen.append(("reset",)))
    model.rowsInserted.connect(lambda _p, a, b: seen.append(("inserted", a, b)))
    model.rowsRemoved.connect(lambda _p, a, b: seen.append(("removed", a, b)))
    model.dataChanged.connect(lambda a, b, _r: seen.append(("changed", a.row(), b.row())))

    def shown() -> list[list[object]]:
        return [
            [model.index(r, c).data() for c in range(model.columnCount())]
            for r in range(model.rowCount())
        ]

    assert model.fill(("Key", "Value"), [("a", "1"), ("b", "2")]) is True
    assert seen == [("reset",)]
    seen.clear()
    assert model.fill(("Key", "Value"), [("a", "1"), ("b", "2"), ("c", "3")]) is False
    assert seen == [("inserted", 2, 2)]
    assert shown() == [["a", "1"], ["b", "2"], ["c", "3"]]
    seen.clear()
    model.fill(("Key", "Value"), [("a", "1"), ("b", "9"), ("c", "3")])
    assert seen == [("changed", 1, 1)]
    assert shown()[1] == ["b", "9"]
    seen.clear()
    model.fill(("Key", "Value"), [("a", "1"), ("b", "9"), ("c", "3")], marks=[None, None, MARK])
    assert seen == [("changed", 2, 2)]
    assert model.index(2, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert model.index(1, 0).data(Qt.ItemDataRole.BackgroundRole) is None
    seen.clear()
    model.fill(("Key", "Value"), [("z", "0")])
    assert seen[0] == ("removed", 1, 2) and ("changed", 0, 0) in seen
    assert (
        shown() == [["z", "0"]] and model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole) is None
    )
    seen.clear()
    assert model.fill(("Other",), [("x",)]) is True
    assert seen == [("reset",)] and shown() == [["x"]]
    view.viewport().repaint()  # the view follows every kind of change without complaint


def test_long_text_is_plain_and_keeps_its_text(qtbot: QtBot) -> None:
    """The scrolling why-card body shows text as given, never as rich text."""
    body = _LongText()
    qtbot.addWidget(body)
    text = "<b>not bold</b> & $event:server\n• second line"
    body.setText(text)
    assert body.text() == text and body.toPlainText() == text
    assert body.isReadOnly()


def test_wrapped_label_heights_follow_text_and_width(qtbot: QtBot) -> None:
    """The why-card's labels remember heights per width, but never a stale one."""
    from PySide6.QtWidgets import QLabel

    from app.ui.resolution_panel import _WrappedLabel

    cached, plain = _WrappedLabel(), QLabel()
    qtbot.addWidget(cached)
    qtbot.addWidget(plain)
    for label in (cached, plain):
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
    short = "one line"
    long = "\n".join(
        f"• candidate {i}: passed auth, and a few more words to wrap" for i in range(40)
    )
    for text in (short, long, short):
        cached.setText(text)
        plain.setText(text)
        for width in (120, 300, 120):
            assert cached.heightForWidth(width) == plain.heightForWidth(width)
    font = cached.font()
    font.setPointSizeF(font.pointSizeF() * 2)
    cached.setFont(font)
    plain.setFont(font)
    assert cached.heightForWidth(300) == plain.heightForWidth(300)


def test_stepping_keeps_the_columns_where_they_are(qtbot: QtBot, tmp_path: Path) -> None:
    """A step's longer title or partial-state heading does not re-share the panel's width
    (which moved and repainted every table once the step was shown)."""
    window = open_window(qtbot, tmp_path, "ban-vs-power-levels.json")
    window.resize(1000, 900)
    panel = resolve_here(qtbot, window, labels(window)["END"])
    stepping = panel.stepping
    assert stepping is not None
    qtbot.wait(50)
    sizes = panel.splitter.sizes()
    for i in range(len(stepping)):
        panel.go_to(i)
        qtbot.wait(1)
        assert panel.splitter.sizes() == sizes, stepping.steps[i].title


def test_columns_keep_their_shares_until_the_user_moves_them(qtbot: QtBot, tmp_path: Path) -> None:
    """The dock may get its width after the first resolution: the columns follow it
    (45/25/30 %) until the user drags a splitter handle; then theirs stay."""
    window = open_window(qtbot, tmp_path, "ban-vs-power-levels.json")
    panel = resolve_here(qtbot, window, labels(window)["END"])
    qtbot.wait(20)
    window.resize(1500, 900)
    qtbot.wait(50)
    sizes = panel.splitter.sizes()
    panel._fit_splitter()  # what sharing the new width out afresh gives
    assert panel.splitter.sizes() == sizes
    panel.splitter.setSizes([sum(sizes) - 400, 200, 200])
    panel.splitter.splitterMoved.emit(sum(sizes) - 400, 1)
    chosen = panel.splitter.sizes()
    window.resize(1400, 900)
    qtbot.wait(50)
    assert panel.splitter.sizes()[1:] == chosen[1:]
