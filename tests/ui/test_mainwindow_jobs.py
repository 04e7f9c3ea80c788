"""Long work runs off the UI thread: progress arrives, Cancel frees the window at once,
a superseded job's result is dropped, and a failure becomes one line."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.errors import RoomscopeError
from app.ui.workers import JobContext, JobRunner
from tests.ui.ui_rooms import write_fork_room
from tests.ui.windows import make_window

pytestmark = pytest.mark.timeout(60)


def test_job_runs_off_the_ui_thread_with_progress(qtbot: QtBot) -> None:
    runner = JobRunner()
    ui_thread = QThread.currentThread()
    seen: dict[str, object] = {}
    progress: list[tuple[int, str]] = []
    runner.busy.connect(lambda name, pct, text: progress.append((pct, text)))

    def work(ctx: JobContext) -> int:
        seen["thread"] = QThread.currentThread()
        ctx.progress(50, "half way")
        return 42

    results: list[object] = []
    with qtbot.waitSignal(runner.idle, timeout=10_000):
        runner.submit("k", "Working", work, on_success=results.append)
    assert results == [42]
    assert seen["thread"] is not ui_thread
    assert (50, "half way") in progress


def test_cancel_drops_the_result_and_the_ui_keeps_running(qtbot: QtBot) -> None:
    runner = JobRunner()
    release = threading.Event()
    started = threading.Event()

    def slow(ctx: JobContext) -> str:
        started.set()
        while not release.is_set():
            time.sleep(0.01)
            ctx.check()  # cooperative cancel point
        return "late"

    results: list[object] = []
    runner.submit("k", "Slow", slow, on_success=results.append)
    assert started.wait(5)
    # The event loop still turns while the job runs: a timer fires.
    ticks: list[int] = []
    from PySide6.QtCore import QTimer

    QTimer.singleShot(10, lambda: ticks.append(1))
    qtbot.waitUntil(lambda: bool(ticks), timeout=2000)
    runner.cancel("k")
    assert runner.running == ()
    release.set()
    assert runner.wait_for_done(5000)
    QApplication.processEvents()
    assert results == []


def test_a_new_job_supersedes_the_old_one(qtbot: QtBot) -> None:
    runner = JobRunner()
    gate = threading.Event()
    results: list[object] = []

    def first(ctx: JobContext) -> str:
        gate.wait(5)
        return "first"

    runner.submit("load", "First", first, on_success=results.append)
    with qtbot.waitSignal(runner.idle, timeout=10_000):
        runner.submit("load", "Second", lambda ctx: "second", on_success=results.append)
        gate.set()
    runner.wait_for_done(5000)
    QApplication.processEvents()
    assert results == ["second"]


def test_failure_is_one_line(qtbot: QtBot) -> None:
    runner = JobRunner()
    failures: list[str] = []

    def bad(ctx: JobContext) -> None:
        raise RoomscopeError("room.json: line 3: not valid JSON\n(and more)")

    with qtbot.waitSignal(runner.idle, timeout=10_000):
        runner.submit("k", "Bad", bad, on_success=lambda r: None, on_failure=failures.append)
    assert failures == ["room.json: line 3: not valid JSON (and more)"]


def test_window_cancel_keeps_the_open_room(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = write_fork_room(tmp_path)
    window = make_window(qtbot, tmp_path, samples_dir=tmp_path / "none")
    with qtbot.waitSignal(window.roomOpened, timeout=20_000):
        window.open_file(room.path)
    window.wait_idle()
    opened = window.document

    gate = threading.Event()
    import app.ui.mainwindow as mw

    real = mw.load_document

    def slow_load(path: Path, ctx: JobContext, **kw: Any) -> object:
        ctx.progress(10, "reading the file")
        while not gate.wait(0.01):
            ctx.check()
        return real(path, ctx, **kw)

    monkeypatch.setattr(mw, "load_document", slow_load)
    window.open_file(tmp_path / "other.json")
    qtbot.waitUntil(lambda: "reading the file" in window.busy.text.text(), timeout=5000)
    assert window.busy.isVisible()
    window.busy.cancel.click()
    assert not window.busy.isVisible()
    gate.set()
    window.jobs.wait_for_done(5000)
    QApplication.processEvents()
    assert window.document is opened
    assert window.status_labels["room"].text() == opened.graph.room_id


def test_partial_results_arrive_before_the_final_one(qtbot: QtBot) -> None:
    runner = JobRunner()
    seen: list[tuple[str, object]] = []

    def staged(ctx: JobContext) -> str:
        ctx.partial("verdicts")
        ctx.partial("verification")
        return "everything"

    with qtbot.waitSignal(runner.idle, timeout=10_000):
        runner.submit(
            "k",
            "Staged",
            staged,
            on_success=lambda r: seen.append(("final", r)),
            on_partial=lambda r: seen.append(("partial", r)),
        )
    assert seen == [
        ("partial", "verdicts"),
        ("partial", "verification"),
        ("final", "everything"),
    ]


def test_the_canvas_model_is_built_off_the_ui_thread(qtbot: QtBot, tmp_path: Path) -> None:
    """Opening a room builds what the canvas draws on the loading thread, coloured
    with the window's palette; the UI thread only swaps it in."""
    import app.ui.canvas_model as canvas_model

    room = write_fork_room(tmp_path)
    window = make_window(qtbot, tmp_path, samples_dir=tmp_path / "none")
    built_on: list[int] = []
    real_init = canvas_model.CanvasRoom.__init__

    def spy(self: canvas_model.CanvasRoom, *args: Any, **kw: Any) -> None:
        built_on.append(threading.get_ident())
        real_init(self, *args, **kw)

    canvas_model.CanvasRoom.__init__ = spy  # type: ignore[method-assign]
    try:
        with qtbot.waitSignal(window.roomOpened, timeout=20_000):
            window.open_file(room.path)
        window.wait_idle()
    finally:
        canvas_model.CanvasRoom.__init__ = real_init  # type: ignore[method-assign]
    doc = window.document
    assert doc is not None and doc.canvas_model is not None
    assert len(built_on) == 1 and built_on[0] != threading.main_thread().ident
    shown = window.canvas._room
    assert shown is doc.canvas_model and shown.layout is doc.layout
    assert shown.server_hex[: len(shown.servers)] == tuple(
        window.canvas.theme.palette[: len(shown.servers)]
    )


def test_the_analysis_starts_after_the_first_paint(qtbot: QtBot, tmp_path: Path) -> None:
    """The paint and the analysis share the interpreter: a shown window paints the new
    room first, then analyses it; a hidden one (nothing to paint) analyses at once."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QGraphicsView

    room = write_fork_room(tmp_path)
    window = make_window(qtbot, tmp_path, samples_dir=tmp_path / "none")
    happened: list[str] = []

    class Watch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and window.document is not None:
                happened.append("paint")
            return False

    view = window.canvas.findChild(QGraphicsView)
    assert view is not None
    watch = Watch()
    view.viewport().installEventFilter(watch)
    window.jobs.busy.connect(lambda name, _pct, _text: happened.append(name))
    with qtbot.waitSignal(window.analysisReady, timeout=20_000):
        window.open_file(room.path)
    analysing = happened.index("Analysing")
    assert "paint" in happened[:analysing]

    hidden = make_window(qtbot, tmp_path, samples_dir=tmp_path / "none", show=False)
    with qtbot.waitSignal(hidden.roomOpened, timeout=20_000):
        hidden.open_file(room.path)
    assert "analyse" in hidden.jobs.running
    hidden.wait_idle()
    assert hidden.analysis is not None and not hidden.analysis.partial
