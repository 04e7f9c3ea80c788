"""The window's Fetch dialog: a room from a homeserver into a room file, off the UI thread.

UI.md ("Never": a frozen window): the fetch runs on a worker thread, the dialog
shows its progress (events, pages, missing; a bar when the depth tells how far
back there is to go) and Cancel stops it between two requests, keeping what
was fetched. The room is saved to a file the user picks, and the window then
opens that file the way it opens any other, so nothing already open is lost if
something goes wrong.

The hook for the main window::

    from app.ui.fetch_dialog import open_fetch_dialog

    path = open_fetch_dialog(self)      # modal; None when nothing was saved
    if path is not None:
        self.open_file(path)

The access token and the password live only in the dialog's fields and the
fetch's memory: they are never saved in settings or in the file. Text from the
server (errors, notes) is shown as plain text.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import RoomscopeError
from app.sources.homeserver import (
    TOKEN_ENV,
    Credentials,
    FetchOptions,
    FetchProgress,
    FetchResult,
    fetch_room,
    read_native_file,
    save_fetched,
)
from app.sources.http_client import CancelToken
from app.ui.errors import one_line

__all__ = ["FetchDialog", "open_fetch_dialog"]


class _Signals(QObject):
    """Emitted from the worker thread; queued to the dialog on the UI thread."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)


def _default_folder() -> Path:
    return Path.home() / "roomscope"


def _file_name_for(room: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in room.strip("#!"))
    return f"{safe or 'room'}.json"


