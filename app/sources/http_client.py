"""A careful JSON-over-HTTP client for Matrix homeservers (httpx underneath).

What makes it careful:

- every request is checked against a :class:`CancelToken` first, and every
  wait (backoff, ``429``) sleeps on that token, so a cancel takes effect
  within one request's time (bounded by the httpx timeouts);
- ``429 M_LIMIT_EXCEEDED`` is honoured: it waits ``retry_after_ms`` (or the
  ``Retry-After`` header), capped, then tries again;
  https://spec.matrix.org/v1.16/client-server-api/#rate-limiting
- ``5xx`` answers and network errors (including timeouts) are retried with
  exponential backoff, a bounded number of times;
- other errors become one-line :class:`HomeserverError` subclasses naming the
  request and the Matrix ``errcode``;
  https://spec.matrix.org/v1.16/client-server-api/#standard-error-response
- the access token travels only in the ``Authorization`` header: it is never
  part of a URL, a message or a log line.

The transport is injectable (``httpx.MockTransport`` in the tests).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from app.core.errors import RoomscopeError

__all__ = [
    "AccessDeniedError",
    "CancelToken",
    "Cancelled",
    "HomeserverError",
    "HttpSettings",
    "MatrixHttp",
    "NotFoundError",
    "ServerAnswerError",
    "UnauthorizedError",
    "UnreachableError",
    "quote_path",
]


class HomeserverError(RoomscopeError):
    """A request to a homeserver failed; the message says which and why.

    ``status`` is the HTTP status (0 when the server never answered) and
    ``errcode`` the Matrix error code, when the server gave one.
    """

    def __init__(self, message: str, *, status: int = 0, errcode: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errcode = errcode


class UnauthorizedError(HomeserverError):
    """401: the access token (or the password) was not accepted."""


class AccessDeniedError(HomeserverError):
    """403: the server knows who we are and refuses (``M_FORBIDDEN``)."""


class NotFoundError(HomeserverError):
    """404: no such room, alias, event or endpoint."""


class ServerAnswerError(HomeserverError):
    """The server answered, but not with what the API promises (not JSON, wrong types)."""


class UnreachableError(HomeserverError):
    """The server could not be reached, or kept failing, after all retries."""


class Cancelled(Exception):
    """Raised inside the client when the :class:`CancelToken` is set."""


class CancelToken:
    """A thread-safe cancel flag; waits on it wake up as soon as it is set."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` when cancelled."""
        if self._event.is_set():
            raise Cancelled()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when cancelled meanwhile (then raise)."""
        if self._event.wait(max(0.0, seconds)):
            raise Cancelled()


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Timeouts and retry bounds. The defaults suit a homeserver on the internet."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    #: attempts per request, the first included (5xx, network errors, 429)
    max_attempts: int = 6
    #: first backoff in seconds; doubles per attempt, capped by ``max_backoff``
    backoff: float = 0.5
    max_backoff: float = 16.0
    #: the longest a 429 may make us wait at once
    max_retry_after: float = 60.0
    #: refuse answers larger than this (bytes), so a hostile server cannot exhaust memory
    max_body: int = 256 * 1024 * 1024


def quote_path(segment: str) -> str:
    """Percent-encode one path segment (room IDs, aliases, event IDs contain ``!#$:``)."""
    return quote(segment, safe="")


def _ca_context(ca_file: str) -> ssl.SSLContext:
    """A TLS context that trusts the CAs in ``ca_file`` (PEM), verifying as usual."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise HomeserverError(f"CA file {ca_file}: cannot be used ({exc})") from None


def _errcode_and_message(resp: httpx.Response) -> tuple[str | None, str]:
    try:
        body = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, ""
    if not isinstance(body, Mapping):
        return None, ""
    errcode = body.get("errcode")
    error = body.get("error")
    return (
        errcode if isinstance(errcode, str) else None,
        _one_line(error) if isinstance(error, str) else "",
    )


def _one_line(text: str, limit: int = 200) -> str:
    """Server text made safe for a one-line message: no newlines, bounded length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class MatrixHttp:
    """JSON requests to one homeserver with retries, backoff, 429 handling and cancel.

    ``sleep`` defaults to the cancel token's interruptible sleep; tests pass a
    recorder so they run instantly.
    """

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str = True,
        settings: HttpSettings | None = None,
        cancel: CancelToken | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.settings = settings or HttpSettings()
        self.cancel = cancel or CancelToken()
        self._sleep = sleep or self.cancel.sleep
        self._access_token = access_token
        tls: bool | ssl.SSLContext = verify if isinstance(verify, bool) else _ca_context(verify)
        timeout = httpx.Timeout(self.settings.read_timeout, connect=self.settings.connect_timeout)
        self._client = httpx.Client(
            transport=transport,
            verify=tls,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": "roomscope"},
        )
        #: requests sent (each attempt counts), for progress and benchmarks
        self.requests = 0
        #: seconds spent waiting for the server (sum over attempts)
        self.server_seconds = 0.0
        #: seconds spent decoding JSON answers
        self.decode_seconds = 0.0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> MatrixHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def access_token(self) -> str | None:
        return self._access_token

    @access_token.setter
    def access_token(self, token: str | None) -> None:
        self._access_token = token

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body=body)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        authenticated: bool = True,
        cancellable: bool = True,
    ) -> Any:
        """Send ``method path`` and return the decoded JSON answer.

        ``path`` starts with ``/`` and is already percent-encoded. Raises a
        :class:`HomeserverError` subclass, or :class:`Cancelled`. A request that
        is not ``cancellable`` (a logout on the way out) is tried once, whatever
        the cancel token says.
        """
        what = f"{method} {path}"
        headers: dict[str, str] = {}
        if authenticated and self._access_token:
            headers["Authorization"] = f"Bearer {self._access_token}"
        settings = self.settings
        last_problem = ""
        attempts = settings.max_attempts if cancellable else 1
        for attempt in range(1, attempts + 1):
            if cancellable:
                self.cancel.check()
            self.requests += 1
            began = time.perf_counter()
            try:
                resp = self._client.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=body,
                    headers=headers,
                )
            except httpx.TimeoutException:
                last_problem = "timed out"
                self.server_seconds += time.perf_counter() - began
                if cancellable:
                    self.cancel.check()
                    self._backoff(attempt)
                continue
            except httpx.TransportError as exc:
                last_problem = _one_line(f"network error: {exc}" if str(exc) else "network error")
                self.server_seconds += time.perf_counter() - began
                if cancellable:
                    self.cancel.check()
                    self._backoff(attempt)
                continue
            self.server_seconds += time.perf_counter() - began

            status = resp.status_code
            if status == 429:
                wait = self._retry_after(resp, attempt)
                last_problem = f"rate limited (429), waited {wait:g} s"
                if attempt < attempts:
                    self._sleep(wait)
                continue
            if 500 <= status < 600:
                errcode, message = _errcode_and_message(resp)
                last_problem = f"server error {status}" + (f" ({errcode})" if errcode else "")
                if message:
                    last_problem += f": {message}"
                if attempt < attempts:
                    self._backoff(attempt)
                continue
            if 200 <= status < 300:
                return self._decode(resp, what)
            raise self._error(resp, what)
        raise UnreachableError(f"{what}: gave up after {attempts} attempts ({last_problem})")

    def _backoff(self, attempt: int) -> None:
        if attempt >= self.settings.max_attempts:
            return
        delay = min(self.settings.backoff * (2 ** (attempt - 1)), self.settings.max_backoff)
        self._sleep(delay)

    def _retry_after(self, resp: httpx.Response, attempt: int) -> float:
        """How long a 429 asks us to wait: ``retry_after_ms``, else ``Retry-After``, capped."""
        wait: float | None = None
        try:
            body = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if isinstance(body, Mapping):
            ms = body.get("retry_after_ms")
            if isinstance(ms, int | float) and not isinstance(ms, bool) and ms >= 0:
                wait = ms / 1000.0
        if wait is None:
            header = resp.headers.get("Retry-After", "")
            try:
                wait = float(header)
            except ValueError:
                wait = None
        if wait is None or wait != wait:  # absent or NaN: back off as for a 5xx
            wait = min(self.settings.backoff * (2 ** (attempt - 1)), self.settings.max_backoff)
        return min(max(wait, 0.0), self.settings.max_retry_after)

    def _decode(self, resp: httpx.Response, what: str) -> Any:
        if len(resp.content) > self.settings.max_body:
            raise ServerAnswerError(
                f"{what}: the answer is larger than {self.settings.max_body} bytes",
                status=resp.status_code,
            )
        began = time.perf_counter()
        try:
            return resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            ctype = resp.headers.get("Content-Type", "no content type")
            raise ServerAnswerError(
                f"{what}: the answer is not JSON ({_one_line(ctype, 60)})",
                status=resp.status_code,
            ) from None
        finally:
            self.decode_seconds += time.perf_counter() - began

    def _error(self, resp: httpx.Response, what: str) -> HomeserverError:
        status = resp.status_code
        errcode, message = _errcode_and_message(resp)
        detail = errcode or f"HTTP {status}"
        if message:
            detail += f": {message}"
        if status == 401:
            return UnauthorizedError(
                f"{what}: the homeserver did not accept the credentials ({detail})",
                status=status,
                errcode=errcode,
            )
        if status == 403:
            return AccessDeniedError(
                f"{what}: the homeserver refused ({detail})", status=status, errcode=errcode
            )
        if status == 404:
            return NotFoundError(f"{what}: not found ({detail})", status=status, errcode=errcode)
        if 300 <= status < 400:
            location = _one_line(resp.headers.get("Location", "?"), 120)
            return HomeserverError(
                f"{what}: redirected to {location}; give that address as HOMESERVER",
                status=status,
            )
        return HomeserverError(f"{what}: failed ({detail})", status=status, errcode=errcode)
