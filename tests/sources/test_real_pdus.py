"""Real PDUs recorded from Synapse 1.163 (tests/data/pdus, see tools/record_test_pdus.py).

The files hold the PDUs as Synapse stored them, without event IDs: the loader
computes each ID from the reference hash. Every prev_events/auth_events entry
is an ID Synapse computed, so "no missing events" proves the loader's IDs are
Synapse's, for v10 and v12 (where the room ID also derives from the create event).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.sources.files import load_room, parse_room_bytes

PDUS = Path(__file__).resolve().parents[1] / "data" / "pdus"
FILES = sorted(p.name for p in PDUS.glob("*.json"))


def native(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PDUS / name).read_text())
    return data


@pytest.mark.parametrize("name", FILES)
def test_computed_ids_are_synapses(name: str) -> None:
    room = load_room(PDUS / name)
    assert room.findings == ()
    assert room.graph.missing == frozenset()
    assert len(room.events) == len(native(name)["events"])
    assert all(e.event_id_computed for e in room.events.values())
    # The room ID Synapse gave the room matches the graph's (v12: from the create event).
    assert room.graph.room_id == native(name)["room_id"]
    referenced = {r for e in room.events.values() for r in (*e.prev_events, *e.auth_events)}
    assert referenced and referenced <= set(room.events)


@pytest.mark.parametrize("name", FILES)
def test_served_form_checks_out_and_a_changed_id_is_a_finding(name: str) -> None:
    room = load_room(PDUS / name)
    served = native(name)
    for obj, pdu in zip(served["events"], room.events.values(), strict=True):
        obj["event_id"] = pdu.event_id  # as the client-server API serves them
        obj.setdefault("unsigned", {})["age"] = 1000
        if obj["type"] == "m.room.create" and name == "v12.json":
            obj["room_id"] = served["room_id"]  # Synapse adds it to the v12 create event
    again = parse_room_bytes(json.dumps(served).encode(), name=name)
    assert again.findings == ()
    assert list(again.events) == list(room.events)

    # join_rule survives redaction, so the reference hash covers it.
    victim = next(e for e in served["events"] if e["type"] == "m.room.join_rules")
    victim["content"] = {**victim["content"], "join_rule": "knock"}
    changed = parse_room_bytes(json.dumps(served).encode(), name=name)
    assert [(f.kind, f.event_id) for f in changed.findings] == [
        ("event_id_mismatch", victim["event_id"])
    ]
