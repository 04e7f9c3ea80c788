"""Long work off the UI thread, with progress and cancel.

UI.md, "Never": "A frozen window: load, layout, fetch and resolve run off the UI
thread, with progress and cancel." A :class:`Job` runs a plain function on a
:class:`~PySide6.QtCore.QThreadPool`; the function reports progress and checks
for cancellation through the :class:`JobContext` it is given. Results, errors
and progress come back to the UI thread as queued signals, so slots run where
widgets may be touched.

Cancellation is cooperative: :meth:`JobContext.check` raises :class:`Cancelled`
at the next stage boundary. A stage that cannot be interrupted (a library call
without a callback) runs to its end in the background, but its result is
dropped: the window is free the moment the user presses Cancel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.ui.errors import one_line

__all__ = ["Cancelled", "Job", "JobContext", "JobRunner"]


class Cancelled(Exception):
    """Raised inside a job when the user cancelled it."""


class JobContext:
    """What a job's function sees: a way to report progress and to notice Cancel."""

    def __init__(
        self,
        report: Callable[[int, str], None],
        deliver: Callable[[object], None] | None = None,
    ) -> None:
        self._report = report
        self._deliver = deliver
        self._cancelled = threading.Event()

    @property
    def cancelled(self) -> bool:
        """True once the job was asked to stop."""
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Ask the job to stop at its next :meth:`check`."""
        self._cancelled.set()

    def check(self) -> None:
        """Raise :class:`Cancelled` when the job was asked to stop."""
        if self._cancelled.is_set():
            raise Cancelled

    def partial(self, result: object) -> None:
        """Hand a first part of the result to the UI now (the rest follows)."""
        self.check()
        if self._deliver is not None:
            self._deliver(result)

    def progress(self, percent: int, text: str) -> None:
        """Report ``percent`` (0-100, or -1 for "busy, unknown how long") and a stage name."""
        self.check()
        self._report(percent, text)


class _JobSignals(QObject):
    progress = Signal(int, str)
    partial = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()


class Job(QRunnable):
    """One function run on a worker thread; its outcome arrives as one of three signals.

    The signals object is created on the thread that makes the job (the UI
    thread), so connections to it are queued and slots run on the UI thread.
    """

    def __init__(self, name: str, fn: Callable[[JobContext], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.name = name
        self._fn = fn
        self.signals = _JobSignals()
        self.context = JobContext(self.signals.progress.emit, self.signals.partial.emit)
        self._done = threading.Event()

    def run(self) -> None:
        try:
            result = self._fn(self.context)
            self.context.check()
        except Cancelled:
            self.signals.cancelled.emit()
        except Exception as exc:  # every failure becomes one line
            if self.context.cancelled:
                self.signals.cancelled.emit()
            else:
                self.signals.failed.emit(one_line(exc))
        else:
            self.signals.succeeded.emit(result)
        finally:
            self._done.set()

    def cancel(self) -> None:
        """Ask the job to stop; its result, if it still comes, is not delivered."""
        self.context.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished running (tests and shutdown only)."""
        return self._done.wait(timeout)


class JobRunner(QObject):
    """Runs at most one job of each kind; a new job of a kind cancels the old one.

    ``busy(name, percent, text)`` is emitted as a job progresses and
    ``idle()`` when no job is left, so a status-bar indicator can follow.
    """

    busy = Signal(str, int, str)
    idle = Signal()

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._jobs: dict[str, Job] = {}
        # Cancelled jobs may still be running; keep them alive until they end.
        self._retired: list[Job] = []

    @property
    def running(self) -> tuple[str, ...]:
        """The kinds of job currently running."""
        return tuple(self._jobs)

    def submit(
        self,
        kind: str,
        name: str,
        fn: Callable[[JobContext], Any],
        *,
        on_success: Callable[[Any], None],
        on_failure: Callable[[str], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
    ) -> Job:
        """Start ``fn`` on a worker thread as the job of ``kind``, cancelling its predecessor.

        ``name`` is what the status bar says while it runs ("Opening room.json").
        One of the callbacks is called on the UI thread, unless the job is
        superseded or cancelled first (then neither is). ``on_partial`` receives
        what the job hands over early with :meth:`JobContext.partial`.
        """
        self._retire(kind)
        job = Job(name, fn)
        self._jobs[kind] = job

        def current() -> bool:
            return self._jobs.get(kind) is job

        def finish(callback: Callable[[], None] | None = None) -> None:
            # Forget the job, deliver its outcome, then say whether anything is left.
            if current():
                del self._jobs[kind]
            try:
                if callback is not None:
                    callback()
            finally:
                self._reap()

        def succeeded(result: object) -> None:
            deliver = current() and not job.context.cancelled
            finish((lambda: on_success(result)) if deliver else None)

        def failed(message: str) -> None:
            deliver = current() and on_failure is not None
            finish((lambda: on_failure(message)) if deliver and on_failure else None)

        def cancelled() -> None:
            finish()

        def progress(percent: int, text: str) -> None:
            if current():
                self.busy.emit(name, percent, text)

        def partial(result: object) -> None:
            if current() and not job.context.cancelled and on_partial is not None:
                on_partial(result)

        job.signals.succeeded.connect(succeeded)
        job.signals.failed.connect(failed)
        job.signals.cancelled.connect(cancelled)
        job.signals.progress.connect(progress)
        job.signals.partial.connect(partial)
        self.busy.emit(name, -1, "starting")
        self._pool.start(job)
        return job

    def cancel(self, kind: str | None = None) -> None:
        """Cancel the job of ``kind`` (or every job); the UI is free at once."""
        for k in list(self._jobs) if kind is None else [kind]:
            self._retire(k)
        self._reap()

    def _retire(self, kind: str) -> None:
        job = self._jobs.pop(kind, None)
        if job is not None:
            job.cancel()
            self._retired.append(job)

    def wait_for_done(self, msecs: int = 30_000) -> bool:
        """Block until every job (cancelled ones too) has ended; for shutdown and tests."""
        return bool(self._pool.waitForDone(msecs))

    def _reap(self) -> None:
        self._retired = [job for job in self._retired if not job._done.is_set()]
        if not self._jobs:
            self.idle.emit()
