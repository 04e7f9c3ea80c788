"""The main window: the event graph in the middle, docks around it.

UI.md, "Layout": a toolbar (Open, Fetch, Samples | Resolve here | search), the
Rooms dock (samples, recent, lesson) on the left, the Inspector on the right, the
Resolution stepper below (issue 6 installs it with :meth:`MainWindow.add_bottom_dock`),
and a status bar naming the room, its version and its size. Every action lives in a
menu too, with its shortcut, so it can be found.

Opening a room runs off the UI thread (:mod:`app.ui.workers`): the file is read
and its graph built by one job, then the per-event analysis (authorization, state,
verification) by another. A file that fails to open shows one line in a dialog and
leaves the open room exactly as it was (UI.md, "Never").
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QGraphicsView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.ui.canvas import GraphCanvas
from app.ui.document import (
    EventIdsChecked,
    RoomAnalysis,
    RoomDocument,
    analyse_document,
    load_document,
)
from app.ui.errors import show_error
from app.ui.inspector import Inspector
from app.ui.resolution_panel import install_resolution_dock
from app.ui.samples_panel import RoomsPanel
from app.ui.servers_view import install_servers_dock
from app.ui.text import plain_tooltip
from app.ui.workers import JobRunner

__all__ = ["MainWindow"]

#: How many recent files are remembered.
MAX_RECENT = 10
#: Bump when the dock layout changes incompatibly, so old saved states are ignored.
_STATE_VERSION = 1

#: Go menu item -> the key (and its text) the graph view answers to.
_GO_KEYS: dict[str, tuple[Qt.Key, str]] = {
    "parent": (Qt.Key.Key_Up, ""),
    "child": (Qt.Key.Key_Down, ""),
    "left": (Qt.Key.Key_Left, ""),
    "right": (Qt.Key.Key_Right, ""),
    "prev_fork": (Qt.Key.Key_BracketLeft, "["),
    "next_fork": (Qt.Key.Key_BracketRight, "]"),
    "prev_merge": (Qt.Key.Key_BraceLeft, "{"),
    "next_merge": (Qt.Key.Key_BraceRight, "}"),
    "home": (Qt.Key.Key_Home, ""),
    "end": (Qt.Key.Key_End, ""),
}

_RESOLVE_TIP = "Step through state resolution at the selected merge or events"

_ROOM_FILTER = "Room files (*.json *.json.gz *.ndjson *.jsonl);;All files (*)"


#: How long the analysis of a newly opened room waits for the canvas's first paint.
_PAINT_WAIT_MS = 500


class _FirstPaint(QObject):
    """Calls ``then`` once, after ``widget``'s next paint (or when :meth:`fire` is called
    first), then removes itself."""

    def __init__(self, widget: QWidget, then: Callable[[], None]) -> None:
        super().__init__(widget)
        self._then: Callable[[], None] | None = then
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self._then is not None:
            # Queued: runs when this paint is done.
            QTimer.singleShot(0, self, self.fire)
        return False

    def fire(self) -> None:
        then, self._then = self._then, None
        if then is None:
            return
        parent = self.parent()
        if isinstance(parent, QWidget):
            parent.removeEventFilter(self)
        self.deleteLater()
        then()


class _BusyIndicator(QWidget):
    """Progress bar and Cancel button in the status bar, shown while a job runs."""

    def __init__(self, on_cancel: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel(self)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(140)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(10)
        self.cancel = QToolButton(self)
        self.cancel.setText("Cancel")
        self.cancel.setToolTip("Stop this work; the open room stays as it is")
        self.cancel.clicked.connect(on_cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.text)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self.hide()

    def show_progress(self, name: str, percent: int, text: str) -> None:
        self.text.setText(f"{name}: {text}")
        if percent < 0:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 100)
            self.bar.setValue(percent)
        self.show()


class MainWindow(QMainWindow):
    """roomscope's window. ``settings`` is where geometry, docks and recent files live.

    Tests pass a QSettings on a temporary file; the application passes the user's.
    """

    #: Emitted when a room has been opened and shown (its document).
    roomOpened = Signal(object)
    #: Emitted when opening a file failed (the one-line message).
    openFailed = Signal(str)
    #: Emitted when the per-event analysis of the open room has arrived.
    analysisReady = Signal(object)

    def __init__(
        self,
        settings: QSettings,
        *,
        samples_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.document: RoomDocument | None = None
        self.analysis: RoomAnalysis | None = None
        self.theme = "light"
        self._search_hits: list[str] = []
        self._search_index = -1
        self._search_text = ""
        self._loading: Path | None = None
        #: The open room, shown but not yet painted: its analysis starts after the paint.
        self._pending_analysis: RoomDocument | None = None
        self._resolve_handler: Callable[[list[str]], None] | None = None

        self.setWindowTitle("roomscope")
        self.setObjectName("MainWindow")
        self.setAcceptDrops(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.GroupedDragging
        )
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        self.jobs = JobRunner(self)
        self.canvas_widget = GraphCanvas(self)
        self.canvas_widget.setObjectName("graphCanvas")
        self.setCentralWidget(self.canvas_widget)
        self.canvas_widget.selectionChanged.connect(self._on_selection_changed)
        self.canvas_widget.activated.connect(self._on_canvas_activated)
        self.canvas_widget.searchRequested.connect(self.focus_search)

        self.inspector = Inspector(self)
        self.inspector.eventActivated.connect(self.go_to_event)
        self.inspector.resolveRequested.connect(self._resolve_at)
        self.rooms = RoomsPanel(self, samples_dir=samples_dir)
        self.rooms.openRequested.connect(self.open_file)
        self.rooms.lesson.goToEvent.connect(self.go_to_event)

        self.rooms_dock = self._dock("Rooms", "roomsDock", self.rooms)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.rooms_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.inspector_dock)
        self._sized_docks = False

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self.jobs.busy.connect(self.busy.show_progress)
        self.jobs.idle.connect(self.busy.hide)
        self._update_room_actions()
        self.rooms.set_recent(self.recent_files())
        self.restore_window_state()
        self.resolution = install_resolution_dock(self)  # issue 6: stepper dock, Resolve menu
        self.servers = install_servers_dock(self)  # issue 8: per-server views of recordings

    # ------------------------------------------------------------------ set-up

    @property
    def canvas(self) -> GraphCanvas:
        """The graph view (the same widget as ``canvas_widget``)."""
        return self.canvas_widget

    def _dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        return dock

    def set_resolve_handler(self, handler: Callable[[list[str]], None]) -> None:
        """Enable "Resolve state here" (issue 6): ``handler(selected_event_ids)`` runs it.

        The action is enabled whenever a room is open and an event is selected.
        """
        self._resolve_handler = handler
        self.inspector.set_can_resolve(True)
        self._update_room_actions()

    def _resolve_at(self, event_id: str) -> None:
        if self._resolve_handler is not None:
            self.select_event(event_id, centre=False)
            self._resolve_handler([event_id])

    def resolve_here(self) -> None:
        selected = list(self.canvas.selected())
        if self._resolve_handler is not None and selected:
            self._resolve_handler(selected)

    def add_bottom_dock(self, dock: QDockWidget) -> None:
        """Install a dock below the graph (the Resolution stepper of issue 6).

        Its toggle joins the View menu; give it an objectName so its place is
        remembered with the rest of the layout.
        """
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.view_docks_menu.addAction(dock.toggleViewAction())
        self.restore_window_state(docks_only=True)

    def _action(
        self,
        text: str,
        slot: Callable[[], object] | None = None,
        *,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        tip: str = "",
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.act_open = a(
            "&Open…",
            self.open_dialog,
            shortcut=QKeySequence.StandardKey.Open,
            tip="Open a room file (native, JSON array, NDJSON, gzip)",
        )
        self.act_open_folder = a(
            "Open &folder…",
            self.open_folder_dialog,
            tip="Open a folder of JSON batch files as one room (loaded in name order)",
        )
        self.act_fetch = a(
            "&Fetch from homeserver…",
            self.fetch_dialog,
            shortcut="Ctrl+Shift+O",
            tip="Fetch a room's event graph from a homeserver into a room file, then open it",
        )
        self.act_samples = a(
            "&Samples", self.show_samples, tip="Browse the bundled sample rooms and their lessons"
        )
        self.act_resolve = a(
            "&Resolve state here",
            self.resolve_here,
            shortcut="R",
            tip=_RESOLVE_TIP,
        )
        self.act_resolve.setEnabled(False)
        self.act_export = a(
            "&Export image…",
            self.export_dialog,
            shortcut="Ctrl+E",
            tip="Save the graph as PNG or SVG",
        )
        self.act_quit = a("&Quit", self.close, shortcut=QKeySequence.StandardKey.Quit)

        self.act_auth_edges = a(
            "Show &auth edges",
            None,
            shortcut="A",
            checkable=True,
            tip="Draw each event's auth_events as thin curves",
        )
        self.act_auth_edges.toggled.connect(self.set_show_auth_edges)
        self.act_zoom_in = a(
            "Zoom &in", self.canvas.zoom_in, shortcut=QKeySequence.StandardKey.ZoomIn
        )
        self.act_zoom_out = a(
            "Zoom &out", self.canvas.zoom_out, shortcut=QKeySequence.StandardKey.ZoomOut
        )
        self.act_zoom_fit = a("Zoom to &fit", self.canvas.zoom_to_fit, shortcut="Ctrl+0")
        self.theme_group = QActionGroup(self)
        self.act_theme_light = a("&Light", lambda: self.set_theme("light"), checkable=True)
        self.act_theme_dark = a("&Dark", lambda: self.set_theme("dark"), checkable=True)
        for act in (self.act_theme_light, self.act_theme_dark):
            self.theme_group.addAction(act)
        self.act_theme_light.setChecked(True)

        # Go: moving around the graph. The graph view handles these keys itself
        # when it has focus; the menu shows them and sends them to it. The
        # shortcuts are scoped to the menu so they never steal arrow keys from
        # lists and tables elsewhere in the window.
        self.go_actions: dict[str, QAction] = {}
        for key, text, shortcut, tip in (
            ("parent", "&Parent", "Up", "The event's first prev_event, up the lane"),
            ("child", "&Child", "Down", "The first event that lists this one in prev_events"),
            ("left", "&Left lane", "Left", "The nearest event in the lane to the left"),
            ("right", "&Right lane", "Right", "The nearest event in the lane to the right"),
            ("prev_fork", "Previous fork", "[", "The previous event with two or more children"),
            ("next_fork", "Next &fork", "]", "The next event with two or more children"),
            ("prev_merge", "Previous merge", "{", "The previous event with two or more parents"),
            ("next_merge", "Next &merge", "}", "The next event with two or more prev_events"),
            ("home", "&Create event", "Home", "The room's m.room.create event"),
            ("end", "&Extremities", "End", "The forward extremities: the newest events"),
        ):
            act = a(text, functools.partial(self.go, key), shortcut=shortcut, tip=tip)
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.go_actions[key] = act

        self.act_about = a("&About roomscope", self.show_about)
        self.act_shortcuts = a(
            "&Keyboard shortcuts",
            self.show_shortcuts,
            shortcut=QKeySequence.StandardKey.HelpContents,
        )

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_open)
        file_menu.addAction(self.act_open_folder)
        self.sample_menu = file_menu.addMenu("Open &sample")
        for sample in self.rooms.samples:
            act = self.sample_menu.addAction(sample.title)
            act.setToolTip(plain_tooltip(sample.summary))
            act.triggered.connect(lambda _c=False, p=sample.path: self.open_file(p))
        self.sample_menu.setEnabled(bool(self.rooms.samples))
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.act_fetch)
        file_menu.addSeparator()
        file_menu.addAction(self.act_export)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)

        view = bar.addMenu("&View")
        self.view_docks_menu = view.addMenu("&Panels")
        self.view_docks_menu.addAction(self.rooms_dock.toggleViewAction())
        self.view_docks_menu.addAction(self.inspector_dock.toggleViewAction())
        view.addSeparator()
        view.addAction(self.act_auth_edges)
        view.addSeparator()
        view.addAction(self.act_zoom_in)
        view.addAction(self.act_zoom_out)
        view.addAction(self.act_zoom_fit)
        view.addSeparator()
        theme = view.addMenu("&Theme")
        theme.addAction(self.act_theme_light)
        theme.addAction(self.act_theme_dark)

        go = bar.addMenu("&Go")
        for key in ("parent", "child", "left", "right"):
            go.addAction(self.go_actions[key])
        go.addSeparator()
        for key in ("prev_fork", "next_fork", "prev_merge", "next_merge"):
            go.addAction(self.go_actions[key])
        go.addSeparator()
        go.addAction(self.go_actions["home"])
        go.addAction(self.go_actions["end"])
        go.addSeparator()
        self.act_find = go.addAction("&Find…")
        self.act_find.setShortcut(QKeySequence("Ctrl+F"))
        self.act_find.triggered.connect(self.focus_search)

        resolve = bar.addMenu("&Resolve")
        resolve.addAction(self.act_resolve)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_shortcuts)
        help_menu.addSeparator()
        help_menu.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        tb.setIconSize(QSize(16, 16))
        tb.addAction(self.act_open)
        tb.addAction(self.act_fetch)
        tb.addAction(self.act_samples)
        tb.addSeparator()
        tb.addAction(self.act_resolve)
        tb.addSeparator()
        tb.addAction(self.act_auth_edges)
        tb.addAction(self.act_zoom_fit)
        spacer = QWidget(tb)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        self.search = QLineEdit(tb)
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search events   /")
        self.search.setClearButtonEnabled(True)
        self.search.setFixedWidth(280)
        self.search.setToolTip(
            "Find events by ID, type, sender or text. Enter: next match; Esc: back to the graph"
        )
        self.search.returnPressed.connect(self.search_next)
        self.search.textChanged.connect(self._search_text_changed)
        tb.addWidget(self.search)
        self.toolbar = tb
        # Short labels on the toolbar; the menus keep the full names.
        for act, short in (
            (self.act_open, "Open"),
            (self.act_fetch, "Fetch"),
            (self.act_samples, "Samples"),
            (self.act_resolve, "Resolve here"),
            (self.act_auth_edges, "Auth edges"),
            (self.act_zoom_fit, "Fit"),
        ):
            act.setIconText(short)
        slash = QShortcut(QKeySequence("/"), self)
        slash.activated.connect(self.focus_search)
        escape = QShortcut(QKeySequence("Escape"), self.search)
        escape.setContext(Qt.ShortcutContext.WidgetShortcut)
        escape.activated.connect(self.canvas_widget.setFocus)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.status_labels: dict[str, QLabel] = {}
        for key in ("room", "version", "events", "forks", "missing", "servers"):
            label = QLabel(self)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setObjectName(f"status_{key}")
            label.setProperty("statusField", True)
            status.addPermanentWidget(label)
            self.status_labels[key] = label
        self.status_labels["room"].setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        # What is wrong with the file (cycles, duplicate IDs, ID mismatches...): a
        # button that lists them, shown only when there are some.
        self.findings_button = QToolButton(self)
        self.findings_button.setObjectName("findingsButton")
        self.findings_button.setAutoRaise(True)
        self.findings_button.clicked.connect(self.show_findings)
        self.findings_button.hide()
        status.addPermanentWidget(self.findings_button)
        self.busy = _BusyIndicator(self.cancel_jobs, self)
        status.addWidget(self.busy)
        self._update_status()

    # ----------------------------------------------------------------- settings

    def recent_files(self) -> list[Path]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            return []
        return [Path(v) for v in value if isinstance(v, str)][:MAX_RECENT]

    def _remember_recent(self, path: Path) -> None:
        path = path.resolve()
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        self.settings.setValue("recent_files", [str(p) for p in recent[:MAX_RECENT]])
        self.rooms.set_recent(recent[:MAX_RECENT])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for path in recent:
            act = self.recent_menu.addAction(path.name)
            act.setToolTip(plain_tooltip(str(path)))
            act.triggered.connect(lambda _c=False, p=path: self.open_file(p))
        if not recent:
            none = self.recent_menu.addAction("No recent files")
            none.setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction("Clear recent files")
            clear.triggered.connect(self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.setValue("recent_files", [])
        self.rooms.set_recent([])

    def save_window_state(self) -> None:
        """Remember geometry, dock layout, theme and toggles (QSettings)."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(_STATE_VERSION))
        self.settings.setValue("view/theme", self.theme)
        self.settings.setValue("view/auth_edges", self.act_auth_edges.isChecked())
        self.settings.sync()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized_docks:
            # First run (nothing restored): give the side panels room to read.
            self._sized_docks = True
            self.resizeDocks(
                [self.rooms_dock, self.inspector_dock], [320, 460], Qt.Orientation.Horizontal
            )

    def restore_window_state(self, *, docks_only: bool = False) -> None:
        """Bring back what :meth:`save_window_state` remembered, if anything."""
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray | bytes):
            self._sized_docks = self.restoreState(QByteArray(state), _STATE_VERSION)
        if docks_only:
            return
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray | bytes):
            self.restoreGeometry(QByteArray(geometry))
        else:
            self.resize(1440, 900)
        theme = self.settings.value("view/theme", "light")
        self.set_theme(theme if theme in ("light", "dark") else "light")
        auth = self.settings.value("view/auth_edges", False)
        self.act_auth_edges.setChecked(auth in (True, "true", "1", 1))

    # --------------------------------------------------------------- opening

    def open_dialog(self) -> None:
        start = str(self.document.path.parent) if self.document else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a room file", start, _ROOM_FILTER)
        if path:
            self.open_file(Path(path))

    def open_folder_dialog(self) -> None:
        start = str(self.document.path.parent) if self.document else ""
        path = QFileDialog.getExistingDirectory(self, "Open a folder of event batches", start)
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path | str) -> None:
        """Open ``path`` off the UI thread; the current room stays until it succeeds."""
        path = Path(path)
        if self._loading == path:
            return
        self._loading = path
        palette = tuple(self.canvas.theme.palette)
        self.jobs.submit(
            "load",
            f"Opening {path.name}",
            lambda ctx: load_document(path, ctx, palette=palette),
            on_success=self._loaded,
            on_failure=lambda message: self._load_failed(path, message),
        )

    def _loaded(self, doc: object) -> None:
        assert isinstance(doc, RoomDocument)
        self._loading = None
        self.jobs.cancel("analyse")
        self.document = doc
        self.analysis = None
        self._search_hits = []
        self._search_text = ""
        self.inspector.set_document(doc)
        if doc.layout is not None:
            # laid out, and the canvas's model built, off the UI thread
            self.canvas.set_layout(doc.graph, doc.layout, model=doc.canvas_model)
        else:
            self.canvas.set_room(doc.graph)
        self.rooms.lesson.set_annotations(doc.annotations, fallback_title=doc.title)
        self.rooms.mark_current(doc.path)
        self.setWindowTitle(f"{doc.title} — roomscope")
        self._remember_recent(doc.path)
        self._update_status()
        self._update_room_actions()
        ends = doc.graph.forward_extremities
        if ends:
            # The view opens on the newest events already (UI.md); don't move it.
            self.canvas.select([ends[-1]], centre=False)
        self.statusBar().showMessage(f"Opened {doc.path.name}", 4000)
        self.roomOpened.emit(doc)
        self._analyse_after_first_paint(doc)

    def _analyse_after_first_paint(self, doc: RoomDocument) -> None:
        """Start the per-event analysis of ``doc`` once the canvas has painted it.

        The paint and the analysis share one interpreter lock, and the analysis's
        first stage is seconds of pure Python: started at once, it doubled the time
        from "shown" to "painted" of a 100k-event room (0.5 s instead of 0.2 s,
        benchmarks/bench_window.py). A canvas that cannot paint (a hidden or
        minimised window) does not hold the analysis back, nor one that has not
        painted within :data:`_PAINT_WAIT_MS`.
        """
        self._pending_analysis = doc
        viewport = self.canvas.findChild(QGraphicsView)
        if viewport is None or not viewport.isVisible() or self.isMinimized():
            self._start_analysis(doc)
            return
        watcher = _FirstPaint(viewport.viewport(), lambda: self._start_analysis(doc))
        QTimer.singleShot(_PAINT_WAIT_MS, watcher, watcher.fire)

    def _start_analysis(self, doc: RoomDocument) -> None:
        if self._pending_analysis is not doc:
            return  # started already, cancelled, or another room opened since
        self._pending_analysis = None
        self.jobs.submit(
            "analyse",
            "Analysing",
            lambda ctx: analyse_document(doc, ctx),
            on_success=lambda result: self._analysed(doc, result),
            on_partial=lambda result: self._analysed(doc, result),
            on_failure=lambda message: self._analysis_failed(doc, message),
        )

    def _load_failed(self, path: Path, message: str) -> None:
        self._loading = None
        self.openFailed.emit(message)
        show_error(self, "Could not open the room", message)

    def _analysed(self, doc: RoomDocument, result: object) -> None:
        if isinstance(result, EventIdsChecked):
            self._ids_checked(doc, result)
            return
        if doc is not self.document or not isinstance(result, RoomAnalysis):
            return
        self.analysis = result
        self.inspector.set_analysis(result)
        rejected, soft_failed = result.rejected, result.soft_failed
        self.canvas.set_status(rejected=rejected, soft_failed=soft_failed)
        self._update_status()
        if not result.partial:
            self.analysisReady.emit(result)

    def _ids_checked(self, doc: RoomDocument, result: EventIdsChecked) -> None:
        """The event IDs the file gives were checked (after the room was shown): show
        what the check found, as if it had been found while loading."""
        if doc.id_check is not None:
            doc.id_check.room = result.room
        if doc is self.document:
            self._update_status()
            self.inspector.show_event(self.inspector.event_id)

    def _analysis_failed(self, doc: RoomDocument, message: str) -> None:
        if doc is not self.document:
            return
        self.analysis = RoomAnalysis(unavailable={"auth": message, "state": message})
        self.inspector.set_analysis(self.analysis)
        self.statusBar().showMessage(f"Analysis failed: {message}", 8000)

    def cancel_jobs(self) -> None:
        """Stop loading or analysing; the open room and what was worked out so far stay."""
        self._loading = None
        self._pending_analysis = None
        self.jobs.cancel()
        doc = self.document
        if doc is not None and doc.id_check is not None and doc.ids_unchecked:
            doc.id_check.cancelled = True
            self._update_status()
        if self.analysis is not None and self.analysis.partial:
            unavailable = dict(self.analysis.unavailable)
            if not self.analysis.verification:
                unavailable.setdefault("verify", "verification was cancelled")
            unavailable.setdefault("soft_fail", "the check for soft failures was cancelled")
            self.analysis = dataclasses.replace(
                self.analysis, partial=False, unavailable=unavailable
            )
            self.inspector.set_analysis(self.analysis)
        self.statusBar().showMessage("Cancelled", 3000)

    # ---------------------------------------------------------- drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                event.acceptProposedAction()
                self.open_file(Path(url.toLocalFile()))
                return

    # -------------------------------------------------------------- selection

    def select_event(self, event_id: str, *, centre: bool = True) -> None:
        """Select one event in the graph and show it in the inspector."""
        self.canvas.select([event_id], centre=centre)
        if self.inspector.event_id != event_id:
            self.inspector.show_event(event_id)

    def go_to_event(self, event_id: str) -> None:
        """Follow a link (inspector, state table, lesson): select and centre it."""
        if self.document is None:
            return
        self.select_event(event_id, centre=True)
        self.canvas.centre_on(event_id)

    def _on_selection_changed(self, ids: list[str]) -> None:
        current = ids[-1] if ids else None
        if current != self.inspector.event_id:
            self.inspector.show_event(current)
        self._update_room_actions()
        if self.document and len(ids) > 1:
            self.statusBar().showMessage(
                f"{len(ids)} events selected (the inspector shows the last); "
                "Resolve here resolves the states after them",
                8000,
            )
        elif self.document and current:
            self.statusBar().showMessage(self.document.describe(current), 5000)

    def _on_canvas_activated(self, event_id: str) -> None:
        self.canvas.centre_on(event_id)
        self.inspector_dock.show()

    def current_event(self) -> str | None:
        selected = self.canvas.selected()
        return selected[-1] if selected else None

    def go(self, where: str) -> None:
        """Keyboard navigation from the Go menu: the graph view moves the selection.

        The view implements the moves (it knows the lanes); the menu items send
        it the key the user would press, so menu and keyboard can never differ.
        """
        if self.document is None:
            return
        key, text = _GO_KEYS[where]
        self.canvas_widget.setFocus(Qt.FocusReason.ShortcutFocusReason)
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(
                self.canvas_widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, text)
            )

    # ----------------------------------------------------------------- search

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _search_text_changed(self, text: str) -> None:
        if not text.strip():
            self._search_hits = []
            self._search_text = ""
            self.canvas.highlight(None, owner="search")

    def search_next(self) -> list[str]:
        """Find events matching the search box; each Enter selects the next match."""
        text = self.search.text().strip()
        if not text or self.document is None:
            return []
        if text != self._search_text:
            self._search_text = text
            self._search_hits = list(self.canvas.find(text))
            self._search_index = -1
            self.canvas.highlight(
                self._search_hits, fade_others=bool(self._search_hits), owner="search"
            )
        if not self._search_hits:
            self.statusBar().showMessage(f"No event matches “{text}”", 4000)
            return []
        self._search_index = (self._search_index + 1) % len(self._search_hits)
        hit = self._search_hits[self._search_index]
        self.select_event(hit, centre=True)
        self.canvas.centre_on(hit)
        n = len(self._search_hits)
        self.statusBar().showMessage(
            f"Match {self._search_index + 1} of {n} for “{text}” — Enter for the next", 6000
        )
        return list(self._search_hits)

    # ------------------------------------------------------------------- view

    def set_show_auth_edges(self, on: bool) -> None:
        if self.act_auth_edges.isChecked() != on:
            self.act_auth_edges.setChecked(on)  # re-enters through toggled
            return
        self.canvas.set_show_auth_edges(on)

    def set_theme(self, name: str) -> None:
        """Switch the light/dark theme of the window and the graph."""
        self.theme = name
        (self.act_theme_dark if name == "dark" else self.act_theme_light).setChecked(True)
        from app.ui.app import apply_theme

        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)
        self.canvas.set_theme(name)

    def show_samples(self) -> None:
        self.rooms_dock.show()
        self.rooms_dock.raise_()
        self.rooms.room_tabs.setCurrentIndex(0)
        self.rooms.sample_list.setFocus()

    def export_dialog(self) -> None:
        if self.document is None:
            return
        suggested = str(self.document.path.with_suffix("").with_suffix(".png").name)
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the graph", suggested, "PNG image (*.png);;SVG drawing (*.svg)"
        )
        if not path:
            return
        if not path.lower().endswith((".png", ".svg")):
            path += ".svg" if "SVG" in chosen else ".png"
        self.export_image(Path(path))

    def export_image(self, path: Path) -> bool:
        """Draw the graph into ``path`` (.png or .svg); an error is shown, not raised."""
        try:
            self.canvas.export_image(str(path))
        except Exception as exc:
            from app.ui.errors import one_line

            show_error(self, "Could not export the image", one_line(exc))
            return False
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def fetch_dialog(self) -> None:
        """Fetch a room from a homeserver (app.ui.fetch_dialog), then open what it saved."""
        from app.ui.fetch_dialog import open_fetch_dialog  # here: httpx is slow to import

        path = open_fetch_dialog(self)
        if path is not None:
            self.open_file(path)

    def _update_room_actions(self) -> None:
        has_room = self.document is not None
        self.act_export.setEnabled(has_room)
        self.act_zoom_fit.setEnabled(has_room)
        for act in self.go_actions.values():
            act.setEnabled(has_room)
        self.act_resolve.setEnabled(
            has_room and self._resolve_handler is not None and bool(self.canvas.selected())
        )

    def _update_status(self) -> None:
        doc = self.document
        labels = self.status_labels
        if doc is None:
            self.findings_button.hide()
            labels["room"].setText("No room open")
            for key in ("version", "events", "forks", "missing", "servers"):
                labels[key].setText("")
                labels[key].hide()
            return
        g = doc.graph

        def count(n: int, word: str) -> str:
            return f"{n:,} {word}{'' if n == 1 else 's'}"

        labels["room"].setText(g.room_id or "unknown room")
        labels["room"].setToolTip(plain_tooltip(f"{g.room_id or 'unknown room'}\n{doc.path}"))
        labels["version"].setText(f"v{g.room_version.identifier}")
        labels["version"].setToolTip("Room version")
        labels["events"].setText(count(len(g), "event"))
        labels["forks"].setText(count(len(g.forks), "fork"))
        labels["missing"].setText(f"{len(g.missing):,} missing")
        labels["servers"].setText(count(len(g.server_counts), "server"))
        labels["servers"].setToolTip(
            plain_tooltip(
                "\n".join(
                    f"{server or '(no server)'}: {n:,} events"
                    for server, n in list(g.server_counts.items())[:40]
                )
            )
        )
        findings = doc.findings
        self.findings_button.setVisible(bool(findings) or doc.ids_unchecked)
        text = count(len(findings), "finding") if findings else ""
        tip = (
            "What is wrong with this room's events (click for the list):\n"
            + "\n".join(f.message for f in findings[:10])
            + ("\n…" if len(findings) > 10 else "")
            if findings
            else ""
        )
        if doc.id_check is not None and doc.ids_unchecked:
            # A big file's given event IDs are checked just after it is shown.
            cancelled = doc.id_check.cancelled
            note = "event IDs not checked" if cancelled else "checking event IDs…"
            text = f"{text} · {note}" if text else note[0].upper() + note[1:]
            why = (
                "The event IDs this file gives were not checked against their reference "
                "hashes (cancelled); open the file again to check them."
                if cancelled
                else "Checking the event IDs this file gives against their reference "
                "hashes; any that do not match will be listed here."
            )
            tip = f"{why}\n\n{tip}" if tip else why
        if text:
            self.findings_button.setText(text)
            self.findings_button.setToolTip(plain_tooltip(tip))
        if self.analysis is not None and self.analysis.rejected:
            labels["events"].setText(
                f"{count(len(g), 'event')} ({len(self.analysis.rejected):,} rejected)"
            )
        for label in labels.values():
            label.show()

    def show_findings(self) -> None:
        """List what is wrong with the open room; double-click one to go to its event."""
        doc = self.document
        if doc is None or not doc.findings:
            return
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Findings in {doc.path.name}")
        items = QListWidget(dialog)
        items.setWordWrap(True)
        for finding in doc.findings:
            item = QListWidgetItem(f"{finding.kind}: {finding.message}")
            item.setData(Qt.ItemDataRole.UserRole, finding.event_id)
            items.addItem(item)

        def go(item: QListWidgetItem) -> None:
            event_id = item.data(Qt.ItemDataRole.UserRole)
            if isinstance(event_id, str):
                self.go_to_event(event_id)

        items.itemActivated.connect(go)
        hint = QLabel("Double-click a finding to select its event.", dialog)
        hint.setObjectName("hint")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(items)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        dialog.resize(640, 420)
        self._findings_dialog = dialog
        dialog.show()

    # ------------------------------------------------------------------ help

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About roomscope")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(f"roomscope {__version__}")
        box.setInformativeText(
            "See inside Matrix rooms: the event graph, the authorization rules and "
            "state resolution (v1, v2, v2.1), room versions 1 to 12, step by step."
        )
        box.exec()

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(action, keys) for every action that has a shortcut, as the help lists them."""
        rows: list[tuple[str, str]] = []
        actions = [
            self.act_open,
            self.act_export,
            self.act_quit,
            self.act_find,
            self.act_auth_edges,
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_zoom_fit,
            *self.go_actions.values(),
            self.act_shortcuts,
        ]
        for act in actions:
            keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                rows.append((act.text().replace("&", "").rstrip("…"), keys))
        rows.insert(3, ("Search", "/"))
        rows.append(("Select an event", "click"))
        rows.append(("Add to the selection", "Shift+click"))
        rows.append(("Centre on an event", "double-click"))
        return rows

    def show_shortcuts(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        rows = self.shortcut_rows()
        table = QTableWidget(len(rows), 2, dialog)
        table.setHorizontalHeaderLabels(["Action", "Keys"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, (name, keys) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(name))
            table.setItem(r, 1, QTableWidgetItem(keys))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        layout.addWidget(buttons)
        dialog.resize(460, 560)
        self._shortcuts_dialog = dialog
        dialog.show()

    # ------------------------------------------------------------- lifecycle

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_window_state()
        self.jobs.cancel()
        self.jobs.wait_for_done(5000)
        super().closeEvent(event)

    def wait_idle(self, timeout_ms: int = 30_000) -> None:
        """Block until no job runs and their results are delivered (tests, screenshots)."""
        deadline = QTimer()
        deadline.setSingleShot(True)
        deadline.start(timeout_ms)
        app = QApplication.instance()
        while (self.jobs.running or self._pending_analysis is not None) and deadline.isActive():
            self.jobs.wait_for_done(50)
            if app is not None:
                app.processEvents()
        if app is not None:
            app.processEvents()
        with contextlib.suppress(RuntimeError):
            deadline.stop()
