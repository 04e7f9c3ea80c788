"""What the canvas draws, as arrays by row: shapes, servers, overlays, labels.

Part of :mod:`app.ui.canvas` (the widget and its API live there). A
:class:`CanvasRoom` is built once per room shown from its graph and its
:class:`~app.layout.lanes.Layout`; the painter, the overlays and the keyboard
navigation read it. Labels and tooltips are plain text cut to one short line:
every string in a room comes from untrusted servers.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from app.core.events import domain_of
from app.layout.lanes import Layout, events_of, graph_of
from app.ui.style import OTHER_SERVERS, Shape, server_colours
from app.ui.style import shape_of as _shape_of
from app.ui.text import single_line

__all__ = ["CanvasRoom", "describe", "label_of", "neighbours"]

#: pixels per row below which lanes are drawn as density ribbons
DENSITY_BELOW_PX = 1.6
#: pixels per row from which labels are drawn
LABELS_FROM_PX = 14.0
#: comfortable zoom: pixels per row and per lane
COMFORT_ROW_PX = 26.0
MAX_LANE_PX = 44.0

F64 = npt.NDArray[np.float64]


class CanvasRoom:
    """Everything the canvas draws, as arrays indexed by row."""

    def __init__(
        self,
        graph: Any,
        layout: Layout,
        rejected: Collection[str],
        soft_failed: Collection[str],
        palette: Sequence[str],
    ) -> None:
        graph = graph_of(graph)
        self.graph = graph
        events: Mapping[str, Any] = events_of(graph)
        self.events = events
        self.layout = layout
        n = len(layout)
        self.n = n
        ids = layout.ids
        self.x = layout.x.astype(np.float64)
        self.y = layout.y.astype(np.float64)
        # One pass in plain lists (an item assignment into a numpy array costs more
        # than the rest of the loop), one domain_of per sender, not per event.
        shapes: list[int] = []
        row_senders: list[str | None] = []
        missing, message = int(Shape.MISSING), int(Shape.MESSAGE)
        get_event = events.get
        for eid in ids:
            ev: Any = get_event(eid)
            if ev is None:
                shapes.append(missing)
                row_senders.append(None)
                continue
            shapes.append(message if ev.state_key is None else int(_shape_of(ev)))
            row_senders.append(ev.sender)
        shape = np.array(shapes, dtype=np.int8)
        self.shape = shape
        senders = [s for s in row_senders if s is not None]
        self.servers, self.server_hex = server_colours(senders, palette)
        sidx = {s: i for i, s in enumerate(self.servers)}
        server_of: dict[str | None, int] = {None: -1}
        server_of.update((s, sidx.get(domain_of(s) or s, -1)) for s in set(senders))
        self.server = np.array([server_of[s] for s in row_senders], dtype=np.int32)
        self.server_count = np.bincount(self.server[self.server >= 0], minlength=len(self.servers))
        pe = layout.prev_edges
        self.n_children = np.bincount(pe[:, 0], minlength=n) if len(pe) else np.zeros(n, int)
        self.n_parents = np.bincount(pe[:, 1], minlength=n) if len(pe) else np.zeros(n, int)
        self.forks = np.flatnonzero(self.n_children > 1)
        self.merges = np.flatnonzero(self.n_parents > 1)
        # children / parents by row (CSR), for keyboard navigation
        self.parents_of = _csr(pe[:, 1], pe[:, 0], n)
        self.children_of = _csr(pe[:, 0], pe[:, 1], n)
        ext = getattr(graph, "forward_extremities", None)
        if ext is not None:
            ext_rows = [layout.index[e] for e in ext if e in layout.index]
        else:
            present_children = np.zeros(n, dtype=bool)
            if len(pe):
                present_children[pe[:, 0][~layout.placeholder[pe[:, 1]]]] = True
            ext_rows = np.flatnonzero(~present_children & ~layout.placeholder).tolist()
        self.extremity = np.zeros(n, dtype=bool)
        self.extremity[ext_rows] = True
        creates = np.flatnonzero(shape == Shape.CREATE)
        self.create_row = int(creates[0]) if len(creates) else (0 if n else -1)
        # lanes: rows of each lane, sorted (for Left/Right)
        order = np.lexsort((layout.y, layout.x))
        self.lane_rows: list[npt.NDArray[np.int32]] = []
        if n:
            bounds = np.searchsorted(layout.x[order], np.arange(layout.lane_count + 1))
            self.lane_rows = [
                order[bounds[k] : bounds[k + 1]].astype(np.int32) for k in range(layout.lane_count)
            ]
        self.rejected = np.zeros(n, dtype=bool)
        self.soft_failed = np.zeros(n, dtype=bool)
        self.set_status(rejected, soft_failed)
        self.edge_dashed = (
            layout.placeholder[pe[:, 0]] | layout.placeholder[pe[:, 1]]
            if len(pe)
            else np.zeros(0, dtype=bool)
        )
        self._haystack: list[str] | None = None

    def set_palette(self, palette: Sequence[str]) -> None:
        """Colour the servers (busiest first) from ``palette``; the rest are grey."""
        self.server_hex = tuple(
            palette[i] if i < len(palette) else OTHER_SERVERS for i in range(len(self.servers))
        )

    def set_status(
        self, rejected: Collection[str] | None, soft_failed: Collection[str] | None
    ) -> None:
        index = self.layout.index
        if rejected is not None:
            self.rejected[:] = False
            self.rejected[[index[e] for e in rejected if e in index]] = True
        if soft_failed is not None:
            self.soft_failed[:] = False
            self.soft_failed[[index[e] for e in soft_failed if e in index]] = True

    def haystack(self) -> list[str]:
        if self._haystack is None:
            out: list[str] = []
            for eid in self.layout.ids:
                ev: Any = self.events.get(eid)
                if ev is None:
                    out.append(eid.lower())
                    continue
                parts = [eid, ev.type, ev.state_key or "", ev.sender]
                parts.extend(_strings(ev.content))
                out.append("\n".join(parts).lower())
            self._haystack = out
        return self._haystack


def _strings(value: Any) -> Iterable[str]:
    """Every string (keys too) in a JSON value, iteratively (content can be deep)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            yield v
        elif isinstance(v, Mapping):
            for k, item in v.items():
                yield str(k)
                stack.append(item)
        elif isinstance(v, list | tuple):
            stack.extend(v)
        elif v is not None:
            yield json.dumps(v)


