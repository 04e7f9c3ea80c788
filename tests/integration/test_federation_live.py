"""A live partition between two real Synapse servers, healed, checked against roomscope.

Two homeservers (``localhost:PORT`` names) federate through the recorder's
partition proxy (tools/federation). The scenario is "a demotion beats the
moderator's ban" in room version 12: the network is cut, the admin on hs1
demotes the moderator while the moderator, on hs2, bans a user and sets the
topic; the proxy is healed, each side speaks once and the servers converge.
roomscope then fetches the room from both servers and:

- every event ID, content hash and signature verifies with the fetched keys;
- roomscope's resolved state at the forward extremities equals each server's
  client API ``GET /rooms/{roomId}/state``, and the extremities are the servers';
- during the partition the two servers really had different events (the proxy
  refused requests both ways), and roomscope's state at each server's
  extremities then was that server's reported state;
- each server soft failed (by its database) what roomscope soft fails taking the
  events in that server's order of receipt;
- the demotion won (the spec's ordering of power events by sender power:
  https://spec.matrix.org/v1.16/rooms/v2/#state-resolution).

About 20-40 s on a 2-core machine (two Synapse start-ups dominate).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.roomstate import RoomStates
from app.core.verify import verify_events
from tests.integration.synapse_server import synapse_available

pytestmark = pytest.mark.integration


def test_a_healed_partition_ends_in_roomscopes_resolution(tmp_path: Path) -> None:
    if not synapse_available():
        pytest.skip("matrix-synapse is not installed")
    from tools.federation.harness import Federation
    from tools.federation.scenarios import build_room, demotion_wins

    with Federation(tmp_path, ("hs1", "hs2")) as fed:
        fed.start()
        rec = demotion_wins(fed, "12")
        room = build_room(rec)
        servers_state = {
            label: {
                (e["type"], e["state_key"], e["event_id"])
                for e in fed.nodes[label].users[user].room_state(rec.room_id)
            }
            for label, user in (("hs1", "alice"), ("hs2", "bob"))
        }
        servers_extremities = {
            label: fed.extremities(label, rec.room_id) for label in servers_state
        }
        refused = dict(fed.proxy.refused)
        names = {label: fed.name(label) for label in ("hs1", "hs2")}

    # The cut was real: requests were refused both ways.
    assert refused.get((names["hs1"], names["hs2"]), 0) > 0, refused
    assert refused.get((names["hs2"], names["hs1"]), 0) > 0, refused

    # Every event verifies with the keys the fetcher brought.
    assert {pdu.server_name for pdu in room.events.values()} == set(names.values())
    for result in verify_events(room.events.values(), room.server_keys):
        assert (result.event_id_result, result.content_hash, result.signatures) == (
            "ok",
            "ok",
            "ok",
        ), result.as_json()

    # roomscope's state at the extremities is every server's /rooms/{roomId}/state.
    states = RoomStates(room.graph)
    extremities = sorted(room.graph.forward_extremities)
    ours = {(t, k, e) for (t, k), e in states.resolve_at(extremities).state.items()}
    for label, theirs in servers_state.items():
        assert servers_extremities[label] == extremities, label
        assert theirs == ours, (label, theirs ^ ours)

    # During the partition each server lacked the other's events, and reported the
    # state roomscope resolves at that server's extremities then.
    during = {label: snaps[0] for label, snaps in rec.snapshots.items()}
    assert set(during["hs1"]["events"]) - set(during["hs2"]["events"])
    assert set(during["hs2"]["events"]) - set(during["hs1"]["events"])
    for label, snap in during.items():
        at = states.resolve_at(snap["forward_extremities"]).state
        assert {(t, k, e) for (t, k), e in at.items()} == {tuple(r) for r in snap["state"]}, label

    # Each server soft failed what roomscope soft fails in that server's order of receipt.
    from app.core.servers import receipt_order, server_views

    for view in server_views(room.annotations):
        ordered = RoomStates(version=room.room_version)
        for event_id in receipt_order(view, room.events):
            ordered.add(room.events[event_id])
        assert set(ordered.soft_failures()) == view.soft_failed, view.label
        assert not ordered.rejected and not view.rejected

    # The demotion won over the moderator's ban and topic.
    labels = {name: event_id for event_id, name in room.annotations["labels"].items()}
    final = dict(states.resolve_at(extremities).state)
    assert final[("m.room.power_levels", "")] == labels["alice demotes bob (hs1)"]
    ban = room.events[labels["bob bans dave (hs2)"]]
    assert ban.membership == "ban"
    assert final[("m.room.member", ban.state_key or "")] != ban.event_id
    assert final.get(("m.room.topic", "")) != labels["bob's topic (hs2)"]
