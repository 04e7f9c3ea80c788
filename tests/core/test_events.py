"""The PDU model: parsing per room version, errors naming the event and field, as_sent.

Event formats: https://spec.matrix.org/v1.16/server-server-api/#pdus and the
"Event format" section of each room version; where ``redacts`` lives is checked
against Synapse's ``EventBase.redacts``.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.core.events import PDU, EventFormatError, as_sent, parse_pdu
from app.core.versions import KNOWN_ROOM_VERSIONS, RoomVersion, room_version

VERSIONS = sorted(KNOWN_ROOM_VERSIONS.values(), key=lambda v: int(v.identifier))
V1, V4, V10, V11, V12 = (room_version(v) for v in ("1", "4", "10", "11", "12"))
HASHES = {"sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"}


def pdu_json(version: RoomVersion, **over: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "m.room.message",
        "sender": "@a:x.example",
        "room_id": "!r:x.example",
        "content": {"body": "hi"},
        "depth": 2,
        "origin_server_ts": 7,
        "prev_events": [["$p:x", HASHES]] if version.event_refs_with_hashes else ["$p"],
        "auth_events": [["$c:x", HASHES]] if version.event_refs_with_hashes else ["$c"],
        "hashes": HASHES,
        "signatures": {},
    }
    if not version.event_ids_derived:
        obj["event_id"] = "$e:x.example"
    obj.update(over)
    return obj


def parse(version: RoomVersion, obj: Any, **kw: Any) -> PDU:
    """Parse as a loader does: v3+ objects without an ID get the computed one, and
    errors name the event by where it is found (its ID is not known yet)."""
    if version.event_ids_derived and "event_id" not in kw and isinstance(obj, dict):
        kw["event_id"] = "$computed"
    kw.setdefault("where", "line 3")
    return parse_pdu(obj, version, **kw)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_fields(version: RoomVersion) -> None:
    pdu = parse(version, pdu_json(version, state_key="@b:y", type="m.room.member",
                                  content={"membership": "invite"}))  # fmt: skip
    assert pdu.event_id == ("$computed" if version.event_ids_derived else "$e:x.example")
    assert pdu.event_id_computed is version.event_ids_derived
    assert pdu.prev_events == (("$p:x",) if version.event_refs_with_hashes else ("$p",))
    assert pdu.auth_events == (("$c:x",) if version.event_refs_with_hashes else ("$c",))
    assert (pdu.depth, pdu.origin_server_ts, pdu.room_id) == (2, 7, "!r:x.example")
    assert pdu.is_state and pdu.state_tuple == ("m.room.member", "@b:y")
    assert pdu.membership == "invite"
    assert pdu.server_name == "x.example"
    message = parse(version, pdu_json(version))
    assert not message.is_state and message.state_tuple is None and message.membership is None


@pytest.mark.parametrize(
    ("version", "over", "message"),
    [
        (V10, {"type": 5}, "event line 3: type is not a string"),
        (V10, {"sender": None}, "event line 3: sender is not a string"),
        (V10, {"content": []}, "event line 3: content is not an object"),
        (V10, {"content": None}, "event line 3: content is missing"),
        (V10, {"depth": True}, "event line 3: depth is not an integer"),
        (V10, {"depth": 1.0}, "event line 3: depth is not an integer"),
        (V10, {"origin_server_ts": "1"}, "event line 3: origin_server_ts is not an integer"),
        (V10, {"prev_events": ["$a", "$b", 3]}, "event line 3: prev_events[2] is not a string"),
        (V10, {"auth_events": "$a"}, "event line 3: auth_events is not a list"),
        (V10, {"state_key": None}, "event line 3: state_key is not a string"),
        (V10, {"redacts": 1}, "event line 3: redacts is not a string"),
        (V1, {"prev_events": ["$a:x"]}, "event $e:x.example: prev_events[0] is not an "
                                        "[event_id, hashes] pair"),
        (V1, {"auth_events": [[1, {}]]}, "event $e:x.example: auth_events[0][0] is not a string"),
        (V1, {"auth_events": [["$a", []]]}, "event $e:x.example: auth_events[0][1] is not an "
                                            "object"),
        (V1, {"event_id": 1}, "event line 3: event_id is not a string"),
    ],
)  # fmt: skip
def test_errors_name_the_event_and_field(
    version: RoomVersion, over: dict[str, Any], message: str
) -> None:
    with pytest.raises(EventFormatError) as info:
        parse(version, pdu_json(version, **over))
    assert str(info.value) == message


def test_missing_fields_and_non_objects() -> None:
    for key in ("type", "sender", "depth", "prev_events", "auth_events", "room_id"):
        obj = pdu_json(V4)
        del obj[key]
        with pytest.raises(EventFormatError, match=rf"^event line 3: {key} is missing$"):
            parse_pdu(obj, V4, where="line 3", event_id="$x")
    with pytest.raises(EventFormatError, match=r"^event line 3: event_id is missing"):
        parse_pdu(pdu_json(V4), V4, where="line 3")
    with pytest.raises(EventFormatError, match=r"^event line 9: is a list, not a JSON object$"):
        parse_pdu([], V4, where="line 9")
    with pytest.raises(EventFormatError, match=r"^event: is a str, not a JSON object$"):
        parse_pdu("x", V4)
    obj = pdu_json(V1)
    del obj["event_id"]
    with pytest.raises(EventFormatError, match=r"event_id is missing \(room version 1"):
        parse_pdu(obj, V1)


def test_v12_create_has_no_room_id() -> None:
    create = pdu_json(V12, type="m.room.create", state_key="", content={})
    del create["room_id"]
    assert parse(V12, create).room_id is None
    with pytest.raises(EventFormatError, match="room_id is missing"):
        parse(V11, {k: v for k, v in create.items()})
    message = pdu_json(V12)
    del message["room_id"]
    with pytest.raises(EventFormatError, match="room_id is missing"):
        parse(V12, message)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_redacts_where_synapse_reads_it(version: RoomVersion) -> None:
    """v1-v10: top-level redacts; v11+: content.redacts, the top-level one ignored."""
    cases = [("$t", None), (None, "$c"), ("$t", "$c")]
    for top, in_content in cases:
        obj = pdu_json(version, type="m.room.redaction", content={})
        if top:
            obj["redacts"] = top
        if in_content:
            obj["content"]["redacts"] = in_content
        got = parse(version, obj).redacts
        if version.updated_redaction_rules:
            assert got == in_content
        else:
            assert got == top


synapse_rv = pytest.importorskip("synapse.api.room_versions")
synapse_events = pytest.importorskip("synapse.events")


@pytest.mark.parametrize("version", [V10, V11, V12], ids=lambda v: f"v{v.identifier}")
def test_redacts_agrees_with_synapse(version: RoomVersion) -> None:
    for top, in_content in [("$t", None), (None, "$c"), ("$t", "$c")]:
        obj = pdu_json(version, type="m.room.redaction", content={})
        if top:
            obj["redacts"] = top
        if in_content:
            obj["content"]["redacts"] = in_content
        theirs = synapse_events.make_event_from_dict(
            dict(obj), synapse_rv.KNOWN_ROOM_VERSIONS[version.identifier]
        ).redacts
        assert parse(version, obj).redacts == theirs


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_as_sent_drops_what_servers_add(version: RoomVersion) -> None:
    obj = pdu_json(version, unsigned={"age": 3})
    if version.event_ids_derived:
        obj["event_id"] = "$served"
    sent = as_sent(obj, version)
    assert "unsigned" not in sent
    assert ("event_id" in sent) is (not version.event_ids_derived)
    assert obj["unsigned"] == {"age": 3}  # the input is left alone
    create = pdu_json(version, type="m.room.create", state_key="", content={})
    assert ("room_id" in as_sent(create, version)) is (not version.room_id_from_create_event)
    pdu = parse_pdu(obj, version)
    assert pdu.as_sent() == sent
    assert pdu.raw is obj


def test_domain_of_is_everything_after_the_first_colon() -> None:
    """https://spec.matrix.org/v1.16/appendices/#common-identifier-format: the domain
    follows the first colon, and a server name may carry a port (or be an IPv6 literal)."""
    from app.core.events import domain_of

    assert domain_of("@alice:example.org") == "example.org"
    assert domain_of("@alice:example.org:8448") == "example.org:8448"
    assert domain_of("$abc:[1234:5678::abcd]:8448") == "[1234:5678::abcd]:8448"
    assert domain_of("@alice:") == ""
    assert domain_of("$hashonly") is None


class _Str(str):
    pass


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"v{v.identifier}")
def test_plain_json_objects_parse_as_any_mapping_does(version: RoomVersion) -> None:
    """parse_pdu reads plain dicts (what a JSON parser makes) on a fast path; every
    object must give the PDU, or the error, that the general path gives (any other
    Mapping takes the general path)."""
    from types import MappingProxyType

    base = pdu_json(version)
    variants: list[dict[str, Any]] = [
        base,
        {**base, "state_key": ""},
        {**base, "state_key": None},
        {**base, "state_key": 5},
        {**base, "room_id": None},
        {**base, "type": "m.room.create", "state_key": ""},
        {**base, "redacts": "$r", "content": {"redacts": "$c"}},
        {**base, "redacts": None},
        {**base, "redacts": 3},
        {**base, "content": {"redacts": 3}},
        {**base, "depth": True},
        {**base, "depth": 2.0},
        {**base, "origin_server_ts": "7"},
        {**base, "prev_events": ("$p",)},
        {**base, "prev_events": ["$p", 3]},
        {**base, "auth_events": [None]},
        {**base, "content": []},
        {**base, "sender": _Str("@a:x.example")},
        {**base, "event_id": 5},
        {**base, "event_id": "$given"},
        {**base, "unsigned": {"age": 1}},
        # sender_domain and state_key_domain (worked out inline on the fast path)
        {**base, "sender": "@no-colon"},
        {**base, "sender": "@a:b:8448"},
        {**base, "state_key": "@b:y.example"},
        {**base, "state_key": "trailing:"},
    ]
    variants.append({k: v for k, v in base.items() if k != "room_id"})
    variants.append({k: v for k, v in base.items() if k != "content"})
    variants.append({k: v for k, v in base.items() if k != "auth_events"})
    for obj in variants:
        for given in (None, "$computed"):
            try:
                fast: PDU | str = parse_pdu(obj, version, where="line 3", event_id=given)
            except EventFormatError as exc:
                fast = str(exc)
            try:
                general: PDU | str = parse_pdu(
                    MappingProxyType(obj), version, where="line 3", event_id=given
                )
            except EventFormatError as exc:
                general = str(exc)
            if isinstance(fast, str) or isinstance(general, str):
                assert fast == general, obj
                continue
            for name in PDU.__dataclass_fields__:
                if name == "auth_event_ids_memo":  # unset until first used
                    assert fast.auth_event_ids() == general.auth_event_ids(), obj
                elif name != "raw":
                    assert getattr(fast, name) == getattr(general, name), (name, obj)
            assert fast.raw is obj


def test_auth_event_ids_add_the_create_event_in_v12_only() -> None:
    """v12 (MSC4291): the create event the room ID names authorises every other event
    implicitly, after the listed auth events, as Synapse's ``auth_event_ids()`` has it;
    earlier versions list exactly ``auth_events``. Worked out once, then kept."""
    v12, v11 = KNOWN_ROOM_VERSIONS["12"], KNOWN_ROOM_VERSIONS["11"]
    member = {**pdu_json(v12), "room_id": "!abc", "auth_events": ["$pl"]}
    event = parse_pdu(member, v12, event_id="$m")
    assert event.auth_event_ids() == ("$pl", "$abc")
    assert event.auth_event_ids() is event.auth_event_ids_memo
    listed = parse_pdu({**member, "auth_events": ["$abc", "$pl"]}, v12, event_id="$m2")
    assert listed.auth_event_ids() == ("$abc", "$pl")
    create = {k: v for k, v in member.items() if k != "room_id"}
    create.update(type="m.room.create", state_key="", auth_events=[])
    assert parse_pdu(create, v12, event_id="$abc").auth_event_ids() == ()
    old = parse_pdu({**pdu_json(v11), "auth_events": ["$c", "$pl"]}, v11, event_id="$o")
    assert old.auth_event_ids() == ("$c", "$pl")
