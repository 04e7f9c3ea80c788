"""Widgets floating over the canvas: the legend and the minimap (overview strip).

Part of :mod:`app.ui.canvas`. Both are painted with plain ``drawText`` and
cached as pixmaps, so panning the graph does not repaint them from scratch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QWidget

from app.ui.canvas_model import CanvasRoom
from app.ui.canvas_paint import segments
from app.ui.style import OTHER_SERVERS, SHAPE_GLYPH, SHAPE_NAME, Shape

if TYPE_CHECKING:  # the widget imports this module
    from app.ui.canvas import GraphCanvas

__all__ = ["Legend", "Minimap"]


class Legend(QWidget):
    """The legend (top right): the room, its servers with their colours and event
    counts, and the shapes; plain text only."""

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


class Minimap(QWidget):
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

    def _paint(self, p: QPainter, room: CanvasRoom) -> None:
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
                p.drawPath(segments(np.stack([xs0, xs1], axis=1), np.stack([ys, ys], axis=1)))
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
