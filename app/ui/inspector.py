"""The inspector: everything about the selected event.

Three tabs (UI.md, "Layout"):

* **Event**: type, sender and server, time; the authorization verdict with the
  rule and the reason; the verification result (event ID, content hash,
  signatures); the ``prev_events`` and ``auth_events`` as links that select the
  event they name.
* **JSON**: the PDU exactly as given, pretty-printed.
* **State**: the room state before and after the event (:class:`StateTable`).

All room text is untrusted, so nothing here is rich text: labels are forced to
:attr:`Qt.TextFormat.PlainText`, the JSON sits in a :class:`QPlainTextEdit`, and the
links are list items (their text is drawn verbatim; the event ID travels in the
item's data, never through HTML).

Spec: https://spec.matrix.org/v1.16/server-server-api/#pdus,
https://spec.matrix.org/v1.16/server-server-api/#checks-performed-on-receipt-of-a-pdu
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import json_text
from app.ui.document import SOFT_FAIL_PENDING, RoomAnalysis, RoomDocument
from app.ui.state_table import StateTable
from app.ui.text import draw_item_frame, plain_tooltip

__all__ = ["EventLinks", "Inspector"]

_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_WHAT_ROLE = Qt.ItemDataRole.UserRole + 2

# What each verification word means to a person (DESIGN.md, `roomscope verify`).
_VERIFY_WORDS = {
    "ok": "✓ ok",
    "not_applicable": "– not applicable",
    "mismatch": "✗ mismatch",
    "invalid": "✗ invalid",
    "unknown_key": "? unknown key",
    "missing": "✗ missing",
}
_VERIFY_LABELS = (
    ("event_id", "Event ID"),
    ("content_hash", "Content hash"),
    ("signatures", "Signatures"),
)


def _plain_label(text: str = "", *, object_name: str = "", selectable: bool = False) -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setText(text)
    if object_name:
        label.setObjectName(object_name)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _when(ts: int) -> str:
    try:
        return datetime.fromtimestamp(ts / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{ts} (not a valid time)"


class _LinkDelegate(QStyledItemDelegate):
    """A link as two lines: the event ID (monospace, link colour, elided in the middle)
    and what the event is (dim, elided at the end). Both are drawn as plain text."""

    PAD = 4

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt, text = draw_item_frame(self, painter, option, index)
        rect = opt.rect.adjusted(self.PAD, self.PAD, -self.PAD, -self.PAD)
        mono = _mono_font(opt.font)
        fm = QFontMetrics(mono)
        painter.save()
        missing = index.data(Qt.ItemDataRole.ForegroundRole) is not None
        link = opt.palette.color(QPalette.ColorRole.Link)
        dim = opt.palette.color(QPalette.ColorRole.PlaceholderText)
        painter.setFont(mono)
        painter.setPen(dim if missing else link)
        line = fm.elidedText(text, Qt.TextElideMode.ElideMiddle, rect.width())
        painter.drawText(rect.left(), rect.top() + fm.ascent(), line)
        what = index.data(_WHAT_ROLE)
        if isinstance(what, str) and what:
            small = QFont(opt.font)
            painter.setFont(small)
            painter.setPen(dim if missing else opt.palette.color(QPalette.ColorRole.Text))
            sfm = QFontMetrics(small)
            what_line = sfm.elidedText(what, Qt.TextElideMode.ElideRight, rect.width() - 12)
            painter.drawText(
                rect.left() + 12, rect.top() + fm.height() + 1 + sfm.ascent(), what_line
            )
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        lines = 2 if index.data(_WHAT_ROLE) else 1
        height = QFontMetrics(_mono_font(option.font)).height() * lines + 2 * self.PAD + 1
        return QSize(200, height)


def _mono_font(base: QFont) -> QFont:
    mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    mono.setPointSizeF(max(7.0, base.pointSizeF() - 1))
    return mono


class EventLinks(QListWidget):
    """A list of event references; clicking one emits ``eventActivated(event_id)``.

    Items show the event ID and what the event is, as plain text. Missing
    events (referenced, not in the file) are shown greyed and still selectable,
    since the graph draws them as placeholders.
    """

    eventActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setItemDelegate(_LinkDelegate(self))
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setObjectName("eventLinks")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.itemClicked.connect(self._clicked)
        self.itemActivated.connect(self._clicked)

    def set_links(self, doc: RoomDocument | None, event_ids: tuple[str, ...]) -> None:
        self.clear()
        for eid in event_ids:
            pdu = doc.pdu(eid) if doc else None
            what = doc.describe(eid) if doc else ""
            item = QListWidgetItem(eid)
            item.setData(_ID_ROLE, eid)
            item.setData(_WHAT_ROLE, what)
            item.setToolTip(plain_tooltip(f"{eid}\n{what}"))
            if pdu is None:
                item.setForeground(self.palette().placeholderText())
            self.addItem(item)
        if not event_ids:
            item = QListWidgetItem("none")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addItem(item)
        self.updateGeometry()

    def event_ids(self) -> list[str]:
        out = []
        for i in range(self.count()):
            value = self.item(i).data(_ID_ROLE)
            if isinstance(value, str):
                out.append(value)
        return out

    def activate(self, event_id: str) -> None:
        """Act as if the link to ``event_id`` was clicked (keyboard users, tests)."""
        for i in range(self.count()):
            if self.item(i).data(_ID_ROLE) == event_id:
                self._clicked(self.item(i))
                return

    def sizeHint(self) -> QSize:
        height = sum(self.sizeHintForRow(i) for i in range(self.count())) or 24
        return QSize(super().sizeHint().width(), height + 2 * self.frameWidth() + 2)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def _clicked(self, item: QListWidgetItem) -> None:
        value = item.data(_ID_ROLE)
        if isinstance(value, str):
            self.eventActivated.emit(value)


class Inspector(QWidget):
    """The selected event's details; ``eventActivated(event_id)`` when a link is followed.

    ``resolveRequested(event_id)`` when the "Resolve state here" button of a merge
    is pressed (shown only once :meth:`set_can_resolve` says resolving is possible).
    """

    eventActivated = Signal(str)
    resolveRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._doc: RoomDocument | None = None
        self._analysis: RoomAnalysis | None = None
        self._event_id: str | None = None

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)

        # --- Event tab
        self.title = _plain_label(object_name="inspectorTitle", selectable=True)
        self.event_id_label = _plain_label(object_name="mono", selectable=True)
        self.facts = QGridLayout()
        self.facts.setHorizontalSpacing(12)
        self.facts.setVerticalSpacing(4)
        self._fact_values: dict[str, QLabel] = {}
        for row, (key, name) in enumerate(
            (("sender", "Sender"), ("server", "Server"), ("time", "Sent"), ("depth", "Depth"))
        ):
            self.facts.addWidget(_plain_label(name, object_name="factName"), row, 0)
            value = _plain_label(selectable=True)
            self.facts.addWidget(value, row, 1)
            self._fact_values[key] = value
        self.facts.setColumnStretch(1, 1)

        self.verdict = _plain_label(object_name="verdict", selectable=True)
        self.verdict_reason = _plain_label(selectable=True)
        self.verification = QGridLayout()
        self.verification.setHorizontalSpacing(12)
        self._verify_values: dict[str, QLabel] = {}
        for row, (key, name) in enumerate(_VERIFY_LABELS):
            self.verification.addWidget(_plain_label(name, object_name="factName"), row, 0)
            value = _plain_label()
            self.verification.addWidget(value, row, 1)
            self._verify_values[key] = value
        self.verification.setColumnStretch(1, 1)
        self.verify_note = _plain_label(object_name="hint")
        self.findings_heading = _plain_label("Findings", object_name="section")
        self.findings = _plain_label(object_name="findings", selectable=True)

        self.prev_links = EventLinks()
        self.auth_links = EventLinks()
        self.prev_links.eventActivated.connect(self.eventActivated)
        self.auth_links.eventActivated.connect(self.eventActivated)
        self.child_links = EventLinks()
        self.child_links.eventActivated.connect(self.eventActivated)

        body = QWidget()
        body.setObjectName("inspectorBody")
        form = QVBoxLayout(body)
        form.setContentsMargins(12, 12, 12, 12)
        form.setSpacing(6)
        form.addWidget(self.title)
        form.addWidget(self.event_id_label)
        # A merge: its prev_events' states meet here, so there is something to resolve.
        self.merge_box = QFrame()
        self.merge_box.setObjectName("mergeBox")
        merge_layout = QHBoxLayout(self.merge_box)
        merge_layout.setContentsMargins(10, 6, 6, 6)
        self.merge_text = _plain_label(object_name="mergeText")
        self.resolve_button = QPushButton("Resolve state here ›")
        self.resolve_button.setToolTip(
            "Step through the state resolution of this merge's prev_events"
        )
        self.resolve_button.clicked.connect(self._resolve_clicked)
        merge_layout.addWidget(self.merge_text, 1)
        merge_layout.addWidget(self.resolve_button)
        self.merge_box.hide()
        self._can_resolve = False
        form.addWidget(self.merge_box)
        form.addSpacing(4)
        form.addLayout(self.facts)
        form.addSpacing(10)
        form.addWidget(_plain_label("Authorization", object_name="section"))
        form.addWidget(self.verdict)
        form.addWidget(self.verdict_reason)
        form.addSpacing(10)
        form.addWidget(_plain_label("Verification", object_name="section"))
        form.addLayout(self.verification)
        form.addWidget(self.verify_note)
        form.addSpacing(10)
        form.addWidget(self.findings_heading)
        form.addWidget(self.findings)
        self.prev_heading = _plain_label("Previous events", object_name="section")
        form.addWidget(self.prev_heading)
        form.addWidget(self.prev_links)
        form.addSpacing(6)
        self.auth_heading = _plain_label("Auth events", object_name="section")
        form.addWidget(self.auth_heading)
        form.addWidget(self.auth_links)
        form.addSpacing(6)
        self.child_heading = _plain_label("Next events", object_name="section")
        self.child_heading.setToolTip("The events that list this one in their prev_events")
        form.addWidget(self.child_heading)
        form.addWidget(self.child_links)
        form.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.tabs.addTab(scroll, "Event")

        # --- JSON tab
        self.json_view = QPlainTextEdit(self)
        self.json_view.setReadOnly(True)
        self.json_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.json_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.json_view.setObjectName("jsonView")
        self.tabs.addTab(self.json_view, "JSON")

        # --- State tab
        self.state_table = StateTable(self)
        self.state_table.eventActivated.connect(self.eventActivated)
        state_page = QWidget()
        state_layout = QVBoxLayout(state_page)
        state_layout.setContentsMargins(8, 8, 8, 8)
        state_layout.addWidget(self.state_table)
        self.tabs.addTab(state_page, "State")

        # --- Nothing selected
        self.empty = _plain_label(
            "Select an event in the graph to see its JSON, its authorization verdict "
            "and the room state before and after it.",
            object_name="hint",
        )
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setContentsMargins(24, 24, 24, 24)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    # -- public

    @property
    def event_id(self) -> str | None:
        """The event shown, or None."""
        return self._event_id

    def set_document(self, doc: RoomDocument | None) -> None:
        """Show nothing of the previous room; analysis results come with :meth:`set_analysis`."""
        self._doc = doc
        self._analysis = None
        self.show_event(None)

    def set_can_resolve(self, on: bool) -> None:
        """Whether "Resolve state here" is available (the stepper is installed)."""
        self._can_resolve = on
        self.show_event(self._event_id)

    def _resolve_clicked(self) -> None:
        if self._event_id is not None:
            self.resolveRequested.emit(self._event_id)

    def set_analysis(self, analysis: RoomAnalysis | None) -> None:
        """The per-event verdicts and states arrived (or were dropped): redraw."""
        self._analysis = analysis
        self.show_event(self._event_id)

    def show_event(self, event_id: str | None) -> None:
        """Show ``event_id`` (present or missing), or the empty hint for None."""
        self._event_id = event_id
        doc = self._doc
        if doc is None or event_id is None:
            self.stack.setCurrentWidget(self.empty)
            self.json_view.setPlainText("")
            self.state_table.set_states(None, None)
            return
        self.stack.setCurrentWidget(self.tabs)
        pdu = doc.pdu(event_id)
        self.event_id_label.setText(event_id)
        if pdu is None:
            self.merge_box.hide()
            self.title.setText("Missing event")
            for value in self._fact_values.values():
                value.setText("—")
            self._set_verdict(
                "unknown",
                "Not in the file",
                "Another event references it, but it was not loaded. The graph shows a "
                "hollow placeholder; fetching more history may fill it in.",
            )
            for value in self._verify_values.values():
                value.setText("—")
            self.verify_note.setText("")
            self.prev_links.set_links(doc, ())
            self.auth_links.set_links(doc, ())
            self.child_heading.setText(f"Next events ({len(doc.graph.children(event_id))})")
            self.child_links.set_links(doc, doc.graph.children(event_id))
            self.json_view.setPlainText("")
            self.state_table.set_states(None, None, note="No state: the event is missing.")
            self._show_findings(event_id)
            return

        key = f"  ·  state key “{pdu.state_key}”" if pdu.state_key else ""
        if pdu.state_key == "":
            key = "  ·  state event"
        self.title.setText(f"{pdu.type}{key}")
        self._fact_values["sender"].setText(pdu.sender)
        self._fact_values["server"].setText(pdu.server_name or "—")
        self._fact_values["time"].setText(_when(pdu.origin_server_ts))
        self._fact_values["depth"].setText(str(pdu.depth))
        merge = len(set(pdu.prev_events)) > 1
        self.merge_box.setVisible(merge)
        self.resolve_button.setVisible(self._can_resolve)
        if merge:
            self.merge_text.setText(
                f"A merge: the states after its {len(set(pdu.prev_events))} previous events "
                "meet here and are resolved into one."
            )
        self.prev_heading.setText(f"Previous events ({len(pdu.prev_events)})")
        self.auth_heading.setText(f"Auth events ({len(pdu.auth_events)})")
        self.prev_links.set_links(doc, pdu.prev_events)
        self.auth_links.set_links(doc, pdu.auth_events)
        children = doc.graph.children(event_id)
        self.child_heading.setText(f"Next events ({len(children)})")
        self.child_links.set_links(doc, children)
        self.json_view.setPlainText(json_text(pdu.raw, indent=2))
        self._show_auth(event_id)
        self._show_verification(event_id)
        self._show_state(event_id)
        self._show_findings(event_id)

    # -- parts

    def _set_verdict(self, kind: str, headline: str, reason: str) -> None:
        self.verdict.setProperty("verdict", kind)
        self.verdict.setText(headline)
        self.verdict.style().unpolish(self.verdict)
        self.verdict.style().polish(self.verdict)
        self.verdict_reason.setText(reason)
        self.verdict_reason.setVisible(bool(reason))

    def _show_auth(self, event_id: str) -> None:
        analysis = self._analysis
        if analysis is None:
            self._set_verdict("pending", "Checking…", "")
            return
        view = analysis.auth.get(event_id)
        if view is None:
            why = analysis.unavailable.get("auth", "no verdict for this event")
            self._set_verdict("unknown", "Not checked", why)
        elif not view.allowed:
            self._set_verdict(
                "rejected", f"Rejected{' by ' + view.rule if view.rule else ''}", view.reason
            )
        elif view.soft_failed:
            self._set_verdict(
                "soft_failed",
                f"Soft-failed{' by ' + view.rule if view.rule else ''}",
                view.reason
                or "Passes against its own auth events but not against the current state.",
            )
        else:
            reason = view.reason
            if not analysis.partial and reason.endswith(SOFT_FAIL_PENDING):
                reason = reason.removesuffix(SOFT_FAIL_PENDING) + " (Soft failure not checked.)"
            self._set_verdict("allowed", "Allowed", reason)

    def _show_verification(self, event_id: str) -> None:
        analysis = self._analysis
        result = analysis.verification.get(event_id) if analysis else None
        for key, _ in _VERIFY_LABELS:
            label = self._verify_values[key]
            word = result.get(key) if result else None
            label.setText(_VERIFY_WORDS.get(word, word) if word else "—")
            label.setProperty("check", word or "")
            label.style().unpolish(label)
            label.style().polish(label)
        if analysis is None or (result is None and analysis.partial):
            self.verify_note.setText("Checking…")
        elif result is None:
            self.verify_note.setText(analysis.unavailable.get("verify", ""))
        else:
            notes = list(analysis.verification_reasons.get(event_id, ()))
            if result.get("signatures") == "unknown_key" and "verify_keys" in analysis.unavailable:
                notes.append(analysis.unavailable["verify_keys"])
            self.verify_note.setText("\n".join(notes))
        self.verify_note.setVisible(bool(self.verify_note.text()))

    def _show_findings(self, event_id: str) -> None:
        """What loading found wrong with this event (duplicate ID, ID mismatch, cycle...)."""
        doc = self._doc
        found = [f.message for f in doc.findings if f.event_id == event_id] if doc else []
        self.findings.setText("\n".join(f"• {m}" for m in found))
        self.findings.setVisible(bool(found))
        self.findings_heading.setVisible(bool(found))

    def _show_state(self, event_id: str) -> None:
        analysis = self._analysis
        doc = self._doc
        if analysis is None or doc is None:
            self.state_table.set_states(None, None, note="Working out the room state…")
            return
        before = analysis.state_before(event_id)
        after = analysis.state_after(event_id)
        if before is None and after is None:
            note = analysis.unavailable.get("state", "No state recorded for this event.")
            self.state_table.set_states(None, None, note=note)
            return
        self.state_table.set_states(before, after, describe=doc.describe)
