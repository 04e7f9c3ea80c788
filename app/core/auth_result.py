"""The verdict of the authorization rules, and where each rule sits in each room version.

:class:`AuthResult` is what every check in :mod:`app.core.auth` returns: allowed or
rejected, the rule's number in the event's room version ("4.4.2"), its name and a
sentence a person can read. :func:`rule_numbers` knows how each version numbers its
rules (https://spec.matrix.org/v1.16/rooms/, the "Authorization rules" section of
each version page).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from app.core.events import domain_of
from app.core.versions import RoomVersion

__all__ = [
    "ALLOWED",
    "AuthResult",
    "RuleNumbers",
    "domain_of",
    "rule_numbers",
    "show_value",
    "verdict",
]

#: The event types the rules name.
CREATE = "m.room.create"
MEMBER = "m.room.member"
POWER_LEVELS = "m.room.power_levels"
JOIN_RULES = "m.room.join_rules"
THIRD_PARTY_INVITE = "m.room.third_party_invite"
ALIASES = "m.room.aliases"
REDACTION = "m.room.redaction"

#: The content key of a restricted join naming the user who authorised it (v8+).
AUTHORISING_USER = "join_authorised_via_users_server"


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The verdict of the authorization rules on one event, and the rule that decided it.

    ``rule`` is the rule's number in the event's room version ("4.4.2"),
    ``rule_name`` a few words naming it, ``reason`` a sentence a person can
    read ("sender @bob:b has power 50, m.room.power_levels needs 100"). An
    allowed event names the rule that allowed it ("4.3.6", "public join").
    """

    allowed: bool
    rule: str
    rule_name: str
    reason: str

    @classmethod
    def ok(cls, rule: str = "", rule_name: str = "allowed", reason: str = "") -> AuthResult:
        """An allowing verdict, naming the rule that allowed the event when known."""
        return cls(True, rule, rule_name, reason or "the event passes the authorization rules")

    @classmethod
    def reject(cls, rule: str, rule_name: str, reason: str) -> AuthResult:
        """A rejecting verdict: the rule, its name, and why."""
        return cls(False, rule, rule_name, reason)

    def describe(self) -> str:
        """One line: "rejected by rule 4.4.2 (invite: sender must be joined): ..."."""
        verdict = "allowed" if self.allowed else "rejected"
        rule = f" by rule {self.rule}" if self.rule else ""
        return f"{verdict}{rule} ({self.rule_name}): {self.reason}"


def _init_auth_result(
    self: AuthResult, allowed: bool, rule: str, rule_name: str, reason: str
) -> None:
    # The generated __init__ of a frozen dataclass sets each field through
    # object.__setattr__ by name; the rules build one verdict per check (state
    # resolution runs thousands), so the fields are set through their slots
    # directly: the same values, about half the time.
    _set_allowed(self, allowed)
    _set_rule(self, rule)
    _set_rule_name(self, rule_name)
    _set_reason(self, reason)


_set_allowed = vars(AuthResult)["allowed"].__set__
_set_rule = vars(AuthResult)["rule"].__set__
_set_rule_name = vars(AuthResult)["rule_name"].__set__
_set_reason = vars(AuthResult)["reason"].__set__
setattr(AuthResult, "__init__", _init_auth_result)  # noqa: B010 (mypy: no assignment to a method)

#: An allowing verdict that names no particular rule.
ALLOWED = AuthResult.ok()


class _Fields:
    """AuthResult's slots without the frozen guard: :func:`verdict` fills one, then
    makes it an AuthResult (the same layout, so Python allows the class change)."""

    __slots__ = AuthResult.__slots__
    allowed: bool
    rule: str
    rule_name: str
    reason: str


