"""Two states side by side, the keys where they differ highlighted (issue 6, "Diff two states").

Used for the state at two events and for a what-if's before and after. The
difference itself is :func:`app.core.statediff.diff_states`; this view only shows
it. Plain text everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget

from app.core.events import StateKey
from app.core.statediff import StateDiff, diff_states
from app.core.stepping import key_text
from app.ui.resolution_panel import FAIL, MARK, PASS, RowsModel, _table

__all__ = ["DiffView"]


class DiffView(QWidget):
    """The states ``left`` and ``right`` (named ``left_name``/``right_name``) compared."""

    def __init__(
        self,
        left: Mapping[StateKey, str],
        right: Mapping[StateKey, str],
        *,
        left_name: str = "left",
        right_name: str = "right",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("diffView")
        self.left, self.right = dict(left), dict(right)
        self.names = (left_name, right_name)
        self.diff: StateDiff = diff_states(self.left, self.right)
        layout = QVBoxLayout(self)
        self.summary = QLabel(self.diff.summary(), self)
        self.summary.setObjectName("diffSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.only_changes = QCheckBox("Only the keys that differ", self)
        self.only_changes.setChecked(True)
        self.only_changes.toggled.connect(self._fill)
        self.model = RowsModel(self)
        self.table = _table(self, self.model, "diffTable")
        layout.addWidget(self.summary)
        layout.addWidget(self.only_changes)
        layout.addWidget(self.table, 1)
        self._fill()

    def _fill(self) -> None:
        changed = {c.key: c for c in self.diff.changes}
        keys = sorted(set(self.left) | set(self.right))
        if self.only_changes.isChecked():
            keys = [k for k in keys if k in changed]
        rows: list[tuple[str, ...]] = []
        marks: list[QColor | None] = []
        fg: dict[tuple[int, int], QColor] = {}
        for r, key in enumerate(keys):
            change = changed.get(key)
            kind = change.kind if change is not None else ""
            rows.append(
                (
                    key_text(key),
                    self.left.get(key) or "—",
                    self.right.get(key) or "—",
                    kind,
                )
            )
            marks.append(MARK if change is not None else None)
            if kind == "added":
                fg[(r, 3)] = PASS
            elif kind == "removed":
                fg[(r, 3)] = FAIL
        self.model.fill(("Key", *self.names, ""), rows, id_columns=(1, 2), marks=marks, fg=fg)
        self.table.resizeColumnsToContents()
