"""The recorder's partition proxy (tools/federation/proxy.py), without Synapse.

A tiny HTTP server stands in for a homeserver's listener; requests reach it over TLS
through the proxy's front, signed (as far as the proxy cares) by an
``Authorization: X-Matrix origin=...`` header. A cut between two servers must
refuse their requests both ways while a third server still gets through, unsigned
requests (the key server) pass, open connections across a cut are closed, healing
restores everything, and a server set down refuses everyone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

cryptography = pytest.importorskip("cryptography")

from tools.federation.proxy import PartitionProxy, write_self_signed_cert  # noqa: E402


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        answer = b"got " + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[PartitionProxy, str]]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    write_self_signed_cert(str(cert), str(key))
    p = PartitionProxy(str(cert), str(key))
    front = p.add_front()
    name = f"localhost:{front}"
    p.set_upstream(name, upstream.server_address[1])
    try:
        yield p, name
    finally:
        p.close()
        upstream.shutdown()
        upstream.server_close()


def _post(client: httpx.Client, name: str, origin: str | None) -> int | str:
    headers = (
        {"Authorization": f'X-Matrix origin="{origin}",key="ed25519:a",sig="x"'} if origin else {}
    )
    try:
        resp = client.post(
            f"https://{name}/_matrix/federation/v1/send/1", content=b"pdu", headers=headers
        )
    except httpx.TransportError:
        return "refused"
    assert resp.content == b"got pdu"
    return resp.status_code


def test_cut_heal_and_down(proxy: tuple[PartitionProxy, str]) -> None:
    p, b = proxy
    with httpx.Client(verify=False, timeout=5) as client:
        assert _post(client, b, "a.test:1") == 200
        assert _post(client, b, None) == 200
        p.cut(["a.test:1"], [b, "c.test:3"])
        # The kept-alive connection from a is closed and new requests are refused. The
        # first request may still go out on that connection: refused whether the
        # proxy closes it before or after reading the request, but only counted
        # after; the second is on a new connection, whose request is read, then
        # refused and counted before the connection closes.
        assert _post(client, b, "a.test:1") == "refused"
        counted = p.refused.get(("a.test:1", b), 0)
        assert _post(client, b, "a.test:1") == "refused"
        assert p.refused[("a.test:1", b)] == counted + 1
        assert p.blocked(b, "a.test:1") and p.blocked("a.test:1", b)
        assert _post(client, b, "c.test:3") == 200, "same side of the cut"
        assert _post(client, b, None) == 200, "unsigned requests (keys) pass"
        assert p.refused[("a.test:1", b)] == counted + 1
        p.heal()
        assert _post(client, b, "a.test:1") == 200
        p.set_down(b)
        assert _post(client, b, "c.test:3") == "refused"
        assert _post(client, b, None) == "refused"
        p.set_down(b, False)
        assert _post(client, b, None) == 200
