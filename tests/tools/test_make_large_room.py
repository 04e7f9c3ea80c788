"""tools/make_large_room.py keeps its promise: the auth rules accept every event.

The judge is Synapse's per-event oracle (tests/oracle/synapse_state.py), not
roomscope: each event is checked against its auth events and the state before it,
as a receiving server does. An earlier generator let a user who had joined on one
branch send on a sibling branch, where they were not joined yet; Synapse rejected
one to three such events in seven of eight seeds at 4,000 events.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from app.core.versions import room_version
from app.sources.files import load_room
from tests.oracle.synapse_state import compute_room_states

TOOL = Path(__file__).resolve().parents[2] / "tools" / "make_large_room.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_large_room", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_large_room", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [2, 4])
def test_synapse_accepts_every_generated_event(seed: int) -> None:
    version = room_version("10")
    servers = [f"s{i}.example" for i in range(5)]
    room = _tool().make_room(3000, servers, version, seed, True)  # Synapse wants signatures
    assert len(room.graph.merges) > 50 and len(room.graph.forks) > 50
    theirs = compute_room_states(version, room.events.values(), after_auth_events=True)
    assert len(theirs.order) == 3000
    assert theirs.rejected == {}


def test_event_ids_are_written_as_served_and_check_out(tmp_path: Path) -> None:
    """``--event-ids`` writes each event's ID beside it, and loading the file checks
    every given ID against its reference hash: none may be a finding."""
    out = tmp_path / "served.json.gz"
    assert _tool().main([str(out), "--events", "300", "--event-ids", "--no-sign"]) == 0
    with gzip.open(out, "rt", encoding="utf-8") as f:
        written = json.load(f)["events"]
    assert len(written) == 300 and all("event_id" in e for e in written)
    room = load_room(out)
    assert [pdu.event_id_computed for pdu in room.graph.events.values()] == [False] * 300
    assert room.findings == ()
    assert [e["event_id"] for e in written] == list(room.graph.events)
