"""The open room as the window sees it: the event graph plus what was worked out about it.

A :class:`RoomDocument` is made off the UI thread by :func:`load_document` (read the
file, build the :class:`~app.core.graph.EventGraph`); :func:`analyse_document` then
works out, also off the UI thread, every event's authorization verdict, the state
before and after it, and its verification result. The widgets only read these
records; the algorithms live in app/core (one place), this module only calls them.

Spec: https://spec.matrix.org/v1.16/server-server-api/#checks-performed-on-receipt-of-a-pdu
(the checks whose outcomes the inspector shows).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import RoomscopeError
from app.core.events import PDU
from app.core.graph import EventGraph, Finding
from app.core.room import Room
from app.sources.files import load_room_checking_ids_later
from app.ui.workers import JobContext

__all__ = [
    "SOFT_FAIL_PENDING",
    "Annotations",
    "AuthView",
    "EventIdCheck",
    "EventIdsChecked",
    "LessonNote",
    "RoomAnalysis",
    "RoomDocument",
    "analyse_document",
    "load_document",
]

StateKey = tuple[str, str]

#: Appended to an allowed event's reason until the soft-failure check has run.
SOFT_FAIL_PENDING = " (Checking for soft failure…)"

_gc_lock = threading.Lock()
_gc_pausers = 0


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector out of a big load or analysis.

    A 100k-event room is millions of objects. While they are being made, the
    collector's full passes scan all of them again and again, each pass holding
    the interpreter lock for a second or more, which freezes the window even
    though the work is on another thread (measured: pauses of 1.3-1.7 s during
    loading and analysis of a 100k-event room; none above 0.2 s in analysis
    with the collector paused). So the collector is paused while a job builds
    the room, and what was built is then moved out of its sight
    (:func:`gc.freeze`): these objects live as long as the room is open and are
    freed by reference counting when it is closed.
    """
    global _gc_pausers
    with _gc_lock:
        _gc_pausers += 1
        if _gc_pausers == 1:
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0:
                gc.freeze()
                gc.enable()


@dataclass(frozen=True, slots=True)
class LessonNote:
    """A note of a sample room's lesson, attached to one event."""

    event_id: str
    note: str


@dataclass(frozen=True, slots=True)
class Annotations:
    """What a sample room says about itself (the native file's ``annotations``).

    Format (sample_rooms/README.md): ``{"title": str, "summary": str,
    "lesson": [{"event_id": str, "note": str}, ...], "labels": {event_id: name},
    "order": int}``; anything else is ignored, and malformed parts are dropped
    rather than failing the load.
    """

    title: str = ""
    summary: str = ""
    lesson: tuple[LessonNote, ...] = ()
    #: A short name per event (the published scenarios' node names: "PA", "MB").
    labels: Mapping[str, str] = field(default_factory=dict)
    #: The room's place in the teaching order of the samples (1 first), if given.
    order: int | None = None

    @classmethod
    def from_json(cls, obj: object) -> Annotations:
        if not isinstance(obj, Mapping):
            return cls()
        title = obj.get("title")
        summary = obj.get("summary")
        notes: list[LessonNote] = []
        lesson = obj.get("lesson")
        if isinstance(lesson, list):
            for item in lesson:
                if isinstance(item, Mapping):
                    eid, note = item.get("event_id"), item.get("note")
                    if isinstance(eid, str) and isinstance(note, str):
                        notes.append(LessonNote(eid, note))
        labels = obj.get("labels")
        order = obj.get("order")
        return cls(
            title=title if isinstance(title, str) else "",
            summary=summary if isinstance(summary, str) else "",
            lesson=tuple(notes),
            labels=(
                {k: v for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)}
                if isinstance(labels, Mapping)
                else {}
            ),
            order=order if isinstance(order, int) and not isinstance(order, bool) else None,
        )


