"""A scriptable fake homeserver for ``httpx.MockTransport`` tests of the fetcher.

It serves a linear room of full PDUs (shaped like Synapse 1.163's answers to
``/messages`` with ``event_format: federation``: ``event_id`` and ``unsigned``
injected) and records every request. Tests change its behaviour through
attributes or by replacing a route with ``fake.override(path_prefix, handler)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

SERVER = "hs.test"
ROOM_ID = f"!room:{SERVER}"
ALIAS = f"#room:{SERVER}"
TOKEN = "syt_secret_token_value"
ADMIN_TOKEN = "syt_admin_token_value"

Handler = Callable[[httpx.Request], httpx.Response]


def make_room(n: int, room_id: str = ROOM_ID) -> list[dict[str, Any]]:
    """A linear room of ``n`` events (oldest first): create, then messages."""
    events: list[dict[str, Any]] = []
    for i in range(n):
        eid = f"$e{i}"
        ev: dict[str, Any] = {
            "event_id": eid,
            "room_id": room_id,
            "sender": f"@alice:{SERVER}",
            "type": "m.room.create" if i == 0 else "m.room.message",
            "content": {"room_version": "10", "creator": f"@alice:{SERVER}"}
            if i == 0
            else {"body": f"message {i}", "msgtype": "m.text"},
            "prev_events": [] if i == 0 else [f"$e{i - 1}"],
            "auth_events": [] if i == 0 else ["$e0"],
            "depth": i + 1,
            "origin_server_ts": 1000 + i,
            "hashes": {"sha256": "x"},
            "signatures": {SERVER: {"ed25519:k": "y"}},
            "unsigned": {"age": 5},
        }
        if i == 0:
            ev["state_key"] = ""
        events.append(ev)
    return events


def client_event(ev: dict[str, Any]) -> dict[str, Any]:
    """What a server that ignores event_format sends: the client format."""
    keep = ("event_id", "room_id", "sender", "type", "content", "origin_server_ts", "unsigned")
    return {k: ev[k] for k in keep if k in ev}


@dataclass
class FakeHomeserver:
    events: list[dict[str, Any]] = field(default_factory=lambda: make_room(25))
    admins: set[str] = field(default_factory=set)
    #: events /messages leaves out (an admin gets them from fetch_event)
    hidden: set[str] = field(default_factory=set)
    #: events that fetch_event does not know either
    unknown: set[str] = field(default_factory=set)
    in_sync: bool = True
    sync_limit: int = 3
    #: the most events one /messages page holds (Synapse: 1000)
    page_cap: int = 1000
    key_response: dict[str, Any] | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    overrides: list[tuple[str, Handler]] = field(default_factory=list)
    logged_out: bool = False
    well_known: dict[str, Any] | None = None

    def override(self, prefix: str, handler: Handler) -> None:
        self.overrides.insert(0, (prefix, handler))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def paths(self, prefix: str = "") -> list[str]:
        return [unquote(r.url.path) for r in self.requests if r.url.path.startswith(prefix)]

    # -- routing -------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = unquote(request.url.path)
        for prefix, handler in self.overrides:
            if path.startswith(prefix):
                return handler(request)
        if path == "/_matrix/client/v3/login":
            body = json.loads(request.content)
            if body.get("password") == "right":
                return httpx.Response(200, json={"access_token": TOKEN, "user_id": "@bob:hs.test"})
            return _err(403, "M_FORBIDDEN", "Invalid username or password")
        if path == "/.well-known/matrix/client":
            if self.well_known is None:
                return _err(404, "M_NOT_FOUND", "No .well-known")
            return httpx.Response(200, json=self.well_known)
        if path == "/_matrix/key/v2/server":
            if self.key_response is None:
                return _err(404, "M_UNRECOGNIZED", "Unrecognized request")
            return httpx.Response(200, json=self.key_response)
        if path.startswith("/_matrix/key/v2/query/"):
            return httpx.Response(200, json={"server_keys": []})
        user = self._user(request)
        if user is None:
            return _err(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.")
        if path == "/_matrix/client/v3/account/whoami":
            return httpx.Response(200, json={"user_id": user})
        if path == "/_matrix/client/v3/logout":
            self.logged_out = True
            return httpx.Response(200, json={})
        if path.startswith("/_synapse/admin/v1/users/") and path.endswith("/admin"):
            if user not in self.admins:
                return _err(403, "M_FORBIDDEN", "You are not a server admin")
            return httpx.Response(200, json={"admin": True})
        if path.startswith("/_matrix/client/v3/directory/room/"):
            alias = path.rsplit("/", 1)[1]
            if alias != ALIAS:
                return _err(404, "M_NOT_FOUND", f"Room alias {alias} not found")
            return httpx.Response(200, json={"room_id": ROOM_ID, "servers": [SERVER]})
        if path == f"/_matrix/client/v3/rooms/{ROOM_ID}/state/m.room.create/":
            return httpx.Response(200, json=self.events[0]["content"])
        if path == "/_matrix/client/v3/sync":
            return self._sync()
        if path.endswith("/messages"):
            if path.startswith("/_synapse/admin/") and user not in self.admins:
                return _err(403, "M_FORBIDDEN", "You are not a server admin")
            return self._messages(request)
        if path == f"/_synapse/admin/v1/rooms/{ROOM_ID}/forward_extremities":
            if user not in self.admins:
                return _err(403, "M_FORBIDDEN", "You are not a server admin")
            last = self.events[-1]
            return httpx.Response(
                200, json={"count": 1, "results": [{"event_id": last["event_id"], "depth": 1}]}
            )
        if path.startswith("/_synapse/admin/v1/fetch_event/"):
            if user not in self.admins:
                return _err(403, "M_FORBIDDEN", "You are not a server admin")
            eid = path.rsplit("/", 1)[1]
            for ev in self.events:
                if ev["event_id"] == eid and eid not in self.unknown:
                    return httpx.Response(200, json={"event": ev})
            return _err(404, "M_NOT_FOUND", "Event not found")
        return _err(404, "M_UNRECOGNIZED", "Unrecognized request")

    def _user(self, request: httpx.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        if auth == f"Bearer {TOKEN}":
            return "@bob:hs.test"
        if auth == f"Bearer {ADMIN_TOKEN}":
            return "@admin:hs.test"
        return None

    def visible(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event_id"] not in self.hidden]

    def _sync(self) -> httpx.Response:
        if not self.in_sync:
            return httpx.Response(200, json={"next_batch": "s1", "rooms": {}})
        vis = self.visible()
        timeline = vis[-self.sync_limit :]
        return httpx.Response(
            200,
            json={
                "next_batch": "s1",
                "rooms": {
                    "join": {
                        ROOM_ID: {
                            "timeline": {
                                "events": timeline,
                                "prev_batch": f"t{len(vis) - len(timeline)}",
                                "limited": True,
                            },
                            "state": {"events": []},
                        }
                    }
                },
            },
        )

    def _messages(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        vis = self.visible()
        start = int(params.get("from", f"t{len(vis)}")[1:])
        limit = min(int(params.get("limit", "10")), self.page_cap)
        lo = max(start - limit, 0)
        chunk = list(reversed(vis[lo:start]))
        body: dict[str, Any] = {"chunk": chunk, "start": f"t{start}"}
        if lo > 0:
            body["end"] = f"t{lo}"
        return httpx.Response(200, json=body)


def _err(status: int, errcode: str, error: str) -> httpx.Response:
    return httpx.Response(status, json={"errcode": errcode, "error": error})
