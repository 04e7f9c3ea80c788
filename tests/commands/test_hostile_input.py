"""Hostile files through ``roomscope info``, ``verify`` and ``auth`` (DESIGN.md: never a
traceback; one clear line and a non-zero status for a file that cannot be read; a flagged
event for an event that can be read but is wrong).

The subcommands run in-process (``app.cli.main``), so any exception that escapes them
fails the test with its traceback; stderr must then be one ``roomscope: FILE...`` line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.cli import main

COMMANDS = ("info", "verify", "auth")


def v1_event(eid: str, type_: str, prev: list[str], auth: list[str], **kw: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": eid,
        "type": type_,
        "room_id": "!r:x",
        "sender": "@a:x",
        "content": {},
        "depth": 1,
        "origin_server_ts": 1,
        "prev_events": [[p, {}] for p in prev],
        "auth_events": [[a, {}] for a in auth],
    }
    event.update(kw)
    return event


def create(**kw: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"state_key": "", "content": {"creator": "@a:x"}, **kw}
    return v1_event("$c:x", "m.room.create", [], [], **fields)


def join() -> dict[str, Any]:
    return v1_event(
        "$j:x",
        "m.room.member",
        ["$c:x"],
        ["$c:x"],
        state_key="@a:x",
        content={"membership": "join"},
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


# name -> (file bytes, a phrase the one error line must contain)
UNREADABLE: dict[str, tuple[Callable[[], bytes], str]] = {
    "random.bin": (lambda: bytes(range(256)) * 8, "not UTF-8 text"),
    "deep.json": (lambda: b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "huge.json": (
        lambda: b'[{"type": "m.room.create", "depth": ' + b"7" * 5000 + b"}]",
        "more than 4300 digits",
    ),
    "latin1.json": (lambda: '[{"type": "caf\u00e9"}]'.encode("latin-1"), "not UTF-8 text"),
    "nan.json": (lambda: json.dumps([create(depth=float("nan"))]).encode(), "NaN"),
    "infinity.json": (
        lambda: json.dumps([create(origin_server_ts=float("inf"))]).encode(),
        "Infinity is not allowed",
    ),
    "keys.json": (
        lambda: ("{" + ",".join(f'"k{i}": {i}' for i in range(1_000_000)) + "}").encode(),
        "without an 'events' list",
    ),
    "content.json": (
        lambda: json.dumps([create(content=[1])]).encode(),
        "content is not an object",
    ),
    "state_key.json": (lambda: json.dumps([create(state_key=7)]).encode(), "state_key is not a"),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_file_is_one_line_and_status_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, command: str
) -> None:
    if name == "keys.json" and command != "info":
        pytest.skip("one command is enough for the 16 MB file")
    make, phrase = UNREADABLE[name]
    path = tmp_path / name
    path.write_bytes(make())
    status, out, err = run(capsys, command, str(path))
    assert status == 1
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"roomscope: {path}"), err
    assert phrase in err, err


def write(tmp_path: Path, events: list[dict[str, Any]]) -> str:
    path = tmp_path / "room.json"
    path.write_text(json.dumps(events))
    return str(path)


def test_event_listing_itself_in_prev_events_is_flagged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    loop = v1_event("$m:x", "m.room.message", ["$m:x"], ["$c:x", "$j:x"])
    path = write(tmp_path, [create(), join(), loop])
    status, out, _ = run(capsys, "info", path, "--json")
    assert status == 0
    findings = json.loads(out)["findings"]
    assert [(f["kind"], f["event_id"]) for f in findings] == [("cycle", "$m:x")]
    status, out, _ = run(capsys, "auth", path, "--json")
    assert status == 0 and json.loads(out)["$m:x"] is None  # its auth events are fine


def test_event_listing_itself_in_auth_events_is_rejected(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    loop = v1_event("$m:x", "m.room.message", ["$j:x"], ["$c:x", "$j:x", "$m:x"])
    path = write(tmp_path, [create(), join(), loop])
    status, out, _ = run(capsys, "auth", path, "--json")
    assert status == 0
    verdicts = json.loads(out)
    assert verdicts["$c:x"] is None and verdicts["$j:x"] is None
    assert verdicts["$m:x"] is not None  # rejected (its own listing is no valid auth event)
    status, out, _ = run(capsys, "verify", path, "--json")
    assert status == 1  # no hashes or signatures: failures, but a report, not a crash
    assert set(json.loads(out)["events"]) == {"$c:x", "$j:x", "$m:x"}


@pytest.mark.timeout(120)
def test_ten_thousand_way_merge(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    n = int(os.environ.get("ROOMSCOPE_MERGE_WIDTH", "10000"))
    branches = [
        v1_event(f"$b{i}:x", "m.room.message", ["$j:x"], ["$c:x", "$j:x"], content={"i": i})
        for i in range(n)
    ]
    merge = v1_event("$m:x", "m.room.message", [b["event_id"] for b in branches], ["$c:x", "$j:x"])
    path = write(tmp_path, [create(), join(), *branches, merge])
    status, out, _ = run(capsys, "info", path, "--json")
    info = json.loads(out)
    assert status == 0 and info["merges"] == ["$m:x"] and info["forks"] == ["$j:x"]
    assert info["forward_extremities"] == ["$m:x"] and info["events"] == n + 3
    status, out, _ = run(capsys, "auth", path, "--json")
    assert status == 0 and set(json.loads(out).values()) == {None}
    status, out, _ = run(capsys, "verify", path, "--json")
    assert status == 1 and json.loads(out)["summary"]["total"] == n + 3


def test_join_rule_that_is_an_object_rejects_the_join(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = v1_event(
        "$r:x",
        "m.room.join_rules",
        ["$j:x"],
        ["$c:x", "$j:x"],
        state_key="",
        content={"join_rule": {"public": True}},
    )
    bob = v1_event(
        "$b:x",
        "m.room.member",
        ["$r:x"],
        ["$c:x", "$r:x"],
        state_key="@b:y",
        sender="@b:y",
        content={"membership": "join"},
    )
    path = write(tmp_path, [create(), join(), rules, bob])
    status, out, _ = run(capsys, "auth", path, "--json")
    assert status == 0
    assert "join" in json.loads(out)["$b:x"]
