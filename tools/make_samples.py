"""Generate the curated sample rooms in sample_rooms/ (deterministically).

Every room is a small story told with real PDUs of its room version: content
hashes, signatures by each sender's server (keys derived from fixed seeds, the
public halves written to the file's ``server_keys``), event IDs derived where
the version derives them (readable ``$name:server`` IDs only in room version 1,
where IDs are chosen), fixed timestamps. Re-running writes byte-identical files.

    .venv/bin/python tools/make_samples.py             # rewrite sample_rooms/*.json
    .venv/bin/python tools/make_samples.py --out DIR   # somewhere else
    .venv/bin/python tools/make_samples.py --check     # exit 1 if the files differ

Each file's ``annotations`` (read by the window's Rooms dock, see
sample_rooms/README.md) hold:

* ``title``: one line;
* ``summary``: one paragraph, what the room teaches;
* ``lesson``: ``[{"event_id", "note"}, ...]``, 3-8 notes walking through it;
* ``labels``: ``{event_id: short name}`` for every event (the node names of the
  published scenarios, e.g. ``PA``, ``MB``), so notes, tests and people can name
  events whose IDs are hashes;
* ``teaches``: a few words, for the README's list;
* ``resolve_at``: the events where "Resolve state here" shows the point of the
  room (merges), in the order worth looking at;
* ``order``: the room's place in the teaching order (1 = first), for a list that
  should not be alphabetical.

``auth_events`` are chosen as a server would: the spec's auth events selection
(``app.core.auth.auth_types_for_event``) over the state before the event, the
state worked out with ``app.core.roomstate.RoomStates`` as the room grows;
where a published scenario lists its own auth events they are used as given.
The tests (tests/sample_rooms/) check every outcome against Synapse, never
against roomscope.

Published scenarios used (data, with attribution):

* element-hq/synapse ``tests/state/test_v2.py`` (Apache-2.0 / AGPL-3.0,
  Copyright New Vector Ltd): "ban vs pl", "topic reset", "join rule evasion";
* ruma/ruma ``crates/ruma-state-res/tests/it/resolve/fixtures/MSC4297-problem-*``
  (MIT, the Ruma contributors), MSC4297's problems A and B (the copy in
  tests/scenarios/data/ruma).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from app.core.auth import auth_types_for_event  # noqa: E402
from app.core.builder import (  # noqa: E402
    SigningKey,
    add_signature,
    build_event,
    generate_signing_key,
    key_id_of,
    room_id_for,
    verify_key_b64,
)
from app.core.events import PDU, domain_of  # noqa: E402
from app.core.room import Room  # noqa: E402
from app.core.roomstate import RoomStates  # noqa: E402
from app.core.stateres.v2 import lexicographical_topological_sort  # noqa: E402
from app.core.versions import room_version  # noqa: E402
from app.sources.files import save_room  # noqa: E402

SAMPLES_DIR = ROOT / "sample_rooms"

ALICE = "@alice:wonderland.example"
BOB = "@bob:builders.example"
CHARLIE = "@charlie:choir.example"
ZARA = "@zara:choir.example"
EVELYN = "@evelyn:elsewhere.example"
EVE = "@eve:elsewhere.example"
DAVE = "@dave:builders.example"
ERIN = "@erin:choir.example"

#: 2023-11-14T22:13:20Z, a fixed start for every room's clock.
BASE_TS = 1_700_000_000_000
MINUTE = 60_000

PL = "m.room.power_levels"
MEMBER = "m.room.member"
TOPIC = "m.room.topic"
JR = "m.room.join_rules"
MESSAGE = "m.room.message"


def signing_key(server: str) -> SigningKey:
    """The fixed signing key of ``server`` (from a fixed seed, so files never change)."""
    return generate_signing_key(f"roomscope sample room key for {server}".encode())


def joined(name: str | None = None) -> dict[str, Any]:
    return {"membership": "join", "displayname": name} if name else {"membership": "join"}


def text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


def full_power_levels(users: Mapping[str, int], **overrides: Any) -> dict[str, Any]:
    """Power levels as a homeserver writes them at room creation."""
    content: dict[str, Any] = {
        "users": dict(users),
        "users_default": 0,
        "events": {
            "m.room.name": 50,
            "m.room.power_levels": 100,
            "m.room.history_visibility": 100,
            "m.room.canonical_alias": 50,
            "m.room.avatar": 50,
            "m.room.tombstone": 100,
            "m.room.server_acl": 100,
            "m.room.encryption": 100,
        },
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 0,
        "historical": 100,
    }
    content.update(overrides)
    return content


class RejectionMismatch(RuntimeError):
    """An event was (not) rejected against what the story says."""


@dataclass
class Story:
    """A room being written, one event at a time."""

    version_id: str
    slug: str
    room_id: str | None = None
    events: list[PDU] = field(default_factory=list)
    by_name: dict[str, PDU] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    lesson: list[dict[str, str]] = field(default_factory=list)
    last: str | None = None
    clock: int = BASE_TS

    def __post_init__(self) -> None:
        self.version = room_version(self.version_id)
        self.states = RoomStates(version=self.version)
        self.known: dict[str, PDU] = {}
        if self.room_id is None and not self.version.room_id_from_create_event:
            self.room_id = f"!{self.slug}:wonderland.example"

    def id(self, name: str) -> str:
        return self.by_name[name].event_id

    def send(
        self,
        name: str,
        sender: str,
        type: str,
        content: Mapping[str, Any],
        *,
        state_key: str | None = None,
        prev: Sequence[str] | None = None,
        auth: Sequence[str] | None = None,
        ts: int | None = None,
        rejected: bool = False,
        cosigner: str | None = None,
    ) -> PDU:
        """Send event ``name``: ``prev`` (names; default the last accepted event),
        ``auth`` (names; default the auth events selection over the state before),
        ``ts`` (default one minute after the latest of its prev events and the clock).
        ``rejected`` says whether the auth rules must reject it; ``cosigner`` is a
        second server that signs it (restricted joins)."""
        if name in self.by_name:
            raise ValueError(f"{self.slug}: two events named {name}")
        prev_names = list(prev) if prev is not None else ([self.last] if self.last else [])
        prev_pdus = [self.by_name[p] for p in prev_names]
        prev_ids = [p.event_id for p in prev_pdus]
        if ts is None:
            ts = max([self.clock, *(p.origin_server_ts for p in prev_pdus)]) + MINUTE
        self.clock = max(self.clock, ts)
        depth = 1 + max((p.depth for p in prev_pdus), default=0)
        is_create = type == "m.room.create"
        room_id = None if (is_create and self.version.room_id_from_create_event) else self.room_id
        server = domain_of(sender) or ""
        event_id = None if self.version.event_ids_derived else f"${name}:{server}"
        common: dict[str, Any] = {
            "type": type,
            "sender": sender,
            "content": content,
            "state_key": state_key,
            "room_id": room_id,
            "event_id": event_id,
            "depth": depth,
            "origin_server_ts": ts,
        }
        if auth is None:
            before = self.states.state_for(prev_ids)
            assert before is not None
            draft = build_event(self.version, **common)
            keys = sorted(auth_types_for_event(self.version, draft))
            auth_ids = [before[k] for k in keys if k in before]
        else:
            auth_ids = [self.id(a) for a in auth]
        pdu = build_event(
            self.version,
            **common,
            prev_events=prev_ids,
            auth_events=auth_ids,
            signing_key=signing_key(domain_of(sender) or ""),
            known_events=self.known,
        )
        if cosigner is not None:
            pdu = _cosign(pdu, cosigner)
        if is_create and self.room_id is None:
            self.room_id = room_id_for(pdu)
        verdict = self.states.add(pdu)
        if (verdict is not None) != rejected:
            why = verdict.reason if verdict is not None else "accepted"
            raise RejectionMismatch(f"{self.slug}: {name} was expected rejected={rejected}: {why}")
        self.events.append(pdu)
        self.by_name[name] = pdu
        self.known[pdu.event_id] = pdu
        self.labels[pdu.event_id] = name
        if not rejected:
            # "If an event is rejected it should neither be relayed to clients nor be
            # included as a prev event in any new events generated by the server"
            # (https://spec.matrix.org/v1.16/server-server-api/#rejection): the next
            # event builds on the last accepted one, and a rejected event is a leaf.
            self.last = name
        return pdu

    def note(self, name: str, note: str) -> None:
        self.lesson.append({"event_id": self.id(name), "note": " ".join(note.split())})

    def room(
        self,
        *,
        title: str,
        summary: str,
        teaches: str,
        resolve_at: Sequence[str] = (),
        state_sets: Mapping[str, Sequence[str]] | None = None,
        source: Mapping[str, Any] | None = None,
    ) -> Room:
        if not 3 <= len(self.lesson) <= 8:
            raise ValueError(f"{self.slug}: a lesson has 3-8 notes, not {len(self.lesson)}")
        servers = sorted({(domain_of(p.sender) or "") for p in self.events} | self._cosigners())
        keys = {s: {key_id_of(signing_key(s)): verify_key_b64(signing_key(s))} for s in servers}
        annotations: dict[str, Any] = {
            "title": title,
            "summary": " ".join(summary.split()),
            "teaches": teaches,
            "lesson": self.lesson,
            "labels": self.labels,
        }
        if resolve_at:
            annotations["resolve_at"] = [self.id(n) for n in resolve_at]
        return Room.from_events(
            self.events,
            room_version=self.version,
            room_id=self.room_id,
            source={"tool": "tools/make_samples.py", **(source or {})},
            annotations=annotations,
            state_sets={k: [self.id(n) for n in v] for k, v in (state_sets or {}).items()},
            server_keys=keys,
            name=f"{self.slug}.json",
        )

    def _cosigners(self) -> set[str]:
        out: set[str] = set()
        for pdu in self.events:
            out.update(pdu.raw.get("signatures", {}))
        return out


def _cosign(pdu: PDU, server: str) -> PDU:
    """``pdu`` with a second signature, by ``server`` (the ID does not change)."""
    return add_signature(pdu, server, signing_key(server))


# --- 1. linear ------------------------------------------------------------------


def linear() -> Room:
    s = Story("10", "linear")
    s.send("create", ALICE, "m.room.create", {"creator": ALICE, "room_version": "10"}, state_key="")
    s.send("alice-joins", ALICE, MEMBER, joined("Alice"), state_key=ALICE)
    s.send("power-levels", ALICE, PL, full_power_levels({ALICE: 100}), state_key="")
    s.send("join-rules", ALICE, JR, {"join_rule": "public"}, state_key="")
    s.send(
        "history",
        ALICE,
        "m.room.history_visibility",
        {"history_visibility": "shared"},
        state_key="",
    )
    s.send("name", ALICE, "m.room.name", {"name": "Tea party"}, state_key="")
    s.send("bob-joins", BOB, MEMBER, joined("Bob"), state_key=BOB)
    s.send("alice-hello", ALICE, MESSAGE, text("Welcome, Bob! The kettle is on."))
    s.send("bob-hello", BOB, MESSAGE, text("Thanks! I brought scones."))
    s.send("charlie-joins", CHARLIE, MEMBER, joined("Charlie"), state_key=CHARLIE)
    s.send("topic", ALICE, TOPIC, {"topic": "Tea, scones and songs"}, state_key="")
    s.send("charlie-hello", CHARLIE, MESSAGE, text("Hello both, I'll sing later."))
    s.note(
        "create",
        """A room is a graph of events, and this is its root: the m.room.create event.
        It has no prev_events and no auth_events; every other event leads back to it.
        Its sender, Alice, is the room's creator.""",
    )
    s.note(
        "alice-joins",
        """Each event points back at the events its server had seen last: its
        prev_events. Alice's join points at the create event, so the graph grows
        downwards, one edge per prev event. Its auth_events (shown with the auth edges
        toggle) name the state that allows it: here only the create event.""",
    )
    s.note(
        "power-levels",
        """m.room.power_levels says who may do what: Alice has 100, everyone else 0;
        changing the power levels needs 100, other state 50, messages 0. It is a state
        event (it has a state_key, here empty): it changes the room's state.""",
    )
    s.note(
        "bob-joins",
        """Bob joins from another server, builders.example. His join's auth_events are the
        create event, the power levels and the join rules (public, so anyone may join):
        the auth events selection of the spec. Every server checks his join against
        them before accepting it.""",
    )
    s.note(
        "alice-hello",
        """A message is not a state event: it changes nothing in the state, but it needs
        the sender to be joined and allowed to speak, so its auth_events are the create
        event, the power levels and Alice's membership.""",
    )
    s.note(
        "topic",
        """The topic is state again. Select any event and open State in the inspector:
        the state before and after it is the set of state events in force at that point
        of the graph.""",
    )
    s.note(
        "charlie-hello",
        """The newest event: nothing points at it yet, so it is the room's forward
        extremity. The next event any server sends will list it in prev_events. With one
        extremity and no forks, this room's history is a single line.""",
    )
    return s.room(
        title="A linear room: events, prev_events and auth_events",
        summary="""Three people on three servers create a room, set it up and chat, one event
        after another. Nothing happens concurrently, so the graph is a single line from the
        create event down to the newest message. The room introduces the words everything
        else uses: events and state events, prev_events (the graph's edges), auth_events
        (what allows each event), the state before and after an event, and forward
        extremities.""",
        teaches="events, prev_events, auth_events, state",
    )


