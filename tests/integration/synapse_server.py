"""A real Synapse homeserver for integration tests, started from the venv.

``SynapseServer`` writes a small, fast configuration into a temporary folder
(SQLite, one HTTP listener on 127.0.0.1 at a free port, registration closed,
users made through the registration shared secret, presence, URL previews and
rate limits off, low bcrypt rounds), starts ``python -m synapse.app.homeserver``
and waits for ``/health``. A fresh server is up in a few seconds on this box.

Use it through the ``synapse`` fixture of ``tests/integration/conftest.py``
(one server per test module), or directly::

    with SynapseServer.started(tmp_path) as hs:
        alice = hs.register("alice", admin=True)
        room_id = alice.create_room(room_version="12", alias="demo")
        alice.send_message(room_id, "hello")

``Client`` is a deliberately small client-server API helper for *populating*
rooms (it is test code, not the fetcher under test). It raises
``AssertionError`` with the server's answer on any non-2xx response so a
broken set-up reads clearly in the test log.

The listener serves the ``client`` and ``federation`` resources, as Synapse's
generated config does, so ``/_matrix/key/v2/*`` and ``/_synapse/admin/*`` are
on ``server.base_url`` too. Federation is closed
(``federation_domain_whitelist: []``); a test that federates two servers passes
``extra_config`` (merged over the defaults, top-level keys replace) and its own
``server_name`` per server. A kept folder (same ``signing.key`` and database)
can be started again: the bench does this to reuse a filled room.

Environment:
- ``ROOMSCOPE_SYNAPSE_LOG=INFO`` makes Synapse log at INFO (default WARNING);
  the log is ``homeserver.log`` in the server's folder and its tail is shown
  when start-up fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

__all__ = ["Client", "SynapseServer", "synapse_available"]

SERVER_NAME = "roomscope.test"
REGISTRATION_SECRET = "roomscope-test-shared-secret"
START_TIMEOUT_S = 60.0


def synapse_available() -> bool:
    """True when ``matrix-synapse`` is importable in this interpreter."""
    try:
        import synapse  # noqa: F401
    except ImportError:
        return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(folder: Path, port: int, server_name: str) -> dict[str, Any]:
    """A Synapse config tuned for tests: fast, quiet, closed to strangers."""
    unlimited = {"per_second": 100000, "burst_count": 100000}
    return {
        "server_name": server_name,
        "pid_file": str(folder / "homeserver.pid"),
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                # client + federation, as in Synapse's generated default config;
                # "federation" also serves /_matrix/key/v2/*.
                "resources": [{"names": ["client", "federation"], "compress": False}],
            }
        ],
        "database": {
            "name": "sqlite3",
            "args": {"database": str(folder / "homeserver.db")},
        },
        "log_config": str(folder / "log.config"),
        "media_store_path": str(folder / "media_store"),
        "signing_key_path": str(folder / "signing.key"),
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "report_stats": False,
        "enable_metrics": False,
        "enable_registration": False,
        "registration_shared_secret": REGISTRATION_SECRET,
        "bcrypt_rounds": 4,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "enable_media_repo": False,
        "user_directory": {"enabled": False},
        "federation_domain_whitelist": [],
        "macaroon_secret_key": "roomscope-test-macaroon",
        "form_secret": "roomscope-test-form",
        "rc_message": unlimited,
        "rc_registration": unlimited,
        "rc_login": {
            "address": unlimited,
            "account": unlimited,
            "failed_attempts": unlimited,
        },
        "rc_joins": {"local": unlimited, "remote": unlimited},
        "rc_joins_per_room": unlimited,
        "rc_invites": {"per_room": unlimited, "per_user": unlimited, "per_issuer": unlimited},
        "rc_admin_redaction": unlimited,
        "rc_room_creation": unlimited,
    }


def _log_config(folder: Path, level: str) -> str:
    return json.dumps(
        {
            "version": 1,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "plain",
                    "filename": str(folder / "homeserver.log"),
                }
            },
            "root": {"level": level, "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
    )


def _write_signing_key(path: Path) -> None:
    from signedjson.key import generate_signing_key, write_signing_keys

    with path.open("w") as out:
        write_signing_keys(out, [generate_signing_key("rstest")])


@dataclass
class Client:
    """A logged-in user, for populating rooms over the client-server API."""

    base_url: str
    user_id: str
    access_token: str
    http: httpx.Client = field(repr=False)

    def _url(self, path: str) -> str:
        return f"{self.base_url}/_matrix/client/v3{path}"

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """``method`` on a client API ``path`` (under /_matrix/client/v3); the JSON answer."""
        url = path if path.startswith("/_") else self._url(path)
        resp = self.http.request(
            method,
            f"{self.base_url}{url}" if url.startswith("/_") else url,
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {self.access_token}"},
        )
        assert resp.is_success, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def create_room(
        self,
        *,
        room_version: str,
        alias: str | None = None,
        preset: str = "public_chat",
        invite: tuple[str, ...] = (),
        **extra: Any,
    ) -> str:
        body: dict[str, Any] = {"room_version": room_version, "preset": preset, **extra}
        if alias:
            body["room_alias_name"] = alias
        if invite:
            body["invite"] = list(invite)
        room_id: str = self.request("POST", "/createRoom", body)["room_id"]
        return room_id

    def join(self, room: str) -> str:
        room_id: str = self.request("POST", f"/join/{quote(room, safe='')}", {})["room_id"]
        return room_id

    def send_message(self, room_id: str, body: str) -> str:
        return self.send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})

    def send(self, room_id: str, event_type: str, content: Mapping[str, Any]) -> str:
        txn = uuid.uuid4().hex
        event_id: str = self.request(
            "PUT", f"/rooms/{quote(room_id, safe='')}/send/{event_type}/{txn}", dict(content)
        )["event_id"]
        return event_id

    def set_state(
        self, room_id: str, event_type: str, content: Mapping[str, Any], state_key: str = ""
    ) -> str:
        event_id: str = self.request(
            "PUT",
            f"/rooms/{quote(room_id, safe='')}/state/{event_type}/{quote(state_key, safe='')}",
            dict(content),
        )["event_id"]
        return event_id

    def get_state(self, room_id: str, event_type: str, state_key: str = "") -> Any:
        return self.request(
            "GET",
            f"/rooms/{quote(room_id, safe='')}/state/{event_type}/{quote(state_key, safe='')}",
        )

    def room_state(self, room_id: str) -> list[dict[str, Any]]:
        """Synapse's current state of the room (``GET /rooms/{id}/state``)."""
        result: list[dict[str, Any]] = self.request(
            "GET", f"/rooms/{quote(room_id, safe='')}/state"
        )
        return result

    def membership(self, room_id: str, action: str, user_id: str, reason: str = "") -> None:
        """``action`` is invite, kick, ban or unban."""
        body: dict[str, Any] = {"user_id": user_id}
        if reason:
            body["reason"] = reason
        self.request("POST", f"/rooms/{quote(room_id, safe='')}/{action}", body)

    def leave(self, room_id: str) -> None:
        self.request("POST", f"/rooms/{quote(room_id, safe='')}/leave", {})


