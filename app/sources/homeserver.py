"""Fetch a room's event graph from a homeserver, as full PDUs.

The client-server API serves *client* events (no ``prev_events``,
``auth_events``, hashes or signatures), which cannot make a graph. A filter
with ``"event_format": "federation"`` asks for the events as servers exchange
them: https://spec.matrix.org/v1.16/client-server-api/#filtering. Synapse
honours it on ``/sync`` and ``/rooms/{roomId}/messages`` (and on its admin
``/messages``). What this module does, in order:

1. sign in: an access token, or ``m.login.password`` (that login is logged
   out again at the end); ``/account/whoami`` names the user;
   https://spec.matrix.org/v1.16/client-server-api/#login
2. is the user a Synapse server admin (``GET /_synapse/admin/v1/users/{id}/admin``)?
3. the room: a room ID, or an alias resolved with
   ``GET /directory/room/{alias}``
   (https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3directoryroomroomalias);
4. ``/sync`` filtered to the room: the newest events, the current state, and
   a ``prev_batch`` token;
5. ``/messages`` backwards (``dir=b``) page by page to the create event or to
   the user's limit; admins use Synapse's admin ``/messages``, which sees
   history regardless of membership and history visibility;
6. gaps: events referenced in ``prev_events``/``auth_events`` but not seen.
   An admin fetches them one by one with ``GET /_synapse/admin/v1/fetch_event/{id}``
   (Synapse 1.163 serves the stored PDU as is: soft-failed events and
   auth-chain outliers too), and reads the forward extremities with
   ``GET /_synapse/admin/v1/rooms/{id}/forward_extremities``. A non-admin
   cannot: Synapse's ``/rooms/{id}/event/{id}`` and ``/context`` serialize
   client events whatever the filter says, so those events stay "missing"
   and the result says so;
7. server signing keys: the homeserver's own from ``GET /_matrix/key/v2/server``
   and other servers' through its notary ``GET /_matrix/key/v2/query/{server}``
   (https://spec.matrix.org/v1.16/server-server-api/#retrieving-server-keys),
   each self-signature checked, so signatures can be verified offline.

PDUs are kept exactly as served (``unsigned``, the injected ``event_id`` and
the v12 create ``room_id`` included); the loader leaves those out when hashing
(:meth:`app.core.events.PDU.as_sent`).

A server that ignores ``event_format`` is refused with
:class:`NotFullPDUsError` instead of a wrong graph. Everything fetched before
a cancel, a limit or a server that stops making progress is kept.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.core.errors import RoomscopeError, printable
from app.core.events import EventFormatError
from app.core.room import Room, pdu_from_json
from app.core.versions import RoomVersion, room_version
from app.sources.http_client import (
    AccessDeniedError,
    Cancelled,
    CancelToken,
    HomeserverError,
    HttpSettings,
    MatrixHttp,
    NotFoundError,
    ServerAnswerError,
    UnauthorizedError,
    quote_path,
)

__all__ = [
    "TOKEN_ENV",
    "Credentials",
    "FetchOptions",
    "FetchProgress",
    "FetchResult",
    "HistoryNotVisibleError",
    "NotFullPDUsError",
    "discover_homeserver",
    "fetch_room",
    "normalize_homeserver",
    "read_native_file",
    "save_fetched",
]

#: The environment variable the CLI and the window read an access token from.
TOKEN_ENV = "ROOMSCOPE_ACCESS_TOKEN"

CLIENT = "/_matrix/client/v3"
ADMIN = "/_synapse/admin/v1"

#: The fields a PDU has and a client event lacks.
#: https://spec.matrix.org/v1.16/server-server-api/#pdus
PDU_ONLY_FIELDS = ("prev_events", "auth_events", "hashes", "signatures", "depth")

#: Notes are for people; bound them so a hostile server cannot flood the report.
MAX_NOTES = 50


class NotFullPDUsError(ServerAnswerError):
    """The server answered with client events although we asked for federation ones."""


class HistoryNotVisibleError(AccessDeniedError):
    """``M_FORBIDDEN`` on ``/messages``: the user may not see this room's history."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """How to sign in: an access token, or a user and password (``m.login.password``).

    Neither is ever written to a room file, a log or settings.
    """

    access_token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class FetchOptions:
    """What to fetch and how hard to try."""

    #: stop paging once this many events are known (None: to the create event)
    limit: int | None = None
    #: events per ``/messages`` page (Synapse serves at most 1000)
    page_size: int = 1000
    #: fetch events referenced but not seen (admins only)
    fill_gaps: bool = True
    #: most single-event requests spent on gaps
    max_gap_events: int = 100_000
    #: fetch the servers' signing keys
    fetch_keys: bool = True
    #: consecutive pages without a new event before giving up on paging
    max_idle_pages: int = 5


@dataclass(frozen=True, slots=True)
class FetchProgress:
    """A snapshot for progress displays: what phase, how much so far."""

    phase: str
    events: int
    pages: int
    missing: int
    #: depth of the newest and the oldest event seen; the create event has depth 1
    newest_depth: int | None = None
    oldest_depth: int | None = None

    @property
    def fraction(self) -> float | None:
        """An estimate of the paging done, from depths (None when unknown)."""
        if self.newest_depth is None or self.oldest_depth is None or self.newest_depth <= 1:
            return None
        done = (self.newest_depth - self.oldest_depth) / (self.newest_depth - 1)
        return min(max(done, 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a fetch brought home; ``to_document()`` makes the native room file."""

    room_id: str
    room_version: str | None
    #: the PDUs exactly as served, oldest first (by depth, then event ID)
    events: tuple[Mapping[str, Any], ...]
    #: server name -> key ID -> unpadded base64 public key
    server_keys: Mapping[str, Mapping[str, str]]
    #: where the room came from (homeserver, user, alias, time, extremities, ...)
    source: Mapping[str, Any]
    #: referenced by prev_events/auth_events but not obtained
    missing: tuple[str, ...]
    reached_create: bool
    cancelled: bool
    #: one-line remarks for people: what could not be seen, why paging stopped
    notes: tuple[str, ...]
    #: where the time went (seconds) and how many requests and pages; not saved
    stats: Mapping[str, float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.reached_create and not self.missing and not self.cancelled

    def to_room(self, name: str | None = None) -> Room:
        """The :class:`~app.core.room.Room` of these events (source and keys included).

        Raises :class:`~app.core.events.EventFormatError` only for an event the
        fetcher could not check (the room version was unknown while fetching).
        """
        return Room.from_events(
            self.events,
            room_version=self.room_version,
            room_id=self.room_id,
            source=self.source,
            server_keys=self.server_keys,
            name=name or self.source.get("alias") or self.room_id,
        )

    def to_document(self) -> dict[str, Any]:
        """The native room file object of DESIGN.md ("The room file")."""
        doc: dict[str, Any] = {
            "format": "roomscope.room",
            "version": 1,
            "room_id": self.room_id,
        }
        if self.room_version is not None:
            doc["room_version"] = self.room_version
        doc["source"] = dict(self.source)
        if self.server_keys:
            doc["server_keys"] = {s: dict(k) for s, k in self.server_keys.items()}
        doc["events"] = list(self.events)
        return doc


def normalize_homeserver(homeserver: str) -> str:
    """``example.org`` -> ``https://example.org``; a URL is kept, less a trailing ``/``."""
    text = homeserver.strip()
    if not text:
        raise RoomscopeError("HOMESERVER is empty: give a URL such as https://matrix.example.org")
    if "://" not in text:
        text = "https://" + text
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError) as exc:
        raise RoomscopeError(f"HOMESERVER {homeserver!r} is not a URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise RoomscopeError(f"HOMESERVER {homeserver!r} is not an http(s) URL")
    return text.rstrip("/")


def _printable(text: str, limit: int = 300) -> str:
    """Server-given text made safe for a terminal line: no control characters, bounded."""
    return printable(text, limit)


def _refs(value: Any) -> list[str]:
    """Event IDs of a prev_events/auth_events list: v3+ strings or v1/v2 [id, hashes] pairs."""
    out: list[str] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, list) and item and isinstance(item[0], str):
                out.append(item[0])
    return out


