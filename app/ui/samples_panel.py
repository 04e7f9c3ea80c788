"""The Rooms dock: the bundled sample rooms, recent files, and the open room's lesson.

UI.md, "Teaching": each sample room carries a short lesson, a handful of notes
attached to events; the lesson panel steps through the notes and moves the graph
to each. The samples are native room files in ``sample_rooms/`` whose
``annotations`` hold ``{"title", "summary", "lesson": [{"event_id", "note"}]}``
(sample_rooms/README.md).

Titles, summaries and notes come from files, so they are shown as plain text.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.document import Annotations, LessonNote
from app.ui.text import draw_item_frame, plain_tooltip

__all__ = ["LessonPanel", "RoomsPanel", "SampleRoom", "find_samples", "sample_rooms_dir"]

_PATH_ROLE = Qt.ItemDataRole.UserRole + 1
_SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 2
# Sample files larger than this are listed by name, not opened to read their title.
_MAX_PEEK_BYTES = 8 * 1024 * 1024


def sample_rooms_dir() -> Path:
    """The folder of bundled sample rooms (``sample_rooms/`` beside the package)."""
    return Path(__file__).resolve().parents[2] / "sample_rooms"


@dataclass(frozen=True, slots=True)
class SampleRoom:
    """A sample room file and what it says it teaches."""

    path: Path
    title: str
    summary: str
    #: Teaching order (``annotations.order``); samples without one come last.
    order: int | None = None


def _peek_annotations(path: Path) -> Annotations:
    try:
        if path.stat().st_size > _MAX_PEEK_BYTES:
            return Annotations()
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        obj = json.loads(data)
    except (OSError, ValueError, EOFError):
        return Annotations()
    return Annotations.from_json(obj.get("annotations") if isinstance(obj, dict) else None)


def _title_from_name(path: Path) -> str:
    stem = path.name.split(".")[0]
    return stem.replace("_", " ").replace("-", " ").strip().capitalize()


def find_samples(folder: Path | None = None) -> list[SampleRoom]:
    """The sample rooms in ``folder`` (default :func:`sample_rooms_dir`), in teaching order."""
    folder = folder or sample_rooms_dir()
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or not path.name.endswith((".json", ".json.gz", ".ndjson")):
            continue
        notes = _peek_annotations(path)
        title = notes.title or _title_from_name(path)
        out.append(SampleRoom(path, title, notes.summary, notes.order))
    # The teaching order the samples give (linear first), then by file name.
    out.sort(key=lambda s: (s.order is None, s.order or 0, s.path.name))
    return out


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setObjectName("section")
    return label


def _plain(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    return label


class _SampleDelegate(QStyledItemDelegate):
    """Draws a sample as its title over one or two dim lines of its summary.

    Both are drawn with :meth:`QPainter.drawText` on plain strings: no markup is
    ever interpreted.
    """

    SUMMARY_LINES = 2
    PAD = 7

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt, title = draw_item_frame(self, painter, option, index)
        summary = index.data(_SUMMARY_ROLE)
        rect = opt.rect.adjusted(self.PAD + 2, self.PAD - 2, -self.PAD, -self.PAD + 2)
        painter.save()
        bold = QFont(opt.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(opt.palette.color(QPalette.ColorRole.Text))
        fm = QFontMetrics(bold)
        painter.drawText(
            rect.left(),
            rect.top() + fm.ascent(),
            fm.elidedText(title, Qt.TextElideMode.ElideRight, rect.width()),
        )
        if isinstance(summary, str) and summary:
            small = QFont(opt.font)
            small.setPointSizeF(max(7.0, opt.font.pointSizeF() - 0.5))
            painter.setFont(small)
            painter.setPen(opt.palette.color(QPalette.ColorRole.PlaceholderText))
            sfm = QFontMetrics(small)
            y = rect.top() + fm.height() + 2
            for line in _wrap(summary, sfm, rect.width(), self.SUMMARY_LINES):
                painter.drawText(rect.left(), y + sfm.ascent(), line)
                y += sfm.height()
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        fm = QFontMetrics(option.font)
        summary = index.data(_SUMMARY_ROLE)
        lines = self.SUMMARY_LINES if isinstance(summary, str) and summary else 0
        height = fm.height() * (1 + lines) + 2 * self.PAD + 2
        return QSize(200, height)


def _wrap(text: str, fm: QFontMetrics, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap to ``max_lines`` lines, the last elided."""
    words = " ".join(text.split()).split(" ")
    lines: list[str] = []
    current = ""
    for i, word in enumerate(words):
        trial = f"{current} {word}".strip()
        if fm.horizontalAdvance(trial) <= width or not current:
            current = trial
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines - 1:
            rest = " ".join([current, *words[i + 1 :]])
            lines.append(fm.elidedText(rest, Qt.TextElideMode.ElideRight, width))
            return lines
    if current:
        lines.append(fm.elidedText(current, Qt.TextElideMode.ElideRight, width))
    return lines[:max_lines]


