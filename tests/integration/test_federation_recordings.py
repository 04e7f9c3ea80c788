"""The rooms recorded from real federation (sample_rooms/fed-*.json), checked offline.

tools/record_federation.py ran Synapse servers behind a partition proxy and kept,
per server, what it had during each partition and the state it reported after
healing (``annotations["servers"]``). Here, with no server running:

- every event ID, content hash and signature verifies with the file's keys, and
  every server that sent an event has its keys in the file;
- the state every server reported after healing is roomscope's resolution at the
  room's forward extremities, and each server's reported extremities are the graph's;
- the state each server reported *during* a partition is roomscope's resolution at
  the forward extremities that server reported then: roomscope agrees with Synapse
  on the diverged copies too, not only on the healed room;
- each server soft failed exactly the events roomscope soft fails when it takes the
  events in the order that server stored them (its database's ``stream_ordering``;
  :func:`~app.core.servers.receipt_order`, outliers included: they are the auth
  events the rest are checked with), and rejected what roomscope rejects then;
- the partitions were real: two servers' snapshots of the same moment differ, each
  holding events the other lacked;
- the stories' outcomes follow the spec's state resolution: the demotion beats the
  moderator's ban and topic, the join racing "invite" fails, the room renamed after
  its creator's server left keeps that name (expected values from the scenarios'
  design and the spec, https://spec.matrix.org/v1.16/rooms/v2/#state-resolution,
  not from roomscope).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from app.core.room import Room
from app.core.roomstate import RoomStates
from app.core.servers import compare_snapshots, receipt_order, server_views
from app.core.verify import verify_events
from app.sources.files import load_room

SAMPLES = Path(__file__).resolve().parents[2] / "sample_rooms"
RECORDED = sorted(p.name for p in SAMPLES.glob("fed-*.json"))

Rows = set[tuple[str, str, str]]


@functools.cache
def room(name: str) -> Room:
    return load_room(SAMPLES / name)


@functools.cache
def states(name: str) -> RoomStates:
    return RoomStates(room(name).graph)


def resolved(name: str, at: list[str]) -> Rows:
    return {(t, k, e) for (t, k), e in states(name).resolve_at(at).state.items()}


def test_enough_recordings_of_both_versions() -> None:
    assert len(RECORDED) >= 5, RECORDED
    versions = {room(n).room_version.identifier for n in RECORDED}
    assert {"10", "12"} <= versions
    for name in RECORDED:
        assert name.endswith(f"-v{room(name).room_version.identifier}.json")
        assert room(name).source["kind"] == "federation-recording"


@pytest.mark.parametrize("name", RECORDED)
def test_every_event_verifies(name: str) -> None:
    r = room(name)
    views = server_views(r.annotations)
    assert len(views) >= 2
    senders = {pdu.server_name for pdu in r.events.values()}
    assert senders <= set(r.server_keys), senders - set(r.server_keys)
    assert senders == {v.server_name for v in views if v.sent}
    for result in verify_events(r.events.values(), r.server_keys):
        assert (result.event_id_result, result.content_hash, result.signatures) == (
            "ok",
            "ok",
            "ok",
        ), result.as_json()


@pytest.mark.parametrize("name", RECORDED)
def test_servers_after_healing_report_roomscopes_resolution(name: str) -> None:
    r = room(name)
    extremities = sorted(r.graph.forward_extremities)
    ours = resolved(name, extremities)
    healed = [v for v in server_views(r.annotations) if v.after_healing is not None]
    assert len(healed) >= 2
    for view in healed:
        assert view.after_healing is not None
        assert sorted(view.after_healing.forward_extremities) == extremities, view.label
        theirs = {(t, k, e) for (t, k), e in view.after_healing.state.items()}
        assert theirs == ours, (view.label, theirs ^ ours)
    assert not states(name).rejected, "Synapse accepted every event it served"


@pytest.mark.parametrize("name", RECORDED)
def test_servers_during_partitions_report_roomscopes_resolution(name: str) -> None:
    r = room(name)
    checked = 0
    for view in server_views(r.annotations):
        for snap in view.snapshots:
            assert snap.events <= set(r.events), (view.label, snap.when)
            assert set(snap.forward_extremities) <= snap.events
            theirs = {(t, k, e) for (t, k), e in snap.state.items()}
            ours = resolved(name, list(snap.forward_extremities))
            assert theirs == ours, (view.label, snap.when, theirs ^ ours)
            checked += 1
    assert checked >= 2


@pytest.mark.parametrize("name", RECORDED)
def test_soft_failures_are_each_servers_in_its_own_order(name: str) -> None:
    r = room(name)
    views = server_views(r.annotations)
    assert any(v.received for v in views)
    for view in views:
        order = receipt_order(view, r.events)
        assert len(order) == len(view.received), view.label
        ours = RoomStates(version=r.room_version)
        for event_id in order:
            ours.add(r.events[event_id])
        assert set(ours.soft_failures()) == view.soft_failed, view.label
        assert ours.rejected == set(view.rejected), view.label


def test_some_server_soft_failed_something() -> None:
    assert any(v.soft_failed for n in RECORDED for v in server_views(room(n).annotations))


@pytest.mark.parametrize("name", [n for n in RECORDED if "creator-offline" not in n])
def test_the_partitions_were_real(name: str) -> None:
    views = server_views(room(name).annotations)
    partitions = {s.when for v in views for s in v.snapshots if "partition" in s.when}
    assert partitions
    for when in partitions:
        having = [v for v in views if v.known_at(when) is not None]
        diverged = False
        for i, a in enumerate(having):
            for b in having[i + 1 :]:
                cmp = compare_snapshots(a, b, when)
                assert cmp is not None
                if cmp.only_first and cmp.only_second:
                    diverged = True
                    assert cmp.state_differs
        assert diverged, when


def _label(name: str, text: str) -> str:
    labels = room(name).annotations["labels"]
    found = [e for e, label in labels.items() if label == text]
    assert len(found) == 1, text
    return found[0]


def _final(name: str) -> dict[tuple[str, str], str]:
    r = room(name)
    return dict(states(name).resolve_at(list(r.graph.forward_extremities)).state)


@pytest.mark.parametrize("name", [n for n in RECORDED if n.startswith("fed-demotion-wins")])
def test_the_demotion_beats_the_ban(name: str) -> None:
    final = _final(name)
    ban = room(name).events[_label(name, "bob bans dave (hs2)")]
    assert ban.membership == "ban"
    assert final[("m.room.power_levels", "")] == _label(name, "alice demotes bob (hs1)")
    assert final[("m.room.member", ban.state_key or "")] != ban.event_id
    assert final.get(("m.room.topic", "")) != _label(name, "bob's topic (hs2)")
    # The ban reached hs1 after the demotion: hs1 soft failed it; hs2 made it.
    views = {v.label: v for v in server_views(room(name).annotations)}
    assert ban.event_id in views["hs1"].soft_failed
    assert ban.event_id not in views["hs2"].soft_failed


@pytest.mark.parametrize("name", [n for n in RECORDED if n.startswith("fed-join-rules-race")])
def test_the_join_racing_invite_only_fails(name: str) -> None:
    final = _final(name)
    join = room(name).events[_label(name, "dave joins (hs2)")]
    assert join.membership == "join"
    assert final[("m.room.join_rules", "")] == _label(name, "alice: invite only (hs1)")
    assert final.get(("m.room.member", join.state_key or "")) != join.event_id


@pytest.mark.parametrize("name", [n for n in RECORDED if n.startswith("fed-creator-offline")])
def test_the_room_outlives_its_creator(name: str) -> None:
    r = room(name)
    views = {v.label: v for v in server_views(r.annotations)}
    assert views["hs1"].offline and views["hs1"].after_healing is None
    creator = r.graph.create_event
    assert creator is not None and creator.server_name == views["hs1"].server_name
    gone = max(s.at_ms or 0 for s in views["hs1"].snapshots)
    later = [
        e
        for e in r.events.values()
        if e.origin_server_ts > gone and e.server_name != creator.server_name
    ]
    assert any(
        e.type == "m.room.member" and e.server_name == views["hs3"].server_name for e in later
    )
    assert not any(e.server_name == creator.server_name for e in later if e.origin_server_ts > gone)
    assert _final(name)[("m.room.name", "")] == _label(name, "charlie names the room (hs3)")
