"""Room content is shown as plain text everywhere (UI.md; BRIEF: never Qt rich text).

A room whose sender, state key, room name and message body carry markup is opened,
the hostile event selected, and the resolver stepped through at the merge where its
state conflicts. At every step, each QLabel showing that text must have the PlainText
format, and each tooltip (of widgets and of item-model cells) must carry it escaped:
QLabel and tooltips auto-detect rich text, so a raw ``<img src=x>`` would be rendered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListView, QWidget
from pytestqt.qtbot import QtBot

from app.core.events import PDU
from tests.ui.ui_rooms import ALICE, KEYS, ROOM_ID, _ev, key_id_of, verify_key_b64
from tests.ui.windows import make_window

EVIL = "<b>x</b><img src=x><a href=x>y</a>"
EVIL_USER = f"@{EVIL}:b.example"
#: What must never reach Qt unescaped outside a PlainText label.
MARKERS = ("<b>x", "<img src", "<a href")


def hostile_room(folder: Path) -> tuple[Path, dict[str, PDU]]:
    b: dict[str, PDU] = {}
    t = 1_700_000_000_000
    head = ("create", "alice_join", "power")
    _ev(b, "create", type="m.room.create", sender=ALICE, state_key="",
        content={"creator": ALICE, "room_version": "10"}, ts=t)  # fmt: skip
    _ev(b, "alice_join", type="m.room.member", sender=ALICE, state_key=ALICE,
        content={"membership": "join"}, prev=("create",), auth=("create",), ts=t + 1)  # fmt: skip
    _ev(b, "power", type="m.room.power_levels", sender=ALICE, state_key="",
        content={"users": {ALICE: 100}, "users_default": 50, "state_default": 50},
        prev=("alice_join",), auth=("create", "alice_join"), ts=t + 2)  # fmt: skip
    _ev(b, "join_rules", type="m.room.join_rules", sender=ALICE, state_key="",
        content={"join_rule": "public"}, prev=("power",), auth=head, ts=t + 3)  # fmt: skip
    _ev(b, "evil_join", type="m.room.member", sender=EVIL_USER, state_key=EVIL_USER,
        content={"membership": "join", "displayname": EVIL}, prev=("join_rules",),
        auth=("create", "power", "join_rules"), ts=t + 4)  # fmt: skip
    evil_auth = ("create", "power", "evil_join")
    _ev(b, "evil_name", type="m.room.name", sender=EVIL_USER, state_key="",
        content={"name": EVIL}, prev=("evil_join",), auth=evil_auth, ts=t + 5)  # fmt: skip
    _ev(b, "evil_state", type="org.example.thing", sender=EVIL_USER, state_key=EVIL,
        content={"body": EVIL}, prev=("evil_name",), auth=evil_auth, ts=t + 6)  # fmt: skip
    _ev(b, "alice_name", type="m.room.name", sender=ALICE, state_key="",
        content={"name": "plain"}, prev=("evil_join",), auth=head, ts=t + 7)  # fmt: skip
    _ev(b, "alice_state", type="org.example.thing", sender=ALICE, state_key=EVIL,
        content={"body": "plain"}, prev=("alice_name",), auth=head, ts=t + 8)  # fmt: skip
    _ev(b, "evil_msg", type="m.room.message", sender=EVIL_USER,
        content={"msgtype": "m.text", "body": EVIL}, prev=("evil_state",),
        auth=evil_auth, ts=t + 9)  # fmt: skip
    _ev(b, "merge", type="m.room.message", sender=ALICE,
        content={"msgtype": "m.text", "body": "merge"}, prev=("evil_msg", "alice_state"),
        auth=head, ts=t + 10)  # fmt: skip
    obj = {
        "format": "roomscope.room",
        "version": 1,
        "room_id": ROOM_ID,
        "room_version": "10",
        "annotations": {"title": EVIL, "summary": EVIL},
        "server_keys": {s: {key_id_of(k): verify_key_b64(k)} for s, k in KEYS.items()},
        "events": [dict(p.raw) for p in b.values()],
    }
    path = folder / "hostile.json"
    path.write_text(json.dumps(obj))
    return path, b


def unsafe(text: str) -> bool:
    return any(m in text for m in MARKERS)


def audit(window: QWidget) -> tuple[int, list[str]]:
    """(how many places show the hostile text, the places that show it as markup)."""
    seen, bad = 0, []
    widgets: list[QWidget] = [window, *window.findChildren(QWidget)]
    for w in widgets:
        if isinstance(w, QLabel) and unsafe(w.text()):
            seen += 1
            if w.textFormat() != Qt.TextFormat.PlainText:
                bad.append(f"QLabel {w.objectName()!r}: {w.text()!r}")
        if unsafe(w.toolTip()):
            bad.append(f"tooltip of {type(w).__name__} {w.objectName()!r}: {w.toolTip()!r}")
        if EVIL in w.toolTip().replace("&lt;", "<").replace("&gt;", ">"):
            seen += 1
    for view in window.findChildren(QAbstractItemView):
        model: Any = view.model()
        if model is None:
            continue
        columns = 1 if isinstance(view, QListView) else model.columnCount()
        for r in range(min(model.rowCount(), 200)):
            for c in range(columns):
                index = model.index(r, c)
                if unsafe(str(model.data(index, Qt.ItemDataRole.DisplayRole) or "")):
                    seen += 1
                tip = model.data(index, Qt.ItemDataRole.ToolTipRole)
                if isinstance(tip, str) and unsafe(tip):
                    bad.append(f"cell tooltip in {type(view).__name__} ({r}, {c}): {tip!r}")
    return seen, bad


def test_hostile_text_is_never_rich_text(qtbot: QtBot, tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    samples.mkdir()
    path, events = hostile_room(samples)
    window = make_window(qtbot, tmp_path, samples_dir=samples, size=(1400, 900))
    with qtbot.waitSignal(window.analysisReady, timeout=30_000):
        window.open_file(path)
    window.wait_idle()
    total_seen = 0
    for name in ("evil_state", "evil_msg", "evil_join", "evil_name"):
        window.select_event(events[name].event_id)
        seen, bad = audit(window)
        assert not bad, bad
        total_seen += seen
    stepper = window.resolution
    window.select_event(events["merge"].event_id)
    with qtbot.waitSignal(stepper.steppingReady, timeout=30_000):
        window.act_resolve.trigger()
    panel = stepper.panel
    for _ in range(200):
        seen, bad = audit(window)
        assert not bad, bad
        total_seen += seen
        if not panel.next_button.isEnabled():
            break
        panel.next()
    # The dialogs (children of the window): compare, replay, diff and what-if.
    opened: list[Any] = []
    stepper.dialogOpened.connect(opened.append)
    stepper.act_compare.trigger()
    stepper.act_replay.trigger()
    window.canvas.select([events["evil_msg"].event_id, events["alice_state"].event_id])
    stepper.act_diff.trigger()
    window.canvas.select([events["evil_state"].event_id])
    stepper.act_whatif.trigger()
    qtbot.waitUntil(lambda: len(opened) >= 4, timeout=30_000)
    assert all(dialog.parent() is window for dialog in opened)  # audited with the window
    seen, bad = audit(window)
    assert not bad, bad
    total_seen += seen
    assert sum(audit(dialog)[0] for dialog in opened) > 0
    # The hostile text really was on screen (the audit is not vacuous).
    assert total_seen > 5