class LessonPanel(QWidget):
    """Steps through a room's lesson; ``showEvent(event_id)`` asks the graph to go there."""

    goToEvent = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._notes: tuple[LessonNote, ...] = ()
        self._index = -1

        self.title = _plain(name="lessonTitle")
        self.summary = _plain(name="lessonSummary")
        self.note_frame = QFrame(self)
        self.note_frame.setObjectName("lessonNote")
        self.step_label = _plain(name="hint")
        self.note = _plain(name="noteText")
        note_layout = QVBoxLayout(self.note_frame)
        note_layout.setContentsMargins(12, 10, 12, 12)
        note_layout.setSpacing(6)
        note_layout.addWidget(self.step_label)
        note_layout.addWidget(self.note)

        self.back_button = QPushButton("‹ Back", self)
        self.next_button = QPushButton("Next ›", self)
        self.next_button.setDefault(True)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        self.back_button.setToolTip("The previous note of the lesson")
        self.next_button.setToolTip("The next note of the lesson; the graph moves to its event")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.next_button)

        # The note first (it is what the reader follows), then what the room is
        # about; the text scrolls, the buttons stay put.
        text = QWidget()
        text.setObjectName("lessonText")
        text_layout = QVBoxLayout(text)
        text_layout.setContentsMargins(0, 0, 4, 0)
        text_layout.setSpacing(8)
        text_layout.addWidget(self.title)
        text_layout.addWidget(self.note_frame)
        text_layout.addWidget(self.summary)
        text_layout.addStretch(1)
        self.text_scroll = QScrollArea(self)
        self.text_scroll.setWidgetResizable(True)
        self.text_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.text_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.text_scroll.setWidget(text)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.text_scroll, 1)
        layout.addLayout(buttons)
        self.set_annotations(None)

    @property
    def notes(self) -> tuple[LessonNote, ...]:
        return self._notes

    @property
    def index(self) -> int:
        """The note shown, or -1 before the first."""
        return self._index

    def set_annotations(self, annotations: Annotations | None, *, fallback_title: str = "") -> None:
        """Show a room's title, summary and the start of its lesson."""
        annotations = annotations or Annotations()
        self._notes = annotations.lesson
        self._index = -1
        self.title.setText(annotations.title or fallback_title)
        self.title.setVisible(bool(self.title.text()))
        self.summary.setText(annotations.summary)
        self.summary.setVisible(bool(annotations.summary))
        self._update()

    def next(self) -> None:
        if self._index + 1 < len(self._notes):
            self.go(self._index + 1)

    def back(self) -> None:
        if self._index > 0:
            self.go(self._index - 1)

    def go(self, index: int) -> None:
        """Show note ``index`` and move the graph to its event."""
        if not 0 <= index < len(self._notes):
            return
        self._index = index
        self._update()
        self.goToEvent.emit(self._notes[index].event_id)

    def _update(self) -> None:
        total = len(self._notes)
        if not total:
            self.step_label.setText("")
            self.note.setText("This room has no lesson. Click an event to inspect it.")
        elif self._index < 0:
            self.step_label.setText(f"Lesson · {total} notes")
            self.note.setText("Press Next to walk through this room, one event at a time.")
        else:
            self.step_label.setText(f"Note {self._index + 1} of {total}")
            self.note.setText(self._notes[self._index].note)
        self.step_label.setVisible(bool(self.step_label.text()))
        self.back_button.setVisible(total > 0)
        self.next_button.setVisible(total > 0)
        self.back_button.setEnabled(self._index > 0)
        self.next_button.setEnabled(self._index + 1 < total)
        self.next_button.setText("Start ›" if self._index < 0 else "Next ›")