def _is_create(event: Mapping[str, Any]) -> bool:
    return event.get("type") == "m.room.create" and event.get("state_key") == ""


def _wrong(what: str, expected: str, value: Any) -> ServerAnswerError:
    return ServerAnswerError(f"{what}: {expected}, got {type(value).__name__}")


class _Fetch:
    """One fetch in progress: the state shared by the steps of :func:`fetch_room`."""

    def __init__(
        self,
        http: MatrixHttp,
        homeserver: str,
        options: FetchOptions,
        progress: Callable[[FetchProgress], None] | None,
    ) -> None:
        self.http = http
        self.homeserver = homeserver
        self.options = options
        self.progress_cb = progress
        self.events: dict[str, Mapping[str, Any]] = {}
        self.referenced: set[str] = set()
        self.version: RoomVersion | None = None
        self.version_id: str | None = None
        self.room_id = ""
        self.user_id = ""
        self.admin = False
        self.pages = 0
        self.phase = "signing in"
        self.newest_depth: int | None = None
        self.oldest_depth: int | None = None
        self.notes: list[str] = []
        self.skipped = 0
        self.reached_start = False
        self.resume_token: str | None = None
        self.extremities: list[str] | None = None
        self.unfetchable: set[str] = set()
        self.parse_seconds = 0.0
        self.create_id: str | None = None

    # -- bookkeeping --------------------------------------------------------

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(_printable(text))
        elif len(self.notes) == MAX_NOTES:
            self.notes.append("(more notes left out)")

    def missing(self) -> set[str]:
        return self.referenced - self.events.keys()

    def report(self, phase: str | None = None) -> None:
        if phase is not None:
            self.phase = phase
        if self.progress_cb is not None:
            self.progress_cb(
                FetchProgress(
                    phase=self.phase,
                    events=len(self.events),
                    pages=self.pages,
                    missing=len(self.missing()),
                    newest_depth=self.newest_depth,
                    oldest_depth=self.oldest_depth,
                )
            )

    @property
    def reached_create(self) -> bool:
        return self.create_id is not None

    def set_version(self, identifier: str) -> None:
        try:
            self.version = room_version(identifier)
        except RoomscopeError:
            self.note(f"room version {identifier!r} is unknown to roomscope")
            self.version = None
        self.version_id = identifier

    def add(self, obj: Any, where: str, *, trusted: bool = False) -> bool:
        """Keep one served event; True when it was new.

        ``trusted`` is for events read back from an existing room file: they
        are not checked for the PDU fields again.
        """
        began = time.perf_counter()
        try:
            return self._add(obj, where, trusted)
        finally:
            self.parse_seconds += time.perf_counter() - began

    def _add(self, obj: Any, where: str, trusted: bool) -> bool:
        if not isinstance(obj, Mapping):
            raise _wrong(where, "expected an event object", obj)
        if not trusted:
            absent = [k for k in PDU_ONLY_FIELDS if k not in obj]
            if absent:
                raise NotFullPDUsError(
                    f"{where}: the server does not give full PDUs (event_format=federation "
                    f"ignored: no {', '.join(absent)})"
                )
        event_id = obj.get("event_id")
        if not isinstance(event_id, str):
            if self.version is None or not self.version.event_ids_derived:
                self.skipped += 1
                self.note(f"{where}: an event without an event_id was left out")
                return False
            try:
                event_id = pdu_from_json(obj, self.version, where=where).event_id
            except EventFormatError as exc:
                self.skipped += 1
                self.note(f"{where}: left out: {exc}")
                return False
        if event_id in self.events:
            return False
        problem = self._problem(obj)
        if problem is not None:
            self.skipped += 1
            self.note(f"{where}: event {event_id} left out: {problem}")
            return False
        self.events[event_id] = obj
        self.referenced.update(_refs(obj.get("prev_events")))
        self.referenced.update(_refs(obj.get("auth_events")))
        depth = obj.get("depth")
        if isinstance(depth, int) and not isinstance(depth, bool):
            if self.newest_depth is None or depth > self.newest_depth:
                self.newest_depth = depth
            if self.oldest_depth is None or depth < self.oldest_depth:
                self.oldest_depth = depth
        if _is_create(obj):
            self.create_id = event_id
        if _is_create(obj) and self.version_id is None:
            content = obj.get("content")
            rv = content.get("room_version", "1") if isinstance(content, Mapping) else "1"
            if isinstance(rv, str):
                self.set_version(rv)
        return True

    def _problem(self, obj: Mapping[str, Any]) -> str | None:
        """Why a served event cannot be kept, or None (types of the fields we rely on)."""
        for key in ("prev_events", "auth_events"):
            if key in obj and not isinstance(obj[key], list):
                return f"{key} is not a list"
        if "depth" in obj and (not isinstance(obj["depth"], int) or isinstance(obj["depth"], bool)):
            return "depth is not an integer"
        if not isinstance(obj.get("type"), str):
            return "type is not a string"
        rid = obj.get("room_id")
        if rid is not None and rid != self.room_id:
            return f"it belongs to room {rid!r}, not {self.room_id}"
        if rid is None and not (
            _is_create(obj) and self.version is not None and self.version.room_id_from_create_event
        ):
            return "room_id is missing"
        return None

    def validate(self) -> None:
        """Leave out, with a note, every event that is not a well-formed PDU of the version.

        Runs once at the end, when the version is surely known; the file then
        always loads.
        """
        if self.version is None:
            return
        began = time.perf_counter()
        for event_id, obj in list(self.events.items()):
            try:
                pdu_from_json(obj, self.version, where=event_id)
            except EventFormatError as exc:
                del self.events[event_id]
                self.skipped += 1
                self.note(f"left out: {exc}")
        self.parse_seconds += time.perf_counter() - began

    # -- the steps ----------------------------------------------------------

    def sign_in(self, credentials: Credentials) -> bool:
        """Set the access token; True when we logged in here (and must log out)."""
        if credentials.access_token:
            self.http.access_token = credentials.access_token
            logged_in = False
        elif credentials.user and credentials.password is not None:
            identifier = {"type": "m.id.user", "user": credentials.user}
            try:
                answer = self.http.request(
                    "POST",
                    f"{CLIENT}/login",
                    body={
                        "type": "m.login.password",
                        "identifier": identifier,
                        "password": credentials.password,
                        "initial_device_display_name": "roomscope fetch",
                    },
                    authenticated=False,
                )
            except (AccessDeniedError, UnauthorizedError) as exc:
                raise UnauthorizedError(
                    f"login as {credentials.user} failed: wrong user or password "
                    f"({exc.errcode or exc.status})",
                    status=exc.status,
                    errcode=exc.errcode,
                ) from None
            token = answer.get("access_token") if isinstance(answer, Mapping) else None
            if not isinstance(token, str) or not token:
                raise ServerAnswerError("POST /login: the answer has no access_token")
            self.http.access_token = token
            logged_in = True
        else:
            raise RoomscopeError(
                "no credentials: give --token (or set ROOMSCOPE_ACCESS_TOKEN), "
                "or --user with --password-stdin"
            )
        try:
            who = self.http.get(f"{CLIENT}/account/whoami")
        except UnauthorizedError as exc:
            raise UnauthorizedError(
                f"the homeserver did not accept the access token ({exc.errcode or exc.status})",
                status=exc.status,
                errcode=exc.errcode,
            ) from None
        user_id = who.get("user_id") if isinstance(who, Mapping) else None
        if not isinstance(user_id, str):
            raise ServerAnswerError("GET /account/whoami: the answer has no user_id")
        self.user_id = user_id
        return logged_in

    def check_admin(self) -> None:
        """Synapse admin? Any failure (403, 404 behind a proxy, ...) means no."""
        try:
            answer = self.http.get(f"{ADMIN}/users/{quote_path(self.user_id)}/admin")
        except HomeserverError:
            self.admin = False
            return
        self.admin = isinstance(answer, Mapping) and answer.get("admin") is True

    def resolve_room(self, room: str) -> str | None:
        """Set ``room_id``; returns the alias when ``room`` was one."""
        room = room.strip()
        if room.startswith("!"):
            self.room_id = room
            return None
        if not room.startswith("#") or ":" not in room:
            raise RoomscopeError(
                f"ROOM {room!r} is neither a room ID (!id:server) nor an alias (#name:server)"
            )
        self.report("resolving alias")
        try:
            answer = self.http.get(f"{CLIENT}/directory/room/{quote_path(room)}")
        except NotFoundError:
            raise NotFoundError(f"no room has the alias {room} (M_NOT_FOUND)", status=404) from None
        room_id = answer.get("room_id") if isinstance(answer, Mapping) else None
        if not isinstance(room_id, str) or not room_id.startswith("!"):
            raise ServerAnswerError(f"GET /directory/room/{room}: the answer has no room_id")
        self.room_id = room_id
        return room

    def learn_version(self) -> None:
        """The room version, before any event is parsed (IDs of v3+ events may need it)."""
        if self.version_id is not None:
            return
        try:
            create = self.http.get(
                f"{CLIENT}/rooms/{quote_path(self.room_id)}/state/m.room.create/"
            )
            rv = create.get("room_version", "1") if isinstance(create, Mapping) else None
            if isinstance(rv, str):
                self.set_version(rv)
                return
        except (AccessDeniedError, NotFoundError):
            pass
        if self.admin:
            try:
                details = self.http.get(f"{ADMIN}/rooms/{quote_path(self.room_id)}")
            except NotFoundError:
                raise NotFoundError(
                    f"room {self.room_id} is not known to this homeserver", status=404
                ) from None
            rv = details.get("version") if isinstance(details, Mapping) else None
            if isinstance(rv, str):
                self.set_version(rv)

    def sync(self) -> str | None:
        """A filtered initial ``/sync``: the newest events and state; returns ``prev_batch``.

        https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3sync
        """
        self.report("syncing")
        nothing = {"not_types": ["*"]}
        flt = {
            "event_format": "federation",
            "account_data": nothing,
            "presence": nothing,
            "room": {
                "rooms": [self.room_id],
                "include_leave": True,
                "timeline": {"limit": min(self.options.page_size, 100)},
                "state": {"lazy_load_members": False},
                "ephemeral": nothing,
                "account_data": nothing,
            },
        }
        answer = self.http.get(f"{CLIENT}/sync", params={"filter": json.dumps(flt), "timeout": "0"})
        if not isinstance(answer, Mapping):
            raise _wrong("GET /sync", "expected a JSON object", answer)
        rooms = answer.get("rooms", {})
        if not isinstance(rooms, Mapping):
            raise _wrong("GET /sync: rooms", "expected an object", rooms)
        entry: Any = None
        for section in ("join", "leave"):
            part = rooms.get(section)
            if isinstance(part, Mapping) and self.room_id in part:
                entry = part[self.room_id]
                break
        if entry is None:
            self.note(f"{self.user_id} is not in the room; /sync gave nothing for it")
            return None
        if not isinstance(entry, Mapping):
            raise _wrong("GET /sync: the room", "expected an object", entry)
        prev_batch: str | None = None
        for block in ("state", "timeline"):
            part = entry.get(block, {})
            if not isinstance(part, Mapping):
                raise _wrong(f"GET /sync: {block}", "expected an object", part)
            events = part.get("events", [])
            if not isinstance(events, list):
                raise _wrong(f"GET /sync: {block}.events", "expected a list", events)
            for i, ev in enumerate(events):
                self.add(ev, f"GET /sync: {block}.events[{i}]")
            if block == "timeline":
                pb = part.get("prev_batch")
                if pb is not None and not isinstance(pb, str):
                    raise _wrong("GET /sync: timeline.prev_batch", "expected a string", pb)
                prev_batch = pb
        self.report()
        return prev_batch

    def page_back(
        self,
        start: str | None,
        *,
        known_complete: bool,
        resume_token: str | None,
        extending: bool = False,
    ) -> None:
        """Page ``/messages`` backwards to the create event, the limit, or the end.

        https://spec.matrix.org/v1.16/client-server-api/#get_matrixclientv3roomsroomidmessages
        """
        self.report("paging")
        flt = json.dumps({"event_format": "federation", "lazy_load_members": False})
        use_admin = self.admin
        token = start
        seen_tokens: set[str] = set()
        idle = 0
        jumped = False
        limit = self.options.limit
        # Extending a file that stopped short with no token to resume from means
        # walking back through the events it already has: allow for those pages.
        idle_limit = self.options.max_idle_pages
        if extending and not known_complete and resume_token is None:
            idle_limit += len(self.events) // max(self.options.page_size, 1) + 1
        while True:
            # Where a later --extend carries on if paging stops here (limit, cancel).
            self.resume_token = token
            if limit is not None and len(self.events) >= limit:
                self.note(f"stopped at the limit of {limit} events")
                return
            if self.reached_create and not self.missing():
                # /messages runs in topological order: nothing is older than the
                # create event, and every event seen has its parents.
                self.reached_start = True
                return
            base = ADMIN if use_admin else CLIENT
            path = f"{base}/rooms/{quote_path(self.room_id)}/messages"
            params = {"dir": "b", "limit": str(self.options.page_size), "filter": flt}
            if token is not None:
                params["from"] = token
            where = f"GET {path}"
            try:
                answer = self.http.get(path, params)
            except AccessDeniedError as exc:
                if use_admin:
                    raise
                raise HistoryNotVisibleError(
                    f"{self.user_id} may not see the history of {self.room_id} "
                    f"({exc.errcode or exc.status}): join the room, or fetch as a server admin",
                    status=exc.status,
                    errcode=exc.errcode,
                ) from None
            if not isinstance(answer, Mapping):
                raise _wrong(where, "expected a JSON object", answer)
            chunk = answer.get("chunk")
            if not isinstance(chunk, list):
                raise _wrong(f"{where}: chunk", "expected a list", chunk)
            end = answer.get("end")
            if end is not None and not isinstance(end, str):
                raise _wrong(f"{where}: end", "expected a string", end)
            self.pages += 1
            try:
                new = sum(
                    self.add(ev, f"{where} (page {self.pages}): chunk[{i}]")
                    for i, ev in enumerate(chunk)
                )
            except NotFullPDUsError:
                if use_admin and self.pages == 1:
                    # An older Synapse whose admin /messages ignores the filter:
                    # try the client API, which has honoured it for long.
                    use_admin = False
                    self.pages = 0
                    continue
                raise
            self.report()
            if end is None:
                # "If no further events are available ... this property is omitted."
                self.reached_start = True
                return
            if end == token or end in seen_tokens:
                self.resume_token = None
                self.note(
                    f"stopped paging: the server gave the same page token again (page {self.pages})"
                )
                return
            seen_tokens.add(end)
            token = end
            if new:
                idle = 0
                continue
            if chunk and known_complete:
                return  # caught up with a complete file
            if chunk and resume_token is not None and not jumped:
                jumped = True  # where the old file's paging stopped: carry on from there
                token = resume_token
                continue
            idle += 1
            if idle >= idle_limit:
                self.note(
                    f"stopped paging: {idle} pages in a row brought no new events "
                    f"(page {self.pages})"
                )
                return

    def read_extremities(self) -> None:
        """Forward extremities from Synapse's admin API (admins only)."""
        try:
            answer = self.http.get(f"{ADMIN}/rooms/{quote_path(self.room_id)}/forward_extremities")
        except (AccessDeniedError, NotFoundError) as exc:
            self.note(f"forward extremities not available ({exc.errcode or exc.status})")
            return
        results = answer.get("results") if isinstance(answer, Mapping) else None
        if not isinstance(results, list):
            raise _wrong("GET forward_extremities: results", "expected a list", results)
        ids = [r.get("event_id") for r in results if isinstance(r, Mapping)]
        self.extremities = sorted(i for i in ids if isinstance(i, str))
        self.referenced.update(self.extremities)

    def fill_gaps(self, *, prev_too: bool) -> None:
        """Fetch missing events one by one with the admin API, until none is left.

        With ``prev_too`` false (a limited fetch), only the auth chain is
        completed: the events before the limit stay out on purpose.
        """
        self.report("filling gaps")
        budget = self.options.max_gap_events
        while True:
            wanted = self._wanted(prev_too) - self.unfetchable
            if not wanted:
                return
            for event_id in sorted(wanted):
                if budget <= 0:
                    self.note(f"gap filling stopped after {self.options.max_gap_events} events")
                    return
                budget -= 1
                where = f"GET {ADMIN}/fetch_event/{event_id}"
                try:
                    answer = self.http.get(f"{ADMIN}/fetch_event/{quote_path(event_id)}")
                except NotFoundError:
                    self.unfetchable.add(event_id)
                    continue
                event = answer.get("event") if isinstance(answer, Mapping) else None
                if not isinstance(event, Mapping):
                    raise _wrong(f"{where}: event", "expected an object", event)
                if not self.add(event, where):
                    self.unfetchable.add(event_id)
                elif event_id not in self.events:
                    self.unfetchable.add(event_id)  # served under another ID
                self.report()

    def _wanted(self, prev_too: bool) -> set[str]:
        if prev_too:
            return self.missing()
        wanted: set[str] = set()
        for ev in self.events.values():
            wanted.update(_refs(ev.get("auth_events")))
        if self.extremities:
            wanted.update(self.extremities)
        return wanted - self.events.keys()

    def server_keys(self) -> dict[str, dict[str, str]]:
        """Signing keys of every server that signed an event, each self-signature checked."""
        self.report("keys")
        keys: dict[str, dict[str, str]] = {}
        home = self.user_id.partition(":")[2]
        own = self._get_keys("/_matrix/key/v2/server", home)
        if own:
            keys[home] = own
        servers: set[str] = set()
        for ev in self.events.values():
            sigs = ev.get("signatures")
            if isinstance(sigs, Mapping):
                servers.update(s for s in sigs if isinstance(s, str))
        for server in sorted(servers - keys.keys()):
            found = self._get_keys(f"/_matrix/key/v2/query/{quote_path(server)}", server)
            if found:
                keys[server] = found
            else:
                self.note(f"signing keys of {server} not available from {self.homeserver}")
        return keys

    def _get_keys(self, path: str, server: str) -> dict[str, str]:
        try:
            answer = self.http.request("GET", path, authenticated=False)
        except HomeserverError:
            return {}
        objs: list[Any]
        if isinstance(answer, Mapping) and isinstance(answer.get("server_keys"), list):
            objs = list(answer["server_keys"])
        else:
            objs = [answer]
        out: dict[str, str] = {}
        for obj in objs:
            if not isinstance(obj, Mapping) or obj.get("server_name") != server:
                continue
            checked = _self_signed_keys(obj, server)
            if checked is None:
                self.note(f"the signing keys served for {server} are not self-signed; ignored")
                continue
            out.update(checked)
        return out

    def logout(self) -> None:
        try:
            self.http.request("POST", f"{CLIENT}/logout", body={}, cancellable=False)
        except (HomeserverError, Cancelled):
            self.note("could not log out the session roomscope opened")


