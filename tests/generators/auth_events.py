"""A seeded generator of events to authorize, good and deliberately bad, for room versions 1-12.

Each :class:`AuthCase` is a small room state (create event, maybe power levels and
join rules, members in every membership, third-party invites) and one candidate
event with its ``auth_events`` chosen from that state the way a server would,
then, often, spoiled: wrong power, not joined, banned, bad join rules, malformed
power levels (strings in v10+, floats, booleans, nulls, bad ``users`` keys), knocks
in versions without knocking, restricted joins without the authorising user or
without their server's signature, v12 creators in ``users``, third-party invites
with the wrong token, mxid or signature, duplicate, unexpected, rejected, missing
or foreign auth events, broken create events.

The same seed gives the same cases (event IDs of v1/v2 rooms aside, which come
from the builder's counter). Used by tests/core/test_auth_vs_synapse.py.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from signedjson.sign import sign_json

from app.core.auth import auth_types_for_event
from app.core.builder import (
    build_event,
    generate_signing_key,
    room_id_for,
    verify_key_b64,
)
from app.core.events import PDU, StateKey
from app.core.versions import KNOWN_ROOM_VERSIONS, RoomVersion

SERVERS = ("a", "b", "c", "e")
USERS = ("@alice:a", "@bob:b", "@carol:c", "@dave:a", "@eve:e")
KEYS = {s: generate_signing_key(f"server-{s}".encode()) for s in SERVERS}
ID_SERVER_KEY = generate_signing_key(b"identity-server", version="0")
OTHER_KEY = generate_signing_key(b"someone-else", version="0")
MEMBERSHIPS = ("join", "join", "join", "join", "invite", "leave", "ban", "knock", None)
# Strings of the spec, one unknown word, and JSON values of other types (Synapse compares
# the join rule with ==, so those match no rule; roomscope once raised on them).
JOIN_RULES: tuple[object, ...] = (
    "public",
    "invite",
    "knock",
    "restricted",
    "knock_restricted",
    "private",
    "bogus",
    {"join_rule": "public"},
    ["invite"],
)


@dataclass
class AuthCase:
    version: RoomVersion
    event: PDU
    #: Every event the checker may look up (the listed auth events that exist, the v12 create).
    known: list[PDU]
    rejected: set[str] = field(default_factory=set)
    create: PDU | None = None
    label: str = ""
    #: The room state the event's auth events were selected from (the room's
    #: state as a server would see it; unspoiled).
    state: dict[StateKey, PDU] = field(default_factory=dict)

    @property
    def auth_pdus(self) -> list[PDU]:
        by_id = {p.event_id: p for p in self.known}
        return [by_id[e] for e in self.event.auth_events if e in by_id]


def _sender(rng: random.Random) -> str:
    """Mostly the creator (who can do most things), else anyone."""
    return "@alice:a" if rng.random() < 0.3 else rng.choice(USERS)


def _server(user: str) -> str:
    return user.partition(":")[2]


def _level(rng: random.Random, version: RoomVersion, bad: bool) -> Any:
    value = rng.choice((0, 0, 10, 25, 45, 50, 50, 75, 100, 100))
    if not bad:
        return value
    return rng.choice((str(value), float(value), value + 0.5, True, None, "fifty", [value], value))


class _Room:
    def __init__(self, rng: random.Random, version: RoomVersion) -> None:
        self.rng = rng
        self.v = version
        self.ts = 1000
        self.state: dict[StateKey, PDU] = {}
        self.extra: list[PDU] = []  # events outside the state the case may reference
        content: dict[str, Any] = {"room_version": version.identifier}
        if not version.implicit_room_creator:
            content["creator"] = "@alice:a"
        if version.privileged_creators and rng.random() < 0.4:
            content["additional_creators"] = ["@bob:b"]
        if rng.random() < 0.1:
            content["m.federate"] = rng.choice((False, "false", 0))
        self.create = self.build("m.room.create", "@alice:a", content, "", room_id=None, prev=())
        self.room_id = room_id_for(self.create)
        self.state[("m.room.create", "")] = self.create

    def build(
        self,
        type: str,
        sender: str,
        content: dict[str, Any],
        state_key: str | None = None,
        *,
        room_id: str | None | bool = True,
        prev: tuple[str, ...] = ("$prev:a",),
        auth: tuple[str, ...] = (),
        sign: bool = False,
        extra: dict[str, Any] | None = None,
        redacts: str | None = None,
    ) -> PDU:
        self.ts += 1
        rid: str | None
        if room_id is True:
            rid = self.room_id
        elif room_id is False or room_id is None:
            rid = None
        else:
            rid = room_id
        if (
            type == "m.room.create"
            and state_key == ""
            and room_id is None
            and not self.v.room_id_from_create_event
        ):
            rid = "!room:a"
        return build_event(
            self.v,
            type=type,
            sender=sender,
            content=content,
            state_key=state_key,
            room_id=rid,
            prev_events=prev,
            auth_events=auth,
            depth=self.ts,
            origin_server_ts=self.ts,
            redacts=redacts,
            extra=extra,
            signing_key=KEYS.get(_server(sender)) if sign else None,
        )

    def fill(self) -> None:
        rng, v = self.rng, self.v
        creators = {"@alice:a"} | (
            set(self.create.content.get("additional_creators", []))
            if v.privileged_creators
            else set()
        )
        if rng.random() < 0.85:
            bad = not v.enforce_int_power_levels and rng.random() < 0.15
            users = {
                u: _level(rng, v, bad)
                for u in USERS
                if rng.random() < 0.6 and not (v.privileged_creators and u in creators)
            }
            if not v.privileged_creators and rng.random() < 0.9:
                users["@alice:a"] = 100
            pl: dict[str, Any] = {"users": users}
            for name in ("ban", "kick", "redact", "invite", "state_default", "events_default"):
                if rng.random() < 0.5:
                    pl[name] = _level(rng, v, bad and rng.random() < 0.3)
            if rng.random() < 0.5:
                pl["users_default"] = rng.choice((0, 0, 10, 50))
            if rng.random() < 0.5:
                pl["events"] = {
                    t: _level(rng, v, False)
                    for t in (
                        "m.room.name",
                        "m.room.power_levels",
                        "m.room.message",
                        "m.room.redaction",
                    )
                    if rng.random() < 0.5
                }
            if rng.random() < 0.3:
                pl["notifications"] = {"room": _level(rng, v, False)}
            self.put(self.build("m.room.power_levels", "@alice:a", pl, ""))
        if rng.random() < 0.85:
            rule = rng.choice(JOIN_RULES)
            content: dict[str, Any] = {"join_rule": rule} if rng.random() < 0.95 else {}
            if rule in ("restricted", "knock_restricted"):
                content["allow"] = [{"type": "m.room_membership", "room_id": "!other:a"}]
            self.put(self.build("m.room.join_rules", "@alice:a", content, ""))
        for user in USERS:
            membership = (
                "join" if user == "@alice:a" and rng.random() < 0.9 else rng.choice(MEMBERSHIPS)
            )
            if membership is not None:
                sender = user if membership in ("join", "leave", "knock") else "@alice:a"
                self.put(self.build("m.room.member", sender, {"membership": membership}, user))
        if rng.random() < 0.5:
            content = {"display_name": "e...", "key_validity_url": "https://id.example/v"}
            choice = rng.random()
            good = verify_key_b64(ID_SERVER_KEY)
            if choice < 0.5:
                content["public_key"] = good
            elif choice < 0.8:
                content["public_key"] = verify_key_b64(OTHER_KEY)
                content["public_keys"] = [{"public_key": good}]
            elif choice < 0.9:
                content["public_key"] = verify_key_b64(OTHER_KEY)
            else:
                content["public_key"] = "not base64!"
            sender = rng.choice(USERS[:3])
            self.put(self.build("m.room.third_party_invite", sender, content, "tok"))

    def put(self, pdu: PDU) -> None:
        assert pdu.state_tuple is not None
        self.state[pdu.state_tuple] = pdu

    def membership(self, user: str) -> str | None:
        ev = self.state.get(("m.room.member", user))
        return ev.membership if ev else None


def _pl_candidate(room: _Room, rng: random.Random) -> tuple[dict[str, Any], str]:
    v = room.v
    old = room.state.get(("m.room.power_levels", ""))
    content: dict[str, Any] = {
        k: (dict(val) if isinstance(val, dict) else val)
        for k, val in (old.content.items() if old else {})
    }
    content.setdefault("users", {})
    users = content["users"] if isinstance(content.get("users"), dict) else {}
    label = "pl"
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.25:
            users[rng.choice(USERS)] = rng.choice((0, 10, 45, 50, 75, 100, 101))
            label = "pl:user"
        elif r < 0.35 and users:
            users.pop(rng.choice(sorted(users)))
            label = "pl:remove user"
        elif r < 0.55:
            name = rng.choice(
                (
                    "ban",
                    "kick",
                    "redact",
                    "invite",
                    "state_default",
                    "events_default",
                    "users_default",
                )
            )
            content[name] = rng.choice((0, 25, 45, 50, 100, 101))
            label = f"pl:{name}"
        elif r < 0.65:
            events = content.setdefault("events", {})
            if isinstance(events, dict):
                events[rng.choice(("m.room.name", "m.room.power_levels", "m.room.topic"))] = (
                    rng.choice((0, 50, 100, 101))
                )
            label = "pl:events"
        elif r < 0.72:
            content["notifications"] = {"room": rng.choice((0, 45, 50, 100, 101))}
            label = "pl:notifications"
        elif r < 0.8:
            bad = rng.choice(
                (
                    ("ban", "50"),
                    ("kick", 50.0),
                    ("invite", True),
                    ("redact", None),
                    ("state_default", "x"),
                    ("events", {"m.room.name": "50"}),
                    ("notifications", {"room": 5.5}),
                    ("users", {"@bob:b": "50"}),
                    ("events", []),
                    ("users", []),
                )
            )
            content[bad[0]] = bad[1]
            label = f"pl:malformed {bad[0]}={bad[1]!r}"
        elif r < 0.88:
            users[rng.choice(("bob", "@nocolon", "", "@ok:b"))] = 10
            label = "pl:users key"
        elif r < 0.95 and v.privileged_creators:
            users[rng.choice(("@alice:a", "@bob:b"))] = 100
            label = "pl:creator in users"
        else:
            content = {"users": {"@alice:a": 100}} if not v.privileged_creators else {}
            label = "pl:fresh"
    return content, label


def _member_candidate(
    room: _Room, rng: random.Random, force_join: bool = False
) -> tuple[str, dict[str, Any], str, str, dict[str, Any] | None, tuple[str, ...]]:
    if force_join:
        rule = (
            "knock_restricted"
            if room.v.knock_restricted_join_rule and rng.random() < 0.5
            else "restricted"
        )
        room.put(room.build("m.room.join_rules", "@alice:a", {"join_rule": rule}, ""))
    membership: Any = (
        "join"
        if force_join
        else rng.choice(
            ("join", "join", "join", "invite", "invite", "leave", "leave", "ban", "knock", "knock")
            if rng.random() < 0.9
            else ("bogus", None, 5)
        )
    )
    sender = _sender(rng)
    target = (
        sender if membership in ("join", "knock") and rng.random() < 0.85 else rng.choice(USERS)
    )
    if rng.random() < 0.03:
        target = rng.choice(("nocolon", "@x:a"))
    content: dict[str, Any] = {} if membership is None else {"membership": membership}
    label = f"member:{membership}"
    extra: dict[str, Any] | None = None
    prev: tuple[str, ...] = ("$prev:a",)
    if membership == "join":
        if rng.random() < 0.1:
            prev = (room.create.event_id,)
            sender = target = rng.choice(("@alice:a", "@alice:a", "@bob:b"))
            label = "member:creator join"
        rules = room.state.get(("m.room.join_rules", ""))
        restricted = rules is not None and rules.content.get("join_rule") in (
            "restricted",
            "knock_restricted",
        )
        if rng.random() < (0.8 if restricted else 0.2):
            joined = [u for u in USERS if room.membership(u) == "join"]
            content["join_authorised_via_users_server"] = rng.choice(
                (*joined, *joined, *USERS, "nocolon", 7)
            )
            label = "member:restricted join"
            authoriser = content["join_authorised_via_users_server"]
            if isinstance(authoriser, str) and ":" in authoriser and rng.random() < 0.8:
                srv = _server(authoriser)
                extra = {"signatures": {srv: {"ed25519:fake": "c2lnbmF0dXJl"}}}
    if membership == "invite" and rng.random() < 0.35:
        signed = {"mxid": target, "token": "tok"}
        r = rng.random()
        key = ID_SERVER_KEY
        if r < 0.1:
            signed["mxid"] = "@someone:else"
        elif r < 0.2:
            signed["token"] = rng.choice(("other", 5))  # type: ignore[assignment]
        elif r < 0.3:
            key = OTHER_KEY
        signed = sign_json(signed, "id.example", key)
        if r >= 0.3 and r < 0.35:
            signed.pop("signatures")
        tpi: Any = {"display_name": "e...", "signed": signed}
        if 0.35 <= r < 0.42:
            tpi = {"display_name": "e..."}
        elif 0.42 <= r < 0.45:
            tpi = None
        content["third_party_invite"] = tpi
        label = "member:third-party invite"
        if rng.random() < 0.5:
            sender = (
                room.state[("m.room.third_party_invite", "tok")].sender
                if ("m.room.third_party_invite", "tok") in room.state
                else sender
            )
    return sender, content, target, label, extra, prev


def _boundary_candidate(room: _Room, rng: random.Random) -> tuple[PDU, str]:
    """A joined sender one below or exactly at a default level the power levels leave out.

    Probes the spec's defaults (ban, kick and redact 50, invite 0, state_default 50,
    events_default 0, users_default 0) at their edges, with correct auth events.
    """
    v = room.v
    action = rng.choice(("ban", "kick", "unban", "invite", "state", "message", "redact"))
    default = {"ban": 50, "kick": 50, "unban": 50, "invite": 0, "state": 50, "message": 0}.get(
        action, 50
    )
    level = default + rng.choice((-1, 0, 0, 1))
    sender, target = "@bob:b", "@carol:c"
    users: dict[str, Any] = {sender: level}
    if not v.privileged_creators:
        users["@alice:a"] = 100
    if rng.random() < 0.5:
        users[target] = rng.choice((level - 1, level))
    room.put(room.build("m.room.power_levels", "@alice:a", {"users": users}, ""))
    room.put(room.build("m.room.member", sender, {"membership": "join"}, sender))
    target_membership = {"unban": "ban", "invite": "leave"}.get(action, "join")
    room.put(room.build("m.room.member", target, {"membership": target_membership}, target))
    state_key: str | None = target
    etype, content, redacts = "m.room.member", {}, None
    if action in ("ban", "invite"):
        content = {"membership": action}
    elif action in ("kick", "unban"):
        content = {"membership": "leave"}
    elif action == "state":
        etype, state_key, content = "m.room.topic", "", {"topic": "t"}
    elif action == "message":
        etype, state_key, content = "m.room.message", None, {"body": "b"}
    else:
        etype, state_key, redacts = "m.room.redaction", None, "$x:zz"
    draft = room.build(etype, sender, content, state_key, redacts=redacts)
    keys = auth_types_for_event(v, draft)
    auth = tuple(room.state[k].event_id for k in sorted(keys) if k in room.state)
    ev = room.build(etype, sender, content, state_key, auth=auth, sign=True, redacts=redacts)
    return ev, f"boundary:{action} at {level}"


def _candidate(room: _Room, rng: random.Random) -> tuple[PDU, str]:
    v = room.v
    r = rng.random()
    prev: tuple[str, ...] = ("$prev:a",)
    extra: dict[str, Any] | None = None
    redacts = None
    if r < 0.08:
        return _boundary_candidate(room, rng)
    if r < 0.4:
        force = v.restricted_join_rule and rng.random() < 0.25
        sender, content, target, label, extra, prev = _member_candidate(room, rng, force)
        etype, state_key = "m.room.member", target
    elif r < 0.6:
        content, label = _pl_candidate(room, rng)
        sender = _sender(rng)
        etype, state_key = "m.room.power_levels", ""
    else:
        sender = _sender(rng)
        kind = rng.choice(
            ("message", "name", "custom_at", "tpi", "aliases", "redaction", "join_rules", "create")
        )
        label = kind
        state_key = None
        content = {}
        if kind == "message":
            etype, content = "m.room.message", {"body": "hi"}
        elif kind == "name":
            etype, state_key, content = "m.room.name", "", {"name": "n"}
        elif kind == "custom_at":
            etype, state_key = "org.example.state", rng.choice((sender, "@bob:b", "@x", "plain"))
        elif kind == "tpi":
            etype, state_key, content = (
                "m.room.third_party_invite",
                "tok2",
                {"public_key": verify_key_b64(ID_SERVER_KEY)},
            )
        elif kind == "aliases":
            etype = "m.room.aliases"
            state_key = rng.choice((_server(sender), "b", "", None))
            content = {"aliases": ["#x:" + _server(sender)]}
        elif kind == "redaction":
            etype = "m.room.redaction"
            redacts = rng.choice((f"$target:{_server(sender)}", "$target:b", "$target:zz"))
            if rng.random() < 0.1:
                redacts = None
        elif kind == "join_rules":
            etype, state_key, content = (
                "m.room.join_rules",
                "",
                {"join_rule": rng.choice(JOIN_RULES)},
            )
        else:
            etype, state_key = "m.room.create", ""
            sender = rng.choice(("@alice:a", "@bob:b"))
            content = {"room_version": rng.choice((v.identifier, v.identifier, "99"))}
            if not v.implicit_room_creator and rng.random() < 0.8:
                content["creator"] = sender
            if v.privileged_creators and rng.random() < 0.5:
                content["additional_creators"] = rng.choice(
                    (["@carol:c"], "@carol:c", [5], ["carol"], ["@c:bad host"], [])
                )
            prev = () if rng.random() < 0.8 else ("$prev:a",)
            ev = room.build(etype, sender, content, state_key, room_id=None, prev=prev, sign=True)
            if not v.room_id_from_create_event and rng.random() < 0.2:
                ev = room.build(
                    etype, sender, content, state_key, room_id="!elsewhere:zz", prev=prev, sign=True
                )
            return ev, f"create:{content}"

    # auth events: the selection from the state, then maybe spoiled
    draft = room.build(etype, sender, content, state_key, prev=prev, extra=extra, redacts=redacts)
    keys = auth_types_for_event(v, draft)
    auth = [room.state[k] for k in sorted(keys) if k in room.state]
    r2 = rng.random()
    if r2 < 0.03 and not v.room_id_from_create_event:
        auth = [a for a in auth if a.type != "m.room.create"]
        label += " / no create"
    elif r2 < 0.06:
        odd = room.build("m.room.name", "@alice:a", {"name": "x"}, "")
        room.extra.append(odd)
        auth.append(odd)
        label += " / unexpected auth event"
    elif r2 < 0.09:
        dup = room.build("m.room.member", sender, {"membership": "join"}, sender)
        room.extra.append(dup)
        auth.append(dup)
        label += " / duplicate"
    elif r2 < 0.11:
        foreign = room.build(
            "m.room.member", sender, {"membership": "join"}, sender, room_id="!other:zz"
        )
        auth = [a for a in auth if a.state_tuple != ("m.room.member", sender)] + [foreign]
        room.extra.append(foreign)
        label += " / auth event from another room"
    elif r2 < 0.13 and v.room_id_from_create_event:
        auth.append(room.create)
        label += " / v12 lists the create event"
    elif r2 < 0.15 and auth:
        room.extra.append(auth[-1])
        label += " / rejected auth event"
    elif r2 < 0.17 and auth:
        missing = auth[-1]
        label += f" / missing auth event {missing.type}"
    elif r2 < 0.19 and v.room_id_from_create_event:
        label += " / v12 create event rejected"
    ev = room.build(
        etype,
        sender,
        content,
        state_key,
        prev=prev,
        auth=tuple(a.event_id for a in auth),
        sign=True,
        extra=extra,
        redacts=redacts,
    )
    return ev, label


def generate_cases(
    seed: int, count: int, versions: tuple[str, ...] | None = None
) -> Iterator[AuthCase]:
    """``count`` cases from ``seed``, spread over ``versions`` (default: all 12)."""
    rng = random.Random(seed)
    ids = versions or tuple(KNOWN_ROOM_VERSIONS)
    for i in range(count):
        version = KNOWN_ROOM_VERSIONS[ids[i % len(ids)]]
        room = _Room(rng, version)
        room.fill()
        event, label = _candidate(room, rng)
        known = {p.event_id: p for p in [*room.state.values(), *room.extra]}
        rejected: set[str] = set()
        if "rejected auth event" in label:
            rejected.add(room.extra[-1].event_id)
        if "create event rejected" in label:
            rejected.add(room.create.event_id)
        if "missing auth event" in label:
            missing_id = event.auth_events[-1]
            known.pop(missing_id, None)
            if missing_id == room.create.event_id:
                known[missing_id] = room.create
        yield AuthCase(
            version=version,
            event=event,
            known=list(known.values()),
            rejected=rejected,
            create=room.create if version.room_id_from_create_event else None,
            label=label,
            state=dict(room.state),
        )
