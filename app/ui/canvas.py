"""The event-graph canvas: the room's DAG, laid out in lanes, on pyqtgraph.

API (stable; the main window, the inspector and the stepper use only this):

``GraphCanvas(parent=None)`` — a ``QWidget``.

* ``set_room(graph, *, rejected=frozenset(), soft_failed=frozenset())`` — show
  ``graph`` (an ``EventGraph``, a ``Room`` (its ``.graph``), or any mapping of
  event ID -> PDU). If the new room contains every event of the room shown,
  the old placement is kept (fetched history goes above, new events below: see
  :mod:`app.layout.lanes`); the same room again keeps layout, view and
  selection (only the overlays change; ``set_status`` is cheaper still).
* ``set_status(*, rejected=None, soft_failed=None)`` — replace the overlay sets
  (auth results come from other modules, possibly later).
* ``select(ids, *, centre=False)``, ``selected() -> tuple[str, ...]`` (the
  primary selection is last); signal ``selectionChanged(list)`` (list of IDs);
  signal ``activated(str)`` on double-click (the view also centres on it).
* ``highlight(ids | None, *, fade_others=True)`` — emphasise ``ids`` (the
  resolution stepper's current step), fading the rest; ``None`` clears.
* ``set_show_auth_edges(bool)`` / ``show_auth_edges() -> bool`` (off by default).
* ``set_theme("light" | "dark")``.
* ``zoom_in()``, ``zoom_out()``, ``zoom_to_fit()``, ``centre_on(id)``.
* ``find(text) -> list[str]`` — event IDs whose ID, type, state key, sender or
  any string in their content contains ``text`` (case-insensitive), in row
  order. It does not move the view: call ``select(ids[:1], centre=True)``.
* ``export_image(path)`` — PNG or SVG by suffix.
* ``set_layout(graph, layout, *, rejected=..., soft_failed=..., keep_view=False)``
  — show a :class:`~app.layout.lanes.Layout` computed elsewhere (off the UI
  thread: ``compute_layout(events)``, or ``compute_layout(events,
  previous=canvas.graph_layout())`` for a room that grew, with
  ``keep_view=True``). ``set_room`` does the same on the calling thread
  (0.35 s for 100k events; about 1 s to extend a 90k layout by 10k).
* ``graph_layout() -> Layout | None`` (Qt's own ``layout()`` is something else).
* ``set_legend_visible(bool)``, ``set_minimap_enabled(bool)``.
* signal ``searchRequested()`` when the user presses ``/``.

Keyboard (with the canvas focused): Up/Down follow the lane to the parent /
child; Left/Right move to the nearest event in the next lane; ``[`` ``]`` the
previous / next fork, ``{`` ``}`` the previous / next merge; Home the create
event, End the forward extremities; ``+``/``-`` zoom, ``0`` fit; Escape clears.

How it draws (measured in benchmarks/bench_canvas.py on the 2-core box with a
100k-event room: 2-6 ms of CPU per repaint at every zoom, hit-test well under
1 ms, ``set_room`` with its layout plus the first paint about 0.5 s). One
``GraphicsObject`` paints only the visible rows with QPainter (rows are
indices, so the visible events are a slice). Nodes are batched per shape and
colour (``drawPoints`` with square or round pen caps for squares, dots and
rings; polygons only for the rare diamonds and stars); edges are one path per
style built from numpy arrays (``pyqtgraph.arrayToQPath``), clamped to the
view and stroked with a 1-pixel cosmetic pen (Qt's fast path: a 1.6-pixel pen
cost about five times more). Labels sit in a column right of the lanes in
view. When rows are closer than 1.6 pixels, each lane becomes a density ribbon
(an image per zoom level, cached). Untrusted text is only ever drawn with
``drawText`` or shown in plain-text labels, never as rich text.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
)
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.layout.lanes import Layout, compute_layout, events_of, graph_of
from app.ui.style import (
    OTHER_SERVERS,
    SHAPE_GLYPH,
    SHAPE_NAME,
    Shape,
    Theme,
    server_colours,
    server_of,
)
from app.ui.style import shape_of as _shape_of
from app.ui.style import theme as _theme

__all__ = ["GraphCanvas"]

#: pixels per row below which lanes are drawn as density ribbons
DENSITY_BELOW_PX = 1.6
#: pixels per row from which labels are drawn
LABELS_FROM_PX = 17.0
#: comfortable zoom: pixels per row and per lane
COMFORT_ROW_PX = 26.0
MAX_LANE_PX = 44.0

F64 = npt.NDArray[np.float64]


class _Room:
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
        shape = np.full(n, Shape.MISSING, dtype=np.int8)
        senders: list[str] = []
        server_idx_names: list[str] = []
        for i, eid in enumerate(ids):
            ev: Any = events.get(eid)
            if ev is None:
                server_idx_names.append("")
                continue
            shape[i] = _shape_of(ev)
            senders.append(ev.sender)
            server_idx_names.append(server_of(ev.sender))
        self.shape = shape
        self.servers, self.server_hex = server_colours(senders, palette)
        sidx = {s: i for i, s in enumerate(self.servers)}
        self.server = np.array([sidx.get(s, -1) for s in server_idx_names], dtype=np.int32)
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


def _neighbours(csr: tuple[npt.NDArray[Any], npt.NDArray[Any]], row: int) -> list[int]:
    starts, values = csr
    return [int(v) for v in values[starts[row] : starts[row + 1]]]


def _one_line(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(room: _Room, row: int) -> str:
    """A plain-text description of the event at ``row`` for the hover tooltip.

    Every field is cut to one line of at most 120 characters: IDs, keys and
    bodies come from untrusted servers.
    """
    eid = _one_line(room.layout.ids[row], 120)
    ev: Any = room.events.get(room.layout.ids[row])
    if ev is None:
        return f"{eid}\nmissing: referenced by the room but not in it"
    state = f"  [{_one_line(ev.state_key, 80)}]" if ev.state_key else ""
    lines = [eid, _one_line(ev.type, 80) + state, f"sender {_one_line(ev.sender, 110)}"]
    content = ev.content if isinstance(ev.content, Mapping) else {}
    membership = content.get("membership")
    if isinstance(membership, str):
        lines.append(f"membership {_one_line(membership, 40)}")
    body = content.get("body")
    if isinstance(body, str):
        lines.append(_one_line(body, 120))
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


def _short(user_id: str) -> str:
    """``@alice:example.org`` -> ``alice`` (the colour already says the server)."""
    local = user_id.split(":", 1)[0]
    return _one_line(local[1:] if local.startswith("@") else local, 24)


def label_of(room: _Room, row: int) -> str:
    """A short plain-text label: what the event does, and who did it."""
    eid = room.layout.ids[row]
    ev: Any = room.events.get(eid)
    if ev is None:
        return f"missing {_one_line(eid, 24)}"
    etype: str = ev.type
    sk: str | None = ev.state_key
    sender = _short(ev.sender)
    content = ev.content if isinstance(ev.content, Mapping) else {}
    if etype == "m.room.member" and sk is not None:
        # The membership the event sets, not a story: a "join" may be a first join
        # or a profile change, which only the state before it can tell.
        membership = _one_line(str(content.get("membership")), 16)
        if sk == ev.sender:
            return f"{sender} · {membership}"
        if membership == "leave":
            membership = "kick"
        return f"{sender} · {membership} {_short(sk)}"
    kind = etype[7:] if etype.startswith("m.room.") else etype
    if sk is None:
        body = content.get("body")
        if isinstance(body, str) and etype == "m.room.message":
            return f"{sender}: {_one_line(body)}"
        return f"{_one_line(kind, 32)} · {sender}"
    if etype == "m.room.create":
        version = content.get("room_version", "1")
        return f"create · {sender} · v{_one_line(str(version), 8)}"
    key = f" [{_one_line(sk, 24)}]" if sk else ""
    return f"{_one_line(kind, 32)}{key} · {sender}"


class _GraphItem(pg.GraphicsObject):  # type: ignore[misc]
    """Paints the visible part of the graph; see the module docstring."""

    def __init__(self, canvas: GraphCanvas) -> None:
        super().__init__()
        self._canvas = canvas
        self.room: _Room | None = None
        self._density_cache: dict[int, tuple[QImage, npt.NDArray[np.uint8], int]] = {}
        self.font = QFont("DejaVu Sans", 8)
        self._max_route = 0.0
        self.last_stats: dict[str, int] = {}

    def set_room(self, room: _Room | None) -> None:
        self.prepareGeometryChange()
        self.room = room
        self._density_cache = {}
        self.update()

    def boundingRect(self) -> QRectF:
        room = self.room
        if room is None or room.n == 0:
            return QRectF()
        return QRectF(-1.5, -1.5, room.layout.lane_count + 3.0, room.n + 3.0)

    # ---------------------------------------------------------------- density

    def density_image(self, rows_per_px: float | None = None) -> QImage:
        """The room as lane ribbons, one image row per ``2**level`` rows.

        Each lane is a thin line where it is in use (an event or an edge running
        down it) and a wider band where events are dense; a band takes the colour
        of the server that sent most of its events when one server dominates, and
        stays neutral when they mix (an average of colours would read as a colour
        of its own). ``rows_per_px`` picks the level (about one image row per
        pixel); None gives the coarsest, for the minimap.
        """
        room = self.room
        assert room is not None
        level, group, lanes = self._density_level(rows_per_px)
        cached = self._density_cache.get(level)
        if cached is not None:
            return cached[0]
        th = self._canvas.theme
        n = max(1, room.n)
        bins = (n + (1 << level) - 1) >> level
        rows = np.arange(room.n, dtype=np.int64)
        b = rows >> level
        lane = room.layout.x.astype(np.int64) // group
        cell = b * lanes + lane
        size = bins * lanes
        nodes = np.bincount(cell, minlength=size).astype(np.float64)
        # smooth along each lane ([1, 2, 1]), so single events do not read as stripes
        grid = nodes.reshape(bins, lanes)
        sm = grid * 2
        sm[1:] += grid[:-1]
        sm[:-1] += grid[1:]
        smooth = (sm / 4).ravel()
        # lane use by edge runs: +1/-1 at the ends of each run, then a running sum
        pe = room.layout.prev_edges
        use = np.zeros((bins + 1) * lanes, dtype=np.int64)
        if len(pe):
            lo = np.minimum(pe[:, 0], pe[:, 1]).astype(np.int64) >> level
            hi = np.maximum(pe[:, 0], pe[:, 1]).astype(np.int64) >> level
            r = room.layout.route.astype(np.int64) // group
            np.add.at(use, lo * lanes + r, 1)
            np.add.at(use, (hi + 1) * lanes + r, -1)
        busy = (np.cumsum(use.reshape(bins + 1, lanes), axis=0)[:bins].ravel() > 0) | (nodes > 0)
        # the dominant server of each cell
        best = np.zeros(size)
        best_s = np.full(size, -1, dtype=np.int64)
        for srv in range(len(room.servers)):
            w = np.bincount(cell[room.server == srv], minlength=size).astype(np.float64)
            better = w > best
            best[better] = w[better]
            best_s[better] = srv
        share = np.divide(best, nodes, out=np.zeros(size), where=nodes > 0)
        palette = np.array(
            [[QColor(h).red(), QColor(h).green(), QColor(h).blue()] for h in room.server_hex]
            + [[0, 0, 0]],
            dtype=np.float64,
        )
        neutral = QColor(th.edge)
        neutral_rgb = np.array([neutral.red(), neutral.green(), neutral.blue()], dtype=np.float64)
        mix = np.clip((share - 0.6) / 0.3, 0.0, 1.0)[:, None]
        band_rgb = neutral_rgb * (1 - mix) + palette[best_s] * mix
        per_row = smooth / (1 << level) / group  # events per row in this lane (0..1)
        strength = np.clip(np.sqrt(per_row * 2.0), 0.0, 1.0)
        img = np.zeros((size, 8, 4), dtype=np.float32)
        # the lane line (2 px of 8) wherever the lane is in use
        img[busy, 3:5, :3] = neutral_rgb[None, None, :]
        img[busy, 3:5, 3] = 150
        # the band: wider and more opaque with density
        for col, need in ((2, 0.15), (5, 0.15), (1, 0.4), (6, 0.4), (0, 0.75), (7, 0.75)):
            on = (smooth > 0) & (strength > need)
            img[on, col, :3] = band_rgb[on]
            img[on, col, 3] = 60 + 150 * strength[on]
        core = smooth > 0
        img[core, 3:5, :3] = band_rgb[core][:, None, :]
        img[core, 3:5, 3] = (150 + 105 * strength[core])[:, None]
        buf = np.ascontiguousarray(
            img.reshape(bins, lanes, 8, 4).reshape(bins, lanes * 8, 4).astype(np.uint8)
        )
        qimg = QImage(buf.data, lanes * 8, bins, lanes * 32, QImage.Format.Format_RGBA8888)
        self._density_cache[level] = (qimg, buf, 1 << level)
        return qimg

    def _density_level(self, rows_per_px: float | None) -> tuple[int, int, int]:
        """(level, lanes per image lane, image lanes) for a zoom; the image stays small.

        A row of the image covers ``2**level`` rows; at most 512 image lanes (a wider
        room groups its lanes) and about 2**19 cells, whatever the room.
        """
        room = self.room
        assert room is not None
        n = max(1, room.n)
        lanes = max(1, room.layout.lane_count)
        group = max(1, math.ceil(lanes / 512))
        img_lanes = math.ceil(lanes / group)
        max_bins = max(64, (1 << 19) // img_lanes)
        min_level = max(0, math.ceil(math.log2(n / max_bins))) if n > max_bins else 0
        max_level = max(min_level, math.ceil(math.log2(n / 512)) if n > 512 else 0)
        if rows_per_px is None:
            level = max_level
        else:
            want = math.floor(math.log2(max(rows_per_px, 1.0)))
            level = int(np.clip(want, min_level, max_level))
        return level, group, img_lanes

    def density_rows_per_line(self, rows_per_px: float | None) -> tuple[int, int]:
        """Rows per image line, and lanes per image lane, of :meth:`density_image`."""
        level, group, _ = self._density_level(rows_per_px)
        return 1 << level, group

    # ---------------------------------------------------------------- paint

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        # An exception escaping a paint override aborts the process: contain it.
        painter.save()
        try:
            self._paint(painter)
        except Exception as exc:  # a bug must not take the window down
            self.last_stats = {"error": 1}
            print(f"roomscope: the graph could not be drawn: {exc!r}", file=sys.stderr)
        finally:
            painter.restore()

    def _paint(self, painter: QPainter) -> None:
        room = self.room
        canvas = self._canvas
        if room is None or room.n == 0:
            return
        th = canvas.theme
        tr = painter.transform()
        sx, sy, dx, dy = tr.m11(), tr.m22(), tr.m31(), tr.m32()
        if sx == 0 or sy == 0:
            return
        vr = self.getViewBox().viewRect() if self.getViewBox() is not None else QRectF()
        if not vr.isValid():
            vr = self.boundingRect()
        r0 = max(0, math.floor(vr.top()) - 1)
        r1 = min(room.n - 1, math.ceil(vr.bottom()) + 1)
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        stats = {"rows": max(0, r1 - r0 + 1), "edges": 0, "mode": 0}
        if r1 < r0:
            painter.restore()
            return
        if abs(sy) < DENSITY_BELOW_PX:
            stats["mode"] = 2
            img = self.density_image(3.0 / abs(sy))
            per_line, group = self.density_rows_per_line(3.0 / abs(sy))
            target = QRectF(
                dx + sx * -0.5,
                dy + sy * -0.5,
                sx * group * img.width() / 8,
                sy * img.height() * per_line,
            )
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            fade = canvas._fade_mask
            if fade is not None:  # the highlighted events stand out of a faded room
                painter.setOpacity(th.fade_opacity * 2)
            painter.drawImage(target, img)
            painter.setOpacity(1.0)
            if fade is not None:
                lit = np.flatnonzero(~fade[r0 : r1 + 1])[:20000] + r0
                if len(lit):
                    xs, ys = room.x[lit] * sx + dx, room.y[lit] * sy + dy
                    _points(painter, xs, ys, 7.0, QColor(th.highlight), round_=True)
                    colours = [QColor(h) for h in room.server_hex]
                    srv = room.server[lit]
                    for k in np.unique(srv):
                        m = srv == k
                        col = colours[k] if k >= 0 else QColor(th.missing)
                        _points(painter, xs[m], ys[m], 4.0, col, round_=True)
            self._draw_selection(painter, room, r0, r1, sx, sy, dx, dy, th)
            self.last_stats = stats
            painter.restore()
            return
        size = float(np.clip(min(abs(sy), abs(sx)) * 0.5, 3.0, 15.0))
        rows = np.arange(r0, r1 + 1)
        px = room.x[rows] * sx + dx
        py = room.y[rows] * sy + dy
        fade = canvas._fade_mask
        # lane guides: faint vertical lines where a lane has events in view
        # edges
        stats["edges"] = self._draw_edges(painter, room, r0, r1, sx, sy, dx, dy, th, fade, size)
        if canvas._show_auth:
            self._draw_auth(painter, room, r0, r1, sx, sy, dx, dy, th, fade)
        if fade is not None:
            f = fade[rows]
            painter.setOpacity(th.fade_opacity)
            self._draw_nodes(painter, room, rows[f], px[f], py[f], size, th)
            painter.setOpacity(1.0)
            keep = ~f
            self._draw_nodes(painter, room, rows[keep], px[keep], py[keep], size, th)
        else:
            self._draw_nodes(painter, room, rows, px, py, size, th)
        self._draw_selection(painter, room, r0, r1, sx, sy, dx, dy, th, size)
        if abs(sy) >= LABELS_FROM_PX and len(rows) <= 400:
            lanes_in_view = max(float(room.x[rows].max()), self._max_route)
            column = lanes_in_view * sx + dx
            self._draw_labels(painter, room, rows, px, py, size, th, fade, column)
        stats["mode"] = 1 if abs(sy) >= LABELS_FROM_PX else 0
        self.last_stats = stats
        painter.restore()

    def _draw_edges(
        self,
        painter: QPainter,
        room: _Room,
        r0: int,
        r1: int,
        sx: float,
        sy: float,
        dx: float,
        dy: float,
        th: Theme,
        fade: npt.NDArray[np.bool_] | None,
        size: float,
    ) -> int:
        pe = room.layout.prev_edges
        if not len(pe):
            return 0
        p, c = pe[:, 0], pe[:, 1]
        lo = np.minimum(p, c)
        hi = np.maximum(p, c)
        vis = (lo <= r1) & (hi >= r0)
        idx = np.flatnonzero(vis)
        self._max_route = 0.0
        if not len(idx):
            return 0
        p, c = p[idx], c[idx]
        route = room.layout.route[idx].astype(np.float64)
        self._max_route = float(route.max())
        xp, yp = room.x[p], room.y[p]
        xc, yc = room.x[c], room.y[c]
        up = room.layout.upward[idx]
        # bend point: one row below the parent into the child's lane, or one row
        # above the child out of the parent's lane
        pts_x, pts_y = _edge_points(xp, yp, xc, yc, route, up)
        # Long edges reach far outside the view; the stroker would still walk all of
        # it. Clamp to two rows beyond the view: vertical runs stay exact, and lane
        # changes (one row tall) out there are not seen.
        pts_y = np.clip(pts_y, r0 - 2.0, r1 + 2.0)
        pts_x = pts_x * sx + dx
        pts_y = pts_y * sy + dy
        dashed = room.edge_dashed[idx]
        faded = np.zeros(len(idx), dtype=bool) if fade is None else (fade[p] | fade[c])
        # a 1-pixel cosmetic pen takes Qt's fast line path (a 1.6 px one costs ~5x more)
        width = 1.0
        groups = [
            (~dashed & ~faded, Qt.PenStyle.SolidLine, 1.0),
            (dashed & ~faded, Qt.PenStyle.DashLine, 1.0),
            (~dashed & faded, Qt.PenStyle.SolidLine, th.fade_opacity),
            (dashed & faded, Qt.PenStyle.DashLine, th.fade_opacity),
        ]
        for mask, style, opacity in groups:
            if not mask.any():
                continue
            pen = QPen(QColor(th.edge if style == Qt.PenStyle.SolidLine else th.missing), width)
            pen.setStyle(style)
            pen.setCosmetic(True)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.setOpacity(opacity)
            painter.drawPath(_polylines(pts_x[mask], pts_y[mask]))
        painter.setOpacity(1.0)
        return len(idx)

    def _draw_auth(
        self,
        painter: QPainter,
        room: _Room,
        r0: int,
        r1: int,
        sx: float,
        sy: float,
        dx: float,
        dy: float,
        th: Theme,
        fade: npt.NDArray[np.bool_] | None,
    ) -> None:
        ae = room.layout.auth_edges
        if not len(ae):
            return
        a, e = ae[:, 0], ae[:, 1]
        vis = (np.minimum(a, e) <= r1) & (np.maximum(a, e) >= r0)
        idx = np.flatnonzero(vis)[:20000]
        if not len(idx):
            return
        a, e = a[idx], e[idx]
        # a quadratic curve bulging to the left (labels are on the right), 9 points
        t = np.linspace(0.0, 1.0, 9)
        x0, y0, x2, y2 = room.x[a], room.y[a], room.x[e], room.y[e]
        span = np.abs(y2 - y0)
        x1 = np.minimum(x0, x2) - 0.3 - np.minimum(span, 30) * 0.03
        y1 = (y0 + y2) / 2
        u = (1 - t)[None, :]
        tt = t[None, :]
        bx = u * u * x0[:, None] + 2 * u * tt * x1[:, None] + tt * tt * x2[:, None]
        by = u * u * y0[:, None] + 2 * u * tt * y1[:, None] + tt * tt * y2[:, None]
        pen = QPen(QColor(th.auth_edge), 0.9)
        pen.setCosmetic(True)
        painter.setPen(pen)
        faded = np.zeros(len(idx), dtype=bool) if fade is None else (fade[a] | fade[e])
        for mask, opacity in ((~faded, 0.75), (faded, th.fade_opacity * 0.6)):
            if mask.any():
                painter.setOpacity(opacity)
                painter.drawPath(_polylines(bx[mask] * sx + dx, by[mask] * sy + dy))
        painter.setOpacity(1.0)

    def _draw_nodes(
        self,
        painter: QPainter,
        room: _Room,
        rows: npt.NDArray[Any],
        px: F64,
        py: F64,
        size: float,
        th: Theme,
    ) -> None:
        if not len(rows):
            return
        shape = room.shape[rows]
        server = room.server[rows]
        bg = QColor(th.background)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        # forward extremities: a ring around the node
        ext = room.extremity[rows]
        if ext.any():
            _points(painter, px[ext], py[ext], size + 9, QColor(th.extremity), round_=True)
            _points(painter, px[ext], py[ext], size + 5, bg, round_=True)
        colours = [QColor(h) for h in room.server_hex]
        for s in np.unique(server):
            col = colours[s] if s >= 0 else QColor(th.missing)
            m = server == s
            for shp in (Shape.MESSAGE, Shape.STATE, Shape.MEMBERSHIP):
                k = m & (shape == shp)
                if not k.any():
                    continue
                if shp == Shape.MESSAGE:
                    _points(painter, px[k], py[k], size * 0.62, col, round_=True)
                elif shp == Shape.STATE:
                    _points(painter, px[k], py[k], size * 0.9, col, round_=False)
                else:
                    _points(painter, px[k], py[k], size, col, round_=True)
                    _points(painter, px[k], py[k], size * 0.45, bg, round_=True)
            k = m & ((shape == Shape.POWER) | (shape == Shape.CREATE))
            if k.any():
                painter.setPen(QPen(QColor(th.ink), 0.8))
                painter.setBrush(col)
                r = size * 0.72
                diamond = QPolygonF([QPointF(0, -r), QPointF(r, 0), QPointF(0, r), QPointF(-r, 0)])
                star = _star(size * 0.9)
                for x, y, shp in zip(px[k], py[k], shape[k], strict=True):
                    poly = star if shp == Shape.CREATE else diamond
                    painter.drawPolygon(poly.translated(float(x), float(y)))
                painter.setBrush(Qt.BrushStyle.NoBrush)
        miss = shape == Shape.MISSING
        if miss.any():
            pen = QPen(QColor(th.missing), 1.3)
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(bg)
            r = size * 0.55
            for x, y in zip(px[miss], py[miss], strict=True):
                painter.drawEllipse(QPointF(float(x), float(y)), r, r)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        soft = room.soft_failed[rows]
        if soft.any():
            pen = QPen(QColor(th.ink), 1.2)
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            r = size * 0.5 + 4
            for x, y in zip(px[soft], py[soft], strict=True):
                painter.drawEllipse(QPointF(float(x), float(y)), r, r)
        rej = room.rejected[rows]
        if rej.any():
            r = size * 0.55 + 1.5
            xs, ys = px[rej], py[rej]
            lx = np.stack([xs - r, xs + r, xs - r, xs + r], axis=1)
            ly = np.stack([ys - r, ys + r, ys + r, ys - r], axis=1)
            pen = QPen(QColor(th.rejected), 2.2)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.drawPath(_segments(lx, ly))

    def _draw_selection(
        self,
        painter: QPainter,
        room: _Room,
        r0: int,
        r1: int,
        sx: float,
        sy: float,
        dx: float,
        dy: float,
        th: Theme,
        size: float = 6.0,
    ) -> None:
        sel = [r for r in self._canvas._selected if r0 <= r <= r1]
        if not sel:
            return
        pen = QPen(QColor(th.selection), 2.0)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        rad = size * 0.5 + 6
        for r in sel:
            painter.drawEllipse(QPointF(room.x[r] * sx + dx, room.y[r] * sy + dy), rad, rad)
        hl = QColor(th.selection)
        hl.setAlphaF(0.08)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(hl)
        for r in sel:
            y = room.y[r] * sy + dy
            painter.drawRect(QRectF(-10, y - abs(sy) / 2, 1e5, abs(sy)))

    def _draw_labels(
        self,
        painter: QPainter,
        room: _Room,
        rows: npt.NDArray[Any],
        px: F64,
        py: F64,
        size: float,
        th: Theme,
        fade: npt.NDArray[np.bool_] | None,
        column: float,
    ) -> None:
        """Labels in a column right of the lanes in view (like a commit list), each
        joined to its node by a faint leader line."""
        painter.setFont(self.font)
        fm = QFontMetrics(self.font)
        ink, muted = QColor(th.ink), QColor(th.muted)
        leader = QColor(th.muted)
        leader.setAlphaF(0.35)
        leader_pen = QPen(leader, 1.0)
        leader_pen.setStyle(Qt.PenStyle.DotLine)
        h = fm.height()
        left = float(column) + size * 0.5 + 10
        # the legend floats over the top right corner: labels beside it stop short
        legend = self._canvas._legend
        g = legend.geometry() if legend.isVisible() else None
        for r, x, y in zip(rows.tolist(), px.tolist(), py.tolist(), strict=True):
            room_px = 320.0
            if g is not None and g.top() - h <= y <= g.bottom() + h:
                room_px = min(room_px, g.left() - left - 10)
            if room_px < 40:
                continue
            text = fm.elidedText(label_of(room, r), Qt.TextElideMode.ElideRight, int(room_px))
            painter.setOpacity(th.fade_opacity if fade is not None and fade[r] else 1.0)
            if left - x > size + 14:
                painter.setPen(leader_pen)
                painter.drawLine(QPointF(x + size * 0.5 + 5, y), QPointF(left - 5, y))
            painter.setPen(muted if room.layout.placeholder[r] else ink)
            painter.drawText(QPointF(left, y + fm.ascent() - h / 2), text)
        painter.setOpacity(1.0)


_T = np.array([0.2, 0.4, 0.6, 0.8, 1.0])
_S = _T * _T * (3 - 2 * _T)  # smoothstep: a lane change is an S, not a kink
_T0 = np.concatenate([[0.0], _T])
_S0 = np.concatenate([[0.0], _S])


def _edge_points(
    xp: F64,
    yp: F64,
    xc: F64,
    yc: F64,
    route: F64,
    up: npt.NDArray[np.bool_],
) -> tuple[F64, F64]:
    """Twelve points per edge: parent, an S into the ``route`` lane one row down, the
    run down that lane, an S into the child from the row above it.

    Where ``route`` is the child's lane the second S is straight, where it is the
    parent's lane the first is (see :mod:`app.layout.lanes`). Edges one row long go
    straight into the child; upward edges (cycles) are straight lines.
    """
    short = (yc - yp) < 2
    route = np.where(short, xc, route)
    ya = np.minimum(yp + 1, yc)
    yb = np.maximum(yc - 1, ya)
    s1x = xp[:, None] + (route - xp)[:, None] * _S
    s1y = yp[:, None] + (ya - yp)[:, None] * _T
    s2x = route[:, None] + (xc - route)[:, None] * _S0
    s2y = yb[:, None] + (yc - yb)[:, None] * _T0
    xs = np.concatenate([xp[:, None], s1x, s2x], axis=1)
    ys = np.concatenate([yp[:, None], s1y, s2y], axis=1)
    lin = np.linspace(0.0, 1.0, xs.shape[1])[None, :]
    ux = xp[:, None] + (xc - xp)[:, None] * lin
    uy = yp[:, None] + (yc - yp)[:, None] * lin
    xs = np.where(up[:, None], ux, xs)
    ys = np.where(up[:, None], uy, ys)
    return xs, ys


def _polylines(xs: F64, ys: F64) -> QPainterPath:
    """One path of many polylines (one per row of ``xs``/``ys``)."""
    k = xs.shape[1]
    connect = np.ones(xs.shape, dtype=np.int32)
    connect[:, k - 1] = 0
    path: QPainterPath = pg.arrayToQPath(xs.ravel(), ys.ravel(), connect=connect.ravel())
    return path


def _segments(xs: F64, ys: F64) -> QPainterPath:
    """Pairs of points as separate segments (columns 0-1, 2-3, ...)."""
    path: QPainterPath = pg.arrayToQPath(xs.ravel(), ys.ravel(), connect="pairs")
    return path


def _points(
    painter: QPainter, xs: F64, ys: F64, size: float, colour: QColor, *, round_: bool
) -> None:
    """Batched dots (round caps) or squares (square caps) of ``size`` pixels."""
    if not len(xs):
        return
    pen = QPen(colour, size)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap if round_ else Qt.PenCapStyle.SquareCap)
    painter.setPen(pen)
    poly = pg.functions.create_qpolygonf(len(xs))
    arr = pg.functions.ndarray_from_qpolygonf(poly)
    arr[:, 0] = xs
    arr[:, 1] = ys
    painter.drawPoints(poly)


def _star(r: float) -> QPolygonF:
    pts = []
    for k in range(10):
        a = -math.pi / 2 + k * math.pi / 5
        rad = r if k % 2 == 0 else r * 0.45
        pts.append(QPointF(rad * math.cos(a), rad * math.sin(a)))
    return QPolygonF(pts)


class _View(pg.ViewBox):  # type: ignore[misc]
    """The view box: clicks go to the canvas, the wheel zooms rows (lanes follow)."""

    def __init__(self, canvas: GraphCanvas) -> None:
        super().__init__(invertY=True, enableMenu=False)
        self._canvas = canvas

    def mouseClickEvent(self, ev: Any) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            if ev.double():
                return  # the canvas's event filter saw the double-click itself
            pos = self.mapSceneToView(ev.scenePos())
            self._canvas._clicked(pos, ev.modifiers(), False)
        else:
            super().mouseClickEvent(ev)

    def wheelEvent(self, ev: Any, axis: Any = None) -> None:
        delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
        factor = 1.0015 ** (-delta)
        centre = self.mapSceneToView(ev.scenePos())
        self._canvas._zoom(factor, centre)
        ev.accept()


class _Overlay(QWidget):
    """Legend (top left) of servers and shapes, painted with plain text."""

    def __init__(self, canvas: GraphCanvas) -> None:
        super().__init__(canvas)
        self._canvas = canvas
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.font_ = QFont("DejaVu Sans", 8)
        self.bold_ = QFont("DejaVu Sans", 8)
        self.bold_.setBold(True)
        self._cache: tuple[tuple[int, str, int, int], QPixmap] | None = None

    def sizeHint(self) -> QSize:
        room = self._canvas._room
        fm = QFontMetrics(self.font_)
        bold = QFontMetrics(self.bold_)
        lines = self._lines()
        w = (
            max(
                [(bold if kind == "title" else fm).horizontalAdvance(t) for t, _, kind in lines]
                + [60]
            )
            + 34
        )
        h = (fm.height() + 3) * len(lines) + 12
        return QSize(min(w, 440), h if room is not None else 0)

    def _lines(self) -> list[tuple[str, QColor | None, str]]:
        """(text, swatch colour, kind) per line; kind is "title", "server" or "note"."""
        room = self._canvas._room
        if room is None:
            return []
        fm = QFontMetrics(self.font_)

        def fit(text: str) -> str:
            return fm.elidedText(text, Qt.TextElideMode.ElideMiddle, 270)

        out: list[tuple[str, QColor | None, str]] = []
        graph = room.graph
        room_id = getattr(graph, "room_id", None)
        version = getattr(getattr(graph, "room_version", None), "identifier", None)
        title = [fit(room_id)] if isinstance(room_id, str) else []
        if isinstance(version, str):
            title.append(f"v{version[:12]}")
        present = int((~room.layout.placeholder).sum())
        title.append(f"{present:,} events")
        bold = QFontMetrics(self.bold_)
        heading = bold.elidedText("  ·  ".join(title), Qt.TextElideMode.ElideMiddle, 400)
        out.append((heading, None, "title"))
        missing = int(room.layout.placeholder.sum())
        notes = [f"{len(room.forks):,} forks", f"{len(room.merges):,} merges"]
        if missing:
            notes.append(f"{missing:,} missing")
        out.append(("  ·  ".join(notes), None, "note"))
        shown = min(len(room.servers), 8)
        for i in range(shown):
            text = f"{fit(room.servers[i])}  {int(room.server_count[i]):,}"
            out.append((text, QColor(room.server_hex[i]), "server"))
        if len(room.servers) > shown:
            rest = int(room.server_count[shown:].sum())
            text = f"{len(room.servers) - shown} more servers  {rest:,}"
            out.append((text, QColor(OTHER_SERVERS), "server"))
        kinds = [Shape.MESSAGE, Shape.STATE, Shape.POWER, Shape.MEMBERSHIP, Shape.CREATE]
        out.append(
            ("  ".join(f"{SHAPE_GLYPH[k]} {SHAPE_NAME[k]}" for k in kinds[:3]), None, "note")
        )
        out.append(
            ("  ".join(f"{SHAPE_GLYPH[k]} {SHAPE_NAME[k]}" for k in kinds[3:]), None, "note")
        )
        return out

    def paintEvent(self, event: QPaintEvent) -> None:
        room = self._canvas._room
        if room is None:
            return
        p = QPainter(self)
        try:
            if self._canvas._exporting:  # vector output: draw it, do not blit a pixmap
                self._paint(p)
                return
            key = (id(room), self._canvas.theme.name, self.width(), self.height())
            if self._cache is None or self._cache[0] != key:
                pix = QPixmap(self.size())
                pix.fill(Qt.GlobalColor.transparent)
                q = QPainter(pix)
                try:
                    self._paint(q)
                finally:
                    q.end()
                self._cache = (key, pix)
            p.drawPixmap(0, 0, self._cache[1])
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        th = self._canvas.theme
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        bg = QColor(th.panel)
        bg.setAlphaF(0.9)
        p.setPen(QPen(QColor(th.lane), 1))
        p.setBrush(bg)
        p.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        p.setFont(self.font_)
        fm = QFontMetrics(self.font_)
        y = 8
        for text, colour, kind in self._lines():
            if colour is not None:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(colour)
                p.drawEllipse(QPointF(15, y + fm.height() / 2), 5, 5)
                p.setPen(QColor(th.ink))
                p.drawText(QPointF(27, y + fm.ascent()), text)
            elif kind == "title":
                p.setFont(self.bold_)
                p.setPen(QColor(th.ink))
                p.drawText(QPointF(9, y + fm.ascent()), text)
                p.setFont(self.font_)
            else:
                p.setPen(QColor(th.muted))
                p.drawText(QPointF(9, y + fm.ascent()), text)
            y += fm.height() + 3


class _Minimap(QWidget):
    """The whole room as a density strip; the visible part is boxed; click to go."""

    def __init__(self, canvas: GraphCanvas) -> None:
        super().__init__(canvas)
        self._canvas = canvas
        self._cache: tuple[tuple[int, str, int, int], QPixmap] | None = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def paintEvent(self, event: QPaintEvent) -> None:
        room = self._canvas._room
        if room is None or room.n == 0:
            return
        p = QPainter(self)
        try:
            self._paint(p, room)
        finally:
            p.end()

    def _paint(self, p: QPainter, room: _Room) -> None:
        canvas = self._canvas
        th = canvas.theme
        key = (id(room), th.name, self.width(), self.height())
        if self._cache is None or self._cache[0] != key:
            pix = QPixmap(self.size())
            pix.fill(Qt.GlobalColor.transparent)
            q = QPainter(pix)
            try:
                bg = QColor(th.panel)
                bg.setAlphaF(0.92)
                q.fillRect(pix.rect(), bg)
                q.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                q.drawImage(QRectF(pix.rect()).adjusted(3, 3, -3, -3), canvas._item.density_image())
            finally:
                q.end()
            self._cache = (key, pix)
        p.drawPixmap(0, 0, self._cache[1])
        h = self.height() - 6
        # highlighted and selected events as ticks, so they can be found in a big room
        for rows, colour in (
            (
                np.flatnonzero(~canvas._fade_mask)[:5000]
                if canvas._fade_mask is not None
                else np.zeros(0, dtype=np.int64),
                QColor(th.highlight),
            ),
            (np.array(canvas._selected[-200:], dtype=np.int64), QColor(th.selection)),
        ):
            if len(rows):
                ys = 3 + h * (rows + 0.5) / room.n
                xs0 = np.zeros(len(ys))
                xs1 = np.full(len(ys), float(self.width()))
                p.setPen(QPen(colour, 2))
                p.drawPath(_segments(np.stack([xs0, xs1], axis=1), np.stack([ys, ys], axis=1)))
        vr = canvas._view.viewRect()
        top = 3 + h * max(0.0, vr.top()) / room.n
        bottom = 3 + h * min(float(room.n), vr.bottom()) / room.n
        box = QColor(th.ink)
        box.setAlphaF(0.15)
        p.fillRect(QRectF(0, top, self.width(), max(3.0, bottom - top)), box)
        p.setPen(QPen(QColor(th.ink), 1))
        p.drawRect(QRectF(0.5, top, self.width() - 1, max(3.0, bottom - top)))

    def _go(self, y: float) -> None:
        room = self._canvas._room
        if room is None:
            return
        row = (y - 3) / max(1, self.height() - 6) * room.n
        self._canvas._centre_row(int(np.clip(row, 0, room.n - 1)), keep_x=True)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._go(event.position().y())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._go(event.position().y())


class GraphCanvas(QWidget):
    """The event graph view; see the module docstring for the API."""

    selectionChanged = Signal(list)
    activated = Signal(str)
    searchRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme: Theme = _theme("light")
        self._room: _Room | None = None
        self._selected: list[int] = []
        self._fade_mask: npt.NDArray[np.bool_] | None = None
        self._show_auth = False
        self._minimap_enabled = True
        self._exporting = False
        self._graphics = pg.GraphicsView(self)
        self._graphics.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._view = _View(self)
        self._graphics.setCentralItem(self._view)
        self._view.setMouseEnabled(x=True, y=True)
        self._item = _GraphItem(self)
        self._view.addItem(self._item)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._graphics)
        self._legend = _Overlay(self)
        self._minimap = _Minimap(self)
        self._tip = QLabel(self)
        self._tip.setTextFormat(Qt.TextFormat.PlainText)
        self._tip.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self._tip.hide()
        self._view.sigRangeChanged.connect(self._range_changed)
        self._graphics.scene().sigMouseMoved.connect(self._hover)
        self._graphics.viewport().installEventFilter(self)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 150)
        self._apply_theme()

    # ------------------------------------------------------------ public API

    def set_room(
        self,
        graph: Any,
        *,
        rejected: Collection[str] = frozenset(),
        soft_failed: Collection[str] = frozenset(),
    ) -> None:
        """Show ``graph``; keeps the old placement when the room only grew."""
        events = events_of(graph)
        if self._room is not None and events is self._room.events:
            # the same room again (say, with auth results): keep layout, view and selection
            self.set_layout(
                graph,
                self._room.layout,
                rejected=rejected,
                soft_failed=soft_failed,
                keep_view=True,
            )
            return
        previous = self._room.layout if self._room is not None else None
        if previous is not None and not all(
            (e in events) or previous.placeholder[i] for i, e in enumerate(previous.ids)
        ):
            previous = None
        keep_view = previous is not None
        layout = compute_layout(events, previous=previous)
        self.set_layout(
            graph, layout, rejected=rejected, soft_failed=soft_failed, keep_view=keep_view
        )

    def set_layout(
        self,
        graph: Any,
        layout: Layout,
        *,
        rejected: Collection[str] = frozenset(),
        soft_failed: Collection[str] = frozenset(),
        keep_view: bool = False,
    ) -> None:
        """Show ``graph`` with a layout computed elsewhere (e.g. off the UI thread)."""
        old_ids = [self._room.layout.ids[r] for r in self._selected] if self._room else []
        old_rect = self._view.viewRect()
        shift = 0
        if keep_view and self._room is not None and self._room.n and len(layout):
            first = self._room.layout.ids[0]
            if first in layout.index:
                shift = layout.index[first] - self._room.layout.index[first]
        self._room = _Room(graph, layout, rejected, soft_failed, self.theme.palette)
        self._fade_mask = None
        self._selected = [layout.index[e] for e in old_ids if e in layout.index]
        self._item.set_room(self._room)
        self._minimap.setVisible(self._minimap_enabled and layout.row_count > 60)
        self._minimap.setVisible(self._minimap_enabled and layout.row_count > 60)
        self._place_overlays()
        if keep_view:
            self._view.setRange(old_rect.translated(0, shift), padding=0)
        else:
            self._initial_view()
        self._legend.update()
        self._minimap.update()

    def set_status(
        self,
        *,
        rejected: Collection[str] | None = None,
        soft_failed: Collection[str] | None = None,
    ) -> None:
        """Replace the rejected / soft-failed overlays (None leaves one as it is)."""
        if self._room is not None:
            self._room.set_status(rejected, soft_failed)
            self._item.update()

    def set_legend_visible(self, visible: bool) -> None:
        """Show or hide the legend of servers and shapes (shown by default)."""
        self._legend.setVisible(bool(visible))
        self._item.update()

    def set_minimap_enabled(self, enabled: bool) -> None:
        """Show the overview strip for big rooms (on by default)."""
        self._minimap_enabled = bool(enabled)
        room = self._room
        self._minimap.setVisible(self._minimap_enabled and room is not None and room.n > 60)
        self._place_overlays()

    def graph_layout(self) -> Layout | None:
        return self._room.layout if self._room is not None else None

    def select(self, ids: Iterable[str], *, centre: bool = False) -> None:
        """Select ``ids`` (unknown IDs are ignored); the last is the primary one."""
        room = self._room
        if room is None:
            return
        rows = [room.layout.index[e] for e in ids if e in room.layout.index]
        self._set_selection(rows)
        if centre and rows:
            self._centre_row(rows[-1])

    def selected(self) -> tuple[str, ...]:
        room = self._room
        if room is None:
            return ()
        return tuple(room.layout.ids[r] for r in self._selected)

    def highlight(self, ids: Collection[str] | None, *, fade_others: bool = True) -> None:
        """Emphasise ``ids``; with ``fade_others`` everything else fades. None clears."""
        room = self._room
        if room is None:
            return
        if ids is None or not fade_others:
            self._fade_mask = None
        else:
            mask = np.ones(room.n, dtype=bool)
            mask[[room.layout.index[e] for e in ids if e in room.layout.index]] = False
            self._fade_mask = mask
        self._item.update()
        self._minimap.update()

    def set_show_auth_edges(self, show: bool) -> None:
        self._show_auth = bool(show)
        self._item.update()

    def show_auth_edges(self) -> bool:
        return self._show_auth

    def set_theme(self, name: str) -> None:
        """Switch to the "light" or "dark" theme."""
        self.theme = _theme(name)
        self._apply_theme()

    def zoom_in(self) -> None:
        self._zoom(1 / 1.4, None)

    def zoom_out(self) -> None:
        self._zoom(1.4, None)

    def zoom_to_fit(self) -> None:
        """Show the whole room (rows compress; lanes fit the width)."""
        room = self._room
        if room is None or room.n == 0:
            return
        self._set_view(-1.0, room.n + 0.0, None, least_lane_px=0.05)

    def centre_on(self, event_id: str) -> None:
        room = self._room
        if room is not None and event_id in room.layout.index:
            self._centre_row(room.layout.index[event_id])

    def find(self, text: str) -> list[str]:  # type: ignore[override]
        """IDs of events whose ID, type, state key, sender or content contains ``text``."""
        room = self._room
        needle = text.strip().lower()
        if room is None or not needle:
            return []
        hay = room.haystack()
        return [room.layout.ids[i] for i, h in enumerate(hay) if needle in h]

    def export_image(self, path: str | Path) -> None:
        """Write the current view to ``path``: SVG if it ends in .svg, else PNG."""
        path = Path(path)
        self._exporting = True
        try:
            self._export(path)
        finally:
            self._exporting = False

    def _export(self, path: Path) -> None:
        if path.suffix.lower() == ".svg":
            from PySide6.QtSvg import QSvgGenerator

            gen = QSvgGenerator()
            gen.setFileName(str(path))
            size = self.size()
            gen.setSize(size)
            gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
            gen.setTitle("roomscope event graph")
            painter = QPainter(gen)
            self.render(painter, QPoint())
            painter.end()
        else:
            if not self.grab().save(str(path), "PNG"):
                raise OSError(f"could not write {path}")

    # ------------------------------------------------------------ geometry helpers

    def node_position(self, event_id: str) -> QPoint:
        """Where ``event_id`` is drawn, in this widget's coordinates (for tests)."""
        room = self._room
        assert room is not None
        r = room.layout.index[event_id]
        scene = self._view.mapViewToScene(QPointF(room.x[r], room.y[r]))
        point: QPoint = self._graphics.mapTo(self, self._graphics.mapFromScene(scene))
        return point

    def hit_test(self, scene_or_view: QPointF, *, view_coords: bool = True) -> int | None:
        """The row of the node under a point (view coordinates), or None."""
        room = self._room
        if room is None or room.n == 0:
            return None
        pos = scene_or_view
        vx, vy = pos.x(), pos.y()
        sx, sy = self._scale()
        radius_px = max(9.0, min(sy, sx) * 0.45)
        k = int(min(60, math.ceil(radius_px / max(sy, 1e-6))))
        r = round(vy)
        lo, hi = max(0, r - k), min(room.n - 1, r + k)
        if hi < lo:
            return None
        rows = np.arange(lo, hi + 1)
        d2 = ((room.x[rows] - vx) * sx) ** 2 + ((room.y[rows] - vy) * sy) ** 2
        j = int(np.argmin(d2))
        return int(rows[j]) if d2[j] <= radius_px**2 else None

    def _scale(self) -> tuple[float, float]:
        """Pixels per lane and per row."""
        vr = self._view.viewRect()
        g = self._view.sceneBoundingRect()
        if vr.width() <= 0 or vr.height() <= 0:
            return 1.0, 1.0
        return g.width() / vr.width(), g.height() / vr.height()

    def _lane_px(self, row_px: float, width_px: float, *, least: float = 3.0) -> float:
        """Lanes share the width (leaving room for labels when they are drawn)."""
        room = self._room
        lanes = max(1, room.layout.lane_count if room else 1)
        spare = 300.0 if row_px >= LABELS_FROM_PX else 90.0
        fit = (width_px - spare) / (lanes + 1)
        return float(min(MAX_LANE_PX, max(fit, least)))

    def _set_view(
        self, top: float, bottom: float, centre_x: float | None, *, least_lane_px: float = 3.0
    ) -> None:
        room = self._room
        g = self._view.sceneBoundingRect()
        width_px = max(50.0, g.width())
        height_px = max(50.0, g.height())
        row_px = height_px / max(1e-6, bottom - top)
        lane_px = self._lane_px(row_px, width_px, least=least_lane_px)
        span_x = width_px / lane_px
        lanes = room.layout.lane_count if room else 1
        if centre_x is None or span_x >= lanes + 1:
            left = -1.0 if span_x >= lanes + 1 else -0.8
        else:
            left = centre_x - span_x / 2
        left = min(max(left, -1.0), max(-1.0, lanes - span_x + 0.5))
        # keep the room in view: no empty screen above the create event or below the
        # newest event, unless the whole room is smaller than the view
        rows = room.n if room else 0
        span_y = bottom - top
        top = -1.0 if span_y >= rows + 1.5 else min(max(top, -1.0), rows + 0.5 - span_y)
        self._view.setRange(
            xRange=(left, left + span_x), yRange=(top, top + span_y), padding=0, update=True
        )

    def _zoom(self, factor: float, centre: QPointF | None) -> None:
        room = self._room
        if room is None:
            return
        vr = self._view.viewRect()
        cy = centre.y() if centre is not None else vr.center().y()
        cx = centre.x() if centre is not None else vr.center().x()
        h = vr.height() * factor
        g = self._view.sceneBoundingRect()
        most = max(room.n * 1.2 + 4, g.height() / COMFORT_ROW_PX * 1.25)
        h = float(np.clip(h, max(3.0, g.height() / 90.0), most))
        frac = (cy - vr.top()) / vr.height() if vr.height() else 0.5
        top = cy - frac * h
        self._set_view(top, top + h, cx)

    def _initial_view(self) -> None:
        """Fit small rooms; show the newest events of big ones at a readable zoom."""
        room = self._room
        if room is None or room.n == 0:
            return
        g = self._view.sceneBoundingRect()
        height_px = max(100.0, g.height())
        rows_fit = height_px / COMFORT_ROW_PX
        if room.n <= rows_fit * 1.6:
            top = -1.0
            bottom = max(room.n + 0.0, rows_fit - 1.0)
            self._set_view(top, bottom, None)
        else:
            bottom = room.n + 0.5
            self._set_view(bottom - rows_fit, bottom, float(room.x[-1]))

    def _centre_row(self, row: int, *, keep_x: bool = False) -> None:
        room = self._room
        if room is None:
            return
        vr = self._view.viewRect()
        h = vr.height()
        if h <= 0 or h > room.n * 1.2 + 4 or h < 3:
            h = min(self._view.sceneBoundingRect().height() / COMFORT_ROW_PX, room.n + 2.0)
        top = row - h / 2
        self._set_view(top, top + h, vr.center().x() if keep_x else float(room.x[row]))

    # ------------------------------------------------------------ events

    def _range_changed(self, *_: Any) -> None:
        self._minimap.update()

    def _place_overlays(self) -> None:
        hint = self._legend.sizeHint()
        mm_w = 46
        right = self.width() - 10 - (mm_w + 10 if self._minimap.isVisibleTo(self) else 0)
        self._legend.setGeometry(right - hint.width(), 10, hint.width(), hint.height())
        self._minimap.setGeometry(self.width() - mm_w - 10, 10, mm_w, max(40, self.height() - 20))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_overlays()

    def _apply_theme(self) -> None:
        self._graphics.setBackground(QColor(self.theme.background))
        if self._room is not None:
            self._room.set_palette(self.theme.palette)
        th = self.theme
        self._tip.setStyleSheet(
            f"QLabel {{ background: {th.panel}; color: {th.ink}; border: 1px solid {th.muted};"
            " padding: 4px; font-family: 'DejaVu Sans'; font-size: 8pt; }"
        )
        self._item._density_cache = {}
        self._item.update()
        self._legend.update()
        self._minimap.update()

    def _clicked(self, pos: QPointF, modifiers: Any, double: bool) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        row = self.hit_test(pos)
        room = self._room
        if room is None:
            return
        if row is None:
            if not (modifiers & Qt.KeyboardModifier.ShiftModifier) and not double:
                self._set_selection([])
            return
        if double:
            self._set_selection([row])
            self._centre_row(row)
            self.activated.emit(room.layout.ids[row])
            return
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            rows = [r for r in self._selected if r != row] + [row]
            self._set_selection(rows)
        else:
            self._set_selection([row])

    def eventFilter(self, watched: Any, event: Any) -> bool:
        """Double-clicks on the view, straight from Qt (pyqtgraph reports them late)."""
        if (
            event.type() == QEvent.Type.MouseButtonDblClick
            and event.button() == Qt.MouseButton.LeftButton
        ):
            scene = self._graphics.mapToScene(event.position().toPoint())
            self._clicked(self._view.mapSceneToView(scene), event.modifiers(), True)
            return True
        return False

    def _set_selection(self, rows: list[int]) -> None:
        if rows == self._selected:
            return
        self._selected = rows
        self._item.update()
        self._minimap.update()
        room = self._room
        ids = [room.layout.ids[r] for r in rows] if room is not None else []
        self.selectionChanged.emit(ids)

    def _hover(self, scene_pos: QPointF) -> None:
        room = self._room
        if room is None:
            return
        pos = self._view.mapSceneToView(scene_pos)
        row = self.hit_test(pos)
        if row is None:
            self._tip.hide()
            return
        self._tip.setText(describe(room, row))
        self._tip.adjustSize()
        local = self._graphics.mapTo(self, self._graphics.mapFromScene(scene_pos))
        x = min(local.x() + 16, self.width() - self._tip.width() - 4)
        y = min(local.y() + 16, self.height() - self._tip.height() - 4)
        self._tip.move(max(0, x), max(0, y))
        self._tip.show()
        self._tip.raise_()

    def leaveEvent(self, event: Any) -> None:
        self._tip.hide()
        super().leaveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        room = self._room
        key = event.key()
        text = event.text()
        if room is None or room.n == 0:
            super().keyPressEvent(event)
            return
        cur = self._selected[-1] if self._selected else None
        target: int | None = None
        K = Qt.Key
        if key == K.Key_Home:
            target = room.create_row
        elif key == K.Key_End:
            ext = np.flatnonzero(room.extremity).tolist()
            if ext:
                self._set_selection(ext)
                self._centre_row(ext[-1])
            event.accept()
            return
        elif text == "/":
            self.searchRequested.emit()
        elif text in "+=" and text:
            self.zoom_in()
        elif text == "-":
            self.zoom_out()
        elif text == "0":
            self.zoom_to_fit()
        elif key == K.Key_Escape:
            self._set_selection([])
        elif cur is None and key in (
            K.Key_Up,
            K.Key_Down,
            K.Key_Left,
            K.Key_Right,
        ):
            target = room.n - 1
        elif cur is None and text in ("[", "]", "{", "}"):
            target = self._jump(text, room.create_row)
        elif key == K.Key_Up:
            target = self._along_lane(cur, room.parents_of, up=True)
        elif key == K.Key_Down:
            target = self._along_lane(cur, room.children_of, up=False)
        elif key in (K.Key_Left, K.Key_Right):
            target = self._across(cur, -1 if key == K.Key_Left else 1)
        elif text in ("[", "]", "{", "}") and cur is not None:
            target = self._jump(text, cur)
        else:
            super().keyPressEvent(event)
            return
        if target is not None:
            self._set_selection([target])
            self._ensure_visible(target)
        event.accept()

    def _along_lane(
        self, row: int | None, csr: tuple[npt.NDArray[Any], npt.NDArray[Any]], *, up: bool
    ) -> int | None:
        room = self._room
        if room is None or row is None:
            return None
        cands = _neighbours(csr, row)
        if not cands:
            return None
        lane = room.layout.x[row]
        same = [c for c in cands if room.layout.x[c] == lane]
        pool = same or cands
        # the nearest one in rows
        return max(pool) if up else min(pool)

    def _across(self, row: int | None, step: int) -> int | None:
        room = self._room
        if room is None or row is None:
            return None
        lane = int(room.layout.x[row]) + step
        while 0 <= lane < room.layout.lane_count:
            rows = room.lane_rows[lane]
            if len(rows):
                j = int(np.searchsorted(rows, row))
                best = [int(rows[k]) for k in (j - 1, j) if 0 <= k < len(rows)]
                return min(best, key=lambda r: (abs(r - row), r))
            lane += step
        return None

    def _jump(self, key: str, row: int) -> int | None:
        room = self._room
        if room is None:
            return None
        arr = room.forks if key in "[]" else room.merges
        if not len(arr):
            return None
        if key in "]}":
            j = int(np.searchsorted(arr, row, side="right"))
            return int(arr[j]) if j < len(arr) else None
        j = int(np.searchsorted(arr, row, side="left")) - 1
        return int(arr[j]) if j >= 0 else None

    def _ensure_visible(self, row: int) -> None:
        room = self._room
        if room is None:
            return
        vr = self._view.viewRect()
        x = float(room.x[row])
        if not (vr.top() + 1 <= row <= vr.bottom() - 1 and vr.left() <= x <= vr.right()):
            self._centre_row(row)