def discover_homeserver(http: MatrixHttp) -> str | None:
    """The base URL a server name's ``/.well-known/matrix/client`` names, or None.

    None when the file is absent or unusable: the server name's own address is
    then used, as the spec allows for a missing file.
    https://spec.matrix.org/v1.16/client-server-api/#well-known-uris
    """
    try:
        answer = http.request("GET", "/.well-known/matrix/client", authenticated=False)
    except HomeserverError:
        return None
    homeserver = answer.get("m.homeserver") if isinstance(answer, Mapping) else None
    url = homeserver.get("base_url") if isinstance(homeserver, Mapping) else None
    if not isinstance(url, str) or "://" not in url:
        return None
    try:
        return normalize_homeserver(url)
    except RoomscopeError:
        return None


def _self_signed_keys(obj: Mapping[str, Any], server: str) -> dict[str, str] | None:
    """``{key_id: key}`` of a server keys object whose self-signature verifies, else None.

    https://spec.matrix.org/v1.16/server-server-api/#get_matrixkeyv2server
    """
    from signedjson.key import decode_verify_key_bytes
    from signedjson.sign import SignatureVerifyException, verify_signed_json
    from unpaddedbase64 import decode_base64

    current: dict[str, str] = {}
    every: dict[str, str] = {}
    for section in ("verify_keys", "old_verify_keys"):
        part = obj.get(section)
        if not isinstance(part, Mapping):
            continue
        for key_id, entry in part.items():
            if isinstance(key_id, str) and isinstance(entry, Mapping):
                key = entry.get("key")
                if isinstance(key, str) and key_id.startswith("ed25519:"):
                    every[key_id] = key
                    if section == "verify_keys":
                        current[key_id] = key
    for key_id, key in current.items():
        try:
            verify_key = decode_verify_key_bytes(key_id, decode_base64(key))
            verify_signed_json(dict(obj), server, verify_key)
        except (SignatureVerifyException, ValueError, TypeError, KeyError):
            continue
        return every
    return None


