"""Record real PDUs from a throwaway Synapse into tests/data/pdus/ (run by hand, rarely).

Starts Synapse from this venv (SQLite, 127.0.0.1, a free port, a fresh temporary
directory), registers two users with the registration shared secret, creates a
room of version 10 and one of version 12, and sends what a small room sees:
messages, a topic, a power-levels change, a second user joining and changing
their display name, and a redaction. Then it reads every PDU of each room
exactly as Synapse stored it (``event_json.json`` in ``homeserver.db``; v3+
event IDs are not in that JSON), and the server's public signing key from
``/_matrix/key/v2/server``, and writes one native room file per room:

    tests/data/pdus/v10.json, tests/data/pdus/v12.json

with ``server_keys`` and a ``source`` block saying how they were recorded.

Usage: .venv/bin/python tools/record_test_pdus.py [--out tests/data/pdus]

matrix-synapse is a test dependency (pyproject ``test`` extra); nothing here is
imported by roomscope itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

SERVER_NAME = "roomscope.test"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _configure(workdir: Path, port: int) -> Path:
    config = workdir / "homeserver.yaml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "synapse.app.homeserver",
            "--server-name",
            SERVER_NAME,
            "--config-path",
            str(config),
            "--data-directory",
            str(workdir),
            "--generate-config",
            "--report-stats=no",
        ],
        check=True,
        cwd=workdir,
        capture_output=True,
    )
    conf = yaml.safe_load(config.read_text())
    conf["listeners"] = [
        {
            "port": port,
            "bind_addresses": ["127.0.0.1"],
            "type": "http",
            "tls": False,
            "x_forwarded": False,
            "resources": [{"names": ["client", "federation", "keys"], "compress": False}],
        }
    ]
    conf["database"] = {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}}
    conf["trusted_key_servers"] = []
    conf["suppress_key_server_warning"] = True
    conf["enable_metrics"] = False
    conf["presence"] = {"enabled": False}
    conf["url_preview_enabled"] = False
    unlimited = {"per_second": 1000, "burst_count": 1000}
    for key in ("rc_message", "rc_registration", "rc_joins", "rc_login", "rc_admin_redaction"):
        conf[key] = unlimited
    conf["rc_login"] = {"address": unlimited, "account": unlimited, "failed_attempts": unlimited}
    conf["rc_joins"] = {"local": unlimited, "remote": unlimited}
    conf["log_config"] = None
    config.write_text(yaml.safe_dump(conf))
    return config


def _wait_up(base: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"synapse exited with status {proc.returncode}")
        try:
            if httpx.get(f"{base}/_matrix/client/versions", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("synapse did not start in time")


def _register(client: httpx.Client, secret: str, user: str) -> str:
    """Register ``user`` with the shared secret (admin API); returns an access token."""
    nonce = client.get("/_synapse/admin/v1/register").json()["nonce"]
    password = "roomscope-" + user
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(), b"notadmin"]))
    resp = client.post(
        "/_synapse/admin/v1/register",
        json={
            "nonce": nonce,
            "username": user,
            "password": password,
            "admin": False,
            "mac": mac.hexdigest(),
        },
    )
    resp.raise_for_status()
    token: str = resp.json()["access_token"]
    return token


class _User:
    def __init__(self, client: httpx.Client, token: str, user_id: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.user_id = user_id
        self._txn = 0

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.client.post(path, json=body, headers=self.headers)
        resp.raise_for_status()
        out: dict[str, Any] = resp.json()
        return out

    def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.client.put(path, json=body, headers=self.headers)
        resp.raise_for_status()
        out: dict[str, Any] = resp.json()
        return out

    def send(self, room: str, event_type: str, content: dict[str, Any]) -> str:
        self._txn += 1
        path = f"/_matrix/client/v3/rooms/{room}/send/{event_type}/t{self._txn}"
        event_id: str = self.put(path, content)["event_id"]
        return event_id

    def state(self, room: str, event_type: str, content: dict[str, Any], key: str = "") -> str:
        event_id: str = self.put(
            f"/_matrix/client/v3/rooms/{room}/state/{event_type}/{key}", content
        )["event_id"]
        return event_id


def _populate(alice: _User, bob: _User, version: str) -> str:
    room: str = alice.post(
        "/_matrix/client/v3/createRoom",
        {
            "room_version": version,
            "preset": "public_chat",
            "name": f"roomscope test room v{version}",
            "topic": "recorded for roomscope's tests",
        },
    )["room_id"]
    alice.send(room, "m.room.message", {"msgtype": "m.text", "body": "Hello from Alice"})
    bob.post(f"/_matrix/client/v3/rooms/{room}/join", {})
    bob.send(room, "m.room.message", {"msgtype": "m.text", "body": "Hi! ☕ ünïcödé"})
    alice.state(room, "m.room.topic", {"topic": "Tea, and Matrix rooms"})
    power = alice.client.get(
        f"/_matrix/client/v3/rooms/{room}/state/m.room.power_levels/", headers=alice.headers
    ).json()
    power.setdefault("users", {})[bob.user_id] = 50
    alice.state(room, "m.room.power_levels", power)
    bob.state(room, "m.room.member", {"membership": "join", "displayname": "Bob B."}, bob.user_id)
    oops = bob.send(room, "m.room.message", {"msgtype": "m.text", "body": "oops, wrong room"})
    bob.put(f"/_matrix/client/v3/rooms/{room}/redact/{oops}/r1", {"reason": "typo"})
    alice.send(room, "m.room.message", {"msgtype": "m.text", "body": "Bye", "n": 12345678901})
    return room


def _read_pdus(db: Path, room_id: str) -> list[dict[str, Any]]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT ej.json FROM event_json ej JOIN events e ON e.event_id = ej.event_id "
            "WHERE ej.room_id = ? ORDER BY e.stream_ordering",
            (room_id,),
        ).fetchall()
    finally:
        con.close()
    return [json.loads(row[0]) for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "tests" / "data" / "pdus"))
    args = parser.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    import synapse

    with tempfile.TemporaryDirectory(prefix="roomscope-synapse-") as tmp:
        workdir = Path(tmp)
        port = _free_port()
        config = _configure(workdir, port)
        secret = yaml.safe_load(config.read_text())["registration_shared_secret"]
        base = f"http://127.0.0.1:{port}"
        log = (workdir / "synapse.out").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_up(base, proc)
            with httpx.Client(base_url=base, timeout=30) as client:
                alice = _User(client, _register(client, secret, "alice"), f"@alice:{SERVER_NAME}")
                bob = _User(client, _register(client, secret, "bob"), f"@bob:{SERVER_NAME}")
                rooms = {v: _populate(alice, bob, v) for v in ("10", "12")}
                keys = client.get("/_matrix/key/v2/server").json()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()

        server_keys = {
            keys["server_name"]: {kid: v["key"] for kid, v in keys["verify_keys"].items()}
        }
        recorded = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for version, room_id in rooms.items():
            events = _read_pdus(workdir / "homeserver.db", room_id)
            doc = {
                "format": "roomscope.room",
                "version": 1,
                "room_id": room_id,
                "room_version": version,
                "source": {
                    "recorded_by": "tools/record_test_pdus.py",
                    "homeserver": f"Synapse {synapse.__version__} (SQLite), server name "
                    f"{SERVER_NAME}, started fresh for the recording",
                    "recorded_at": recorded,
                    "how": "PDUs exactly as Synapse stored them (event_json.json, in "
                    "stream order); server_keys from /_matrix/key/v2/server",
                    "contents": "create, creator join, power levels, join rules, history "
                    "visibility, name, topic, messages, a second user's join and "
                    "display-name change, a power-levels change, a redaction",
                },
                "server_keys": server_keys,
                "events": events,
            }
            path = out_dir / f"v{version}.json"
            path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
            print(f"{path}: {len(events)} events of room {room_id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
