"""The scripted stories, each run on real federating Synapse servers and recorded.

A scenario function takes a running :class:`~tools.federation.harness.Federation`
and a room version and returns a :class:`Recording`: the room as every server
has it (fetched with roomscope's fetcher), what each server had while the
network was cut (snapshots), the state each reported after healing, labels for
the events and lesson notes. :func:`build_room` turns it into a native room file
with those in ``annotations`` (the format is in sample_rooms/README.md,
"Recorded from real federation").

The lesson notes say who won from the servers' *reported* states, not from
roomscope's resolution: the recordings test (tests/integration/
test_federation_recordings.py) then checks roomscope against them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.room import Room
from app.core.roomstate import RoomStates
from app.sources.homeserver import FetchResult
from tests.integration.synapse_server import Client
from tools.federation.harness import Federation

__all__ = ["SCENARIOS", "Recording", "build_room"]

TOPIC = ("m.room.topic", "")
NAME = ("m.room.name", "")
POWER = ("m.room.power_levels", "")
JOIN_RULES = ("m.room.join_rules", "")


@dataclass
class Recording:
    """Everything a scenario learnt; :func:`build_room` writes it as a room file."""

    key: str
    version: str
    fed: Federation
    room_id: str = ""
    title: str = ""
    summary: str = ""
    teaches: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)
    resolve_at: list[str] = field(default_factory=list)
    snapshots: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    after_healing: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetches: dict[str, FetchResult] = field(default_factory=dict)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    participants: dict[str, list[str]] = field(default_factory=dict)
    offline: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.time)

    # -- during the run --------------------------------------------------------------

    def step(self, text: str) -> None:
        self.timeline.append({"at_ms": int(time.time() * 1000), "text": text})
        self.fed.log(f"[{self.key} v{self.version}] {text}")

    def label(self, event_id: str, name: str) -> str:
        self.labels[event_id] = name
        return event_id

    def member(self, label: str, client: Client) -> Client:
        users = self.participants.setdefault(self.fed.name(label), [])
        if client.user_id not in users:
            users.append(client.user_id)
        return client

    def in_room(self) -> list[str]:
        """Labels of the online servers with users in the room."""
        return [label for label in self.fed.online() if self.fed.name(label) in self.participants]

    def snapshot(self, labels: list[str], when: str) -> None:
        for label in labels:
            snap = self.fed.snapshot(label, self.room_id, when)
            self.snapshots.setdefault(label, []).append(snap)
        self.step(f"snapshot ({when}): " + ", ".join(labels))

    def settle(self, speakers: Mapping[str, Client], note: str = "after healing") -> list[str]:
        sent = self.fed.settle(self.room_id, speakers, labels=self.in_room(), note=note)
        for event_id, (label, client) in zip(sent, speakers.items(), strict=False):
            self.label(event_id, f"{_local(client.user_id)}: {note} ({label})")
        self.step(f"healed and converged ({note})")
        return sent

    def finish(self) -> None:
        """Record each online server's state after healing and fetch the room from it;
        read every participating server's database (what it stored, in which order,
        what it soft failed or rejected), offline ones too."""
        for label, node in self.fed.nodes.items():
            if node.name in self.participants:
                self.stored[label] = self.fed.stored(label, self.room_id)
        for label in self.in_room():
            self.after_healing[label] = {
                "at_ms": int(time.time() * 1000),
                "forward_extremities": self.fed.extremities(label, self.room_id),
                "state": [list(row) for row in self.fed.state(label, self.room_id)],
            }
            self.fetches[label] = self.fed.fetch(label, self.room_id)
        self.step("fetched from " + ", ".join(self.fetches))

    # -- reading the outcome ---------------------------------------------------------

    def final_state(self) -> dict[tuple[str, str], str]:
        """The state every server reported after healing (they agree; checked)."""
        states = [tuple(map(tuple, v["state"])) for v in self.after_healing.values()]
        assert states and all(s == states[0] for s in states), "servers disagree"
        return {(t, k): e for t, k, e in states[0]}


def _local(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]


def _levels(rec: Recording, creator: Client, users: Mapping[str, int]) -> dict[str, Any]:
    """A power levels override: the creator is 100 up to v11; in v12 creators are not
    listed (MSC4289: their power is infinite)."""
    listed = dict(users)
    if rec.version != "12":
        listed = {creator.user_id: 100, **listed}
    return {"users": listed}


def _create(
    rec: Recording,
    creator_label: str,
    creator: Client,
    members: list[tuple[str, Client]],
    powers: Mapping[str, int],
) -> None:
    fed = rec.fed
    rec.member(creator_label, creator)
    rec.room_id = creator.create_room(
        room_version=rec.version,
        preset="public_chat",
        power_level_content_override=_levels(rec, creator, powers),
        name="",
    )
    rec.step(f"{creator.user_id} created {rec.room_id} (room version {rec.version})")
    for label, client in members:
        rec.member(label, client)
        fed.join_via(client, rec.room_id, fed.name(creator_label))
        how = "" if label == creator_label else f" over federation, through {creator_label}"
        rec.step(f"{client.user_id} joined{how}")
    labels = [creator_label, *[label for label, _ in members]]
    for _, client in members:
        fed.wait_joined(rec.room_id, client.user_id, dict.fromkeys(labels))


def _who(rec: Recording, event_id: str) -> str:
    return rec.labels.get(event_id, event_id)


def _soft_failures(rec: Recording) -> str:
    """A sentence on what each server soft failed (from its database), or ""."""
    parts = []
    for label, stored in rec.stored.items():
        names = [_who(rec, e) for e in stored.get("soft_failed", [])]
        if names:
            parts.append(f"{label} soft failed " + " and ".join(f"'{n}'" for n in names))
    if not parts:
        return ""
    return (
        " Soft failure, as the servers' databases record it: "
        + "; ".join(parts)
        + ". Those events arrived after the change that forbids them and failed against "
        "that server's current state, so they never became part of it there, although "
        "they are accepted in the graph "
        "(https://spec.matrix.org/v1.16/server-server-api/#soft-failure)."
    )


def concurrent_topic_name(fed: Federation, version: str) -> Recording:
    rec = Recording("concurrent-topic-name", version, fed)
    alice, bob = fed.user("hs1", "alice"), fed.user("hs2", "bob")
    _create(rec, "hs1", alice, [("hs2", bob)], {bob.user_id: 50})
    hello = rec.label(alice.send_message(rec.room_id, "hello bob"), "alice: hello")
    fed.wait_for_events(rec.room_id, [hello], ["hs1", "hs2"])

    fed.cut(["hs1"], ["hs2"])
    rec.step("cut: hs1 | hs2")
    a_topic = rec.label(
        alice.set_state(rec.room_id, "m.room.topic", {"topic": "Alice's topic"}), "topic (hs1)"
    )
    time.sleep(0.05)
    b_topic = rec.label(
        bob.set_state(rec.room_id, "m.room.topic", {"topic": "Bob's topic"}), "topic (hs2)"
    )
    time.sleep(0.05)
    rec.label(bob.set_state(rec.room_id, "m.room.name", {"name": "Bob's room"}), "name (hs2)")
    time.sleep(0.05)
    a_name = rec.label(
        alice.set_state(rec.room_id, "m.room.name", {"name": "Alice's room"}), "name (hs1)"
    )
    rec.label(bob.send_message(rec.room_id, "is anyone there?"), "bob: anyone there?")
    rec.snapshot(["hs1", "hs2"], "during the partition")
    merge = rec.settle({"hs1": alice, "hs2": bob})
    rec.finish()

    final = rec.final_state()
    topic_won = "Alice's" if final.get(TOPIC) == a_topic else "Bob's"
    name_won = "Alice's" if final.get(NAME) == a_name else "Bob's"
    rec.title = f"Real federation: concurrent topic and name changes (room version {version})"
    rec.summary = (
        "Two Synapse servers, cut off from each other, each change the room's topic and "
        "name. Each server accepts its own changes and, cut off, cannot see the other's: "
        "the graph forks. After healing, each side's next message names the other side's "
        "missing events in its prev_events; the servers fetch them and resolve the two "
        "states. Both topics "
        "and both names were sent by users whose power comes from the same power levels "
        "event (same mainline position), so state resolution v2 orders each pair by "
        "origin_server_ts and the later one wins: here "
        f"{topic_won} topic and {name_won} name, on every server."
    )
    rec.teaches = "a real fork between two servers; mainline order, then timestamps"
    rec.notes = [
        (hello, "Both servers have every event up to here: the last common ancestor."),
        (
            a_topic,
            "hs1 sets a topic while the network is cut: hs2 will not have this "
            "event until the partition heals (compare the servers' snapshots).",
        ),
        (
            b_topic,
            "Meanwhile hs2 sets its own topic: the same state key, two values, on two branches.",
        ),
        (a_name, "hs1 renames the room after hs2 did: the later name."),
        (
            merge[0],
            "After healing, hs1 speaks first; hs2 fetches hs1's branch through "
            "this event's prev_events and now has both branches.",
        ),
        (
            merge[-1],
            f"hs2's message merges the branches: state resolution picks "
            f"{topic_won} topic and {name_won} name (the later of each pair), and both servers "
            "report that state.",
        ),
    ]
    rec.resolve_at = [merge[-1]]
    return rec


def demotion_wins(fed: Federation, version: str) -> Recording:
    rec = Recording("demotion-wins", version, fed)
    alice, bob = fed.user("hs1", "alice"), fed.user("hs2", "bob")
    dave = fed.user("hs1", "dave")
    _create(rec, "hs1", alice, [("hs2", bob), ("hs1", dave)], {bob.user_id: 50})
    hello = rec.label(dave.send_message(rec.room_id, "hi all"), "dave: hi")
    fed.wait_for_events(rec.room_id, [hello], ["hs1", "hs2"])

    fed.cut(["hs1"], ["hs2"])
    rec.step("cut: hs1 | hs2")
    levels = alice.get_state(rec.room_id, "m.room.power_levels")
    levels.setdefault("users", {}).pop(bob.user_id, None)
    demote = rec.label(
        alice.set_state(rec.room_id, "m.room.power_levels", levels), "alice demotes bob (hs1)"
    )
    bob.membership(rec.room_id, "ban", dave.user_id, reason="banned on the other side")
    ban = next(
        row[2]
        for row in fed.state("hs2", rec.room_id)
        if row[0] == "m.room.member" and row[1] == dave.user_id
    )
    rec.label(ban, "bob bans dave (hs2)")
    topic = rec.label(
        bob.set_state(rec.room_id, "m.room.topic", {"topic": "Bob rules now"}),
        "bob's topic (hs2)",
    )
    rec.snapshot(["hs1", "hs2"], "during the partition")
    merge = rec.settle({"hs1": alice, "hs2": bob})
    rec.finish()

    final = rec.final_state()
    assert final.get(POWER) == demote, "the demotion did not win"
    dave_after = final.get(("m.room.member", dave.user_id))
    rec.title = f"Real federation: a demotion beats the moderator's ban (room version {version})"
    rec.summary = (
        "The admin on hs1 demotes the moderator while, on hs2 and cut off from hs1, the "
        "moderator bans a user and sets the topic. Each server accepts what it sees. After "
        "healing, state resolution v2 replays the power events first, ordered by their "
        "senders' power (the admin's demotion before the moderator's ban), and checks each "
        "against the state so far: once demoted, the moderator may neither ban nor set the "
        "topic, so the ban and the topic fall out of the resolved state on both servers. "
        "They stay in the graph, accepted: they were valid where and when they were made; "
        "they lose at the merge." + _soft_failures(rec)
    )
    rec.teaches = "power events first, by sender power; the demotion wins over the ban"
    rec.notes = [
        (hello, "dave is in the room; bob is a moderator (power 50), alice the admin."),
        (demote, "hs1: alice removes bob's power (the power levels no longer list him)."),
        (
            ban,
            "hs2, at the same time: bob, still a moderator in hs2's view, bans dave. "
            "Valid against its auth events.",
        ),
        (topic, "bob also sets the topic on hs2."),
        (
            merge[-1],
            "The merge: the demotion is applied first, then bob's ban and topic are "
            "checked against it and fail. dave is "
            f"{'still joined' if dave_after != ban else 'banned'}, and the topic "
            f"{'is not set' if final.get(TOPIC) is None else 'is ' + _who(rec, final[TOPIC])}.",
        ),
    ]
    rec.resolve_at = [merge[-1], merge[0]]
    return rec


def join_rules_race(fed: Federation, version: str) -> Recording:
    rec = Recording("join-rules-race", version, fed)
    alice, bob = fed.user("hs1", "alice"), fed.user("hs2", "bob")
    dave = fed.user("hs2", "dave")
    _create(rec, "hs1", alice, [("hs2", bob)], {})
    hello = rec.label(bob.send_message(rec.room_id, "a public room"), "bob: public room")
    fed.wait_for_events(rec.room_id, [hello], ["hs1", "hs2"])

    fed.cut(["hs1"], ["hs2"])
    rec.step("cut: hs1 | hs2")
    invite_only = rec.label(
        alice.set_state(rec.room_id, "m.room.join_rules", {"join_rule": "invite"}),
        "alice: invite only (hs1)",
    )
    rec.member("hs2", dave)
    dave.join(rec.room_id)  # hs2 is in the room: a local join, hs1 not asked
    join = next(
        row[2]
        for row in fed.state("hs2", rec.room_id)
        if row[0] == "m.room.member" and row[1] == dave.user_id
    )
    rec.label(join, "dave joins (hs2)")
    said = rec.label(dave.send_message(rec.room_id, "I'm in!"), "dave: I'm in")
    rec.snapshot(["hs1", "hs2"], "during the partition")
    merge = rec.settle({"hs1": alice, "hs2": bob})
    rec.finish()

    final = rec.final_state()
    assert final.get(JOIN_RULES) == invite_only
    dave_member = final.get(("m.room.member", dave.user_id))
    rec.title = f"Real federation: a join races invite-only (room version {version})"
    rec.summary = (
        "hs1 makes the room invite-only while, cut off from it, a user of hs2 joins the "
        "still public room through hs2. hs2 accepts the join: by the state it knows the "
        "room is public. After healing, state resolution v2 applies the join rules change "
        "first (a power event) and then checks the join against it: the join fails, so the "
        "user is not a member in the resolved state on either server, although the join "
        "and its message stay in the graph. This is Synapse's 'join rule evasion' test, "
        "happening for real." + _soft_failures(rec)
    )
    rec.teaches = "a join racing a join rules change is re-checked and fails"
    rec.notes = [
        (hello, "The room is public; both servers agree."),
        (invite_only, "hs1: alice makes the room invite only; hs2 cannot hear it."),
        (join, "hs2: dave joins. For hs2 the room is still public: the join is valid."),
        (said, "dave even speaks, on hs2's branch."),
        (
            merge[-1],
            "The merge: the join rules are applied before dave's join, which fails "
            "against 'invite'. dave is "
            + ("a member on no server." if dave_member != join else "still joined everywhere."),
        ),
    ]
    rec.resolve_at = [merge[-1]]
    return rec


def creator_offline(fed: Federation, version: str) -> Recording:
    rec = Recording("creator-offline", version, fed)
    alice, bob = fed.user("hs1", "alice"), fed.user("hs2", "bob")
    charlie = fed.user("hs3", "charlie")
    _create(rec, "hs1", alice, [("hs2", bob)], {bob.user_id: 100})
    last = rec.label(alice.send_message(rec.room_id, "I have to go"), "alice: I have to go")
    fed.wait_for_events(rec.room_id, [last], ["hs1", "hs2"])
    rec.snapshot(["hs1", "hs2"], "before hs1 goes offline")
    creator_fetch = fed.fetch("hs1", rec.room_id)

    fed.take_offline("hs1")
    rec.offline.add("hs1")
    rec.step("hs1, the creator's server, went offline for good")
    topic = rec.label(
        bob.set_state(rec.room_id, "m.room.topic", {"topic": "Life goes on"}), "bob's topic"
    )
    bob.send_message(rec.room_id, "hs1 is gone, the room is not")
    rec.member("hs3", charlie)
    fed.join_via(charlie, rec.room_id, fed.name("hs2"))
    fed.wait_joined(rec.room_id, charlie.user_id, ["hs2", "hs3"])
    join = next(
        row[2]
        for row in fed.state("hs2", rec.room_id)
        if row[0] == "m.room.member" and row[1] == charlie.user_id
    )
    rec.label(join, "charlie joins via hs2 (hs3)")
    rec.step(f"{charlie.user_id} joined through hs2")
    levels = bob.get_state(rec.room_id, "m.room.power_levels")
    levels.setdefault("users", {})[charlie.user_id] = 50
    promote = rec.label(
        bob.set_state(rec.room_id, "m.room.power_levels", levels), "bob promotes charlie"
    )
    fed.wait_for_events(rec.room_id, [promote], ["hs2", "hs3"])
    name = rec.label(
        charlie.set_state(rec.room_id, "m.room.name", {"name": "Without its origin"}),
        "charlie names the room (hs3)",
    )
    fed.wait_for_events(rec.room_id, [name], ["hs2", "hs3"])
    merge = rec.settle({"hs2": bob, "hs3": charlie}, note="still here")
    rec.snapshot(["hs2", "hs3"], "after hs1 left")
    rec.finish()
    rec.fetches["hs1"] = creator_fetch

    final = rec.final_state()
    assert final.get(NAME) == name
    rec.title = f"Real federation: the room lives on without its creator (room version {version})"
    rec.summary = (
        "The room is created on hs1, which then goes offline for good. The room does not "
        "belong to hs1: hs2 holds the same events, and its user, given power 100 by the "
        "creator earlier, changes the state and lets a third server in. hs3 joins through "
        "hs2 (make_join/send_join), gets the room's state and auth chain from hs2 and the "
        "creator's signing key from hs2 as a notary, and changes the state too. hs2 keeps "
        "queueing events for hs1 that will never be delivered."
        + (
            " In room version 12 the creator's infinite power stays with a user whose "
            "server is gone; the room ID is the create event's hash, not a hs1 name."
            if version == "12"
            else ""
        )
    )
    rec.teaches = "a room is replicated: it outlives the server that created it"
    rec.notes = [
        (last, "The creator's last event: after this hs1 is gone (see hs1's snapshot)."),
        (topic, "hs2's user, power 100 from before, changes the topic: no need for hs1."),
        (
            join,
            "A new server joins through hs2; hs1, the creator's server, cannot be "
            "reached and is not needed.",
        ),
        (promote, "State keeps changing: power for the newcomer."),
        (name, "hs3, which never talked to hs1, names the room."),
        (merge[-1], "hs2 and hs3 agree on the state; hs1 never sees any of this."),
    ]
    rec.resolve_at = [merge[-1]]
    return rec


def three_way(fed: Federation, version: str) -> Recording:
    rec = Recording("three-servers", version, fed)
    alice, bob = fed.user("hs1", "alice"), fed.user("hs2", "bob")
    charlie = fed.user("hs3", "charlie")
    _create(
        rec,
        "hs1",
        alice,
        [("hs2", bob), ("hs3", charlie)],
        {bob.user_id: 50, charlie.user_id: 50},
    )
    hello = rec.label(alice.send_message(rec.room_id, "three servers"), "alice: three servers")
    fed.wait_for_events(rec.room_id, [hello], ["hs1", "hs2", "hs3"])

    # Round 1: hs3 alone.
    fed.cut(["hs1", "hs2"], ["hs3"])
    rec.step("round 1 cut: hs1,hs2 | hs3")
    t1 = rec.label(
        alice.set_state(rec.room_id, "m.room.topic", {"topic": "Round 1: from hs1"}),
        "round 1 topic (hs1)",
    )
    t3 = rec.label(
        charlie.set_state(rec.room_id, "m.room.topic", {"topic": "Round 1: from hs3"}),
        "round 1 topic (hs3)",
    )
    n2 = rec.label(
        bob.set_state(rec.room_id, "m.room.name", {"name": "Round 1: named by hs2"}),
        "round 1 name (hs2)",
    )
    fed.wait_for_events(rec.room_id, [t1, n2], ["hs1", "hs2"])
    rec.snapshot(["hs1", "hs2", "hs3"], "round 1 partition")
    merge1 = rec.settle({"hs3": charlie, "hs1": alice}, note="round 1 healed")
    rec.snapshot(["hs1", "hs2", "hs3"], "round 1 healed")
    round1 = {(t, k): e for t, k, e in fed.state("hs1", rec.room_id)}

    # Round 2: hs1 alone; alice demotes charlie while charlie sets the topic.
    fed.cut(["hs1"], ["hs2", "hs3"])
    rec.step("round 2 cut: hs1 | hs2,hs3")
    levels = alice.get_state(rec.room_id, "m.room.power_levels")
    levels.setdefault("users", {}).pop(charlie.user_id, None)
    demote = rec.label(
        alice.set_state(rec.room_id, "m.room.power_levels", levels),
        "round 2: alice demotes charlie (hs1)",
    )
    c_topic = rec.label(
        charlie.set_state(rec.room_id, "m.room.topic", {"topic": "Round 2: charlie's"}),
        "round 2 topic (hs3)",
    )
    b_name = rec.label(
        bob.set_state(rec.room_id, "m.room.name", {"name": "Round 2: bob's name"}),
        "round 2 name (hs2)",
    )
    fed.wait_for_events(rec.room_id, [c_topic, b_name], ["hs2", "hs3"])
    rec.snapshot(["hs1", "hs2", "hs3"], "round 2 partition")
    merge2 = rec.settle({"hs2": bob, "hs1": alice}, note="round 2 healed")
    rec.finish()

    final = rec.final_state()
    assert final.get(NAME) == b_name, "bob's uncontested name should stay"
    assert final.get(TOPIC) != c_topic, "the demotion should beat charlie's topic"
    topic1 = "hs1's" if round1.get(TOPIC) == t1 else "hs3's"
    rec.title = f"Real federation: three servers, two rounds of forks (room version {version})"
    if TOPIC not in final:
        outcome = (
            "the room is left with no topic at all: the topics in conflict, charlie's "
            "round 1 topic (which hs1 had kept) and charlie's round 2 topic, are both "
            "re-checked against the resolved power levels, and both fail"
        )
    else:
        outcome = f"the topic is {_who(rec, final[TOPIC])}"
    rec.summary = (
        "Three servers. Round 1 cuts hs3 off: hs1 and hs3 each set the topic, hs2 names "
        f"the room; after healing the later topic wins ({topic1}). Round 2 cuts hs1 off: "
        "hs1's admin demotes charlie (hs3) while charlie, in hs2 and hs3's view still a "
        "moderator, sets the topic again, and bob (hs2) renames the room. After healing "
        f"the demotion is applied first; {outcome}. bob's new name, his power untouched, "
        "wins over the older one. Compare what each server had at each snapshot."
        + _soft_failures(rec)
    )
    rec.teaches = "several partitions in a row; a two-against-one split does not outvote"
    rec.notes = [
        (hello, "Three servers, one room; charlie (hs3) and bob (hs2) are moderators."),
        (t3, "Round 1: hs3, cut off, sets the topic; hs1 sets another one on the other side."),
        (merge1[-1], f"Round 1 healed: {topic1} topic won (the later origin_server_ts)."),
        (demote, "Round 2: hs1 is now alone; alice demotes charlie."),
        (c_topic, "hs3 (with hs2) accepts charlie's topic: the demotion has not reached them."),
        (
            merge2[-1],
            f"Round 2 healed: the demotion comes first; {outcome}. "
            "Two servers against one count for nothing: only power does.",
        ),
    ]
    rec.resolve_at = [merge2[-1], merge1[-1]]
    return rec


#: name -> (servers needed, function); in the order they run (creator-offline last:
#: it stops hs1).
SCENARIOS: dict[str, tuple[tuple[str, ...], Callable[[Federation, str], Recording]]] = {
    "concurrent-topic-name": (("hs1", "hs2"), concurrent_topic_name),
    "demotion-wins": (("hs1", "hs2"), demotion_wins),
    "join-rules-race": (("hs1", "hs2"), join_rules_race),
    "three-servers": (("hs1", "hs2", "hs3"), three_way),
    "creator-offline": (("hs1", "hs2", "hs3"), creator_offline),
}


# -- the room file --------------------------------------------------------------------


def _type_label(event: Mapping[str, Any]) -> str:
    kind = str(event.get("type", "?")).removeprefix("m.room.")
    who = _local(str(event.get("sender", "?")))
    if kind == "member":
        return f"{_local(str(event.get('state_key', '?')))} {event['content'].get('membership')}"
    if kind == "message":
        return f"{who}: {str(event['content'].get('body', ''))[:24]}"
    return f"{kind.replace('_', ' ')} ({who})"


def build_room(rec: Recording) -> Room:
    """The recording as a :class:`Room` with its annotations (save with ``save_room``)."""
    fed = rec.fed
    events: dict[str, Mapping[str, Any]] = {}
    keys: dict[str, dict[str, str]] = {}
    for result in rec.fetches.values():
        for pdu in result.to_room().events.values():
            events.setdefault(pdu.event_id, pdu.raw)
        for server, server_keys in result.server_keys.items():
            keys.setdefault(server, {}).update(server_keys)
    order = sorted(events, key=lambda e: (int(events[e].get("depth", 0)), e))
    labels: dict[str, str] = {}
    used: set[str] = set()
    for event_id in order:
        name = rec.labels.get(event_id) or _type_label(events[event_id])
        base, n = name, 2
        while name in used:
            name, n = f"{base} #{n}", n + 1
        used.add(name)
        labels[event_id] = name
    servers: dict[str, Any] = {}
    for node in fed.nodes.values():
        if node.name not in rec.participants:
            continue
        sent = [e for e in order if str(events[e].get("sender", "")).partition(":")[2] == node.name]
        entry: dict[str, Any] = {
            "label": node.label,
            "users": rec.participants[node.name],
            "sent": sent,
            "snapshots": rec.snapshots.get(node.label, []),
        }
        if node.label in rec.after_healing:
            entry["after_healing"] = rec.after_healing[node.label]
        entry.update(rec.stored.get(node.label, {}))
        if node.label in rec.offline:
            entry["offline"] = True
        servers[node.name] = entry
    import synapse

    annotations: dict[str, Any] = {
        "title": rec.title,
        "summary": rec.summary,
        "lesson": [{"event_id": e, "note": n} for e, n in rec.notes],
        "labels": labels,
        "teaches": rec.teaches,
        "resolve_at": rec.resolve_at,
        "servers": servers,
        "timeline": rec.timeline,
    }
    source = {
        "kind": "federation-recording",
        "tool": "tools/record_federation.py",
        "scenario": rec.key,
        "synapse_version": synapse.__version__,
        "recorded_at_ms": int(rec.started * 1000),
        "record_seconds": round(time.time() - rec.started, 1),
        "fetched_from": {
            fed.nodes[label].name: dict(result.source) for label, result in rec.fetches.items()
        },
    }
    room = Room.from_events(
        [events[e] for e in order],
        room_version=rec.version,
        room_id=rec.room_id,
        source=source,
        annotations=annotations,
        server_keys=keys,
        name=f"fed-{rec.key}-v{rec.version}",
    )
    annotations["resolve_at"] = _conflicted_merges(room, rec.resolve_at)
    return Room.from_graph(
        room.graph,
        room_id=rec.room_id,
        source=source,
        annotations=annotations,
        server_keys=keys,
        name=room.name,
    )


def _conflicted_merges(room: Room, wanted: list[str]) -> list[str]:
    """Of ``wanted`` (else of all events), the merges whose prev events' states differ:
    where "Resolve state here" has something to show."""
    states = RoomStates(room.graph)

    def conflicted(event_id: str) -> bool:
        prevs = [p for p in room.events[event_id].prev_events if p in states]
        after = [dict(states.state_after(p)) for p in prevs]
        return len(after) >= 2 and any(a != after[0] for a in after)

    found = [e for e in wanted if e in room.events and conflicted(e)]
    if found:
        return found
    merges = [e for e in room.graph.order if conflicted(e)]
    return merges[-1:]
