"""Replay: play the room's history event by event (issue 6, item 6).

A slider over the graph's topological order, Back / Next / Play, the note of
the current moment (forks and merges called out, rejections explained), and
the room state after the current event with the keys it changed marked. The
graph view shows the events received so far and fades the rest; the current
event is centred. The moments come from :func:`app.core.replay.replay_event`.
Plain text everywhere.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.core.replay import ReplayEvent, replay_event
from app.core.roomstate import RoomStates
from app.core.stepping import key_text
from app.ui.resolution_panel import MARK, CanvasLike, RowsModel, _table

__all__ = ["ReplayView"]

#: Milliseconds between events while playing.
REPLAY_INTERVAL_MS = 400


class ReplayView(QWidget):
    """Replays ``states.graph`` (a :class:`RoomStates` built from a graph)."""

    moved = Signal(int)

    def __init__(
        self, states: RoomStates, canvas: CanvasLike | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        assert states.graph is not None
        self.setObjectName("replayView")
        self.states = states
        self.graph: Any = states.graph
        self.canvas = canvas
        self.index = 0
        self.moment: ReplayEvent | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(REPLAY_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        layout = QVBoxLayout(self)
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.note = QLabel(self)
        self.note.setObjectName("replayNote")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, max(0, len(self.graph.order) - 1))
        self.slider.valueChanged.connect(self.go_to)
        controls = QHBoxLayout()
        self.back_button = QPushButton("‹ Back", self)
        self.back_button.clicked.connect(lambda: self.go_to(self.index - 1))
        self.play_button = QPushButton("Play", self)
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._play_toggled)
        self.next_button = QPushButton("Next ›", self)
        self.next_button.clicked.connect(lambda: self.go_to(self.index + 1))
        controls.addWidget(self.slider, 1)
        for b in (self.back_button, self.play_button, self.next_button):
            controls.addWidget(b)
        self.model = RowsModel(self)
        self.table = _table(self, self.model, "replayState")
        layout.addWidget(self.title)
        layout.addWidget(self.note)
        layout.addLayout(controls)
        layout.addWidget(self.table, 1)
        for keys, slot in (
            ("Right", lambda: self.go_to(self.index + 1)),
            ("Left", lambda: self.go_to(self.index - 1)),
            ("Space", lambda: self.play_button.toggle()),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._show()

    def go_to(self, index: int) -> None:
        n = len(self.graph.order)
        index = max(0, min(index, n - 1))
        if index == self.index and self.moment is not None:
            return
        self.index = index
        self._show()

    def _tick(self) -> None:
        if self.index + 1 >= len(self.graph.order):
            self.play_button.setChecked(False)
        else:
            self.go_to(self.index + 1)

    def _play_toggled(self, on: bool) -> None:
        if on:
            self._timer.start()
            self.play_button.setText("Pause")
        else:
            self._timer.stop()
            self.play_button.setText("Play")

    def _show(self) -> None:
        if not len(self.graph.order):
            return
        moment = replay_event(self.states, self.index)
        self.moment = moment
        n = len(self.graph.order)
        callout = " · ".join(k.upper() for k in moment.kinds if k in ("fork", "merge", "rejected"))
        event = self.graph.events[moment.event_id]
        self.title.setText(
            f"Event {self.index + 1} of {n}: {event.type}"
            + (f" [{event.state_key}]" if event.state_key else "")
            + f" from {event.sender}"
            + (f"   {callout}" if callout else "")
        )
        self.note.setText(moment.note)
        if self.slider.value() != self.index:
            self.slider.blockSignals(True)
            self.slider.setValue(self.index)
            self.slider.blockSignals(False)
        after = self.states.state_after(moment.event_id)
        changed = {c.key for c in moment.changes}
        rows = sorted(after.items())
        marks: list[QColor | None] = [MARK if k in changed else None for k, _ in rows]
        self.model.fill(
            ("Key", "Event"), [(key_text(k), e) for k, e in rows], id_columns=(1,), marks=marks
        )
        if self.canvas is not None:
            self.canvas.highlight(
                self.graph.order[: self.index + 1], fade_others=True, owner="dialog"
            )
            self.canvas.centre_on(moment.event_id)
        self.back_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index + 1 < n)
        self.moved.emit(self.index)
