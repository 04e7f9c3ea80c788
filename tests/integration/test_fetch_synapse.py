"""Fetch rooms from a real Synapse and check the graph against Synapse itself.

For room versions 10 and 12: users are registered, a room with an alias gets
messages and state changes (topic, power levels, a kick, a ban), and roomscope
fetches it by alias. As a server admin the graph must reach the create event
with nothing missing, every event ID, content hash and signature must verify
with the keys fetched alongside, and the state at the forward extremity must
equal Synapse's ``GET /rooms/{id}/state``. As an ordinary member who joined
late (history visibility "joined"), the fetch must say what it could not see,
and what it did see must be the same PDUs.
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import cli
from app.core.events import PDU, parse_pdu
from app.core.graph import EventGraph
from app.core.roomstate import RoomStates
from app.core.verify import verify_event
from app.core.versions import room_version
from app.sources.homeserver import Credentials, FetchResult, fetch_room
from tests.integration.synapse_server import Client, SynapseServer

pytestmark = pytest.mark.integration

VERSIONS = ("10", "12")


@dataclass
class People:
    alice: Client  # server admin, creates the rooms
    bob: Client
    carol: Client  # joins late
    dave: Client  # kicked, then banned


@dataclass
class Scenario:
    version: str
    room_id: str
    alias: str
    dave_kick: str
    dave_ban: str
    carol_join: str


@pytest.fixture(scope="module")
def people(synapse: SynapseServer) -> People:
    return People(
        alice=synapse.register("alice", admin=True),
        bob=synapse.register("bob"),
        carol=synapse.register("carol"),
        dave=synapse.register("dave"),
    )


def _event_id_of_latest_member(client: Client, room_id: str, user_id: str) -> str:
    state = client.room_state(room_id)
    for ev in state:
        if ev["type"] == "m.room.member" and ev["state_key"] == user_id:
            event_id: str = ev["event_id"]
            return event_id
    raise AssertionError(f"no member event for {user_id}")


@pytest.fixture(scope="module")
def scenarios(synapse: SynapseServer, people: People) -> dict[str, Scenario]:
    out: dict[str, Scenario] = {}
    alice, bob, carol, dave = people.alice, people.bob, people.carol, people.dave
    for version in VERSIONS:
        name = f"scope{version}"
        room_id = alice.create_room(
            room_version=version,
            alias=name,
            initial_state=[
                {
                    "type": "m.room.history_visibility",
                    "state_key": "",
                    "content": {"history_visibility": "joined"},
                }
            ],
        )
        bob.join(room_id)
        dave.join(room_id)
        for i in range(5):
            alice.send_message(room_id, f"hello {i}")
        bob.send_message(room_id, "hi alice")
        alice.set_state(room_id, "m.room.topic", {"topic": "what roomscope sees"})
        levels = alice.get_state(room_id, "m.room.power_levels")
        levels.setdefault("users", {})[bob.user_id] = 50
        alice.set_state(room_id, "m.room.power_levels", levels)
        alice.membership(room_id, "kick", dave.user_id, reason="a kick")
        kick = _event_id_of_latest_member(alice, room_id, dave.user_id)
        dave.join(room_id)
        dave.send_message(room_id, "back again")
        bob.membership(room_id, "ban", dave.user_id, reason="a ban by a moderator")
        ban = _event_id_of_latest_member(alice, room_id, dave.user_id)
        carol.join(f"#{name}:{synapse.server_name}")
        carol_join = _event_id_of_latest_member(alice, room_id, carol.user_id)
        for i in range(3):
            bob.send_message(room_id, f"after carol {i}")
        alice.set_state(room_id, "m.room.topic", {"topic": "the final topic"})
        out[version] = Scenario(
            version, room_id, f"#{name}:{synapse.server_name}", kick, ban, carol_join
        )
    return out


def _pdus(result: FetchResult) -> list[PDU]:
    assert result.room_version is not None
    version = room_version(result.room_version)
    return [parse_pdu(ev, version) for ev in result.events]


def _roomscope_state(graph: EventGraph) -> set[tuple[str, str, str]]:
    """roomscope's state at the forward extremities (``roomscope state`` with no ``--at``).

    The states of every event are computed (:class:`~app.core.roomstate.RoomStates`:
    auth checks and state resolution at each merge), then the states after the
    extremities are resolved, as for the next event a server would send.
    """
    states = RoomStates(graph)
    assert not states.rejected, states.rejected
    resolved = states.resolve_at(list(graph.forward_extremities)).state
    return {(t, k, e) for (t, k), e in resolved.items()}


def _synapse_state(client: Client, room_id: str) -> set[tuple[str, str, str]]:
    return {(e["type"], e["state_key"], e["event_id"]) for e in client.room_state(room_id)}


def _assert_all_verify(pdus: list[PDU], keys: Mapping[str, Mapping[str, str]]) -> None:
    bad = []
    for pdu in pdus:
        v = verify_event(pdu, keys)
        if (v.event_id_result, v.content_hash, v.signatures) != ("ok", "ok", "ok"):
            bad.append((pdu.event_id, pdu.type, v.as_json()))
    assert not bad, bad


@pytest.mark.parametrize("version", VERSIONS)
def test_admin_fetch_by_alias_is_complete_and_verifies(
    synapse: SynapseServer,
    people: People,
    scenarios: dict[str, Scenario],
    version: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sc = scenarios[version]
    out = tmp_path / "room.json"
    monkeypatch.setenv("ROOMSCOPE_ACCESS_TOKEN", people.alice.access_token)
    status = cli.main(["fetch", synapse.base_url, sc.alias, "-o", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert status == 0, summary
    doc = json.loads(out.read_text())
    assert people.alice.access_token not in out.read_text()
    assert doc["room_id"] == sc.room_id and doc["room_version"] == version
    assert doc["source"]["alias"] == sc.alias
    assert doc["source"]["server_admin"] is True
    assert summary["complete"] is True and summary["missing"] == 0

    result = fetch_room(
        synapse.base_url, sc.alias, Credentials(access_token=people.alice.access_token)
    )
    assert result.complete and result.reached_create and not result.missing
    pdus = _pdus(result)
    graph = EventGraph.build(pdus, room_version=room_version(version))
    assert graph.create_event is not None
    assert not graph.missing
    assert not graph.findings, graph.findings
    assert graph.room_id == sc.room_id
    # the forward extremities Synapse's admin API names are the graph's
    assert list(graph.forward_extremities) == result.source["forward_extremities"]

    # every event ID, content hash and signature verifies offline
    assert synapse.server_name in result.server_keys
    _assert_all_verify(pdus, result.server_keys)

    # the kick and the ban are in the graph, as Synapse recorded them
    kick, ban = graph.events[sc.dave_kick], graph.events[sc.dave_ban]
    assert (kick.membership, kick.sender, kick.state_key) == (
        "leave",
        people.alice.user_id,
        people.dave.user_id,
    )
    assert (ban.membership, ban.sender) == ("ban", people.bob.user_id)

    # roomscope's state at the extremity is Synapse's current state
    assert _roomscope_state(graph) == _synapse_state(people.alice, sc.room_id)


@pytest.mark.parametrize("version", VERSIONS)
def test_member_fetch_reports_what_history_visibility_hid(
    synapse: SynapseServer, people: People, scenarios: dict[str, Scenario], version: str
) -> None:
    sc = scenarios[version]
    admin_view = fetch_room(
        synapse.base_url, sc.room_id, Credentials(access_token=people.alice.access_token)
    )
    result = fetch_room(
        synapse.base_url, sc.alias, Credentials(access_token=people.carol.access_token)
    )
    assert result.source["server_admin"] is False
    assert not result.complete and result.missing
    assert any(f"could not be seen by {people.carol.user_id}" in n for n in result.notes)
    carol_ids = {e["event_id"] for e in result.events}
    # she sees her join and everything after it, and the current state through /sync
    assert sc.carol_join in carol_ids
    after = [
        e["event_id"]
        for e in admin_view.events
        if e["depth"]
        >= next(x["depth"] for x in admin_view.events if x["event_id"] == sc.carol_join)
    ]
    assert set(after) <= carol_ids
    # ... and not the messages sent before she joined
    early = [e for e in admin_view.events if e["content"].get("body") == "hello 0"]
    assert early and early[0]["event_id"] not in carol_ids
    # the same PDUs the admin got (unsigned differs per viewer), and they verify
    by_id = {e["event_id"]: e for e in admin_view.events}
    for ev in result.events:
        sent = {k: v for k, v in ev.items() if k != "unsigned"}
        assert sent == {k: v for k, v in by_id[ev["event_id"]].items() if k != "unsigned"}
    _assert_all_verify(_pdus(result), result.server_keys)


def test_password_login_and_extend(
    synapse: SynapseServer, people: People, scenarios: dict[str, Scenario]
) -> None:
    sc = scenarios["10"]
    first = fetch_room(
        synapse.base_url, sc.alias, Credentials(user="alice", password="secret-password")
    )
    assert first.complete
    new_id = people.bob.send_message(sc.room_id, "one more")
    again = fetch_room(
        synapse.base_url,
        sc.alias,
        Credentials(access_token=people.alice.access_token),
        existing=first.to_document(),
    )
    assert again.complete
    assert {e["event_id"] for e in again.events} == {e["event_id"] for e in first.events} | {new_id}
    assert again.source["requests"] < first.source["requests"] + 5


def test_not_a_member_and_not_an_admin_is_told_why(synapse: SynapseServer, people: People) -> None:
    room_id = people.alice.create_room(room_version="10", preset="private_chat")
    with pytest.raises(Exception, match=r"may not see the history of .*M_FORBIDDEN"):
        fetch_room(synapse.base_url, room_id, Credentials(access_token=people.carol.access_token))


@pytest.mark.parametrize("version", VERSIONS)
def test_forked_room_state_agrees_with_synapse(
    synapse: SynapseServer, people: People, version: str
) -> None:
    """Concurrent senders make Synapse fork and merge the graph (several events
    created against the same extremities); conflicting topics and names across
    the branches are resolved by Synapse, and roomscope must resolve them alike."""
    alice, bob, carol = people.alice, people.bob, people.carol
    room_id = alice.create_room(room_version=version, preset="public_chat")
    bob.join(room_id)
    carol.join(room_id)
    levels = alice.get_state(room_id, "m.room.power_levels")
    levels.setdefault("users", {}).update({bob.user_id: 100, carol.user_id: 50})
    alice.set_state(room_id, "m.room.power_levels", levels)

    def burst(i: int) -> None:
        who = (alice, bob, carol)[i % 3]
        if i % 4 == 0:
            who.set_state(room_id, "m.room.topic", {"topic": f"topic {i}"})
        elif i % 4 == 1:
            who.set_state(room_id, "m.room.name", {"name": f"name {i}"})
        else:
            who.send_message(room_id, f"burst {i}")

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(burst, range(48)))

    result = fetch_room(synapse.base_url, room_id, Credentials(access_token=alice.access_token))
    assert result.complete
    pdus = _pdus(result)
    graph = EventGraph.build(pdus, room_version=room_version(version))
    assert not graph.missing and not graph.findings
    _assert_all_verify(pdus, result.server_keys)
    assert _roomscope_state(graph) == _synapse_state(alice, room_id)
    # not a vacuous check: the sends really forked the graph (Synapse lets a few
    # event creations in one room run at once), or say so
    if not graph.merges:
        pytest.skip("the concurrent sends did not fork the graph this time")
