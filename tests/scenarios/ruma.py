"""Load ruma-state-res's published fixtures as real PDUs (see data/ruma/README.md).

Each fixture event is rebuilt with :func:`app.core.builder.build_event` in the
room version its create event names, in file order (the fixtures list events
after their prev and auth events), with real hashes and signatures fields; the
fixture's readable event IDs are kept as the events' IDs (DESIGN.md: an
``event_id`` given is authoritative), because the published expectations
depend on them where an ordering ties on origin_server_ts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.builder import build_event
from app.core.events import PDU, StateKey, parse_pdu
from app.core.versions import RoomVersion, room_version

DATA = Path(__file__).parent / "data" / "ruma"

# Which fixture files make up each published test, from ruma's tests/it/resolve.rs
# (snapshot_test_batches! and snapshot_test_state_maps!).
BATCH_TESTS: dict[str, tuple[str, ...]] = {
    "minimal_private_chat": ("bootstrap-private-chat.json",),
    "minimal_public_chat": ("bootstrap-public-chat.json",),
    "origin_server_ts_tiebreak": ("bootstrap-private-chat.json", "origin-server-ts-tiebreak.json"),
    "ban_vs_power_levels": (
        "bootstrap-public-chat.json",
        "ban-vs-power-levels-alice.json",
        "ban-vs-power-levels-bob.json",
    ),
    "topic_vs_power_levels": (
        "bootstrap-public-chat.json",
        "topic-vs-power-levels-alice.json",
        "topic-vs-power-levels-bob.json",
    ),
    "power_levels_admin_vs_mod": (
        "bootstrap-public-chat.json",
        "power-levels-admin-vs-mod-alice.json",
        "power-levels-admin-vs-mod-bob.json",
    ),
    "topic_vs_ban": (
        "bootstrap-public-chat.json",
        "topic-vs-ban-common.json",
        "topic-vs-ban-alice.json",
        "topic-vs-ban-bob.json",
    ),
    "join_rules_vs_join": (
        "bootstrap-public-chat.json",
        "join-rules-vs-join-common.json",
        "join-rules-vs-join-alice.json",
        "join-rules-vs-join-ella.json",
    ),
    "concurrent_joins": (
        "bootstrap-public-chat.json",
        "concurrent-joins-charlie.json",
        "concurrent-joins-ella.json",
    ),
}

# (state map files, PDU files) of the tests that resolve given state maps.
STATE_MAP_TESTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "msc4297_problem_a_state_res_v2_0": (
        ("MSC4297-problem-A/state-bob.json", "MSC4297-problem-A/state-charlie.json"),
        ("MSC4297-problem-A/pdus-v11.json",),
    ),
    "msc4297_problem_a_state_res_v2_1": (
        ("MSC4297-problem-A/state-bob.json", "MSC4297-problem-A/state-charlie.json"),
        ("MSC4297-problem-A/pdus-v12.json",),
    ),
    "msc4297_problem_b_state_res_v2_0": (
        ("MSC4297-problem-B/state-eve.json", "MSC4297-problem-B/state-zara.json"),
        ("MSC4297-problem-B/pdus-v11.json",),
    ),
    "msc4297_problem_b_state_res_v2_1": (
        ("MSC4297-problem-B/state-eve.json", "MSC4297-problem-B/state-zara.json"),
        ("MSC4297-problem-B/pdus-v12.json",),
    ),
}


@dataclass
class Fixture:
    version: RoomVersion
    events: list[PDU]
    #: fixture name -> computed event ID
    ids: dict[str, str]

    @property
    def by_id(self) -> dict[str, PDU]:
        return {e.event_id: e for e in self.events}

    def state_map(self, names: Sequence[str]) -> dict[StateKey, str]:
        by_id = self.by_id
        out: dict[StateKey, str] = {}
        for name in names:
            pdu = by_id[self.ids[name]]
            assert pdu.state_key is not None
            out[(pdu.type, pdu.state_key)] = pdu.event_id
        return out


def _read(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def load_events(files: Sequence[str]) -> Fixture:
    raw: list[dict[str, Any]] = [e for f in files for e in _read(f)]
    create = raw[0]
    assert create["type"] == "m.room.create"
    version = room_version(create["content"]["room_version"])
    ids: dict[str, str] = {}
    by_id: dict[str, PDU] = {}
    events: list[PDU] = []
    for obj in raw:
        prevs = list(obj["prev_events"])
        built = build_event(
            version,
            type=obj["type"],
            sender=obj["sender"],
            content=obj["content"],
            state_key=obj.get("state_key"),
            room_id=obj.get("room_id"),
            prev_events=prevs,
            auth_events=list(obj["auth_events"]),
            depth=1 + max((by_id[p].depth for p in prevs), default=0),
            origin_server_ts=obj["origin_server_ts"],
            known_events=by_id,
        )
        # Keep the fixture's readable ID: the published expectations depend on it
        # where the ordering ties on origin_server_ts and falls back to event IDs.
        pdu = parse_pdu(built.raw, version, event_id=obj["event_id"])
        ids[obj["event_id"]] = pdu.event_id
        by_id[pdu.event_id] = pdu
        events.append(pdu)
    return Fixture(version, events, ids)


def expected(name: str, fixture: Fixture) -> dict[StateKey, str]:
    published: dict[str, list[list[str]]] = _read("expected.json")
    return {(t, k): fixture.ids[e] for t, k, e in published[name]}


def state_map_names(file: str) -> list[str]:
    names: list[str] = _read(file)
    return names
