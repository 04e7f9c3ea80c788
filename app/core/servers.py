"""Per-server views of a room recorded from real federation.

A room is replicated: every participating homeserver holds its own copy of the
event graph, and while servers cannot reach each other their copies differ
(https://spec.matrix.org/v1.16/server-server-api/#room-state-resolution: each
server resolves the state at its own forward extremities). Rooms recorded by
``tools/record_federation.py`` carry, in ``annotations["servers"]``, what each
server had and reported (format: sample_rooms/README.md, "Recorded from real
federation")::

    {"<server name>": {"label": "hs1", "users": [...], "sent": [event IDs],
                       "snapshots": [{"when", "at_ms", "events", "forward_extremities",
                                      "state": [[type, state_key, event_id], ...]}],
                       "after_healing": {"at_ms", "forward_extremities", "state"},
                       "received": [[event_id, received_ts], ...],
                       "outliers": [...], "soft_failed": [...], "rejected": {id: reason},
                       "offline": true}}

``received`` is the order (and time, ms) in which the server stored the room's
events, ``soft_failed`` the events it accepted but left out of its current state
(https://spec.matrix.org/v1.16/server-server-api/#soft-failure), ``outliers`` the
events it holds only for their auth chains (not in its timeline), ``rejected`` the
events it rejected and why: all read from the server's own database.

:func:`server_views` reads that leniently (annotations are free-form: anything
malformed is skipped, never an exception); :func:`compare_snapshots` says which
events one server had and another lacked at the same moment.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.core.events import PDU, StateKey

__all__ = [
    "ServerSnapshot",
    "ServerView",
    "SnapshotComparison",
    "compare_snapshots",
    "receipt_order",
    "server_views",
]


@dataclass(frozen=True, slots=True)
class ServerSnapshot:
    """What one server had at one moment: its events, extremities and reported state."""

    when: str
    at_ms: int | None
    events: frozenset[str]
    forward_extremities: tuple[str, ...]
    state: Mapping[StateKey, str]


@dataclass(frozen=True, slots=True)
class ServerView:
    """One server of a recorded room."""

    server_name: str
    label: str
    users: tuple[str, ...]
    #: events sent by this server's users, in the file's order
    sent: tuple[str, ...]
    snapshots: tuple[ServerSnapshot, ...]
    #: the forward extremities and state the server reported once the servers agreed
    after_healing: ServerSnapshot | None
    #: the server left the network for good during the recording
    offline: bool
    #: (event ID, received_ts in ms or None), in the order the server stored them
    received: tuple[tuple[str, int | None], ...] = ()
    outliers: frozenset[str] = frozenset()
    soft_failed: frozenset[str] = frozenset()
    #: event ID -> the server's reason
    rejected: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def timeline_order(self) -> tuple[str, ...]:
        """The events in the order the server stored them, outliers left out: the order
        in which it checked them against its current state."""
        return tuple(e for e, _ in self.received if e not in self.outliers)

    def known_at(self, when: str) -> frozenset[str] | None:
        """The events the server had at the snapshot named ``when`` (None: no such one)."""
        for snap in self.snapshots:
            if snap.when == when:
                return snap.events
        return None


@dataclass(frozen=True, slots=True)
class SnapshotComparison:
    """Two servers at the same snapshot: what each had that the other did not."""

    when: str
    first: str
    second: str
    only_first: frozenset[str]
    only_second: frozenset[str]
    #: state keys whose event differs (or is absent on one side) in the reported states
    state_differs: frozenset[StateKey]


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def _state(value: Any) -> Mapping[StateKey, str]:
    out: dict[StateKey, str] = {}
    if isinstance(value, Sequence) and not isinstance(value, str):
        for row in value:
            if (
                isinstance(row, Sequence)
                and not isinstance(row, str)
                and len(row) == 3
                and all(isinstance(x, str) for x in row)
            ):
                out[(row[0], row[1])] = row[2]
    return MappingProxyType(out)


def _received(value: Any) -> tuple[tuple[str, int | None], ...]:
    out: list[tuple[str, int | None]] = []
    if isinstance(value, Sequence) and not isinstance(value, str):
        for row in value:
            if isinstance(row, Sequence) and not isinstance(row, str) and row:
                event_id = row[0]
                ts = row[1] if len(row) > 1 else None
                if isinstance(event_id, str):
                    ok = isinstance(ts, int) and not isinstance(ts, bool)
                    out.append((event_id, ts if ok else None))
    return tuple(out)


def _reasons(value: Any) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        return MappingProxyType({})
    return MappingProxyType(
        {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
    )


def _snapshot(value: Any, when: str | None = None) -> ServerSnapshot | None:
    if not isinstance(value, Mapping):
        return None
    name = value.get("when", when)
    at = value.get("at_ms")
    return ServerSnapshot(
        when=name if isinstance(name, str) else "",
        at_ms=at if isinstance(at, int) and not isinstance(at, bool) else None,
        events=frozenset(_strings(value.get("events"))),
        forward_extremities=_strings(value.get("forward_extremities")),
        state=_state(value.get("state")),
    )


def server_views(annotations: Mapping[str, Any]) -> tuple[ServerView, ...]:
    """The servers of a recorded room, in the file's order (empty for other rooms)."""
    servers = annotations.get("servers")
    if not isinstance(servers, Mapping):
        return ()
    views: list[ServerView] = []
    for name, entry in servers.items():
        if not isinstance(name, str) or not isinstance(entry, Mapping):
            continue
        snaps_raw = entry.get("snapshots")
        snaps = (
            tuple(s for s in (_snapshot(v) for v in snaps_raw) if s is not None)
            if isinstance(snaps_raw, Sequence) and not isinstance(snaps_raw, str)
            else ()
        )
        label = entry.get("label")
        views.append(
            ServerView(
                server_name=name,
                label=label if isinstance(label, str) else name,
                users=_strings(entry.get("users")),
                sent=_strings(entry.get("sent")),
                snapshots=snaps,
                after_healing=_snapshot(entry.get("after_healing"), "after healing"),
                offline=entry.get("offline") is True,
                received=_received(entry.get("received")),
                outliers=frozenset(_strings(entry.get("outliers"))),
                soft_failed=frozenset(_strings(entry.get("soft_failed"))),
                rejected=_reasons(entry.get("rejected")),
            )
        )
    return tuple(views)


