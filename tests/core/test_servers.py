"""Per-server views of recorded rooms (app/core/servers.py)."""

from __future__ import annotations

from typing import Any

from app.core.servers import compare_snapshots, server_views

ANNOTATIONS: dict[str, Any] = {
    "servers": {
        "a.example:1": {
            "label": "hs1",
            "users": ["@alice:a.example:1"],
            "sent": ["$create", "$t1"],
            "snapshots": [
                {
                    "when": "during the partition",
                    "at_ms": 5,
                    "events": ["$create", "$t1"],
                    "forward_extremities": ["$t1"],
                    "state": [["m.room.create", "", "$create"], ["m.room.topic", "", "$t1"]],
                }
            ],
            "after_healing": {
                "at_ms": 9,
                "forward_extremities": ["$m"],
                "state": [["m.room.create", "", "$create"], ["m.room.topic", "", "$t2"]],
            },
        },
        "b.example:2": {
            "label": "hs2",
            "sent": ["$t2", "$m"],
            "snapshots": [
                {
                    "when": "during the partition",
                    "events": ["$create", "$t2"],
                    "forward_extremities": ["$t2"],
                    "state": [["m.room.create", "", "$create"], ["m.room.topic", "", "$t2"]],
                }
            ],
            "offline": True,
            "received": [["$create", 1], ["$t2", 3], ["$t1", None], ["$m", 7], [4, 5]],
            "outliers": ["$t1"],
            "soft_failed": ["$m"],
            "rejected": {"$x": "not allowed", "$y": 3},
        },
    }
}


def test_views_read_what_each_server_had() -> None:
    hs1, hs2 = server_views(ANNOTATIONS)
    assert (hs1.server_name, hs1.label, hs1.users, hs1.sent) == (
        "a.example:1",
        "hs1",
        ("@alice:a.example:1",),
        ("$create", "$t1"),
    )
    assert hs1.known_at("during the partition") == {"$create", "$t1"}
    assert hs1.known_at("never") is None
    assert hs1.snapshots[0].at_ms == 5 and hs2.snapshots[0].at_ms is None
    assert hs1.after_healing is not None
    assert hs1.after_healing.state[("m.room.topic", "")] == "$t2"
    assert hs1.after_healing.forward_extremities == ("$m",)
    assert not hs1.offline and hs2.offline and hs2.after_healing is None
    assert hs2.users == ()
    assert hs2.received == (("$create", 1), ("$t2", 3), ("$t1", None), ("$m", 7))
    assert hs2.timeline_order == ("$create", "$t2", "$m")
    assert hs2.soft_failed == {"$m"} and dict(hs2.rejected) == {"$x": "not allowed"}
    assert hs1.received == () and hs1.timeline_order == () and not hs1.soft_failed


def test_compare_says_what_each_side_lacked() -> None:
    hs1, hs2 = server_views(ANNOTATIONS)
    cmp = compare_snapshots(hs1, hs2, "during the partition")
    assert cmp is not None
    assert cmp.only_first == {"$t1"} and cmp.only_second == {"$t2"}
    assert cmp.state_differs == {("m.room.topic", "")}
    assert compare_snapshots(hs1, hs2, "no such moment") is None


def test_rooms_without_servers_and_malformed_entries() -> None:
    assert server_views({}) == ()
    assert server_views({"servers": ["not", "a", "mapping"]}) == ()
    views = server_views(
        {
            "servers": {
                "x": "not an object",
                "y": {
                    "label": 3,
                    "sent": "$not-a-list",
                    "snapshots": [None, {"events": [1, "$e"], "state": [["t", "k"], "no"]}],
                    "after_healing": [],
                    "offline": "yes",
                },
            }
        }
    )
    assert len(views) == 1
    (y,) = views
    assert y.label == "y" and y.sent == () and not y.offline and y.after_healing is None
    assert len(y.snapshots) == 1
    assert y.snapshots[0].events == {"$e"} and dict(y.snapshots[0].state) == {}


def test_receipt_order_keeps_the_servers_order_but_auth_events_first() -> None:
    from types import SimpleNamespace

    from app.core.servers import ServerView, receipt_order

    def pdu(prev: list[str], auth: list[str]) -> Any:
        return SimpleNamespace(prev_events=prev, auth_events=auth)

    events = {
        "$create": pdu([], []),
        "$pl": pdu(["$create"], ["$create"]),
        "$join": pdu(["$pl"], ["$create", "$pl"]),
        "$msg": pdu(["$join"], ["$create", "$pl", "$join"]),
        "$other": pdu(["$pl"], ["$create", "$pl"]),
    }
    # Stored as a batch in an arbitrary order; "$unknown" is not in the room file.
    view = ServerView(
        "s",
        "s",
        (),
        (),
        (),
        None,
        False,
        received=(
            ("$msg", 1),
            ("$other", 2),
            ("$pl", 3),
            ("$unknown", 4),
            ("$create", 5),
            ("$join", 6),
        ),
    )
    assert receipt_order(view, events) == ("$create", "$pl", "$other", "$join", "$msg")


def test_moments_in_story_order_and_after_healing_last() -> None:
    from app.core.servers import AFTER_HEALING, common_moments, moments

    hs1, hs2 = server_views(ANNOTATIONS)
    assert hs1.moments == ("during the partition", AFTER_HEALING)
    assert hs2.moments == ("during the partition",)  # offline: never reported a healed state
    assert moments((hs1, hs2)) == ("during the partition", AFTER_HEALING)
    assert common_moments(hs1, hs2) == ("during the partition",)
    # Out of file order: the earliest snapshot time decides; an untimed one keeps its
    # place after the timed moment before it in the file.
    views = server_views(
        {
            "servers": {
                "a": {"snapshots": [{"when": "later", "at_ms": 50}, {"when": "untimed"}]},
                "b": {"snapshots": [{"when": "sooner", "at_ms": 10}, {"when": "later"}]},
            }
        }
    )
    assert moments(views) == ("sooner", "later", "untimed")


def test_after_healing_holds_what_the_server_stored() -> None:
    from app.core.servers import AFTER_HEALING, lacked_at, snapshot_at

    hs1, hs2 = server_views(ANNOTATIONS)
    during = snapshot_at(hs1, "during the partition")
    assert during is not None and during.events == {"$create", "$t1"}
    assert snapshot_at(hs2, AFTER_HEALING) is None  # offline
    assert snapshot_at(hs1, "never") is None
    room = ("$create", "$t1", "$t2", "$m")
    assert lacked_at(hs1, "during the partition", room) == {"$t2", "$m"}
    assert lacked_at(hs2, AFTER_HEALING, room) is None
    healed = server_views(
        {
            "servers": {
                "a": {
                    "received": [["$create", 1], ["$t1", 2], ["$t2", 3]],
                    "after_healing": {"at_ms": 9, "state": [["m.room.topic", "", "$t2"]]},
                },
                "b": {
                    "received": [["$create", 1], ["$t2", 2]],
                    "after_healing": {"state": [["m.room.topic", "", "$t1"]]},
                },
            }
        }
    )
    a, b = healed
    snap = snapshot_at(a, AFTER_HEALING)
    assert snap is not None and snap.events == {"$create", "$t1", "$t2"} and snap.at_ms == 9
    assert dict(snap.state) == {("m.room.topic", ""): "$t2"}
    cmp = compare_snapshots(a, b, AFTER_HEALING)
    assert cmp is not None and cmp.only_first == {"$t1"} and cmp.only_second == frozenset()
    assert cmp.state_differs == {("m.room.topic", "")}