def verdict(allowed: bool, rule: str, rule_name: str, reason: str) -> AuthResult:
    """``AuthResult(allowed, rule, rule_name, reason)``, built in about half the time.

    The rules build one verdict per check and state resolution runs thousands of
    checks; even the slot setters of ``AuthResult.__init__`` cost ~0.3 us, where
    four plain attribute stores and a class change cost ~0.15 us. The result is an
    ordinary, frozen AuthResult.
    """
    result = _Fields()
    result.allowed = allowed
    result.rule = rule
    result.rule_name = rule_name
    result.reason = reason
    result.__class__ = AuthResult  # type: ignore[assignment]
    return result  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# The spec's numbering. Each room version numbers its rules afresh: v1-v5 have
# the m.room.aliases rule (4), v1-v2 the m.room.redaction rule, v8 inserts the
# join_authorised_via_users_server signature rule, v10 the integer checks on
# power levels, v12 the room ID rule (2) and the creators rule. The numbers
# below are computed from the version's flags and checked against the text of
# each version page by tests/core/test_auth_numbering.py.


@dataclass(frozen=True, slots=True)
class RuleNumbers:
    """Where each rule sits in one room version's list of authorization rules."""

    room_id: int | None  # v12: 2
    auth_events: int
    federate: int
    aliases: int | None  # v1-v5
    member: int
    member_signature: int | None  # v8+: x.2
    member_join: int
    member_invite: int
    member_leave: int
    member_ban: int
    member_knock: int | None  # v7+
    member_unknown: int
    join_restricted: int | None  # v8+: x.y.5
    join_public: int
    join_otherwise: int
    joined: int
    third_party_invite: int
    required_power: int
    user_state_key: int
    power_levels: int
    pl_integers: int | None  # v10+
    pl_objects: int | None  # v10+
    pl_users: int
    pl_creators: int | None  # v12
    pl_no_previous: int
    pl_named: int
    pl_events_old: int
    pl_events_new: int
    pl_users_old: int
    pl_users_new: int
    pl_allow: int
    redaction: int | None  # v1-v2
    otherwise: int


@functools.cache
def rule_numbers(version: RoomVersion) -> RuleNumbers:
    """The numbering of the authorization rules in ``version`` (see :class:`RuleNumbers`)."""
    v12 = 1 if version.room_id_from_create_event else 0
    aliases = 4 if version.special_case_aliases_auth else None
    member = 4 + (1 if aliases else 0) + v12
    sig = 2 if version.restricted_join_rule else None
    join = 3 if sig else 2
    knock = join + 4 if version.knock_join_rule else None
    restricted = 5 if version.restricted_join_rule else None
    public = 6 if restricted else 5
    ints = 1 if version.enforce_int_power_levels else None
    users = 3 if ints else 1
    creators = users + 1 if version.privileged_creators else None
    no_prev = (creators or users) + 1
    redaction = member + 6 if not version.event_ids_derived else None
    return RuleNumbers(
        room_id=2 if v12 else None,
        auth_events=2 + v12,
        federate=3 + v12,
        aliases=aliases,
        member=member,
        member_signature=sig,
        member_join=join,
        member_invite=join + 1,
        member_leave=join + 2,
        member_ban=join + 3,
        member_knock=knock,
        member_unknown=(knock or join + 3) + 1,
        join_restricted=restricted,
        join_public=public,
        join_otherwise=public + 1,
        joined=member + 1,
        third_party_invite=member + 2,
        required_power=member + 3,
        user_state_key=member + 4,
        power_levels=member + 5,
        pl_integers=ints,
        pl_objects=2 if ints else None,
        pl_users=users,
        pl_creators=creators,
        pl_no_previous=no_prev,
        pl_named=no_prev + 1,
        pl_events_old=no_prev + 2,
        pl_events_new=no_prev + 3,
        pl_users_old=no_prev + 4,
        pl_users_new=no_prev + 5,
        pl_allow=no_prev + 6,
        redaction=redaction,
        otherwise=(redaction or member + 5) + 1,
    )


# ---------------------------------------------------------------------------
# Words for reasons


def show_value(value: object) -> str:
    """A JSON value for a reason sentence: short, plain, ``null``/``true``/``false``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
