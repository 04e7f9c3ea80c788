"""Menus, hooks for other panels, and the `roomscope [FILE]` entry point."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDockWidget, QLabel, QListWidget
from pytestqt.qtbot import QtBot

from app.core.errors import RoomscopeError
from app.ui.mainwindow import MainWindow
from tests.ui.ui_rooms import BuiltRoom, write_fork_room
from tests.ui.windows import make_window

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def room(tmp_path: Path) -> BuiltRoom:
    samples = tmp_path / "samples"
    samples.mkdir()
    return write_fork_room(samples)


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, room: BuiltRoom) -> MainWindow:
    return make_window(qtbot, tmp_path, samples_dir=room.path.parent)


def test_open_sample_menu(qtbot: QtBot, window: MainWindow, room: BuiltRoom) -> None:
    actions = window.sample_menu.actions()
    assert [a.text() for a in actions] == ["A fork and a merge"]
    with qtbot.waitSignal(window.roomOpened, timeout=20_000) as opened:
        actions[0].trigger()
    assert opened.args[0].path == room.path
    window.wait_idle()


def test_recent_menu_lists_opened_files(qtbot: QtBot, window: MainWindow, room: BuiltRoom) -> None:
    window._fill_recent_menu()
    assert [a.text() for a in window.recent_menu.actions()] == ["No recent files"]
    with qtbot.waitSignal(window.roomOpened, timeout=20_000):
        window.open_file(room.path)
    window.wait_idle()
    window._fill_recent_menu()
    texts = [a.text() for a in window.recent_menu.actions() if not a.isSeparator()]
    assert texts == [room.path.name, "Clear recent files"]
    window.recent_menu.actions()[-1].trigger()
    assert window.recent_files() == []


def test_fetch_opens_what_the_dialog_saved(
    qtbot: QtBot, window: MainWindow, room: BuiltRoom, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetch_dialog = pytest.importorskip("app.ui.fetch_dialog")
    assert window.act_fetch.isEnabled()
    monkeypatch.setattr(fetch_dialog, "open_fetch_dialog", lambda parent: room.path)
    with qtbot.waitSignal(window.roomOpened, timeout=20_000) as opened:
        window.act_fetch.trigger()
    assert opened.args[0].path == room.path
    window.wait_idle()
    monkeypatch.setattr(fetch_dialog, "open_fetch_dialog", lambda parent: None)
    before = window.document
    window.act_fetch.trigger()  # cancelled dialog: nothing changes
    assert window.document is before


def test_resolve_here_hook_and_bottom_dock(
    qtbot: QtBot, window: MainWindow, room: BuiltRoom
) -> None:
    assert not window.act_resolve.isEnabled()
    with qtbot.waitSignal(window.roomOpened, timeout=20_000):
        window.open_file(room.path)
    window.wait_idle()
    calls: list[list[str]] = []
    window.set_resolve_handler(calls.append)
    window.select_event(room.id("merge"))
    assert window.act_resolve.isEnabled()
    window.act_resolve.trigger()
    assert calls == [[room.id("merge")]]
    # The inspector offers it on a merge, and only there.
    assert not window.inspector.merge_box.isHidden()
    window.inspector.resolve_button.click()
    assert calls == [[room.id("merge")], [room.id("merge")]]
    window.select_event(room.id("bob_msg"))
    assert window.inspector.merge_box.isHidden()

    dock = QDockWidget("Resolution", window)
    dock.setObjectName("resolutionDock")
    dock.setWidget(QLabel("steps"))
    window.add_bottom_dock(dock)
    assert dock.toggleViewAction() in window.view_docks_menu.actions()
    assert window.dockWidgetArea(dock).name == "BottomDockWidgetArea"


def test_gui_command_opens_the_default_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.commands import gui, info

    opened: list[Path | None] = []
    monkeypatch.setattr("app.ui.app.run", lambda path, **kw: opened.append(path) or 0)
    assert gui.run(argparse.Namespace(file=None)) == 0
    assert opened == [Path(info.default_sample())]
    assert opened[0] is not None and opened[0].exists()


def test_gui_command_opens_a_file(monkeypatch: pytest.MonkeyPatch, room: BuiltRoom) -> None:
    from app.commands import gui

    opened: list[Path | None] = []
    monkeypatch.setattr("app.ui.app.run", lambda path, **kw: opened.append(path) or 0)
    assert gui.run(argparse.Namespace(file=str(room.path))) == 0
    assert opened == [room.path]


def test_gui_command_refuses_a_missing_file(tmp_path: Path) -> None:
    from app.commands import gui

    with pytest.raises(RoomscopeError, match="no such file"):
        gui.run(argparse.Namespace(file=str(tmp_path / "absent.json")))


def test_findings_are_listed_and_shown_on_their_event(
    qtbot: QtBot, window: MainWindow, room: BuiltRoom, tmp_path: Path
) -> None:
    """A given event ID that is not the event's reference hash (v10) is a finding."""
    import json

    obj = json.loads(room.path.read_text())
    topic = obj["events"][-1]
    assert topic["type"] == "m.room.topic"  # nobody references it
    topic["event_id"] = "$not-the-hash"
    bad = tmp_path / "mismatch.json"
    bad.write_text(json.dumps(obj))
    with qtbot.waitSignal(window.roomOpened, timeout=20_000):
        window.open_file(bad)
    window.wait_idle()
    assert window.findings_button.isVisible()
    assert window.findings_button.text() == "1 finding"
    window.select_event("$not-the-hash")
    assert not window.inspector.findings.isHidden()
    assert "$not-the-hash" in window.inspector.findings.text()
    window.show_findings()
    dialog = window._findings_dialog
    items = dialog.findChildren(QListWidget)[0]
    assert items.count() == 1 and items.item(0).text().startswith("event_id_mismatch")
    window.select_event(room.id("merge"))
    items.itemActivated.emit(items.item(0))
    assert window.inspector.event_id == "$not-the-hash"
    dialog.close()


