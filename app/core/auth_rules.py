"""The state-dependent authorization rules: m.federate onwards (rule 3; v12: 4).

:func:`check_auth` is what state resolution's iterative auth checks run, and the
second half of checking an event against its own auth events. It is re-exported
by :mod:`app.core.auth`, the module to import.

Each rule is quoted in a comment by its number in room versions 10 and 11 (v6-v11
mostly share the numbering) with the versions it applies to and, in brackets, its
number where other versions differ, e.g. ``# 5. (v6-v11; v1-v5, v12: 6.)``. The number
a verdict reports is computed for the event's own version by
:func:`app.core.auth_result.rule_numbers`.

Spec: https://spec.matrix.org/v1.16/rooms/ (the "Authorization rules" section of
each version page).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, verify_signed_json
from unpaddedbase64 import decode_base64

from app.core.auth_power import (
    CREATE_KEY,
    CREATOR_POWER_LEVEL,
    JOIN_RULES_KEY,
    NAMED_LEVEL_DEFAULTS,
    POWER_LEVELS_KEY,
    UnreadablePowerLevels,
    format_level,
    get_power_level,
    get_send_level,
    is_creator,
    read_level,
    room_creators,
)
from app.core.auth_result import (
    ALIASES,
    AUTHORISING_USER,
    CREATE,
    JOIN_RULES,
    MEMBER,
    POWER_LEVELS,
    REDACTION,
    THIRD_PARTY_INVITE,
    AuthResult,
    RuleNumbers,
    domain_of,
    rule_numbers,
    show_value,
    verdict,
)
from app.core.events import PDU, StateKey
from app.core.versions import KNOWN_ROOM_VERSIONS, RoomVersion

__all__ = ["auth_state_facts", "check_auth", "power_levels_reader"]


def _looks_like_user_id(key: str) -> bool:
    """The check Synapse applies to the keys of ``users`` in power levels.

    ``@`` then a ``:`` somewhere: looser than the user ID grammar the spec
    names, and roomscope agrees with Synapse (the servers that decide a room's
    state) rather than rejecting what they accept.
    """
    return key.startswith("@") and ":" in key


# ---------------------------------------------------------------------------
# The state-dependent rules: rule 3 (v12: 4) onwards.


class _Reject(Exception):
    """Internal: carries a rejection out of nested checks (the rarer rules raise it;
    the membership rules, checked most, return their verdicts instead)."""

    def __init__(self, result: AuthResult) -> None:
        super().__init__(result.reason)
        self.result = result


def check_auth(
    event: PDU,
    auth_state: Mapping[StateKey, PDU],
    *,
    create_event: PDU | None = None,
) -> AuthResult:
    """The rules that depend on room state, checked against ``auth_state``.

    The equivalent of Synapse's ``check_state_dependent_auth_rules``: what state
    resolution's iterative auth checks run, and the second half of checking an
    event against its own auth events (build ``auth_state`` from them). The
    create event comes from ``create_event`` or ``auth_state[("m.room.create", "")]``
    (v12 rooms do not list it). Create events have no state-dependent rules and
    are allowed here (rule 1 is :func:`check_auth_events`'s).

    Where the spec is silent on malformed content, roomscope does what Synapse
    1.163 does; where Synapse fails with an error other than an authorization
    error (an unreadable power level, a sender that is not a user ID), the
    event is rejected, because Synapse does not accept it either. Each such
    place says so in a comment.
    """
    etype = event.type
    if etype == CREATE:
        return _CREATE_ALLOWED
    version = event.room_version
    text = _TEXTS.get(version.identifier)
    if text is None or text.version is not version:
        text = _RuleText(version)
        if version.identifier not in _TEXTS:
            _TEXTS[version.identifier] = text
    create = create_event if create_event is not None else auth_state.get(CREATE_KEY)
    if create is None:
        n = text.n
        if version.room_id_from_create_event:
            return AuthResult.reject(
                f"{n.room_id}",
                "room ID names the create event",
                "the room's create event is not known",
            )
        return AuthResult.reject(
            f"{n.auth_events}.4",
            "auth events: create event",
            "there is no m.room.create event in the auth state",
        )
    # 3. (v12: 4.) If the content of the m.room.create event in the room state has
    # the property m.federate set to false, and the sender domain of the event
    # does not match the sender domain of the create event, reject. Synapse
    # treats any m.federate other than true as false.
    create_domain = create.sender_domain
    if create_domain is None:
        return _not_a_user(text, create.sender, "the create event's sender")
    sender_domain = event.sender_domain
    if sender_domain is None:
        return _not_a_user(text, event.sender, "sender")
    if create_domain != sender_domain and create.content.get("m.federate", True) is not True:
        return verdict(
            False,
            text.r["federate"],
            "m.federate",
            f"the room is not federated (m.federate is "
            f"{show_value(create.content.get('m.federate'))}) and the sender is on "
            f"{sender_domain}, not {create_domain}",
        )
    # 4. (v6-v11; v1-v5, v12: 5.) If type is m.room.member: the rules state
    # resolution checks most, decided by plain functions (see _member).
    if etype == MEMBER:
        return _member(event, auth_state, create, text)
    return _other(event, auth_state, create, text)


def _checked(checker: _Checker, rules: Callable[[], AuthResult]) -> AuthResult:
    """``rules()``'s verdict; a rejection raised by the rarer rules, or an unreadable
    power level (rejected under the rule that read it, ``checker.at``), as a verdict."""
    try:
        return rules()
    except _Reject as exc:
        return exc.result
    except UnreadablePowerLevels as exc:
        return _unreadable(checker.at, exc)


def _unreadable(at: tuple[str, str], exc: UnreadablePowerLevels) -> AuthResult:
    rule, name = at
    return verdict(
        False,
        rule,
        name,
        f"{exc}; Synapse cannot evaluate this rule either, so the event is rejected",
    )


def _not_a_user(text: _RuleText, user_id: str, what: str) -> AuthResult:
    # Synapse's get_domain_from_id fails on an ID without ":"; the event is
    # not accepted.
    return verdict(
        False,
        text.r["federate"],
        "m.federate",
        f"{what} {show_value(user_id)} is not a user ID (it has no server name)",
    )


#: Create events have no state-dependent rules (one shared, immutable verdict).
_CREATE_ALLOWED = AuthResult.ok("1", "create", "create events have no state-dependent rules")


def auth_state_facts(event: PDU, key: StateKey, state_event: PDU) -> Hashable:
    """What :func:`check_auth` can read of ``state_event``, the auth state's event at
    ``key``, when it checks ``event``: a hashable value, equal for two events at
    ``key`` that the rules cannot tell apart.

    The promise: ``check_auth(event, S)`` and ``check_auth(event, S2)`` give the same
    verdict (rule and reason included) when ``S`` and ``S2`` have the same keys and,
    at each key ``k``, ``auth_state_facts(event, k, S[k]) == auth_state_facts(event,
    k, S2[k])``. State resolution's iterative auth checks check the same event
    against many auth states; keyed by these facts instead of the events, a verdict
    is found again when only what the rules ignore changed (most often the power
    levels, which change for users other than the ones a check reads).

    The facts, from the rules above:

    * m.room.member: the ``membership``, when a string: rules 4.3-4.7 and 5 (v12:
      5.3-5.7, 6) read nothing else of a member.
    * m.room.join_rules: the ``join_rule`` (4.3.4-4.3.7, 4.7.1), when a string.
    * m.room.power_levels, for an event that is not itself m.room.power_levels (9:
      reads the whole previous one): the integers the rules read, None for an
      absent one: ``users`` of the sender, of the target (m.room.member; 4.3-4.6)
      and of the authorising user of a restricted join (4.3.5.2); ``events`` of the
      event's type (7); ``users_default``; the named levels the event's rules read
      (m.room.member: invite, ban and kick; others: state_default,
      events_default, invite for m.room.third_party_invite (6), redact for
      m.room.redaction (11)). A value that is not an integer is read by the general
      readers (which may fail): the event itself is the fact then. Every membership
      change reads (and so needs readable) the sender's and the target's level and
      the invite and ban levels (Synapse reads them before it looks at the
      membership), but only its own membership's rules compare them: of a member
      event only the levels those rules read are reported
      (:data:`_MEMBER_LEVELS_READ`; a self-join or self-leave changes with none,
      most often, as other users are promoted and demoted).
    * anything else (the create event, third-party invites, the power levels for
      a power levels event, a value the above cannot reduce): the event itself
      (events compare by identity).

    At every key but the power levels' the facts do not depend on ``event``, so a
    caller may keep them per state event. tests/core/test_auth_rules.py changes
    auth states behind equal facts, and shows that leaving any of these out is seen.
    """
    etype = key[0]
    if etype == MEMBER:
        membership = state_event.content.get(_MEMBERSHIP)
        return membership if type(membership) is str else state_event
    if key[1] != "":
        return state_event
    if etype == JOIN_RULES:
        join_rule = state_event.content.get("join_rule", "invite")
        return join_rule if type(join_rule) is str else state_event
    if etype != POWER_LEVELS or event.type == POWER_LEVELS:
        return state_event
    content = state_event.content
    users = content.get("users", _NO_USERS)
    if type(users) is not dict:
        return state_event
    is_member = event.type == MEMBER
    picks: tuple[int, ...] | None = None
    if is_member:
        picks = _member_levels_read(event)
        user_ids: tuple[object, ...] = (
            event.sender,
            event.state_key,
            event.content.get(AUTHORISING_USER),
        )
        named: tuple[str, ...] = _MEMBER_NAMED_LEVELS
        type_level = None
    else:
        user_ids = (event.sender,)
        named = _OTHER_NAMED_LEVELS
        events = content.get("events", _NO_USERS)
        if type(events) is not dict:
            return state_event
        type_level = events.get(event.type)
        if type_level is not None and type(type_level) is not int:
            return state_event
    facts: list[object] = [type_level]
    for user_id in user_ids:
        value = users.get(user_id) if isinstance(user_id, str) else None
        if value is not None and type(value) is not int:
            return state_event
        facts.append(value)
    for name in named:
        if name in content:
            value = content[name]
            if type(value) is not int:
                return state_event
            facts.append(value)
        else:
            facts.append(None)
    if picks is not None:
        return tuple([facts[i] for i in picks])
    return tuple(facts)


#: Of a member event's power levels facts, [events[type] (None), users[sender],
#: users[target], users[authorising user], users_default, invite, ban, kick], the
#: ones its membership's rules compare, by (membership, sender is the target):
#: a restricted join, the authorising user's level against invite (4.3.5.2); an
#: invite, the sender's against invite (4.4.4); a kick or unban, the sender's and
#: the target's, ban (4.5.3) and kick (4.5.4); a ban, the sender's and the
#: target's and ban (4.6.2). Nothing for a join by someone else (4.3.2), a
#: self-leave (4.5.1), a knock (4.7) or an unknown membership (4.8); nor for a
#: third-party invite (4.4.1), whatever its membership.
_MEMBER_LEVELS_READ: dict[tuple[object, bool], tuple[int, ...]] = {
    ("join", True): (3, 4, 5),
    ("invite", True): (1, 4, 5),
    ("invite", False): (1, 4, 5),
    ("leave", False): (1, 2, 4, 6, 7),
    ("ban", True): (1, 2, 4, 6),
    ("ban", False): (1, 2, 4, 6),
}


def _member_levels_read(event: PDU) -> tuple[int, ...]:
    """The indexes of :data:`_MEMBER_LEVELS_READ` for a member ``event``."""
    content = event.content
    if "third_party_invite" in content:
        return ()
    membership = content.get(_MEMBERSHIP)
    if type(membership) is not str:
        return ()
    return _MEMBER_LEVELS_READ.get((membership, event.sender == event.state_key), ())


def power_levels_reader(event: PDU) -> Hashable:
    """What :func:`auth_state_facts` reads of ``event`` itself when it reduces a power
    levels event (``key`` m.room.power_levels): two events with the same reader get
    the same facts from the same power levels event, so a caller may keep those
    facts per (power levels event, reader). None for an m.room.power_levels event,
    whose rules read the whole previous one (the facts are the event itself).
    """
    etype = event.type
    if etype == POWER_LEVELS:
        return None
    if etype == MEMBER:
        authoriser = event.content.get(AUTHORISING_USER)
        return (
            etype,
            event.sender,
            event.state_key,
            # auth_state_facts reads no level for a value that is not a string
            # (which need not be hashable: untrusted content).
            authoriser if isinstance(authoriser, str) else None,
            _member_levels_read(event),
        )
    return (etype, event.sender)


#: The named levels :func:`auth_state_facts` reports: the ones the membership rules
#: read (4.3.5.2, 4.4.4, 4.5.3-4.5.4, 4.6.2), and the ones the other types' rules read
#: (7, 6.1 and 11.1).
_MEMBER_NAMED_LEVELS = ("users_default", "invite", "ban", "kick")
_OTHER_NAMED_LEVELS = ("users_default", "state_default", "events_default", "invite", "redact")


class _RuleText:
    """One room version's rule numbers as the strings verdicts carry, and the sets of
    words its rules compare with: worked out once per version, not per check."""

    __slots__ = (
        "ban_rules",
        "invite_like",
        "kick_level_at",
        "kick_rules",
        "knockable",
        "leave_from",
        "member_levels_at",
        "n",
        "pl_at",
        "public_join",
        "r",
        "restricted_like",
        "version",
    )

    def __init__(self, version: RoomVersion) -> None:
        n = rule_numbers(version)
        m = n.member
        j, i, lv, b = (
            f"{m}.{n.member_join}",
            f"{m}.{n.member_invite}",
            f"{m}.{n.member_leave}",
            f"{m}.{n.member_ban}",
        )
        self.version = version
        self.n = n
        #: Rule strings by a short name: "join.4" is rule 4.3.4 in v6 (5.3.4 in v12).
        self.r: dict[str, str] = {
            "federate": f"{n.federate}",
            "joined": f"{n.joined}",
            "tpi.1": f"{n.third_party_invite}.1",
            "required_power": f"{n.required_power}",
            "user_state_key": f"{n.user_state_key}",
            "otherwise": f"{n.otherwise}",
            "member": f"{m}",
            "member.1": f"{m}.1",
            "member.unknown": f"{m}.{n.member_unknown}",
            "join": j,
            "join.1": f"{j}.1",
            "join.2": f"{j}.2",
            "join.3": f"{j}.3",
            "join.4": f"{j}.4",
            "join.r1": f"{j}.{n.join_restricted}.1",
            "join.r2": f"{j}.{n.join_restricted}.2",
            "join.r3": f"{j}.{n.join_restricted}.3",
            "join.public": f"{j}.{n.join_public}",
            "join.otherwise": f"{j}.{n.join_otherwise}",
            "invite.2": f"{i}.2",
            "invite.3": f"{i}.3",
            "invite.4": f"{i}.4",
            "invite.5": f"{i}.5",
            "leave.1": f"{lv}.1",
            "leave.2": f"{lv}.2",
            "leave.3": f"{lv}.3",
            "ban.1": f"{b}.1",
        }
        #: The join rules that admit invited (and joined) users: v7+ adds knock.
        #: Kick and ban: the allow and the reject rule (4.5.4/4.5.5, 4.6.2/4.6.3).
        self.kick_rules = (f"{lv}.4", f"{lv}.5")
        #: Where the membership rules read the levels (an unreadable one rejects there).
        self.member_levels_at = (f"{m}", "m.room.member: power levels")
        self.kick_level_at = (f"{lv}.3", "unban: ban level")
        self.ban_rules = (f"{b}.2", f"{b}.3")
        self.invite_like = frozenset({"invite", "knock"} if version.knock_join_rule else {"invite"})
        #: The restricted join rules: v8+ restricted, v10+ knock_restricted.
        self.restricted_like = frozenset(
            ({"restricted"} if version.restricted_join_rule else set())
            | ({"knock_restricted"} if version.knock_restricted_join_rule else set())
        )
        #: The memberships one may leave from oneself: invite, join (v7+: knock).
        self.leave_from = frozenset(
            {"invite", "join", "knock"} if version.knock_join_rule else {"invite", "join"}
        )
        #: The join rules that allow knocking: knock (v10+: knock_restricted).
        self.knockable = frozenset(
            {"knock", "knock_restricted"} if version.knock_restricted_join_rule else {"knock"}
        )
        #: The power levels rule's (rule, name) pairs by a short name: 10.5 is
        #: "power levels: changed levels" in v10 (v12: 11.6).
        p = f"{n.power_levels}"
        #: 4.3.6's verdict says the same every time: one shared (immutable) value.
        self.public_join = verdict(
            True, self.r["join.public"], "join: public room", "the room is public"
        )
        self.pl_at: dict[str, tuple[str, str]] = {
            "integers": (f"{p}.{n.pl_integers}", "power levels: integer levels"),
            "objects": (f"{p}.{n.pl_objects}", "power levels: integer maps"),
            "users": (f"{p}.{n.pl_users}", "power levels: users"),
            "creators": (f"{p}.{n.pl_creators}", "power levels: creators not in users"),
            "no_previous": (f"{p}.{n.pl_no_previous}", "power levels: the first"),
            "named": (f"{p}.{n.pl_named}", "power levels: changed levels"),
            "events_old": (f"{p}.{n.pl_events_old}", "power levels: changing events"),
            "events_new": (f"{p}.{n.pl_events_new}", "power levels: changing events"),
            "notifications_old": (
                f"{p}.{n.pl_events_old}",
                "power levels: changing notifications",
            ),
            "notifications_new": (
                f"{p}.{n.pl_events_new}",
                "power levels: changing notifications",
            ),
            "users_old": (f"{p}.{n.pl_users_old}", "power levels: changing users"),
            "users_new": (f"{p}.{n.pl_users_new}", "power levels: changing users"),
            "allow": (f"{p}.{n.pl_allow}", "power levels"),
        }


#: The rule text of each room version by identifier (built for the known versions at
#: import; the version object is kept in it, so a differently-flagged version with the
#: same name gets its own).
_TEXTS: dict[str, _RuleText] = {v.identifier: _RuleText(v) for v in KNOWN_ROOM_VERSIONS.values()}

_MEMBERSHIP = "membership"
_LEVEL_AND_MORE_POWER = {a: f"{a}: {a} level and target's power" for a in ("ban", "kick")}
_NO_USERS: dict[str, Any] = {}
_INVITE_DEFAULT = NAMED_LEVEL_DEFAULTS["invite"]
_BAN_DEFAULT = NAMED_LEVEL_DEFAULTS["ban"]
_KICK_DEFAULT = NAMED_LEVEL_DEFAULTS["kick"]
_BANNED_INVITED_OR_JOINED = frozenset({"ban", "invite", "join"})
_STATE_DEFAULT = NAMED_LEVEL_DEFAULTS["state_default"]
_EVENTS_DEFAULT = NAMED_LEVEL_DEFAULTS["events_default"]


class _Checker:
    """One run of the state-dependent rules over one event. ``at`` tracks the rule being
    applied where a power level is read (an unreadable one rejects under that rule)."""

    __slots__ = ("at", "create", "event", "pl", "state", "text", "users")

    def __init__(
        self, event: PDU, state: Mapping[StateKey, PDU], create: PDU, text: _RuleText
    ) -> None:
        self.event = event
        self.state = state
        self.create = create
        self.text = text
        self.at: tuple[str, str] = ("", "")
        pl = self.pl = state.get(POWER_LEVELS_KEY)
        #: The power levels' ``users`` when a level can be read from it without a
        #: call: it is a dict (or absent). Otherwise None, and
        #: :func:`get_power_level` decides.
        self.users: Mapping[str, Any] | None = None
        if pl is not None:
            users = pl.content.get("users", _NO_USERS)
            if type(users) is dict:
                self.users = users

    @property
    def version(self) -> RoomVersion:
        return self.text.version

    @property
    def n(self) -> RuleNumbers:
        return self.text.n

    # -- helpers -------------------------------------------------------------

    def reject(self, reason: str) -> _Reject:
        rule, name = self.at
        return _Reject(verdict(False, rule, name, reason))

    def allow(self, reason: str) -> AuthResult:
        rule, name = self.at
        return verdict(True, rule, name, reason)

    def power(self, user_id: str) -> int:
        users = self.users
        if users is not None:
            create = self.create
            if create.room_version.privileged_creators and is_creator(create, user_id):
                return CREATOR_POWER_LEVEL
            # get_power_level's own steps, for integer values.
            level = users.get(user_id)
            if level is None:
                assert self.pl is not None
                level = self.pl.content.get("users_default", 0)
                if level is None:
                    return 0
            if type(level) is int:
                return level
        return get_power_level(user_id, self.state, self.create)

    def level(self, name: str, default: int) -> int:
        """A named level (``default`` is the spec's, :data:`NAMED_LEVEL_DEFAULTS`)."""
        pl = self.pl
        if pl is None:
            return default
        value = pl.content.get(name)
        if value is None:
            return default
        if type(value) is int:
            return value
        return read_level(value)

    def member_levels(self, sender: str, target: str) -> tuple[int, int, int, int]:
        """The sender's and the target's power, the invite and the ban level, in
        that order (Synapse's); one call for what every membership change reads."""
        # The general readers, one at a time, so that the first unreadable value is
        # the one reported (_member reads plain integers itself, inline).
        return (
            self.power(sender),
            self.power(target),
            self.level("invite", _INVITE_DEFAULT),
            self.level("ban", _BAN_DEFAULT),
        )

    def membership_of(self, user_id: object) -> str | None:
        if not isinstance(user_id, str):
            return None
        member = self.state.get((MEMBER, user_id))
        if member is None:
            return None
        value = member.content.get(_MEMBERSHIP)
        return value if isinstance(value, str) else None

    def domain_or_reject(self, user_id: str, what: str) -> str:
        server = domain_of(user_id)
        if server is None:
            raise self.reject(
                f"{what} {show_value(user_id)} is not a user ID (it has no server name)"
            )
        return server

    # -- the rules -----------------------------------------------------------

    def third_party_invite_event(self) -> AuthResult:
        """6. (v6-v11; v1-v5, v12: 7.) An m.room.third_party_invite event."""
        sender, r = self.event.sender, self.text.r
        # Allow if and only if sender's current power level is greater than or
        # equal to the invite level.
        self.at = (r["tpi.1"], "m.room.third_party_invite: invite level")
        have, need = self.power(sender), self.level("invite", _INVITE_DEFAULT)
        if have < need:
            raise self.reject(
                f"sender {sender} has power {format_level(have)}, inviting needs {need}"
            )
        return self.allow(f"sender has power {format_level(have)}, inviting needs {need}")

    def aliases(self) -> AuthResult:
        event, n = self.event, self.n
        # 4.1. (v1-v5) If event has no state_key, reject.
        self.at = (f"{n.aliases}.1", "m.room.aliases: state_key")
        if event.state_key is None:
            raise self.reject("an m.room.aliases event must have a state_key")
        # 4.2. (v1-v5) If sender's domain doesn't match state_key, reject.
        # Synapse also rejects an empty state_key here.
        self.at = (f"{n.aliases}.2", "m.room.aliases: sender's domain")
        if not event.state_key or event.state_key != domain_of(event.sender):
            raise self.reject(
                f"state_key {show_value(event.state_key)} is not the sender's server "
                f"({domain_of(event.sender)})"
            )
        # 4.3. Otherwise, allow.
        self.at = (f"{n.aliases}.3", "m.room.aliases")
        return self.allow("the sender's server publishes its own aliases")

    # -- the rarer membership rules (the common ones are _member's) -----------

    def authorised_join(self, target: str, join_rule: str, invite_level: int) -> AuthResult:
        """4.3.5.2, 4.3.5.3: a restricted join by someone neither invited nor joined."""
        event, r = self.event, self.text.r
        # 4.3.5.2. If the join_authorised_via_users_server key in content is
        # not a user with sufficient permission to invite other users (v10+:
        # or is not a joined member of the room), reject. Synapse requires the
        # authorising user to be joined in v8 and v9 as well.
        self.at = (r["join.r2"], f"join: {join_rule} room, authorising user")
        authoriser = event.content.get(AUTHORISING_USER)
        if authoriser is None:
            raise self.reject(
                f"the join rule is {join_rule}, {target} is not invited and the join has "
                f"no {AUTHORISING_USER}"
            )
        if self.membership_of(authoriser) != "join":
            raise self.reject(f"authorising user {show_value(authoriser)} is not joined")
        assert isinstance(authoriser, str)
        power = self.power(authoriser)
        if power < invite_level:
            raise self.reject(
                f"authorising user {authoriser} has power {format_level(power)}, "
                f"inviting needs {invite_level}"
            )
        # 4.3.5.3. Otherwise, allow.
        return verdict(
            True,
            r["join.r3"],
            f"join: {join_rule} room, authorised",
            f"{authoriser} (power {format_level(power)}, inviting needs {invite_level}) "
            f"authorised the join",
        )

    def third_party_invite_member(self, target: str, target_membership: str | None) -> AuthResult:
        """4.4.1. If content has a third_party_invite property."""
        event, n = self.event, self.n
        t = f"{n.member}.{n.member_invite}.1"
        # 4.4.1.1. If target user is banned, reject.
        self.at = (f"{t}.1", "third-party invite: target not banned")
        if target_membership == "ban":
            raise self.reject(f"{target} is banned")
        tpi = event.content.get("third_party_invite")
        # 4.4.1.2. If content.third_party_invite does not have a signed property, reject.
        self.at = (f"{t}.2", "third-party invite: signed")
        signed = tpi.get("signed") if isinstance(tpi, Mapping) else None
        if not isinstance(signed, Mapping):
            raise self.reject("content.third_party_invite has no signed object")
        # 4.4.1.3. If signed does not have mxid and token properties, reject.
        # (Synapse also requires signatures here; without it nothing can match.)
        self.at = (f"{t}.3", "third-party invite: mxid and token")
        for key in ("mxid", "token", "signatures"):
            if key not in signed:
                raise self.reject(f"third_party_invite.signed has no {key}")
        # 4.4.1.4. If mxid does not match state_key, reject.
        self.at = (f"{t}.4", "third-party invite: mxid is the target")
        if signed["mxid"] != target:
            raise self.reject(
                f"signed.mxid {show_value(signed['mxid'])} is not the target {target}"
            )
        # 4.4.1.5. If there is no m.room.third_party_invite event in the current
        # room state with state_key matching token, reject.
        self.at = (f"{t}.5", "third-party invite: the invite event")
        token = signed["token"]
        invite = self.state.get((THIRD_PARTY_INVITE, token)) if isinstance(token, str) else None
        if invite is None:
            raise self.reject(
                f"there is no m.room.third_party_invite with token {show_value(token)}"
            )
        # 4.4.1.6. If sender does not match sender of the m.room.third_party_invite, reject.
        self.at = (f"{t}.6", "third-party invite: same sender")
        if invite.sender != event.sender:
            raise self.reject(
                f"sender {event.sender} did not send the third-party invite ({invite.sender} did)"
            )
        # 4.4.1.7. If any signature in signed matches any public key in the
        # m.room.third_party_invite event, allow. 4.4.1.8. Otherwise, reject.
        if _third_party_signature_matches(signed, invite):
            self.at = (f"{t}.7", "third-party invite: signature")
            return self.allow(f"signed is signed with a public key of {invite.event_id}")
        self.at = (f"{t}.8", "third-party invite: signature")
        raise self.reject(f"no signature in signed matches a public key of {invite.event_id}")

    def knock(
        self,
        target: str,
        sender_membership: str | None,
        target_membership: str | None,
        join_rule: object,
    ) -> AuthResult:
        event, n = self.event, self.n
        k = f"{n.member}.{n.member_knock}"
        # 4.7.1. (v7+) If the join_rule is anything other than knock (v10+: or
        # knock_restricted), reject.
        self.at = (f"{k}.1", "knock: join rule")
        if not isinstance(join_rule, str) or join_rule not in self.text.knockable:
            raise self.reject(f"the join rule {show_value(join_rule)} does not allow knocking")
        # 4.7.2. If sender does not match state_key, reject.
        self.at = (f"{k}.2", "knock: sender is the target")
        if event.sender != target:
            raise self.reject(f"sender {event.sender} cannot knock for {target}")
        # 4.7.3. If the sender's current membership is not ban, invite, or join,
        # allow. 4.7.4. Otherwise, reject.
        if sender_membership in ("ban", "invite", "join"):
            self.at = (f"{k}.4", "knock: not banned, invited or joined")
            raise self.reject(f"{target} is already {_state_word(sender_membership)}")
        self.at = (f"{k}.3", "knock: not banned, invited or joined")
        return self.allow(f"{target} knocks on a {join_rule} room")

    # -- m.room.power_levels ---------------------------------------------------

    def power_levels(self, sender_power: int) -> AuthResult:
        event, n, version = self.event, self.n, self.version
        at = self.text.pl_at
        content: Mapping[str, Any] = event.content
        # The named levels as (value or _ABSENT) in _NAMED_LEVELS's order, read in one
        # pass: when every one is a JSON integer or absent (the common case), 9.1 has
        # nothing to say, and 9.5 nothing either if the old levels are the same.
        named = tuple(map(content.get, _NAMED_LEVELS, _ABSENTS))
        named_plain = set(map(type, named)) <= _INT_OR_ABSENT

        if n.pl_integers is not None:
            # 9.1. (v10+) If any of the properties users_default, events_default,
            # state_default, ban, redact, kick, or invite in content are present
            # and not an integer, reject.
            self.at = at["integers"]
            if not named_plain:
                for name in _NAMED_LEVELS:
                    if name in content and type(content[name]) is not int:
                        raise self.reject(f"{name} is {show_value(content[name])}, not an integer")
            # 9.2. (v10+) If either of the properties events or notifications in
            # content are present and not an object with values that are integers, reject.
            self.at = at["objects"]
            for name in ("events", "notifications"):
                if name in content:
                    _require_int_map(content[name], name, self)

        # 9.3. (v1-v9: 9.1) If the users property in content is not an object
        # with keys that are valid user IDs with values that are integers (v1-v9:
        # or a string that is an integer), reject.
        self.at = at["users"]
        users = content.get("users", _NO_USERS)
        if not _plain_users(users):
            self.check_users(users)

        if n.pl_creators is not None:
            # 10.4. (v12) If the users property in content contains the sender of
            # the m.room.create event or any of the additional_creators, reject.
            listed = [creator for creator in room_creators(self.create) if creator in users]
            if listed:
                self.at = at["creators"]
                raise self.reject(
                    f"room creator {min(listed)} has infinite power and may not be in users"
                )

        # 9.4. (v1-v9: 9.2) If there is no previous m.room.power_levels event in
        # the room, allow. (Synapse looks for the previous event under this
        # event's own state_key.)
        previous = (
            self.state.get((POWER_LEVELS, event.state_key)) if event.state_key is not None else None
        )
        if previous is None:
            self.at = at["no_previous"]
            return self.allow("there is no previous m.room.power_levels event")
        old: Mapping[str, Any] = previous.content
        sender = event.sender
        shown_power = format_level(sender_power)

        # 9.5. (v1-v9: 9.3) For the properties users_default, events_default,
        # state_default, ban, redact, kick, invite check if they were added,
        # changed or removed. For each found alteration: if the current value is
        # greater than the sender's current power level, reject; if the new value
        # is greater than the sender's current power level, reject.
        self.at = at["named"]
        old_get, new_get = old.get, content.get
        old_named = tuple(map(old_get, _NAMED_LEVELS, _ABSENTS))
        # Every level the same integer (or absent) before and after: no alteration.
        unaltered = (
            named_plain and old_named == named and set(map(type, old_named)) <= _INT_OR_ABSENT
        )
        for name in () if unaltered else _NAMED_LEVELS:
            before_value, after_value = old_get(name, _ABSENT), new_get(name, _ABSENT)
            if before_value is _ABSENT and after_value is _ABSENT:
                continue  # in neither: no alteration
            if (
                type(before_value) is int
                and type(after_value) is int
                and before_value == after_value
            ):
                continue  # the same integer: no alteration
            before, after = self.pair(old, content, name)
            if before is not None and after is not None and before == after:
                continue
            self.no_higher(name, before, after, sender_power, shown_power)

        # 9.6, 9.7. (v1-v9: 9.4, 9.5) For each entry being changed in, or removed
        # from (added to, or changed in) the events (v6+: or notifications)
        # properties: if the current (new) value is greater than the sender's
        # current power level, reject.
        maps = _EVENT_MAPS_V6 if version.limit_notifications_power_levels else _EVENT_MAPS
        for name in maps:
            old_map = self.submap(old, name)
            new_map = self.submap(content, name)
            # (v10+: 9.2 has found the new values integers.)
            if old_map == new_map and (n.pl_integers is not None or _int_values(new_map)):
                continue  # the same integers: no entry changes
            for key in sorted(_changed_keys(old_map, new_map), key=str):
                before, after = self.pair(old_map, new_map, key)
                if before is not None and after is not None and before == after:
                    continue
                label = f"{name}[{key}]"
                if before is not None and before > sender_power:
                    self.at = at[f"{name}_old"]
                    raise self.reject(
                        f"{label} is {before}, above the sender's power {shown_power}"
                    )
                if after is not None and after > sender_power:
                    self.at = at[f"{name}_new"]
                    raise self.reject(
                        f"{label} would be {after}, above the sender's power {shown_power}"
                    )

        # 9.8. (v1-v9: 9.6) For each entry being changed in, or removed from, the
        # users property, other than the sender's own entry: if the current value
        # is greater than or equal to the sender's current power level, reject.
        # 9.9. (v1-v9: 9.7) For each entry being added to, or changed in, the
        # users property: if the new value is greater than the sender's current
        # power level, reject.
        old_users = self.submap(old, "users")
        # Equal maps change nothing: every new value passed 9.3 (readable), so every
        # old one equals a readable value. Otherwise, entries that are the same
        # integer before and after cannot reject or fail: they are left out before
        # sorting (the first entry that rejects is unchanged).
        changed = [] if old_users == users else _changed_keys(old_users, users)
        for user_id in sorted(changed):
            before, after = self.pair(old_users, users, user_id)
            if before is not None and after is not None and before == after:
                continue
            if before is not None and user_id != sender and before >= sender_power:
                self.at = at["users_old"]
                raise self.reject(
                    f"users[{user_id}] is {before}, not below the sender's power {shown_power}"
                )
            if before is not None and before > sender_power:
                # Only the sender's own entry can get here: Synapse rejects a
                # current value above the sender's power for it too.
                self.at = at["users_old"]
                raise self.reject(
                    f"users[{user_id}] is {before}, above the sender's power {shown_power}"
                )
            if after is not None and after > sender_power:
                self.at = at["users_new"]
                raise self.reject(
                    f"users[{user_id}] would be {after}, above the sender's power {shown_power}"
                )
        # 9.10. Otherwise, allow.
        self.at = at["allow"]
        return self.allow(f"every change is within the sender's power {shown_power}")

    def check_users(self, users: object) -> None:
        """9.3's checks of ``users``, one entry at a time (see :func:`_plain_users`)."""
        if self.version.enforce_int_power_levels and "users" in self.event.content:
            _require_int_map(users, "users", self)
        if not isinstance(users, Mapping):
            raise self.reject(f"users is {show_value(users)}, not an object")
        for user_id, value in users.items():
            if not _looks_like_user_id(user_id):
                raise self.reject(f"users key {show_value(user_id)} is not a user ID")
            if type(value) is int:
                continue  # readable: the common case, without a call
            try:
                read_level(value)
            except UnreadablePowerLevels:
                raise self.reject(
                    f"users[{user_id}] is {show_value(value)}, not an integer"
                ) from None

    def submap(self, content: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        value = content.get(name, _NO_USERS)
        if type(value) is dict:
            return value
        if value == [] or value == "":
            # Synapse reads an empty array or string here as an empty object (and
            # fails on a non-empty one); roomscope agrees.
            return {}
        if not isinstance(value, Mapping):
            raise UnreadablePowerLevels(f"{name} is {show_value(value)}, not an object")
        return value

    def pair(
        self, old: Mapping[str, Any], new: Mapping[str, Any], key: str
    ) -> tuple[int | None, int | None]:
        before = read_level(old[key]) if key in old else None
        after = read_level(new[key]) if key in new else None
        return before, after

    def no_higher(
        self, name: str, before: int | None, after: int | None, power: int, shown: str
    ) -> None:
        if before is not None and before > power:
            raise self.reject(f"{name} is {before}, above the sender's power {shown}")
        if after is not None and after > power:
            raise self.reject(f"{name} would be {after}, above the sender's power {shown}")

    # -- m.room.redaction (v1-v2) -----------------------------------------------

    def redaction(self, sender_power: int) -> AuthResult:
        event, n = self.event, self.n
        r = f"{n.redaction}"
        # 11.1. If the sender's power level is greater than or equal to the
        # redact level, allow. (An unreadable redact level rejects under this rule:
        # Synapse fails reading it here.)
        self.at = (f"{r}.1", "redaction: redact level")
        redact_level = self.level("redact", NAMED_LEVEL_DEFAULTS["redact"])
        if sender_power >= redact_level:
            return self.allow(
                f"sender has power {format_level(sender_power)}, redacting needs {redact_level}"
            )
        # 11.2. If the domain of the event_id of the event being redacted is the
        # same as the domain of the event_id of the m.room.redaction, allow.
        # Synapse allows a redaction with no (string) redacts at all, and so does
        # roomscope: it redacts nothing.
        self.at = (f"{r}.2", "redaction: same server")
        if not isinstance(event.redacts, str):
            return self.allow("the redaction names no event to redact")
        own = self.domain_or_reject(event.event_id, "event ID")
        theirs = self.domain_or_reject(event.redacts, "redacts")
        if own == theirs:
            return self.allow(f"the redacted event {event.redacts} is from the same server")
        # 11.3. Otherwise, reject.
        self.at = (f"{r}.3", "redaction: otherwise reject")
        raise self.reject(
            f"sender {event.sender} has power {format_level(sender_power)}, redacting needs "
            f"{redact_level}, and {event.redacts} is from another server"
        )


# -- every other type -----------------------------------------------------------


def _other(event: PDU, state: Mapping[StateKey, PDU], create: PDU, text: _RuleText) -> AuthResult:
    """The rules for every type but m.room.member (m.federate has passed): a plain
    function too, with a _Checker for the rarer rules (aliases, third-party
    invites, power levels, v1-v2 redactions, levels that are not plain integers)."""
    etype = event.type
    r = text.r
    sender = event.sender

    # 4. (v1-v5) If type is m.room.aliases:
    if etype == ALIASES and text.n.aliases is not None:
        checker = _Checker(event, state, create, text)
        return _checked(checker, checker.aliases)

    # 5. (v6-v11; v1-v5, v12: 6.) If the sender's current membership state is not join, reject.
    found = state.get((MEMBER, sender))
    value = found.content.get(_MEMBERSHIP) if found is not None else None
    sender_membership = value if isinstance(value, str) else None
    if sender_membership != "join":
        return verdict(
            False,
            r["joined"],
            "sender must be joined",
            f"sender {sender} is not joined (membership "
            f"{show_value(sender_membership) if sender_membership else 'none'})",
        )

    # 6. (v6-v11; v1-v5, v12: 7.) If type is m.room.third_party_invite: ...
    if etype == THIRD_PARTY_INVITE:
        checker = _Checker(event, state, create, text)
        return _checked(checker, checker.third_party_invite_event)

    # 7. (v6-v11; v1-v5, v12: 8.) If the event type's required power level is
    # greater than the sender's power level, reject. Plain integers (or absent, for
    # the defaults) are read here, inline (get_send_level's and get_power_level's
    # steps); anything else by the general readers, in their order.
    state_key = event.state_key
    pl = state.get(POWER_LEVELS_KEY)
    need = have = -1
    read = False
    if pl is not None:
        pl_content = pl.content
        levels = pl_content.get("events", _NO_USERS)
        users = pl_content.get("users", _NO_USERS)
        if type(levels) is dict and type(users) is dict:
            need_value = levels.get(etype)
            if need_value is None:
                if state_key is not None:
                    need_value = pl_content.get("state_default", _STATE_DEFAULT)
                else:
                    need_value = pl_content.get("events_default", _EVENTS_DEFAULT)
            if create.room_version.privileged_creators and is_creator(create, sender):
                have_value: object = CREATOR_POWER_LEVEL
            else:
                have_value = users.get(sender)
                if have_value is None:
                    have_value = pl_content.get("users_default", 0)
            if type(need_value) is int and type(have_value) is int:
                need = need_value
                have = have_value
                read = True
    if not read:
        at = (r["required_power"], "required power level")
        try:
            need = get_send_level(etype, state_key, pl)
            have = _Checker(event, state, create, text).power(sender)
        except UnreadablePowerLevels as exc:
            return _unreadable(at, exc)
    shown = have if have < CREATOR_POWER_LEVEL else "infinite"  # format_level, inline
    if have < need:
        return verdict(
            False,
            r["required_power"],
            "required power level",
            f"sender {sender} has power {shown}, {etype} needs {need}",
        )

    # 8. (v6-v11; v1-v5, v12: 9.) If the event has a state_key that starts with an @
    # and does not match the sender, reject.
    if state_key is not None and state_key.startswith("@") and state_key != sender:
        return verdict(
            False,
            r["user_state_key"],
            "state_key naming a user",
            f"state_key {show_value(state_key)} starts with @ but is not the sender {sender}",
        )

    # 9. (v6-v11; v1-v5, v12: 10.) If type is m.room.power_levels:
    if etype == POWER_LEVELS:
        checker = _Checker(event, state, create, text)
        return _checked(checker, lambda: checker.power_levels(have))

    if etype == REDACTION:
        # 11. (v1-v2) If type is m.room.redaction:
        if text.n.redaction is not None:
            checker = _Checker(event, state, create, text)
            return _checked(checker, lambda: checker.redaction(have))
        # v3+: the redact level plays no part in the rules, but Synapse reads
        # it anyway and fails on an unreadable one; roomscope agrees.
        redact = pl.content.get("redact") if pl is not None else None
        if redact is not None and type(redact) is not int:
            try:
                read_level(redact)
            except UnreadablePowerLevels as exc:
                return _unreadable((r["otherwise"], "otherwise allow"), exc)

    # 10. (v6-v11; v1-v2: 12.; v3-v5, v12: 11.) Otherwise, allow.
    return verdict(
        True, r["otherwise"], "otherwise allow", f"sender has power {shown}, {etype} needs {need}"
    )


# -- m.room.member ------------------------------------------------------------
# The membership rules are the ones state resolution checks most (every conflicted
# membership, at every step of v1's and v2's walks), so they are plain functions
# of what they read: the common memberships are decided without a _Checker, whose
# rule tracking (``at``) only the rarer branches need (third-party invites, knocks,
# restricted joins, levels that are not plain integers).


def _member(event: PDU, state: Mapping[StateKey, PDU], create: PDU, text: _RuleText) -> AuthResult:
    """4. (v6-v11; v1-v5, v12: 5.) An m.room.member event (m.federate has passed)."""
    version = text.version
    r = text.r
    content: Mapping[str, Any] = event.content
    membership = content.get(_MEMBERSHIP)
    target = event.state_key
    sender = event.sender

    # 4.1. If there is no state_key property, or no membership property in
    # content, reject. (Synapse fails on a missing membership: not accepted.)
    if target is None:
        return verdict(
            False,
            r["member.1"],
            "m.room.member: state_key and membership",
            "an m.room.member event must have a state_key",
        )
    if membership is None and _MEMBERSHIP not in content:
        return verdict(
            False,
            r["member.1"],
            "m.room.member: state_key and membership",
            "the m.room.member event has no membership in its content",
        )

    # 4.3.1. If the only previous event is an m.room.create and the
    # state_key is the creator, allow. (v11+: the sender of the m.room.create.)
    prev_events = event.prev_events
    if membership == "join" and len(prev_events) == 1 and prev_events[0] == create.event_id:
        creator: object = create.sender
        if not version.implicit_room_creator:
            if "creator" not in create.content:
                # Synapse reads content["creator"] and fails when absent.
                return verdict(
                    False,
                    r["join.1"],
                    "join: the creator's first join",
                    "the create event has no creator",
                )
            creator = create.content["creator"]
        if creator == target:
            return verdict(
                True,
                r["join.1"],
                "join: the creator's first join",
                f"{target} created the room and joins right after it",
            )

    # Synapse applies m.federate to the target's server too (the spec only
    # to the sender's); roomscope agrees with Synapse. (The create event's
    # sender has a server name: check_auth has checked it.)
    target_domain = event.state_key_domain
    if target_domain is None:
        return _not_a_user(text, target, "state_key")
    create_domain = create.sender_domain
    if target_domain != create_domain and create.content.get("m.federate", True) is not True:
        return verdict(
            False,
            r["federate"],
            "m.federate",
            f"the room is not federated and the target {target} is on {target_domain}, "
            f"not {create_domain}",
        )

    # The sender's and the target's membership.
    state_get = state.get
    found = state_get((MEMBER, sender))
    value = found.content.get(_MEMBERSHIP) if found is not None else None
    sender_membership = value if isinstance(value, str) else None
    found = state_get((MEMBER, target))
    value = found.content.get(_MEMBERSHIP) if found is not None else None
    target_membership = value if isinstance(value, str) else None
    if sender_membership == "knock" and not version.knock_join_rule:
        sender_membership = None  # knock means nothing before v7
    # Synapse reads all four levels before looking at the membership, so an
    # unreadable one rejects every membership change (but the creator's join).
    # Plain integers (or absent, for the defaults) are read here, inline; anything
    # else (no power levels, a null or non-integer value) by the general readers.
    pl = state_get(POWER_LEVELS_KEY)
    read = False
    if pl is not None:
        pl_content = pl.content
        users = pl_content.get("users", _NO_USERS)
        if type(users) is dict:
            privileged = create.room_version.privileged_creators
            sender_creates = target_creates = False
            if privileged:
                sender_creates = is_creator(create, sender)
                # A join or leaving oneself asks once.
                target_creates = sender_creates if target == sender else is_creator(create, target)
            if sender_creates:
                sender_value: object = CREATOR_POWER_LEVEL
            else:
                sender_value = users.get(sender)
                if sender_value is None:
                    sender_value = pl_content.get("users_default", 0)
            if target_creates:
                target_value: object = CREATOR_POWER_LEVEL
            else:
                target_value = users.get(target)
                if target_value is None:
                    target_value = pl_content.get("users_default", 0)
            invite_value = pl_content.get("invite")
            if invite_value is None:
                invite_value = _INVITE_DEFAULT
            ban_value = pl_content.get("ban")
            if ban_value is None:
                ban_value = _BAN_DEFAULT
            if (
                type(sender_value) is int
                and type(target_value) is int
                and type(invite_value) is int
                and type(ban_value) is int
            ):
                sender_power = sender_value
                target_power = target_value
                invite_level = invite_value
                ban_level = ban_value
                read = True
    if not read:
        try:
            sender_power, target_power, invite_level, ban_level = _Checker(
                event, state, create, text
            ).member_levels(sender, target)
        except UnreadablePowerLevels as exc:
            return _unreadable(text.member_levels_at, exc)

    if membership == "join":
        join_rules = state_get(JOIN_RULES_KEY)
        join_rule = join_rules.content.get("join_rule", "invite") if join_rules else "invite"
        if (
            isinstance(join_rule, str)
            and join_rule in text.restricted_like
            and sender == target
            and sender_membership not in _BANNED_INVITED_OR_JOINED
        ):
            # 4.3.5.2, 4.3.5.3: the authorising user decides (with rule tracking).
            checker = _Checker(event, state, create, text)
            return _checked(
                checker, lambda: checker.authorised_join(target, join_rule, invite_level)
            )
        return _join(text, event, target, sender_membership, join_rule)
    if membership == "invite":
        if "third_party_invite" in content:
            checker = _Checker(event, state, create, text)
            return _checked(
                checker, lambda: checker.third_party_invite_member(target, target_membership)
            )
        # 4.4.2. If the sender's current membership state is not join, reject.
        if sender_membership != "join":
            return _not_joined(
                r["invite.2"], "invite: sender must be joined", sender, sender_membership
            )
        # 4.4.3. If target user's current membership state is join or ban, reject.
        if target_membership == "join" or target_membership == "ban":
            return verdict(
                False,
                r["invite.3"],
                "invite: target not joined or banned",
                f"{target} is already {_state_word(target_membership)}",
            )
        # 4.4.4. If the sender's power level is greater than or equal to the
        # invite level, allow. 4.4.5. Otherwise, reject.
        shown = sender_power if sender_power < CREATOR_POWER_LEVEL else "infinite"
        if sender_power < invite_level:
            return verdict(
                False,
                r["invite.5"],
                "invite: invite level",
                f"sender {sender} has power {shown}, inviting needs {invite_level}",
            )
        return verdict(
            True,
            r["invite.4"],
            "invite: invite level",
            f"sender has power {shown}, inviting needs {invite_level}",
        )
    if membership == "leave":
        return _leave(
            text,
            pl,
            sender,
            target,
            sender_membership,
            target_membership,
            sender_power,
            target_power,
            ban_level,
        )
    if membership == "ban":
        # 4.6.1. If the sender's current membership state is not join, reject.
        if sender_membership != "join":
            return _not_joined(r["ban.1"], "ban: sender must be joined", sender, sender_membership)
        # 4.6.2. If the sender's power level is greater than or equal to the
        # ban level, and the target user's power level is less than the
        # sender's power level, allow. 4.6.3. Otherwise, reject.
        return _level_and_more_power(
            "ban", "banning", ban_level, text.ban_rules, sender, target, sender_power, target_power
        )
    if membership == "knock" and text.n.member_knock is not None:
        join_rules = state_get(JOIN_RULES_KEY)
        join_rule = join_rules.content.get("join_rule", "invite") if join_rules else "invite"
        checker = _Checker(event, state, create, text)
        return _checked(
            checker,
            lambda: checker.knock(target, sender_membership, target_membership, join_rule),
        )
    # 4.8. Otherwise, the membership is unknown. Reject.
    if not version.knock_join_rule and membership == "knock":
        reason = f"room version {version.identifier} has no knock membership"
    else:
        reason = f"membership {show_value(membership)} is unknown"
    return verdict(False, r["member.unknown"], "unknown membership", reason)


def _not_joined(rule: str, name: str, sender: str, sender_membership: str | None) -> AuthResult:
    """The rejection of a sender whose membership is not join."""
    return verdict(
        False,
        rule,
        name,
        f"sender {sender} is not joined (membership "
        f"{show_value(sender_membership) if sender_membership else 'none'})",
    )


def _join(
    text: _RuleText,
    event: PDU,
    target: str,
    sender_membership: str | None,
    join_rule: object,
) -> AuthResult:
    """4.3.2-4.3.7: a join (but 4.3.5.2-4.3.5.3, :meth:`_Checker.authorised_join`)."""
    r = text.r
    # 4.3.2. If the sender does not match state_key, reject.
    if event.sender != target:
        return verdict(
            False,
            r["join.2"],
            "join: sender is the target",
            f"sender {event.sender} cannot join {target} to the room",
        )
    # 4.3.3. If the sender is banned, reject.
    if sender_membership == "ban":
        return verdict(False, r["join.3"], "join: sender not banned", f"{target} is banned")
    # 4.3.4. If the join_rule is invite (v7+: or knock) then allow if
    # membership state is invite or join.
    # The join rule may be any JSON value; Synapse compares it with ==, so a value
    # that is not a string matches no rule (and is not hashable for a set lookup).
    rule_word = join_rule if isinstance(join_rule, str) else None
    if rule_word in text.invite_like:
        if sender_membership == "invite" or sender_membership == "join":
            return verdict(
                True,
                r["join.4"],
                f"join: {join_rule} room",
                f"{target} is {_state_word(sender_membership)} and the room is {join_rule}",
            )
        return verdict(
            False,
            r["join.4"],
            f"join: {join_rule} room",
            f"the join rule is {join_rule} and {target} is not invited "
            f"(membership {show_value(sender_membership) if sender_membership else 'none'})",
        )
    # 4.3.5. (v8+) If the join_rule is restricted (v10+: or knock_restricted):
    # 4.3.5.1. If membership state is join or invite, allow. (4.3.5.2 and 4.3.5.3,
    # for everyone else, are _Checker.authorised_join's.)
    if rule_word in text.restricted_like:
        return verdict(
            True,
            r["join.r1"],
            f"join: {join_rule} room, invited or joined",
            f"{target} is {_state_word(sender_membership)}",
        )
    # 4.3.6. If the join_rule is public, allow.
    if join_rule == "public":
        return text.public_join
    # 4.3.7. Otherwise, reject.
    return verdict(
        False,
        r["join.otherwise"],
        "join: otherwise reject",
        f"the join rule {show_value(join_rule)} does not let anyone join in room version "
        f"{text.version.identifier}",
    )


def _leave(
    text: _RuleText,
    pl: PDU | None,
    sender: str,
    target: str,
    sender_membership: str | None,
    target_membership: str | None,
    sender_power: int,
    target_power: int,
    ban_level: int,
) -> AuthResult:
    """4.5: a leave (or a kick, or an unban)."""
    r = text.r
    # 4.5.1. If the sender matches state_key, allow if and only if that
    # user's current membership state is invite, join (v7+: or knock).
    if sender == target:
        if sender_membership in text.leave_from:
            return verdict(
                True,
                r["leave.1"],
                "leave: leaving oneself",
                f"{target} leaves, having been {_state_word(sender_membership)}",
            )
        return verdict(
            False,
            r["leave.1"],
            "leave: leaving oneself",
            f"{target} cannot leave with membership "
            f"{show_value(sender_membership) if sender_membership else 'none'}",
        )
    # 4.5.2. If the sender's current membership state is not join, reject.
    if sender_membership != "join":
        return _not_joined(r["leave.2"], "leave: sender must be joined", sender, sender_membership)
    # 4.5.3. If the target user's current membership state is ban, and the
    # sender's power level is less than the ban level, reject.
    if target_membership == "ban" and sender_power < ban_level:
        return verdict(
            False,
            r["leave.3"],
            "unban: ban level",
            f"sender {sender} has power {format_level(sender_power)}, unbanning needs {ban_level}",
        )
    # 4.5.4. If the sender's power level is greater than or equal to the kick
    # level, and the target user's power level is less than the sender's
    # power level, allow. 4.5.5. Otherwise, reject.
    kick_level = _KICK_DEFAULT
    value = pl.content.get("kick") if pl is not None else None
    if value is not None:
        if type(value) is int:
            kick_level = value
        else:
            try:
                kick_level = read_level(value)
            except UnreadablePowerLevels as exc:
                return _unreadable(text.kick_level_at, exc)
    return _level_and_more_power(
        "kick", "kicking", kick_level, text.kick_rules, sender, target, sender_power, target_power
    )


def _level_and_more_power(
    action: str,
    doing: str,
    level: int,
    rules: tuple[str, str],
    sender: str,
    target: str,
    sender_power: int,
    target_power: int,
) -> AuthResult:
    """Kick (4.5.4/4.5.5) and ban (4.6.2/4.6.3): "if the sender's power level is
    greater than or equal to the <action> level, and the target user's power level
    is less than the sender's power level, allow. Otherwise, reject." ``rules`` are
    the allow and the reject rule numbers."""
    allow_rule, reject_rule = rules
    name = _LEVEL_AND_MORE_POWER[action]
    # format_level, inline: a v12 creator's power reads "infinite".
    sender_shown = sender_power if sender_power < CREATOR_POWER_LEVEL else "infinite"
    if sender_power < level:
        return verdict(
            False,
            reject_rule,
            name,
            f"sender {sender} has power {sender_shown}, {doing} needs {level}",
        )
    target_shown = target_power if target_power < CREATOR_POWER_LEVEL else "infinite"
    if target_power >= sender_power:
        return verdict(
            False,
            reject_rule,
            name,
            f"target {target} has power {target_shown}, not less than the sender's {sender_shown}",
        )
    return verdict(
        True,
        allow_rule,
        name,
        f"sender has power {sender_shown} ({action} needs {level}), target has {target_shown}",
    )


_NAMED_LEVELS = (
    "users_default",
    "events_default",
    "state_default",
    "ban",
    "redact",
    "kick",
    "invite",
)


def _same_int(before: object, after: object) -> bool:
    """Both values are the same JSON integer: such an entry can neither reject nor fail."""
    return type(before) is int and type(after) is int and before == after


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The keys of ``old`` and ``new`` except those whose values are the same integer.

    When both are dicts of integers only (the common case: a power levels event's
    users, hundreds of them, against the previous one's), the entries in one and
    not the other, compared in C (``type() is int`` rules out ``true``, which
    would compare equal to 1).
    """
    if type(old) is dict and type(new) is dict and _int_values(old) and _int_values(new):
        return list({key for key, _ in old.items() ^ new.items()})
    old_get = old.get
    changed = [
        key
        for key, value in new.items()
        if not (type(value) is int and type(before := old_get(key)) is int and before == value)
    ]
    changed.extend(key for key in old if key not in new)
    return changed


def _plain_users(users: object) -> bool:
    """``users`` is a dict of integers under keys that pass the user ID check: the
    common case, for which 9.3 (v1-v9: 9.1) has nothing to say. (Power levels can
    name hundreds of users, and every m.room.power_levels check reads them.)"""
    if type(users) is not dict or not _int_values(users):
        return False
    # _looks_like_user_id, inline: a plain loop is about twice as fast as mapping
    # str.startswith and str.__contains__ over the keys (measured, 3 to 200 users).
    for key in users:  # noqa: SIM110 (all() over a generator is slower)
        if key[:1] != "@" or ":" not in key:
            return False
    return True


def _int_values(mapping: Mapping[str, Any]) -> bool:
    """Every value of ``mapping`` is a JSON integer (``type() is int``: not a bool)."""
    return set(map(type, mapping.values())) <= _JUST_INT


_JUST_INT = frozenset({int})
#: The types of a named level read as ``content.get(name, _ABSENT)`` that 9.1 and
#: 9.5 pass over: a JSON integer, or absent (``_ABSENT`` is a plain ``object``,
#: which no JSON value is).
_INT_OR_ABSENT = frozenset({int, object})


_ABSENT = object()
_ABSENTS = (_ABSENT,) * len(_NAMED_LEVELS)
_EVENT_MAPS = ("events",)
_EVENT_MAPS_V6 = ("events", "notifications")


def _require_int_map(value: object, name: str, checker: _Checker) -> None:
    """(v10+) ``value`` must be an object whose values are all JSON integers."""
    if type(value) is dict and _int_values(value):
        return  # the common case, checked in C
    if not isinstance(value, Mapping):
        raise checker.reject(f"{name} is {show_value(value)}, not an object")
    for key, item in value.items():
        if type(item) is not int:
            raise checker.reject(f"{name}[{key}] is {show_value(item)}, not an integer")


_STATE_WORDS = {
    "join": "joined",
    "invite": "invited",
    "ban": "banned",
    "knock": "knocking",
    "leave": "gone",
}


def _state_word(membership: str | None) -> str:
    found = _STATE_WORDS.get(membership or "")
    return f"in membership {membership}" if found is None else found


def _third_party_signature_matches(signed: Mapping[str, Any], invite: PDU) -> bool:
    """Whether a signature in ``signed`` matches a public key of the m.room.third_party_invite.

    The public keys are ``content.public_key`` and the ``public_key`` of each
    object in ``content.public_keys``; signatures are checked with signedjson.

    Synapse 1.163 tries, for each public key in turn, the first ``ed25519:``
    signature of ``signed.signatures`` (servers in order) and moves on to the
    next public key when it fails to verify, without trying later signatures
    with the same key. Malformed keys (not base64, wrong length, a
    ``public_keys`` entry without ``public_key``) make it fail outright when it
    reaches them. roomscope does the same, a failure meaning "no match".
    """
    content = invite.content
    keys: list[object] = []
    if "public_key" in content:
        keys.append(content["public_key"])
    extra = content.get("public_keys", [])
    if isinstance(extra, list):
        for item in extra:
            keys.append(item.get("public_key", _BAD_KEY) if isinstance(item, Mapping) else _BAD_KEY)
    elif not isinstance(extra, Mapping | str):
        return False  # Synapse cannot even list the keys
    else:
        keys.extend(_BAD_KEY for _ in extra)  # Synapse lists the keys or letters, then fails
    signatures = signed.get("signatures")
    for public_key in keys:
        if public_key is _BAD_KEY:
            return False
        if not isinstance(signatures, Mapping):
            return False
        for server, block in signatures.items():
            if not isinstance(block, Mapping):
                return False
            key_name = next(
                (k for k in block if isinstance(k, str) and k.startswith("ed25519:")), None
            )
            if key_name is None:
                continue
            try:
                if not isinstance(public_key, str):
                    return False
                verify_key = decode_verify_key_bytes(key_name, decode_base64(public_key))
            except Exception:  # not base64, not a 32-byte key: Synapse fails here
                return False
            try:
                verify_signed_json(dict(signed), server, verify_key)
            except SignatureVerifyException:
                break  # on to the next public key
            return True
    return False


_BAD_KEY = object()
