"""Verifying events: event IDs, content hashes and signatures.

Three independent checks per event, each answered with one word
(DESIGN.md, ``roomscope verify``):

* ``event_id``: v3+, the reference hash recomputed from the event as sent
  must give the ID the event goes by (the one in the file, if any, else the
  computed one); v1/v2 IDs are chosen by servers, so ``"not_applicable"``.
* ``content_hash``: ``hashes.sha256`` must equal the content hash of the event
  as sent (``"missing"``, ``"invalid"`` base64, or ``"mismatch"``).
* ``signatures``: each server that must sign (:func:`~app.core.signing.required_signers`)
  has a valid ed25519 signature over the redacted event (``"missing"``,
  ``"unknown_key"`` when signed only with keys we were not given, ``"invalid"``).

The JSON that was hashed and signed is rebuilt with
:meth:`~app.core.events.PDU.as_sent` (no ``unsigned``, no served ``event_id``
in v3+, no served ``room_id`` on a v12 create event).

Spec: https://spec.matrix.org/v1.16/server-server-api/#checks-performed-on-receipt-of-a-pdu
(steps 2 and 3), https://spec.matrix.org/v1.16/server-server-api/#validating-hashes-and-signatures-on-received-events,
https://spec.matrix.org/v1.16/server-server-api/#calculating-the-content-hash-for-an-event,
https://spec.matrix.org/v1.16/server-server-api/#calculating-the-reference-hash-for-an-event
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from app.core.events import PDU
from app.core.hashing import (
    canonical_json,
    compute_content_hash,
    event_id_from_reference_hash,
    redact,
    reference_hash_input,
)
from app.core.signing import (
    CheckResult,
    ServerKeys,
    SignatureCheck,
    VerifyKeys,
    decode_unpadded_base64,
    required_signers,
    verify_server_signature,
)
from app.core.versions import RoomVersion

__all__ = [
    "CHECKS",
    "FAILURES",
    "EventVerification",
    "VerificationSummary",
    "strict_json_problem",
    "summarize",
    "verify_event",
    "verify_events",
]

#: The three checks, in the order they are reported; also the JSON keys.
CHECKS: tuple[str, ...] = ("event_id", "content_hash", "signatures")

#: Results that mean "something is wrong" (``unknown_key`` means "could not check").
FAILURES: frozenset[CheckResult] = frozenset({"mismatch", "invalid", "missing"})

# When several servers must sign, the event's word is the worst of theirs.
_SEVERITY: Mapping[CheckResult, int] = {
    "ok": 0,
    "not_applicable": 0,
    "unknown_key": 1,
    "missing": 2,
    "mismatch": 3,
    "invalid": 3,
}


@dataclass(frozen=True, slots=True)
class EventVerification:
    """The outcome of verifying one event."""

    event_id: str
    #: The event ID check (v3+: reference hash vs the ID in use).
    event_id_result: CheckResult
    content_hash: CheckResult
    signatures: CheckResult
    #: The ID the reference hash gives (v3+), whether or not it matches.
    computed_event_id: str | None = None
    #: One record per server that had to sign.
    signers: tuple[SignatureCheck, ...] = ()
    #: One sentence per problem, naming the check; empty when all is well.
    reasons: tuple[str, ...] = field(default=())

    def result(self, check: str) -> CheckResult:
        """The word for ``check`` (one of :data:`CHECKS`)."""
        if check == "event_id":
            return self.event_id_result
        if check == "content_hash":
            return self.content_hash
        if check == "signatures":
            return self.signatures
        raise KeyError(check)

    def failed(self, *, strict: bool = False) -> bool:
        """Whether a check found something wrong (``strict``: also an unknown key)."""
        words = (self.event_id_result, self.content_hash, self.signatures)
        if strict:
            return any(w in FAILURES or w == "unknown_key" for w in words)
        return any(w in FAILURES for w in words)

    def as_json(self) -> dict[str, Any]:
        """The JSON object ``roomscope verify --json`` prints for this event."""
        out: dict[str, Any] = {
            "event_id": self.event_id_result,
            "content_hash": self.content_hash,
            "signatures": self.signatures,
        }
        if self.computed_event_id is not None and self.event_id_result != "ok":
            out["computed_event_id"] = self.computed_event_id
        if self.signers:
            out["signers"] = {s.server: s.result for s in self.signers}
        if self.reasons:
            out["reasons"] = list(self.reasons)
        return out


def _content_hash_check(
    sent: Mapping[str, Any], version: RoomVersion | None = None
) -> tuple[CheckResult, str | None]:
    hashes = sent.get("hashes")
    if not isinstance(hashes, Mapping) or "sha256" not in hashes:
        return "missing", "content hash: hashes.sha256 is missing"
    claimed = hashes["sha256"]
    try:
        if not isinstance(claimed, str):
            raise ValueError("not a string")
        claimed_bytes = decode_unpadded_base64(claimed)
    except ValueError as exc:
        return "invalid", f"content hash: hashes.sha256 is {exc}"
    if claimed_bytes != compute_content_hash(sent):
        reason = "content hash: hashes.sha256 does not match the event's content"
        if version is not None and _looks_redacted(sent, version):
            # A server serves a redacted event in its redacted form; the hash is of the
            # original, so it cannot match. The signature and the ID still can.
            reason += " (the event looks redacted: only what redaction keeps is left)"
        return "mismatch", reason
    return "ok", None


def _looks_redacted(sent: Mapping[str, Any], version: RoomVersion) -> bool:
    redacted = redact(sent, version)
    return redacted.get("content") == sent.get("content") and set(redacted) >= (
        set(sent) - {"unsigned"}
    )


# https://spec.matrix.org/v1.16/appendices/#canonical-json: integers in this range only.
_MAX_SAFE_INT = 2**53 - 1


def strict_json_problem(obj: object) -> str | None:
    """Where ``obj`` breaks the canonical JSON rules of room versions 6+, or None.

    Floats (NaN and infinities too) and integers outside ``[-(2**53)+1, (2**53)-1]``
    are not allowed (https://spec.matrix.org/v1.16/rooms/v6/#canonical-json). Synapse
    refuses such PDUs (``validate_canonicaljson``). Iterative: JSON may nest deeply.
    """
    # A quick pass without paths (every event is checked); the path only when needed.
    stack: list[object] = [obj]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is str or kind is bool or value is None:
            continue
        if kind is dict:
            stack.extend(cast(dict[str, object], value).values())
        elif kind is list:
            stack.extend(cast(list[object], value))
        elif kind is int:
            if not -_MAX_SAFE_INT <= cast(int, value) <= _MAX_SAFE_INT:
                break
        elif isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
                break
        elif not isinstance(value, bool):
            break  # a float, or something JSON does not have
    else:
        return None
    return _locate_strict_json_problem(obj)


def _locate_strict_json_problem(obj: object) -> str | None:
    paths: list[tuple[str, object]] = [("", obj)]
    while paths:
        path, value = paths.pop()
        where = path or "the top"
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, int):
            if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
                return f"an integer out of range at {where}"
        elif isinstance(value, float):
            return f"a non-integer number at {where}"
        elif isinstance(value, Mapping):
            paths.extend((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            paths.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
        else:
            return f"a {type(value).__name__} at {where}"
    return None


def verify_event(pdu: PDU, keys: VerifyKeys | ServerKeys | None = None) -> EventVerification:
    """Verify one event's ID, content hash and signatures.

    ``keys`` are the servers' public keys; pass a :class:`VerifyKeys` built
    once when verifying many events (decoding keys is not free).
    """
    if not isinstance(keys, VerifyKeys):
        keys = VerifyKeys(keys)
    version = pdu.room_version
    reasons: list[str] = []
    sent = pdu.as_sent()
    try:
        content_word, reason = _content_hash_check(sent, version)
        # What is signed and what the reference hash covers are the same bytes.
        signatures = sent.get("signatures")
        signed_bytes = canonical_json(reference_hash_input(sent, version))
    except (ValueError, TypeError, RecursionError) as exc:
        why = f"cannot be encoded as canonical JSON ({type(exc).__name__})"
        return EventVerification(
            pdu.event_id,
            "invalid" if version.event_ids_derived else "not_applicable",
            "invalid",
            "invalid",
            reasons=(f"event: {why}",),
        )
    if reason:
        reasons.append(reason)
    if version.strict_canonical_json:
        problem = strict_json_problem(sent)
        if problem is not None:
            # The hashes and signatures of such an event are over JSON that is not
            # canonical for this version: the event is invalid whatever they say.
            content_word = "invalid"
            reasons.append(
                f"content hash: the event is not canonical JSON, as room version "
                f"{version.identifier} requires ({problem})"
            )

    id_word: CheckResult = "not_applicable"
    computed: str | None = None
    if version.event_ids_derived:
        computed = event_id_from_reference_hash(hashlib.sha256(signed_bytes).digest(), version)
        if computed == pdu.event_id:
            id_word = "ok"
        else:
            id_word = "mismatch"
            reasons.append(f"event ID: the reference hash gives {computed}, not {pdu.event_id}")

    checks = tuple(
        verify_server_signature(signed_bytes, signatures, server, keys)
        for server in required_signers(pdu)
    )
    sig_word: CheckResult = "ok"
    for check in checks:
        if _SEVERITY[check.result] > _SEVERITY[sig_word]:
            sig_word = check.result
        if check.reason:
            reasons.append(f"signatures: {check.reason}")
    if not checks:
        if pdu.type == "m.room.member" and "third_party_invite" in pdu.content:
            # An invite from a third-party invite: no server has to sign (see required_signers).
            sig_word = "not_applicable"
        else:  # a sender without a server part names no server to check
            sig_word = "missing"
            reasons.append("signatures: the event names no server that must sign it")

    return EventVerification(
        event_id=pdu.event_id,
        event_id_result=id_word,
        content_hash=content_word,
        signatures=sig_word,
        computed_event_id=computed,
        signers=checks,
        reasons=tuple(reasons),
    )


def verify_events(
    events: Iterable[PDU], keys: VerifyKeys | ServerKeys | None = None
) -> tuple[EventVerification, ...]:
    """Verify every event, in the order given."""
    verify_keys = keys if isinstance(keys, VerifyKeys) else VerifyKeys(keys)
    return tuple(verify_event(pdu, verify_keys) for pdu in events)


@dataclass(frozen=True, slots=True)
class VerificationSummary:
    """Counts of each word per check, and how many events failed."""

    total: int
    #: check name -> result word -> number of events.
    counts: Mapping[str, Mapping[str, int]]
    failed: int
    failed_strict: int

    def line(self) -> str:
        """One human line: ``12 events: 11 ok, 1 failed (content_hash mismatch: 1)``."""
        problems = []
        for check in CHECKS:
            for word, n in sorted(self.counts[check].items()):
                if word not in ("ok", "not_applicable"):
                    problems.append(f"{check} {word}: {n}")
        ok = self.total - self.failed_strict
        text = f"{self.total} events: {ok} verified, {self.failed} failed"
        unknown = self.failed_strict - self.failed
        if unknown:
            text += f", {unknown} not checkable (unknown key)"
        if problems:
            text += " (" + ", ".join(problems) + ")"
        return text


def summarize(results: Iterable[EventVerification]) -> VerificationSummary:
    """Tally ``results`` (see :class:`VerificationSummary`)."""
    counters: dict[str, Counter[str]] = {check: Counter() for check in CHECKS}
    total = failed = failed_strict = 0
    for r in results:
        total += 1
        counters["event_id"][r.event_id_result] += 1
        counters["content_hash"][r.content_hash] += 1
        counters["signatures"][r.signatures] += 1
        if r.failed():
            failed += 1
        if r.failed(strict=True):
            failed_strict += 1
    return VerificationSummary(
        total=total,
        counts={check: dict(c) for check, c in counters.items()},
        failed=failed,
        failed_strict=failed_strict,
    )
