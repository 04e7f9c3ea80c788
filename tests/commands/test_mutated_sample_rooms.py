"""Sample rooms with hostile values put in at random: what ``info``, ``verify`` and
``auth`` compute must never raise anything but a one-line RoomscopeError.

The values are the JSON of an attacker (null, booleans, huge and negative numbers,
floats, lists and objects where strings go, lone surrogates, self-references). This
found that an object join rule crashed the join check (TypeError, unhashable dict).
A fixed set of seeds runs always, plus one random seed printed in the log (re-run it
with ROOMSCOPE_MUTATION_SEED=N).
"""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from app.commands.auth import as_json as auth_json
from app.commands.info import info_json
from app.core.errors import RoomscopeError, json_text
from app.core.roomstate import event_verdicts
from app.core.verify import verify_events
from app.sources.files import parse_room_bytes

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "sample_rooms").glob("*.json"))
RANDOM_SEED = int(os.environ.get("ROOMSCOPE_MUTATION_SEED", random.randrange(1 << 30)))
# Seeds 4, 7 and 11 each reach the object-join-rule crash on the code before its fix.
SEEDS = [4, 7, 11, RANDOM_SEED]
ROOMS_PER_SEED = 100

WEIRD: tuple[Any, ...] = (
    None, True, False, 0, -1, 2**53, 2**63, -(2**70), 1.5, "", "50", " 50", "x" * 300,
    [], [1], {}, {"a": None}, {"@a:x": "1e3"}, "\ud800", "@a:x", "$x",
)  # fmt: skip
CONTENT_KEYS = (
    "users", "users_default", "events", "membership", "join_rule", "allow",
    "additional_creators", "creator", "room_version", "third_party_invite",
    "join_authorised_via_users_server", "notifications", "ban", "kick", "invite", "redacts",
)  # fmt: skip
TOP_KEYS = (
    "auth_events", "prev_events", "state_key", "sender", "redacts", "room_id",
    "signatures", "hashes", "depth", "origin_server_ts",
)  # fmt: skip


def mutate(doc: dict[str, Any], rng: random.Random) -> None:
    events: list[dict[str, Any]] = doc["events"]
    for _ in range(rng.randint(1, 4)):
        event = rng.choice(events)
        r = rng.random()
        if r < 0.5 and isinstance(event.get("content"), dict):
            content = event["content"]
            # Half the time a key the event already has (what its type's rules read).
            keys = list(content) if content and rng.random() < 0.5 else CONTENT_KEYS
            content[rng.choice(keys)] = copy.deepcopy(rng.choice(WEIRD))
            users = content.get("users")
            if isinstance(users, dict) and rng.random() < 0.5:
                users[rng.choice([*users, "@a:x"])] = copy.deepcopy(rng.choice(WEIRD))
        elif r < 0.7:
            other = rng.choice(events).get("event_id", "$y")
            event[rng.choice(TOP_KEYS)] = rng.choice([copy.deepcopy(rng.choice(WEIRD)), [other]])
        elif r < 0.85:
            del event[rng.choice(list(event))]
        else:  # the event lists itself among its auth events
            event["auth_events"] = [*event.get("auth_events", []), event.get("event_id", "$s")]


@pytest.mark.parametrize("seed", SEEDS)
def test_mutated_sample_rooms_never_raise(seed: int) -> None:
    print(f"seed {seed} (re-run with ROOMSCOPE_MUTATION_SEED={seed})")
    rng = random.Random(seed)
    originals = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in SAMPLES}
    loaded = 0
    for _ in range(ROOMS_PER_SEED):
        name = rng.choice(sorted(originals))
        doc = copy.deepcopy(originals[name])
        mutate(doc, rng)
        data = json_text(doc).encode("utf-8")
        try:
            room = parse_room_bytes(data, name=name)
        except RoomscopeError as exc:
            assert "\n" not in str(exc)
            continue
        loaded += 1
        try:
            json_text(info_json(room, name))
            json_text(auth_json(event_verdicts(room.graph)))
            verify_events(room.graph.events.values(), room.server_keys)
        except RoomscopeError as exc:
            assert "\n" not in str(exc)
    assert loaded > ROOMS_PER_SEED // 4  # the mutations must leave most rooms readable
