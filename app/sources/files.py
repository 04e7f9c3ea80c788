"""Room files: reading every format DESIGN.md names, and writing the native one.

Formats, detected from the content (not the file name):

1. native: a JSON object ``{"format": "roomscope.room", "version": 1, "room_id": ...,
   "room_version": ..., "events": [PDU, ...], "source": {...}, "annotations": {...},
   "state_sets": {...}, "server_keys": {...}}``; every key but ``events`` optional,
   unknown keys kept (and written back by :func:`save_room`);
2. a JSON array of PDUs;
3. newline-delimited JSON, one PDU per line (Synapse's ``event_json`` dumps);
4. a folder of JSON files, each an array of PDUs (or any format above), loaded
   as batches in name order (the layout of ruma-state-res fixtures);

and gzip of any single file. A room file is untrusted input: anything wrong with
it is a :class:`RoomFileError` whose message is one line naming the file, the
line or event, and what is wrong (``room.json: event 17 ($abc): prev_events[2] is
not a string``: events are numbered from 0 as in the file's array, jq's
``.events[17]``; NDJSON lines from 1); problems that do not stop loading (a
cycle, a mismatched event ID) are findings on the room instead.

Spec: https://spec.matrix.org/v1.16/server-server-api/#pdus; room versions:
https://spec.matrix.org/v1.16/rooms/.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
import sys
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import RoomscopeError, printable
from app.core.events import PDU, EventFormatError, parse_pdu
from app.core.graph import EventGraph, gc_paused
from app.core.hashing import event_id_hasher
from app.core.room import Room, pdu_from_json, room_version_of_events
from app.core.versions import RoomVersion, UnknownRoomVersionError, room_version

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_EXPANDED_BYTES",
    "RoomFileError",
    "load_room",
    "load_room_checking_ids_later",
    "parse_room_bytes",
    "room_to_json",
    "save_room",
]

#: The ``format`` of a native room file, and the ``version`` this code writes.
FORMAT_NAME = "roomscope.room"
FORMAT_VERSION = 1

#: The most bytes a room file may hold, or expand to when gzip-compressed.
MAX_EXPANDED_BYTES = 2 << 30

# Parsed JSON takes several times its text's size in Python objects; refuse files
# whose text times this factor exceeds the memory available.
_MEMORY_FACTOR = 8

_GZIP_MAGIC = b"\x1f\x8b"

# Top-level keys of a native room file that roomscope reads; the rest go to Room.extra.
_NATIVE_KEYS = frozenset(
    {
        "format",
        "version",
        "room_id",
        "room_version",
        "events",
        "source",
        "annotations",
        "state_sets",
        "server_keys",
    }
)


class RoomFileError(RoomscopeError, ValueError):
    """A room file roomscope cannot read; the message is one line: file, place, problem."""


def _clean(text: object, limit: int = 120) -> str:
    """Untrusted text made fit for a one-line message: no control characters, bounded."""
    return printable(text, limit)


# --- limits ------------------------------------------------------------------------


def _available_memory() -> int | None:
    """Bytes of memory available to this process, when the system says (Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _byte_limit(max_bytes: int | None) -> int:
    """The most bytes of JSON text one load may handle."""
    if max_bytes is not None:
        return max_bytes
    limit = MAX_EXPANDED_BYTES
    available = _available_memory()
    if available is not None:
        limit = min(limit, available // _MEMORY_FACTOR)
    return limit


def _human(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


def _gunzip(data: bytes, name: str, limit: int) -> bytes:
    """Decompress gzip ``data``, refusing to expand past ``limit`` bytes.

    The common case (one gzip member, intact) is one zlib call bounded by ``limit``
    (about 40% faster than reading a GzipFile in chunks: 0.15 s instead of 0.24 s
    for a 100k-event room, and zlib lets go of the interpreter lock meanwhile);
    anything else (several members, a truncated or corrupt stream, too much output)
    goes through :func:`_gunzip_chunked`, which gives every message as before.
    """
    try:
        d = zlib.decompressobj(wbits=31)  # 16 + 15: a gzip header and trailer
        out = d.decompress(data, limit + 1)
    except zlib.error:
        return _gunzip_chunked(data, name, limit)
    if d.eof and not d.unused_data and len(out) <= limit:
        return out
    return _gunzip_chunked(data, name, limit)


def _gunzip_chunked(data: bytes, name: str, limit: int) -> bytes:
    """Decompress gzip ``data`` in chunks, refusing to expand past ``limit`` bytes."""
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as f:
            while chunk := f.read(1 << 20):
                out += chunk
                if len(out) > limit:
                    raise RoomFileError(
                        f"{name}: expands past {_human(limit)} when decompressed; "
                        "refusing to load it (too large for this machine, or a gzip bomb)"
                    )
    except (OSError, EOFError, zlib.error) as exc:
        reason = str(exc) or type(exc).__name__
        raise RoomFileError(f"{name}: not a valid gzip file ({_clean(reason)})") from None
    return bytes(out)


# --- JSON --------------------------------------------------------------------------


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not allowed in JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)


class _Decoder:
    """The JSON decoder of one file, noting whether the text held any float.

    A room without floats (almost every room: the spec's canonical JSON allows
    only integers) has its v3+ event IDs computed the faster way
    (:func:`app.core.hashing.canonical_json`, ``float_free``). The hook sees every
    number with a fraction or exponent and reads it as ``json`` does by default.
    """

    def __init__(self) -> None:
        self.floats = 0
        self.decode = json.JSONDecoder(
            parse_constant=_reject_constant, parse_float=self._float
        ).decode

    def _float(self, text: str) -> float:
        self.floats += 1
        return float(text)


def _json_error(place: str, exc: BaseException, *, line_offset: int = 0) -> RoomFileError:
    if isinstance(exc, json.JSONDecodeError):
        line = exc.lineno + line_offset
        at = "" if exc.msg.endswith(" at") else " at"
        return RoomFileError(
            f"{place} line {line}: not valid JSON ({exc.msg}{at} column {exc.colno})"
        )
    if isinstance(exc, RecursionError):
        return RoomFileError(f"{place}: not readable JSON (nested too deeply)")
    if "integer string conversion" in str(exc):
        # Python refuses to read integers this long (CVE-2020-10735); its message names
        # sys.set_int_max_str_digits, which means nothing to a person reading a room.
        return RoomFileError(
            f"{place}: not readable JSON (a number with more than "
            f"{sys.get_int_max_str_digits()} digits)"
        )
    return RoomFileError(f"{place}: not valid JSON ({_clean(exc)})")


def _loads(text: str, place: str, *, line_offset: int = 0, decoder: _Decoder | None = None) -> Any:
    try:
        return (decoder or _decoder).decode(text)
    except (ValueError, RecursionError) as exc:
        raise _json_error(place, exc, line_offset=line_offset) from None


def _kind(value: object) -> str:
    """The JSON type of ``value`` with its article: "a number", "an object"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --- reading -----------------------------------------------------------------------


@dataclass(slots=True)
class _Batch:
    """The events of one file (with where each came from) and its native metadata."""

    name: str
    objs: list[Any]
    #: "event N" for arrays and native files, "line N" for NDJSON.
    places: list[str]
    meta: dict[str, Any] | None = None
    line_based: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    #: True when the file's JSON held no float (see :class:`_Decoder`).
    float_free: bool = False


def _decode_text(data: bytes, name: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RoomFileError(
            f"{name} line {line}: not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x})"
        ) from None


def _read_batch(data: bytes, name: str, limit: int) -> _Batch:
    """Detect the format of one file's bytes and split it into event objects."""
    decoder = _Decoder()
    batch = _split_batch(data, name, limit, decoder)
    batch.float_free = not decoder.floats
    return batch


def _split_batch(data: bytes, name: str, limit: int, decoder: _Decoder) -> _Batch:
    if data.startswith(_GZIP_MAGIC):
        data = _gunzip(data, name, limit)
    elif len(data) > limit:
        raise RoomFileError(
            f"{name}: {_human(len(data))} is more than this machine can load "
            f"(limit {_human(limit)})"
        )
    text = _decode_text(data, name)
    start = len(text) - len(text.lstrip())
    if start == len(text):
        raise RoomFileError(f"{name}: the file is empty (expected a room: JSON or NDJSON)")
    first = text[start]

    if first == "{":
        try:
            value = _decode_in_pieces(text, decoder)
            if value is None:
                decoder.floats = 0  # counted again, whole
                value = decoder.decode(text)
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data":
                return _read_ndjson(text, name, exc, decoder)
            raise _json_error(name, exc) from None
        except (ValueError, RecursionError) as exc:
            raise _json_error(name, exc) from None
        if "events" in value or value.get("format") == FORMAT_NAME:
            return _read_native(value, name)
        if "type" in value and "sender" in value:
            # One event on one line: NDJSON of a single event.
            return _Batch(name, [value], ["line 1"], line_based=True)
        raise RoomFileError(f"{name}: a JSON object without an 'events' list is not a room file")

    value = _loads(text, name, decoder=decoder)
    if isinstance(value, list):
        return _Batch(name, value, [f"event {i}" for i in range(len(value))])
    raise RoomFileError(
        f"{name}: the file holds {_kind(value)}, not a room (expected a room object, "
        "an array of events, or one event per line)"
    )


# A native file this long (in characters) is decoded in pieces of about this many.
_PIECES_FROM = 8 << 20
_PIECE = 1 << 20
_SPACE = " \t\r\n"


def _decode_in_pieces(text: str, decoder: _Decoder) -> Any:
    """``decoder.decode(text)`` for a native room file laid out as :func:`save_room`
    writes it (a first line ending in ``"events": [``, then the events, a last line
    ``]}``), decoded a megabyte of events at a time; None for any other text, or when
    a piece does not decode: the caller then decodes the whole (and reports errors).

    Why: one decode of a 60 MB text holds the interpreter lock for 0.3-0.5 s, and
    the window's UI thread, waiting for it, freezes; between pieces it gets a turn.
    The pieces are cut at line ends, which in JSON are never inside a string; each
    must be a list of values with the comma that separates it from the next at its
    end, so together they are exactly the events array.
    """
    if len(text) < _PIECES_FROM:
        return None
    end = len(text)
    while end and text[end - 1] in _SPACE:
        end -= 1
    head_end = text.find("\n")
    body_end = text.rfind("\n", 0, end)
    if head_end < 0 or body_end <= head_end or text[body_end:end].strip(_SPACE) != "]}":
        return None
    head = text[:head_end].rstrip(_SPACE)
    if not head.endswith('"events": ['):
        return None
    try:
        value = decoder.decode(head + "]}")
    except (ValueError, RecursionError):
        return None
    if type(value) is not dict or value.get("events") != []:
        return None
    events: list[Any] = []
    at = head_end + 1
    while at < body_end:
        cut = text.find("\n", at + _PIECE, body_end)
        last = cut < 0
        if last:
            cut = body_end
        stop = cut
        while stop > at and text[stop - 1] in _SPACE:
            stop -= 1
        if (text[stop - 1] == ",") == last:
            return None  # the separating comma, at the end of every piece but the last
        if not last:
            stop -= 1
        try:
            events.extend(decoder.decode("[" + text[at:stop] + "]"))
        except (ValueError, RecursionError):
            return None
        at = cut + 1
    value["events"] = events
    return value


def _read_ndjson(text: str, name: str, whole: json.JSONDecodeError, decoder: _Decoder) -> _Batch:
    """One event per line. ``whole`` is why the text is not one JSON document: it is
    the error to report when not even the first line is JSON on its own."""
    numbered = [(i, line) for i, line in enumerate(text.split("\n")) if line.strip()]
    try:
        _decoder.decode(numbered[0][1])
    except (ValueError, RecursionError):
        raise _json_error(name, whole) from None
    places = [f"line {i + 1}" for i, _ in numbered]
    # Fast path: every line an object, parsed as one array in one call (the C scanner
    # runs without a Python call per line). Any doubt: line by line, for the message.
    if all(line.lstrip()[0] == "{" and line.rstrip()[-1] == "}" for _, line in numbered):
        try:
            values = decoder.decode("[" + ",".join(line for _, line in numbered) + "]")
        except (ValueError, RecursionError):
            values = None
        if isinstance(values, list) and len(values) == len(numbered):
            return _Batch(name, values, places, line_based=True)
    objs: list[Any] = []
    for i, line in numbered:
        value = _loads(line, name, line_offset=i, decoder=decoder)
        if not isinstance(value, dict):
            raise RoomFileError(f"{name} line {i + 1}: {_kind(value)}, not an event")
        objs.append(value)
    return _Batch(name, objs, places, line_based=True)


def _read_native(value: dict[str, Any], name: str) -> _Batch:
    fmt = value.get("format", FORMAT_NAME)
    if fmt != FORMAT_NAME:
        raise RoomFileError(f"{name}: format is {_clean(repr(fmt))}, not {FORMAT_NAME!r}")
    version = value.get("version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise RoomFileError(f"{name}: version is {_kind(version)}, not an integer")
    if "events" not in value:
        raise RoomFileError(f"{name}: events is missing")
    events = value["events"]
    if not isinstance(events, list):
        raise RoomFileError(f"{name}: events is {_kind(events)}, not an array")

    meta: dict[str, Any] = {}
    room_id = value.get("room_id")
    if room_id is not None and not isinstance(room_id, str):
        raise RoomFileError(f"{name}: room_id is {_kind(room_id)}, not a string")
    meta["room_id"] = room_id
    if "room_version" in value:
        rv = value["room_version"]
        if not isinstance(rv, str):
            raise RoomFileError(f"{name}: room_version is {_kind(rv)}, not a string")
        meta["room_version"] = rv
    for key in ("source", "annotations"):
        obj = value.get(key, {})
        if not isinstance(obj, dict):
            raise RoomFileError(f"{name}: {key} is {_kind(obj)}, not an object")
        meta[key] = obj

    state_sets = value.get("state_sets", {})
    if not isinstance(state_sets, dict):
        raise RoomFileError(f"{name}: state_sets is {_kind(state_sets)}, not an object")
    for set_name, ids in state_sets.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise RoomFileError(
                f"{name}: state_sets[{_clean(repr(set_name))}] is not a list of event IDs"
            )
    meta["state_sets"] = state_sets

    keys = value.get("server_keys", {})
    if not isinstance(keys, dict):
        raise RoomFileError(f"{name}: server_keys is {_kind(keys)}, not an object")
    for server, server_keys in keys.items():
        if not isinstance(server_keys, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in server_keys.items()
        ):
            raise RoomFileError(
                f"{name}: server_keys[{_clean(repr(server))}] is not an object of "
                "key ID -> base64 public key"
            )
    meta["server_keys"] = keys

    extra = {k: v for k, v in value.items() if k not in _NATIVE_KEYS}
    return _Batch(name, events, [f"event {i}" for i in range(len(events))], meta=meta, extra=extra)


def _where(place: str, obj: object) -> str:
    """``event 17 ($abc)`` / ``line 12 ($abc)``, or just the place when there is no ID."""
    if isinstance(obj, Mapping):
        eid = obj.get("event_id")
        if isinstance(eid, str):
            return f"{place} ({_clean(eid, 80)})"
    return place


def _parse_events(batches: Sequence[_Batch], version: RoomVersion, hint: str) -> list[PDU]:
    pdus: list[PDU] = []
    derived = version.event_ids_derived
    for batch in batches:
        sep = " " if batch.line_based else ": "
        event_id_of = event_id_hasher(version, float_free=batch.float_free)
        for place, obj in zip(batch.places, batch.objs, strict=True):
            if derived and type(obj) is dict and "event_id" not in obj and "depth" in obj:
                # What pdu_from_json does with such an event, without its calls per
                # event (0.1 s of 100k); anything that fails goes to pdu_from_json
                # below, which fails the same way and says why.
                try:
                    pdus.append(parse_pdu(obj, version, where=place, event_id=event_id_of(obj)))
                    continue
                except (ValueError, TypeError, RecursionError):
                    pass
            if type(obj) is not dict and not isinstance(obj, Mapping):
                raise RoomFileError(f"{batch.name}{sep}{place}: {_kind(obj)}, not an event object")
            try:
                pdus.append(pdu_from_json(obj, version, where=place, float_free=batch.float_free))
            except EventFormatError as exc:
                message = str(exc)
                eid = obj.get("event_id")
                prefix = f"event {eid}: " if isinstance(eid, str) else f"event {place}: "
                message = message.removeprefix(prefix)
                if hint and ("pair" in message or "event_id is missing" in message):
                    message += f" ({hint})"
                raise RoomFileError(
                    f"{batch.name}{sep}{_where(place, obj)}: {_clean(message, 300)}"
                ) from None
    return pdus


def _room_from_batches(
    batches: Sequence[_Batch], name: str, path: str | None, *, check_event_ids: bool = True
) -> Room:
    meta: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for batch in batches:
        if batch.meta is not None:
            meta = batch.meta
            extra = batch.extra
            break
    hint = ""
    if "room_version" in meta:
        identifier: object = meta["room_version"]
        version_from = name
    else:
        identifier, create = room_version_of_events(o for b in batches for o in b.objs)
        version_from = f"{name}: the create event" if create is not None else name
        if create is None:
            hint = (
                "read as room version 1: the file gives no room_version and has no create "
                "event; rooms of version 3 and later list bare event IDs"
            )
    try:
        version = room_version(identifier)
    except UnknownRoomVersionError as exc:
        raise RoomFileError(f"{version_from}: {_clean(exc, 300)}") from None

    pdus = _parse_events(batches, version, hint)
    graph = EventGraph.build(
        pdus,
        room_version=version,
        float_free=all(b.float_free for b in batches),
        check_event_ids=check_event_ids,
    )
    return Room.from_graph(
        graph,
        room_id=meta.get("room_id"),
        source=meta.get("source"),
        annotations=meta.get("annotations"),
        state_sets=meta.get("state_sets"),
        server_keys=meta.get("server_keys"),
        extra=extra,
        name=Path(name).name or name,
        path=path,
    )


def parse_room_bytes(data: bytes, *, name: str, max_bytes: int | None = None) -> Room:
    """A room from the bytes of one room file (any single-file format, maybe gzipped).

    ``name`` names the file in messages. ``max_bytes`` bounds the (decompressed)
    size; by default 2 GiB or what the available memory allows.
    Raises :class:`RoomFileError`.
    """
    with gc_paused():
        batch = _read_batch(data, name, _byte_limit(max_bytes))
        return _room_from_batches([batch], name, None)


def load_room(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> Room:
    """Load a room file or a folder of batch files, detecting the format.

    Raises :class:`RoomFileError` (one line: the file, where in it, what is wrong).
    """
    return _load_room(path, max_bytes, check_event_ids=True)[0]


#: A room with at least this many event IDs given in a v3+ file is returned by
#: :func:`load_room_checking_ids_later` before they are checked (under it, checking
#: takes a blink: 0.35 s is 100k events).
CHECK_IDS_LATER_FROM = 5000


def load_room_checking_ids_later(
    path: str | os.PathLike[str], *, max_bytes: int | None = None
) -> tuple[Room, Callable[[], Room] | None]:
    """:func:`load_room` for a window that shows the room first: the event IDs a big
    v3+ file gives are not yet checked against their reference hashes.

    Returns the room and a function that does the check and returns the room exactly
    as :func:`load_room` returns it (an ID that does not match is a finding, DESIGN.md
    "The room file"), or None when nothing is left to check. The function may run on
    another thread; it raises nothing a room file can cause.
    https://spec.matrix.org/v1.16/server-server-api/#calculating-the-reference-hash-for-an-event
    """
    room, float_free = _load_room(path, max_bytes, check_event_ids=False)
    graph = room.graph
    given = 0
    if graph.room_version.event_ids_derived:
        given = sum(1 for pdu in graph.events.values() if not pdu.event_id_computed)

    def check() -> Room:
        checked = graph.with_event_ids_checked(float_free=float_free)
        if checked is graph:
            return room
        # The room's own findings come after its graph's (Room.from_graph).
        own = room.findings[len(graph.findings) :]
        return dataclasses.replace(room, graph=checked, findings=checked.findings + own)

    if given < CHECK_IDS_LATER_FROM:
        return check(), None
    return room, check


def _load_room(
    path: str | os.PathLike[str], max_bytes: int | None, *, check_event_ids: bool
) -> tuple[Room, bool]:
    """The room, and whether its files held no float (see :class:`_Decoder`)."""
    p = Path(path)
    name = str(path)
    limit = _byte_limit(max_bytes)
    try:
        with gc_paused():
            return _load(p, name, limit, check_event_ids=check_event_ids)
    except OSError as exc:
        raise RoomFileError(f"{name}: {_clean(exc.strerror or exc)}") from None
    except MemoryError:
        raise RoomFileError(f"{name}: not enough memory to load this room") from None


def _load(p: Path, name: str, limit: int, *, check_event_ids: bool) -> tuple[Room, bool]:
    if not p.is_dir():
        data = _read_file(p, name, limit)
        batch = _read_batch(data, name, limit)
        room = _room_from_batches([batch], name, name, check_event_ids=check_event_ids)
        return room, batch.float_free
    files = sorted(
        f for f in p.iterdir() if f.name.endswith((".json", ".json.gz", ".ndjson")) and f.is_file()
    )
    if not files:
        raise RoomFileError(f"{name}: a folder without .json files is not a room")
    batches = []
    total = 0
    for f in files:
        data = _read_file(f, str(f), limit - total)
        batches.append(_read_batch(data, str(f), limit - total))
        total += len(data)
    room = _room_from_batches(batches, name, name, check_event_ids=check_event_ids)
    return room, all(b.float_free for b in batches)


def _read_file(p: Path, name: str, limit: int) -> bytes:
    size = p.stat().st_size
    # A gzip file may be small and expand; _read_batch bounds the expansion. A plain
    # file is refused before it is read.
    if size > limit:
        raise RoomFileError(
            f"{name}: {_human(size)} is more than this machine can load (limit {_human(limit)})"
        )
    return p.read_bytes()


# --- writing -----------------------------------------------------------------------


def _plain(obj: object) -> Any:
    """``json.dumps`` default: read-only mappings and tuples as JSON objects and arrays."""
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, tuple | frozenset):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON")


def room_to_json(room: Room) -> dict[str, Any]:
    """The native room file object of ``room``: PDUs exactly as given, unknown keys kept."""
    out: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
    if room.room_id is not None:
        out["room_id"] = room.room_id
    out["room_version"] = room.room_version.identifier
    if room.source:
        out["source"] = dict(room.source)
    if room.annotations:
        out["annotations"] = dict(room.annotations)
    if room.state_sets:
        out["state_sets"] = {k: list(v) for k, v in room.state_sets.items()}
    if room.server_keys:
        out["server_keys"] = {k: dict(v) for k, v in room.server_keys.items()}
    for key, value in room.extra.items():
        if key not in _NATIVE_KEYS:
            out[key] = value
    out["events"] = [
        pdu.raw if type(pdu.raw) is dict else dict(pdu.raw) for pdu in room.graph.events.values()
    ]
    return out


def _encode(room: Room, *, ensure_ascii: bool = False) -> bytes:
    """Native JSON with one event per line: readable, diffable, fast to write.

    Non-ASCII text is written as is, unless the room holds strings UTF-8 cannot
    encode (lone surrogates, legal JSON escapes): then the file is written with
    ``\\u`` escapes, as :func:`app.core.errors.json_text` does, and reads back the same.
    """
    obj = room_to_json(room)
    events = obj.pop("events")
    dumps = json.JSONEncoder(ensure_ascii=ensure_ascii, default=_plain).encode
    head = dumps(obj)
    lines = [head[:-1] + (', "events": [' if obj else '"events": [')]
    lines.extend(dumps(e) + "," for e in events)
    if events:
        lines[-1] = lines[-1][:-1]
    lines.append("]}\n")
    try:
        return "\n".join(lines).encode("utf-8")
    except UnicodeEncodeError:
        return _encode(room, ensure_ascii=True)


def save_room(room: Room, path: str | os.PathLike[str]) -> None:
    """Write ``room`` as a native room file (gzip-compressed when the name ends in .gz).

    The file is written next to its destination and moved into place, so a failed
    save never leaves half a file. Events are written in the order first read, each
    exactly as given; of several differing copies of one event ID (a finding when
    loading) only the first, the one roomscope used, is written.
    Raises :class:`RoomFileError`.
    """
    p = Path(path)
    data = _encode(room)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    try:
        if p.name.endswith(".gz"):
            with (
                open(tmp, "wb") as raw,
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as f,
            ):
                f.write(data)
        else:
            tmp.write_bytes(data)
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RoomFileError(f"{path}: cannot write ({_clean(exc.strerror or exc)})") from None
