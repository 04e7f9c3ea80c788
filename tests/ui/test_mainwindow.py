"""The main window, driven as a person would (pytest-qt, offscreen).

Every test gives the window its own QSettings file under tmp_path, so the
user's settings are never read or written. Expected values come from how the
test room was built (tests/ui/ui_rooms.py), not from the window's own output.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QGraphicsView, QMessageBox
from pytestqt.qtbot import QtBot

from app.ui.mainwindow import MainWindow
from tests.ui.ui_rooms import ALICE, BOB, ROOM_ID, BuiltRoom, write_fork_room
from tests.ui.windows import make_window

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def room(tmp_path: Path) -> BuiltRoom:
    samples = tmp_path / "samples"
    samples.mkdir()
    return write_fork_room(samples)


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, room: BuiltRoom) -> MainWindow:
    return make_window(qtbot, tmp_path, samples_dir=tmp_path / "samples")


def open_and_wait(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.roomOpened, timeout=20_000):
        window.open_file(path)
    with qtbot.waitSignal(window.analysisReady, timeout=20_000, raising=False):
        pass
    window.wait_idle()


@pytest.fixture
def opened(qtbot: QtBot, window: MainWindow, room: BuiltRoom) -> MainWindow:
    open_and_wait(qtbot, window, room.path)
    return window


def test_open_sample_from_rooms_panel(qtbot: QtBot, window: MainWindow, room: BuiltRoom) -> None:
    samples = window.rooms.sample_list
    assert samples.count() == 1
    assert samples.item(0).text() == "A fork and a merge"  # the file's annotations.title
    rect = samples.visualItemRect(samples.item(0))
    with qtbot.waitSignal(window.roomOpened, timeout=20_000):
        qtbot.mouseClick(samples.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    window.wait_idle()
    labels = {k: v.text() for k, v in window.status_labels.items()}
    assert labels["room"] == ROOM_ID
    assert labels["version"] == "v10"
    assert labels["events"].startswith("10 events")
    assert labels["forks"] == "1 fork"  # bob_join has two children
    assert labels["missing"] == "0 missing"
    assert labels["servers"] == "2 servers"
    assert "A fork and a merge" in window.windowTitle()
    assert window.rooms.lesson.title.text() == "A fork and a merge"
    # The newest event is selected and inspected.
    assert window.inspector.event_id == room.id("topic")


def test_select_by_keyboard(qtbot: QtBot, opened: MainWindow, room: BuiltRoom) -> None:
    w = opened
    w.activateWindow()
    w.canvas_widget.setFocus()
    qtbot.waitUntil(w.canvas_widget.hasFocus)

    def press(key: Qt.Key) -> str | None:
        qtbot.keyClick(w.canvas_widget, key)
        return w.inspector.event_id

    assert press(Qt.Key.Key_Home) == room.id("create")
    assert press(Qt.Key.Key_Down) == room.id("alice_join")
    assert press(Qt.Key.Key_Down) == room.id("power")
    assert press(Qt.Key.Key_Up) == room.id("alice_join")
    assert press(Qt.Key.Key_BracketRight) == room.id("bob_join")  # the fork
    assert press(Qt.Key.Key_BraceRight) == room.id("merge")  # the merge
    assert press(Qt.Key.Key_End) == room.id("topic")  # the only extremity
    assert list(w.canvas.selected()) == [room.id("topic")]


def test_every_key_of_moving_around(qtbot: QtBot, opened: MainWindow, room: BuiltRoom) -> None:
    """UI.md "Moving around": Left/Right across lanes, [ { back to forks and merges, /."""
    w = opened
    w.activateWindow()
    w.canvas_widget.setFocus()
    qtbot.waitUntil(w.canvas_widget.hasFocus)

    def press(key: Qt.Key) -> str | None:
        qtbot.keyClick(w.canvas_widget, key)
        return w.inspector.event_id

    def type_(text: str) -> str | None:
        qtbot.keyClicks(w.canvas_widget, text)
        return w.inspector.event_id

    w.select_event(room.id("alice_msg"))
    w.canvas_widget.setFocus()
    across = {press(Qt.Key.Key_Right), press(Qt.Key.Key_Left)}
    assert across == {room.id("alice_msg"), room.id("bob_msg")}  # the two branches
    assert press(Qt.Key.Key_End) == room.id("topic")
    assert type_("{") == room.id("merge")
    assert type_("[") == room.id("bob_join")
    type_("/")
    qtbot.waitUntil(w.search.hasFocus)


def test_stepping_keys_are_in_the_resolve_menu(opened: MainWindow) -> None:
    menus = {a.text().replace("&", ""): a.menu() for a in opened.menuBar().actions()}
    shortcuts = {
        a.text().replace("&", ""): a.shortcut().toString() for a in menus["Resolve"].actions()
    }
    assert shortcuts["Next step"] == "N"
    assert shortcuts["Previous step"] == "P"
    assert shortcuts["Play / pause"] == "Space"


def test_go_menu_moves_like_the_keys(opened: MainWindow, room: BuiltRoom) -> None:
    w = opened
    w.go_actions["home"].trigger()
    assert w.inspector.event_id == room.id("create")
    w.go_actions["child"].trigger()
    assert w.inspector.event_id == room.id("alice_join")
    w.go_actions["next_merge"].trigger()
    assert w.inspector.event_id == room.id("merge")
    w.go_actions["parent"].trigger()
    assert w.inspector.event_id in (room.id("alice_msg"), room.id("bob_msg"))
    w.go_actions["end"].trigger()
    assert w.inspector.event_id == room.id("topic")


def test_select_by_clicking_the_graph(qtbot: QtBot, opened: MainWindow, room: BuiltRoom) -> None:
    w = opened
    canvas: Any = w.canvas_widget
    if not hasattr(canvas, "node_position"):
        pytest.skip("the graph view is a placeholder in this build")
    canvas.zoom_to_fit()
    QApplication.processEvents()
    target = room.id("bob_msg")
    pos = canvas.node_position(target)  # in the canvas widget's coordinates
    viewport = canvas.findChild(QGraphicsView).viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=viewport.mapFrom(canvas, pos))
    qtbot.waitUntil(lambda: w.inspector.event_id == target, timeout=5000)
    assert list(canvas.selected()) == [target]
    assert w.inspector.json_view.toPlainText().count("hi from Bob") == 1


def test_select_by_clicking_a_link(qtbot: QtBot, opened: MainWindow, room: BuiltRoom) -> None:
    w = opened
    w.select_event(room.id("merge"))
    links = w.inspector.prev_links
    assert links.event_ids() == [room.id("alice_msg"), room.id("bob_msg")]
    item = links.item(1)
    w.inspector.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: links.isVisible())
    rect = links.visualItemRect(item)
    qtbot.mouseClick(links.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert w.inspector.event_id == room.id("bob_msg")
    assert list(w.canvas.selected()) == [room.id("bob_msg")]


def test_inspector_reads_the_event(opened: MainWindow, room: BuiltRoom) -> None:
    w = opened
    w.select_event(room.id("alice_msg"))
    insp = w.inspector
    assert insp.title.text() == "m.room.message"
    assert insp.event_id_label.text() == room.id("alice_msg")
    assert insp._fact_values["sender"].text() == ALICE
    assert insp._fact_values["server"].text() == "a.example"
    text = insp.json_view.toPlainText()
    # The body is shown verbatim: markup in room content is text, not formatting.
    assert '"body": "<b>hello</b> from Alice"' in text
    assert insp.title.textFormat() == Qt.TextFormat.PlainText
    assert insp.auth_links.event_ids() == [
        room.id("create"),
        room.id("alice_join"),
        room.id("power"),
    ]
    # Verification (every event was signed by its server, whose key the file carries).
    if w.analysis is not None and w.analysis.verification:
        assert insp._verify_values["content_hash"].text().endswith("ok")
        assert insp._verify_values["signatures"].text().endswith("ok")


def test_search(qtbot: QtBot, opened: MainWindow, room: BuiltRoom) -> None:
    w = opened
    w.canvas_widget.setFocus()
    qtbot.keyClick(w.canvas_widget, Qt.Key.Key_Slash)
    assert w.search.hasFocus()
    qtbot.keyClicks(w.search, BOB)
    qtbot.keyClick(w.search, Qt.Key.Key_Return)
    bobs = [room.id(n) for n in ("bob_join", "bob_msg", "bob_power")]
    first = w.inspector.event_id
    assert first in bobs
    qtbot.keyClick(w.search, Qt.Key.Key_Return)
    second = w.inspector.event_id
    assert second in bobs and second != first
    w.search.clear()
    qtbot.keyClicks(w.search, "m.room.topic")
    qtbot.keyClick(w.search, Qt.Key.Key_Return)
    assert w.inspector.event_id == room.id("topic")


def test_toggle_auth_edges(
    qtbot: QtBot, opened: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    w = opened
    calls: list[bool] = []
    monkeypatch.setattr(w.canvas_widget, "set_show_auth_edges", calls.append)
    assert not w.act_auth_edges.isChecked()  # off by default (UI.md)
    w.act_auth_edges.trigger()
    assert calls == [True]
    w.act_auth_edges.trigger()
    assert calls == [True, False]
    w.set_show_auth_edges(True)
    assert w.act_auth_edges.isChecked() and calls[-1] is True
    w.save_window_state()
    again = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert again.value("view/auth_edges") in (True, "true")


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every QMessageBox shown: (text, its text format); the dialog does not block."""
    shown: list[tuple[str, Any]] = []

    def fake_exec(box: QMessageBox) -> int:
        shown.append((box.text(), box.textFormat()))
        return int(QMessageBox.StandardButton.Ok.value)

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    return shown


@pytest.mark.parametrize(
    "content",
    [b'{"events": [', b"\xff\xfe not text", b'[{"type": 3}]', b"<b>not</b> a room"],
    ids=["truncated", "binary", "bad-event", "html"],
)
def test_broken_file_keeps_the_open_room(
    qtbot: QtBot,
    opened: MainWindow,
    room: BuiltRoom,
    tmp_path: Path,
    dialogs: list[tuple[str, Any]],
    content: bytes,
) -> None:
    w = opened
    w.select_event(room.id("merge"))
    before = w.document
    bad = tmp_path / "broken <b>room.json"
    bad.write_bytes(content)
    with qtbot.waitSignal(w.openFailed, timeout=20_000) as failed:
        w.open_file(bad)
    message = failed.args[0]
    assert len(dialogs) == 1
    text, fmt = dialogs[0]
    assert text == message
    assert "\n" not in text and text
    assert fmt == Qt.TextFormat.PlainText
    # Nothing lost: same room, same selection, same status.
    assert w.document is before
    assert w.inspector.event_id == room.id("merge")
    assert w.status_labels["room"].text() == ROOM_ID
    assert Path(w.recent_files()[0]) == room.path.resolve()


def test_missing_file_is_an_error(
    qtbot: QtBot, opened: MainWindow, tmp_path: Path, dialogs: list[tuple[str, Any]]
) -> None:
    before = opened.document
    with qtbot.waitSignal(opened.openFailed, timeout=20_000):
        opened.open_file(tmp_path / "nope.json")
    assert "nope.json" in dialogs[0][0]
    assert opened.document is before


def test_export_png(opened: MainWindow, tmp_path: Path) -> None:
    out = tmp_path / "graph.png"
    assert opened.export_image(out)
    image = QImage(str(out))
    assert not image.isNull()
    assert image.width() > 50 and image.height() > 50


def test_window_state_saved_and_restored(qtbot: QtBot, tmp_path: Path, room: BuiltRoom) -> None:
    first = make_window(qtbot, tmp_path, samples_dir=tmp_path / "samples")
    first.resize(720, 530)  # within the offscreen screen, which restoreGeometry clamps to
    size = (first.width(), first.height())  # what the window allowed (minimum sizes apply)
    assert size[0] == 720
    first.inspector_dock.hide()
    first.set_theme("dark")
    open_and_wait(qtbot, first, room.path)
    first.close()

    stored = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert stored.value("window/geometry") is not None

    second = make_window(qtbot, tmp_path, samples_dir=tmp_path / "samples")
    assert (second.width(), second.height()) == size
    assert not second.inspector_dock.isVisible()
    assert second.rooms_dock.isVisible()
    assert second.theme == "dark" and second.act_theme_dark.isChecked()
    assert second.recent_files() == [room.path.resolve()]
    assert second.rooms.recent_list.item(0).text() == room.path.name


def test_drop_a_file_opens_it(
    qtbot: QtBot, window: MainWindow, room: BuiltRoom, tmp_path: Path
) -> None:
    copy = tmp_path / "dropped.json"
    shutil.copy(room.path, copy)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(copy))])
    event = QDropEvent(
        QPointF(QPoint(100, 100)),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.roomOpened, timeout=20_000) as opened:
        window.dropEvent(event)
    assert opened.args[0].path == copy
    window.wait_idle()


