"""The Servers dock (issue 8): per-server views of rooms recorded from real federation.

pytest-qt, offscreen, each window on its own QSettings file under tmp_path. The
expected values are read straight from the recordings' JSON (what each Synapse
server reported: sample_rooms/README.md, "Recorded from real federation"), never
from app.core.servers or the panel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from app.ui.mainwindow import MainWindow
from app.ui.servers_view import NO_SERVERS_TEXT, ServersController
from tests.ui.ui_rooms import write_fork_room
from tests.ui.windows import make_window

pytestmark = pytest.mark.timeout(120)

SAMPLES = Path(__file__).resolve().parents[2] / "sample_rooms"


def open_window(qtbot: QtBot, tmp_path: Path, path: Path) -> MainWindow:
    window = make_window(qtbot, tmp_path, samples_dir=tmp_path, size=(1400, 900))
    with qtbot.waitSignal(window.roomOpened, timeout=30_000):
        window.open_file(path)
    window.wait_idle()
    return window


def servers_of(window: MainWindow) -> ServersController:
    controller = window.servers
    assert isinstance(controller, ServersController)
    return controller


def show_dock(qtbot: QtBot, window: MainWindow) -> ServersController:
    controller = servers_of(window)
    controller.action.trigger()  # View > Panels > Servers
    qtbot.waitUntil(controller.dock.isVisible, timeout=5_000)
    return controller


def highlighted(window: MainWindow) -> set[str] | None:
    """The events the graph view shows unfaded (None: nothing is faded)."""
    lit = window.canvas.highlighted()
    return None if lit is None else set(lit)


def recording(name: str) -> dict[str, Any]:
    """The file's ``annotations.servers``, keyed by label (hs1, hs2, ...)."""
    data = json.loads((SAMPLES / name).read_text())
    return {entry["label"]: entry for entry in data["annotations"]["servers"].values()}


def recorded_events(entry: dict[str, Any], when: str) -> set[str]:
    (snap,) = [s for s in entry["snapshots"] if s["when"] == when]
    return set(snap["events"])


def recorded_state(entry: dict[str, Any], when: str) -> dict[tuple[str, str], str]:
    (snap,) = [s for s in entry["snapshots"] if s["when"] == when]
    return {(t, k): e for t, k, e in snap["state"]}


