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
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.core.events import PDU, StateKey

__all__ = [
    "AFTER_HEALING",
    "ServerSnapshot",
    "ServerView",
    "SnapshotComparison",
    "common_moments",
    "compare_snapshots",
    "lacked_at",
    "moments",
    "receipt_order",
    "server_views",
    "snapshot_at",
]

#: The name of the last moment: once the servers agreed (``after_healing``).
AFTER_HEALING = "after healing"


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

    @property
    def moments(self) -> tuple[str, ...]:
        """The moments this server was snapshotted, in the file's order, then
        :data:`AFTER_HEALING` when it reported a state once the servers agreed."""
        names = tuple(dict.fromkeys(s.when for s in self.snapshots if s.when))
        if self.after_healing is not None and AFTER_HEALING not in names:
            names += (AFTER_HEALING,)
        return names


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


def snapshot_at(view: ServerView, when: str) -> ServerSnapshot | None:
    """What ``view``'s server had and reported at the moment ``when`` (None: not
    snapshotted then).

    :data:`AFTER_HEALING` is the state the server reported once the servers agreed;
    the recording lists no events for it, so its events are the ones the server's
    database held at the end of the recording (``received``, read after healing),
    outliers included: a server holds those too, for their auth chains.
    """
    for snap in view.snapshots:
        if snap.when == when:
            return snap
    healed = view.after_healing
    if when != AFTER_HEALING or healed is None:
        return None
    if healed.events or not view.received:
        return healed
    return ServerSnapshot(
        when=AFTER_HEALING,
        at_ms=healed.at_ms,
        events=frozenset(e for e, _ in view.received),
        forward_extremities=healed.forward_extremities,
        state=healed.state,
    )


def moments(views: Sequence[ServerView]) -> tuple[str, ...]:
    """Every moment any server was snapshotted, in the order of the story.

    Ordered by the earliest time (``at_ms``) any server was snapshotted then, a
    moment with no time keeping its place after the one before it in the file;
    :data:`AFTER_HEALING` comes last.
    """
    first_seen: dict[str, int] = {}
    earliest: dict[str, int] = {}
    for view in views:
        for snap in view.snapshots:
            if not snap.when or snap.when == AFTER_HEALING:
                continue
            first_seen.setdefault(snap.when, len(first_seen))
            if snap.at_ms is not None:
                earliest[snap.when] = min(earliest.get(snap.when, snap.at_ms), snap.at_ms)
    # A moment without a time borrows the time of the last timed one before it.
    keyed: list[tuple[int, int, str]] = []
    last = -(2**63)
    for name, seen in sorted(first_seen.items(), key=lambda kv: kv[1]):
        last = earliest.get(name, last)
        keyed.append((last, seen, name))
    names = tuple(name for _, _, name in sorted(keyed))
    if any(v.after_healing is not None for v in views):
        names += (AFTER_HEALING,)
    return names


def common_moments(first: ServerView, second: ServerView) -> tuple[str, ...]:
    """The moments both servers were snapshotted (``first``'s order)."""
    theirs = set(second.moments)
    return tuple(m for m in first.moments if m in theirs)


def lacked_at(view: ServerView, when: str, events: Collection[str]) -> frozenset[str] | None:
    """The events of ``events`` (the room file's) that ``view``'s server did not have at
    ``when`` (None: not snapshotted then)."""
    snap = snapshot_at(view, when)
    if snap is None:
        return None
    return frozenset(e for e in events if e not in snap.events)


def compare_snapshots(
    first: ServerView, second: ServerView, when: str
) -> SnapshotComparison | None:
    """What ``first`` and ``second`` had apart at the snapshot ``when`` (None when either
    server has no snapshot of that name; :data:`AFTER_HEALING` as :func:`snapshot_at`)."""
    a = snapshot_at(first, when)
    b = snapshot_at(second, when)
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
