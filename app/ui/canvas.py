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
* ``highlight(ids | None, *, fade_others=True, owner="view")`` — emphasise ``ids``
  (the resolution stepper's current step), fading the rest; ``None`` takes back that
  owner's highlight only; ``clear_highlight(owner)``, ``highlighted() -> frozenset | None``.
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
  (0.35 s of CPU for 100k events; about 0.5 s to extend a 90k layout by 10k).
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

import math
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QPainter,
    QResizeEvent,
)
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.layout.lanes import Layout, compute_layout, events_of
from app.ui.canvas_model import (
    COMFORT_ROW_PX,
    LABELS_FROM_PX,
    MAX_LANE_PX,
    CanvasRoom,
    describe,
    label_of,
    neighbours,
)
from app.ui.canvas_overlays import Legend, Minimap
from app.ui.canvas_paint import GraphItem
from app.ui.style import Theme
from app.ui.style import theme as _theme

__all__ = ["GraphCanvas", "describe", "label_of"]


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


class GraphCanvas(QWidget):
    """The event graph view; see the module docstring for the API."""

    selectionChanged = Signal(list)
    activated = Signal(str)
    searchRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme: Theme = _theme("light")
        self._room: CanvasRoom | None = None
        self._selected: list[int] = []
        self._fade_mask: npt.NDArray[np.bool_] | None = None
        #: Who lit what, oldest first: the last one is what the graph shows (see highlight).
        self._highlights: dict[str, frozenset[str]] = {}
        self._show_auth = False
        self._minimap_enabled = True
        self._exporting = False
        self._graphics = pg.GraphicsView(self)
        self._graphics.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._view = _View(self)
        self._graphics.setCentralItem(self._view)
        self._view.setMouseEnabled(x=True, y=True)
        self._item = GraphItem(self)
        self._view.addItem(self._item)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._graphics)
        self._legend = Legend(self)
        self._minimap = Minimap(self)
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
        model: CanvasRoom | None = None,
    ) -> None:
        """Show ``graph`` with a layout computed elsewhere (e.g. off the UI thread).

        ``model``: the :class:`CanvasRoom` of this graph and layout, built off the UI
        thread too (it is plain data); only recoloured and flagged here.
        """
        old_ids = [self._room.layout.ids[r] for r in self._selected] if self._room else []
        old_rect = self._view.viewRect()
        shift = 0
        if keep_view and self._room is not None and self._room.n and len(layout):
            # follow the event nearest the middle of the view (rows above it may
            # have been added, or placeholders above it may have left)
            old = self._room.layout
            middle = int(np.clip(round(old_rect.center().y()), 0, old.row_count - 1))
            near = (middle + d * sign for d in range(64) for sign in (-1, 1))
            for r in near:
                if 0 <= r < old.row_count and not old.placeholder[r] and old.ids[r] in layout.index:
                    shift = layout.index[old.ids[r]] - r
                    break
        if model is not None and model.layout is layout:
            model.set_palette(self.theme.palette)
            model.set_status(rejected, soft_failed)
            self._room = model
        else:
            self._room = CanvasRoom(graph, layout, rejected, soft_failed, self.theme.palette)
        self._fade_mask = None
        self._highlights.clear()
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

    def highlight(
        self, ids: Collection[str] | None, *, fade_others: bool = True, owner: str = "view"
    ) -> None:
        """Emphasise ``ids`` for ``owner``; everything else fades.

        Several panels light the graph (the stepper, the servers dock, search, replay...),
        so each highlight belongs to an ``owner``: the most recent one is shown, and
        ``ids=None`` (or ``fade_others=False``) takes back only that owner's highlight,
        showing the one beneath it again. Hiding the servers dock thus leaves the stepper's
        fading as it was.
        """
        self._highlights.pop(owner, None)
        if ids is not None and fade_others:
            self._highlights[owner] = frozenset(ids)
        self._apply_highlight()

    def clear_highlight(self, owner: str = "view") -> None:
        """Take back ``owner``'s highlight (others' stay)."""
        self.highlight(None, owner=owner)

    def highlighted(self) -> frozenset[str] | None:
        """The events shown unfaded (those of the room), or None when nothing is faded."""
        room = self._room
        mask = self._fade_mask
        if room is None or mask is None:
            return None
        ids = room.layout.ids
        return frozenset(ids[int(r)] for r in np.flatnonzero(~mask))

    def highlight_owner(self) -> str | None:
        """Whose highlight the graph shows (None: nothing is faded)."""
        return next(reversed(self._highlights), None)

    def _apply_highlight(self) -> None:
        room = self._room
        if room is None:
            return
        owner = self.highlight_owner()
        if owner is None:
            self._fade_mask = None
        else:
            mask = np.ones(room.n, dtype=bool)
            index = room.layout.index
            mask[[index[e] for e in self._highlights[owner] if e in index]] = False
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
        # pyqtgraph applies the new range to the scene's transform only when it is about
        # to paint, which marks the scene dirty again and costs a second paint of the
        # whole graph right after the first (each stepper step centres the view): applied
        # now, the change and the highlight that came with it are painted once.
        self._view.updateMatrix()

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
        cands = neighbours(csr, row)
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
