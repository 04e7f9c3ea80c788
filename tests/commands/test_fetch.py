"""``roomscope fetch``: arguments, credentials, the file written, the summary."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from app import cli
from app.commands import fetch as fetch_command
from app.sources import homeserver
from tests.sources.fake_homeserver import ALIAS, ROOM_ID, TOKEN, FakeHomeserver, make_room


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeHomeserver:
    """Route the command's fetch through a fake homeserver."""
    server = FakeHomeserver()
    real = homeserver.fetch_room

    def fetch_room(*args: Any, **kwargs: Any) -> Any:
        kwargs["transport"] = server.transport()
        kwargs["sleep"] = lambda s: None
        return real(*args, **kwargs)

    monkeypatch.setattr(fetch_command, "fetch_room", fetch_room)
    monkeypatch.delenv(fetch_command.TOKEN_ENV, raising=False)
    return server


def test_fetch_writes_a_native_room_file(
    fake: FakeHomeserver, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "room.json"
    status = cli.main(["fetch", "https://hs.test", ALIAS, "-o", str(out), "--token", TOKEN])
    assert status == 0
    doc = json.loads(out.read_text())
    assert doc["format"] == "roomscope.room" and doc["version"] == 1
    assert doc["room_id"] == ROOM_ID and doc["room_version"] == "10"
    assert len(doc["events"]) == 25
    assert doc["source"]["alias"] == ALIAS
    assert TOKEN not in out.read_text()
    printed = capsys.readouterr()
    assert "25 events of !room:hs.test" in printed.out and "complete" in printed.out
    assert TOKEN not in printed.out + printed.err


def test_token_from_the_environment_and_gzip_output(
    fake: FakeHomeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(fetch_command.TOKEN_ENV, TOKEN)
    out = tmp_path / "room.json.gz"
    assert cli.main(["fetch", "https://hs.test", ROOM_ID, "-o", str(out), "--json"]) == 0
    doc = json.loads(gzip.decompress(out.read_bytes()))
    assert len(doc["events"]) == 25


def test_password_from_stdin(
    fake: FakeHomeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("right\n"))
    out = tmp_path / "r.json"
    args = ["fetch", "https://hs.test", ROOM_ID, "-o", str(out), "--user", "bob"]
    assert cli.main([*args, "--password-stdin"]) == 0
    assert fake.logged_out
    assert "right" not in out.read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "no credentials"),
        (["--user", "bob"], "--user needs --password-stdin"),
        (["--token", TOKEN, "--limit", "0"], "--limit must be at least 1"),
        (["--token", TOKEN, "--ca-file", "/nonexistent.pem"], "no such file"),
    ],
)
def test_usage_errors_are_one_line(
    fake: FakeHomeserver,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    status = cli.main(["fetch", "https://hs.test", ROOM_ID, "-o", str(tmp_path / "x.json"), *extra])
    err = capsys.readouterr().err
    assert status == 1
    assert message in err and err.count("\n") == 1


def test_existing_file_needs_extend_or_force(
    fake: FakeHomeserver, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "room.json"
    out.write_text("{}")
    args = ["fetch", "https://hs.test", ROOM_ID, "-o", str(out), "--token", TOKEN]
    assert cli.main(args) == 1
    assert "--extend adds to it" in capsys.readouterr().err
    assert out.read_text() == "{}"
    assert cli.main([*args, "--force"]) == 0


def test_extend_adds_new_events(fake: FakeHomeserver, tmp_path: Path) -> None:
    out = tmp_path / "room.json"
    args = ["fetch", "https://hs.test", ROOM_ID, "-o", str(out), "--token", TOKEN]
    assert cli.main(args) == 0
    fake.events = make_room(30)
    fake.requests.clear()
    assert cli.main([*args, "--extend"]) == 0
    doc = json.loads(out.read_text())
    assert len(doc["events"]) == 30
    pages = [r for r in fake.requests if r.url.path.endswith("/messages")]
    assert len(pages) == 1  # only the new part was asked for


def test_server_error_is_one_line_and_nothing_written(
    fake: FakeHomeserver, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "room.json"
    status = cli.main(["fetch", "https://hs.test", ROOM_ID, "-o", str(out), "--token", "bad"])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("roomscope: ") and err.count("\n") == 1
    assert not out.exists()


def test_progress_line_draws_a_bar_and_clears_itself() -> None:
    from app.sources.homeserver import FetchProgress

    stream = io.StringIO()
    line = fetch_command._ProgressLine(stream, limit=None)
    line(
        FetchProgress("paging", events=500, pages=1, missing=0, newest_depth=1001, oldest_depth=501)
    )
    text = stream.getvalue()
    assert text.startswith("\r") and "[##########----------]  50%" in text
    assert "500 events, 1 pages, 0 missing" in text
    line.finish()
    assert stream.getvalue().endswith("\r")
    assert "\n" not in stream.getvalue()