def fetch_room(
    homeserver: str,
    room: str,
    credentials: Credentials,
    *,
    options: FetchOptions | None = None,
    existing: Mapping[str, Any] | None = None,
    progress: Callable[[FetchProgress], None] | None = None,
    cancel: CancelToken | None = None,
    transport: httpx.BaseTransport | None = None,
    verify: bool | str = True,
    settings: HttpSettings | None = None,
    sleep: Callable[[float], None] | None = None,
) -> FetchResult:
    """Fetch ``room`` (ID or alias) from ``homeserver`` as full PDUs.

    ``existing`` is a native room file object to extend: its events are kept
    and only what is newer or missing is fetched. ``cancel`` stops the fetch
    between requests; the result then holds everything fetched so far with
    ``cancelled`` set. ``verify`` is httpx's: True, or a CA bundle path.

    Raises :class:`~app.core.errors.RoomscopeError` subclasses with one-line
    messages (:class:`HistoryNotVisibleError`, :class:`NotFullPDUsError`,
    :class:`~app.sources.http_client.UnauthorizedError`, ...).
    """
    options = options or FetchOptions()
    base_url = normalize_homeserver(homeserver)
    cancel = cancel or CancelToken()
    started = time.time()
    http = MatrixHttp(
        base_url, transport=transport, verify=verify, settings=settings, cancel=cancel, sleep=sleep
    )
    discovered: str | None = None
    if "://" not in homeserver:
        # A server name, not a URL: ask it where its client API lives.
        try:
            discovered = discover_homeserver(http)
        except Cancelled:
            http.close()
            raise RoomscopeError("cancelled before anything was fetched") from None
        if discovered is not None and discovered != base_url:
            http.close()
            base_url = discovered
            http = MatrixHttp(
                base_url,
                transport=transport,
                verify=verify,
                settings=settings,
                cancel=cancel,
                sleep=sleep,
            )
    job = _Fetch(http, base_url, options, progress)
    if discovered is not None:
        job.note(f"{homeserver.strip()} delegates its client API to {discovered} (.well-known)")
    alias: str | None = None
    logged_in = False
    cancelled = False
    server_keys: dict[str, dict[str, str]] = {}
    old_source: Mapping[str, Any] = {}
    try:
        try:
            logged_in = job.sign_in(credentials)
            job.check_admin()
            alias = job.resolve_room(room)
            known_complete = False
            resume_token: str | None = None
            if existing is not None:
                old_source = _load_existing(job, existing)
                known_complete = job.reached_create and not job.missing()
                token = old_source.get("resume_token")
                resume_token = token if isinstance(token, str) else None
            job.learn_version()
            start = job.sync()
            job.page_back(
                start,
                known_complete=known_complete,
                resume_token=resume_token,
                extending=existing is not None,
            )
            if job.admin:
                job.read_extremities()
                if options.fill_gaps:
                    job.fill_gaps(prev_too=options.limit is None)
            if options.fetch_keys:
                server_keys = job.server_keys()
        except Cancelled:
            cancelled = True
            job.note("cancelled: what was fetched until then is kept")
        finally:
            if logged_in:
                job.logout()
    finally:
        http.close()

    old_keys = existing.get("server_keys") if existing is not None else None
    if isinstance(old_keys, Mapping):
        for server, keys in old_keys.items():
            if isinstance(server, str) and isinstance(keys, Mapping):
                merged = {
                    k: v for k, v in keys.items() if isinstance(k, str) and isinstance(v, str)
                }
                merged.update(server_keys.get(server, {}))
                server_keys[server] = merged

    job.validate()
    missing = job.missing()
    if missing and not job.admin:
        job.note(
            f"{len(missing)} referenced events could not be seen by {job.user_id}: "
            "they predate what the history visibility lets this user see, and only a "
            "Synapse admin can fetch single events as PDUs"
        )
    elif job.unfetchable & missing:
        job.note(f"{len(job.unfetchable & missing)} referenced events are unknown to the server")
    if job.skipped:
        job.note(f"{job.skipped} served events were left out (see the notes above)")
    job.report("done")

    source: dict[str, Any] = {
        k: v for k, v in old_source.items() if k not in ("resume_token", "notes", "missing")
    }
    source.update(
        {
            "kind": "homeserver",
            "homeserver": base_url,
            "user_id": job.user_id,
            "server_admin": job.admin,
            "fetched_at_ms": int(started * 1000),
            "fetch_seconds": round(time.time() - started, 3),
            "requests": http.requests,
            "complete": job.reached_create and not missing and not cancelled,
        }
    )
    if alias is not None:
        source["alias"] = alias
    if options.limit is not None:
        source["limit"] = options.limit
    if job.extremities is not None:
        source["forward_extremities"] = job.extremities
    if job.resume_token is not None and not job.reached_create:
        source["resume_token"] = job.resume_token
    if job.notes:
        source["notes"] = list(job.notes)

    def order(ev: Mapping[str, Any]) -> tuple[int, str]:
        depth = ev.get("depth")
        eid = ev.get("event_id")
        return (
            depth if isinstance(depth, int) else 0,
            eid if isinstance(eid, str) else "",
        )

    return FetchResult(
        room_id=job.room_id,
        room_version=job.version_id,
        events=tuple(sorted(job.events.values(), key=order)),
        server_keys=server_keys,
        source=source,
        missing=tuple(sorted(missing)),
        reached_create=job.reached_create,
        cancelled=cancelled,
        notes=tuple(job.notes),
        stats={
            "seconds": time.time() - started,
            "server_seconds": http.server_seconds,
            "decode_seconds": http.decode_seconds,
            "check_seconds": job.parse_seconds,
            "requests": http.requests,
            "pages": job.pages,
        },
    )


