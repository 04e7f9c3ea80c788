"""A seeded generator of forked Matrix rooms, for differential tests and benchmarks.

:func:`generate_room` builds a room of any version 1-12 the way a handful of
servers would: a valid room start (create, creator join, power levels, join
rules, members joining or invited), then concurrent branches that promote and
demote, change the join rule (public/invite/knock/restricted/knock_restricted
where the version has them), join, leave, kick, ban, unban, invite and knock,
set topics and names, ban the senders of sibling branches, fork again inside
forks and merge two or three branches back. A few events are meant to be
rejected (an unprivileged topic, a banned user joining, a wrong auth event, a
v12 creator in the power levels' ``users``). Events come from several servers.

The generator keeps its own simple model of each branch's state, to pick
senders that are (probably) allowed and to choose ``auth_events`` as a server
would (the auth event selection algorithm, via ``app.core.auth.auth_types_for_event``,
over the state before the event on its own branch). The model does not resolve
state at merges: it takes each key from one of the merged branches at random.
It need not be right: whether an event is rejected and what the state is, is
decided by the oracle (``tests.oracle.synapse_state``) and by roomscope.

Everything is derived from ``random.Random(seed)``: the same seed and version
give the same events, byte for byte.

Spec: https://spec.matrix.org/v1.16/server-server-api/#auth-events-selection,
https://spec.matrix.org/v1.16/rooms/ (authorization rules of each version).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from signedjson.sign import sign_json

from app.core.builder import SigningKey, build_event, generate_signing_key, room_id_for
from app.core.events import PDU, StateKey, parse_pdu
from app.core.hashing import redact
from app.core.versions import RoomVersion

__all__ = [
    "LARGE",
    "MEDIUM",
    "SMALL",
    "WIDE",
    "GeneratedRoom",
    "RoomShape",
    "generate_fork_input",
    "generate_room",
]

AuthTypes = Callable[[RoomVersion, PDU], Iterable[StateKey]]


class Tracker(Protocol):
    """Something that knows the true state (an oracle), fed each event as it is made."""

    def add(self, pdu: PDU) -> str | None:
        """Take in ``pdu``; return why it is rejected, or None."""

    def state_before(self, prev_events: Iterable[str]) -> Mapping[StateKey, str]:
        """The state of a new event whose ``prev_events`` are these."""


CREATE: StateKey = ("m.room.create", "")
POWER: StateKey = ("m.room.power_levels", "")
JOIN_RULES: StateKey = ("m.room.join_rules", "")


@dataclass(frozen=True, slots=True)
class RoomShape:
    """How big and how forked a generated room is."""

    #: Events after the room start.
    events: int = 60
    #: Users beyond the creator, spread over ``servers`` servers.
    users: int = 8
    servers: int = 3
    #: Members who join during the room start (the rest join, are invited or knock later).
    initial_members: int = 5
    #: Upper bound on concurrent branches.
    max_branches: int = 4
    #: Per step: chance of forking a branch, of merging branches.
    p_fork: float = 0.12
    p_merge: float = 0.10
    #: Per event: chance of an event meant to be rejected.
    p_invalid: float = 0.05
    #: Chance that a step is a non-state message (cheap filler, realistic).
    p_message: float = 0.2
    #: Per step: chance that the event also names an old event as a prev event.
    p_stale_prev: float = 0.03
    #: Weight of membership changes against other state changes (1: the usual mix).
    membership_weight: float = 1.0


SMALL = RoomShape()
#: Many short concurrent branches, merged two or three at a time.
WIDE = RoomShape(events=150, users=12, max_branches=8, p_fork=0.25, p_merge=0.18)
MEDIUM = RoomShape(events=400, users=40, servers=4, initial_members=25, max_branches=5)
LARGE = RoomShape(events=2000, users=150, servers=6, initial_members=100, max_branches=6)


@dataclass(frozen=True, slots=True)
class GeneratedRoom:
    """A generated room: its events in the order they were made (a topological order)."""

    version: RoomVersion
    seed: int
    room_id: str
    events: tuple[PDU, ...]
    #: Event IDs of the events the generator meant to be rejected (informational:
    #: the oracle decides).
    meant_invalid: frozenset[str]

    @property
    def by_id(self) -> dict[str, PDU]:
        return {e.event_id: e for e in self.events}

    @property
    def merges(self) -> tuple[str, ...]:
        """Events with more than one ``prev_events``: where state sets meet."""
        return tuple(e.event_id for e in self.events if len(e.prev_events) > 1)

    @property
    def extremities(self) -> tuple[str, ...]:
        """Events that no other event names in ``prev_events`` (the forward extremities)."""
        referenced = {p for e in self.events for p in e.prev_events}
        return tuple(e.event_id for e in self.events if e.event_id not in referenced)


def _default_auth_types() -> AuthTypes:
    from app.core.auth import auth_types_for_event  # helper H3's auth module

    return auth_types_for_event  # type: ignore[no-any-return]


@dataclass(slots=True)
class _Branch:
    state: dict[StateKey, PDU]
    prev: list[str]
    depth: int
    #: Users who sent events on this branch since it forked (for sibling bans).
    senders: list[str] = field(default_factory=list)
    #: Index of the branch it forked from (siblings share it).
    family: int = 0


class _Generator:
    def __init__(
        self,
        version: RoomVersion,
        seed: int,
        shape: RoomShape,
        auth_types: AuthTypes,
        tracker: Tracker | None = None,
    ) -> None:
        self.tracker = tracker
        self.v = version
        self.seed = seed
        self.shape = shape
        self.rng = random.Random(f"{version.identifier}/{seed}")
        self.auth_types = auth_types
        self.events: list[PDU] = []
        self.by_id: dict[str, PDU] = {}
        self.meant_invalid: set[str] = set()
        self.ts = 1_700_000_000_000 + self.rng.randrange(1_000_000)
        self.counter = 0
        self.servers = [f"s{i}.example" for i in range(max(1, shape.servers))]
        self.creator = f"@alice:{self.servers[0]}"
        self.users = [
            f"@u{i}:{self.servers[(i + 1) % len(self.servers)]}" for i in range(shape.users)
        ]
        self.additional_creators: list[str] = []
        self.room_id = f"!r{seed}v{version.identifier}:{self.servers[0]}"
        self.keys: dict[str, SigningKey] = {}
        self.next_family = 1

    # -- the model -------------------------------------------------------------

    def creators(self) -> set[str]:
        return {self.creator, *self.additional_creators}

    def membership(self, b: _Branch, user: str) -> str:
        ev = b.state.get(("m.room.member", user))
        return (ev.membership or "leave") if ev is not None else "leave"

    def joined(self, b: _Branch) -> list[str]:
        return sorted(
            k[1] for k, e in b.state.items() if k[0] == "m.room.member" and e.membership == "join"
        )

    def pl(self, b: _Branch) -> Mapping[str, Any]:
        ev = b.state.get(POWER)
        return ev.content if ev is not None else {}

    def level(self, b: _Branch, user: str) -> float:
        if self.v.privileged_creators and user in self.creators():
            return float("inf")
        content = self.pl(b)
        if not content:
            return 100 if user == self.creator else 0
        users = content.get("users", {})
        return _int(users.get(user, content.get("users_default", 0)))

    def needed(self, b: _Branch, name: str, default: int) -> int:
        return _int(self.pl(b).get(name, default))

    def state_needed(self, b: _Branch, etype: str) -> int:
        content = self.pl(b)
        return _int(content.get("events", {}).get(etype, content.get("state_default", 50)))

    def join_rule(self, b: _Branch) -> str:
        ev = b.state.get(JOIN_RULES)
        rule = ev.content.get("join_rule") if ev is not None else None
        return rule if isinstance(rule, str) else "invite"

    # -- building --------------------------------------------------------------

    def tick(self) -> int:
        r = self.rng.random()
        if r < 0.05:
            return self.ts  # same timestamp as the previous event: forces ID tiebreaks
        self.ts += self.rng.choice((1, 7, 100, 1000, 60_000))
        if r > 0.97:
            return self.ts - self.rng.randrange(1, 3_600_000)  # a server with a slow clock
        return self.ts

    def emit(
        self,
        b: _Branch,
        *,
        type: str,
        sender: str,
        content: Mapping[str, Any],
        state_key: str | None = None,
        invalid: bool = False,
        auth_override: Callable[[list[str]], list[str]] | None = None,
        apply: bool = True,
        redacts: str | None = None,
        also_signed_by: str | None = None,
    ) -> PDU:
        """Build an event on branch ``b`` (state before = the branch's model state).

        Every event is signed by its sender's server; ``also_signed_by`` adds the
        signature of another server (the authorising server of a restricted join).
        """
        room_id = None if self.v.room_id_from_create_event and not self.events else self.room_id
        auth = self.select_auth_events(b, type, sender, content, state_key)
        if auth_override is not None:
            auth = auth_override(auth)
        depth = b.depth + 1
        if self.events and self.rng.random() < 0.03:
            depth += self.rng.randrange(1, 10)  # servers choose depth; v1 orders by it
        event_id = None
        if not self.v.event_ids_derived:
            self.counter += 1
            server = sender.partition(":")[2]
            event_id = f"${self.seed}-{self.counter}:{server}"
        pdu = build_event(
            self.v,
            type=type,
            sender=sender,
            content=content,
            state_key=state_key,
            room_id=room_id,
            prev_events=tuple(b.prev),
            auth_events=tuple(auth),
            depth=depth,
            origin_server_ts=self.tick(),
            event_id=event_id,
            redacts=redacts,
            known_events=self.by_id,
            signing_key=self.key(sender.partition(":")[2]),
        )
        if also_signed_by is not None and also_signed_by != sender.partition(":")[2]:
            pdu = self.cosign(pdu, also_signed_by)
        if not self.events and self.v.room_id_from_create_event:
            self.room_id = room_id_for(pdu)
        self.events.append(pdu)
        self.by_id[pdu.event_id] = pdu
        b.prev = [pdu.event_id]
        b.depth = depth
        b.senders.append(sender)
        if invalid:
            self.meant_invalid.add(pdu.event_id)
        if self.tracker is not None:
            # The true state is known: apply the event exactly when it is accepted.
            apply = self.tracker.add(pdu) is None
        elif invalid:
            apply = False
        if apply and state_key is not None:
            b.state[(type, state_key)] = pdu
        return pdu

    def key(self, server: str) -> SigningKey:
        key = self.keys.get(server)
        if key is None:
            key = self.keys[server] = generate_signing_key(server.encode(), version="1")
        return key

    def cosign(self, pdu: PDU, server: str) -> PDU:
        """``pdu`` with ``server``'s signature added (IDs and hashes do not cover signatures)."""
        obj = dict(pdu.raw)
        signed = sign_json(redact(obj, self.v), server, self.key(server))
        signatures = {k: dict(v) for k, v in obj.get("signatures", {}).items()}
        signatures.update(signed["signatures"])
        obj["signatures"] = signatures
        return parse_pdu(obj, self.v, event_id=pdu.event_id)

    def select_auth_events(
        self,
        b: _Branch,
        type: str,
        sender: str,
        content: Mapping[str, Any],
        state_key: str | None,
    ) -> list[str]:
        """The auth events selection algorithm over the branch's model state."""
        if type == "m.room.create" and state_key == "":
            return []
        draft = PDU(
            event_id="$draft",
            room_version=self.v,
            raw={},
            room_id=self.room_id,
            sender=sender,
            type=type,
            state_key=state_key,
            content=content,
            prev_events=(),
            auth_events=(),
            depth=0,
            origin_server_ts=0,
        )
        keys = sorted(set(self.auth_types(self.v, draft)))
        out: list[str] = []
        for key in keys:
            if key == CREATE and self.v.room_id_from_create_event:
                continue  # v12: the create event is implied, never listed
            ev = b.state.get(key)
            if ev is not None:
                out.append(ev.event_id)
        return out

    # -- the room start --------------------------------------------------------

    def start(self) -> _Branch:
        b = _Branch(state={}, prev=[], depth=0)
        create_content: dict[str, Any] = {"room_version": self.v.identifier}
        if not self.v.implicit_room_creator:
            create_content["creator"] = self.creator
        if self.rng.random() < 0.03:
            create_content["m.federate"] = False  # other servers' events are all rejected
        if self.v.privileged_creators and self.rng.random() < 0.5:
            self.additional_creators = [self.users[0]]
            create_content["additional_creators"] = list(self.additional_creators)
        self.emit(
            b, type="m.room.create", sender=self.creator, content=create_content, state_key=""
        )
        self.emit(
            b,
            type="m.room.member",
            sender=self.creator,
            content={"membership": "join"},
            state_key=self.creator,
        )
        users: dict[str, Any] = {}
        if not self.v.privileged_creators:
            users[self.creator] = 100
        members = self.users[: self.shape.initial_members]
        for i, user in enumerate(members):
            if user in self.additional_creators:
                continue
            if i % 4 == 1:
                users[user] = 100
            elif i % 4 == 2:
                users[user] = 50
        pl: dict[str, Any] = {
            "users": users,
            "users_default": 0,
            "events": {
                "m.room.power_levels": 100,
                "m.room.join_rules": 50 if self.rng.random() < 0.5 else 100,
                "m.room.history_visibility": 100,
                "m.room.topic": 50 if self.rng.random() < 0.7 else 0,
                "m.room.name": 50,
            },
            "events_default": 0 if self.rng.random() < 0.9 else 10,
            "state_default": 50,
            "ban": 50,
            "kick": 50 if self.rng.random() < 0.7 else 75,
            "redact": 50,
            "invite": 0 if self.rng.random() < 0.6 else 50,
        }
        if self.rng.random() < 0.2:
            pl["notifications"] = {"room": 50}
        if self.rng.random() < 0.1:
            pl["users_default"] = 10
        if not self.v.enforce_int_power_levels and self.rng.random() < 0.2:
            # v1-v9 accept strings, read as Synapse reads them (Python's int())
            pl["ban"] = self.rng.choice(("50", " 50", "+50", "050"))
            moderators = [u for u, lvl in users.items() if lvl == 50]
            if moderators:
                users[moderators[0]] = self.rng.choice(("50", "50 ", "+50"))
            if len(moderators) > 1:
                users[moderators[1]] = True  # int(True) == 1 for Synapse, in v1-v9
        self.emit(b, type="m.room.power_levels", sender=self.creator, content=pl, state_key="")
        self.emit(
            b,
            type="m.room.join_rules",
            sender=self.creator,
            content={"join_rule": "public"},
            state_key="",
        )
        self.emit(
            b,
            type="m.room.history_visibility",
            sender=self.creator,
            content={"history_visibility": "shared"},
            state_key="",
        )
        for user in members:
            if self.rng.random() < 0.25:
                inviter = self.rng.choice([self.creator, *self.joined(b)])
                self.emit(
                    b,
                    type="m.room.member",
                    sender=inviter,
                    content={"membership": "invite"},
                    state_key=user,
                )
            self.emit(
                b, type="m.room.member", sender=user, content={"membership": "join"}, state_key=user
            )
        if self.rng.random() < 0.5:
            self.emit(
                b,
                type="m.room.join_rules",
                sender=self.creator,
                content={"join_rule": "invite"},
                state_key="",
            )
        return b

    # -- the actions -----------------------------------------------------------

    def step(self, b: _Branch, siblings: Sequence[_Branch]) -> None:
        rng = self.rng
        if rng.random() < self.shape.p_invalid:
            self.invalid(b)
            return
        if rng.random() < self.shape.p_message:
            self.message(b)
            return
        m = self.shape.membership_weight
        actions: list[tuple[float, Callable[[_Branch, Sequence[_Branch]], bool]]] = [
            (3, self.topic),
            (2, self.power_change),
            (1, self.join_rules_change),
            (3 * m, self.join),
            (1 * m, self.leave),
            (1 * m, self.kick),
            (2 * m, self.ban),
            (0.5 * m, self.unban),
            (2 * m, self.invite),
            (1 * m, self.knock),
            (0.7, self.redaction),
            (0.3, self.aliases),
        ]
        for _ in range(6):
            action = rng.choices([a for _, a in actions], weights=[w for w, _ in actions])[0]
            if action(b, siblings):
                return
        self.message(b)

    def pick(self, items: Sequence[str]) -> str | None:
        return self.rng.choice(list(items)) if items else None

    def message(self, b: _Branch) -> None:
        sender = self.pick(self.joined(b)) or self.creator
        self.emit(
            b,
            type="m.room.message",
            sender=sender,
            content={"msgtype": "m.text", "body": f"hello {self.counter}"},
        )

    def redaction(self, b: _Branch, _s: Sequence[_Branch]) -> bool:
        """Redact an earlier event (own ones, or anyone's with the redact level)."""
        joined = self.joined(b)
        sender = self.pick(joined)
        if sender is None or len(self.events) < 2:
            return False
        target = self.rng.choice(self.events[-50:])
        self.emit(
            b,
            type="m.room.redaction",
            sender=sender,
            content={"reason": "spam"},
            redacts=target.event_id,
        )
        return True

    def aliases(self, b: _Branch, _s: Sequence[_Branch]) -> bool:
        """m.room.aliases: special rules in v1-v5 (state key = sender's server)."""
        candidates = self.joined(b)
        if not self.v.special_case_aliases_auth:  # v6+: an ordinary state event
            need = self.state_needed(b, "m.room.aliases")
            candidates = [u for u in candidates if self.level(b, u) >= need]
        sender = self.pick(candidates)
        if sender is None:
            return False
        server = sender.partition(":")[2]
        state_key = server if self.rng.random() < 0.8 else "elsewhere.example"
        self.emit(
            b,
            type="m.room.aliases",
            sender=sender,
            content={"aliases": [f"#a{self.rng.randrange(100)}:{state_key}"]},
            state_key=state_key,
        )
        return True

    def topic(self, b: _Branch, _s: Sequence[_Branch]) -> bool:
        etype = self.rng.choice(("m.room.topic", "m.room.topic", "m.room.name"))
        need = self.state_needed(b, etype)
        allowed = [u for u in self.joined(b) if self.level(b, u) >= need]
        sender = self.pick(allowed)
        if sender is None:
            return False
        key = "topic" if etype == "m.room.topic" else "name"
        self.emit(
            b,
            type=etype,
            sender=sender,
            content={key: f"{key} {self.rng.randrange(10_000)}"},
            state_key="",
        )
        return True

    def power_change(self, b: _Branch, _s: Sequence[_Branch]) -> bool:
        need = self.state_needed(b, "m.room.power_levels")
        admins = [u for u in self.joined(b) if self.level(b, u) >= need]
        sender = self.pick(admins)
        if sender is None:
            return False
        mine = self.level(b, sender)
        content = dict(self.pl(b))
        users = dict(content.get("users", {}))
        candidates = [u for u in [*self.joined(b), *self.users[:4]] if u != sender]
        if self.v.privileged_creators:
            candidates = [u for u in candidates if u not in self.creators()]
        target = self.pick(sorted(set(candidates)))
        if target is None:
            return False
        old = self.level(b, target)
        if old >= mine:
            return False
        choices = [lvl for lvl in (0, 25, 50, 75, 100) if lvl <= mine and lvl != old]
        new = self.rng.choice(choices)
        if new == 0 and self.rng.random() < 0.5:
            users.pop(target, None)
        else:
            users[target] = new
        content["users"] = users
        if self.rng.random() < 0.15:
            # change a threshold too
            name = self.rng.choice(("ban", "kick", "invite", "state_default"))
            value = self.rng.choice((0, 50, 100))
            if _int(content.get(name, 50)) <= mine and value <= mine:
                content[name] = value
        if self.rng.random() < 0.1:
            # v6+: changing notifications needs the power to set its old and new value
            content["notifications"] = {"room": self.rng.choice((0, 50, 100))}
        self.emit(b, type="m.room.power_levels", sender=sender, content=content, state_key="")
        return True

    def join_rules_change(self, b: _Branch, _s: Sequence[_Branch]) -> bool:
        need = self.state_needed(b, "m.room.join_rules")
        sender = self.pick([u for u in self.joined(b) if self.level(b, u) >= need])
        if sender is None:
            return False
        rules = ["public", "invite"]
        if self.v.knock_join_rule:
            rules.append("knock")
        if self.v.restricted_join_rule:
            rules.append("restricted")
        if self.v.knock_restricted_join_rule:
            rules.append("knock_restricted")
        rules = [r for r in rules if r != self.join_rule(b)]
        rule = self.rng.choice(rules)
        content: dict[str, Any] = {"join_rule": rule}
        if rule in ("restricted", "knock_restricted"):
            content["allow"] = [{"type": "m.room_membership", "room_id": "!other:s0.example"}]
        self.emit(b, type="m.room.join_rules", sender=sender, content=content, state_key="")
        return True

    def join(self, b: _Branch, _s: Sequence[_Branch]) -> bool:
        rule = self.join_rule(b)
        outside = [u for u in self.users if self.membership(b, u) not in ("join", "ban")]
        invited = [u for u in outside if self.membership(b, u) == "invite"]
        content: dict[str, Any] = {"membership": "join"}
        if invited and (rule != "public" or self.rng.random() < 0.3):
            user = self.pick(invited)
        elif rule == "public":
            user = self.pick(outside)
        elif rule in ("restricted", "knock_restricted"):
            user = self.pick(outside)
            need = self.needed(b, "invite", 0)
            via = self.pick([u for u in self.joined(b) if self.level(b, u) >= need])
            if via is None:
                return False
            content["join_authorised_via_users_server"] = via
        else:
            return False
        if user is None:
            return False
        if self.rng.random() < 0.15:
            content["displayname"] = user[1:].partition(":")[0].upper()
        via = content.get("join_authorised_via_users_server")
        unsigned = via is not None and self.rng.random() < 0.1
        self.emit(
            b,
            type="m.room.member",
            sender=user,
            content=content,
            state_key=user,
            # the authorising server signs restricted joins; now and then it did not
            also_signed_by=None if via is None or unsigned else via.partition(":")[2],
            invalid=unsigned and via.partition(":")[2] != user.partition(":")[2],
        )
        return True

    def leave(self, b: _Branch, _s: Sequence[_Branch]) -> bool:
        ok = ("join", "invite", "knock") if self.v.knock_join_rule else ("join", "invite")
        members = [u for u in self.users if self.membership(b, u) in ok]
        user = self.pick(members)
        if user is None:
            return False
        self.emit(
            b, type="m.room.member", sender=user, content={"membership": "leave"}, state_key=user
        )
        return True

    def _moderate(self, b: _Branch, what: str, targets: Sequence[str]) -> bool:
        need = self.needed(b, what, 50)
        mods = [u for u in self.joined(b) if self.level(b, u) >= need]
        sender = self.pick(mods)
        if sender is None:
            return False
        mine = self.level(b, sender)
        target = self.pick([t for t in targets if t != sender and self.level(b, t) < mine])
        if target is None:
            return False
        membership = "ban" if what == "ban" else "leave"
        self.emit(
            b,
            type="m.room.member",
            sender=sender,
            content={"membership": membership},
            state_key=target,
        )
        return True

    def kick(self, b: _Branch, _s: Sequence[_Branch]) -> bool:
        targets = [u for u in self.users if self.membership(b, u) in ("join", "invite", "knock")]
        return self._moderate(b, "kick", targets)

    def ban(self, b: _Branch, siblings: Sequence[_Branch]) -> bool:
        sibling_senders = sorted({s for sib in siblings for s in sib.senders})
        if sibling_senders and self.rng.random() < 0.6:
            targets = sibling_senders
        else:
            targets = [u for u in self.users if self.membership(b, u) != "ban"]
        return self._moderate(b, "ban", targets)

    def unban(self, b: _Branch, _s: Sequence[_Branch]) -> bool:
        banned = [u for u in self.users if self.membership(b, u) == "ban"]
        return self._moderate(b, "ban", banned)

    def invite(self, b: _Branch, _s: Sequence[_Branch]) -> bool:
        need = self.needed(b, "invite", 0)
        sender = self.pick([u for u in self.joined(b) if self.level(b, u) >= need])
        ok = ("leave", "knock")
        target = self.pick([u for u in self.users if self.membership(b, u) in ok])
        if sender is None or target is None:
            return False
        self.emit(
            b,
            type="m.room.member",
            sender=sender,
            content={"membership": "invite"},
            state_key=target,
        )
        return True

    def knock(self, b: _Branch, _s: Sequence[_Branch]) -> bool:
        if not self.v.knock_join_rule or self.join_rule(b) not in ("knock", "knock_restricted"):
            return False
        user = self.pick([u for u in self.users if self.membership(b, u) == "leave"])
        if user is None:
            return False
        self.emit(
            b, type="m.room.member", sender=user, content={"membership": "knock"}, state_key=user
        )
        return True

    def invalid(self, b: _Branch) -> None:
        """An event meant to be rejected (by its auth events or the state before it)."""
        rng = self.rng
        kind = rng.randrange(7)
        joined = self.joined(b)
        if kind == 0:  # a topic from someone without the power
            need = self.state_needed(b, "m.room.topic")
            weak = [u for u in joined if self.level(b, u) < need]
            sender = self.pick(weak) or self.pick(self.users) or self.creator
            self.emit(
                b,
                type="m.room.topic",
                sender=sender,
                content={"topic": "not allowed"},
                state_key="",
                invalid=True,
            )
        elif kind == 1:  # a banned or outside user joins an invite-only room
            banned = [u for u in self.users if self.membership(b, u) == "ban"]
            user = self.pick(banned) or self.users[-1]
            self.emit(
                b,
                type="m.room.member",
                sender=user,
                content={"membership": "join"},
                state_key=user,
                invalid=bool(banned) or self.join_rule(b) != "public",
            )
        elif kind == 2:  # power levels from a non-admin granting themselves 100
            weak = [u for u in joined if self.level(b, u) < 100]
            sender = self.pick(weak)
            if sender is None:
                self.message(b)
                return
            content = dict(self.pl(b))
            users = dict(content.get("users", {}))
            users[sender] = 100
            content["users"] = users
            self.emit(
                b,
                type="m.room.power_levels",
                sender=sender,
                content=content,
                state_key="",
                invalid=True,
            )
        elif kind == 3:  # a message from a user who is not in the room
            outside = [u for u in self.users if self.membership(b, u) != "join"]
            sender = self.pick(outside) or "@stranger:elsewhere.example"
            self.emit(
                b,
                type="m.room.message",
                sender=sender,
                content={"msgtype": "m.text", "body": "let me in"},
                invalid=True,
            )
        elif kind == 4:  # wrong auth events: one missing (no power levels)
            sender = self.pick(joined) or self.creator
            self.emit(
                b,
                type="m.room.name",
                sender=sender,
                content={"name": "no power levels cited"},
                state_key="",
                invalid=True,
                auth_override=lambda ids: [
                    i for i in ids if self.by_id[i].state_tuple not in (POWER, CREATE)
                ],
            )
        elif kind == 5:  # wrong auth events: an extra one of the wrong type
            extra = b.state.get(("m.room.history_visibility", ""))
            sender = self.pick(joined) or self.creator
            if extra is None:
                self.message(b)
                return
            self.emit(
                b,
                type="m.room.message",
                sender=sender,
                content={"msgtype": "m.text", "body": "odd auth"},
                invalid=True,
                auth_override=lambda ids: [*ids, extra.event_id],
            )
        else:  # v12: a creator in the power levels' users; elsewhere: kick a higher user
            if self.v.privileged_creators:
                content = dict(self.pl(b))
                users = dict(content.get("users", {}))
                users[self.creator] = 100
                content["users"] = users
                self.emit(
                    b,
                    type="m.room.power_levels",
                    sender=self.creator,
                    content=content,
                    state_key="",
                    invalid=True,
                )
                return
            weak = [u for u in joined if 0 < self.level(b, u) < 100]
            sender = self.pick(weak) or self.pick(joined) or self.creator
            target = self.creator
            self.emit(
                b,
                type="m.room.member",
                sender=sender,
                content={"membership": "leave"},
                state_key=target,
                invalid=sender != target,
            )

    # -- forks and merges ------------------------------------------------------

    def fork(self, b: _Branch) -> _Branch:
        family = self.next_family
        self.next_family += 1
        b.family = family
        b.senders = []
        return _Branch(state=dict(b.state), prev=list(b.prev), depth=b.depth, family=family)

    def merge(self, parts: Sequence[_Branch]) -> _Branch:
        prev: list[str] = []
        for p in parts:
            for eid in p.prev:
                if eid not in prev:
                    prev.append(eid)
        state: dict[StateKey, PDU] = {}
        if self.tracker is not None:
            for key, eid in self.tracker.state_before(prev).items():
                state[key] = self.by_id[eid]
        else:
            # No oracle: each key from one of the merged branches, at random.
            keys = sorted({k for p in parts for k in p.state})
            for key in keys:
                values = [p.state[key] for p in parts if key in p.state]
                state[key] = self.rng.choice(values)
        merged = _Branch(state=state, prev=prev, depth=max(p.depth for p in parts))
        merged.family = self.next_family
        self.next_family += 1
        return merged

    def stale_merge(self, b: _Branch) -> None:
        """Make ``b``'s next event also name an older event (of any branch) as a prev event.

        Servers list what they know as forward extremities; after backfill or a
        partition that can be an old event from another part of the DAG.
        """
        old = self.rng.choice(self.events[: max(1, len(self.events) - 5)])
        if old.event_id in b.prev:
            return
        b.prev = [*b.prev, old.event_id]
        b.depth = max(b.depth, old.depth)
        if self.tracker is not None:
            b.state = {k: self.by_id[e] for k, e in self.tracker.state_before(b.prev).items()}

    def run(self) -> GeneratedRoom:
        branches = [self.start()]
        rng = self.rng
        target = len(self.events) + self.shape.events
        while len(self.events) < target:
            r = rng.random()
            if r < self.shape.p_fork and len(branches) < self.shape.max_branches:
                b = rng.choice(branches)
                branches.append(self.fork(b))
                continue
            if r < self.shape.p_fork + self.shape.p_merge and len(branches) > 1:
                n = 3 if len(branches) > 2 and rng.random() < 0.25 else 2
                parts = rng.sample(branches, n)
                for p in parts:
                    branches.remove(p)
                merged = self.merge(parts)
                branches.append(merged)
                # the merge event itself
                if rng.random() < 0.5:
                    self.message(merged)
                else:
                    self.step(merged, [])
                continue
            b = rng.choice(branches)
            if rng.random() < self.shape.p_stale_prev and len(self.events) > 10:
                self.stale_merge(b)
            siblings = [s for s in branches if s is not b and s.family == b.family]
            self.step(b, siblings or [s for s in branches if s is not b])
        # Sometimes close every fork at the end, sometimes leave several extremities.
        if len(branches) > 1 and rng.random() < 0.5:
            merged = self.merge(branches)
            self.message(merged)
        return GeneratedRoom(
            version=self.v,
            seed=self.seed,
            room_id=self.room_id,
            events=tuple(self.events),
            meant_invalid=frozenset(self.meant_invalid),
        )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def generate_room(
    version: RoomVersion,
    seed: int,
    shape: RoomShape = SMALL,
    *,
    auth_types: AuthTypes | None = None,
    tracker: Tracker | None = None,
) -> GeneratedRoom:
    """A forked room of ``version``, the same for the same ``seed``, ``shape`` and tracker.

    ``auth_types`` is the auth event selection (defaults to roomscope's
    ``app.core.auth.auth_types_for_event``). With a ``tracker`` (an oracle of the
    true state, e.g. ``tests.oracle.synapse_state.StateTracker``) the generator
    knows the state at merges and which events were rejected, as a real server
    would; without one it guesses, and more events end up rejected.
    """
    gen = _Generator(version, seed, shape, auth_types or _default_auth_types(), tracker)
    return gen.run()


def generate_fork_input(
    version: RoomVersion,
    seed: int,
    *,
    linear_events: int,
    branch_events: int,
    branches: int = 2,
    users: int = 300,
    auth_types: AuthTypes | None = None,
    tracker: Tracker | None = None,
) -> GeneratedRoom:
    """A benchmark room: a long linear history, then ``branches`` concurrent branches.

    The branches each make ``branch_events`` events, mostly state changes (topics,
    memberships, power levels), so the states at their tips conflict on many
    keys; nothing is merged (the benchmark resolves the tips' states).
    """
    shape = RoomShape(
        events=0,
        users=users,
        servers=8,
        initial_members=min(users, max(10, users // 2)),
        max_branches=branches,
        p_fork=0.0,
        p_merge=0.0,
        p_invalid=0.01,
        p_message=0.1,
        membership_weight=4.0,
    )
    gen = _Generator(version, seed, shape, auth_types or _default_auth_types(), tracker)
    trunk = gen.start()
    while len(gen.events) < linear_events:
        gen.step(trunk, [])
    forks = [trunk]
    for _ in range(branches - 1):
        forks.append(gen.fork(trunk))
    for _ in range(branch_events):
        for i, b in enumerate(forks):
            gen.step(b, [s for j, s in enumerate(forks) if j != i])
    return GeneratedRoom(
        version=version,
        seed=seed,
        room_id=gen.room_id,
        events=tuple(gen.events),
        meant_invalid=frozenset(gen.meant_invalid),
    )
