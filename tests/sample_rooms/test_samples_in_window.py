"""The sample rooms as the window shows them: listed by title, opened, lessons walked.

UI.md, "Teaching": the lesson panel steps through the notes and moves the graph
to each. Each sample is opened from the Rooms dock's list; every note of its
lesson must select its event on the graph and in the inspector.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.mainwindow import MainWindow
from tests.ui.qt_settings import _private_settings  # noqa: F401  (autouse: private QSettings)
from tests.ui.windows import make_window

pytestmark = pytest.mark.timeout(120)

SAMPLES = Path(__file__).resolve().parents[2] / "sample_rooms"
NAMES = sorted(p.name for p in SAMPLES.glob("*.json"))


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    return make_window(qtbot, tmp_path, samples_dir=SAMPLES)


def annotations(name: str) -> dict[str, object]:
    value = json.loads((SAMPLES / name).read_text())["annotations"]
    assert isinstance(value, dict)
    return value


def test_the_list_shows_every_sample_by_title(window: MainWindow) -> None:
    items = [window.rooms.sample_list.item(i) for i in range(window.rooms.sample_list.count())]
    titles = [i.text() for i in items]
    assert sorted(titles) == sorted(str(annotations(n)["title"]) for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_open_a_sample_and_walk_its_lesson(qtbot: QtBot, window: MainWindow, name: str) -> None:
    samples = window.rooms.sample_list
    notes = annotations(name)
    (item,) = [
        samples.item(i) for i in range(samples.count()) if samples.item(i).text() == notes["title"]
    ]
    samples.scrollToItem(item)
    rect = samples.visualItemRect(item)
    with qtbot.waitSignal(window.roomOpened, timeout=20_000):
        qtbot.mouseClick(samples.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(window.analysisReady, timeout=20_000, raising=False):
        pass
    window.wait_idle()
    assert window.document is not None and window.document.path == SAMPLES / name
    lesson = window.rooms.lesson
    assert lesson.title.text() == notes["title"]
    assert lesson.summary.text() == notes["summary"]
    expected = notes["lesson"]
    assert isinstance(expected, list)
    for i, note in enumerate(expected):
        qtbot.mouseClick(lesson.next_button, Qt.MouseButton.LeftButton)
        assert lesson.note.text() == note["note"], i
        assert list(window.canvas.selected()) == [note["event_id"]]
        assert window.inspector.event_id == note["event_id"]
    assert not lesson.next_button.isEnabled()
    assert "0 missing" in window.status_labels["missing"].text()
