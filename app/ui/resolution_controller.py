"""Wires the Resolution panel, Compare, What-if, Replay and Diff into the main window.

Made by :func:`app.ui.resolution_panel.install_resolution_dock`, the one hook
the window calls. Uses only the window's public parts (``add_bottom_dock``,
``set_resolve_handler``, ``menuBar()``, ``toolbar``, ``act_resolve``,
``canvas``/``canvas_widget``, ``document``, ``analysis``, ``jobs``,
``go_to_event``, ``statusBar()``, the ``roomOpened``/``analysisReady``
signals). Resolving, comparing and what-ifs run on the window's job runner,
off the UI thread (UI.md, "Never: a frozen window").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from app.core.compare import AlgorithmComparison, compare_algorithms
from app.core.errors import RoomscopeError
from app.core.stepping import (
    ResolutionInputs,
    Stepping,
    inputs_at,
    inputs_from_named_sets,
    step_through,
)
from app.core.whatif import WhatIf, what_if_excluded
from app.ui.resolution_panel import (
    HIGHLIGHT_OWNER,
    ResolutionPanel,
    RowsModel,
    add_actions,
    make_dock,
)

__all__ = ["ResolutionController"]


class ResolutionController(QObject):
    """The stepper's dock and the Resolve menu's actions, for one window."""

    #: A resolution's steps are shown (the :class:`Stepping`).
    steppingReady = Signal(object)
    #: A comparison / what-if / diff / replay dialog was opened (the dialog).
    dialogOpened = Signal(object)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.panel = ResolutionPanel(window.canvas_widget, window)
        self.panel.describe_event = self._describe
        self.panel.set_namer(self._label)
        self.panel.eventActivated.connect(window.go_to_event)
        self.panel.compareRequested.connect(self.compare)
        self.dock = make_dock(window, self.panel)
        self.inputs: ResolutionInputs | None = None
        self._pending: Callable[[], None] | None = None
        self.dialogs: dict[str, QDialog] = {}
        self._sized = False
        window.add_bottom_dock(self.dock)
        if window.settings.value("window/state") is None:
            # First run: the panel appears with the first resolution, not before.
            self.dock.hide()
        # UI.md's layout: the Resolution panel spans the window's whole width, under
        # the Rooms and Inspector docks, so its step bar and why-cards have room.
        window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        window.set_resolve_handler(self.resolve_selection)
        window.roomOpened.connect(self._room_opened)
        window.analysisReady.connect(self._analysis_ready)
        self.dock.visibilityChanged.connect(self._dock_visibility)
        self._build_actions()

    # ---------------------------------------------------------------- actions

    def _action(
        self, text: str, slot: Callable[[], object], tip: str, shortcut: str | None = None
    ) -> QAction:
        action = QAction(text, self.window)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _c=False: slot())
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.act_resolve_ends = a(
            "Resolve at the forward &extremities",
            lambda: self.resolve_selection([]),
            "Step through the resolution of the newest events' states (what the next event sees)",
        )
        self.act_resolve_sets = a(
            "Resolve the file's &state sets",
            self.resolve_named_sets,
            "Step through the resolution of the state sets the room file names",
        )
        self.act_next = a("&Next step", self.panel.next, "The next resolution step", "N")
        self.act_prev = a("&Previous step", self.panel.back, "The previous resolution step", "P")
        self.act_play = a(
            "P&lay / pause",
            self.panel.toggle_play,
            "Step automatically, or stop (Space while the stepper has focus)",
            "Space",
        )
        self.act_compare = a(
            "&Compare v1 / v2 / v2.1",
            self.compare,
            "Resolve the same state sets with each algorithm and mark where they differ",
            "Ctrl+Shift+C",
        )
        self.act_compare.setIconText("Compare")
        self.act_compare.setProperty("toolbar", True)
        self.act_whatif = a(
            "&What if the selected events never arrived…",
            self.what_if,
            "Leave the selected events out, as if never received, and resolve again",
            "Ctrl+Shift+W",
        )
        self.act_replay = a(
            "Re&play the room's history",
            self.replay,
            "Play the room event by event, the state updating, forks and merges called out",
            "Ctrl+Shift+P",
        )
        self.act_replay.setIconText("Replay ›")
        self.act_replay.setProperty("toolbar", True)
        self.act_diff = a(
            "&Diff the states at two events",
            self.diff_selected,
            "Compare the states after the two selected events (Shift+click to select two)",
            "Ctrl+Shift+D",
        )
        actions = [
            self.act_resolve_ends,
            self.act_resolve_sets,
            self.act_next,
            self.act_prev,
            self.act_play,
            self.act_compare,
            self.act_whatif,
            self.act_replay,
            self.act_diff,
        ]
        add_actions(self.window, actions)
        for action in (self.act_next, self.act_prev):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        for shortcut in self.panel.letter_shortcuts:
            shortcut.setEnabled(False)  # the menu's N, P and Space take over from these
        # Space stays the stepper's own (elsewhere it presses buttons, types spaces).
        self.act_play.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.panel.addAction(self.act_play)
        self._update_actions()

    def _update_actions(self) -> None:
        has_states = self._states() is not None
        doc = self.window.document
        self.act_resolve_ends.setEnabled(doc is not None)
        self.act_resolve_sets.setEnabled(doc is not None and bool(doc.room.state_sets))
        stepping = self.panel.stepping is not None
        self.act_next.setEnabled(stepping)
        self.act_prev.setEnabled(stepping)
        self.act_play.setEnabled(stepping)
        for act in (self.act_compare, self.act_whatif, self.act_replay, self.act_diff):
            act.setEnabled(doc is not None and (has_states or self._pending is None))

    # ------------------------------------------------------------------ state

    def _states(self) -> Any:
        analysis = self.window.analysis
        return getattr(analysis, "states", None) if analysis is not None else None

    def _label(self, event_id: str) -> str | None:
        """A sample room's readable name for an event (``annotations.labels``), if any."""
        doc = self.window.document
        if doc is None:
            return None
        labels = doc.room.annotations.get("labels")
        label = labels.get(event_id) if isinstance(labels, Mapping) else None
        return label if isinstance(label, str) and label else None

    def _describe(self, event_id: str) -> str:
        doc = self.window.document
        if doc is None:
            return ""
        what = str(doc.describe(event_id))
        label = self._label(event_id)
        if label and label not in what:
            return f"{label} · {what}"
        return what

    def _room_opened(self, _doc: object) -> None:
        self.inputs = None
        self._pending = None
        self.panel.set_stepping(None)
        for dialog in self.dialogs.values():
            dialog.close()
        self.dialogs.clear()
        self._update_actions()

    def _analysis_ready(self, _analysis: object) -> None:
        pending, self._pending = self._pending, None
        self._update_actions()
        if pending is not None:
            pending()

    def _dock_visibility(self, visible: bool) -> None:
        if not visible and self.panel.highlighted is not None and not self.dock.isFloating():
            # The graph should not stay faded for a panel no one can see.
            canvas = self.window.canvas
            canvas.highlight(None, owner=HIGHLIGHT_OWNER)
            self.panel.highlighted = None
        elif visible and self.panel.stepping is not None:
            self.panel.go_to(self.panel.index)

    def _with_states(self, run: Callable[[Any], None], what: str) -> None:
        """Run ``run(states)`` now, or once the room's analysis has arrived."""
        if self.window.document is None:
            self._status("Open a room first.")
            return
        states = self._states()
        if states is None:
            self._pending = lambda: self._with_states(run, what)
            self._status(f"Working out the room's states first; {what} follows.")
            return
        run(states)

    def _status(self, message: str, ms: int = 6000) -> None:
        self.window.statusBar().showMessage(message, ms)

    # -------------------------------------------------------------- resolving

    def resolve_selection(self, selected: Sequence[str]) -> None:
        """Resolve at a merge (one selected event), at several events, or at the extremities."""
        chosen = list(selected)

        def run(states: Any) -> None:
            try:
                inputs = inputs_at(states, chosen)
            except RoomscopeError as exc:
                self._status(str(exc))
                return
            self._resolve(inputs, states)

        self._with_states(run, "resolution")

    def resolve_named_sets(self) -> None:
        doc = self.window.document
        if doc is None or not doc.room.state_sets:
            self._status("This room file names no state sets.")
            return

        def run(states: Any) -> None:
            try:
                inputs = inputs_from_named_sets(doc.graph.events, doc.room.state_sets)
            except RoomscopeError as exc:
                self._status(str(exc))
                return
            self._resolve(inputs, states)

        self._with_states(run, "resolution")

    def _resolve(self, inputs: ResolutionInputs, states: Any) -> None:
        doc = self.window.document
        version = doc.graph.room_version

        def done(result: object) -> None:
            if doc is not self.window.document or not isinstance(result, Stepping):
                return
            self.show_stepping(result, inputs)

        self.window.jobs.submit(
            "resolve",
            "Resolving",
            lambda ctx: step_through(version, inputs, states),
            on_success=done,
            on_failure=lambda message: self._status(f"Could not resolve: {message}", 10000),
        )

    def show_stepping(self, stepping: Stepping, inputs: ResolutionInputs | None = None) -> None:
        """Show ``stepping`` in the panel (from its first step) and bring the dock up."""
        self.inputs = inputs
        self.dock.show()
        self.dock.raise_()
        if not self._sized and not self.dock.isFloating():
            # First resolution: give the panel room to read (the user's size is kept after).
            self._sized = True
            height = max(320, int(self.window.height() * 0.42))
            self.window.resizeDocks([self.dock], [height], Qt.Orientation.Vertical)
        self.panel.set_stepping(stepping)
        self.panel.setFocus(Qt.FocusReason.OtherFocusReason)
        self._update_actions()
        n = len(stepping.trace.conflicted_keys)
        self._status(
            f"Resolving {self.panel.readable(stepping.inputs)}: {len(stepping)} steps, "
            f"{n} conflicted key{'s' if n != 1 else ''}. N / P step, Space plays."
        )
        self.steppingReady.emit(stepping)

    # --------------------------------------------------------------- compare

    def compare(self) -> None:
        """v1, v2 and v2.1 on the current resolution's inputs (else the selection's)."""

        def run(states: Any) -> None:
            inputs = self.inputs
            if inputs is None:
                try:
                    inputs = inputs_at(states, list(self.window.canvas.selected()))
                except RoomscopeError as exc:
                    self._status(str(exc))
                    return
            doc = self.window.document
            version = doc.graph.room_version
            sets = inputs.state_sets

            def done(result: object) -> None:
                if doc is self.window.document and isinstance(result, AlgorithmComparison):
                    self.show_comparison(result, inputs.description)

            self.window.jobs.submit(
                "compare",
                "Comparing algorithms",
                lambda ctx: compare_algorithms(version, sets, states),
                on_success=done,
                on_failure=lambda m: self._status(f"Could not compare: {m}", 10000),
            )

        self._with_states(run, "the comparison")

    def show_comparison(self, comparison: AlgorithmComparison, what: str) -> QDialog:
        from app.ui.compare_view import CompareView

        view = CompareView(comparison, namer=self._label)
        title = f"v1, v2 and v2.1 on {self.panel.readable(what)}"
        return self._dialog("compare", title, view, (1000, 600))

    # --------------------------------------------------------------- what-if

    def what_if(self) -> None:
        excluded = list(self.window.canvas.selected())
        if not excluded:
            self._status("Select the events to leave out first (Shift+click for several).")
            return
        at = list(self.inputs.at) if self.inputs is not None else []

        def run(states: Any) -> None:
            doc = self.window.document

            def done(result: object) -> None:
                if doc is self.window.document and isinstance(result, WhatIf):
                    self.show_what_if(result)

            self.window.jobs.submit(
                "whatif",
                "Resolving without the selected events",
                lambda ctx: what_if_excluded(states, excluded, at),
                on_success=done,
                on_failure=lambda m: self._status(f"Could not work out the what-if: {m}", 10000),
            )

        self._with_states(run, "the what-if")

    def show_what_if(self, result: WhatIf) -> QDialog:
        from app.ui.whatif_view import WhatIfView

        view = WhatIfView(result)
        self.window.canvas.highlight(list(result.excluded), fade_others=True, owner="dialog")
        return self._dialog("whatif", "What if these events never arrived", view, (820, 520))

    # ----------------------------------------------------------- replay, diff

    def replay(self) -> None:
        def run(states: Any) -> None:
            from app.ui.replay import ReplayView

            view = ReplayView(states, self.window.canvas_widget)
            dialog = self._dialog("replay", "Replay the room's history", view, (640, 560))
            dialog.finished.connect(lambda _r: self.window.canvas.highlight(None, owner="dialog"))

        self._with_states(run, "the replay")

    def diff_selected(self) -> None:
        selected = list(self.window.canvas.selected())
        if len(selected) < 2:
            self._status(
                "Select two events (click one, Shift+click the other) to diff their states."
            )
            return
        left, right = selected[-2], selected[-1]

        def run(states: Any) -> None:
            from app.ui.diff_view import DiffView

            if left not in states or right not in states:
                self._status("Both events must be in the room (not missing).")
                return
            view = DiffView(
                states.state_after(left),
                states.state_after(right),
                left_name=f"after {left}",
                right_name=f"after {right}",
            )
            self.window.canvas.highlight([left, right], fade_others=True, owner="dialog")
            self._dialog("diff", "The states after two events", view, (820, 520))

        self._with_states(run, "the diff")

    def _dialog(self, name: str, title: str, view: QWidget, size: tuple[int, int]) -> QDialog:
        old = self.dialogs.pop(name, None)
        if old is not None:
            old.close()
        dialog = QDialog(self.window)
        dialog.setWindowTitle(title)
        dialog.setObjectName(f"{name}Dialog")
        for model in view.findChildren(RowsModel):
            model.namer = self._label  # sample rooms' labels in every table
        layout = QVBoxLayout(dialog)
        layout.addWidget(view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        dialog.resize(*size)
        dialog.setModal(False)
        self.dialogs[name] = dialog
        dialog.show()
        self.dialogOpened.emit(dialog)
        return dialog