class FetchDialog(QDialog):
    """Ask where and what to fetch, fetch it on a worker thread, save it.

    After ``exec()`` returns Accepted, :attr:`saved_path` is the room file
    written (possibly a partial room, when the user cancelled). ``transport``
    is for tests (``httpx.MockTransport``).
    """

    def __init__(
        self, parent: QWidget | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fetch a room from a homeserver")
        self.setModal(True)
        self.saved_path: Path | None = None
        self.result_summary: str = ""
        self._transport = transport
        self._cancel: CancelToken | None = None
        self._thread: threading.Thread | None = None
        self._signals = _Signals()
        self._signals.progress.connect(self._on_progress)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)

        self.homeserver = QLineEdit()
        self.homeserver.setPlaceholderText("https://matrix.example.org")
        self.room = QLineEdit()
        self.room.setPlaceholderText("#room:example.org or !id:example.org")
        self.use_token = QRadioButton("Access token")
        self.use_password = QRadioButton("User and password")
        self.use_token.setChecked(True)
        self.token = QLineEdit(os.environ.get(TOKEN_ENV, ""))
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.user = QLineEdit()
        self.user.setPlaceholderText("@alice:example.org or alice")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.limit = QSpinBox()
        self.limit.setRange(0, 10_000_000)
        self.limit.setSpecialValueText("all, back to the create event")
        self.ca_file = QLineEdit()
        self.ca_file.setPlaceholderText("system CAs (TLS is always verified)")
        self.output = QLineEdit()
        self.extend = QCheckBox("Add to the file if it exists (fetch only what is new)")
        self.extend.setChecked(True)

        browse_out = QPushButton("Browse…")
        browse_out.clicked.connect(self._browse_output)
        browse_ca = QPushButton("Browse…")
        browse_ca.clicked.connect(self._browse_ca)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output)
        out_row.addWidget(browse_out)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file)
        ca_row.addWidget(browse_ca)
        auth_row = QHBoxLayout()
        auth_row.addWidget(self.use_token)
        auth_row.addWidget(self.use_password)

        form = QFormLayout()
        form.addRow("Homeserver", self.homeserver)
        form.addRow("Room", self.room)
        form.addRow("Sign in with", auth_row)
        form.addRow("Access token", self.token)
        form.addRow("User", self.user)
        form.addRow("Password", self.password)
        form.addRow("Events", self.limit)
        form.addRow("CA file", ca_row)
        form.addRow("Save to", out_row)
        form.addRow("", self.extend)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.status = QLabel("")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)

        self.buttons = QDialogButtonBox()
        self.fetch_button = self.buttons.addButton("Fetch", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.fetch_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

        self.use_token.toggled.connect(self._update_auth_fields)
        self.room.textEdited.connect(self._suggest_output)
        self._update_auth_fields()

    # -- form ---------------------------------------------------------------

    def _update_auth_fields(self) -> None:
        token = self.use_token.isChecked()
        self.token.setEnabled(token)
        self.user.setEnabled(not token)
        self.password.setEnabled(not token)

    def _suggest_output(self, text: str) -> None:
        if not self.output.isModified():
            self.output.setText(str(_default_folder() / _file_name_for(text)))

    def _browse_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the room as", self.output.text(), "Room files (*.json *.json.gz)"
        )
        if path:
            self.output.setText(path)
            self.output.setModified(True)

    def _browse_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CA bundle", "", "PEM files (*.pem *.crt)")
        if path:
            self.ca_file.setText(path)

    def _credentials(self) -> Credentials:
        if self.use_token.isChecked():
            token = self.token.text().strip()
            if not token:
                raise RoomscopeError("give an access token, or sign in with user and password")
            return Credentials(access_token=token)
        if not self.user.text().strip() or not self.password.text():
            raise RoomscopeError("give both the user and the password")
        return Credentials(user=self.user.text().strip(), password=self.password.text())

    # -- running ------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Check the form and start the fetch on a worker thread."""
        if self.running:
            return
        try:
            credentials = self._credentials()
            homeserver = self.homeserver.text().strip()
            room = self.room.text().strip()
            if not homeserver or not room:
                raise RoomscopeError("give the homeserver and the room")
            out_text = self.output.text().strip() or str(_default_folder() / _file_name_for(room))
            path = Path(out_text).expanduser()
            existing: dict[str, Any] | None = None
            if path.exists() and self.extend.isChecked():
                existing = read_native_file(path)
            ca = self.ca_file.text().strip()
            if ca and not Path(ca).is_file():
                raise RoomscopeError(f"CA file {ca}: no such file")
        except RoomscopeError as exc:
            self.status.setText(one_line(exc))
            return
        self.output.setText(str(path))
        options = FetchOptions(limit=self.limit.value() or None)
        self._cancel = CancelToken()
        cancel = self._cancel
        signals = self._signals
        transport = self._transport

        def work() -> None:
            try:
                result = fetch_room(
                    homeserver,
                    room,
                    credentials,
                    options=options,
                    existing=existing,
                    progress=signals.progress.emit,
                    cancel=cancel,
                    transport=transport,
                    verify=ca or True,
                )
                if result.events:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    save_fetched(result, path)
                signals.finished.emit((result, path))
            except Exception as exc:  # shown in the dialog as one line
                signals.failed.emit(one_line(exc))

        self._set_running(True)
        self.status.setText("Signing in…")
        self._thread = threading.Thread(target=work, name="roomscope-fetch-dialog", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop a running fetch (keeping what it has), or close the dialog."""
        if self.running and self._cancel is not None:
            self._cancel.cancel()
            self.status.setText("Cancelling: saving what was fetched…")
            self.cancel_button.setEnabled(False)
            return
        self.reject()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the worker (tests, closing); True when it is done."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def reject(self) -> None:
        if self.running and self._cancel is not None:
            self._cancel.cancel()
            self.wait(5.0)
        super().reject()

    def _set_running(self, running: bool) -> None:
        for widget in (
            self.homeserver,
            self.room,
            self.use_token,
            self.use_password,
            self.limit,
            self.ca_file,
            self.output,
            self.extend,
            self.fetch_button,
        ):
            widget.setEnabled(not running)
        if not running:
            self._update_auth_fields()
        else:
            for widget in (self.token, self.user, self.password):
                widget.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setVisible(running)

    def _on_progress(self, p: FetchProgress) -> None:
        fraction = p.fraction
        if self.limit.value():
            fraction = min(p.events / self.limit.value(), 1.0)
        if fraction is None or p.phase != "paging":
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(fraction * 100))
        if self._cancel is not None and self._cancel.cancelled:
            return
        self.status.setText(f"{p.phase}: {p.events} events, {p.pages} pages, {p.missing} missing")

    def _on_finished(self, outcome: tuple[FetchResult, Path]) -> None:
        result, path = outcome
        self._set_running(False)
        if not result.events:
            self.status.setText("Nothing was fetched; nothing saved.")
            return
        state = "complete" if result.complete else "incomplete"
        if result.cancelled:
            state = "cancelled, kept what was fetched"
        self.result_summary = (
            f"{len(result.events)} events of {result.room_id}, {len(result.missing)} missing "
            f"({state})"
        )
        self.saved_path = path
        self.accept()

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        self.status.setText(message)


def open_fetch_dialog(parent: QWidget | None = None) -> Path | None:
    """Run the Fetch dialog modally; the room file it saved, or None.

    The caller opens the file as any other (``MainWindow.open_file(path)``).
    """
    dialog = FetchDialog(parent)
    try:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return dialog.saved_path
        return None
    finally:
        dialog.deleteLater()
