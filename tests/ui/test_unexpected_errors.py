"""The window's last resort for roomscope's own bugs (app.ui.app.report_unexpected_errors):
a plain-text dialog in the window, the traceback on stderr, and no pile of dialogs."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.ui import app as ui_app
from app.ui import errors


def _raise_and_report(hook: ui_app.ExceptHook, exc: BaseException) -> None:
    try:
        raise exc
    except BaseException as caught:  # handing it to the hook is the point
        hook(type(caught), caught, caught.__traceback__)


def test_bug_in_a_slot_shows_one_plain_line_and_prints_the_traceback(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    shown: list[tuple[str, str]] = []
    hook_box: list[ui_app.ExceptHook] = []

    def fake_show_error(widget: QWidget | None, title: str, message: str) -> None:
        assert widget is parent
        shown.append((title, message))
        # A second bug while the dialog is up (a repaint failing again) is only printed.
        _raise_and_report(hook_box[0], RuntimeError("again"))

    monkeypatch.setattr(errors, "show_error", fake_show_error)
    hook = ui_app.report_unexpected_errors(parent)
    hook_box.append(hook)
    _raise_and_report(hook, ValueError("<b>boom</b>"))

    assert len(shown) == 1
    title, message = shown[0]
    assert "internal error" in title
    assert message.splitlines()[0] == "unexpected error (ValueError): <b>boom</b>"
    assert "still open" in message
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "ValueError: <b>boom</b>" in err and "RuntimeError: again" in err

    # After the dialog closed, the next bug is shown again.
    _raise_and_report(hook, KeyError("x"))
    assert len(shown) == 2  # the KeyError's dialog; the re-entrant error inside it is printed
    assert shown[1][1].startswith("unexpected error (KeyError): 'x'")


def test_ctrl_c_keeps_pythons_behaviour(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    shown: list[str] = []
    monkeypatch.setattr(errors, "show_error", lambda *a: shown.append("dialog"))
    default: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "__excepthook__", lambda t, e, tb: default.append(t))
    _raise_and_report(ui_app.report_unexpected_errors(parent), KeyboardInterrupt())
    assert shown == [] and default == [KeyboardInterrupt]