def test_one_server_fades_what_it_did_not_have(qtbot: QtBot, tmp_path: Path) -> None:
    name = "fed-three-servers-v12.json"
    window = open_window(qtbot, tmp_path, SAMPLES / name)
    controller = show_dock(qtbot, window)
    panel = controller.panel
    rec = recording(name)
    assert panel.stack.currentIndex() == 1  # the per-server page, not the explanation
    assert panel.table.columnCount() == 3  # a column per server
    for label in ("hs1", "hs2", "hs3"):
        for when in ("round 1 partition", "round 1 healed", "round 2 partition"):
            panel.choose(label, when)
            had = recorded_events(rec[label], when)
            assert highlighted(window) == had, (label, when)
    # The recording really split them: hs3 lacked events in round 1 that hs1 had.
    panel.choose("hs3", "round 1 partition")
    assert window.document is not None
    assert len(highlighted(window) or ()) < len(window.document.graph.events)
    # The state table's first column is the state hs3 reported then.
    reported = {row.key: row.before for row in panel.state_model.rows if row.before}
    assert reported == recorded_state(rec["hs3"], "round 1 partition")
    assert "hs3" in panel.state_model.headerData(2, Qt.Orientation.Horizontal)
    # Its rows link to events: clicking hs3's topic selects that event in the graph.
    view = panel.state.view
    proxy = panel.state.proxy
    row = next(r for r in range(proxy.rowCount()) if proxy.index(r, 0).data() == "m.room.topic")
    index = proxy.index(row, 2)
    rect = view.visualRect(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    topic = recorded_state(rec["hs3"], "round 1 partition")[("m.room.topic", "")]
    assert window.canvas.selected()[-1] == topic


def test_clicking_a_count_picks_that_server_and_moment(qtbot: QtBot, tmp_path: Path) -> None:
    name = "fed-concurrent-topic-name-v12.json"
    window = open_window(qtbot, tmp_path, SAMPLES / name)
    panel = show_dock(qtbot, window).panel
    rec = recording(name)
    table = panel.table
    servers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    moments = [table.verticalHeaderItem(r).text() for r in range(table.rowCount())]
    col, row = servers.index("hs2"), moments.index("during the partition")
    rect = table.visualItemRect(table.item(row, col))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.first_view() is not None and panel.first_view().label == "hs2"  # type: ignore[union-attr]
    assert highlighted(window) == recorded_events(rec["hs2"], "during the partition")
    # The cell says how many it had, of how many.
    assert window.document is not None
    had, total = len(rec["hs2"]["snapshots"][0]["events"]), len(window.document.graph.events)
    assert table.item(row, col).text() == f"{had} / {total}"
    # The rows below the moments: what its users sent, per the recording.
    assert table.item(moments.index("sent by its users"), col).text() == str(
        len(rec["hs2"]["sent"])
    )


def test_compare_two_servers(qtbot: QtBot, tmp_path: Path) -> None:
    name = "fed-concurrent-topic-name-v12.json"
    window = open_window(qtbot, tmp_path, SAMPLES / name)
    panel = show_dock(qtbot, window).panel
    rec = recording(name)
    when = "during the partition"
    panel.compare("hs1", "hs2", when)
    a, b = recorded_events(rec["hs1"], when), recorded_events(rec["hs2"], when)
    assert a - b and b - a  # a real fork: each lacked something the other had
    assert highlighted(window) == a ^ b
    sa, sb = recorded_state(rec["hs1"], when), recorded_state(rec["hs2"], when)
    differs = {k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k)}
    # The scenario: each side changed the topic and the name while cut off.
    assert differs == {("m.room.topic", ""), ("m.room.name", "")}
    shown = {row.key for row in panel.state_model.rows if row.changed}
    assert shown == differs
    for row in panel.state_model.rows:
        assert (row.before, row.after) == (sa.get(row.key), sb.get(row.key))
    assert panel.comparison is not None
    assert panel.comparison.state_differs == differs
    # The tree lists each side's events; clicking one selects it in the graph.
    groups = {
        panel.tree.topLevelItem(i).text(0): panel.tree.topLevelItem(i)
        for i in range(panel.tree.topLevelItemCount())
    }
    only_hs1 = groups[f"Only on hs1 ({len(a - b)})"]
    listed = {only_hs1.child(i).data(0, Qt.ItemDataRole.UserRole + 1) for i in range(len(a - b))}
    assert listed == a - b
    child = only_hs1.child(0)
    panel.tree.scrollToItem(child)
    rect = panel.tree.visualItemRect(child)
    qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.canvas.selected()[-1] == child.data(0, Qt.ItemDataRole.UserRole + 1)
    # After healing they agree: same events stored, same state.
    panel.compare("hs1", "hs2", "after healing")
    assert panel.comparison is not None and not panel.comparison.state_differs
    assert highlighted(window) is None


def test_after_healing_and_an_offline_server(qtbot: QtBot, tmp_path: Path) -> None:
    name = "fed-creator-offline-v12.json"
    window = open_window(qtbot, tmp_path, SAMPLES / name)
    panel = show_dock(qtbot, window).panel
    rec = recording(name)
    # hs1 left for good: it never reported a healed state, so that moment is not offered.
    panel.choose("hs1", "before hs1 goes offline")
    moments = [panel.moment_combo.itemText(i) for i in range(panel.moment_combo.count())]
    assert moments == ["before hs1 goes offline"]
    assert highlighted(window) == recorded_events(rec["hs1"], "before hs1 goes offline")
    # After healing, hs3 holds what its database stored.
    panel.choose("hs3", "after healing")
    assert highlighted(window) == {e for e, _ in rec["hs3"]["received"]}
    healed = {(t, k): e for t, k, e in rec["hs3"]["after_healing"]["state"]}
    assert {row.key: row.before for row in panel.state_model.rows} == healed
    # hs1 and hs3 were never snapshotted at the same moment: nothing to compare.
    panel.compare_button.setChecked(True)
    panel._set_combo(panel.first_combo, "hs1")
    panel._set_combo(panel.second_combo, "hs3")
    assert panel.moment_combo.count() == 0
    assert panel.comparison is None and highlighted(window) is None


def test_hiding_the_dock_gives_the_graph_back(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, SAMPLES / "fed-demotion-wins-v10.json")
    controller = show_dock(qtbot, window)
    controller.panel.choose("hs1", "during the partition")
    assert highlighted(window) is not None
    controller.action.trigger()
    qtbot.waitUntil(lambda: not controller.dock.isVisible(), timeout=5_000)
    assert highlighted(window) is None


