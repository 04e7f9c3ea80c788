"""The rule numbers roomscope reports are the ones each version's spec page uses.

Expected numbers are read off https://spec.matrix.org/v1.16/rooms/vN/#authorization-rules.
"""

from __future__ import annotations

import pytest

from app.core.auth import rule_numbers
from app.core.versions import KNOWN_ROOM_VERSIONS

# version -> (auth events, member, joined, 3pid event, required power, @ state key,
#             power levels, redaction, otherwise)
TOP = {
    "1": (2, 5, 6, 7, 8, 9, 10, 11, 12),
    "2": (2, 5, 6, 7, 8, 9, 10, 11, 12),
    "3": (2, 5, 6, 7, 8, 9, 10, None, 11),
    "5": (2, 5, 6, 7, 8, 9, 10, None, 11),
    "6": (2, 4, 5, 6, 7, 8, 9, None, 10),
    "7": (2, 4, 5, 6, 7, 8, 9, None, 10),
    "10": (2, 4, 5, 6, 7, 8, 9, None, 10),
    "11": (2, 4, 5, 6, 7, 8, 9, None, 10),
    "12": (3, 5, 6, 7, 8, 9, 10, None, 11),
}


@pytest.mark.parametrize("version", sorted(TOP))
def test_top_level_numbers(version: str) -> None:
    n = rule_numbers(KNOWN_ROOM_VERSIONS[version])
    got = (
        n.auth_events,
        n.member,
        n.joined,
        n.third_party_invite,
        n.required_power,
        n.user_state_key,
        n.power_levels,
        n.redaction,
        n.otherwise,
    )
    assert got == TOP[version]


def test_member_sub_rules() -> None:
    v1, v7, v8 = (rule_numbers(KNOWN_ROOM_VERSIONS[i]) for i in ("1", "7", "8"))
    # v1: 5.2 join, 5.3 invite, 5.4 leave, 5.5 ban, 5.6 unknown
    assert (v1.member_join, v1.member_invite, v1.member_leave, v1.member_ban) == (2, 3, 4, 5)
    assert (v1.member_knock, v1.member_unknown, v1.join_public) == (None, 6, 5)
    # v7: 4.6 knock, 4.7 unknown
    assert (v7.member_knock, v7.member_unknown) == (6, 7)
    # v8: 4.2 signature, 4.3 join (4.3.5 restricted, 4.3.6 public), 4.7 knock, 4.8 unknown
    assert (v8.member_signature, v8.member_join, v8.join_restricted, v8.join_public) == (2, 3, 5, 6)
    assert (v8.member_knock, v8.member_unknown) == (7, 8)


def test_power_levels_sub_rules() -> None:
    v9, v10, v12 = (rule_numbers(KNOWN_ROOM_VERSIONS[i]) for i in ("9", "10", "12"))
    # v9: 9.1 users, 9.2 no previous, ... 9.8 allow
    assert (v9.pl_integers, v9.pl_users, v9.pl_no_previous, v9.pl_allow) == (None, 1, 2, 8)
    # v10: 9.1 integers, 9.2 maps, 9.3 users, 9.4 no previous, 9.10 allow
    assert (v10.pl_integers, v10.pl_objects, v10.pl_users, v10.pl_no_previous) == (1, 2, 3, 4)
    assert v10.pl_allow == 10
    # v12: 10.4 creators, 10.5 no previous, 10.9 users removed, 10.10 users added
    assert (v12.pl_creators, v12.pl_no_previous, v12.pl_users_old, v12.pl_users_new) == (
        4,
        5,
        9,
        10,
    )
