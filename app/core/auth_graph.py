"""Every event of a room checked against its own auth events (what ``roomscope auth`` prints).

Each event is checked as a server checks an event it receives: the rules on the
event and its own ``auth_events`` (:func:`app.core.auth.check_auth_events`), then
the state-dependent rules against the state those auth events make up
(:func:`app.core.auth.check_auth`). An auth event that was itself rejected makes
the event rejected (rule 2.3; v12: 3.3); one that is absent from the room, or that
comes after the event on a cycle of references, makes it rejected as Synapse
treats auth events it cannot find (it does not accept the event).

Soft failure (an event that passes its auth events but fails against the state
before it; the spec's "checks performed on receipt of a PDU", step 6) needs state
resolution: :class:`EventVerdict` has a ``soft_failed`` field for it, filled in by
the state-resolution side (app/core/roomstate.py) rather than here.

Spec: https://spec.matrix.org/v1.16/server-server-api/#checks-performed-on-receipt-of-a-pdu
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.core.auth import (
    AuthResult,
    SignatureVerifier,
    check_auth,
    check_auth_events,
    rule_numbers,
)
from app.core.events import PDU, StateKey
from app.core.graph import EventGraph
from app.core.hashing import create_event_id_from_room_id

__all__ = ["EventVerdict", "check_graph_against_auth_events", "verdict_text"]


@dataclass(frozen=True, slots=True)
class EventVerdict:
    """What the authorization rules say about one event of a room."""

    event_id: str
    #: The verdict against the event's own auth events (steps 4 and 5 on receipt).
    auth_events: AuthResult
    #: The verdict against the state before the event (step 6), when computed;
    #: an event that fails only this is soft-failed, not rejected.
    state_before: AuthResult | None = None

    @property
    def rejected(self) -> bool:
        """Rejected: fails against its own auth events. Rejected events never change state."""
        return not self.auth_events.allowed

    @property
    def soft_failed(self) -> bool:
        """Passes its auth events but fails against the state before it."""
        return (
            self.auth_events.allowed
            and self.state_before is not None
            and not self.state_before.allowed
        )


def verdict_text(result: AuthResult) -> str:
    """A rejection as one line for ``roomscope auth``: "rule 4.4.2 (name): reason"."""
    rule = f"rule {result.rule} " if result.rule else ""
    return f"{rule}({result.rule_name}): {result.reason}"


def _create_event_for(graph: EventGraph, event: PDU) -> PDU | None:
    """v12: the create event the event's room ID names, when present."""
    if not event.room_version.room_id_from_create_event or event.room_id is None:
        return None
    create_id = create_event_id_from_room_id(event.room_id)
    return graph.events.get(create_id) if create_id is not None else None


def check_graph_against_auth_events(
    graph: EventGraph, *, verify_signature: SignatureVerifier | None = None
) -> dict[str, EventVerdict]:
    """The verdict on every present event of ``graph`` against its own auth events.

    Events are taken in ``graph.order`` (every event after its present auth
    events; events on cycles last), so each auth event's own verdict is known
    when it is needed. Iterative, linear in the number of events and auth
    references. Returns verdicts by event ID, in that order.
    """
    verdicts: dict[str, EventVerdict] = {}
    rejected: set[str] = set()
    events = graph.events
    for event_id in graph.order:
        event = events[event_id]
        result = _check_one(graph, event, verdicts, rejected, verify_signature)
        if not result.allowed:
            rejected.add(event_id)
        verdicts[event_id] = EventVerdict(event_id, result)
    return verdicts


def _check_one(
    graph: EventGraph,
    event: PDU,
    verdicts: Mapping[str, EventVerdict],
    rejected: set[str],
    verify_signature: SignatureVerifier | None,
) -> AuthResult:
    events = graph.events
    auth: list[PDU] = []
    for auth_id in event.auth_events:
        pdu = events.get(auth_id)
        if pdu is None:
            continue  # missing: check_auth_events says so
        if auth_id not in verdicts:
            # An auth event not yet decided lies on a cycle with this event.
            return AuthResult.reject(
                f"{rule_numbers(event.room_version).auth_events}",
                "auth events: missing",
                f"auth event {auth_id} is on a cycle of references with this event",
            )
        auth.append(pdu)
    create = _create_event_for(graph, event)
    if create is not None and create.event_id not in verdicts and create is not event:
        create = None
    first = check_auth_events(
        event,
        auth,
        rejected=rejected,
        create_event=create,
        verify_signature=verify_signature,
    )
    if not first.allowed or event.type == "m.room.create":
        return first
    state: dict[StateKey, PDU] = {}
    for pdu in auth:
        key = pdu.state_tuple
        if key is not None:
            state[key] = pdu
    return check_auth(event, state, create_event=create)
