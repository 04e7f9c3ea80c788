"""A room as roomscope holds it: its events' graph plus what the room file says about it.

:class:`Room` is what every part of roomscope opens: the loaders in
``app.sources`` make one from a file or a homeserver, the window draws it, the
resolver reads its graph. It keeps everything a room file carries (DESIGN.md,
"The room file"), including keys roomscope does not know, so a room saved
again loses nothing.

Spec: https://spec.matrix.org/v1.16/server-server-api/#pdus,
https://spec.matrix.org/v1.16/rooms/ (room versions).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.core.events import PDU, EventFormatError, parse_pdu
from app.core.graph import EventGraph, Finding
from app.core.hashing import compute_event_id
from app.core.versions import RoomVersion
from app.core.versions import room_version as lookup_room_version

__all__ = ["Room", "pdu_from_json", "room_version_of_events"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY


def pdu_from_json(
    obj: object, version: RoomVersion, *, where: str | None = None, float_free: bool = False
) -> PDU:
    """One PDU from a JSON object as found in a room file or served by a homeserver.

    Where the room version derives event IDs (v3+) and the object carries none, the
    ID is computed from the reference hash of the event as sent
    (:func:`app.core.hashing.as_sent`: the same rule as for checking a given ID).
    https://spec.matrix.org/v1.16/server-server-api/#calculating-the-reference-hash-for-an-event

    ``float_free``: the caller knows ``obj`` holds no float, so the hash may be
    computed the faster way (:func:`app.core.hashing.canonical_json`).

    Raises :class:`EventFormatError` naming the event (``where`` when it has no ID)
    and the field.
    """
    if type(obj) is not dict and not isinstance(obj, Mapping):
        return parse_pdu(obj, version, where=where)  # the error names what obj is
    parsed: Mapping[str, Any] = obj
    if "depth" not in obj:
        # Test fixtures (ruma-state-res's) leave depth out; roomscope's order never
        # uses it, so read it as 0 and keep the object exactly as given. The graph
        # reports these events (finding "missing_depth").
        parsed = {**obj, "depth": 0}
    event_id: str | None = None
    if version.event_ids_derived and "event_id" not in obj:
        try:
            event_id = compute_event_id(obj, version, float_free=float_free)
        except (ValueError, TypeError, RecursionError) as exc:
            # Name what is wrong with the event's fields first, if anything is.
            parse_pdu(parsed, version, where=where, event_id="$")
            label = f"event {where}" if where else "event"
            raise EventFormatError(f"{label}: the event ID cannot be computed ({exc})") from None
    pdu = parse_pdu(parsed, version, where=where, event_id=event_id)
    if parsed is not obj:
        pdu = dataclasses.replace(pdu, raw=obj)
    return pdu


def room_version_of_events(objs: Iterable[object]) -> tuple[str, PDU | Mapping[str, Any] | None]:
    """The room version an ``m.room.create`` event among ``objs`` declares, and that event.

    ``content.room_version`` of the create event; "1" when it has none (the spec's
    default, https://spec.matrix.org/v1.16/client-server-api/#mroomcreate) or when
    there is no create event. The identifier is returned unchecked (it may be
    unknown, or not a string): the caller names the file in the error.
    """
    for obj in objs:
        if isinstance(obj, PDU):
            if obj.type == "m.room.create" and obj.state_key == "":
                return obj.content.get("room_version", "1"), obj
            continue
        if (
            isinstance(obj, Mapping)
            and obj.get("type") == "m.room.create"
            and obj.get("state_key") == ""
        ):
            content = obj.get("content")
            found = content.get("room_version", "1") if isinstance(content, Mapping) else "1"
            return found, obj
    return "1", None


@dataclass(frozen=True, slots=True, eq=False)
class Room:
    """A room: its event graph and the rest of what a room file says about it.

    ``room_id`` is the file's, else the graph's (from the create event). ``source``
    says where the events came from (a homeserver, a tool); ``annotations`` are
    free-form notes for people (sample rooms' titles and what they teach);
    ``state_sets`` are named lists of event IDs (inputs for ``roomscope resolve``);
    ``server_keys`` maps server names to ``{"ed25519:key_id": base64 key}``;
    ``extra`` holds top-level keys roomscope does not know, written back on save.
    ``findings`` are the graph's plus the room's own (e.g. a state set naming an
    event that is not in the room).
    """

    room_id: str | None
    room_version: RoomVersion
    graph: EventGraph = field(repr=False)
    source: Mapping[str, Any] = field(default_factory=_empty, repr=False)
    annotations: Mapping[str, Any] = field(default_factory=_empty, repr=False)
    state_sets: Mapping[str, tuple[str, ...]] = field(default_factory=_empty, repr=False)
    server_keys: Mapping[str, Mapping[str, str]] = field(default_factory=_empty, repr=False)
    extra: Mapping[str, Any] = field(default_factory=_empty, repr=False)
    findings: tuple[Finding, ...] = field(default=(), repr=False)
    #: A short name to show: the file's name, or what the caller chose.
    name: str = "room"
    #: Where the room was loaded from, when it was a file or folder.
    path: str | None = None

    @property
    def events(self) -> Mapping[str, PDU]:
        """The present events by ID (the graph's)."""
        return self.graph.events

    @property
    def title(self) -> str:
        """``annotations.title`` when it is a string, else :attr:`name`."""
        title = self.annotations.get("title")
        return title if isinstance(title, str) and title else self.name

    @classmethod
    def from_events(
        cls,
        events: Iterable[PDU | Mapping[str, Any]],
        *,
        room_version: RoomVersion | str | None = None,
        room_id: str | None = None,
        source: Mapping[str, Any] | None = None,
        annotations: Mapping[str, Any] | None = None,
        state_sets: Mapping[str, Iterable[str]] | None = None,
        server_keys: Mapping[str, Mapping[str, str]] | None = None,
        extra: Mapping[str, Any] | None = None,
        name: str = "room",
        path: str | None = None,
        check_event_ids: bool = True,
    ) -> Room:
        """A room from PDUs (or JSON objects of PDUs, parsed here).

        The room version is ``room_version`` when given, else that of the first
        PDU, else what the create event among ``events`` declares, else "1".
        Raises :class:`EventFormatError` for a malformed JSON event and
        :class:`~app.core.versions.UnknownRoomVersionError` for an unknown version.
        """
        items = list(events)
        version: RoomVersion
        if isinstance(room_version, RoomVersion):
            version = room_version
        elif room_version is not None:
            version = lookup_room_version(room_version)
        else:
            first_pdu = next((e for e in items if isinstance(e, PDU)), None)
            if first_pdu is not None:
                version = first_pdu.room_version
            else:
                version = lookup_room_version(room_version_of_events(items)[0])
        pdus = [
            e if isinstance(e, PDU) else pdu_from_json(e, version, where=str(i))
            for i, e in enumerate(items)
        ]
        graph = EventGraph.build(pdus, room_version=version, check_event_ids=check_event_ids)
        return cls.from_graph(
            graph,
            room_id=room_id,
            source=source,
            annotations=annotations,
            state_sets=state_sets,
            server_keys=server_keys,
            extra=extra,
            name=name,
            path=path,
        )

    @classmethod
    def from_graph(
        cls,
        graph: EventGraph,
        *,
        room_id: str | None = None,
        source: Mapping[str, Any] | None = None,
        annotations: Mapping[str, Any] | None = None,
        state_sets: Mapping[str, Iterable[str]] | None = None,
        server_keys: Mapping[str, Mapping[str, str]] | None = None,
        extra: Mapping[str, Any] | None = None,
        name: str = "room",
        path: str | None = None,
    ) -> Room:
        """A room around an already built graph; adds the room's own findings."""
        findings = list(graph.findings)
        if room_id is not None and graph.room_id is not None and room_id != graph.room_id:
            findings.append(
                Finding(
                    "room_id_mismatch",
                    None,
                    f"the file says room {room_id}, its events say {graph.room_id}",
                )
            )
        sets = {key: tuple(ids) for key, ids in (state_sets or {}).items()}
        for set_name, ids in sets.items():
            absent = [eid for eid in ids if eid not in graph.events]
            if absent:
                findings.append(
                    Finding(
                        "state_set_unknown_event",
                        absent[0],
                        f"state set {set_name!r} names {len(absent)} event(s) not in the "
                        f"room: {', '.join(absent[:5])}",
                    )
                )
        return cls(
            room_id=room_id if room_id is not None else graph.room_id,
            room_version=graph.room_version,
            graph=graph,
            source=MappingProxyType(dict(source or {})),
            annotations=MappingProxyType(dict(annotations or {})),
            state_sets=MappingProxyType(sets),
            server_keys=MappingProxyType(
                {
                    server: MappingProxyType(dict(keys))
                    for server, keys in (server_keys or {}).items()
                }
            ),
            extra=MappingProxyType(dict(extra or {})),
            findings=tuple(findings),
            name=name,
            path=path,
        )
