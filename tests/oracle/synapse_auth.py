"""Synapse 1.163's event authorization, run in-process, as an oracle for app.core.auth.

``synapse_verdict`` runs what Synapse runs on an event received over federation
against the event's own auth events: ``validate_event_for_room_version`` (of which
only the authorising-server signature check is an auth rule; the generated events
always carry their sender's signature), ``check_state_independent_auth_rules``
(with a tiny in-memory store) and ``check_state_dependent_auth_rules``.

Synapse signals a rejection with ``AuthError`` (a ``SynapseError``); for malformed
content it sometimes raises another ``SynapseError`` or fails outright (KeyError,
TypeError, ValueError...). An event that makes Synapse fail is not accepted into the
room, so the oracle counts every exception as "rejected" and records its kind, so the
differential test can report where Synapse crashes rather than rejects.

matrix-synapse is a test dependency only; nothing here is imported by app/.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from synapse.api.errors import AuthError, SynapseError
from synapse.api.room_versions import KNOWN_ROOM_VERSIONS as SYNAPSE_ROOM_VERSIONS
from synapse.event_auth import (
    auth_types_for_event,
    check_state_dependent_auth_rules,
    check_state_independent_auth_rules,
    validate_event_for_room_version,
)
from synapse.events import EventBase, make_event_from_dict

from app.core.events import PDU, StateKey

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (our store answers at once)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("the coroutine suspended")


def to_synapse(pdu: PDU, rejected: bool = False) -> EventBase:
    """``pdu`` as a Synapse event; its ID must be the one roomscope computed."""
    srv = SYNAPSE_ROOM_VERSIONS[pdu.room_version.identifier]
    ev = make_event_from_dict(
        pdu.as_sent(), srv, rejected_reason="auth_error" if rejected else None
    )
    assert ev.event_id == pdu.event_id, (ev.event_id, pdu.event_id)
    return ev


class _Store:
    """What check_state_independent_auth_rules reads: get_events over a dict."""

    def __init__(self, events: Mapping[str, EventBase]) -> None:
        self.events = events

    async def get_events(
        self, event_ids: Iterable[str], redact_behaviour: Any = None, allow_rejected: bool = False
    ) -> dict[str, EventBase]:
        out = {}
        for event_id in event_ids:
            ev = self.events.get(event_id)
            if ev is not None and (allow_rejected or ev.rejected_reason is None):
                out[event_id] = ev
        return out


@dataclass(frozen=True)
class SynapseVerdict:
    allowed: bool
    #: "allowed", "AuthError", "SynapseError" or "crash:<ExceptionType>"
    kind: str
    message: str


def synapse_verdict(
    event: PDU, known: Sequence[PDU], rejected: Iterable[str] = ()
) -> SynapseVerdict:
    """Synapse's verdict on ``event`` against its own auth events, found among ``known``.

    ``known`` holds every event the store knows (auth events, the v12 create
    event); IDs in ``rejected`` are stored as rejected.
    """
    rejected = set(rejected)
    events = {pdu.event_id: to_synapse(pdu, pdu.event_id in rejected) for pdu in known}
    ev = to_synapse(event)
    store = _Store(events)
    try:
        validate_event_for_room_version(ev)
        run_sync(check_state_independent_auth_rules(store, ev))  # type: ignore[arg-type]
        auth = run_sync(store.get_events(ev.auth_event_ids(), allow_rejected=True))
        check_state_dependent_auth_rules(ev, auth.values())
    except AuthError as exc:
        return SynapseVerdict(False, "AuthError", str(exc.msg))
    except SynapseError as exc:
        return SynapseVerdict(False, "SynapseError", str(exc.msg))
    except Exception as exc:  # Synapse fails on malformed content: not accepted either
        return SynapseVerdict(False, f"crash:{type(exc).__name__}", str(exc)[:200])
    return SynapseVerdict(True, "allowed", "")


def synapse_state_dependent_verdict(event: PDU, state: Iterable[PDU]) -> SynapseVerdict:
    """Synapse's ``check_state_dependent_auth_rules`` on ``event`` against ``state``.

    What state resolution's iterative auth checks run; ``state`` must include the
    create event (in v12 too: Synapse keeps it among the auth events).
    """
    ev = to_synapse(event)
    try:
        check_state_dependent_auth_rules(ev, [to_synapse(p) for p in state])
    except AuthError as exc:
        return SynapseVerdict(False, "AuthError", str(exc.msg))
    except SynapseError as exc:
        return SynapseVerdict(False, "SynapseError", str(exc.msg))
    except Exception as exc:
        return SynapseVerdict(False, f"crash:{type(exc).__name__}", str(exc)[:200])
    return SynapseVerdict(True, "allowed", "")


class _Draft:
    """Just what ``auth_types_for_event`` reads of an event."""

    def __init__(self, pdu: PDU) -> None:
        self.type = pdu.type
        self.sender = pdu.sender
        self.state_key = pdu.state_key
        self.content = pdu.content


def synapse_auth_types(event: PDU) -> set[StateKey] | None:
    """Synapse's ``auth_types_for_event``; None where Synapse fails on the content."""
    srv = SYNAPSE_ROOM_VERSIONS[event.room_version.identifier]
    try:
        return set(auth_types_for_event(srv, _Draft(event)))  # type: ignore[arg-type]
    except (KeyError, TypeError):
        return None
