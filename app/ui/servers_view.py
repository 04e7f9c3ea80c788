"""The Servers dock: what each homeserver had, moment by moment, and two compared.

A room belongs to no single server: every participating homeserver holds its own
copy of the event graph, and while servers cannot reach each other their copies
and the states they resolve differ
(https://spec.matrix.org/v1.16/server-server-api/#room-state-resolution). Rooms
recorded from real federation (``sample_rooms/fed-*.json``, issue 8) say, per
server, which events it had at each moment of the story and the state it
reported (:mod:`app.core.servers` reads that). This dock shows it:

* **One server**: choose a server and a moment; the graph fades every event that
  server did not have then, the tree lists what it lacked (and what it soft failed
  or rejected, from its database), and the state table shows the state it reported
  beside the state every server agreed on after healing (rows that differ in orange).
* **Compare two**: choose two servers and a moment both were snapshotted at; the
  graph lights up the events one had and the other lacked, the tree lists them per
  side, and the state table puts their two reported states side by side, the keys
  on which they differed in orange.

For a room without per-server data the dock says, in a sentence, what it would
show. Everything shown is plain text: server names, event IDs, types and state
keys come from the room. The window installs the dock with
:func:`install_servers_dock` (View > Panels > Servers, Ctrl+Shift+S).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QRadioButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.events import StateKey
from app.core.servers import (
    AFTER_HEALING,
    ServerSnapshot,
    ServerView,
    SnapshotComparison,
    common_moments,
    compare_snapshots,
    lacked_at,
    moments,
    server_views,
    snapshot_at,
)
from app.ui.state_table import StateTable, StateTableModel, short_id
from app.ui.style import server_colours, theme
from app.ui.text import plain_tooltip

__all__ = ["ServersController", "ServersPanel", "install_servers_dock"]

AnyIndex = QModelIndex | QPersistentModelIndex

#: The item role under which a tree row keeps its full event ID.
EVENT_ID_ROLE = Qt.ItemDataRole.UserRole + 1

#: The dock's shortcut (View > Panels > Servers).
SHORTCUT = "Ctrl+Shift+S"

#: What the dock says for a room recorded without per-server data.
NO_SERVERS_TEXT = (
    "This room has no per-server recording.\n\n"
    "A room is replicated: every homeserver in it keeps its own copy of the event "
    "graph, and while servers cannot reach each other their copies differ. Rooms "
    "recorded from real federation (the samples named “Real federation: …”, files "
    "fed-*.json) say which events each server had at each moment of the story and "
    "the state it reported. For such a room this panel fades what a server did not "
    "have yet, shows the state it reported, and compares two servers: the events one "
    "had and the other lacked, and the state keys on which they disagreed."
)

MODE_ONE = "one"
MODE_COMPARE = "compare"

#: Whose highlight this panel puts on the graph (GraphCanvas.highlight).
HIGHLIGHT_OWNER = "servers"


class CanvasLike(Protocol):
    """What the panel uses of the graph view (app.ui.canvas.GraphCanvas)."""

    def highlight(self, ids: Any, *, fade_others: bool = ..., owner: str = ...) -> None: ...


class _TwoStatesModel(StateTableModel):
    """The state table's model with its two event columns named for what they hold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headers: tuple[str, str, str, str] = ("Type", "State key", "", "")
        self.tips: tuple[str, str] = ("", "")

    def set_column_names(self, first: str, second: str, tips: tuple[str, str] = ("", "")) -> None:
        """Name the two event columns (short: the column is narrow; ``tips`` say more)."""
        self.headers = ("Type", "State key", first, second)
        self.tips = tips
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 3)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.headers):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.headers[section]
            if role == Qt.ItemDataRole.ToolTipRole and section >= 2 and self.tips[section - 2]:
                return plain_tooltip(self.tips[section - 2])
        return super().headerData(section, orientation, role)


def _plain_label(parent: QWidget, text: str = "", *, wrap: bool = True) -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    return label