def test_view_menu_item_and_shortcut(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, SAMPLES / "fed-join-rules-race-v12.json")
    controller = servers_of(window)
    assert not controller.dock.isVisible()  # first run: shown on request
    assert controller.action in window.view_docks_menu.actions()
    assert controller.action.shortcut() == QKeySequence("Ctrl+Shift+S")
    window.activateWindow()
    qtbot.keyClick(
        window,
        Qt.Key.Key_S,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(controller.dock.isVisible, timeout=5_000)
    # Shown, it lights the graph for its current choice (the first server's first moment).
    rec = recording("fed-join-rules-race-v12.json")
    assert highlighted(window) == recorded_events(rec["hs1"], "during the partition")


def test_room_without_per_server_data_explains(qtbot: QtBot, tmp_path: Path) -> None:
    built = write_fork_room(tmp_path)
    window = open_window(qtbot, tmp_path, built.path)
    panel = show_dock(qtbot, window).panel
    assert panel.stack.currentIndex() == 0
    assert panel.none_label.text() == NO_SERVERS_TEXT
    assert panel.none_label.textFormat() == Qt.TextFormat.PlainText
    assert highlighted(window) is None


class FakeCanvas:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def highlight(self, ids: Any, *, fade_others: bool = True, owner: str = "view") -> None:
        self.calls.append(None if ids is None else set(ids))


def test_server_names_are_plain_text_and_compare_needs_a_shared_moment(qtbot: QtBot) -> None:
    from app.ui.servers_view import ServersPanel

    canvas = FakeCanvas()
    panel = ServersPanel(canvas)
    qtbot.addWidget(panel)
    evil = "<img src=x><b>hs1</b>"
    annotations = {
        "servers": {
            "a.example": {
                "label": evil,
                "snapshots": [{"when": "cut off", "events": ["$a", "$c"], "state": []}],
            },
            "b.example": {
                "label": "hs2",
                "snapshots": [{"when": "later", "events": ["$b", "$c"], "state": []}],
            },
        }
    }
    panel.set_room(annotations, ["$c", "$a", "$b"])
    assert panel.first_combo.itemText(0) == evil
    assert panel.table.horizontalHeaderItem(0).text() == evil
    assert canvas.calls[-1] == {"$a", "$c"}  # the first server at its first moment
    panel.choose("hs2", "later")
    assert canvas.calls[-1] == {"$b", "$c"}
    lacked = panel.tree.topLevelItem(0)
    assert lacked.text(0) == "Not yet on hs2 (1)"
    assert lacked.child(0).data(0, Qt.ItemDataRole.UserRole + 1) == "$a"
    # No moment both were snapshotted at: nothing compared, the graph given back.
    panel.compare_button.setChecked(True)
    assert panel.moment_combo.count() == 0 and panel.comparison is None
    assert canvas.calls[-1] is None
    # A room without per-server data: the explanation, and nothing faded.
    panel.set_room({"title": "plain"}, ["$c"])
    assert panel.stack.currentIndex() == 0 and not panel.has_servers


def test_hiding_the_dock_leaves_the_steppers_fading(qtbot: QtBot, tmp_path: Path) -> None:
    """The graph's highlight has owners: the servers dock takes back only its own."""
    window = open_window(qtbot, tmp_path, SAMPLES / "fed-demotion-wins-v10.json")
    assert window.document is not None
    graph = window.document.graph
    merge = next(e for e in reversed(graph.order) if len(graph.events[e].prev_events) > 1)
    stepper = window.resolution
    window.select_event(merge)
    with qtbot.waitSignal(stepper.steppingReady, timeout=30_000):
        window.act_resolve.trigger()
    stepper.panel.next()
    lit_by_stepper = stepper.panel.highlighted
    assert lit_by_stepper is not None
    assert highlighted(window) == set(lit_by_stepper) & set(graph.events)
    controller = show_dock(qtbot, window)
    controller.panel.choose("hs1", "during the partition")
    assert highlighted(window) == recorded_events(
        recording("fed-demotion-wins-v10.json")["hs1"], "during the partition"
    )
    controller.action.trigger()
    qtbot.waitUntil(lambda: not controller.dock.isVisible(), timeout=5_000)
    assert highlighted(window) == set(lit_by_stepper) & set(graph.events)