@dataclass(frozen=True, slots=True)
class AuthView:
    """An event's authorization verdict as the inspector shows it.

    ``soft_failed``: passed against its own auth events but not against the
    state before it, which Synapse flags separately (it stays in the DAG).
    """

    allowed: bool
    rule: str = ""
    reason: str = ""
    soft_failed: bool = False


@dataclass(frozen=True, slots=True)
class RoomAnalysis:
    """Per-event results worked out after loading; any part may be unavailable."""

    auth: Mapping[str, AuthView] = field(default_factory=dict)
    #: The states before/after every event (:class:`app.core.roomstate.RoomStates`),
    #: also what the resolution stepper resolves with; None when unavailable.
    states: Any = None
    #: event ID -> {"event_id": S, "content_hash": S, "signatures": S} (DESIGN.md, verify).
    verification: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: event ID -> one sentence per verification problem.
    verification_reasons: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Which parts could not be computed, and why (one line each).
    unavailable: Mapping[str, str] = field(default_factory=dict)
    #: True while later stages (verification, soft failures) are still running.
    partial: bool = False

    @property
    def rejected(self) -> frozenset[str]:
        return frozenset(e for e, v in self.auth.items() if not v.allowed)

    @property
    def soft_failed(self) -> frozenset[str]:
        return frozenset(e for e, v in self.auth.items() if v.allowed and v.soft_failed)

    def state_before(self, event_id: str) -> Mapping[StateKey, str] | None:
        """The room state before ``event_id`` (S(E)), or None when unknown."""
        if self.states is None or event_id not in self.states:
            return None
        before: Mapping[StateKey, str] = self.states.state_before(event_id)
        return before

    def state_after(self, event_id: str) -> Mapping[StateKey, str] | None:
        """The room state after ``event_id`` (the state before it for a rejected event)."""
        if self.states is None or event_id not in self.states:
            return None
        after: Mapping[StateKey, str] = self.states.state_after(event_id)
        return after


@dataclass(slots=True, eq=False)
class EventIdCheck:
    """The check of the event IDs a big v3+ file gives, left until the room is shown
    (:func:`app.sources.files.load_room_checking_ids_later`): the first stage of
    :func:`analyse_document`. ``room`` is the room with its IDs checked once that is
    done; ``cancelled`` when the analysis was stopped first. Both are set on the UI
    thread only."""

    run: Callable[[], Room]
    room: Room | None = None
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class EventIdsChecked:
    """What :func:`analyse_document` hands over first when a document's event IDs were
    left unchecked: the room with them checked (its findings complete)."""

    room: Room


@dataclass(frozen=True, slots=True, eq=False)
class RoomDocument:
    """A loaded room: where it came from, the :class:`~app.core.room.Room`, its layout."""

    path: Path
    room: Room
    #: The lane layout (app.layout.lanes), computed off the UI thread when a file is
    #: loaded; None for a document built without one (tests).
    layout: Any = None
    #: The room's ``annotations`` as the window reads them (title, summary, lesson).
    annotations: Annotations = field(default_factory=Annotations)
    #: What the canvas draws (:class:`app.ui.canvas_model.CanvasRoom`), built with the
    #: layout off the UI thread; None when there is no layout.
    canvas_model: Any = None
    #: The check of given event IDs still to do after the room is shown, if any.
    id_check: EventIdCheck | None = None

    @property
    def graph(self) -> EventGraph:
        return self.room.graph

    @property
    def findings(self) -> tuple[Finding, ...]:
        """What is wrong with the room's events: the room's findings, with those of the
        event ID check once it has run (see :attr:`ids_unchecked`)."""
        check = self.id_check
        if check is not None and check.room is not None:
            return check.room.findings
        return self.room.findings

    @property
    def ids_unchecked(self) -> bool:
        """True while the event IDs the file gives are not (yet) checked."""
        return self.id_check is not None and self.id_check.room is None

    @property
    def server_keys(self) -> Mapping[str, Mapping[str, str]]:
        return self.room.server_keys

    @property
    def title(self) -> str:
        return self.annotations.title or self.path.name

    def pdu(self, event_id: str) -> PDU | None:
        return self.graph.events.get(event_id)

    def describe(self, event_id: str) -> str:
        """A few words naming an event: its type, what it is about, its sender."""
        label = self._labels.get(event_id)
        named = f"“{label}” " if label else ""
        pdu = self.pdu(event_id)
        if pdu is None:
            return f"{named}missing: referenced but not in the file"
        if pdu.type == "m.room.member" and pdu.state_key is not None:
            what = pdu.membership or "membership"
            if pdu.state_key == pdu.sender:
                return f"{named}{pdu.type} · {pdu.sender} {what}"
            return f"{named}{pdu.type} · {pdu.sender} → {pdu.state_key} {what}"
        key = f" [{pdu.state_key}]" if pdu.state_key else ""
        return f"{named}{pdu.type}{key} · {pdu.sender}"

    @property
    def _labels(self) -> Mapping[str, str]:
        return self.annotations.labels


