"""Mutated room files: every one loads (maybe with findings) or is one RoomFileError line.

Valid rooms (v1, v10, v12) are written, then broken at random: truncated, bytes
changed, JSON values replaced by values of other types, keys deleted. Whatever
comes out, loading must not raise anything but RoomFileError (no KeyError,
TypeError, RecursionError...), and ``roomscope info``'s summary of a room that
loads must work. A fixed set of seeds runs always, plus one random seed printed
in the log (re-run it with ROOMSCOPE_FUZZ_SEED=N).
"""

from __future__ import annotations

import gzip
import json
import os
import random
from typing import Any

import pytest

from app.commands.info import info_json
from app.core.builder import build_event
from app.core.events import PDU
from app.core.versions import RoomVersion, room_version
from app.sources.files import RoomFileError, parse_room_bytes

RANDOM_SEED = int(os.environ.get("ROOMSCOPE_FUZZ_SEED", random.randrange(1 << 30)))
SEEDS = [1, 2, 3, RANDOM_SEED]
MUTATIONS_PER_SEED = 150

ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    "",
    "x",
    "$",
    [],
    [None],
    [[1, {}]],
    {},
    {"": None},
    "\n\x00\u2028",
]


def sample_room(version: RoomVersion) -> dict[str, Any]:
    alice = "@alice:a.example"
    create = build_event(
        version,
        type="m.room.create",
        state_key="",
        sender=alice,
        content={"room_version": version.identifier, "creator": alice},
        origin_server_ts=1,
    )
    room_id = "!" + create.event_id[1:] if version.room_id_from_create_event else "!r:a.example"
    events: list[PDU] = [create]
    for i in range(1, 6):
        prev = [events[-1].event_id] if i % 3 else [events[-1].event_id, events[-2].event_id]
        events.append(
            build_event(
                version,
                type="m.room.member" if i == 1 else "m.room.message",
                state_key=alice if i == 1 else None,
                sender=alice,
                content={"membership": "join"} if i == 1 else {"body": str(i)},
                room_id=room_id,
                prev_events=prev,
                auth_events=[] if version.room_id_from_create_event else [create.event_id],
                depth=i + 1,
                origin_server_ts=i + 1,
                known_events={e.event_id: e for e in events},
            )
        )
    return {
        "format": "roomscope.room",
        "room_version": version.identifier,
        "state_sets": {"a": [events[1].event_id]},
        "events": [dict(e.raw) for e in events],
    }


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(paths(v, (*prefix, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(paths(v, (*prefix, i)))
    return out


def mutate_json(rng: random.Random, doc: dict[str, Any]) -> Any:
    doc = json.loads(json.dumps(doc))
    for _ in range(rng.randint(1, 3)):
        target = rng.choice(paths(doc)[1:])
        parent: Any = doc
        for step in target[:-1]:
            parent = parent[step]
        key = target[-1]
        if isinstance(parent, dict) and rng.random() < 0.3:
            del parent[key]
        else:
            parent[key] = json.loads(json.dumps(rng.choice(ODD_VALUES)))
    return doc


def encodings(rng: random.Random, doc: Any) -> bytes:
    """The document as native JSON, an array, NDJSON, or gzip of one of them."""
    form = rng.randrange(3)
    if form == 1 and isinstance(doc, dict) and isinstance(doc.get("events"), list):
        data = json.dumps(doc["events"]).encode()
    elif form == 2 and isinstance(doc, dict) and isinstance(doc.get("events"), list):
        data = "\n".join(json.dumps(e) for e in doc["events"]).encode()
    else:
        data = json.dumps(doc).encode()
    return gzip.compress(data) if rng.random() < 0.2 else data


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    if rng.random() < 0.5:
        return data[: rng.randrange(len(data) + 1)]
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf)


def check(data: bytes) -> None:
    try:
        room = parse_room_bytes(data, name="fuzz.json")
    except RoomFileError as exc:
        message = str(exc)
        assert message.startswith("fuzz.json"), message
        assert "\n" not in message and "\r" not in message, message
        return
    summary = info_json(room, "fuzz.json")
    assert summary["events"] == len(room.events)
    json.dumps(summary)


@pytest.mark.parametrize("version_id", ["1", "10", "12"])
@pytest.mark.parametrize("seed", SEEDS)
def test_mutated_room_files(seed: int, version_id: str) -> None:
    print(f"fuzz seed {seed} (ROOMSCOPE_FUZZ_SEED={seed} to re-run)")
    rng = random.Random(f"{seed}-{version_id}")
    doc = sample_room(room_version(version_id))
    check(json.dumps(doc).encode())
    for _ in range(MUTATIONS_PER_SEED):
        if rng.random() < 0.6:
            check(encodings(rng, mutate_json(rng, doc)))
        else:
            check(mutate_bytes(rng, encodings(rng, doc)))
