"""Every event of a room against its own auth events (app.core.auth_graph), and ``roomscope auth``.

A small v10 room where Alice creates, joins and sets power levels; Bob joins a
room whose join rule is invite (rejected, 4.3.4); Bob then "speaks", citing his
rejected join (rejected, 2.3); Carol's event cites an auth event absent from the
file (rejected: missing); a v12 room where the create event is implicit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.core.auth_graph import check_graph_against_auth_events
from app.core.builder import build_event, room_id_for
from app.core.events import PDU
from app.core.graph import EventGraph
from app.core.versions import KNOWN_ROOM_VERSIONS

ALICE, BOB, CAROL = "@alice:a", "@bob:b", "@carol:c"


def _room(version: str) -> tuple[list[PDU], dict[str, str]]:
    v = KNOWN_ROOM_VERSIONS[version]
    names: dict[str, str] = {}
    events: list[PDU] = []
    content = {"room_version": version}
    if not v.implicit_room_creator:
        content["creator"] = ALICE
    create = build_event(
        v,
        type="m.room.create",
        sender=ALICE,
        content=content,
        state_key="",
        room_id=None if v.room_id_from_create_event else "!r:a",
    )
    room_id = room_id_for(create)
    implicit = v.room_id_from_create_event
    c = [] if implicit else [create.event_id]

    def add(name: str, prev: PDU, auth: list[PDU], **kw: object) -> PDU:
        ev = build_event(
            v,
            room_id=room_id,
            prev_events=(prev.event_id,),
            auth_events=tuple(c + [a.event_id for a in auth]),
            depth=len(events) + 1,
            origin_server_ts=len(events) + 1,
            **kw,  # type: ignore[arg-type]
        )
        events.append(ev)
        names[name] = ev.event_id
        return ev

    events.append(create)
    names["create"] = create.event_id
    join = add(
        "alice_join",
        create,
        [],
        type="m.room.member",
        sender=ALICE,
        content={"membership": "join"},
        state_key=ALICE,
    )
    pl_content = {"users": {} if v.privileged_creators else {ALICE: 100}}
    pl = add(
        "pl",
        join,
        [join],
        type="m.room.power_levels",
        sender=ALICE,
        content=pl_content,
        state_key="",
    )
    jr = add(
        "jr",
        pl,
        [join, pl],
        type="m.room.join_rules",
        sender=ALICE,
        content={"join_rule": "invite"},
        state_key="",
    )
    bob = add(
        "bob_join",
        jr,
        [pl, jr],
        type="m.room.member",
        sender=BOB,
        content={"membership": "join"},
        state_key=BOB,
    )
    add("bob_speaks", bob, [pl, bob], type="m.room.message", sender=BOB, content={"body": "hi"})
    ghost = build_event(
        v,
        type="m.room.member",
        sender=CAROL,
        content={"membership": "join"},
        state_key=CAROL,
        room_id=room_id,
        prev_events=(jr.event_id,),
    )
    add(
        "carol_speaks",
        jr,
        [pl, ghost],
        type="m.room.message",
        sender=CAROL,
        content={"body": "boo"},
    )
    add("alice_speaks", jr, [pl, join], type="m.room.message", sender=ALICE, content={"body": "ok"})
    return events, names


@pytest.mark.parametrize("version", ["1", "10", "12"])
def test_verdicts_against_own_auth_events(version: str) -> None:
    events, names = _room(version)
    graph = EventGraph.build(events, room_version=KNOWN_ROOM_VERSIONS[version])
    verdicts = check_graph_against_auth_events(graph)
    rejected = {name for name, eid in names.items() if verdicts[eid].rejected}
    assert rejected == {"bob_join", "bob_speaks", "carol_speaks"}
    n_auth = "3" if version == "12" else "2"
    assert verdicts[names["bob_speaks"]].auth_events.rule == f"{n_auth}.3"
    assert "not available" in verdicts[names["carol_speaks"]].auth_events.reason
    join_rule = verdicts[names["bob_join"]].auth_events.rule
    assert join_rule == {"1": "5.2.4", "10": "4.3.4", "12": "5.3.4"}[version]
    assert not any(v.soft_failed for v in verdicts.values())


def _write(tmp_path: Path, version: str) -> tuple[Path, dict[str, str]]:
    events, names = _room(version)
    path = tmp_path / "room.json"
    doc = {
        "format": "roomscope.room",
        "version": 1,
        "room_version": version,
        "events": [dict(e.raw) | {"event_id": e.event_id} for e in events],
    }
    path.write_text(json.dumps(doc))
    return path, names


def test_auth_command_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, names = _write(tmp_path, "10")
    assert main(["auth", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == set(names.values())
    assert out[names["alice_speaks"]] is None
    assert out[names["bob_join"]].startswith("rule 4.3.4 ")
    assert "invite" in out[names["bob_join"]]


def test_auth_command_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, names = _write(tmp_path, "10")
    assert main(["auth", str(path)]) == 0
    out = capsys.readouterr().out
    assert names["bob_join"] in out and names["alice_speaks"] not in out
    assert out.rstrip().endswith("8 events: 5 allowed, 3 rejected")


def test_auth_command_bad_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    proc = subprocess.run(
        [sys.executable, "-m", "app", "auth", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_events_on_an_auth_cycle_are_rejected_not_looped_over() -> None:
    v = KNOWN_ROOM_VERSIONS["1"]
    create = build_event(
        v,
        type="m.room.create",
        sender=ALICE,
        content={"creator": ALICE, "room_version": "1"},
        state_key="",
        room_id="!r:a",
        event_id="$create:a",
    )
    common = {"room_id": "!r:a", "sender": ALICE, "type": "m.room.message"}
    a = build_event(
        v,
        content={"body": "a"},
        prev_events=("$create:a",),
        auth_events=("$create:a", "$b:a"),
        event_id="$a:a",
        **common,  # type: ignore[arg-type]
    )
    b = build_event(
        v,
        content={"body": "b"},
        prev_events=("$create:a",),
        auth_events=("$create:a", "$a:a"),
        event_id="$b:a",
        **common,  # type: ignore[arg-type]
    )
    graph = EventGraph.build([create, a, b], room_version=v)
    verdicts = check_graph_against_auth_events(graph)
    assert not verdicts["$create:a"].rejected
    assert verdicts["$a:a"].rejected and verdicts["$b:a"].rejected
    reasons = {verdicts[e].auth_events.reason for e in ("$a:a", "$b:a")}
    assert any("cycle" in r for r in reasons)