def _csr(
    src: npt.NDArray[Any], dst: npt.NDArray[Any], n: int
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    order = np.argsort(src, kind="stable")
    starts = np.searchsorted(src[order], np.arange(n + 1))
    return starts, dst[order]


def neighbours(csr: tuple[npt.NDArray[Any], npt.NDArray[Any]], row: int) -> list[int]:
    starts, values = csr
    return [int(v) for v in values[starts[row] : starts[row + 1]]]


def describe(room: CanvasRoom, row: int) -> str:
    """A plain-text description of the event at ``row`` for the hover tooltip.

    Every field is cut to one line of at most 120 characters: IDs, keys and
    bodies come from untrusted servers.
    """
    eid = single_line(room.layout.ids[row], 120)
    ev: Any = room.events.get(room.layout.ids[row])
    if ev is None:
        return f"{eid}\nmissing: referenced by the room but not in it"
    state = f"  [{single_line(ev.state_key, 80)}]" if ev.state_key else ""
    lines = [eid, single_line(ev.type, 80) + state, f"sender {single_line(ev.sender, 110)}"]
    content = ev.content if isinstance(ev.content, Mapping) else {}
    membership = content.get("membership")
    if isinstance(membership, str):
        lines.append(f"membership {single_line(membership, 40)}")
    body = content.get("body")
    if isinstance(body, str):
        lines.append(single_line(body, 120))
    lines.append(
        f"row {row}, lane {int(room.layout.x[row])}; "
        f"{len(ev.prev_events)} prev, {len(ev.auth_events)} auth"
    )
    flags = []
    if room.rejected[row]:
        flags.append("rejected")
    if room.soft_failed[row]:
        flags.append("soft-failed")
    if room.extremity[row]:
        flags.append("forward extremity")
    if flags:
        lines.append(", ".join(flags))
    return "\n".join(lines)


def short_name(user_id: str) -> str:
    """``@alice:example.org`` -> ``alice`` (the colour already says the server)."""
    local = user_id.split(":", 1)[0]
    return single_line(local[1:] if local.startswith("@") else local, 24)


def label_of(room: CanvasRoom, row: int) -> str:
    """A short plain-text label: what the event does, and who did it."""
    eid = room.layout.ids[row]
    ev: Any = room.events.get(eid)
    if ev is None:
        return f"missing {single_line(eid, 24)}"
    etype: str = ev.type
    sk: str | None = ev.state_key
    sender = short_name(ev.sender)
    content = ev.content if isinstance(ev.content, Mapping) else {}
    if etype == "m.room.member" and sk is not None:
        # The membership the event sets, not a story: a "join" may be a first join
        # or a profile change, which only the state before it can tell.
        membership = single_line(str(content.get("membership")), 16)
        if sk == ev.sender:
            return f"{sender} · {membership}"
        if membership == "leave":
            membership = "kick"
        return f"{sender} · {membership} {short_name(sk)}"
    kind = etype[7:] if etype.startswith("m.room.") else etype
    if sk is None:
        body = content.get("body")
        if isinstance(body, str) and etype == "m.room.message":
            return f"{sender}: {single_line(body, 48)}"
        return f"{single_line(kind, 32)} · {sender}"
    if etype == "m.room.create":
        version = content.get("room_version", "1")
        return f"create · {sender} · v{single_line(str(version), 8)}"
    key = f" [{single_line(sk, 24)}]" if sk else ""
    return f"{single_line(kind, 32)}{key} · {sender}"
