"""Two or three Synapse homeservers federating on 127.0.0.1 through a partition proxy.

Each server is a :class:`tests.integration.synapse_server.SynapseServer` (the
project's fixture: SQLite, one plain listener serving the client, admin and
federation resources) named ``localhost:FRONT``, where FRONT is its front on the
:class:`~tools.federation.proxy.PartitionProxy` (TLS). Over the fixture's
defaults each server gets (Synapse 1.163 option names):

- ``federation_domain_whitelist: null`` (open federation; the fixture closes it),
  ``federation_verify_certificates: false`` (the proxy's certificate is self-signed),
  ``ip_range_blacklist: []`` (loopback allowed for outgoing federation);
- ``federation``: ``destination_min_retry_interval`` 1 s, multiplier 1.5, max 5 s,
  short request retries (``max_short_retries``, ``max_long_retries``, delays) and
  ``client_timeout`` 10 s, so a cut link is noticed and retried quickly;
- ``rc_federation`` wide open (no rate limiting of the other servers);
- optionally ``trusted_key_servers``: another server as notary, so a server that
  joins after the room's creator went offline can still get the creator's keys.

Healing (:meth:`Federation.heal`) restores the proxy's links and calls Synapse's
admin ``POST /_synapse/admin/v1/federation/destinations/<destination>/reset_connection``
on every server for every other, which clears the back-off and wakes the
destination's catch-up. :meth:`Federation.settle` then has each side speak once
(the new events carry the other side's missing ``prev_events`` to fetch) and waits
until every server reports the same forward extremities and the same
``/rooms/{id}/state``.

Rooms are read back with roomscope's own fetcher
(:func:`app.sources.homeserver.fetch_room`) as a server admin who is a member.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from app.sources.homeserver import Credentials, FetchOptions, FetchResult, fetch_room
from tests.integration.synapse_server import Client, SynapseServer
from tools.federation.proxy import PartitionProxy, write_self_signed_cert

__all__ = ["Federation", "Node", "StateRows"]

#: A server's reported state: sorted (type, state_key, event_id) rows.
StateRows = list[tuple[str, str, str]]

FEDERATION_SETTINGS: dict[str, Any] = {
    "destination_min_retry_interval": 1000,
    "destination_retry_multiplier": 1.5,
    "destination_max_retry_interval": 5000,
    "client_timeout": 10000,
    "max_short_retry_delay": 500,
    "max_long_retry_delay": 2000,
    "max_short_retries": 1,
    "max_long_retries": 2,
}


@dataclass
class Node:
    """One homeserver: ``label`` (hs1...), ``name`` (its server name), its users."""

    label: str
    name: str
    front: int
    folder: Path
    extra: dict[str, Any]
    server: SynapseServer | None = None
    users: dict[str, Client] = field(default_factory=dict)
    online: bool = False

    @property
    def hs(self) -> SynapseServer:
        assert self.server is not None, f"{self.label} is not running"
        return self.server


class Federation:
    """The servers, the proxy, and the moves of a scenario (cut, heal, settle, fetch)."""

    def __init__(
        self,
        workdir: Path,
        labels: Sequence[str] = ("hs1", "hs2", "hs3"),
        *,
        ports: Sequence[int] = (),
        log: Any = None,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        cert, key = workdir / "proxy.crt", workdir / "proxy.key"
        write_self_signed_cert(str(cert), str(key))
        self.proxy = PartitionProxy(str(cert), str(key))
        self.log = log or (lambda text: None)
        self.nodes: dict[str, Node] = {}
        for i, label in enumerate(labels):
            front = self.proxy.add_front(ports[i] if i < len(ports) else 0)
            name = f"localhost:{front}"
            self.nodes[label] = Node(label, name, front, workdir / label, {})
        self.http = httpx.Client(timeout=30.0)

    # -- life --------------------------------------------------------------------------

    def config_for(self, node: Node) -> dict[str, Any]:
        unlimited = {
            "window_size": 1000,
            "sleep_limit": 10000,
            "sleep_delay": 10,
            "reject_limit": 100000,
            "concurrent": 100,
        }
        return {
            "federation_domain_whitelist": None,
            "federation_verify_certificates": False,
            "ip_range_blacklist": [],
            "federation": dict(FEDERATION_SETTINGS),
            "rc_federation": unlimited,
            "allow_public_rooms_over_federation": True,
            **node.extra,
        }

    def start(self, labels: Iterable[str] | None = None) -> None:
        for label in labels or list(self.nodes):
            node = self.nodes[label]
            server = SynapseServer(node.folder, node.name, extra_config=self.config_for(node))
            server.start()
            node.server = server
            node.online = True
            self.proxy.set_upstream(node.name, server.port)
            self.proxy.set_down(node.name, False)
            # Clients made before a restart point at the old port: rebind them.
            for localpart, client in list(node.users.items()):
                node.users[localpart] = Client(
                    server.base_url, client.user_id, client.access_token, server.http
                )
            self.log(f"{label} = {node.name} up in {server.startup_seconds:.1f} s")

    def take_offline(self, label: str) -> None:
        """The server leaves the network and stops (its data stays in its folder)."""
        node = self.nodes[label]
        self.proxy.set_down(node.name, True)
        if node.server is not None:
            node.server.stop()
        node.online = False
        self.log(f"{label} ({node.name}) offline")

    def stop(self) -> None:
        for node in self.nodes.values():
            if node.server is not None:
                with contextlib.suppress(Exception):
                    node.server.stop()
            node.online = False
        self.proxy.close()
        self.http.close()

    def __enter__(self) -> Federation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- people ------------------------------------------------------------------------

    def user(self, label: str, localpart: str) -> Client:
        """``localpart`` on server ``label`` (registered on first use, a server admin so
        roomscope's fetcher sees every event through Synapse's admin API)."""
        node = self.nodes[label]
        if localpart not in node.users:
            node.users[localpart] = node.hs.register(localpart, admin=True)
        return node.users[localpart]

    def name(self, label: str) -> str:
        return self.nodes[label].name

    def label_of(self, server_name: str) -> str:
        for node in self.nodes.values():
            if node.name == server_name:
                return node.label
        return server_name

    def online(self) -> list[str]:
        return [label for label, node in self.nodes.items() if node.online]

    # -- partitions --------------------------------------------------------------------

    def cut(self, *groups: Iterable[str]) -> None:
        """Partition the servers (labels) into ``groups`` that cannot reach each other."""
        sets = [list(g) for g in groups]
        self.proxy.cut(*[[self.nodes[label].name for label in g] for g in sets])
        self.log("cut: " + " | ".join(",".join(g) for g in sets))

    def heal(self) -> None:
        """Restore every link and reset each server's back-off for the others."""
        self.proxy.heal()
        for label in self.online():
            admin = self.user(label, "recorder")
            for other in self.nodes.values():
                if other.label == label:
                    continue
                with contextlib.suppress(AssertionError):
                    admin.request(
                        "POST",
                        f"/_synapse/admin/v1/federation/destinations/"
                        f"{quote(other.name, safe='')}/reset_connection",
                        {},
                    )
        self.log("healed")

    # -- rooms -------------------------------------------------------------------------

    @staticmethod
    def send_text(client: Client, room_id: str, text: str) -> str:
        return client.send_message(room_id, text)

    @staticmethod
    def join_via(client: Client, room_id: str, server_name: str) -> str:
        answer = client.request(
            "POST", f"/join/{quote(room_id, safe='')}", {}, server_name=server_name
        )
        joined: str = answer["room_id"]
        return joined

    def has_event(self, label: str, room_id: str, event_id: str) -> bool:
        """Whether a user of ``label`` in the room can read the event (so it is in the
        server's room timeline, not only an outlier)."""
        for localpart, client in self.nodes[label].users.items():
            if localpart == "recorder":
                continue
            resp = self.http.get(
                f"{client.base_url}/_matrix/client/v3/rooms/{quote(room_id, safe='')}"
                f"/event/{quote(event_id, safe='')}",
                headers={"Authorization": f"Bearer {client.access_token}"},
            )
            if resp.status_code == 200:
                return True
        return False

    def wait_for_events(
        self, room_id: str, event_ids: Iterable[str], labels: Iterable[str], timeout: float = 60
    ) -> None:
        wanted = [(label, e) for label in labels for e in event_ids]
        deadline = time.monotonic() + timeout
        while wanted:
            wanted = [(label, e) for label, e in wanted if not self.has_event(label, room_id, e)]
            if not wanted:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"events not seen in {timeout} s: {wanted[:4]}")
            time.sleep(0.2)

    def is_joined(self, label: str, room_id: str, user_id: str) -> bool:
        return any(
            row == ("m.room.member", user_id, "join")
            for row in self._membership_rows(label, room_id)
        )

    def _membership_rows(self, label: str, room_id: str) -> list[tuple[str, str, str]]:
        client = self.user(label, "recorder")
        resp = self.http.get(
            f"{client.base_url}/_synapse/admin/v1/rooms/{quote(room_id, safe='')}/state",
            headers={"Authorization": f"Bearer {client.access_token}"},
        )
        if resp.status_code != 200:
            return []
        return [
            (e["type"], e["state_key"], e["content"].get("membership", ""))
            for e in resp.json()["state"]
            if e["type"] == "m.room.member"
        ]

    def wait_joined(
        self, room_id: str, user_id: str, labels: Iterable[str], timeout: float = 60
    ) -> None:
        labels = list(labels)
        deadline = time.monotonic() + timeout
        while not all(self.is_joined(label, room_id, user_id) for label in labels):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{user_id} not joined everywhere in {timeout} s")
            time.sleep(0.2)

    def state(self, label: str, room_id: str) -> StateRows:
        """The server's current state of the room (Synapse's admin ``/rooms/{id}/state``,
        the same events as the client API's ``GET /rooms/{roomId}/state``)."""
        client = self.user(label, "recorder")
        resp = self.http.get(
            f"{client.base_url}/_synapse/admin/v1/rooms/{quote(room_id, safe='')}/state",
            headers={"Authorization": f"Bearer {client.access_token}"},
        )
        assert resp.status_code == 200, resp.text
        return sorted((e["type"], e["state_key"], e["event_id"]) for e in resp.json()["state"])

    def extremities(self, label: str, room_id: str) -> list[str]:
        client = self.user(label, "recorder")
        resp = self.http.get(
            f"{client.base_url}/_synapse/admin/v1/rooms/{quote(room_id, safe='')}"
            "/forward_extremities",
            headers={"Authorization": f"Bearer {client.access_token}"},
        )
        assert resp.status_code == 200, resp.text
        return sorted(r["event_id"] for r in resp.json()["results"])

    def stored(self, label: str, room_id: str) -> dict[str, Any]:
        """What the server's database says about the room's events: the order and time it
        stored them (``events.stream_ordering``, ``received_ts``), which are outliers
        (held for auth chains, not part of its timeline), which it soft failed
        (``internal_metadata.soft_failed``) and which it rejected (``rejections``).
        Read-only, from the SQLite file (Synapse may be running)."""
        path = self.nodes[label].folder / "homeserver.db"
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute(
                "SELECT e.event_id, e.received_ts, e.outlier, j.internal_metadata "
                "FROM events e JOIN event_json j USING (event_id) "
                "WHERE e.room_id = ? ORDER BY e.stream_ordering",
                (room_id,),
            ).fetchall()
            rejected = dict(
                db.execute(
                    "SELECT r.event_id, r.reason FROM rejections r "
                    "JOIN events e USING (event_id) WHERE e.room_id = ?",
                    (room_id,),
                ).fetchall()
            )
        finally:
            db.close()
        return {
            "received": [[event_id, ts] for event_id, ts, _, _ in rows],
            "outliers": [event_id for event_id, _, outlier, _ in rows if outlier],
            "soft_failed": [
                event_id
                for event_id, _, _, meta in rows
                if json.loads(meta or "{}").get("soft_failed") is True
            ],
            "rejected": rejected,
        }

    def converged(self, room_id: str, labels: Sequence[str]) -> bool:
        ext = [self.extremities(label, room_id) for label in labels]
        if any(e != ext[0] for e in ext):
            return False
        states = [self.state(label, room_id) for label in labels]
        return all(s == states[0] for s in states)

    def settle(
        self,
        room_id: str,
        speakers: Mapping[str, Client],
        *,
        labels: Sequence[str] | None = None,
        timeout: float = 90,
        note: str = "after healing",
    ) -> list[str]:
        """Heal, then let each side speak once (in ``speakers`` order, each message
        awaited everywhere) and wait until all online servers agree; the messages sent."""
        self.heal()
        labels = [label for label in (labels or self.online()) if self.nodes[label].online]
        sent: list[str] = []
        for client in speakers.values():
            event_id = client.send_message(room_id, f"{client.user_id} {note}")
            sent.append(event_id)
            self.wait_for_events(room_id, [event_id], labels, timeout=timeout)
        deadline = time.monotonic() + timeout
        nudges = 0
        while not self.converged(room_id, labels):
            if time.monotonic() > deadline:
                raise TimeoutError(f"servers did not converge in {timeout} s")
            time.sleep(0.5)
            if time.monotonic() > deadline - timeout / 2 and nudges == 0:
                client = next(iter(speakers.values()))
                event_id = client.send_message(room_id, f"{client.user_id} {note} (again)")
                sent.append(event_id)
                nudges += 1
        self.log(f"converged: {', '.join(labels)}")
        return sent

    def fetch(self, label: str, room_id: str, client: Client | None = None) -> FetchResult:
        """The room as ``label`` has it, through roomscope's fetcher (as a server admin)."""
        node = self.nodes[label]
        client = client or next(c for n, c in node.users.items() if n != "recorder")
        result = fetch_room(
            node.hs.base_url,
            room_id,
            Credentials(access_token=client.access_token),
            options=FetchOptions(),
        )
        if not result.complete:
            raise RuntimeError(f"fetch from {label} incomplete: {result.notes}")
        return result

    def snapshot(self, label: str, room_id: str, when: str) -> dict[str, Any]:
        """What ``label`` has now: every event it holds (fetched with roomscope), its
        forward extremities and its current state."""
        result = self.fetch(label, room_id)
        return {
            "when": when,
            "at_ms": int(time.time() * 1000),
            "events": sorted(str(e["event_id"]) for e in result.events),
            "forward_extremities": self.extremities(label, room_id),
            "state": [list(row) for row in self.state(label, room_id)],
        }


def txn() -> str:
    return uuid.uuid4().hex
