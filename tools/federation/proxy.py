"""A partition proxy: every homeserver's federation traffic passes through it.

Each homeserver is named ``localhost:PORT`` where PORT is the proxy's *front* for
that server: other servers resolve the name to 127.0.0.1:PORT (an explicit port
skips .well-known and SRV: https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names)
and speak TLS to it. The proxy terminates TLS with a self-signed certificate (the
servers run with ``federation_verify_certificates: false``) and forwards plain HTTP
to the server's own listener, which serves the federation resource.

Why terminate TLS: a cut is between *two* servers, and every server reaches a given
server at the same address. Reading each request's ``Authorization: X-Matrix
origin=...`` header (https://spec.matrix.org/v1.16/server-server-api/#request-authentication)
tells the proxy who is calling, so ``cut({"A"}, {"B", "C"})`` refuses A's requests to
B and C and theirs to A while B and C still talk. Unsigned requests (the key server
``/_matrix/key/v2/server``) pass unless the target is down. A cut also closes the
open connections between the cut servers, so in-flight responses do not leak across.

The proxy runs an asyncio loop in a daemon thread; its methods are thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["PartitionProxy", "write_self_signed_cert"]

_ORIGIN = re.compile(rb'origin\s*=\s*"?([^",\s]+)"?', re.IGNORECASE)
MAX_HEADER = 64 * 1024


def write_self_signed_cert(cert_path: str, key_path: str) -> None:
    """A self-signed certificate for ``localhost`` and 127.0.0.1 (10 years), PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    with open(cert_path, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


@dataclass(eq=False)
class _Conn:
    dest: str
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    origins: set[str] = field(default_factory=set)

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.transport.abort()


class PartitionProxy:
    """Fronts for homeservers; ``cut``/``heal``/``set_down`` decide who reaches whom."""

    def __init__(self, cert_path: str, key_path: str) -> None:
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl.load_cert_chain(cert_path, key_path)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._lock = threading.Lock()
        self._upstream: dict[str, int] = {}
        self._blocked: set[tuple[str, str]] = set()
        self._down: set[str] = set()
        self._conns: set[_Conn] = set()
        self._servers: list[asyncio.AbstractServer] = []
        #: refused requests, (origin, dest) -> count: a cut that refused nothing is suspect
        self.refused: dict[tuple[str, str], int] = {}
        #: forwarded requests, (origin or "", dest) -> count
        self.forwarded: dict[tuple[str, str], int] = {}

    # -- set-up ----------------------------------------------------------------------

    def add_front(self, port: int = 0) -> int:
        """Listen on 127.0.0.1:``port`` (0: any free port); the port, bound already."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        bound: int = sock.getsockname()[1]
        name = f"localhost:{bound}"

        async def start() -> None:
            server = await asyncio.start_server(
                lambda r, w: self._handle(r, w, name), sock=sock, ssl=self._ssl
            )
            self._servers.append(server)

        asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)
        return bound

    def set_upstream(self, server_name: str, port: int) -> None:
        """``server_name``'s front forwards to 127.0.0.1:``port`` (its plain listener)."""
        with self._lock:
            self._upstream[server_name] = port

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            for conn in list(self._conns):
                conn.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # -- partitions ------------------------------------------------------------------

    def cut(self, *groups: Iterable[str]) -> None:
        """Partition: servers in different ``groups`` cannot reach each other."""
        sets = [set(g) for g in groups]
        pairs = {
            (a, b)
            for i, ga in enumerate(sets)
            for j, gb in enumerate(sets)
            if i != j
            for a in ga
            for b in gb
        }
        with self._lock:
            self._blocked |= pairs
        self._loop.call_soon_threadsafe(self._close_blocked)

    def heal(self) -> None:
        """Every link restored (servers marked down stay down)."""
        with self._lock:
            self._blocked.clear()

    def set_down(self, server_name: str, down: bool = True) -> None:
        """A down server's front refuses every connection (it is gone from the network)."""
        with self._lock:
            if down:
                self._down.add(server_name)
            else:
                self._down.discard(server_name)
        self._loop.call_soon_threadsafe(self._close_blocked)

    def blocked(self, origin: str | None, dest: str) -> bool:
        with self._lock:
            if dest in self._down or (origin is not None and origin in self._down):
                return True
            return origin is not None and (origin, dest) in self._blocked

    def _close_blocked(self) -> None:
        for conn in list(self._conns):
            if conn.dest in self._down or any(self.blocked(o, conn.dest) for o in conn.origins):
                conn.close()

    # -- traffic ---------------------------------------------------------------------

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, dest: str
    ) -> None:
        conn = _Conn(dest, writer)
        self._conns.add(conn)
        pump: asyncio.Task[None] | None = None
        try:
            with self._lock:
                port = self._upstream.get(dest)
            if port is None or self.blocked(None, dest):
                return
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            conn.upstream = up_writer
            pump = asyncio.create_task(self._pump(up_reader, writer))
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                    return
                if len(head) > MAX_HEADER:
                    return
                found = _ORIGIN.search(_header(head, b"authorization") or b"")
                origin = found.group(1).decode("ascii", "replace") if found else None
                key = (origin or "", dest)
                if self.blocked(origin, dest):
                    self.refused[key] = self.refused.get(key, 0) + 1
                    return
                if origin is not None:
                    conn.origins.add(origin)
                self.forwarded[key] = self.forwarded.get(key, 0) + 1
                up_writer.write(head)
                length = int(_header(head, b"content-length") or b"0")
                if length:
                    up_writer.write(await reader.readexactly(length))
                elif (_header(head, b"transfer-encoding") or b"").lower() == b"chunked":
                    # Not what Synapse sends; pass the rest through unparsed.
                    await self._pump(reader, up_writer)
                    return
                await up_writer.drain()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            self._conns.discard(conn)
            conn.close()
            if pump is not None:
                pump.cancel()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name:
            return value.strip()
    return None