def compare_snapshots(
    first: ServerView, second: ServerView, when: str
) -> SnapshotComparison | None:
    """What ``first`` and ``second`` had apart at the snapshot ``when`` (None when either
    server has no snapshot of that name)."""
    a = next((s for s in first.snapshots if s.when == when), None)
    b = next((s for s in second.snapshots if s.when == when), None)
    if a is None or b is None:
        return None
    keys = set(a.state) | set(b.state)
    return SnapshotComparison(
        when=when,
        first=first.server_name,
        second=second.server_name,
        only_first=a.events - b.events,
        only_second=b.events - a.events,
        state_differs=frozenset(k for k in keys if a.state.get(k) != b.state.get(k)),
    )


def receipt_order(view: ServerView, events: Mapping[str, PDU]) -> tuple[str, ...]:
    """The events ``view``'s server stored, in the order it stored them, each moved
    after its prev and auth events (those in ``events``).

    A server stores a batch (the state and auth chain of a ``send_join`` answer, the
    events of a ``/get_missing_events`` answer) in an order of its choosing; checked
    one by one, an event needs its auth events first. The sort is stable: an event
    waits only for what it depends on, otherwise the server's order is kept.
    Events the server stored that are not in ``events`` are left out.
    """
    rank = {e: i for i, (e, _) in enumerate(view.received) if e in events}
    waiting: dict[str, int] = {}
    children: dict[str, list[str]] = {}
    for event_id in rank:
        pdu = events[event_id]
        deps = {d for d in (*pdu.prev_events, *pdu.auth_events) if d in rank and d != event_id}
        waiting[event_id] = len(deps)
        for d in deps:
            children.setdefault(d, []).append(event_id)
    ready = [(rank[e], e) for e, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, event_id = heapq.heappop(ready)
        out.append(event_id)
        for child in children.get(event_id, ()):
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (rank[child], child))
    return tuple(out)