class RoomsPanel(QWidget):
    """Samples, recent files and the lesson; ``openRequested(path)`` when one is chosen."""

    openRequested = Signal(Path)

    def __init__(self, parent: QWidget | None = None, *, samples_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.samples = find_samples(samples_dir)

        self.sample_list = QListWidget(self)
        self.sample_list.setObjectName("sampleList")
        self.sample_list.setWordWrap(True)
        self.sample_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.sample_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for sample in self.samples:
            item = QListWidgetItem(sample.title)
            item.setData(_PATH_ROLE, str(sample.path))
            item.setData(_SUMMARY_ROLE, sample.summary)
            item.setToolTip(plain_tooltip(f"{sample.summary}\n\n{sample.path.name}".strip()))
            self.sample_list.addItem(item)
        if not self.samples:
            item = QListWidgetItem("No sample rooms found")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.sample_list.addItem(item)
        self.sample_list.setItemDelegate(_SampleDelegate(self.sample_list))
        self.sample_list.setUniformItemSizes(False)
        self.sample_list.itemActivated.connect(self._activated)
        self.sample_list.itemClicked.connect(self._activated)

        self.recent_list = QListWidget(self)
        self.recent_list.setObjectName("recentList")
        self.recent_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.recent_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.recent_list.itemActivated.connect(self._activated)
        self.recent_list.itemClicked.connect(self._activated)

        self.lesson = LessonPanel(self)

        # Rooms to open (samples, recent) share a tabbed box at the top; the lesson
        # of the open room gets the rest, scrolling when a note is long.
        self.room_tabs = QTabWidget(self)
        self.room_tabs.setDocumentMode(True)
        for title, widget in (("Samples", self.sample_list), ("Recent", self.recent_list)):
            page = QWidget()
            page_layout = QVBoxLayout(page)
            page_layout.setContentsMargins(8, 8, 8, 8)
            page_layout.addWidget(widget)
            self.room_tabs.addTab(page, title)

        lesson_box = QWidget()
        lesson_layout = QVBoxLayout(lesson_box)
        lesson_layout.setContentsMargins(12, 10, 12, 10)
        lesson_layout.setSpacing(6)
        lesson_layout.addWidget(_heading("Lesson"))
        lesson_layout.addWidget(self.lesson, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.room_tabs)
        self.splitter.addWidget(lesson_box)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.set_recent([])

    def set_recent(self, paths: Sequence[Path]) -> None:
        self.recent_list.clear()
        for path in paths:
            item = QListWidgetItem(path.name)
            item.setData(_PATH_ROLE, str(path))
            item.setToolTip(plain_tooltip(str(path)))
            self.recent_list.addItem(item)
        if not paths:
            item = QListWidgetItem("Files you open appear here")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent_list.addItem(item)

    def mark_current(self, path: Path | None) -> None:
        """Highlight the sample that is open, if it is one."""
        self.sample_list.clearSelection()
        if path is None:
            return
        for i in range(self.sample_list.count()):
            item = self.sample_list.item(i)
            value = item.data(_PATH_ROLE)
            if isinstance(value, str) and Path(value) == path.resolve():
                item.setSelected(True)
                self.sample_list.setCurrentItem(item)

    def _activated(self, item: QListWidgetItem) -> None:
        value = item.data(_PATH_ROLE)
        if isinstance(value, str):
            self.openRequested.emit(Path(value))