def load_document(
    path: Path, ctx: JobContext, *, palette: Sequence[str] | None = None
) -> RoomDocument:
    """Read ``path``, build its event graph, lay it out and build what the canvas
    draws, coloured from ``palette`` (runs on a worker thread).

    Raises :class:`~app.sources.files.RoomFileError` (one line) for a file that
    cannot be read.
    """
    with _gc_paused():
        return _load_document(path, ctx, palette)


def _load_document(path: Path, ctx: JobContext, palette: Sequence[str] | None) -> RoomDocument:
    ctx.progress(-1, "reading the file")
    # A big file's given event IDs are checked once the room is shown (the first
    # stage of analyse_document): 0.35 s sooner on screen for 100k events.
    room, check = load_room_checking_ids_later(path)
    ctx.check()
    if not len(room.graph):
        raise RoomscopeError(f"{path}: the file holds no events")
    ctx.progress(60, f"laying out {len(room.graph):,} events")
    from app.layout.lanes import compute_layout  # imported here: the window starts faster

    layout: Any = compute_layout(room.graph.events, graph=room.graph)
    ctx.check()
    from app.ui.canvas_model import CanvasRoom
    from app.ui.style import OKABE_ITO

    model = CanvasRoom(room.graph, layout, (), (), OKABE_ITO if palette is None else palette)
    ctx.progress(100, "drawing")
    annotations = Annotations.from_json(room.annotations)
    return RoomDocument(
        path=path,
        room=room,
        layout=layout,
        annotations=annotations,
        canvas_model=model,
        id_check=EventIdCheck(check) if check is not None else None,
    )


def analyse_document(doc: RoomDocument, ctx: JobContext) -> RoomAnalysis:
    """Every event's authorization verdict, state before/after and verification.

    First, if the document's given event IDs are not checked yet, that check: its
    result is handed over (:meth:`JobContext.partial`) as :class:`EventIdsChecked`.

    Each part is computed by app/core (roomstate, verify); a part that fails (a room
    whose state cannot be worked out, a soft-failure check past its budget) is
    reported in :attr:`RoomAnalysis.unavailable` rather than failing the whole
    analysis.
    """
    with _gc_paused():
        return _analyse_document(doc, ctx)