def _keys_text(keys: Collection[StateKey], limit: int = 4) -> str:
    shown = sorted(keys)[:limit]
    words = [f"{t} “{k}”" if k else t for t, k in shown]
    more = len(keys) - len(shown)
    return ", ".join(words) + (f" and {more} more" if more > 0 else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class ServersPanel(QWidget):
    """Per-server views of a recorded room. ``eventActivated(event_id)`` on a click."""

    eventActivated = Signal(str)
    #: The graph's highlight changed (the set lit, or None when cleared).
    highlightChanged = Signal(object)

    def __init__(self, canvas: CanvasLike | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.views: tuple[ServerView, ...] = ()
        self.all_moments: tuple[str, ...] = ()
        self.room_events: tuple[str, ...] = ()
        self.describe: Callable[[str], str] = lambda event_id: ""
        self.colours: Mapping[str, str] = {}
        self.mode = MODE_ONE
        #: What the panel asked the graph to light (None: nothing faded by this panel).
        self.highlighted: frozenset[str] | None = None
        #: The current comparison (compare mode) or None.
        self.comparison: SnapshotComparison | None = None
        #: The current server's snapshot (one-server mode) or None.
        self.snapshot: ServerSnapshot | None = None
        #: Only light the graph while the panel can be seen (the controller sets it).
        self.live = True
        self._filling = False
        self._build()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        self.stack = QStackedWidget(self)
        self.none_label = _plain_label(self, NO_SERVERS_TEXT)
        self.none_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.none_label.setContentsMargins(8, 8, 8, 8)
        self.stack.addWidget(self.none_label)

        main = QWidget(self)
        self.stack.addWidget(main)

        # Left: mode, servers, moment; the list of servers; what the view says.
        left = QWidget(main)
        self.one_button = QRadioButton("One server", left)
        self.compare_button = QRadioButton("Compare two", left)
        self.one_button.setToolTip("What one server had at a moment, and the state it reported")
        self.compare_button.setToolTip(
            "Two servers at the same moment: the events each lacked, the state keys they differ on"
        )
        self.one_button.setChecked(True)
        self.mode_group = QButtonGroup(self)
        self.mode_group.addButton(self.one_button)
        self.mode_group.addButton(self.compare_button)
        self.compare_button.toggled.connect(self._mode_toggled)

        self.first_combo = QComboBox(left)
        self.first_combo.setToolTip("The server")
        self.vs_label = _plain_label(left, "vs", wrap=False)
        self.second_combo = QComboBox(left)
        self.second_combo.setToolTip("The server to compare it with")
        self.moment_combo = QComboBox(left)
        self.moment_combo.setToolTip("The moment of the recording")
        for combo in (self.first_combo, self.second_combo, self.moment_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.currentIndexChanged.connect(self._choice_changed)

        self.table = QTableWidget(left)
        self.table.setObjectName("serversTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setToolTip("Click a count: that server at that moment")
        self.table.setWordWrap(False)
        self.table.cellClicked.connect(self._cell_clicked)

        self.explain = _plain_label(left)
        self.explain.setObjectName("serversExplanation")

        row1 = QHBoxLayout()
        row1.setContentsMargins(0, 0, 0, 0)
        row1.addWidget(self.one_button)
        row1.addWidget(self.compare_button)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        row2.setContentsMargins(0, 0, 0, 0)
        row2.addWidget(_plain_label(left, "Server", wrap=False))
        row2.addWidget(self.first_combo)
        row2.addWidget(self.vs_label)
        row2.addWidget(self.second_combo)
        row2.addSpacing(8)
        row2.addWidget(_plain_label(left, "at", wrap=False))
        row2.addWidget(self.moment_combo, 1)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(6)
        left_layout.addLayout(row1)
        left_layout.addLayout(row2)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.explain)

        # Middle: the events that set the servers apart.
        self.tree = QTreeWidget(main)
        self.tree.setObjectName("serversEvents")
        self.tree.setHeaderLabels(["Event", "ID"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        tree_header = self.tree.header()
        tree_header.setStretchLastSection(False)
        tree_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        tree_header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemClicked.connect(self._tree_clicked)
        self.tree.itemActivated.connect(self._tree_clicked)

        # Right: the reported state(s).
        self.state = StateTable(main)
        self.state_model = _TwoStatesModel(self.state)
        self.state.model = self.state_model
        self.state.proxy.setSourceModel(self.state_model)
        self.state.changed_only.setText("Differing only")
        self.state.changed_only.setToolTip("Show only the state keys on which the columns differ")
        self.state.filter_edit.setPlaceholderText("Filter state: type, key or event ID")
        self.state.eventActivated.connect(self.eventActivated)
        self.state.summary.setWordWrap(True)  # long sentences here: never widen the dock

        self.splitter = QSplitter(Qt.Orientation.Horizontal, main)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(self.state)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 4)
        left.setMinimumWidth(300)
        self.tree.setMinimumWidth(200)
        self._sized = False
        self.splitter.setChildrenCollapsible(False)
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(6, 6, 6, 6)
        main_layout.addWidget(self.splitter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self._show_mode_widgets()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        width = self.splitter.width()
        if not self._sized and width >= 900:
            # Left to itself the splitter gives the state table's filter row all the
            # room; share it once the dock has its width (the user's drags then stay).
            self._sized = True
            self.splitter.setSizes([int(width * 0.27), int(width * 0.33), int(width * 0.4)])

    # ------------------------------------------------------------------ the room

    @property
    def has_servers(self) -> bool:
        return bool(self.views)

    def set_room(
        self,
        annotations: Mapping[str, Any],
        events: Collection[str],
        *,
        describe: Callable[[str], str] | None = None,
        colours: Mapping[str, str] | None = None,
    ) -> None:
        """Show the per-server data of a room (``annotations``: the file's), whose events
        are ``events`` (IDs, in the graph's order). ``colours``: server name -> the
        graph's colour for it."""
        self.views = server_views(annotations)
        self.all_moments = moments(self.views)
        self.room_events = tuple(events)
        self.describe = describe or (lambda event_id: "")
        self.colours = colours or {}
        self.comparison = None
        self.snapshot = None
        self.stack.setCurrentIndex(1 if self.views else 0)
        self._filling = True
        try:
            for combo in (self.first_combo, self.second_combo):
                combo.clear()
                for view in self.views:
                    combo.addItem(view.label, view.server_name)
                    combo.setItemData(
                        combo.count() - 1,
                        plain_tooltip(view.server_name),
                        Qt.ItemDataRole.ToolTipRole,
                    )
            if len(self.views) > 1:
                self.second_combo.setCurrentIndex(1)
            self._fill_table()
            self._fill_moments()
        finally:
            self._filling = False
        if not self.views:
            self.tree.clear()
            self.state.set_states(None, None, note="")
            self.explain.setText("")
            self._light(None)
            return
        self.refresh()

    def _fill_table(self) -> None:
        """One column per server, one row per moment (its event count then), and rows
        for what it sent, soft failed and rejected."""
        rows = [*self.all_moments, "sent by its users", "soft failed", "rejected"]
        self.table.clear()
        self.table.setColumnCount(len(self.views))
        self.table.setRowCount(len(rows))
        self.table.setVerticalHeaderLabels(rows)
        total = len(self.room_events)
        for i, name in enumerate(rows):
            item = self.table.verticalHeaderItem(i)
            if item is not None and i < len(self.all_moments):
                item.setToolTip(plain_tooltip(f"How many events each server had: {name}"))
        base = len(self.all_moments)
        for col, view in enumerate(self.views):
            users = ", ".join(view.users) or "no users recorded"
            off = "\nLeft the network for good during the recording." if view.offline else ""
            head = QTableWidgetItem(f"{view.label} (offline)" if view.offline else view.label)
            colour = self.colours.get(view.server_name)
            if colour:
                head.setData(Qt.ItemDataRole.DecorationRole, QColor(colour))
            head.setToolTip(plain_tooltip(f"{view.server_name}\nUsers: {users}{off}"))
            self.table.setHorizontalHeaderItem(col, head)
            for i, when in enumerate(self.all_moments):
                snap = snapshot_at(view, when)
                if snap is None:
                    cell = QTableWidgetItem("—")
                    cell.setToolTip(plain_tooltip(f"{view.label} was not snapshotted: {when}"))
                else:
                    cell = QTableWidgetItem(f"{len(snap.events)} / {total}")
                    cell.setToolTip(
                        plain_tooltip(
                            f"{view.label} had {len(snap.events)} of the room's {total} "
                            f"events: {when}. Click to see them on the graph."
                        )
                    )
                    cell.setData(Qt.ItemDataRole.UserRole, when)
                self.table.setItem(i, col, cell)
            counts = (
                (len(view.sent), "Events its users sent"),
                (len(view.soft_failed), "Events it accepted but kept out of its state"),
                (len(view.rejected), "Events it rejected"),
            )
            for j, (n, tip) in enumerate(counts):
                cell = QTableWidgetItem(str(n))
                cell.setToolTip(plain_tooltip(f"{tip}: {n}"))
                self.table.setItem(base + j, col, cell)
            for i in range(len(rows)):
                placed = self.table.item(i, col)
                if placed is not None:
                    placed.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    def _fill_moments(self) -> None:
        """The moment combo: the first server's moments, or those both servers share."""
        first, second = self.first_view(), self.second_view()
        if first is None:
            names: tuple[str, ...] = ()
        elif self.mode == MODE_COMPARE and second is not None:
            names = common_moments(first, second)
        else:
            names = first.moments
        current = self.moment_combo.currentText()
        self.moment_combo.clear()
        for name in names:
            self.moment_combo.addItem(name, name)
        if current in names:
            self.moment_combo.setCurrentIndex(names.index(current))

    # ------------------------------------------------------------------ choosing

    def first_view(self) -> ServerView | None:
        return self._view(self.first_combo.currentData())

    def second_view(self) -> ServerView | None:
        return self._view(self.second_combo.currentData())

    def _view(self, server_name: object) -> ServerView | None:
        return next((v for v in self.views if v.server_name == server_name), None)

    def moment(self) -> str | None:
        data = self.moment_combo.currentData()
        return data if isinstance(data, str) else None

    def choose(self, server: str, when: str) -> None:
        """One-server mode: ``server`` (its name or label) at the moment ``when``."""
        self._pick(MODE_ONE, (server,), when)

    def compare(self, first: str, second: str, when: str) -> None:
        """Compare mode: servers ``first`` and ``second`` (names or labels) at ``when``."""
        self._pick(MODE_COMPARE, (first, second), when)

    def _pick(self, mode: str, servers: Sequence[str], when: str) -> None:
        """Set the mode, the server combo(s) and the moment at once, then show them."""
        self._filling = True
        try:
            button = self.one_button if mode == MODE_ONE else self.compare_button
            button.setChecked(True)
            self.mode = mode
            for combo, server in zip((self.first_combo, self.second_combo), servers, strict=False):
                self._set_combo(combo, server)
            self._fill_moments()
            self._set_moment(when)
        finally:
            self._filling = False
        self._show_mode_widgets()
        self.refresh()

    def _set_combo(self, combo: QComboBox, server: str) -> None:
        for i, view in enumerate(self.views):
            if server in (view.server_name, view.label):
                combo.setCurrentIndex(i)
                return
        raise KeyError(f"no server {server!r} in this recording")

    def _set_moment(self, when: str) -> None:
        index = self.moment_combo.findData(when)
        if index < 0:
            raise KeyError(f"no snapshot {when!r} for the chosen server(s)")
        self.moment_combo.setCurrentIndex(index)

    def _mode_toggled(self, compare: bool) -> None:
        if self._filling:
            return
        self.mode = MODE_COMPARE if compare else MODE_ONE
        self._filling = True
        try:
            if compare and self.first_combo.currentIndex() == self.second_combo.currentIndex():
                self.second_combo.setCurrentIndex(
                    (self.first_combo.currentIndex() + 1) % max(1, len(self.views))
                )
            self._fill_moments()
        finally:
            self._filling = False
        self._show_mode_widgets()
        self.refresh()

    def _choice_changed(self, _index: int) -> None:
        if self._filling:
            return
        sender = self.sender()
        if sender is not self.moment_combo:
            self._filling = True
            try:
                self._fill_moments()
            finally:
                self._filling = False
        self.refresh()

    def _cell_clicked(self, row: int, column: int) -> None:
        """A count: its column's server (the first one) at its row's moment."""
        if not 0 <= column < len(self.views):
            return
        item = self.table.item(row, column)
        when = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        self._filling = True
        try:
            self.first_combo.setCurrentIndex(column)
            if self.mode == MODE_COMPARE and self.second_combo.currentIndex() == column:
                self.second_combo.setCurrentIndex((column + 1) % len(self.views))
            self._fill_moments()
            if isinstance(when, str) and self.moment_combo.findData(when) >= 0:
                self._set_moment(when)
        finally:
            self._filling = False
        self.refresh()

    def _show_mode_widgets(self) -> None:
        compare = self.mode == MODE_COMPARE
        self.vs_label.setVisible(compare)
        self.second_combo.setVisible(compare)

    # ------------------------------------------------------------------ showing

    def refresh(self) -> None:
        """Show the current choice: table selection, tree, state table, the graph."""
        if not self.views:
            return
        first = self.first_view()
        when = self.moment()
        if first is not None and when in self.all_moments:
            self.table.setCurrentCell(self.all_moments.index(when), self.views.index(first))
        if self.mode == MODE_COMPARE:
            self._show_comparison(first, self.second_view(), when)
        else:
            self._show_one(first, when)

    def _show_one(self, view: ServerView | None, when: str | None) -> None:
        self.comparison = None
        self.tree.clear()
        snap = snapshot_at(view, when) if view is not None and when is not None else None
        self.snapshot = snap
        if view is None or when is None or snap is None:
            self.explain.setText("Choose a server and a moment it was snapshotted.")
            self.state.set_states(None, None, note="")
            self._light(None)
            return
        lacked = lacked_at(view, when, self.room_events) or frozenset()
        total = len(self.room_events)
        agreed, agreed_name = self._agreed_state()
        self.state_model.set_column_names(
            view.label,
            "agreed",
            (
                f"The state {view.label} ({view.server_name}) reported: {when}",
                f"The state every server reported {AFTER_HEALING} ({agreed_name})",
            ),
        )
        self.state.set_states(snap.state, agreed if agreed is not None else snap.state)
        differs = [row.key for row in self.state_model.rows if row.changed]
        if when == AFTER_HEALING:
            state_text = (
                f"It reported {_plural(len(snap.state), 'state key')}, "
                "the state every server agreed on."
            )
        elif agreed is None:
            state_text = f"It reported {_plural(len(snap.state), 'state key')}."
        elif differs:
            state_text = (
                f"Of the {_plural(len(snap.state), 'state key')} it reported, "
                f"{len(differs)} differ from the state the servers agreed on after healing "
                f"(orange rows): {_keys_text(differs)}."
            )
        else:
            state_text = (
                f"The {_plural(len(snap.state), 'state key')} it reported are the state "
                "the servers agreed on after healing."
            )
        self.state.summary.setText(state_text)
        faded = (
            f"the {_plural(len(lacked), 'event')} it lacked are faded on the graph."
            if lacked
            else "it had every event of the room file."
        )
        state_short = (
            f" Its state differs from the agreed one on {_plural(len(differs), 'key')} "
            "(orange rows, right)."
            if differs and when != AFTER_HEALING
            else ""
        )
        self.explain.setText(
            f"{view.label} ({view.server_name}), {when}: it had {len(snap.events)} of the "
            f"room's {total} events; {faded}{state_short}"
        )
        self._add_group(f"Not yet on {view.label} ({len(lacked)})", self._ordered(lacked))
        self._add_group(
            f"Its forward extremities then ({len(snap.forward_extremities)})",
            snap.forward_extremities,
            expanded=False,
        )
        if view.soft_failed:
            self._add_group(
                f"Soft failed by {view.label}, by the end ({len(view.soft_failed)})",
                self._ordered(view.soft_failed),
            )
        if view.rejected:
            self._add_group(
                f"Rejected by {view.label} ({len(view.rejected)})",
                self._ordered(view.rejected),
                reasons=view.rejected,
            )
        self._light(snap.events)

    def _show_comparison(
        self, first: ServerView | None, second: ServerView | None, when: str | None
    ) -> None:
        self.snapshot = None
        self.tree.clear()
        cmp = (
            compare_snapshots(first, second, when)
            if first is not None and second is not None and when is not None
            else None
        )
        self.comparison = cmp
        if first is None or second is None or cmp is None:
            self.explain.setText(
                "Choose two servers and a moment both were snapshotted at "
                "(the moment list shows only those)."
            )
            self.state.set_states(None, None, note="")
            self._light(None)
            return
        if first is second:
            self.explain.setText("Choose two different servers.")
        a = snapshot_at(first, cmp.when)
        b = snapshot_at(second, cmp.when)
        assert a is not None and b is not None
        self.state_model.set_column_names(
            first.label,
            second.label,
            (
                f"The state {first.label} ({first.server_name}) reported: {cmp.when}",
                f"The state {second.label} ({second.server_name}) reported: {cmp.when}",
            ),
        )
        self.state.set_states(a.state, b.state)
        keys = len(set(a.state) | set(b.state))
        if cmp.state_differs:
            state_text = (
                f"Their reported states differ on {len(cmp.state_differs)} of {keys} "
                f"state keys (orange rows): {_keys_text(cmp.state_differs)}."
            )
        else:
            state_text = f"They reported the same state ({_plural(keys, 'state key')})."
        self.state.summary.setText(state_text)
        lit = cmp.only_first | cmp.only_second
        if lit:
            events_text = (
                f"{first.label} had {_plural(len(cmp.only_first), 'event')} that "
                f"{second.label} lacked, and {second.label} had {len(cmp.only_second)} that "
                f"{first.label} lacked (lit on the graph, the rest faded)."
            )
        else:
            events_text = "They had the same events."
        if first is not second:
            state_short = (
                f" Their states differ on {_plural(len(cmp.state_differs), 'key')} "
                "(orange rows, right)."
                if cmp.state_differs
                else " They reported the same state."
            )
            self.explain.setText(f"{cmp.when}: {events_text}{state_short}")
        self._add_group(
            f"Only on {first.label} ({len(cmp.only_first)})", self._ordered(cmp.only_first)
        )
        self._add_group(
            f"Only on {second.label} ({len(cmp.only_second)})", self._ordered(cmp.only_second)
        )
        if cmp.state_differs:
            group = QTreeWidgetItem([f"State keys that differ ({len(cmp.state_differs)})", ""])
            self.tree.addTopLevelItem(group)
            for key in sorted(cmp.state_differs):
                for view, snap in ((first, a), (second, b)):
                    event_id = snap.state.get(key)
                    text = f"{key[0]} “{key[1]}”" if key[1] else key[0]
                    child = QTreeWidgetItem(
                        [f"{view.label}: {text}", short_id(event_id, 10) if event_id else "—"]
                    )
                    tip = f"{view.label}: {text}\n" + (
                        f"{self.describe(event_id)}\n{event_id}\nClick to select it."
                        if event_id
                        else "not set"
                    )
                    if event_id:
                        child.setData(0, EVENT_ID_ROLE, event_id)
                    child.setToolTip(0, plain_tooltip(tip))
                    child.setToolTip(1, plain_tooltip(tip))
                    group.addChild(child)
            group.setExpanded(True)
        self._light(lit if lit else None)

    def _agreed_state(self) -> tuple[Mapping[StateKey, str] | None, str]:
        """The state the servers reported after healing (they agree: the recorder waited
        for that), from the first server that reported one."""
        for view in self.views:
            if view.after_healing is not None:
                return view.after_healing.state, f"as {view.label} reported it"
        return None, "—"

    def _ordered(self, ids: Collection[str]) -> tuple[str, ...]:
        """``ids`` in the room's order (the graph's), unknown ones last."""
        wanted = set(ids)
        known = [e for e in self.room_events if e in wanted]
        rest = sorted(wanted - set(known))
        return (*known, *rest)

    def _add_group(
        self,
        title: str,
        ids: Sequence[str],
        *,
        expanded: bool = True,
        reasons: Mapping[str, str] | None = None,
    ) -> None:
        group = QTreeWidgetItem([title, ""])
        self.tree.addTopLevelItem(group)
        for event_id in ids:
            what = self.describe(event_id)
            if reasons and event_id in reasons:
                what = f"{what} — {reasons[event_id]}"
            child = QTreeWidgetItem([what or event_id, short_id(event_id, 10)])
            child.setData(0, EVENT_ID_ROLE, event_id)
            tip = plain_tooltip(f"{what}\n{event_id}\nClick to select it.")
            child.setToolTip(0, tip)
            child.setToolTip(1, tip)
            group.addChild(child)
        group.setExpanded(expanded)

    def _tree_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        event_id = item.data(0, EVENT_ID_ROLE)
        if isinstance(event_id, str) and event_id:
            self.eventActivated.emit(event_id)

    # ------------------------------------------------------------------ the graph

    def _light(self, ids: Collection[str] | None) -> None:
        """Fade everything on the graph but ``ids`` (None: clear, if this panel lit it)."""
        if not self.live:
            return
        if ids is None:
            if self.highlighted is not None and self.canvas is not None:
                self.canvas.highlight(None, owner=HIGHLIGHT_OWNER)
            self.highlighted = None
        else:
            self.highlighted = frozenset(ids)
            if self.canvas is not None:
                self.canvas.highlight(self.highlighted, fade_others=True, owner=HIGHLIGHT_OWNER)
        self.highlightChanged.emit(self.highlighted)

    def clear_highlight(self) -> None:
        """Give the graph back unfaded (the dock was hidden)."""
        if self.highlighted is not None and self.canvas is not None:
            self.canvas.highlight(None, owner=HIGHLIGHT_OWNER)
        self.highlighted = None


class ServersController(QObject):
    """The Servers dock of one window, and its View menu item."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.panel = ServersPanel(window.canvas_widget, window)
        self.panel.eventActivated.connect(window.go_to_event)
        self.dock = QDockWidget("Servers", window)
        self.dock.setObjectName("serversDock")
        self.dock.setWidget(self.panel)
        self.dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        first_run = window.settings.value("window/state") is None
        window.add_bottom_dock(self.dock)
        if first_run:
            self.dock.hide()  # shown on request: View > Panels > Servers
        self.action = self.dock.toggleViewAction()
        self.action.setText("&Servers")
        self.action.setShortcut(QKeySequence(SHORTCUT))
        tip = "What each homeserver had, moment by moment, and two servers compared"
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)
        self.panel.live = self.dock.isVisible()
        self.dock.visibilityChanged.connect(self._visibility)
        window.roomOpened.connect(self._room_opened)

    def show(self) -> None:
        """Show and raise the dock (it lights the graph for the current choice)."""
        self.dock.show()
        self.dock.raise_()

    def _room_opened(self, doc: Any) -> None:
        graph = doc.graph
        events = list(graph.events)
        colour_of: dict[str, str] = {}
        if isinstance(doc.room.annotations.get("servers"), Mapping):
            # The graph's colour per server (busiest first), for the table's swatches.
            senders = [pdu.sender for pdu in graph.events.values()]
            servers, colours = server_colours(senders, theme(str(self.window.theme)).palette)
            colour_of = dict(zip(servers, colours, strict=True))
        self.panel.set_room(doc.room.annotations, events, describe=doc.describe, colours=colour_of)
        if self.panel.has_servers and not self.dock.isVisible():
            self.window.statusBar().showMessage(self._hint(), 8000)

    def _hint(self) -> str:
        return (
            f"Recorded on {len(self.panel.views)} servers: View > Panels > Servers "
            f"({SHORTCUT}) shows what each had and compares them"
        )

    def _visibility(self, visible: bool) -> None:
        self.panel.live = visible
        if visible:
            status = self.window.statusBar()
            if status.currentMessage() == self._hint():
                status.clearMessage()  # done: the dock is open
            self.panel.refresh()
        elif not self.dock.isFloating():
            # The graph should not stay faded for a panel no one can see.
            self.panel.clear_highlight()


def install_servers_dock(window: Any) -> ServersController:
    """Add the Servers dock to ``window`` (app.ui.mainwindow.MainWindow): the one hook.

    Uses only the window's public parts: ``add_bottom_dock``, ``canvas_widget``,
    ``settings``, ``theme``, ``go_to_event``, ``statusBar()`` and ``roomOpened``.
    Returns the controller (tests reach the panel through it).
    """
    return ServersController(window)
