"""Every event of a room checked on receipt (app.core.roomstate), and ``roomscope auth``.

A small v10 room where Alice creates, joins and sets power levels; Bob joins a
room whose join rule is invite (rejected, 4.3.4); Bob then "speaks", citing his
rejected join (rejected, 2.3); Carol's event cites an auth event absent from the
file (rejected: missing); a v12 room where the create event is implicit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.core.builder import build_event, room_id_for
from app.core.events import PDU
from app.core.graph import EventGraph
from app.core.roomstate import event_verdicts
from app.core.versions import KNOWN_ROOM_VERSIONS, RoomVersion
from tests.commands.cli import roomscope

ALICE, BOB, CAROL = "@alice:a", "@bob:b", "@carol:c"


def _create(version: str) -> tuple[RoomVersion, PDU, str, list[str]]:
    """Alice's create event; the room ID; the create event as an explicit auth
    event (none in v12, where the room ID names it)."""
    v = KNOWN_ROOM_VERSIONS[version]
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
    explicit = [] if v.room_id_from_create_event else [create.event_id]
    return v, create, room_id_for(create), explicit


def _room(version: str) -> tuple[list[PDU], dict[str, str]]:
    v, create, room_id, c = _create(version)
    names: dict[str, str] = {}
    events: list[PDU] = []

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
    verdicts = event_verdicts(graph)
    rejected = {name for name, eid in names.items() if verdicts[eid].rejected}
    assert rejected == {"bob_join", "bob_speaks", "carol_speaks"}
    n_auth = "3" if version == "12" else "2"
    assert verdicts[names["bob_speaks"]].result.rule == f"{n_auth}.3"
    assert "not available" in verdicts[names["carol_speaks"]].result.reason
    join_rule = verdicts[names["bob_join"]].result.rule
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
    proc = roomscope("auth", str(path))
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
    join = build_event(
        v,
        type="m.room.member",
        sender=ALICE,
        content={"membership": "join"},
        state_key=ALICE,
        room_id="!r:a",
        prev_events=("$create:a",),
        auth_events=("$create:a",),
        event_id="$join:a",
    )
    # Two power-levels events by the joined creator that cite each other: without
    # the cycle each would pass (a type the selection allows, levels she may set),
    # so only the cycle can reject them.
    common = {
        "room_id": "!r:a",
        "sender": ALICE,
        "type": "m.room.power_levels",
        "state_key": "",
        "prev_events": ("$join:a",),
    }
    a = build_event(
        v,
        content={"users": {ALICE: 100}},
        auth_events=("$create:a", "$join:a", "$b:a"),
        event_id="$a:a",
        **common,  # type: ignore[arg-type]
    )
    b = build_event(
        v,
        content={"users": {ALICE: 100}},
        auth_events=("$create:a", "$join:a", "$a:a"),
        event_id="$b:a",
        **common,  # type: ignore[arg-type]
    )
    graph = EventGraph.build([create, join, a, b], room_version=v)
    verdicts = event_verdicts(graph)
    assert not verdicts["$create:a"].rejected and not verdicts["$join:a"].rejected
    assert verdicts["$a:a"].rejected and verdicts["$b:a"].rejected
    reasons = {verdicts[e].result.reason for e in ("$a:a", "$b:a")}
    assert any("cycle" in r for r in reasons)


@pytest.mark.parametrize("version", ["1", "10", "12"])
def test_event_that_passes_its_auth_events_but_not_the_state_before_is_rejected(
    version: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Server-server API, checks on receipt of a PDU: step 5 ("passes authorization
    rules based on the state before the event, otherwise it is rejected").

    Bob joins a public room, Alice bans him, then Bob speaks after the ban while
    citing only his join: his auth events allow it, the state before it does not.
    """
    v, create, room_id, c = _create(version)
    events = [create]

    def add(auth: list[PDU], **kw: object) -> PDU:
        ev = build_event(
            v,
            room_id=room_id,
            prev_events=(events[-1].event_id,),
            auth_events=tuple(c + [a.event_id for a in auth]),
            depth=len(events) + 1,
            origin_server_ts=len(events) + 1,
            known_events={e.event_id: e for e in events},
            **kw,  # type: ignore[arg-type]
        )
        events.append(ev)
        return ev

    member = {"type": "m.room.member", "content": {"membership": "join"}}
    alice = add([], sender=ALICE, state_key=ALICE, **member)
    users = {} if v.privileged_creators else {ALICE: 100}
    pl = add(
        [alice], type="m.room.power_levels", sender=ALICE, state_key="", content={"users": users}
    )
    jr = add(
        [alice, pl],
        type="m.room.join_rules",
        sender=ALICE,
        state_key="",
        content={"join_rule": "public"},
    )
    bob = add([pl, jr], sender=BOB, state_key=BOB, **member)
    add(
        [alice, pl, bob],
        type="m.room.member",
        sender=ALICE,
        state_key=BOB,
        content={"membership": "ban"},
    )
    speaks = add([pl, bob], type="m.room.message", sender=BOB, content={"body": "still here?"})

    graph = EventGraph.build(events, room_version=v)
    verdicts = event_verdicts(graph)
    assert [e for e, verdict in verdicts.items() if verdict.rejected] == [speaks.event_id]
    assert verdicts[speaks.event_id].stage == "state before"

    path = tmp_path / "room.json"
    doc = {"room_version": version, "events": [dict(e.raw) for e in events]}
    path.write_text(json.dumps(doc))
    assert main(["auth", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [e for e, reason in out.items() if reason is not None] == [speaks.event_id]
    assert out[speaks.event_id].endswith("[against the state before it]")
