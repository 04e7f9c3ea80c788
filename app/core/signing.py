"""ed25519 signatures on events: which servers must sign, and whether they did.

Server signing keys come from the room file (``server_keys``) or ``--keys``,
as ``{"server.name": {"ed25519:key_id": "<unpadded base64 public key>"}}``.
roomscope fetches no keys: a signature by a key it was not given is reported as
``"unknown_key"``, not guessed at.

Spec: https://spec.matrix.org/v1.16/appendices/#signing-json,
https://spec.matrix.org/v1.16/appendices/#checking-for-a-signature,
https://spec.matrix.org/v1.16/server-server-api/#validating-hashes-and-signatures-on-received-events
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import nacl.exceptions
import nacl.signing

from app.core.errors import RoomscopeError
from app.core.events import PDU, domain_of

__all__ = [
    "CheckResult",
    "ServerKeyError",
    "ServerKeys",
    "SignatureCheck",
    "VerifyKeys",
    "decode_unpadded_base64",
    "parse_server_keys",
    "required_signers",
    "verify_server_signature",
]

#: The word for the outcome of one check (DESIGN.md, ``roomscope verify``).
CheckResult = Literal["ok", "not_applicable", "mismatch", "invalid", "unknown_key", "missing"]

#: Public keys as files hold them: server name -> key ID -> unpadded base64.
ServerKeys = Mapping[str, Mapping[str, str]]


class ServerKeyError(RoomscopeError, ValueError):
    """A ``server_keys`` object (in a room file or ``--keys``) that is not usable."""


def decode_unpadded_base64(text: str) -> bytes:
    """Decode (un)padded standard or URL-safe base64, as the spec's "unpadded base64".

    Raises ValueError on anything else (stray characters, a lone trailing char).
    """
    if len(text) % 4 == 1:
        raise ValueError("not base64 (bad length)")
    padded = text + "=" * (-len(text) % 4)
    if "-" in padded or "_" in padded:
        padded = padded.replace("-", "+").replace("_", "/")
    try:
        return b64decode(padded, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64 ({exc})") from None


class VerifyKeys:
    """Decoded public keys, looked up by (server, key ID); built once per room.

    Only ``ed25519`` keys can verify anything; keys of other algorithms are
    kept out (a signature with them is as good as one with an unknown key).
    """

    __slots__ = ("_keys",)

    def __init__(self, server_keys: ServerKeys | None = None) -> None:
        self._keys: dict[str, dict[str, nacl.signing.VerifyKey]] = {}
        if server_keys:
            for server, keys in parse_server_keys(server_keys).items():
                self._keys[server] = keys

    def for_server(self, server: str) -> Mapping[str, nacl.signing.VerifyKey]:
        """The keys of ``server`` by key ID (empty when none is known)."""
        return self._keys.get(server, {})

    def __bool__(self) -> bool:
        return bool(self._keys)


def parse_server_keys(
    obj: object, *, where: str = "server_keys"
) -> dict[str, dict[str, nacl.signing.VerifyKey]]:
    """Check a ``server_keys`` object and decode its ed25519 keys.

    Returns server -> key ID -> ``nacl.signing.VerifyKey``. Raises
    :class:`ServerKeyError` with one line naming the server and key.
    """
    if not isinstance(obj, Mapping):
        raise ServerKeyError(f"{where}: is not a JSON object of server names")
    out: dict[str, dict[str, nacl.signing.VerifyKey]] = {}
    for server, keys in obj.items():
        if not isinstance(server, str) or not isinstance(keys, Mapping):
            raise ServerKeyError(f"{where}: {server!s}: is not an object of key IDs")
        decoded: dict[str, nacl.signing.VerifyKey] = {}
        for key_id, value in keys.items():
            if not isinstance(key_id, str) or not isinstance(value, str):
                raise ServerKeyError(f"{where}: {server} {key_id!s}: key is not a string")
            algorithm, sep, _ = key_id.partition(":")
            if not sep:
                raise ServerKeyError(f"{where}: {server} {key_id}: key ID is not algorithm:name")
            if algorithm != "ed25519":
                continue
            try:
                raw = decode_unpadded_base64(value)
            except ValueError:
                raise ServerKeyError(
                    f"{where}: {server} {key_id}: key is not unpadded base64"
                ) from None
            if len(raw) != 32:
                raise ServerKeyError(
                    f"{where}: {server} {key_id}: an ed25519 key is 32 bytes, not {len(raw)}"
                )
            decoded[key_id] = nacl.signing.VerifyKey(raw)
        out[server] = decoded
    return out


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The outcome of checking one server's signature on one event."""

    server: str
    #: ``"ok"``, ``"missing"`` (no signature by this server), ``"unknown_key"``
    #: (signed only with keys we were not given) or ``"invalid"``.
    result: CheckResult
    #: The key IDs whose signatures were checked (valid ones for "ok").
    key_ids: tuple[str, ...]
    #: Why, in words, for anything but "ok".
    reason: str | None = None


