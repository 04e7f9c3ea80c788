"""``roomscope info`` as scripts and people run it: a subprocess, stdout, stderr, status.

Broken files (tests/data/broken) give one line on stderr, a non-zero status and
never a traceback; a 200k-event chain, generated here, loads within seconds.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest

from app.commands import info
from tests.commands.cli import roomscope

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "data" / "broken"
EXPECTED: dict[str, dict[str, str]] = {
    k: v for k, v in json.loads((BROKEN / "expected.json").read_text()).items() if k[0] != "_"
}
HASH = {"sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"}


def v1_event(eid: str, prev: list[str], ts: int, **kw: object) -> dict[str, object]:
    event: dict[str, object] = {
        "event_id": eid,
        "room_id": "!chain:a.example",
        "type": "m.room.message",
        "sender": "@alice:a.example",
        "content": {"body": str(ts)},
        "prev_events": [[p, HASH] for p in prev],
        "auth_events": [],
        "depth": ts,
        "origin_server_ts": ts,
    }
    event.update(kw)
    return event


def chain_ndjson_gz(path: Path, n: int, bad_line: int | None = None) -> None:
    """A linear chain of ``n`` v1 events (readable IDs, so no hashing is needed)."""
    lines = [
        json.dumps(
            v1_event(
                "$create:a.example",
                [],
                0,
                type="m.room.create",
                state_key="",
                content={"creator": "@alice:a.example"},
            )
        )
    ]
    prev = "$create:a.example"
    for i in range(1, n):
        eid = f"${i}:a.example"
        lines.append(json.dumps(v1_event(eid, [prev], i)))
        prev = eid
    if bad_line is not None:
        bad = json.loads(lines[bad_line - 1])
        bad["depth"] = str(bad["depth"])
        lines[bad_line - 1] = json.dumps(bad)
    path.write_bytes(gzip.compress("\n".join(lines).encode(), compresslevel=1))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_files_through_the_cli(name: str) -> None:
    path = f"tests/data/broken/{name}"
    expected = EXPECTED[name]
    result = roomscope("info", path)
    assert "Traceback" not in result.stderr + result.stdout
    if "error" in expected:
        assert result.returncode == 1
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"roomscope: {path}")
        assert expected["error"] in lines[0]
    else:
        assert result.returncode == 0, result.stderr
        assert f"  {expected['finding']}: " in result.stdout
        report = json.loads(roomscope("info", "--json", path).stdout)
        assert [f["kind"] for f in report["findings"]] == [expected["finding"]]


def test_json_output_is_the_documented_object(tmp_path: Path) -> None:
    events = [
        v1_event("$c:a.example", [], 1, type="m.room.create", state_key="", content={}),
        v1_event("$x:a.example", ["$c:a.example"], 2),
        v1_event("$y:a.example", ["$c:a.example"], 3, sender="@bob:b.example"),
        v1_event("$m:a.example", ["$x:a.example", "$y:a.example", "$gone:b.example"], 4),
        v1_event("$z:a.example", ["$c:a.example"], 5),
    ]
    path = tmp_path / "room.json"
    path.write_text(json.dumps({"room_version": "1", "events": events}))
    result = roomscope("info", "--json", str(path))
    assert result.returncode == 0 and result.stderr == ""
    assert json.loads(result.stdout) == {
        "file": str(path),
        "room_id": "!chain:a.example",
        "room_version": "1",
        "state_resolution": "v1",
        "title": "room.json",
        "events": 5,
        "create_event": "$c:a.example",
        "forward_extremities": ["$m:a.example", "$z:a.example"],
        "forks": ["$c:a.example"],
        "merges": ["$m:a.example"],
        "missing_events": ["$gone:b.example"],
        "servers": {"a.example": 4, "b.example": 1},
        "findings": [],
    }
    human = roomscope("info", str(path)).stdout.splitlines()
    assert human[0] == f"file                 {path}"
    assert "forward extremities  2: $m:a.example, $z:a.example" in human
    assert "forks                1: $c:a.example" in human
    assert "missing events       1: $gone:b.example" in human
    assert "servers              2: a.example (4), b.example (1)" in human
    # Every value starts in the same column, after the longest label and two spaces.
    column = len("forward extremities  ")
    assert all(line[column - 2 : column] == "  " and line[column] != " " for line in human)


def test_missing_file_and_usage() -> None:
    result = roomscope("info", "no/such/room.json")
    assert result.returncode == 1
    assert result.stderr == "roomscope: no/such/room.json: No such file or directory\n"
    assert roomscope("info").returncode == 2


def test_default_sample_exists_and_loads() -> None:
    sample = Path(info.default_sample())
    assert sample.parent.name == "sample_rooms" and sample.exists()
    result = roomscope("info", str(sample))
    assert result.returncode == 0, result.stderr


def test_200k_event_chain(tmp_path: Path) -> None:
    path = tmp_path / "chain.ndjson.gz"
    n = 200_000
    chain_ndjson_gz(path, n)
    start = time.perf_counter()
    result = roomscope("info", "--json", str(path))
    elapsed = time.perf_counter() - start
    print(f"roomscope info on a {n}-event chain: {elapsed:.1f} s")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["events"] == n
    assert report["forward_extremities"] == [f"${n - 1}:a.example"]
    assert report["findings"] == [] and report["missing_events"] == []
    # A bad event near the end: one line naming it, not a traceback.
    chain_ndjson_gz(path, n, bad_line=n - 1)
    result = roomscope("info", str(path))
    assert result.returncode == 1
    assert result.stderr == (
        f"roomscope: {path} line {n - 1} (${n - 2}:a.example): depth is not an integer\n"
    )