def _load_existing(job: _Fetch, existing: Mapping[str, Any]) -> Mapping[str, Any]:
    """Take the events of a native room file to extend; returns its ``source``."""
    rid = existing.get("room_id")
    if isinstance(rid, str) and rid != job.room_id:
        raise RoomscopeError(f"the file to extend holds room {rid}, not {job.room_id}")
    rv = existing.get("room_version")
    if isinstance(rv, str):
        job.set_version(rv)
    events = existing.get("events")
    if not isinstance(events, list):
        raise RoomscopeError("the file to extend has no events list")
    for i, ev in enumerate(events):
        job.add(ev, f"the file to extend: events[{i}]", trusted=True)
    source = existing.get("source")
    return source if isinstance(source, Mapping) else {}


def read_native_file(path: Path) -> dict[str, Any]:
    """A native room file as a JSON object (gzip when the name ends in ``.gz``)."""
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        doc = json.loads(data)
    except OSError as exc:
        raise RoomscopeError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, EOFError) as exc:
        raise RoomscopeError(f"{path}: not a JSON room file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != "roomscope.room":
        raise RoomscopeError(f"{path}: --extend needs a native roomscope room file")
    return doc


def save_fetched(result: FetchResult, path: Path) -> None:
    """Save a fetch as a native room file through :func:`app.sources.files.save_room`.

    gzip-compressed when the name ends in ``.gz``; written atomically.
    """
    from app.sources.files import save_room

    save_room(result.to_room(), path)
