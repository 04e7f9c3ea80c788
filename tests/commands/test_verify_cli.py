"""``roomscope verify`` as scripts and people use it: exit status, table, JSON, --keys.

The rooms are the real Synapse PDUs in tests/data/pdus (see tools/record_test_pdus.py),
tampered copies of them, and rooms made with the builder.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.core.builder import build_event, generate_signing_key, key_id_of, verify_key_b64
from app.core.versions import room_version

ROOT = Path(__file__).resolve().parents[2]
PDUS = ROOT / "tests" / "data" / "pdus"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["verify", *args])
    out, err = capsys.readouterr()
    return status, out, err


def recorded(version: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((PDUS / f"v{version}.json").read_text(encoding="utf-8"))
    return doc


def write(tmp_path: Path, doc: object, name: str = "room.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("version", ["10", "12"])
def test_recorded_rooms_verify(capsys: pytest.CaptureFixture[str], version: str) -> None:
    status, out, err = run(capsys, str(PDUS / f"v{version}.json"))
    n = len(recorded(version)["events"])
    assert (status, err) == (0, "")
    assert out == f"{n} events: {n} verified, 0 failed\n"

    status, out, _ = run(capsys, str(PDUS / f"v{version}.json"), "--json")
    assert status == 0
    doc = json.loads(out)
    assert len(doc["events"]) == n
    for words in doc["events"].values():
        assert (words["event_id"], words["content_hash"], words["signatures"]) == (
            "ok",
            "ok",
            "ok",
        )
    assert doc["summary"]["failed"] == 0


def test_tampered_room_fails_with_reasons(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = recorded("10")
    events = doc["events"]
    msg = next(e for e in events if e["type"] == "m.room.message")
    msg["content"]["body"] += "!"
    pl = next(e for e in events if e["type"] == "m.room.power_levels")
    sigs = pl["signatures"]["roomscope.test"]
    key_id = next(iter(sigs))
    sigs[key_id] = ("A" if sigs[key_id][0] != "A" else "B") + sigs[key_id][1:]
    path = write(tmp_path, doc)

    status, out, err = run(capsys, path)
    assert status == 1 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["EVENT", "EVENT", "ID", "CONTENT", "HASH", "SIGNATURES"]
    assert any(line.split()[1:] == ["ok", "mismatch", "ok"] for line in lines)
    assert any(line.split()[1:] == ["ok", "ok", "invalid"] for line in lines)
    assert "    content hash: hashes.sha256 does not match the event's content" in lines
    assert f"    signatures: signature by roomscope.test {key_id} does not verify" in lines
    n = len(events)
    assert lines[-1] == (
        f"{n} events: {n - 2} verified, 2 failed (content_hash mismatch: 1, signatures invalid: 1)"
    )

    status, out, _ = run(capsys, path, "--json")
    assert status == 1
    words = json.loads(out)["events"]
    assert sorted(
        (w["content_hash"], w["signatures"]) for w in words.values() if "reasons" in w
    ) == [("mismatch", "ok"), ("ok", "invalid")]


def test_served_event_id_that_is_not_the_hash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = recorded("12")
    topic = next(e for e in doc["events"] if e["type"] == "m.room.topic")
    topic["event_id"] = "$notTheReferenceHashOfThisEventAtAll000000000"
    status, out, _ = run(capsys, write(tmp_path, doc), "--json")
    assert status == 1
    words = json.loads(out)["events"]["$notTheReferenceHashOfThisEventAtAll000000000"]
    assert words["event_id"] == "mismatch"
    assert words["content_hash"] == "ok" and words["signatures"] == "ok"
    assert words["reasons"][0].startswith("event ID: the reference hash gives $")


def test_keys_from_file_and_strict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = recorded("12")
    keys = doc.pop("server_keys")
    room = write(tmp_path, doc)

    status, out, _ = run(capsys, room)
    n = len(doc["events"])
    assert status == 0  # nothing wrong was found, but nothing could be checked either
    assert out == (
        f"{n} events: 0 failed; signatures not checked: no server keys "
        "(give them with --keys FILE)\n"
    )
    assert run(capsys, room, "--strict")[0] == 1

    keys_file = write(tmp_path, keys, "keys.json")
    status, out, _ = run(capsys, room, "--keys", keys_file, "--strict")
    assert (status, out) == (0, f"{n} events: {n} verified, 0 failed\n")

    # The server's own /_matrix/key/v2/server answer works as --keys too.
    ((server, server_keys),) = keys.items()
    response = {
        "server_name": server,
        "valid_until_ts": 0,
        "verify_keys": {kid: {"key": k} for kid, k in server_keys.items()},
        "old_verify_keys": {},
        "signatures": {},
    }
    status, _, _ = run(capsys, room, "--keys", write(tmp_path, [response], "r.json"), "--strict")
    assert status == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "line 1: not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON (nested too deeply)"),
        ('{"x": NaN}', "not valid JSON (NaN is not allowed in JSON)"),
        ('{"x": {"ed25519:1": "*"}}', "server_keys: x ed25519:1: key is not unpadded base64"),
        ("[1]", "a list of keys holds something other than a JSON object"),
    ],
)
def test_bad_keys_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(content, encoding="utf-8")
    status, out, err = run(capsys, str(PDUS / "v10.json"), "--keys", str(keys))
    assert (status, out) == (1, "")
    assert err == f"roomscope: {keys}: {message}\n"
    status, _, err = run(capsys, str(PDUS / "v10.json"), "--keys", str(tmp_path / "nope"))
    assert status == 1 and err.startswith(f"roomscope: {tmp_path / 'nope'}: cannot read keys file")


def test_v1_room_ids_not_applicable_and_untrusted_ids_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    v1 = room_version("1")
    key = generate_signing_key(b"v1 room")
    create = build_event(
        v1,
        type="m.room.create",
        sender="@a:x",
        state_key="",
        content={"creator": "@a:x"},
        event_id="$c:x",
        signing_key=key,
    )
    odd = build_event(
        v1,
        type="m.room.message",
        sender="@a:x",
        content={"body": "hi"},
        prev_events=[create.event_id],
        auth_events=[create.event_id],
        depth=2,
        event_id="$\x1b[31mred:x",
        signing_key=key,
        known_events={create.event_id: create},
    )
    raw = copy.deepcopy(dict(odd.raw))
    raw["content"]["body"] = "changed"
    room = {
        "format": "roomscope.room",
        "version": 1,
        "room_version": "1",
        "server_keys": {"x": {key_id_of(key): verify_key_b64(key)}},
        "events": [dict(create.raw), raw],
    }
    path = write(tmp_path, room)
    status, out, _ = run(capsys, path, "--all")
    assert status == 1
    assert "\x1b" not in out
    rows = [line.split() for line in out.splitlines()]
    assert ["$c:x", "not_applicable", "ok", "ok"] in rows
    assert ["$\\x1b[31mred:x", "not_applicable", "mismatch", "ok"] in rows
    status, out, _ = run(capsys, path, "--json")
    assert json.loads(out)["events"]["$c:x"]["event_id"] == "not_applicable"


def test_help_documents_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["verify", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "Exit status: 0 when no check failed; 1 when any check" in out
    assert "--keys FILE" in out and "--strict" in out


def test_verify_imports_no_qt() -> None:
    code = (
        "import sys; from app.cli import main; "
        f"status = main(['verify', {str(PDUS / 'v10.json')!r}]); "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]; "
        "sys.exit(10 + len(bad) if bad else status)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_keys_problems_still_show(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = recorded("12")
    del doc["server_keys"]
    msg = next(e for e in doc["events"] if e["type"] == "m.room.message")
    msg["hashes"]["sha256"] = msg["hashes"]["sha256"][::-1]
    status, out, _ = run(capsys, write(tmp_path, doc))
    assert status == 1
    lines = out.splitlines()
    assert len(lines) == 5  # header, the event, its two reasons, the summary
    assert lines[1].split()[1:] == ["ok", "mismatch", "unknown_key"]
    assert lines[-1] == (
        f"{len(doc['events'])} events: 1 failed (content_hash mismatch: 1); "
        "signatures not checked: no server keys (give them with --keys FILE)"
    )