# --- 2. fork and merge ------------------------------------------------------------


def fork_and_merge() -> Room:
    s = Story("10", "fork-and-merge")
    s.send("create", ALICE, "m.room.create", {"creator": ALICE, "room_version": "10"}, state_key="")
    s.send("alice-joins", ALICE, MEMBER, joined("Alice"), state_key=ALICE)
    s.send("power-levels", ALICE, PL, full_power_levels({ALICE: 100, BOB: 50}), state_key="")
    s.send("join-rules", ALICE, JR, {"join_rule": "public"}, state_key="")
    s.send("name", ALICE, "m.room.name", {"name": "Spring concert"}, state_key="")
    s.send("bob-joins", BOB, MEMBER, joined("Bob"), state_key=BOB)
    s.send("charlie-joins", CHARLIE, MEMBER, joined("Charlie"), state_key=CHARLIE)
    # First fork: Alice and Bob talk at the same time; only messages on both sides.
    s.send("alice-msg-1", ALICE, MESSAGE, text("Rehearsal on Friday?"), prev=["charlie-joins"])
    s.send("bob-msg-1", BOB, MESSAGE, text("I can set up the stage."), prev=["charlie-joins"])
    s.send("alice-msg-2", ALICE, MESSAGE, text("Great, 7pm then."), prev=["alice-msg-1"])
    s.send("bob-msg-2", BOB, MESSAGE, text("Chairs too."), prev=["bob-msg-1"])
    s.send("merge-1", CHARLIE, MESSAGE, text("Works for me!"), prev=["alice-msg-2", "bob-msg-2"])
    # Second fork: both set the topic before seeing each other's.
    s.send("alice-topic", ALICE, TOPIC, {"topic": "Concert: Friday 7pm"}, state_key="")
    s.send(
        "bob-topic",
        BOB,
        TOPIC,
        {"topic": "Concert: Friday 7pm, bring chairs"},
        state_key="",
        prev=["merge-1"],
        ts=s.by_name["alice-topic"].origin_server_ts + 30_000,
    )
    s.send("merge-2", CHARLIE, MESSAGE, text("Two topics?"), prev=["alice-topic", "bob-topic"])
    s.send("alice-ok", ALICE, MESSAGE, text("Bob's topic it is."))
    s.note(
        "charlie-joins",
        """Up to here the room is a line: each event has one prev event. Now Alice's
        server and Bob's server each send an event before seeing the other's, so both
        point at Charlie's join: the graph forks.""",
    )
    s.note(
        "bob-msg-2",
        """Two branches: wonderland.example's (Alice) and builders.example's (Bob). Each
        server only knew its own branch. While they are apart the room has two forward
        extremities.""",
    )
    s.note(
        "merge-1",
        """Charlie's server has seen both branches, so his message lists both ends in its
        prev_events: the branches merge. The state before a merge is the *resolution* of
        the states after its prev events. Here both sides hold only messages, their states
        are equal, and there is nothing to resolve. Try "Resolve state here".""",
    )
    s.note(
        "alice-topic",
        """A second fork, and this time both sides change the same piece of state: Alice
        sets the topic on her branch...""",
    )
    s.note(
        "bob-topic",
        """...and Bob, half a minute later by his clock, sets a different topic on his.
        Bob has power level 50, enough for a topic, so both events are allowed.""",
    )
    s.note(
        "merge-2",
        """At this merge the two states disagree on m.room.topic: a conflict. State
        resolution v2 orders the conflicting topics by the power levels they were sent
        under (the same here), then by origin_server_ts, and applies them in that order, so
        the later one, Bob's, wins. Resolve state here and step through it.""",
    )
    s.note(
        "alice-ok",
        """After the merge there is again one forward extremity and one state, which every
        server computes the same way from the same graph: that is what state resolution is
        for.""",
    )
    return s.room(
        title="Fork and merge: two servers talk at once",
        summary="""Alice (wonderland.example) and Bob (builders.example) send events at the
        same time, so the graph forks into two branches; Charlie (choir.example), who has
        seen both, merges them. At the first merge the two branches hold only messages and
        their states agree: nothing to resolve. At the second, Alice and Bob had each set a
        different topic: the states conflict and state resolution picks one, the same one on
        every server.""",
        teaches="forks, merges, the state at a merge, a simple conflict",
        resolve_at=["merge-2", "merge-1"],
    )


