"""Untrusted text on the way out of the headless subcommands.

A room file may hold strings that are not valid Unicode: JSON allows a lone
surrogate escape such as ``"\\ud800"``. Printing one with ``ensure_ascii=False``
crashed ``--json`` of info, verify and auth half-way through the document (a
traceback after partial output). Terminal escapes in event IDs must not reach
the terminal raw either.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.commands.output import write_json
from app.core.errors import json_text, printable
from tests.commands.cli import roomscope

ROOT = Path(__file__).resolve().parents[2]

# A v1 create event whose ID and sender carry a lone surrogate (legal JSON escapes).
SURROGATE_ROOM = (
    '[{"type": "m.room.create", "room_id": "!a:x", "sender": "@a\\ud800:x",'
    ' "state_key": "", "content": {"creator": "@a\\ud800:x"}, "depth": 1,'
    ' "origin_server_ts": 1, "prev_events": [], "auth_events": [],'
    ' "event_id": "$c\\udfff:x"}]'
)


def test_printable_escapes_what_a_terminal_would_act_on() -> None:
    assert printable("$a\x1b[31m:x\nforged line") == "$a\\x1b[31m:x\\nforged line"
    assert printable("\ud800") == "\\ud800"
    assert printable("plain café") == "plain café"
    assert printable(None) == "None"


def test_printable_limit_cuts_with_an_ellipsis() -> None:
    assert printable("x" * 50, 10) == "xxxxxxx..."
    assert len(printable("x" * 50, 10)) == 10
    assert printable("short", 10) == "short"


def test_json_text_escapes_lone_surrogates_and_reads_back() -> None:
    doc = {"$c\udfff:x": "r\ud800"}
    text = json_text(doc, indent=2)
    text.encode("utf-8")  # would raise if a surrogate were left raw
    assert json.loads(text) == doc


def test_json_text_keeps_readable_unicode() -> None:
    assert json_text({"k": "café"}, indent=2) == '{\n  "k": "café"\n}'
    assert json_text({"k": "café"}, encoding="ascii") == '{"k": "caf\\u00e9"}'


def test_write_json_writes_one_document_and_a_newline() -> None:
    out = io.StringIO()
    write_json({"b": 1, "a": [1, 2]}, out, sort_keys=True)
    assert out.getvalue().endswith("}\n")
    assert json.loads(out.getvalue()) == {"a": [1, 2], "b": 1}
    assert out.getvalue().index('"a"') < out.getvalue().index('"b"')


@pytest.mark.parametrize(
    ("command", "status"),
    [("info", 0), ("verify", 1), ("auth", 0), ("state", 0), ("explain", 0)],
)
def test_json_output_of_a_room_with_lone_surrogates(
    tmp_path: Path, command: str, status: int
) -> None:
    path = tmp_path / "surrogates.json"
    path.write_text(SURROGATE_ROOM, encoding="ascii")
    done = roomscope(command, str(path), "--json")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == status, done.stderr
    doc = json.loads(done.stdout)
    # verify (no hashes, no signatures) fails; the event is there under its own ID.
    text = json.dumps(doc, ensure_ascii=True)
    assert "\\udfff" in text


@pytest.mark.parametrize("command", ["info", "verify", "auth"])
def test_table_output_escapes_terminal_controls(tmp_path: Path, command: str) -> None:
    room = json.loads(SURROGATE_ROOM)
    room[0]["event_id"] = "$c\x1b[2J:x"
    path = tmp_path / "escapes.json"
    path.write_text(json.dumps(room), encoding="utf-8")
    done = roomscope(command, str(path), *(["--all"] if command != "info" else []))
    assert "Traceback" not in done.stderr, done.stderr
    assert "\x1b" not in done.stdout
    assert "$c\\x1b[2J:x" in done.stdout


def test_explain_text_of_a_room_with_lone_surrogates(tmp_path: Path) -> None:
    """The readable trace escapes what a terminal cannot print, instead of crashing."""
    path = tmp_path / "surrogates.json"
    path.write_text(SURROGATE_ROOM, encoding="ascii")
    done = roomscope("explain", str(path))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert "\\udfff" in done.stdout