def test_lesson_moves_the_graph(qtbot: QtBot, opened: MainWindow, room: BuiltRoom) -> None:
    lesson = opened.rooms.lesson
    assert len(lesson.notes) == 3
    qtbot.mouseClick(lesson.next_button, Qt.MouseButton.LeftButton)
    assert list(opened.canvas.selected()) == [room.id("create")]
    assert lesson.note.text() == "The room begins with its create event."
    qtbot.mouseClick(lesson.next_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(lesson.next_button, Qt.MouseButton.LeftButton)
    assert opened.inspector.event_id == room.id("merge")
    assert not lesson.next_button.isEnabled()
    qtbot.mouseClick(lesson.back_button, Qt.MouseButton.LeftButton)
    assert opened.inspector.event_id == room.id("alice_msg")


def test_every_go_action_is_in_a_menu_with_its_shortcut(opened: MainWindow) -> None:
    menus = {a.text().replace("&", ""): a.menu() for a in opened.menuBar().actions()}
    assert set(menus) >= {"File", "View", "Go", "Help"}
    go_actions = menus["Go"].actions()
    for act in opened.go_actions.values():
        assert act in go_actions
        assert not act.shortcut().isEmpty()
    shortcuts = dict(opened.shortcut_rows())
    assert shortcuts["Create event"] == "Home"
    assert shortcuts["Search"] == "/"


def test_auth_verdicts_reach_the_status_bar_and_inspector(
    opened: MainWindow, room: BuiltRoom
) -> None:
    """Bob (power 0) cannot send m.room.power_levels (state_default 50): rejected."""
    w = opened
    assert w.analysis is not None
    if "auth" in w.analysis.unavailable:
        pytest.skip(w.analysis.unavailable["auth"])
    assert w.analysis.rejected == {room.id("bob_power")}
    assert w.status_labels["events"].text() == "10 events (1 rejected)"
    w.select_event(room.id("bob_power"))
    assert w.inspector.verdict.text().startswith("Rejected by rule")
    w.select_event(room.id("merge"))
    assert w.inspector.verdict.text() == "Allowed"


def test_export_svg(opened: MainWindow, tmp_path: Path) -> None:
    out = tmp_path / "graph.svg"
    assert opened.export_image(out)
    text = out.read_text()
    assert "<svg" in text


def test_arrow_keys_stay_with_the_state_table(
    qtbot: QtBot, opened: MainWindow, room: BuiltRoom
) -> None:
    """The Go menu's arrow shortcuts must not steal keys from other widgets."""
    w = opened
    w.select_event(room.id("topic"))
    w.inspector.tabs.setCurrentIndex(2)
    view = w.inspector.state_table.view
    qtbot.waitUntil(view.isVisible)
    view.setFocus()
    view.setCurrentIndex(view.model().index(0, 0))
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.currentIndex().row() == 1
    assert list(w.canvas.selected()) == [room.id("topic")]
