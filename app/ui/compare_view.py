"""Compare mode: one resolution under v1, v2 and v2.1 side by side (UI.md, "Teaching").

A table with one row per state key and one column per algorithm; rows where the
algorithms disagree are marked and listed first, and below it, for each such
key, the sentence that decided it under each algorithm (from the traces,
:meth:`app.core.stateres.trace.Trace.why`) and what v2.1 replays that v2 does
not (its conflicted state subgraph). The MSC4297 rooms show the difference
plainly: v2 resets the power levels, v2.1 keeps the newest.

Plain text everywhere: keys and IDs come from the room.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QLabel, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from app.core.compare import AlgorithmComparison
from app.core.stepping import key_text
from app.ui.resolution_panel import FAIL, MARK, RowsModel, _table, readable_text

__all__ = ["CompareView"]


class CompareView(QWidget):
    """Shows an :class:`AlgorithmComparison`."""

    def __init__(
        self,
        comparison: AlgorithmComparison,
        parent: QWidget | None = None,
        *,
        namer: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.comparison = comparison
        self.namer = namer
        layout = QVBoxLayout(self)
        self.summary = QLabel(self)
        self.summary.setObjectName("compareSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        font = self.summary.font()
        font.setBold(True)
        self.summary.setFont(font)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.model = RowsModel(self)
        self.model.namer = namer
        self.model.label_only = True
        self.table = _table(splitter, self.model, "compareTable")
        self.details = QPlainTextEdit(splitter)
        self.details.setObjectName("compareDetails")
        self.details.setReadOnly(True)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)
        self._fill()

    def differing_rows(self) -> list[int]:
        """The table rows marked as differing (tests)."""
        return [r for r, mark in enumerate(self.model.marks) if mark is not None]

    def _fill(self) -> None:
        c = self.comparison
        algorithms = c.algorithms
        differing = set(c.differing)
        native = c.native
        keys = [k for k in c.keys if k in differing] + [k for k in c.keys if k not in differing]
        rows: list[tuple[str, ...]] = []
        marks: list[QColor | None] = []
        for key in keys:
            values = []
            for algorithm in algorithms:
                result = c.result(algorithm)
                if result.error is not None:
                    values.append("(failed)")
                else:
                    values.append(result.state.get(key) or "(absent)")
            rows.append((key_text(key), *values, "differs" if key in differing else ""))
            marks.append(MARK if key in differing else None)
        headers = (
            "Key",
            *[f"{a} (this room's)" if a == native else a for a in algorithms],
            "",
        )
        fg: dict[tuple[int, int], QColor] = {}
        for r, key in enumerate(keys):
            if key in differing:
                for col in range(1, len(algorithms) + 2):
                    fg[(r, col)] = FAIL
        self.model.fill(headers, rows, id_columns=range(1, len(algorithms) + 1), marks=marks, fg=fg)
        # The algorithms' columns share the width; the key column fits its text.
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        self.table.resizeColumnToContents(0)
        header.resizeSection(0, min(header.sectionSize(0) + 12, 280))
        for col in range(1, len(algorithms) + 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(len(headers) - 1, 70)
        if differing:
            names = ", ".join(key_text(k) for k in c.differing)
            self.summary.setText(
                f"The algorithms disagree on {len(differing)} key"
                f"{'s' if len(differing) != 1 else ''}: {names}."
            )
        else:
            self.summary.setText("v1, v2 and v2.1 resolve these state sets the same way.")
        lines: list[str] = []
        for algorithm in algorithms:
            result = c.result(algorithm)
            if result.error is not None:
                lines.append(f"{algorithm} could not resolve these state sets: {result.error}")
        for key in c.differing:
            lines.append(key_text(key))
            for algorithm in algorithms:
                why = c.explanation(algorithm, key)
                if why is None:
                    continue
                lines.append(f"  {algorithm} → {why.winner or '(absent)'}")
                lines.append(f"      {why.decision}.")
            lines.append("")
        if "v2" in algorithms and "v2.1" in algorithms:
            pair = c.pair("v2.1", "v2")
            if pair is not None and pair.differing_keys:
                lines.append(pair.render_text())
        text = "\n".join(lines) or "Nothing differs."
        self.details.setPlainText(readable_text(text, self.namer))
