"""What-if: the state with some events treated as never received (issue 6, item 5).

Shows a :class:`app.core.whatif.WhatIf`: which events were left out, where the
state was resolved, the state difference (a :class:`~app.ui.diff_view.DiffView`)
and the events whose verdict changed. The re-resolution itself is
:func:`app.core.whatif.what_if_excluded`. Plain text everywhere.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.core.whatif import WhatIf
from app.ui.diff_view import DiffView

__all__ = ["WhatIfView"]


class WhatIfView(QWidget):
    def __init__(self, result: WhatIf, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("whatIfView")
        self.result = result
        layout = QVBoxLayout(self)
        head = QLabel(result.summary(), self)
        head.setObjectName("whatIfSummary")
        head.setTextFormat(Qt.TextFormat.PlainText)
        head.setWordWrap(True)
        font = head.font()
        font.setBold(True)
        head.setFont(font)
        detail_lines = [
            "Left out (as if never received): " + (", ".join(result.excluded) or "nothing"),
            "Resolved at: "
            + ", ".join(result.at_before)
            + (
                ""
                if result.at_after == result.at_before
                else "; without them at: " + ", ".join(result.at_after)
            ),
        ]
        for event_id, was, now in result.verdicts_changed[:20]:
            detail_lines.append(
                f"{event_id}: {'rejected' if was else 'accepted'} → "
                f"{'rejected' if now else 'accepted'}"
            )
        if len(result.verdicts_changed) > 20:
            detail_lines.append(f"… and {len(result.verdicts_changed) - 20} more")
        details = QLabel("\n".join(detail_lines), self)
        details.setTextFormat(Qt.TextFormat.PlainText)
        details.setWordWrap(True)
        details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.diff_view = DiffView(
            result.before,
            result.after,
            left_name="with every event",
            right_name="without them",
            parent=self,
        )
        layout.addWidget(head)
        layout.addWidget(details)
        layout.addWidget(self.diff_view, 1)