def _analyse_document(doc: RoomDocument, ctx: JobContext) -> RoomAnalysis:
    # Cheapest and most wanted first, each stage handed to the window as it
    # completes (measured on a valid 100k-event room: states and verdicts 2.5 s,
    # verification 13 s, soft failures 24 s).
    unavailable: dict[str, str] = {}
    auth: dict[str, AuthView] = {}
    states: Any = None
    verdicts: dict[str, Any] = {}
    check = doc.id_check
    if check is not None and check.room is None and not check.cancelled:
        ctx.progress(0, f"checking the IDs of {len(doc.graph):,} events")
        ctx.partial(EventIdsChecked(check.run()))
        ctx.check()
    ctx.progress(0, f"checking the authorization of {len(doc.graph):,} events")
    from app.core.roomstate import compute_room_states  # imported here: a faster start

    try:
        states = compute_room_states(doc.graph)
    except Exception as exc:  # shown in the inspector, the room stays open
        from app.ui.errors import one_line

        message = f"could not work out the room state: {one_line(exc)}"
        unavailable["auth"] = unavailable["state"] = message
        states = None
    else:
        verdicts = {e: states.verdict(e) for e in doc.graph.order}
        auth = {e: _auth_view(v, None, soft_checked=False) for e, v in verdicts.items()}
    analysis = RoomAnalysis(auth=auth, states=states, unavailable=dict(unavailable), partial=True)
    ctx.partial(analysis)

    ctx.progress(20, "verifying events")
    verification, reasons = _verify(doc, ctx, unavailable, start=20, span=40)
    analysis = dataclasses.replace(
        analysis,
        verification=verification,
        verification_reasons=reasons,
        unavailable=dict(unavailable),
    )
    if states is not None:
        ctx.partial(analysis)
        ctx.progress(60, "checking for soft failures")
        try:
            soft = states.soft_failures()
        except Exception as exc:  # the verdicts stand; only soft failure is unknown
            from app.ui.errors import one_line

            unavailable["soft_fail"] = f"could not check for soft failures: {one_line(exc)}"
        else:
            auth = {e: _auth_view(v, soft.get(e)) for e, v in verdicts.items()}
    ctx.progress(100, "done")
    return dataclasses.replace(analysis, auth=auth, unavailable=unavailable, partial=False)


def _auth_view(verdict: Any, soft: Any, *, soft_checked: bool = True) -> AuthView:
    """The inspector's view of an :class:`app.core.roomstate.EventVerdict`."""
    if verdict.rejected:
        result = verdict.result
        where = "its auth events" if verdict.stage == "auth events" else "the state before it"
        if result is None:
            return AuthView(False, "", f"Rejected against {where}.")
        rule = f"rule {result.rule}" if result.rule else ""
        name = f" ({result.rule_name})" if result.rule_name else ""
        return AuthView(False, f"{rule}{name}".strip(), f"Checked against {where}: {result.reason}")
    if soft is not None and soft.soft_failed:
        result = soft.soft_fail_result
        rule = ""
        reason = "It passes against its own auth events but not against the current state."
        if result is not None:
            rule = f"rule {result.rule} ({result.rule_name})" if result.rule else result.rule_name
            reason = f"Against the room's current state when it arrived: {result.reason}"
        return AuthView(True, rule, reason, soft_failed=True)
    reason = "Passes the authorization rules against its auth events and the state before it."
    if not soft_checked:
        reason += SOFT_FAIL_PENDING
    return AuthView(True, "", reason)


def _verify(
    doc: RoomDocument,
    ctx: JobContext,
    unavailable: dict[str, str],
    *,
    start: int = 0,
    span: int = 100,
) -> tuple[dict[str, Mapping[str, str]], dict[str, tuple[str, ...]]]:
    """Event IDs, content hashes and signatures of every event (app.core.verify)."""
    from app.core.signing import VerifyKeys
    from app.core.verify import verify_event

    keys = VerifyKeys(doc.server_keys or None)
    results: dict[str, Mapping[str, str]] = {}
    reasons: dict[str, tuple[str, ...]] = {}
    events = doc.graph.events
    total = max(len(events), 1)
    for i, pdu in enumerate(events.values()):
        if i % 500 == 0:
            ctx.progress(start + span * i // total, f"verifying events ({i:,} of {total:,})")
        r = verify_event(pdu, keys)
        results[pdu.event_id] = {
            "event_id": r.event_id_result,
            "content_hash": r.content_hash,
            "signatures": r.signatures,
        }
        if r.reasons:
            reasons[pdu.event_id] = r.reasons
    if not doc.server_keys:
        unavailable["verify_keys"] = (
            "The file carries no server keys, so signatures cannot be checked."
        )
    return results, reasons