# --- 3-5. Synapse's published state resolution v2 scenarios ------------------------

# element-hq/synapse tests/state/test_v2.py: the initial events every graph starts
# with (INITIAL_EVENTS, INITIAL_EDGES). Node -> (sender, type, state_key, content).
_SYNAPSE_INITIAL: dict[str, tuple[str, str, str | None, dict[str, Any]]] = {
    "CREATE": (ALICE, "m.room.create", "", {"creator": ALICE, "room_version": "10"}),
    "IMA": (ALICE, MEMBER, ALICE, {"membership": "join"}),
    "IPOWER": (ALICE, PL, "", {"users": {ALICE: 100}}),
    "IJR": (ALICE, JR, "", {"join_rule": "public"}),
    "IMB": (BOB, MEMBER, BOB, {"membership": "join"}),
    "IMC": (CHARLIE, MEMBER, CHARLIE, {"membership": "join"}),
    "IMZ": (ZARA, MEMBER, ZARA, {"membership": "join"}),
    "START": (ZARA, MESSAGE, None, text("start")),
    "END": (ZARA, MESSAGE, None, text("end")),
}
_SYNAPSE_INITIAL_EDGES = ["START", "IMZ", "IMC", "IMB", "IJR", "IPOWER", "IMA", "CREATE"]


def synapse_scenario(
    slug: str,
    events: Mapping[str, tuple[str, str, str | None, dict[str, Any]]],
    edges: Sequence[Sequence[str]],
) -> Story:
    """A Synapse test_v2 scenario as a room: the same nodes, edges and event order
    (Synapse's lexicographical topological sort by node ID, whose position gives each
    event's origin_server_ts), one minute apart. The harness authorizes nothing; here
    every event must also pass the auth rules on its own branch."""
    spec = {**_SYNAPSE_INITIAL, **events}
    graph: dict[str, set[str]] = {n: set() for n in spec}
    for path in (_SYNAPSE_INITIAL_EDGES, *edges):
        for a, b in pairwise(path):
            graph[a].add(b)
    order = lexicographical_topological_sort(graph, lambda n: n)
    s = Story("10", slug)
    for i, node in enumerate(order):
        sender, etype, state_key, content = spec[node]
        s.send(
            node,
            sender,
            etype,
            content,
            state_key=state_key,
            prev=sorted(graph[node]),
            ts=BASE_TS + i * MINUTE,
        )
    return s


