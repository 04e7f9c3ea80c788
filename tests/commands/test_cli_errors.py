"""The command line's last resort: a bug in roomscope is one line, not a traceback.

DESIGN.md: "Never print a traceback at a user." RoomscopeError covers everything
roomscope expects to go wrong; these tests make a subcommand fail in a way it does
not expect and check what a person would see, and that ROOMSCOPE_DEBUG=1 (set for
the whole suite by tests/conftest.py) lets the exception through for a developer.
"""

from __future__ import annotations

import argparse

import pytest

from app import cli
from app.commands import info


def _broken_run(exc: BaseException) -> object:
    def run(args: argparse.Namespace) -> int:
        raise exc

    return run


def test_unexpected_exception_is_one_line_and_status_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    monkeypatch.setattr(info, "run", _broken_run(KeyError("state_key\nsecond line")))
    status = cli.main(["info", "whatever.json"])
    out, err = capsys.readouterr()
    assert status == cli.EXIT_INTERNAL == 70
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("roomscope: internal error (KeyError: ")
    assert "state_key" in err and "second line" in err
    assert "Traceback" not in err
    assert "ROOMSCOPE_DEBUG=1" in err


def test_out_of_memory_is_said_plainly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    monkeypatch.setattr(info, "run", _broken_run(MemoryError()))
    assert cli.main(["info", "whatever.json"]) == cli.EXIT_INTERNAL
    assert capsys.readouterr().err == "roomscope: out of memory\n"


def test_debug_environment_lets_the_bug_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    monkeypatch.setattr(info, "run", _broken_run(ZeroDivisionError("boom")))
    with pytest.raises(ZeroDivisionError, match="boom"):
        cli.main(["info", "whatever.json"])


def test_long_and_hostile_messages_stay_one_printable_line() -> None:
    line = cli.internal_error_line(ValueError("\x1b[31m" + "x" * 5000))
    assert "\x1b" not in line and "\n" not in line
    assert len(line) < 500
