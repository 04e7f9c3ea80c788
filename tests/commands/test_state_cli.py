"""``roomscope state``, ``resolve`` and ``explain`` as scripts run them.

Expected states come from Synapse 1.163 run in-process (the oracle) on a
generated room, and from ruma's published MSC4297 problem B fixture.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.core.versions import room_version
from tests.scenarios.ruma import expected, load_events, state_map_names

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def as_state(rows: list[list[str]]) -> dict[tuple[str, str], str]:
    assert rows == sorted(rows)
    return {(t, k): e for t, k, e in rows}


@pytest.fixture(scope="module")
def generated_room(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    from tests.generators.forked_rooms import SMALL, generate_room
    from tests.oracle.synapse_state import StateTracker, compute_room_states

    version = room_version("10")
    room = generate_room(version, 7, SMALL, tracker=StateTracker(version))
    path = tmp_path_factory.mktemp("rooms") / "room.json"
    path.write_text(
        json.dumps(
            {
                "format": "roomscope.room",
                "version": 1,
                "room_version": "10",
                "events": [dict(e.raw) for e in room.events],
            }
        )
    )
    return path, room, compute_room_states(version, room.events)


@pytest.mark.synapse
def test_state_at_extremities_and_at_events(
    capsys: pytest.CaptureFixture[str], generated_room: tuple[Path, Any, Any]
) -> None:
    from tests.oracle.synapse_state import state_at_extremities

    path, room, oracle = generated_room
    status, out, err = run(capsys, "state", str(path), "--json")
    assert status == 0, err
    assert as_state(json.loads(out)) == state_at_extremities(oracle, room.extremities)
    some = oracle.order[len(oracle.order) // 2]
    status, out, _ = run(capsys, "state", str(path), "--at", some, "--json")
    assert as_state(json.loads(out)) == dict(oracle.state_after[some])
    a, b = room.merges[0], oracle.order[-1]
    status, out, _ = run(capsys, "state", str(path), "--at", a, "--at", b, "--json")
    assert as_state(json.loads(out)) == state_at_extremities(oracle, [a, b])
    status, out, _ = run(capsys, "state", str(path))
    assert status == 0 and out.splitlines()[0].split() == ["type", "state_key", "event_id"]


def test_unknown_event_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = problem_b_room(tmp_path)
    status, out, err = run(capsys, "state", str(path), "--at", "$nope")
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and "$nope" in err and "Traceback" not in err


def problem_b_room(tmp_path: Path) -> Path:
    fixture = load_events(["MSC4297-problem-B/pdus-v12.json"])
    sets = {
        name: [fixture.ids[i] for i in state_map_names(f"MSC4297-problem-B/state-{name}.json")]
        for name in ("eve", "zara")
    }
    for name, ids in sets.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(ids))
    path = tmp_path / "problem-b.json"
    path.write_text(
        json.dumps(
            {
                "format": "roomscope.room",
                "version": 1,
                "room_version": "12",
                "events": [{**e.raw, "event_id": e.event_id} for e in fixture.events],
                "state_sets": sets,
            }
        )
    )
    return path


def test_resolve_state_sets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = problem_b_room(tmp_path)
    fixture = load_events(["MSC4297-problem-B/pdus-v12.json"])
    published = expected("msc4297_problem_b_state_res_v2_1", fixture)
    eve, zara = str(tmp_path / "eve.json"), str(tmp_path / "zara.json")
    status, out, err = run(
        capsys, "resolve", str(path), "--state-set", eve, "--state-set", zara, "--json"
    )
    assert status == 0, err
    assert as_state(json.loads(out)) == published
    # The room file's own named state sets, and v2 for comparison (MSC4297: it resets).
    status, out, _ = run(capsys, "resolve", str(path), "--json")
    assert as_state(json.loads(out)) == published
    status, out, _ = run(capsys, "resolve", str(path), "--algorithm", "v2", "--json")
    reset = expected("msc4297_problem_b_state_res_v2_0", fixture)
    pl = ("m.room.power_levels", "")
    assert as_state(json.loads(out))[pl] == reset[pl]


def test_resolve_rejects_bad_state_sets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = problem_b_room(tmp_path)
    bad = tmp_path / "bad.json"
    for content, word in (
        ("{", "not JSON"),
        ('{"a": 1}', "list of event IDs"),
        ('["$unknown"]', "not in the room"),
    ):
        bad.write_text(content)
        status, _, err = run(capsys, "resolve", str(path), "--state-set", str(bad))
        assert status == 1 and word in err and err.count("\n") == 1


def test_explain_problem_b_shows_why_v2_resets(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = problem_b_room(tmp_path)
    status, out, err = run(capsys, "explain", str(path), "--compare", "v2")
    assert status == 0, err
    assert "State resolution v2.1 (room version 12)" in out
    assert "Conflicted state subgraph" in out
    assert "Compared with v2:" in out
    compared = out[out.index("Compared with v2:") :]
    assert "(m.room.power_levels, '')" in compared
    assert "$00-m-room-power_levels" in compared and "$02-m-room-power_levels" in compared
    assert "only v2.1 replays" in compared.lower() and "failed auth" in compared
    status, out, _ = run(capsys, "explain", str(path), "--json")
    data = json.loads(out)
    assert data["algorithm"] == "v2.1"
    assert [s["step"] for s in data["steps"]][:3] == ["input", "split", "auth difference"]
    assert any(s["step"] == "conflicted state subgraph" for s in data["steps"])


def test_explain_imports_no_qt(tmp_path: Path) -> None:
    path = problem_b_room(tmp_path)
    code = (
        "import sys; from app.cli import main; "
        f"s = main(['explain', {str(path)!r}]); "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]; "
        "sys.exit(3 if bad else s)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
