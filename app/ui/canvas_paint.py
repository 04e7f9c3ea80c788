"""The canvas's graphics item: paints the visible rows of the graph with QPainter.

Part of :mod:`app.ui.canvas` (see its docstring for how and why it draws this
way, and benchmarks/bench_canvas.py for the figures).
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)

from app.ui.canvas_model import DENSITY_BELOW_PX, F64, LABELS_FROM_PX, CanvasRoom, label_of
from app.ui.style import Shape, Theme

if TYPE_CHECKING:  # the widget imports this module
    from app.ui.canvas import GraphCanvas

__all__ = ["GraphItem", "edge_points", "points", "polylines", "segments"]


class _Frame(NamedTuple):
    """What every drawing step of one paint needs: the room, the rows in view
    (``r0``..``r1``), the scene-to-pixel transform (``x * sx + dx``, ``y * sy + dy``)
    and the theme."""

    room: CanvasRoom
    r0: int
    r1: int
    sx: float
    sy: float
    dx: float
    dy: float
    th: Theme


class GraphItem(pg.GraphicsObject):  # type: ignore[misc]
    """Paints the visible part of the graph; see the module docstring."""

    def __init__(self, canvas: GraphCanvas) -> None:
        super().__init__()
        self._canvas = canvas
        self.room: CanvasRoom | None = None
        self._density_cache: dict[int, tuple[QImage, npt.NDArray[np.uint8], int]] = {}
        self.font = QFont("DejaVu Sans", 8)
        self._max_route = 0.0
        self.last_stats: dict[str, int] = {}

    def set_room(self, room: CanvasRoom | None) -> None:
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
        frame = _Frame(room, r0, r1, sx, sy, dx, dy, th)
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
                    points(painter, xs, ys, 7.0, QColor(th.highlight), round_=True)
                    colours = [QColor(h) for h in room.server_hex]
                    srv = room.server[lit]
                    for k in np.unique(srv):
                        m = srv == k
                        col = colours[k] if k >= 0 else QColor(th.missing)
                        points(painter, xs[m], ys[m], 4.0, col, round_=True)
            self._draw_selection(painter, frame)
            self.last_stats = stats
            painter.restore()
            return
        size = float(np.clip(min(abs(sy), abs(sx)) * 0.5, 3.0, 15.0))
        rows = np.arange(r0, r1 + 1)
        px = room.x[rows] * sx + dx
        py = room.y[rows] * sy + dy
        fade = canvas._fade_mask
        stats["edges"] = self._draw_edges(painter, frame, fade)
        if canvas._show_auth:
            self._draw_auth(painter, frame, fade)
        if fade is not None:
            f = fade[rows]
            painter.setOpacity(th.fade_opacity)
            self._draw_nodes(painter, room, rows[f], px[f], py[f], size, th)
            painter.setOpacity(1.0)
            keep = ~f
            self._draw_nodes(painter, room, rows[keep], px[keep], py[keep], size, th)
        else:
            self._draw_nodes(painter, room, rows, px, py, size, th)
        self._draw_selection(painter, frame, size)
        if abs(sy) >= LABELS_FROM_PX and len(rows) <= 400:
            lanes_in_view = max(float(room.x[rows].max()), self._max_route)
            column = lanes_in_view * sx + dx
            self._draw_labels(painter, room, rows, px, py, size, th, fade, column)
        stats["mode"] = 1 if abs(sy) >= LABELS_FROM_PX else 0
        self.last_stats = stats
        painter.restore()

    def _draw_edges(
        self, painter: QPainter, frame: _Frame, fade: npt.NDArray[np.bool_] | None
    ) -> int:
        room, r0, r1, sx, sy, dx, dy, th = frame
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
        pts_x, pts_y = edge_points(xp, yp, xc, yc, route, up)
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
            painter.drawPath(polylines(pts_x[mask], pts_y[mask]))
        painter.setOpacity(1.0)
        return len(idx)

    def _draw_auth(
        self, painter: QPainter, frame: _Frame, fade: npt.NDArray[np.bool_] | None
    ) -> None:
        room, r0, r1, sx, sy, dx, dy, th = frame
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
                painter.drawPath(polylines(bx[mask] * sx + dx, by[mask] * sy + dy))
        painter.setOpacity(1.0)

    def _draw_nodes(
        self,
        painter: QPainter,
        room: CanvasRoom,
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
            points(painter, px[ext], py[ext], size + 9, QColor(th.extremity), round_=True)
            points(painter, px[ext], py[ext], size + 5, bg, round_=True)
        colours = [QColor(h) for h in room.server_hex]
        for s in np.unique(server):
            col = colours[s] if s >= 0 else QColor(th.missing)
            m = server == s
            for shp in (Shape.MESSAGE, Shape.STATE, Shape.MEMBERSHIP):
                k = m & (shape == shp)
                if not k.any():
                    continue
                if shp == Shape.MESSAGE:
                    points(painter, px[k], py[k], size * 0.62, col, round_=True)
                elif shp == Shape.STATE:
                    points(painter, px[k], py[k], size * 0.9, col, round_=False)
                else:
                    points(painter, px[k], py[k], size, col, round_=True)
                    points(painter, px[k], py[k], size * 0.45, bg, round_=True)
            k = m & ((shape == Shape.POWER) | (shape == Shape.CREATE))
            if k.any():
                painter.setPen(QPen(QColor(th.ink), 0.8))
                painter.setBrush(col)
                r = size * 0.72
                diamond = QPolygonF([QPointF(0, -r), QPointF(r, 0), QPointF(0, r), QPointF(-r, 0)])
                star = star_polygon(size * 0.9)
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
            painter.drawPath(segments(lx, ly))

    def _draw_selection(self, painter: QPainter, frame: _Frame, size: float = 6.0) -> None:
        room, r0, r1, sx, sy, dx, dy, th = frame
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
        room: CanvasRoom,
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


def edge_points(
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


def polylines(xs: F64, ys: F64) -> QPainterPath:
    """One path of many polylines (one per row of ``xs``/``ys``)."""
    k = xs.shape[1]
    connect = np.ones(xs.shape, dtype=np.int32)
    connect[:, k - 1] = 0
    path: QPainterPath = pg.arrayToQPath(xs.ravel(), ys.ravel(), connect=connect.ravel())
    return path


def segments(xs: F64, ys: F64) -> QPainterPath:
    """Pairs of points as separate segments (columns 0-1, 2-3, ...)."""
    path: QPainterPath = pg.arrayToQPath(xs.ravel(), ys.ravel(), connect="pairs")
    return path


def points(
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


def star_polygon(r: float) -> QPolygonF:
    pts = []
    for k in range(10):
        a = -math.pi / 2 + k * math.pi / 5
        rad = r if k % 2 == 0 else r * 0.45
        pts.append(QPointF(rad * math.cos(a), rad * math.sin(a)))
    return QPolygonF(pts)
