"""The Fetch dialog: fetches off the UI thread, shows progress, cancels keeping what it has."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from app.ui.fetch_dialog import FetchDialog
from tests.sources.fake_homeserver import ALIAS, ROOM_ID, TOKEN, FakeHomeserver, make_room

pytestmark = pytest.mark.timeout(60)


def _fill(dialog: FetchDialog, out: Path, token: str = TOKEN) -> None:
    dialog.homeserver.setText("https://hs.test")
    dialog.room.setText(ALIAS)
    dialog.token.setText(token)
    dialog.output.setText(str(out))


def test_fetch_saves_the_room_and_accepts(qtbot: QtBot, tmp_path: Path) -> None:
    fake = FakeHomeserver()
    ui_thread = threading.current_thread()
    threads: list[threading.Thread] = []
    inner = fake.handle

    def handle(request: httpx.Request) -> httpx.Response:
        threads.append(threading.current_thread())
        return inner(request)

    dialog = FetchDialog(transport=httpx.MockTransport(handle))
    qtbot.addWidget(dialog)
    out = tmp_path / "room.json"
    _fill(dialog, out)
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        qtbot.mouseClick(dialog.fetch_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.saved_path == out
    doc = json.loads(out.read_text())
    assert doc["room_id"] == ROOM_ID and len(doc["events"]) == 25
    assert TOKEN not in out.read_text()
    assert threads and all(t is not ui_thread for t in threads)
    assert "25 events" in dialog.result_summary


def test_failure_is_one_plain_line_and_the_dialog_stays(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = FetchDialog(transport=FakeHomeserver().transport())
    qtbot.addWidget(dialog)
    out = tmp_path / "room.json"
    _fill(dialog, out, token="<b>wrong</b>")
    dialog.start()
    assert dialog.wait(10)
    qtbot.waitUntil(lambda: dialog.fetch_button.isEnabled(), timeout=5000)
    assert "did not accept the access token" in dialog.status.text()
    assert dialog.status.textFormat() == Qt.TextFormat.PlainText
    assert dialog.saved_path is None and not out.exists()
    assert dialog.isEnabled()


def test_missing_fields_are_explained_without_fetching(qtbot: QtBot) -> None:
    fake = FakeHomeserver()
    dialog = FetchDialog(transport=fake.transport())
    qtbot.addWidget(dialog)
    dialog.token.setText(TOKEN)
    dialog.start()
    assert "give the homeserver and the room" in dialog.status.text()
    assert not fake.requests


def test_cancel_keeps_what_was_fetched(qtbot: QtBot, tmp_path: Path) -> None:
    fake = FakeHomeserver(events=make_room(400), page_cap=10)
    first_page = threading.Event()
    inner = fake.handle

    def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/messages"):
            first_page.set()
            time.sleep(0.05)
        return inner(request)

    dialog = FetchDialog(transport=httpx.MockTransport(slow))
    qtbot.addWidget(dialog)
    out = tmp_path / "partial.json"
    _fill(dialog, out)
    dialog.limit.setValue(0)
    dialog.start()
    assert first_page.wait(10)
    assert dialog.running and not dialog.progress.isHidden()
    with qtbot.waitSignal(dialog.finished, timeout=10_000):
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog.saved_path == out
    doc = json.loads(out.read_text())
    assert 0 < len(doc["events"]) < 400
    assert "cancelled" in dialog.result_summary