def write_mismatch(room: BuiltRoom, tmp_path: Path) -> Path:
    """The fork room with one given event ID that is not the event's reference hash."""
    import json

    obj = json.loads(room.path.read_text())
    obj["events"][-1]["event_id"] = "$not-the-hash"
    bad = tmp_path / "mismatch.json"
    bad.write_text(json.dumps(obj))
    return bad


def test_a_big_rooms_event_ids_are_checked_after_it_is_shown(
    qtbot: QtBot,
    window: MainWindow,
    room: BuiltRoom,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file with many given IDs is shown before they are checked: the status bar says
    so, then shows what the check found, as if found while loading."""
    from app.sources import files

    monkeypatch.setattr(files, "CHECK_IDS_LATER_FROM", 0)  # this room counts as big
    bad = write_mismatch(room, tmp_path)
    seen: list[tuple[str, bool]] = []
    window.roomOpened.connect(
        lambda doc: seen.append((window.findings_button.text(), doc.ids_unchecked))
    )
    with qtbot.waitSignal(window.roomOpened, timeout=20_000):
        window.open_file(bad)
    assert seen == [("Checking event IDs…", True)]
    assert "event_id_mismatch" not in {f.kind for f in window.document.room.findings}
    window.wait_idle()
    assert not window.document.ids_unchecked
    assert window.findings_button.text() == "1 finding"
    assert [f.kind for f in window.document.findings] == ["event_id_mismatch"]
    window.select_event("$not-the-hash")
    assert "$not-the-hash" in window.inspector.findings.text()


def test_cancelling_before_the_event_ids_are_checked_says_so(
    qtbot: QtBot,
    window: MainWindow,
    room: BuiltRoom,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.sources import files

    monkeypatch.setattr(files, "CHECK_IDS_LATER_FROM", 0)
    bad = write_mismatch(room, tmp_path)
    window.roomOpened.connect(lambda _doc: window.cancel_jobs())
    with qtbot.waitSignal(window.roomOpened, timeout=20_000):
        window.open_file(bad)
    window.wait_idle()
    assert window.document.ids_unchecked
    assert window.findings_button.text() == "Event IDs not checked"
    assert "open the file again" in window.findings_button.toolTip()


def test_keyboard_shortcuts_dialog_lists_every_go_key(window: MainWindow) -> None:
    window.act_shortcuts.trigger()
    dialog = window._shortcuts_dialog
    from PySide6.QtWidgets import QTableWidget

    table = dialog.findChildren(QTableWidget)[0]
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    for key in ("Up", "Down", "Left", "Right", "[", "]", "{", "}", "Home", "End", "/"):
        assert key in rows.values(), key
    dialog.close()