def required_signers(pdu: PDU) -> tuple[str, ...]:
    """The servers whose signatures an event must carry, in the spec's order.

    * the sender's server, except on an invite made from a third-party invite
      (``m.room.member``, membership ``invite``, ``content.third_party_invite``
      present), which any server may send;
    * v1/v2: the server of the event ID, when it differs;
    * v8+ (restricted join rules): for a join with
      ``content.join_authorised_via_users_server``, that user's server.

    Spec: https://spec.matrix.org/v1.16/server-server-api/#validating-hashes-and-signatures-on-received-events
    (Synapse agrees: ``synapse.federation.federation_base._check_sigs_on_pdu``.)
    """
    servers: list[str] = []
    is_member = pdu.type == "m.room.member"
    if pdu.server_name and not (
        is_member and pdu.membership == "invite" and "third_party_invite" in pdu.content
    ):
        servers.append(pdu.server_name)
    version = pdu.room_version
    if not version.event_ids_derived:
        event_server = domain_of(pdu.event_id)
        if event_server and event_server not in servers:
            servers.append(event_server)
    if version.restricted_join_rule and is_member and pdu.membership == "join":
        authoriser = pdu.content.get("join_authorised_via_users_server")
        if isinstance(authoriser, str):
            server = domain_of(authoriser)
            if server and server not in servers:
                servers.append(server)
    return tuple(servers)


def verify_server_signature(
    signed_bytes: bytes,
    signatures: object,
    server: str,
    keys: VerifyKeys,
) -> SignatureCheck:
    """Check ``server``'s signatures on ``signed_bytes``.

    ``signed_bytes`` is the canonical JSON of the redacted event without
    ``signatures`` and ``unsigned`` (what was signed); ``signatures`` is the
    event's ``signatures`` value as found. Like Synapse's keyring, every
    ed25519 signature by a key we know must verify, and at least one must be
    by a key we know.
    """
    by_server = signatures.get(server) if isinstance(signatures, Mapping) else None
    if not isinstance(by_server, Mapping) or not by_server:
        return SignatureCheck(server, "missing", (), f"no signature by {server}")
    ed_ids = [k for k in by_server if isinstance(k, str) and k.startswith("ed25519:")]
    if not ed_ids:
        return SignatureCheck(server, "missing", (), f"no ed25519 signature by {server}")
    known = keys.for_server(server)
    checked: list[str] = []
    for key_id in sorted(ed_ids):
        verify_key = known.get(key_id)
        if verify_key is None:
            continue
        checked.append(key_id)
        value = by_server[key_id]
        try:
            if not isinstance(value, str):
                raise ValueError("not a string")
            signature = decode_unpadded_base64(value)
        except ValueError as exc:
            return SignatureCheck(
                server, "invalid", (key_id,), f"signature by {server} {key_id}: {exc}"
            )
        try:
            verify_key.verify(signed_bytes, signature)
        except (nacl.exceptions.BadSignatureError, ValueError):
            return SignatureCheck(
                server,
                "invalid",
                (key_id,),
                f"signature by {server} {key_id} does not verify",
            )
    if not checked:
        return SignatureCheck(
            server,
            "unknown_key",
            (),
            f"signed by {server} with {', '.join(sorted(ed_ids))}, a key not given",
        )
    return SignatureCheck(server, "ok", tuple(checked))