class SynapseServer:
    """One Synapse process in ``folder``; ``start()``/``stop()`` or ``started()``."""

    def __init__(
        self,
        folder: Path,
        server_name: str = SERVER_NAME,
        *,
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        """``extra_config`` is merged over the defaults (top-level keys replace), e.g.
        ``{"federation_domain_whitelist": None}`` to let the server federate."""
        self.folder = folder
        self.server_name = server_name
        self.extra_config = dict(extra_config or {})
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(timeout=30.0)
        self.startup_seconds = 0.0

    @classmethod
    @contextlib.contextmanager
    def started(
        cls,
        folder: Path,
        server_name: str = SERVER_NAME,
        *,
        extra_config: Mapping[str, Any] | None = None,
    ) -> Iterator[SynapseServer]:
        server = cls(folder, server_name, extra_config=extra_config)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    @property
    def log_path(self) -> Path:
        return self.folder / "homeserver.log"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "media_store").mkdir(exist_ok=True)
        if not (self.folder / "signing.key").exists():  # a kept folder keeps its key
            _write_signing_key(self.folder / "signing.key")
        level = os.environ.get("ROOMSCOPE_SYNAPSE_LOG", "WARNING").upper()
        (self.folder / "log.config").write_text(_log_config(self.folder, level))
        config_path = self.folder / "homeserver.yaml"
        # JSON is YAML.
        config = {**_config(self.folder, self.port, self.server_name), **self.extra_config}
        config_path.write_text(json.dumps(config))
        began = time.monotonic()
        stdout = (self.folder / "stdout.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config_path)],
            cwd=self.folder,
            stdout=stdout,
            stderr=subprocess.STDOUT,
        )
        stdout.close()
        deadline = began + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                out = (self.folder / "stdout.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(
                    f"synapse exited with {self.process.returncode} during start-up:\n"
                    f"{out}\n{self.log_tail()}"
                )
            try:
                if self.http.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"synapse did not start in {START_TIMEOUT_S} s\n" + self.log_tail()
                )
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        self.http.close()

    def register(
        self, localpart: str, password: str = "secret-password", *, admin: bool = False
    ) -> Client:
        """Register ``localpart`` with the shared secret and return it logged in.

        Spec of the admin API: Synapse's ``POST /_synapse/admin/v1/register``
        (a nonce, then an HMAC-SHA1 of nonce, user, password and admin flag).
        """
        url = f"{self.base_url}/_synapse/admin/v1/register"
        nonce = self.http.get(url).json()["nonce"]
        mac = hmac.new(REGISTRATION_SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(nonce.encode() + b"\x00" + localpart.encode() + b"\x00" + password.encode())
        mac.update(b"\x00" + (b"admin" if admin else b"notadmin"))
        resp = self.http.post(
            url,
            json={
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )
        assert resp.is_success, f"register {localpart}: {resp.status_code} {resp.text}"
        body = resp.json()
        return Client(self.base_url, body["user_id"], body["access_token"], self.http)
