"""The room state before and after an event, as a filterable table.

Each row is one state key, ``(type, state_key)``, with the event that held it
before the selected event and the one that holds it after. The rows where the
two differ are what the event changed (nothing, for a rejected event: DESIGN.md,
"a rejected event's state after is the state before it"). Clicking an event in
the Before or After column selects that event in the graph.

Every cell is plain text (item views draw ``DisplayRole`` as text, never as
rich text), because types, state keys and IDs come from the room.

Spec: https://spec.matrix.org/v1.16/server-server-api/#room-state-resolution
(the state of a room before and after an event).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFontDatabase, QFontMetrics, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.ui.text import plain_tooltip

__all__ = ["EVENT_ID_ROLE", "StateRow", "StateTable", "StateTableModel"]

StateKey = tuple[str, str]
AnyIndex = QModelIndex | QPersistentModelIndex

#: The item role under which the Before/After cells keep their full event ID.
EVENT_ID_ROLE = Qt.ItemDataRole.UserRole + 1
#: The item role under which every cell says whether its row changed.
CHANGED_ROLE = Qt.ItemDataRole.UserRole + 2

COL_TYPE, COL_STATE_KEY, COL_BEFORE, COL_AFTER = range(4)
_HEADERS = ("Type", "State key", "Before", "After")


@dataclass(frozen=True, slots=True)
class StateRow:
    """One state key and the events holding it before and after the selected event."""

    key: StateKey
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def short_id(event_id: str, keep: int = 8) -> str:
    """``$AbCdEfGhIjKlMn...`` -> ``$AbCdEfGhI…``: enough to tell events apart in a cell."""
    return event_id if len(event_id) <= keep + 1 else event_id[:keep] + "…"


class StateTableModel(QAbstractTableModel):
    """The rows of :class:`StateRow`, sorted by state key."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[StateRow] = []
        self._describe: Callable[[str], str] | None = None
        self._changed_brush = QBrush(QColor(230, 159, 0, 48))  # Okabe-Ito orange, faint
        self._link_brush = QBrush(QApplication.palette().color(QPalette.ColorRole.Link))
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._mono.setPointSizeF(max(7.5, QApplication.font().pointSizeF() - 1))

    def set_states(
        self,
        before: Mapping[StateKey, str] | None,
        after: Mapping[StateKey, str] | None,
        *,
        describe: Callable[[str], str] | None = None,
    ) -> None:
        """Show ``before`` and ``after`` (state key -> event ID); None shows nothing.

        ``describe(event_id)`` gives the tooltip of an event cell (its type and
        sender, say).
        """
        self.beginResetModel()
        self._link_brush = QBrush(QApplication.palette().color(QPalette.ColorRole.Link))
        before = before or {}
        after = after or {}
        keys = sorted(set(before) | set(after))
        self._rows = [StateRow(k, before.get(k), after.get(k)) for k in keys]
        self._describe = describe
        self.endResetModel()

    def row(self, index: int) -> StateRow:
        return self._rows[index]

    @property
    def rows(self) -> tuple[StateRow, ...]:
        return tuple(self._rows)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = index.column()
        event_id = row.before if col == COL_BEFORE else row.after if col == COL_AFTER else None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_TYPE:
                return row.key[0]
            if col == COL_STATE_KEY:
                return row.key[1]
            return "—" if event_id is None else short_id(event_id)
        if role == EVENT_ID_ROLE:
            return event_id
        if role == CHANGED_ROLE:
            return row.changed
        if role == Qt.ItemDataRole.ToolTipRole:
            if col in (COL_TYPE, COL_STATE_KEY):
                return plain_tooltip(row.key[col])  # long keys are elided in the cell
            if event_id is None:
                return "not set" if col in (COL_BEFORE, COL_AFTER) else None
            extra = self._describe(event_id) if self._describe else ""
            return plain_tooltip(f"{event_id}\n{extra}\nClick to select it." if extra else event_id)
        if role == Qt.ItemDataRole.BackgroundRole and row.changed:
            return self._changed_brush
        if role == Qt.ItemDataRole.FontRole and col in (COL_BEFORE, COL_AFTER):
            return self._mono
        if role == Qt.ItemDataRole.ForegroundRole and col in (COL_BEFORE, COL_AFTER) and event_id:
            return self._link_brush
        return None


class _StateFilter(QSortFilterProxyModel):
    """Text filter over every column, plus "changed rows only"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.changed_only = False
        #: The filter text, matched case-insensitively as a plain substring.
        self.needle = ""

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        if self.changed_only and not model.data(model.index(source_row, 0), CHANGED_ROLE):
            return False
        needle = self.needle.casefold()
        if not needle:
            return True
        # Match the full event IDs too, not only their shortened display.
        for col in range(model.columnCount()):
            index = model.index(source_row, col)
            for role in (Qt.ItemDataRole.DisplayRole, EVENT_ID_ROLE):
                value = model.data(index, role)
                if isinstance(value, str) and needle in value.casefold():
                    return True
        return False


class StateTable(QWidget):
    """The state table with its filter box; ``eventActivated(event_id)`` on a click."""

    eventActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = StateTableModel(self)
        self.proxy = _StateFilter(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter state: type, key or event ID")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._set_filter)
        self.changed_only = QCheckBox("Changed only", self)
        self.changed_only.setToolTip("Show only the keys this event changed")
        self.changed_only.toggled.connect(self._set_changed_only)

        self.view = QTableView(self)
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(COL_TYPE, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(COL_TYPE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_STATE_KEY, QHeaderView.ResizeMode.Stretch)
        id_width = QFontMetrics(self.model._mono).horizontalAdvance("$WWWWWWWW…") + 16
        for col in (COL_BEFORE, COL_AFTER):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, id_width)
        header.setMinimumSectionSize(40)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header.setHighlightSections(False)
        self.view.clicked.connect(self._clicked)
        self.view.activated.connect(self._clicked)

        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setObjectName("hint")

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.changed_only)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.summary)

    def set_states(
        self,
        before: Mapping[StateKey, str] | None,
        after: Mapping[StateKey, str] | None,
        *,
        describe: Callable[[str], str] | None = None,
        note: str = "",
    ) -> None:
        """Show the state before and after an event (see :meth:`StateTableModel.set_states`)."""
        self.model.set_states(before, after, describe=describe)
        changed = sum(1 for row in self.model.rows if row.changed)
        total = len(self.model.rows)
        text = f"{total} state keys, {changed} changed by this event" if total else ""
        self.summary.setText(note or text)

    def visible_rows(self) -> list[StateRow]:
        """The rows the filter lets through, in display order."""
        out = []
        for r in range(self.proxy.rowCount()):
            source = self.proxy.mapToSource(self.proxy.index(r, 0))
            out.append(self.model.row(source.row()))
        return out

    def _set_filter(self, text: str) -> None:
        self.proxy.needle = text.strip()
        self.proxy.invalidate()

    def _set_changed_only(self, on: bool) -> None:
        self.proxy.changed_only = on
        self.proxy.invalidate()

    def _clicked(self, index: QModelIndex) -> None:
        if index.column() not in (COL_BEFORE, COL_AFTER):
            return
        event_id = self.proxy.data(index, EVENT_ID_ROLE)
        if isinstance(event_id, str) and event_id:
            self.eventActivated.emit(event_id)
