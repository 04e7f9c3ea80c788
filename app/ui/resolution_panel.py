"""The Resolution panel: step through state resolution, lighting up the graph as it goes.

UI.md: a dock below the graph with the step bar (1 Sets > 2 Split > 3 Auth diff
> 4 Full set > 5 Power order > 6 Auth checks > 7 Mainline > 8 Others > 9 Auth
checks > 10 Result), the content of the current step, the partial state so far,
one "why" card per conflicted key, and < Back / Next > / Play. N/P (or the
arrow keys while the panel has focus) step, Space plays. Every step highlights
the events it is about in the graph view and fades the rest.

The panel only moves a cursor over :class:`app.core.stepping.Stepping` (DESIGN.md:
the algorithm lives in one place). Resolving runs off the UI thread when the
panel is installed in the window (:func:`install_resolution_dock`).

Every cell and label is plain text: event IDs, types and state keys come from
the room.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QKeySequence,
    QPalette,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QButtonGroup,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.events import StateKey
from app.core.stateres.trace import (
    AuthCheckStep,
    EventSetStep,
    InputStep,
    MainlineStep,
    OrderingStep,
    SplitStep,
)
from app.core.stepping import PHASES, ResolutionStep, Stepping, key_text
from app.ui.state_table import short_id
from app.ui.text import plain_tooltip

__all__ = ["ResolutionPanel", "RowsModel", "install_resolution_dock"]

AnyIndex = QModelIndex | QPersistentModelIndex

#: Outcome colours (Okabe-Ito: bluish green, vermillion, grey), readable on both themes.
PASS = QColor("#009E73")
FAIL = QColor("#D55E00")
SKIP = QColor("#999999")
MARK = QColor(230, 159, 0, 70)  # orange wash: rows that differ / were just applied

#: Up to this many conflicted keys, a why-card each; beyond, a table of the keys and
#: the card of the current (or clicked) key: hundreds of word-wrapped cards take
#: hundreds of milliseconds to lay out again whenever one changes.
CARDS_AT_ONCE = 24

#: Milliseconds between steps while playing.
PLAY_INTERVAL_MS = 900

#: An event ID inside an explanation (room versions 1-2: $local:server; 3+: $base64).
_EVENT_ID = re.compile(r"\$[A-Za-z0-9_\-+/]+(?::[A-Za-z0-9.\-]+(?::[0-9]+)?)?")

#: The full event ID of a cell, for tooltips and double-click.
EVENT_ID_ROLE = Qt.ItemDataRole.UserRole + 1

#: Space (px) between a column and the one left of it, so their headings do not run
#: together (the splitter's handle is a 1 px line).
GAP = 8

#: Whose highlight the stepper puts on the graph (GraphCanvas.highlight).
HIGHLIGHT_OWNER = "stepper"


class CanvasLike(Protocol):
    """What the panel uses of the graph view (app.ui.canvas.GraphCanvas)."""

    def highlight(self, ids: Any, *, fade_others: bool = ..., owner: str = ...) -> None: ...
    def centre_on(self, event_id: str) -> None: ...


def readable_text(text: str, namer: Callable[[str], str | None] | None) -> str:
    """``text`` with each event ID replaced by its label (sample rooms) or a short form."""

    def one(match: re.Match[str]) -> str:
        event_id = match.group(0)
        label = namer(event_id) if namer is not None else None
        return label or short_id(event_id, 10)

    return _EVENT_ID.sub(one, text)


def _mono() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    app = QApplication.instance()
    base = app.font().pointSizeF() if isinstance(app, QApplication) else 9.0
    font.setPointSizeF(max(7.5, base - 0.5))
    return font


class RowsModel(QAbstractTableModel):
    """A read-only table of strings, cheap to refill (one reset per step).

    Cells that hold an event ID show it shortened; the full ID is the tooltip
    and :data:`EVENT_ID_ROLE`. ``marks`` colours whole rows (a QColor per row or
    None); ``fg`` colours one column's text per row (outcomes).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headers: tuple[str, ...] = ()
        self.rows: list[tuple[str, ...]] = []
        self.id_columns: frozenset[int] = frozenset()
        self.marks: list[QColor | None] = []
        self.fg: dict[tuple[int, int], QColor] = {}
        self._mono = _mono()
        self._brushes: dict[int, QBrush] = {}
        #: Event ID -> a readable name (a sample room's label), shown before the short ID.
        self.namer: Callable[[str], str | None] | None = None
        #: Show only the label of a labelled event (narrow tables); the ID stays the tooltip.
        self.label_only = False

    def fill(
        self,
        headers: Sequence[str],
        rows: Sequence[tuple[str, ...]],
        *,
        id_columns: Sequence[int] = (),
        marks: Sequence[QColor | None] | None = None,
        fg: Mapping[tuple[int, int], QColor] | None = None,
    ) -> bool:
        """Show ``rows`` under ``headers``; True if the table was reset (other columns)."""
        headers = tuple(headers)
        new_rows = list(rows)
        id_cols = frozenset(id_columns)
        if headers != self.headers or id_cols != self.id_columns:
            self.beginResetModel()
            self.headers = headers
            self.rows = new_rows
            self.id_columns = id_cols
            self.marks = list(marks) if marks is not None else []
            self.fg = dict(fg or {})
            self.endResetModel()
            return True
        # The same columns as before (the next step of the same kind): rows added or
        # taken away at the end and the rest changed in place. Unlike a reset, this
        # keeps the view's layout, so a step costs no relayout of the table and only
        # the rows that changed are painted again.
        old, new = len(self.rows), len(new_rows)
        if new < old:
            self.beginRemoveRows(QModelIndex(), new, old - 1)
            del self.rows[new:]
            self.endRemoveRows()
        changed = [r for r in range(min(old, new)) if self.rows[r] != new_rows[r]]
        new_marks = list(marks) if marks is not None else []
        new_fg = dict(fg or {})
        if new_marks != self.marks[: len(new_marks)] or len(new_marks) != len(self.marks):
            changed += [
                r
                for r in range(min(old, new))
                if (self.marks[r] if r < len(self.marks) else None)
                != (new_marks[r] if r < len(new_marks) else None)
            ]
        if new_fg != self.fg:
            changed += [r for r, _ in new_fg] + [r for r, _ in self.fg]
        if new > old:
            self.beginInsertRows(QModelIndex(), old, new - 1)
            self.rows = new_rows
            self.marks = new_marks
            self.fg = new_fg
            self.endInsertRows()
        self.rows = new_rows
        self.marks = new_marks
        self.fg = new_fg
        last = len(headers) - 1
        in_range = [r for r in changed if r < min(old, new)]
        if in_range and last >= 0:
            self.dataChanged.emit(self.index(min(in_range), 0), self.index(max(in_range), last))
        return False

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.headers)
        ):
            return self.headers[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # Called for every role of every visible cell at each paint: roles compared as
        # plain ints, brushes made once per colour.
        if role not in _ROLES or not index.isValid():
            return None  # most roles a view asks for while painting: answered at once
        r, c = index.row(), index.column()
        value = self.rows[r][c]
        if role == _DISPLAY:
            if value.startswith("$") and c in self.id_columns:
                label = self.namer(value) if self.namer is not None else None
                if label:
                    return label if self.label_only else f"{label}  {short_id(value, 8)}"
                return short_id(value, 12)
            return value
        if role == _BACKGROUND:
            mark = self.marks[r] if r < len(self.marks) else None
            return None if mark is None else self._brush(mark)
        if role == _FONT:
            return self._mono if c in self.id_columns else None
        if role == _FOREGROUND:
            colour = self.fg.get((r, c)) if self.fg else None
            return None if colour is None else self._brush(colour)
        if role == _TOOLTIP:
            return plain_tooltip(value)  # room content: never let Qt guess rich text
        if role == _ID_ROLE:
            return value if c in self.id_columns else None
        return None

    def _brush(self, colour: QColor) -> QBrush:
        key = colour.rgba()
        brush = self._brushes.get(key)
        if brush is None:
            brush = self._brushes[key] = QBrush(colour)
        return brush


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_ID_ROLE = int(EVENT_ID_ROLE)
_ROLES = frozenset({_DISPLAY, _TOOLTIP, _FONT, _BACKGROUND, _FOREGROUND, _ID_ROLE})


class _Table(QTableView):
    """A table whose size hints do not follow its contents.

    A scroll bar that appears or goes (the partial state filling up at the split)
    changes a plain table's size hints, and the splitter then shares its space out
    again: every column is resized and painted twice for one step.
    """

    def sizeHint(self) -> QSize:
        return QSize(256, 192)

    def minimumSizeHint(self) -> QSize:
        return QSize(72, 72)


def _lay_out_now(view: QTableView) -> None:
    """Lay ``view`` out for its new rows and columns now, scroll bars included.

    Left to the event loop, a table lays itself out after it was painted and then
    shows or hides its scroll bars (a queued call), resizing its viewport: each
    is another paint of the whole table once the step is shown.
    """
    view.doItemsLayout()
    QCoreApplication.sendPostedEvents(view, QEvent.Type.MetaCall)


def _table(parent: QWidget, model: RowsModel, name: str) -> QTableView:
    view = _Table(parent)
    view.setObjectName(name)
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.setWordWrap(False)
    view.setShowGrid(False)
    # Column widths from the first rows only: a 3,000-row step stays instant.
    view.horizontalHeader().setResizeContentsPrecision(40)
    view.setAlternatingRowColors(True)
    view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    return view


class _WrappedLabel(QLabel):
    """A word-wrapped plain-text label that measures its height once per text and width.

    The why-card's layouts, the scroll area around them and the card's resize each
    ask a wrapped label for its height at the same width after a step; for a key
    with many candidates every answer lays the whole text out again, which made
    the event loop after a late step take tens of milliseconds.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._heights: dict[int, int] = {}

    def setText(self, text: str) -> None:
        if text != self.text():
            self._heights.clear()
            super().setText(text)

    def changeEvent(self, event: QEvent) -> None:
        # Font, style or margins: the heights measured so far no longer hold.
        self._heights.clear()
        super().changeEvent(event)

    def heightForWidth(self, width: int) -> int:
        height = self._heights.get(width)
        if height is None:
            height = super().heightForWidth(width)
            if len(self._heights) > 32:
                self._heights.clear()
            self._heights[width] = height
        return height


class _LongText(QPlainTextEdit):
    """Read-only, selectable plain text that lays out only the lines in view.

    The single why-card of a resolution with many conflicted keys lists every
    candidate of the current key, which runs to a hundred lines on a big fork: a
    selectable word-wrapped QLabel rebuilt and re-laid out that whole text on
    every step (20-35 ms); a plain-text edit lays out the visible lines only and
    scrolls the rest. ``text``/``setText`` as on a QLabel.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self.setReadOnly(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(40)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        # The card's own background, not an edit field's (a palette: a style sheet of
        # its own would restyle the scroll bar too).
        palette = QPalette()
        palette.setColor(QPalette.ColorRole.Base, QColor(0, 0, 0, 0))
        self.setPalette(palette)

    def sizeHint(self) -> QSize:
        # Small: the pane's stretch factors share out the height, not the text's length.
        return QSize(200, 80)

    def minimumSizeHint(self) -> QSize:
        return QSize(40, 36)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.setPlainText(text)  # plain text: room content is never rich text


class WhyCard(QFrame):
    """Why one conflicted key resolved as it did: candidates, their fates, the decision.

    Before the stepper reaches a candidate's auth check its fate reads "not
    checked yet"; the deciding sentence appears once the key's last check (or
    the result) has been stepped through, so stepping does not give it away.
    """

    def __init__(
        self, key: StateKey, parent: QWidget | None = None, *, scrolling: bool = False
    ) -> None:
        """``scrolling``: the card fills its pane and its candidate list scrolls inside it
        (the single card of many keys) instead of growing to its full height."""
        super().__init__(parent)
        self.key = key
        self.setObjectName("whyCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setProperty("current", False)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        # The current card's marker: a strip on the left, shown or hidden (cheap,
        # unlike restyling the card).
        self.marker = QFrame(self)
        self.marker.setFixedWidth(5)
        self.marker.setAutoFillBackground(True)
        palette = self.marker.palette()
        palette.setColor(self.marker.backgroundRole(), QColor("#E69F00"))
        self.marker.setPalette(palette)
        self.marker.hide()
        outer.addWidget(self.marker)
        inner = QWidget(self)
        outer.addWidget(inner, 1)
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(2)
        self.title = QLabel(key_text(key), self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)
        self.title.setWordWrap(True)
        self.title.setMinimumWidth(40)
        self.body: _WrappedLabel | _LongText
        if scrolling:
            self.body = _LongText(self)
        else:
            self.body = _WrappedLabel(self)
            self.body.setTextFormat(Qt.TextFormat.PlainText)
            self.body.setWordWrap(True)
            self.body.setMinimumWidth(40)
            self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.decision = _WrappedLabel(self)
        self.decision.setTextFormat(Qt.TextFormat.PlainText)
        self.decision.setWordWrap(True)
        self.decision.setMinimumWidth(40)
        self.decision.setObjectName("whyDecision")
        layout.addWidget(self.title)
        layout.addWidget(self.body, 1 if scrolling else 0)
        layout.addWidget(self.decision)
        self._shown: int | None = None
        self._stepping: Stepping | None = None
        self._thresholds: list[int] | None = None
        self._candidate_at: tuple[int, ...] = ()
        self._decided_at = -1
        self.current = False

    def set_key(self, key: StateKey) -> None:
        """Show another key (the single card of a pane with many keys)."""
        if key != self.key:
            self.key = key
            self.title.setText(key_text(key))
            self._shown = None
            self._thresholds = None

    def show_at(
        self,
        stepping: Stepping,
        index: int,
        set_names: Sequence[str],
        name: Callable[[str], str] = short_id,
    ) -> None:
        """Show what is known of the key after step ``index``.

        Cheap when nothing changed: the steps at which a candidate's fate or the
        decision become known are worked out once, and each call only counts
        how many of them ``index`` has passed.
        """
        if self._thresholds is None or self._stepping is not stepping:
            self._stepping = stepping
            self._shown = None
            candidates = stepping.why(self.key).candidates
            at = [stepping.checked_at(c.event_id, self.key) for c in candidates]
            self._candidate_at = tuple(-1 if a is None else a for a in at)
            decided_at = stepping.decided_at(self.key)
            self._decided_at = -1 if decided_at is None else decided_at
            self._thresholds = sorted(
                {a for a in self._candidate_at if a >= 0} | {self._decided_at}
            )
        final = stepping.steps[index].kind == "result" if stepping.steps else False
        level = len(self._thresholds) + 1 if final else bisect_right(self._thresholds, index)
        if level == self._shown:
            return
        self._shown = level
        decided = final or (self._decided_at >= 0 and index >= self._decided_at)
        revealed = tuple(final or (0 <= a <= index) for a in self._candidate_at)
        why = stepping.why(self.key)
        lines = []
        for candidate, shown in zip(why.candidates, revealed, strict=True):
            where = (
                ", ".join(
                    set_names[i] if i < len(set_names) else f"state set {i + 1}"
                    for i in candidate.state_sets
                )
                or "auth difference / subgraph"
            )
            fate = candidate.fate if shown else "not checked yet"
            lines.append(f"• {candidate.event_id} ({where}): {fate}")
        self.body.setText(_EVENT_ID.sub(lambda m: name(m.group(0)), "\n".join(lines)))
        if decided:
            winner = name(why.winner) if why.winner else "(absent)"
            decision = _EVENT_ID.sub(lambda m: name(m.group(0)), why.decision)
            self.decision.setText(f"→ {winner}. {decision}")
        else:
            self.decision.setText("Undecided so far.")

    def set_current(self, on: bool) -> None:
        if self.current != on:
            self.current = on
            self.setProperty("current", on)
            self.marker.setVisible(on)


class ResolutionPanel(QWidget):
    """Walks a :class:`Stepping` one step at a time; highlights each step on ``canvas``."""

    #: The current step changed (its index).
    stepChanged = Signal(int)
    #: A new stepping was shown.
    steppingChanged = Signal()
    #: The user asked to compare algorithms / to go to an event (double-click a cell).
    compareRequested = Signal()
    eventActivated = Signal(str)

    def __init__(self, canvas: CanvasLike | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resolutionPanel")
        self.canvas = canvas
        self.stepping: Stepping | None = None
        self.index = 0
        #: What the panel last asked the graph view to highlight (None: nothing).
        self.highlighted: frozenset[str] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(PLAY_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        self._cards: dict[StateKey, WhyCard] = {}
        self._set_names: tuple[str, ...] = ()
        self._title_colour = ""
        self._partial_rows = -1
        self._splitter_fitted = False
        self._split_by_user = False
        self._many_keys = False
        self._chosen_key: StateKey | None = None
        self._final: dict[StateKey, str] = {}
        self._keys_sized = False
        self._content_headers: tuple[str, ...] | None = None
        self._build()
        self._shortcuts()
        # A narrow window may clip the step bar rather than be forced wider by it.
        self.setMinimumSize(320, 140)
        self.set_stepping(None)

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 4, 6, 4)
        outer.setSpacing(4)

        bar = QHBoxLayout()
        bar.setSpacing(2)
        self.phase_group = QButtonGroup(self)
        self.phase_group.setExclusive(True)
        self.phase_buttons: dict[int, QToolButton] = {}
        for phase in PHASES:
            button = QToolButton(self)
            button.setText(f"{phase.number} {phase.name}")
            button.setToolTip(phase.description)
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setObjectName(f"phase{phase.number}")
            button.clicked.connect(lambda _c=False, n=phase.number: self.jump_to_phase(n))
            self.phase_group.addButton(button, phase.number)
            self.phase_buttons[phase.number] = button
            bar.addWidget(button)
            if phase.number < len(PHASES):
                arrow = QLabel("›", self)
                arrow.setObjectName("hint")
                bar.addWidget(arrow)
        bar.addStretch(1)
        self.position_label = QLabel(self)
        self.position_label.setObjectName("hint")
        self.position_label.setTextFormat(Qt.TextFormat.PlainText)
        bar.addWidget(self.position_label)
        outer.addLayout(bar)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        # The step: title, explanation, its table.
        step_box = QWidget(self.splitter)
        step_layout = QVBoxLayout(step_box)
        step_layout.setContentsMargins(0, 0, 0, 0)
        step_layout.setSpacing(3)
        self.title = QLabel(step_box)
        self.title.setObjectName("stepTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() + 1.5)
        self.title.setFont(font)
        self.explanation = QLabel(step_box)
        self.explanation.setObjectName("stepExplanation")
        self.explanation.setTextFormat(Qt.TextFormat.PlainText)
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explanation.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.content_model = RowsModel(self)
        self.content = _table(step_box, self.content_model, "stepContent")
        self.content.doubleClicked.connect(self._activated)
        step_layout.addWidget(self.title)
        step_layout.addWidget(self.explanation)
        step_layout.addWidget(self.content, 1)
        self._step_layout = step_layout

        # The partial state so far.
        partial_box = QWidget(self.splitter)
        partial_layout = QVBoxLayout(partial_box)
        partial_layout.setContentsMargins(GAP, 0, 0, 0)
        partial_layout.setSpacing(3)
        self.partial_label = QLabel("Partial state", partial_box)
        self.partial_label.setTextFormat(Qt.TextFormat.PlainText)
        self.partial_label.setFont(self.title.font())
        # Headings whose text changes per step do not set their column's least width:
        # a longer one made the splitter share its space out again (every table moved
        # and was painted twice). A heading too long for its column is cut off.
        for heading in (self.title, self.partial_label):
            heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # The partial-state heading keeps room for its longest wording, whatever the step.
        metrics = self.partial_label.fontMetrics()
        self.partial_label.setMinimumWidth(
            max(
                metrics.horizontalAdvance(text)
                for text in (
                    "Partial state so far (0000 keys, unconflicted start)",
                    "Partial state so far (0000 keys, empty start, v2.1)",
                )
            )
            + 4
        )
        self.partial_model = RowsModel(self)
        self.partial = _table(partial_box, self.partial_model, "partialState")
        self.partial.doubleClicked.connect(self._activated)
        partial_layout.addWidget(self.partial_label)
        partial_layout.addWidget(self.partial, 1)

        # The why-cards.
        why_box = QWidget(self.splitter)
        why_layout = QVBoxLayout(why_box)
        why_layout.setContentsMargins(GAP, 0, 0, 0)
        why_layout.setSpacing(3)
        why_title = QLabel("Why each conflicted key", why_box)
        why_title.setFont(self.title.font())
        self.cards_area = QScrollArea(why_box)
        self.cards_area.setObjectName("whyCards")
        self.cards_area.setWidgetResizable(True)
        self.cards_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.cards_host = QWidget(self.cards_area)
        self.cards_layout = QVBoxLayout(self.cards_host)
        self.cards_layout.setContentsMargins(2, 2, 2, 2)
        self.cards_layout.setSpacing(6)
        self.cards_layout.addStretch(1)
        # Room to scroll the last card to the top: wrapped labels' heights are not
        # always known to the scroll area in time, which would cut the last card.
        self.cards_layout.addSpacing(220)
        self.cards_area.setWidget(self.cards_host)
        # With many conflicted keys, a table of the keys (virtualised, cheap to
        # refresh) and one card, for the current or clicked key, instead of a card
        # per key: hundreds of word-wrapped cards take a long time to lay out.
        self.keys_model = RowsModel(self)
        self.keys_table = _table(why_box, self.keys_model, "whyKeys")
        self.keys_table.clicked.connect(self._key_clicked)
        self.keys_table.hide()
        # ...and that one card fills the pane below the table, its candidate list
        # scrolling inside it: kept from step to step and from resolution to
        # resolution, only its text changes.
        self.single_card = WhyCard(("", ""), why_box, scrolling=True)
        self.single_card.hide()
        why_layout.addWidget(why_title)
        # The table and the card share the height evenly (the card's candidate list
        # scrolls; the table lists hundreds of keys and scrolls too).
        why_layout.addWidget(self.keys_table, 1)
        why_layout.addWidget(self.cards_area, 1)
        why_layout.addWidget(self.single_card, 1)

        self.splitter.addWidget(step_box)
        self.splitter.addWidget(partial_box)
        self.splitter.addWidget(why_box)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 3)
        self.splitter.splitterMoved.connect(self._user_split)
        outer.addWidget(self.splitter, 1)

        buttons = QHBoxLayout()
        self.inputs_label = QLabel(self)
        self.inputs_label.setObjectName("hint")
        self.inputs_label.setTextFormat(Qt.TextFormat.PlainText)
        self.inputs_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        buttons.addWidget(self.inputs_label, 1)
        self.compare_button = QPushButton("Compare v1 / v2 / v2.1", self)
        self.compare_button.setToolTip("Resolve the same state sets with each algorithm")
        self.compare_button.clicked.connect(self.compareRequested.emit)
        self.back_button = QPushButton("‹ Back", self)
        self.back_button.setToolTip("The previous step (P, Left)")
        self.back_button.clicked.connect(self.back)
        self.play_button = QPushButton("Play", self)
        self.play_button.setToolTip("Step automatically (Space)")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._play_toggled)
        self.next_button = QPushButton("Next ›", self)
        self.next_button.setToolTip("The next step (N, Right)")
        self.next_button.clicked.connect(self.next)
        self.next_button.setDefault(True)
        for b in (self.compare_button, self.back_button, self.play_button, self.next_button):
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            buttons.addWidget(b)
        outer.addLayout(buttons)

    def _shortcuts(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        #: N, P and Space; a window that offers them as menu actions disables these.
        self.letter_shortcuts: list[QShortcut] = []
        for keys, slot in (
            ("N", self.next),
            ("P", self.back),
            ("Right", self.next),
            ("Left", self.back),
            ("Space", self.toggle_play),
            ("Home", lambda: self.go_to(0)),
            ("End", lambda: self.go_to(len(self.stepping) - 1 if self.stepping else 0)),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(context)
            shortcut.activated.connect(slot)
            if keys in ("N", "P", "Space"):
                self.letter_shortcuts.append(shortcut)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def sizeHint(self) -> QSize:
        return QSize(1200, 330)

    # --------------------------------------------------------------- the model

    def set_stepping(self, stepping: Stepping | None) -> None:
        """Show ``stepping`` from its first step (None: an empty panel with a hint)."""
        self.stop()
        self.stepping = stepping
        self.index = 0
        for card in self._cards.values():
            if card is not self.single_card:
                card.deleteLater()
        self._cards = {}
        if stepping is None or not stepping.steps:
            self.title.setText("No resolution yet")
            self.explanation.setText(
                "Select a merge event (or several events with Shift+click) and choose "
                "Resolve here (R), or resolve at the forward extremities from the Resolve "
                "menu. The steps of state resolution then appear here, lighting up the "
                "events they are about."
            )
            self.content_model.fill((), [])
            self.partial_model.fill((), [])
            self.keys_model.fill((), [])
            self.keys_table.hide()
            self.single_card.hide()
            self.cards_area.show()
            self._many_keys = False
            self.position_label.setText("")
            self.inputs_label.setText("")
            for button in self.phase_buttons.values():
                button.setEnabled(False)
            self._set_buttons()
            if self.canvas is not None and self.highlighted is not None:
                self.canvas.highlight(None, owner=HIGHLIGHT_OWNER)
            self.highlighted = None
            self.steppingChanged.emit()
            return
        phases = set(stepping.phases)
        for number, button in self.phase_buttons.items():
            button.setEnabled(number in phases)
            if number not in phases:
                button.setToolTip(f"{PHASES[number - 1].description} ({stepping.algorithm}: none)")
        algorithm = stepping.algorithm
        inputs = stepping.inputs or "the given state sets"
        self.inputs_label.setText(
            f"State resolution {algorithm} (room version {stepping.trace.room_version}) of "
            f"{self.readable(inputs)}"
        )
        self.inputs_label.setToolTip(plain_tooltip(inputs))
        self._set_names = tuple(self._set_name(n) for n in stepping.set_names)
        keys = stepping.conflicted_keys()
        self._final = stepping.trace.final_state
        self._keys_sized = False
        self._content_headers = None
        self._many_keys = len(keys) > CARDS_AT_ONCE
        self._chosen_key = keys[0] if keys else None
        self.keys_table.setVisible(self._many_keys)
        self.single_card.setVisible(self._many_keys)
        self.cards_area.setVisible(not self._many_keys)
        self.keys_model.namer = self.name_event
        self.keys_model.label_only = True
        for key in keys if not self._many_keys else ():
            self._add_card(key)
        if not self._splitter_fitted:
            # Once the dock has its size (after this event), share it out; later the
            # user's own splitter positions stay.
            self._splitter_fitted = True
            QTimer.singleShot(0, self._fit_splitter)
        self._show()
        self.steppingChanged.emit()

    def _fit_splitter(self) -> None:
        width = max(self.splitter.width(), 600)
        self.splitter.setSizes([int(width * 0.45), int(width * 0.25), int(width * 0.30)])

    def _user_split(self) -> None:
        self._split_by_user = True

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._splitter_fitted and not self._split_by_user:
            # The dock may take its final width after the first resolution was shown:
            # the columns keep their shares until the user moves a handle.
            self._fit_splitter()

    @property
    def step(self) -> ResolutionStep | None:
        if self.stepping is None or not self.stepping.steps:
            return None
        return self.stepping.steps[self.index]

    # ---------------------------------------------------------------- moving

    def next(self) -> None:
        if self.stepping is not None and self.index + 1 < len(self.stepping):
            self.go_to(self.index + 1)
        else:
            self.stop()

    def back(self) -> None:
        if self.stepping is not None and self.index > 0:
            self.go_to(self.index - 1)

    def go_to(self, index: int) -> None:
        """Show step ``index`` (clamped)."""
        if self.stepping is None or not self.stepping.steps:
            return
        index = max(0, min(index, len(self.stepping) - 1))
        if index == self.index and self.step is not None and self.title.text():
            self._show()
            return
        self.index = index
        self._show()

    def jump_to_phase(self, phase: int) -> None:
        if self.stepping is None:
            return
        first = self.stepping.first_step_of(phase)
        if first is not None:
            self.go_to(first)

    def toggle_play(self) -> None:
        self.play_button.setChecked(not self.play_button.isChecked())

    def play(self) -> None:
        self.play_button.setChecked(True)

    def stop(self) -> None:
        if self.play_button.isChecked():
            self.play_button.setChecked(False)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def _play_toggled(self, on: bool) -> None:
        if on and self.stepping is not None:
            if self.index + 1 >= len(self.stepping):
                self.go_to(0)
            self._timer.start()
            self.play_button.setText("Pause")
        else:
            self._timer.stop()
            self.play_button.setText("Play")

    def _tick(self) -> None:
        self.next()

    def _set_buttons(self) -> None:
        n = len(self.stepping) if self.stepping is not None else 0
        self.back_button.setEnabled(n > 0 and self.index > 0)
        self.next_button.setEnabled(n > 0 and self.index + 1 < n)
        self.play_button.setEnabled(n > 1)
        self.compare_button.setEnabled(n > 0)

    def _activated(self, index: QModelIndex) -> None:
        value = index.data(EVENT_ID_ROLE)
        if isinstance(value, str) and value.startswith("$"):
            self.eventActivated.emit(value)

    # --------------------------------------------------------------- showing

    def _show(self) -> None:
        stepping, step = self.stepping, self.step
        if stepping is None or step is None:
            return
        self.title.setText(f"{step.phase}. {step.title}")
        record = step.record
        colour = ""
        if isinstance(record, AuthCheckStep):
            colour = PASS.name() if record.allowed else FAIL.name()
            if record.outcome == "previously rejected":
                colour = SKIP.name()
        if colour != self._title_colour:
            # A palette of its own, not a style sheet: restyling re-polishes the label
            # and lays the step's column out again (a few ms per pass/fail change).
            self._title_colour = colour
            palette = QPalette()
            if colour:
                palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
            self.title.setPalette(palette)
        self.explanation.setText(_EVENT_ID.sub(lambda m: self._name(m.group(0)), step.explanation))
        self.position_label.setText(
            f"Step {step.index + 1} of {len(stepping)}  ·  {stepping.algorithm}"
        )
        button = self.phase_buttons.get(step.phase)
        if button is not None:
            button.setChecked(True)
        self._fill_content(stepping, step)
        # The explanation's height changes with its text: the step's column is laid
        # out now, so the table moves before it is painted, not just after.
        self._step_layout.activate()
        self._fill_partial(stepping, step)
        self._fill_cards(stepping, step)
        self._set_buttons()
        ids = frozenset(step.event_ids)
        self.highlighted = ids
        if self.canvas is not None:
            self.canvas.highlight(ids, fade_others=True, owner=HIGHLIGHT_OWNER)
            if step.focus is not None:
                self.canvas.centre_on(step.focus)
        self.stepChanged.emit(step.index)

    def _fill_partial(self, stepping: Stepping, step: ResolutionStep) -> None:
        state = stepping.partial_state(step.index)
        applied = {k for k, _ in step.applied}
        rows = sorted(state.items())
        if step.kind == "result":
            self.partial_label.setText(f"Resolved state ({len(state)} keys)")
        elif step.phase == 1:
            self.partial_label.setText("Partial state (nothing resolved yet)")
        else:
            start = "empty start, v2.1" if stepping.algorithm == "v2.1" else "unconflicted start"
            self.partial_label.setText(f"Partial state so far ({len(state)} keys, {start})")
        marks: list[QColor | None] = [MARK if key in applied else None for key, _ in rows]
        self.partial_model.fill(
            ("Key", "Event"),
            [(key_text(k), eid) for k, eid in rows],
            id_columns=(1,),
            marks=marks,
        )
        if len(rows) != self._partial_rows:
            # Only when keys come or go: measuring every row each step costs.
            self._partial_rows = len(rows)
            self.partial.resizeColumnToContents(0)
            if self.partial.columnWidth(0) > 260:
                self.partial.setColumnWidth(0, 260)
            _lay_out_now(self.partial)
        if applied:
            for r, (key, _) in enumerate(rows):
                if key in applied:
                    # Now rather than after the table's own delayed layout (a 0 ms
                    # timer) has set the scroll range for new rows: laid out here, the
                    # table is painted once, already scrolled.
                    _lay_out_now(self.partial)
                    self._scroll_partial(r)
                    break

    def _scroll_keys(self, row: int) -> None:
        if row < self.keys_model.rowCount():
            self.keys_table.scrollTo(
                self.keys_model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter
            )

    def _scroll_partial(self, row: int) -> None:
        if row < self.partial_model.rowCount():
            self.partial.scrollTo(
                self.partial_model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter
            )

    def _fill_cards(self, stepping: Stepping, step: ResolutionStep) -> None:
        """Bring the why-cards up to this step (a card per key, or the key table)."""
        current = set(step.keys) if step.kind in ("auth check", "v1 order") else set()
        if self._many_keys:
            self._fill_key_list(stepping, step, current)
            return
        first: WhyCard | None = None
        for key, card in self._cards.items():
            on = key in current
            card.set_current(on)
            card.show_at(stepping, step.index, self._set_names, self._name)
            if on and first is None:
                first = card
        if first is not None:
            # After the cards' layout settles (their heights change with their text).
            QTimer.singleShot(5, lambda card=first: self._reveal_card(card))

    def _add_card(self, key: StateKey) -> WhyCard:
        card = WhyCard(key, self.cards_host)
        self.cards_layout.insertWidget(self.cards_layout.count() - 2, card)
        self._cards[key] = card
        return card

    def _fill_key_list(
        self, stepping: Stepping, step: ResolutionStep, current: set[StateKey]
    ) -> None:
        """Many conflicted keys: each key's outcome so far in a table, one card below."""
        keys = stepping.conflicted_keys()
        final = step.kind == "result"
        index = step.index
        rows: list[tuple[str, ...]] = []
        marks: list[QColor | None] = []
        current_row = -1
        for r, key in enumerate(keys):
            decided_at = stepping.decided_at(key)
            if final or (decided_at is not None and index >= decided_at):
                winner = self._final.get(key)
                status = winner or "(absent)"
            else:
                status = "undecided"
            rows.append((key_text(key), status))
            on = key in current
            marks.append(MARK if on else None)
            if on and current_row < 0:
                current_row = r
        self.keys_model.fill(
            ("Conflicted key", "Outcome so far"), rows, id_columns=(1,), marks=marks
        )
        if not self._keys_sized:
            self._keys_sized = True
            self.keys_table.resizeColumnToContents(0)
            self.keys_table.setColumnWidth(0, min(self.keys_table.columnWidth(0) + 8, 300))
        if current_row >= 0:
            self._chosen_key = keys[current_row]
            _lay_out_now(self.keys_table)
            self._scroll_keys(current_row)
        self._show_chosen_card(stepping, index, current)

    def _show_chosen_card(self, stepping: Stepping, index: int, current: set[StateKey]) -> None:
        key = self._chosen_key
        if key is None:
            return
        card = self._cards.get(key)
        if card is None:
            # One card, re-aimed at each key: making and deleting widgets per step
            # costs far more than changing their text.
            card = self.single_card
            card.set_key(key)
            self._cards = {key: card}
        card.show_at(stepping, index, self._set_names, self._name)
        card.set_current(key in current)

    def _key_clicked(self, index: QModelIndex) -> None:
        stepping, step = self.stepping, self.step
        if stepping is None or step is None or not self._many_keys:
            return
        keys = stepping.conflicted_keys()
        if 0 <= index.row() < len(keys):
            self._chosen_key = keys[index.row()]
            current = set(step.keys) if step.kind in ("auth check", "v1 order") else set()
            self._show_chosen_card(stepping, step.index, current)

    def _reveal_card(self, card: WhyCard) -> None:
        if card.current:
            # The current key's card at the top of the pane, in full when it fits.
            self.cards_area.verticalScrollBar().setValue(max(0, card.y() - 4))

    def _fill_content(self, stepping: Stepping, step: ResolutionStep) -> None:
        record = step.record
        model = self.content_model
        get_event = self._describe
        # The table's rows are refilled in place (no reset), so a row picked at the
        # last step is let go: it would mark another row of this one.
        selection = self.content.selectionModel()
        if selection is not None and selection.hasSelection():
            selection.clear()
        rows_before = model.rowCount()
        if isinstance(record, InputStep):
            sets = [dict(s) for s in record.state_sets]
            keys = sorted({k for s in sets for k in s})
            rows = []
            marks: list[QColor | None] = []
            for key in keys:
                values = [s.get(key) for s in sets]
                rows.append((key_text(key), *[v or "—" for v in values]))
                marks.append(MARK if len(set(values)) > 1 else None)
            headers = (
                "Key",
                *[
                    self._set_names[i] if i < len(self._set_names) else f"state set {i + 1}"
                    for i in range(len(sets))
                ],
            )
            model.fill(headers, rows, id_columns=range(1, len(sets) + 1), marks=marks)
        elif isinstance(record, SplitStep):
            rows = []
            marks = []
            for key, cands in record.conflicted:
                for eid, where in cands:
                    sets_text = ", ".join(
                        self._set_names[i] if i < len(self._set_names) else str(i + 1)
                        for i in where
                    )
                    rows.append((key_text(key), "conflicted", eid, sets_text or "—"))
                    marks.append(MARK)
            for key, eid in record.unconflicted:
                rows.append((key_text(key), "unconflicted", eid, "every state set"))
                marks.append(None)
            model.fill(("Key", "", "Event", "Held by"), rows, id_columns=(2,), marks=marks)
        elif isinstance(record, OrderingStep):
            rows = []
            by_mainline = record.name == "mainline ordering"
            power_order = record.name == "reverse topological power ordering"
            for i, entry in enumerate(record.entries, 1):
                key_cells = [
                    "creator" if j == 0 and power_order and k == 2**53 else str(k)
                    for j, k in enumerate(entry.key)
                ]
                if power_order:
                    note = "power event" if entry.power_event else "in a power event's auth chain"
                elif by_mainline:
                    note = entry.mainline_event or "none (position 0)"
                else:
                    note = ""
                rows.append((str(i), entry.event_id, get_event(entry.event_id), *key_cells, note))
            last = "Closest mainline event" if by_mainline else "Note"
            headers = ("#", "Event", "What", *record.key_names, last)
            id_cols = [1]
            if record.key_names and record.key_names[-1] == "event ID":
                id_cols.append(2 + len(record.key_names))
            if by_mainline:
                id_cols.append(3 + len(record.key_names))
            model.fill(headers, rows, id_columns=id_cols)
        elif isinstance(record, AuthCheckStep):
            rows = [(key_text(k), eid, get_event(eid)) for k, eid in record.auth_state]
            outcome = {
                "allowed": "passed",
                "rejected": "failed",
                "previously rejected": "skipped (rejected on receipt)",
            }.get(record.outcome, record.outcome)
            rule = f"rule {record.rule}" if record.rule else ""
            if record.rule_name:
                rule += f" ({record.rule_name})" if rule else record.rule_name
            head = [
                ("Checked", record.event_id, get_event(record.event_id)),
                ("Outcome", outcome, rule),
            ]
            if record.reason and record.outcome != "allowed":
                head.append(("Reason", "", record.reason))
            colour = PASS if record.allowed else (SKIP if "previously" in record.outcome else FAIL)
            fg = {(1, 1): colour, (1, 0): colour}
            marks = [MARK, None] + ([None] if len(head) == 3 else [])
            marks += [None] * len(rows)
            model.fill(
                ("Auth state key", "Event", "What"),
                [*head, *rows],
                id_columns=(1,),
                marks=marks,
                fg=fg,
            )
        elif isinstance(record, MainlineStep):
            n = len(record.mainline)
            rows = [(str(n - i), eid, get_event(eid)) for i, eid in enumerate(record.mainline)]
            model.fill(("Position", "Event", "What"), rows, id_columns=(1,))
        elif step.kind == "result":
            final = self._final
            conflicted = set(stepping.conflicted_keys())
            rows = []
            marks = []
            for key in sorted(set(final) | conflicted):
                winner = final.get(key)
                rows.append(
                    (
                        key_text(key),
                        winner or "(absent: reset)",
                        "conflicted" if key in conflicted else "unconflicted",
                        get_event(winner) if winner else "",
                    )
                )
                marks.append(MARK if key in conflicted else None)
            model.fill(("Key", "Event", "", "What"), rows, id_columns=(1,), marks=marks)
        elif isinstance(record, EventSetStep):
            # Where each event comes from; in v2.1, what only the subgraph brings is marked.
            trace = stepping.trace
            split = trace.split
            conflicted_ids = (
                {e for _, cands in split.conflicted for e, _ in cands} if split else set()
            )
            difference = set(trace.event_set("auth difference") or ())
            subgraph = set(trace.event_set("conflicted state subgraph") or ())
            rows = []
            marks = []
            for eid in record.event_ids:
                sources = [
                    name
                    for name, members in (
                        ("conflicted", conflicted_ids),
                        ("auth difference", difference),
                        ("subgraph", subgraph),
                    )
                    if eid in members
                ]
                only_subgraph = sources == ["subgraph"]
                rows.append(
                    (
                        eid,
                        "only the subgraph (v2.1)" if only_subgraph else ", ".join(sources),
                        get_event(eid),
                    )
                )
                marks.append(MARK if only_subgraph else None)
            model.fill(("Event", "From", "What"), rows, id_columns=(0,), marks=marks)
        elif step.event_ids:
            rows = [(eid, get_event(eid)) for eid in step.event_ids]
            model.fill(("Event", "What"), rows, id_columns=(0,))
        else:
            model.fill((), [])
        self._fit_content_columns(rows_changed=model.rowCount() != rows_before)

    def _fit_content_columns(self, *, rows_changed: bool = False) -> None:
        """The step table's columns as wide as their first rows (at most 260 px).

        While the columns stay those of the previous step (the next auth check), a
        column only ever widens: a width that changes at every step makes the table
        lay out and paint again once the step is shown.
        """
        model = self.content_model
        header = self.content.horizontalHeader()
        same = model.headers == self._content_headers
        self._content_headers = model.headers
        resized = False
        # The view would repaint each resized column on a timer of its own, after the
        # step is shown; instead it is laid out once, here, and painted once.
        header.blockSignals(True)
        try:
            # The last column stretches over the rest of the width.
            for c in range(model.columnCount() - 1):
                want = min(260, max(self.content.sizeHintForColumn(c), header.sectionSizeHint(c)))
                if same:
                    want = max(want, header.sectionSize(c))
                if want != header.sectionSize(c):
                    header.resizeSection(c, want)
                    resized = True
        finally:
            header.blockSignals(False)
        if resized or not same or rows_changed:
            header.doItemsLayout()
            self.content.verticalHeader().doItemsLayout()
            _lay_out_now(self.content)

    # ---------------------------------------------------------------- helpers

    #: Set by the window: event ID -> a few words (type, state key, sender).
    describe_event: Callable[[str], str] | None = None

    #: Set by the window: event ID -> a readable name (a sample room's label), or None.
    name_event: Callable[[str], str | None] | None = None

    def set_namer(self, namer: Callable[[str], str | None] | None) -> None:
        """Name events readably (a sample room's labels) in texts and tables."""
        self.name_event = namer
        self.content_model.namer = namer
        self.partial_model.namer = namer
        self.keys_model.namer = namer

    def readable(self, text: str) -> str:
        """``text`` with its event IDs as labels or short IDs (for one-line summaries)."""
        return self._set_name(text)

    def _set_name(self, name: str) -> str:
        """A state set's name with event IDs shortened to labels ("after MB")."""
        return readable_text(name, self.name_event)

    def _name(self, event_id: str) -> str:
        """An event ID as the explanations show it: its label if it has one, else shortened."""
        label = self.name_event(event_id) if self.name_event is not None else None
        return f"{label} ({short_id(event_id, 8)})" if label else short_id(event_id, 14)

    def _describe(self, event_id: str) -> str:
        if self.describe_event is None or not event_id.startswith("$"):
            return ""
        return self.describe_event(event_id)


def install_resolution_dock(window: Any) -> Any:
    """Add the Resolution panel and its actions to ``window`` (app.ui.mainwindow.MainWindow).

    The one hook the window calls. Uses only the window's public parts:
    ``add_bottom_dock``, ``set_resolve_handler``, ``menuBar()``, ``toolbar``,
    ``canvas``, ``document``, ``analysis``, ``jobs``, ``go_to_event`` and
    ``statusBar()``. Returns the controller (tests reach the panel through it).
    """
    from app.ui.resolution_controller import ResolutionController

    return ResolutionController(window)


def _menu_named(window: Any, title: str) -> QMenu | None:
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "") == title:
            return menu
    return None


def add_actions(window: Any, actions: Sequence[QAction]) -> None:
    """Put ``actions`` in the window's Resolve menu (made if absent) and after Resolve here
    on the toolbar."""
    menu = _menu_named(window, "Resolve")
    if menu is None:
        menu = window.menuBar().addMenu("&Resolve")
    for action in actions:
        menu.addAction(action)
    toolbar = getattr(window, "toolbar", None)
    resolve = getattr(window, "act_resolve", None)
    if toolbar is not None:
        anchor = None
        found = False
        for existing in toolbar.actions():
            if found:
                anchor = existing
                break
            if existing is resolve:
                found = True
        for action in actions:
            if action.iconText() and action.property("toolbar"):
                if anchor is not None:
                    toolbar.insertAction(anchor, action)
                else:
                    toolbar.addAction(action)


def make_dock(window: Any, panel: QWidget) -> QDockWidget:
    dock = QDockWidget("Resolution", window)
    dock.setObjectName("resolutionDock")
    dock.setWidget(panel)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable
        | QDockWidget.DockWidgetFeature.DockWidgetClosable
        | QDockWidget.DockWidgetFeature.DockWidgetFloatable
    )
    return dock