_SYNAPSE_SOURCE = {
    "published": "element-hq/synapse tests/state/test_v2.py (Apache-2.0 / AGPL-3.0, "
    "Copyright New Vector Ltd)",
}


def ban_vs_power_levels() -> Room:
    s = synapse_scenario(
        "ban-vs-power-levels",
        {
            "PA": (ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
            "MA": (ALICE, MEMBER, ALICE, {"membership": "join"}),
            "MB": (ALICE, MEMBER, BOB, {"membership": "ban"}),
            "PB": (BOB, PL, "", {"users": {ALICE: 100, BOB: 50}}),
        },
        [["END", "MB", "MA", "PA", "START"], ["END", "PB", "PA"]],
    )
    s.note(
        "PA",
        """Alice makes Bob a moderator: power level 50. From here the room forks. (The
        room is Synapse's published test "ban vs pl"; events are named by its node IDs.)""",
    )
    s.note(
        "MB",
        """On Alice's branch she bans Bob. A ban is a power event: it can take away
        someone's ability to act.""",
    )
    s.note(
        "PB",
        """On Bob's branch, not having seen the ban, Bob sends power levels (the same
        levels again). On his branch this is allowed: he is a moderator there.""",
    )
    s.note(
        "END",
        """Zara's message merges both branches. State resolution v2 first orders and
        re-checks the conflicting power events (power levels, bans): the ban is applied,
        and Bob's power levels event, checked against a state in which Bob is banned,
        fails. The state here keeps PA, MA and MB: the ban wins, as Synapse's test
        publishes. Resolve state here to see each step.""",
    )
    return s.room(
        title="Ban vs power levels (Synapse's published scenario)",
        summary="""Alice promotes Bob, then, on one branch, bans him, while on a concurrent
        branch Bob sends a power levels event. When the branches merge, state resolution v2
        re-runs the auth checks over the conflicting power events in order: once the ban is
        in, Bob's event no longer passes, so the ban wins and Bob's power levels event is
        left out. From Synapse's tests/state/test_v2.py ("ban vs pl").""",
        teaches="power events are re-authorized in order; a ban beats a banned user's edit",
        resolve_at=["END"],
        source=_SYNAPSE_SOURCE,
    )


def topic_reset() -> Room:
    s = synapse_scenario(
        "topic-reset",
        {
            "T1": (ALICE, TOPIC, "", {"topic": "Alice's topic"}),
            "PA": (ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
            "T2": (BOB, TOPIC, "", {"topic": "Bob's topic"}),
            "MB": (ALICE, MEMBER, BOB, {"membership": "ban"}),
        },
        [["END", "MB", "T2", "PA", "T1", "START"], ["END", "T1"]],
    )
    s.note("T1", """Alice sets a topic. (Synapse's published test "topic reset".)""")
    s.note(
        "T2",
        """Alice makes Bob a moderator (PA) and Bob changes the topic: allowed, he has 50.""",
    )
    s.note(
        "MB",
        """Then Alice bans Bob. Meanwhile another server's latest event is still T1: its
        branch has Alice's topic, and no PA, T2 or MB.""",
    )
    s.note(
        "END",
        """The merge. The ban and the power levels are resolved first; then the topics are
        re-checked against that state: Bob is banned, so his topic T2 no longer passes, and
        the topic goes back to T1, Alice's. The published result: T1, MB and PA.""",
    )
    return s.room(
        title="Topic reset (Synapse's published scenario)",
        summary="""Bob, a moderator, changes the topic; later Alice bans him. When this branch
        merges with one that had only Alice's first topic, state resolution applies the ban
        first and then re-checks Bob's topic against the resolved power state: a banned
        user's topic fails, so the topic resets to Alice's. Changes made by someone who is
        later banned can be undone at a merge. From Synapse's tests/state/test_v2.py
        ("topic reset").""",
        teaches="a ban at a merge can undo the banned user's state changes",
        resolve_at=["END"],
        source=_SYNAPSE_SOURCE,
    )


def join_rule_evasion() -> Room:
    s = synapse_scenario(
        "join-rule-evasion",
        {
            # As published: the content says "join_rules", not "join_rule" (sic), so the
            # event sets no join rule: the room stops being public.
            "JR": (ALICE, JR, "", {"join_rules": "private"}),
            "ME": (EVELYN, MEMBER, EVELYN, {"membership": "join"}),
        },
        [["END", "JR", "START"], ["END", "ME", "START"]],
    )
    s.note(
        "JR",
        """Alice closes the room: a new m.room.join_rules event. (As in Synapse's published
        test, its content is {"join_rules": "private"}: no "join_rule" key, so the join rule
        is no longer "public" and nobody may join uninvited.)""",
    )
    s.note(
        "ME",
        """At the same time Evelyn, on a server that has not seen the change, joins: on her
        branch the room is still public, so the join is allowed there.""",
    )
    s.note(
        "END",
        """At the merge the join rules are a power event and go first; Evelyn's join is then
        checked against the new join rules and fails. The state keeps JR and has no
        membership for Evelyn: she cannot slip in through a fork.""",
    )
    return s.room(
        title="Join rule evasion (Synapse's published scenario)",
        summary="""Alice makes a public room private while Evelyn, concurrently, joins it from
        a server that still sees it public. At the merge, state resolution applies the new
        join rules before re-checking Evelyn's join, which then fails: a join cannot evade a
        join rules change by racing it. From Synapse's tests/state/test_v2.py ("join rule
        evasion").""",
        teaches="joins are re-checked against the resolved join rules",
        resolve_at=["END"],
        source=_SYNAPSE_SOURCE,
    )


# --- 6. MSC4297 problems A and B ---------------------------------------------------

# ruma-state-res fixtures MSC4297-problem-A/B (tests/scenarios/data/ruma): users
# mapped to servers, display names kept. Event names are the fixtures' IDs less "$".
_RUMA_USERS = {
    "alice": ALICE,
    "bob": BOB,
    "charlie": CHARLIE,
    "zara": ZARA,
    "eve": EVE,
}
_RUMA_SOURCE = {
    "published": "ruma/ruma crates/ruma-state-res/tests/it/resolve/fixtures/MSC4297-problem-* "
    "(MIT, the Ruma contributors), after MSC4297 (matrix-org/matrix-spec-proposals#4297)",
}


@dataclass(frozen=True)
class _RumaEvent:
    name: str
    user: str
    type: str
    state_key: str | None
    content: dict[str, Any]
    #: auth events as the fixture lists them (names), v11; v12 drops the create event.
    auth: tuple[str, ...]
    #: prev events (names): the fixture's, except where the module says otherwise.
    prev: tuple[str, ...]
    ts: int


def _ruma_members(
    name: str, user: str, display: str, auth: tuple[str, ...], prev: str, ts: int
) -> _RumaEvent:
    return _RumaEvent(name, user, MEMBER, _RUMA_USERS[user], joined(display), auth, (prev,), ts)


def _msc4297(slug: str, version_id: str, events: Sequence[_RumaEvent]) -> Story:
    s = Story(version_id, slug)
    v12 = version_id == "12"
    for e in events:
        content = e.content
        if e.type == "m.room.create":
            content = {"room_version": version_id}
        if e.type == PL:
            users = {_RUMA_USERS[u]: lvl for u, lvl in content.get("users", {}).items()}
            if v12:
                # MSC4289: creators are not listed (the v12 fixtures leave Alice out).
                users.pop(ALICE, None)
            content = {"users": users} if users or not v12 else {}
        auth = [a for a in e.auth if not (v12 and a == "00-m-room-create")]
        s.send(
            e.name,
            _RUMA_USERS[e.user],
            e.type,
            content,
            state_key=e.state_key,
            prev=list(e.prev),
            auth=auth,
            ts=BASE_TS + e.ts * MINUTE,
        )
    return s


def _problem_a_events() -> list[_RumaEvent]:
    c = "00-m-room-create"
    return [
        _RumaEvent(c, "alice", "m.room.create", "", {}, (), (), 0),
        _ruma_members("00-m-room-member-join-alice", "alice", "alice", (c,), c, 1),
        _RumaEvent(
            "00-m-room-power_levels",
            "alice",
            PL,
            "",
            {"users": {"alice": 100}},
            (c, "00-m-room-member-join-alice"),
            ("00-m-room-member-join-alice",),
            2,
        ),
        _RumaEvent(
            "00-m-room-join_rules",
            "alice",
            JR,
            "",
            {"join_rule": "public"},
            (c, "00-m-room-member-join-alice", "00-m-room-power_levels"),
            ("00-m-room-power_levels",),
            3,
        ),
        _ruma_members(
            "00-m-room-member-join-bob",
            "bob",
            "bob",
            (c, "00-m-room-power_levels", "00-m-room-join_rules"),
            "00-m-room-join_rules",
            4,
        ),
        _ruma_members(
            "00-m-room-member-join-charlie",
            "charlie",
            "charlie",
            (c, "00-m-room-power_levels", "00-m-room-join_rules"),
            "00-m-room-member-join-bob",
            5,
        ),
        _RumaEvent(
            "01-m-room-join_rules",
            "alice",
            JR,
            "",
            {"join_rule": "invite"},
            (c, "00-m-room-power_levels", "00-m-room-member-join-alice"),
            ("00-m-room-member-join-charlie",),
            6,
        ),
        # The fixture's prev is 01-m-room-join_rules; here Alice's leave forks from
        # before it (see problem_a), so the published state sets are branch states.
        _RumaEvent(
            "01-m-room-member-leave-alice",
            "alice",
            MEMBER,
            ALICE,
            {"displayname": "alice", "membership": "leave"},
            (c, "00-m-room-power_levels", "00-m-room-member-join-alice"),
            ("00-m-room-member-join-charlie",),
            7,
        ),
        _ruma_members(
            "01-m-room-member-change-display-name-bob",
            "bob",
            "bob++",
            (c, "00-m-room-power_levels", "00-m-room-member-join-bob", "01-m-room-join_rules"),
            "01-m-room-join_rules",
            8,
        ),
        _ruma_members(
            "01-m-room-member-change-display-name-charlie",
            "charlie",
            "charlie++",
            (
                c,
                "00-m-room-power_levels",
                "00-m-room-member-join-charlie",
                "01-m-room-join_rules",
            ),
            "01-m-room-member-leave-alice",
            9,
        ),
    ]


def problem_a(version_id: str) -> Room:
    events = _problem_a_events()
    # Bob's rename merges the join rules change and Alice's leave.
    bob = events[8]
    events[8] = _RumaEvent(
        bob.name,
        bob.user,
        bob.type,
        bob.state_key,
        bob.content,
        bob.auth,
        ("01-m-room-join_rules", "01-m-room-member-leave-alice"),
        bob.ts,
    )
    s = _msc4297(f"msc4297-problem-a-v{version_id}", version_id, events)
    s.send(
        "02-merge",
        BOB,
        MESSAGE,
        text("Is the room still invite-only?"),
        prev=[
            "01-m-room-member-change-display-name-bob",
            "01-m-room-member-change-display-name-charlie",
        ],
    )
    v12 = version_id == "12"
    s.note(
        "01-m-room-join_rules",
        """Alice, the room's only admin, makes the room invite-only...""",
    )
    s.note(
        "01-m-room-member-leave-alice",
        """...and leaves. Her leave was sent on another branch, from before the join rules
        change, so some servers have her leave without the new join rules.""",
    )
    s.note(
        "01-m-room-member-change-display-name-bob",
        """Bob's server has both: its state holds the invite-only join rules and Alice's
        leave (the published state set "bob").""",
    )
    s.note(
        "01-m-room-member-change-display-name-charlie",
        """Charlie's server has Alice's leave and the old, public join rules (the
        published state set "charlie"). The two states conflict only on the join rules.""",
    )
    if v12:
        s.note(
            "02-merge",
            """Room version 12 resolves with state resolution v2.1, whose iterative auth
            checks start from an EMPTY state: each join rules event is checked against its
            own auth events, where Alice is still joined, so both pass and the newer,
            invite-only rule wins (the published result). Compare with the v11 room.""",
        )
    else:
        s.note(
            "02-merge",
            """Room version 11 resolves with state resolution v2.0: the iterative auth checks
            start from the UNCONFLICTED state, in which Alice has already left. Neither join
            rules event passes ("sender not in room"), so m.room.join_rules disappears from
            the state altogether: a state reset (MSC4297 problem A; published result).
            Compare with the v12 room.""",
        )
    differs = (
        "Room version 12 (state resolution v2.1) starts the checks from an empty state, so "
        "both join rules events pass and the room stays invite-only."
        if v12
        else "Room version 11 (state resolution v2.0) starts the checks from the unconflicted "
        "state, where Alice has left, so neither join rules event passes and the join rules "
        "vanish from the state: a state reset. Room version 12 keeps them."
    )
    return s.room(
        # The distinguishing words first: the sample list elides long titles.
        title=f"MSC4297 A, v{version_id}: "
        + ("no reset (state resolution v2.1)" if v12 else "the join rules reset (v2.0)"),
        summary=f"""Alice, the only admin, makes the room invite-only and leaves; her leave
        reaches some servers without the join rules change, so two servers' states disagree
        on the join rules only. Resolving them re-checks both join rules events. {differs}
        Events, auth events and the two state sets are ruma-state-res's MSC4297 problem A
        fixture (state_sets in this file); the graph forks Alice's leave from before the
        join rules change so that those state sets are the states of its two branches.""",
        teaches=f"MSC4297 problem A under v{version_id}: "
        + ("v2.1 starts from an empty state" if v12 else "a state reset in v2.0"),
        resolve_at=["02-merge"],
        state_sets={
            "bob": [
                "00-m-room-create",
                "00-m-room-power_levels",
                "00-m-room-member-join-charlie",
                "01-m-room-join_rules",
                "01-m-room-member-leave-alice",
                "01-m-room-member-change-display-name-bob",
            ],
            "charlie": [
                "00-m-room-create",
                "00-m-room-power_levels",
                "00-m-room-join_rules",
                "00-m-room-member-join-bob",
                "01-m-room-member-leave-alice",
                "01-m-room-member-change-display-name-charlie",
            ],
        },
        source=_RUMA_SOURCE,
    )


def problem_b(version_id: str) -> Room:
    c = "00-m-room-create"
    pl0, pl1, pl2 = "00-m-room-power_levels", "01-m-room-power_levels", "02-m-room-power_levels"
    jr = "00-m-room-join_rules"
    events = [
        _RumaEvent(c, "alice", "m.room.create", "", {}, (), (), 0),
        _ruma_members("00-m-room-member-join-alice", "alice", "alice", (c,), c, 1),
        _RumaEvent(
            pl0,
            "alice",
            PL,
            "",
            {"users": {"alice": 100}},
            (c, "00-m-room-member-join-alice"),
            ("00-m-room-member-join-alice",),
            2,
        ),
        _RumaEvent(
            jr,
            "alice",
            JR,
            "",
            {"join_rule": "public"},
            (c, "00-m-room-member-join-alice", pl0),
            (pl0,),
            3,
        ),
        _ruma_members("00-m-room-member-join-bob", "bob", "bob", (c, pl0, jr), jr, 4),
        _ruma_members(
            "00-m-room-member-join-charlie",
            "charlie",
            "charlie",
            (c, pl0, jr),
            "00-m-room-member-join-bob",
            5,
        ),
        _RumaEvent(
            pl1,
            "alice",
            PL,
            "",
            {"users": {"alice": 100, "bob": 50}},
            (c, pl0, "00-m-room-member-join-alice"),
            ("00-m-room-member-join-charlie",),
            6,
        ),
        _RumaEvent(
            pl2,
            "bob",
            PL,
            "",
            {"users": {"alice": 100, "bob": 50, "charlie": 50}},
            (c, pl1, "00-m-room-member-join-bob"),
            (pl1,),
            7,
        ),
        _ruma_members("00-m-room-member-join-zara", "zara", "zara", (c, pl2, jr), pl2, 8),
        # The fixture's prev is 02-m-room-power_levels; here Eve's server builds on the
        # room from before the power level changes (see problem_b).
        _ruma_members(
            "00-m-room-member-join-eve",
            "eve",
            "eve",
            (c, pl2, jr),
            "00-m-room-member-join-charlie",
            9,
        ),
        # Same origin_server_ts as Eve's join in the fixture; a moment later here.
        _ruma_members(
            "01-m-room-member-change-display-name-eve",
            "eve",
            "eve++",
            (c, pl2, "00-m-room-member-join-eve", jr),
            "00-m-room-member-join-eve",
            10,
        ),
    ]
    s = _msc4297(f"msc4297-problem-b-v{version_id}", version_id, events)
    s.send(
        "02-merge",
        ZARA,
        MESSAGE,
        text("Who are the moderators now?"),
        prev=["00-m-room-member-join-zara", "01-m-room-member-change-display-name-eve"],
    )
    v12 = version_id == "12"
    s.note(pl1, """Alice makes Bob a moderator (power level 50)...""")
    s.note(pl2, """...and Bob makes Charlie one too. Zara joins after this.""")
    s.note(
        "01-m-room-member-change-display-name-eve",
        """Eve's join and rename cite the newest power levels (02) in their auth_events, but
        her server's state still has the oldest ones (00), as after an earlier state reset:
        the published state set "eve". Drawn here as a branch from before the changes;
        Zara's join, after them, ends the other branch (the state set "zara").""",
    )
    if v12:
        s.note(
            "02-merge",
            """The states conflict on the power levels (00 against 02). State resolution
            v2.1 adds the conflicted state subgraph, the events on auth paths between the
            conflicting ones, so 01 is replayed too: 00, then 01 (Alice promotes Bob), then
            02 (Bob promotes Charlie) all pass, and 02 wins, as published.""",
        )
    else:
        s.note(
            "02-merge",
            """The states conflict on the power levels (00 against 02). 01 is in both sides'
            auth chains, so state resolution v2.0 does not replay it: 02 is checked against
            00, where Bob has no power, and fails. The power levels go back to 00: Bob and
            Charlie lose their moderator rights (MSC4297 problem B, the published result).""",
        )
    differs = (
        "Room version 12 (v2.1) also replays the events between the conflicting ones (the "
        "conflicted state subgraph), so Bob's promotion is checked after the one that "
        "allowed it and the newest power levels win."
        if v12
        else "Room version 11 (v2.0) replays only the events that differ between the two "
        "auth chains; Bob's promotion by Alice is in both, so Bob's change is checked "
        "against the old power levels, fails, and the power levels reset to the oldest. "
        "Room version 12 keeps the newest."
    )
    return s.room(
        title=f"MSC4297 B, v{version_id}: "
        + ("no reset (state resolution v2.1)" if v12 else "the power levels reset (v2.0)"),
        summary=f"""Alice promotes Bob, who promotes Charlie; a server whose state still holds
        the original power levels meets one with the newest. {differs} Events, auth events
        and the two state sets are ruma-state-res's MSC4297 problem B fixture (state_sets in
        this file); the graph branches Eve's events from before the promotions so that those
        state sets are the states of its two branches.""",
        teaches=f"MSC4297 problem B under v{version_id}: "
        + ("the conflicted state subgraph" if v12 else "a power levels reset in v2.0"),
        resolve_at=["02-merge"],
        state_sets={
            "eve": [
                c,
                "00-m-room-member-join-alice",
                pl0,
                jr,
                "00-m-room-member-join-bob",
                "00-m-room-member-join-charlie",
                "01-m-room-member-change-display-name-eve",
            ],
            "zara": [
                c,
                "00-m-room-member-join-alice",
                jr,
                "00-m-room-member-join-bob",
                "00-m-room-member-join-charlie",
                pl2,
                "00-m-room-member-join-zara",
            ],
        },
        source=_RUMA_SOURCE,
    )


# --- 7. v12 additional creators -----------------------------------------------------


def v12_additional_creators() -> Room:
    s = Story("12", "v12-additional-creators")
    s.send(
        "create",
        ALICE,
        "m.room.create",
        {"room_version": "12", "additional_creators": [BOB]},
        state_key="",
    )
    s.send("alice-joins", ALICE, MEMBER, joined("Alice"), state_key=ALICE)
    s.send("power-levels", ALICE, PL, full_power_levels({CHARLIE: 50}), state_key="")
    s.send("join-rules", ALICE, JR, {"join_rule": "public"}, state_key="")
    s.send("bob-joins", BOB, MEMBER, joined("Bob"), state_key=BOB)
    s.send("charlie-joins", CHARLIE, MEMBER, joined("Charlie"), state_key=CHARLIE)
    s.send("zara-joins", ZARA, MEMBER, joined("Zara"), state_key=ZARA)
    s.send("bob-name", BOB, "m.room.name", {"name": "Founders' room"}, state_key="")
    s.send(
        "charlie-kicks-bob",
        CHARLIE,
        MEMBER,
        {"membership": "leave", "reason": "testing my powers"},
        state_key=BOB,
        rejected=True,
    )
    s.send(
        "alice-lists-herself",
        ALICE,
        PL,
        full_power_levels({ALICE: 100, CHARLIE: 50}),
        state_key="",
        rejected=True,
    )
    s.send("bob-promotes-charlie", BOB, PL, full_power_levels({CHARLIE: 100}), state_key="")
    s.send("charlie-kicks-zara", CHARLIE, MEMBER, {"membership": "leave"}, state_key=ZARA)
    s.send("alice-hello", ALICE, MESSAGE, text("Creators stay creators."))
    s.note(
        "create",
        """Room version 12: the room ID is derived from this create event's ID, and the
        create event names the creators: its sender, Alice, and "additional_creators" (Bob,
        another server). Creators have unlimited power in this room.""",
    )
    s.note(
        "power-levels",
        """The power levels list Charlie (50) but no creator: in v12 creators' power comes
        from the create event and they must not appear in "users".""",
    )
    s.note(
        "bob-name",
        """Bob is not in the users map, yet he may change the room name (which needs 50):
        as a creator his power is infinite.""",
    )
    s.note(
        "charlie-kicks-bob",
        """Charlie, a moderator, tries to kick Bob. Rejected: kicking needs more power than
        the target has, and nobody has more than a creator. Servers build nothing on a
        rejected event, so it is a dead end in the graph.""",
    )
    s.note(
        "alice-lists-herself",
        """Alice tries to write herself into the power levels' users map. Rejected: in v12
        a power levels event may not list a creator.""",
    )
    s.note(
        "bob-promotes-charlie",
        """Bob raises Charlie to 100, the highest number there is; Charlie can now kick Zara,
        but still not Alice or Bob.""",
    )
    return s.room(
        title="Room version 12: additional creators",
        summary="""A v12 room created by Alice with Bob as an additional creator (MSC4289).
        Creators are named by the create event, not the power levels: they have infinite
        power, must not appear in the power levels' "users" map, and cannot be kicked, banned
        or demoted by anyone. The room shows a creator using power he is not listed with,
        and two events the auth rules reject because of it.""",
        teaches="v12 creators: infinite power, not in the users map",
    )


# --- 8. restricted join --------------------------------------------------------------


def restricted_join() -> Room:
    lobby = "!lobby:wonderland.example"
    s = Story("10", "restricted-join")
    s.send("create", ALICE, "m.room.create", {"creator": ALICE, "room_version": "10"}, state_key="")
    s.send("alice-joins", ALICE, MEMBER, joined("Alice"), state_key=ALICE)
    s.send(
        "power-levels",
        ALICE,
        PL,
        full_power_levels({ALICE: 100}, invite=50),
        state_key="",
    )
    s.send(
        "join-rules",
        ALICE,
        JR,
        {"join_rule": "restricted", "allow": [{"type": "m.room_membership", "room_id": lobby}]},
        state_key="",
    )
    s.send("name", ALICE, "m.room.name", {"name": "Members' lounge"}, state_key="")
    s.send(
        "bob-joins",
        BOB,
        MEMBER,
        {**joined("Bob"), "join_authorised_via_users_server": ALICE},
        state_key=BOB,
        cosigner="wonderland.example",
    )
    s.send("bob-hello", BOB, MESSAGE, text("Hi! I came over from the lobby."))
    s.send(
        "charlie-via-bob",
        CHARLIE,
        MEMBER,
        {**joined("Charlie"), "join_authorised_via_users_server": BOB},
        state_key=CHARLIE,
        cosigner="builders.example",
        rejected=True,
    )
    s.send(
        "charlie-via-alice",
        CHARLIE,
        MEMBER,
        {**joined("Charlie"), "join_authorised_via_users_server": ALICE},
        state_key=CHARLIE,
        cosigner="wonderland.example",
    )
    s.send("charlie-hello", CHARLIE, MESSAGE, text("Made it."))
    s.note(
        "join-rules",
        """The join rule is "restricted": you may join if you are a member of the lobby
        room (its ID is in "allow"). Other servers cannot see the lobby's members, so
        someone already in this room must vouch for each join.""",
    )
    s.note(
        "bob-joins",
        """Bob's join names Alice in "join_authorised_via_users_server": her server,
        wonderland.example, checked that Bob is in the lobby and signed the event too (see
        its two signatures). The auth rules accept it because Alice is joined and has the
        power to invite (50).""",
    )
    s.note(
        "charlie-via-bob",
        """Charlie's first join is vouched for by Bob, whose server signed it. Rejected: Bob
        has power level 0, below the invite level (50), so he cannot authorise joins. The
        rejected join is a dead end: servers build nothing on it.""",
    )
    s.note(
        "charlie-via-alice",
        """Charlie tries again through Alice's server: accepted. The auth events of a
        restricted join include the authorising user's membership (open the auth edges).""",
    )
    return s.room(
        title="A restricted room: joining through another room's membership",
        summary="""A room version 10 room whose join rule is "restricted": members of a lobby
        room may join without an invite. Because servers cannot check another room's members
        themselves, each join names a user in "join_authorised_via_users_server" whose server
        vouches for it and co-signs the event; the auth rules accept the join only if that
        user is joined and may invite. One join, vouched for by a user without invite power,
        is rejected.""",
        teaches="restricted join rules and join_authorised_via_users_server",
    )


# --- 9. knock ------------------------------------------------------------------------


def knock() -> Room:
    s = Story("10", "knock")
    s.send("create", ALICE, "m.room.create", {"creator": ALICE, "room_version": "10"}, state_key="")
    s.send("alice-joins", ALICE, MEMBER, joined("Alice"), state_key=ALICE)
    s.send("power-levels", ALICE, PL, full_power_levels({ALICE: 100}), state_key="")
    s.send("join-rules-invite", ALICE, JR, {"join_rule": "invite"}, state_key="")
    s.send("name", ALICE, "m.room.name", {"name": "Book club"}, state_key="")
    s.send(
        "erin-knocks",
        ERIN,
        MEMBER,
        {"membership": "knock", "displayname": "Erin", "reason": "Can I join?"},
        state_key=ERIN,
        rejected=True,
    )
    s.send("join-rules-knock", ALICE, JR, {"join_rule": "knock"}, state_key="")
    s.send(
        "dave-knocks",
        DAVE,
        MEMBER,
        {"membership": "knock", "displayname": "Dave", "reason": "I love books"},
        state_key=DAVE,
    )
    s.send("alice-invites-dave", ALICE, MEMBER, {"membership": "invite"}, state_key=DAVE)
    s.send("dave-joins", DAVE, MEMBER, joined("Dave"), state_key=DAVE)
    s.send("dave-hello", DAVE, MESSAGE, text("Thanks for letting me in!"))
    s.note(
        "join-rules-invite",
        """The room is invite-only: "join_rule": "invite".""",
    )
    s.note(
        "erin-knocks",
        """Erin knocks (membership "knock"): she asks to be let in. Rejected: knocking is
        only allowed when the join rule is "knock" (or "knock_restricted"). A rejected
        event stays in the graph, but servers build nothing on it: a dead end.""",
    )
    s.note(
        "join-rules-knock",
        """Alice changes the join rule to "knock": still no joining uninvited, but anyone may
        ask.""",
    )
    s.note(
        "dave-knocks",
        """Dave knocks, from builders.example: accepted. His membership is now "knock",
        which lets nobody in by itself; the room's members see the request.""",
    )
    s.note(
        "alice-invites-dave",
        """Alice answers by inviting him (she has the invite power) and Dave joins: knock,
        invite, join.""",
    )
    return s.room(
        title="Knocking: asking to join an invite-only room",
        summary="""A room version 10 room where people ask to be let in. With the join rule
        "invite", Erin's knock is rejected by the auth rules; once Alice sets the join rule to
        "knock", Dave's knock is accepted, Alice invites him and he joins. A knock is a
        membership of its own ("knock") that a member answers with an invite.""",
        teaches="knocking, and the join rule it needs",
    )


# --- 10. room version 1 -------------------------------------------------------------


def room_v1() -> Room:
    s = Story("1", "room-v1")
    s.send("create", ALICE, "m.room.create", {"creator": ALICE}, state_key="")
    s.send("alice-joins", ALICE, MEMBER, joined("Alice"), state_key=ALICE)
    s.send("power-levels", ALICE, PL, full_power_levels({ALICE: 100, BOB: 50}), state_key="")
    s.send("join-rules", ALICE, JR, {"join_rule": "public"}, state_key="")
    s.send("bob-joins", BOB, MEMBER, joined("Bob"), state_key=BOB)
    s.send("charlie-joins", CHARLIE, MEMBER, joined("Charlie"), state_key=CHARLIE)
    base = s.by_name["charlie-joins"].origin_server_ts
    s.send("topic-alice", ALICE, TOPIC, {"topic": "Old times"}, state_key="", ts=base + MINUTE)
    s.send(
        "topic-bob",
        BOB,
        TOPIC,
        {"topic": "Older times"},
        state_key="",
        prev=["charlie-joins"],
        ts=base + 2 * MINUTE,
    )
    s.send("merge", CHARLIE, MESSAGE, text("Which topic won?"), prev=["topic-alice", "topic-bob"])
    digest = {n: hashlib.sha1(s.id(n).encode()).hexdigest() for n in ("topic-alice", "topic-bob")}
    first = min(digest, key=lambda n: digest[n])
    who = "Alice's" if first == "topic-alice" else "Bob's"
    s.note(
        "create",
        """Room version 1, the original. Its event IDs are chosen by the sending server, so
        they can be readable: this one is $create:wonderland.example. References to other
        events carry each event's hash next to its ID.""",
    )
    s.note(
        "charlie-joins",
        """From here Alice and Bob each set the topic without seeing the other's: the graph
        forks, with both topics at the same depth.""",
    )
    s.note(
        "merge",
        f"""Charlie's message merges them. Room version 1 uses the first state resolution
        algorithm: conflicting ordinary state events are ordered by depth, deepest first,
        and ties broken by the SHA-1 of the event ID. Both topics have the same depth, so
        the hash decides: {who} topic has the smaller SHA-1 and wins. Where they were sent
        from, and when, does not matter. Compare with v2 (Compare).""",
    )
    return s.room(
        title="Room version 1: readable IDs and the original state resolution",
        summary="""A room version 1 room. Event IDs are readable ($name:server) because v1
        lets servers choose them, and prev_events and auth_events carry hashes beside the IDs.
        Alice and Bob set the topic concurrently at the same depth; at the merge the original
        (v1) state resolution picks the winner by depth and then by the SHA-1 of the event
        IDs, an arbitrary but deterministic choice that later versions replaced.""",
        teaches="v1 event format and v1 state resolution (depth, SHA-1)",
        resolve_at=["merge"],
    )


ROOMS: dict[str, Callable[[], Room]] = {
    "linear.json": linear,
    "fork-and-merge.json": fork_and_merge,
    "ban-vs-power-levels.json": ban_vs_power_levels,
    "topic-reset.json": topic_reset,
    "join-rule-evasion.json": join_rule_evasion,
    "msc4297-problem-a-v11.json": lambda: problem_a("11"),
    "msc4297-problem-a-v12.json": lambda: problem_a("12"),
    "msc4297-problem-b-v11.json": lambda: problem_b("11"),
    "msc4297-problem-b-v12.json": lambda: problem_b("12"),
    "v12-additional-creators.json": v12_additional_creators,
    "restricted-join.json": restricted_join,
    "knock.json": knock,
    "room-v1.json": room_v1,
}


def write_all(out: Path) -> list[Path]:
    """Write every room to ``out``; ``annotations.order`` is its place in the teaching
    order (the order of :data:`ROOMS`: linear first, then forks, then the rest)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for order, (name, make) in enumerate(ROOMS.items(), start=1):
        room = make()
        room = Room.from_graph(
            room.graph,
            room_id=room.room_id,
            source=room.source,
            annotations={**room.annotations, "order": order},
            state_sets=room.state_sets,
            server_keys=room.server_keys,
            name=room.name,
        )
        path = out / name
        save_room(room, path)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR, help="folder to write to")
    parser.add_argument(
        "--check", action="store_true", help="compare with the files in --out instead"
    )
    args = parser.parse_args(argv)
    if args.check:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            differ = [
                p.name
                for p in write_all(Path(tmp))
                if not (args.out / p.name).exists()
                or (args.out / p.name).read_bytes() != p.read_bytes()
            ]
        for name in differ:
            print(f"{name}: differs from what tools/make_samples.py writes")
        return 1 if differ else 0
    for path in write_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
