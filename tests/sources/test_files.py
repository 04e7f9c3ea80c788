"""Room files: every format of DESIGN.md "The room file", the limits, and saving.

Rooms are built with app.core.builder (valid, hashed events); each test writes them
in one format and checks what comes back against what went in.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

import app.sources.files as files
from app.core.builder import build_event
from app.core.events import PDU
from app.core.room import Room
from app.core.versions import RoomVersion, room_version
from app.sources.files import RoomFileError, load_room, parse_room_bytes, save_room

V1 = room_version("1")
V10 = room_version("10")
V12 = room_version("12")
ALICE = "@alice:a.example"
BOB = "@bob:b.example"


def make_room(version: RoomVersion, n: int = 6) -> list[PDU]:
    """create, then a chain with a fork and a merge: c -> m1 -> {x, y} -> merge."""
    create = build_event(
        version,
        type="m.room.create",
        state_key="",
        sender=ALICE,
        content={"room_version": version.identifier, "creator": ALICE},
        origin_server_ts=1,
    )
    room_id = "!" + create.event_id[1:] if version.room_id_from_create_event else "!room:a.example"
    events = [create]

    def add(prev: list[str], ts: int, sender: str = ALICE) -> PDU:
        pdu = build_event(
            version,
            type="m.room.message",
            sender=sender,
            content={"body": f"message {ts}"},
            room_id=room_id,
            prev_events=prev,
            auth_events=[] if version.room_id_from_create_event else [create.event_id],
            depth=ts,
            origin_server_ts=ts,
            known_events={e.event_id: e for e in events},
        )
        events.append(pdu)
        return pdu

    m1 = add([create.event_id], 2)
    x = add([m1.event_id], 3)
    y = add([m1.event_id], 4, sender=BOB)
    add([x.event_id, y.event_id], 5)
    return events


def raws(events: list[PDU]) -> list[dict[str, Any]]:
    return [dict(e.raw) for e in events]


def check_room(room: Room, events: list[PDU]) -> None:
    assert list(room.events) == [e.event_id for e in events]
    for e in events:
        assert dict(room.events[e.event_id].raw) == dict(e.raw)
    assert room.room_version is events[0].room_version
    assert room.findings == ()
    assert len(room.graph.forks) == 1 and len(room.graph.merges) == 1


@pytest.mark.parametrize("version", [V1, V10, V12], ids=["v1", "v10", "v12"])
def test_native_array_ndjson_and_gzip(tmp_path: Path, version: RoomVersion) -> None:
    events = make_room(version)
    native = {
        "format": "roomscope.room",
        "version": 1,
        "room_version": version.identifier,
        "events": raws(events),
    }
    texts = {
        "room.json": json.dumps(native, indent=2),
        "array.json": json.dumps(raws(events)),
        "events.ndjson": "\n".join(json.dumps(r) for r in raws(events)) + "\n",
    }
    for name, text in texts.items():
        for compressed in (False, True):
            path = tmp_path / (name + (".gz" if compressed else ""))
            data = text.encode()
            path.write_bytes(gzip.compress(data) if compressed else data)
            room = load_room(path)
            check_room(room, events)
            assert room.path == str(path)
            check_room(parse_room_bytes(path.read_bytes(), name=name), events)


def test_v3_plus_ids_are_computed_when_absent_and_given_ids_are_kept(tmp_path: Path) -> None:
    events = make_room(V10)
    assert all("event_id" not in e.raw for e in events)  # the builder leaves them out
    room = parse_room_bytes(json.dumps(raws(events)).encode(), name="x.json")
    assert [e.event_id for e in room.events.values()] == [e.event_id for e in events]
    assert all(e.event_id_computed for e in room.events.values())
    # As a client-server API or Synapse would serve them: event_id and unsigned added.
    served = [
        {**r, "event_id": e.event_id, "unsigned": {"age": 7}}
        for r, e in zip(raws(events), events, strict=True)
    ]
    room = parse_room_bytes(json.dumps(served).encode(), name="x.json")
    assert room.findings == ()
    assert not any(e.event_id_computed for e in room.events.values())
    # A readable ID is authoritative but a finding.
    served[1]["event_id"] = "$readable"
    served[2]["prev_events"] = ["$readable"]
    served[3]["prev_events"] = ["$readable"]
    room = parse_room_bytes(json.dumps(served).encode(), name="x.json")
    assert "$readable" in room.events
    assert [(f.kind, f.event_id) for f in room.findings] == [
        ("event_id_mismatch", "$readable"),
        ("event_id_mismatch", served[2]["event_id"]),
        ("event_id_mismatch", served[3]["event_id"]),
    ]


def _float_power_levels(events: list[PDU]) -> PDU:
    """A power levels event after ``events`` holding a float where redaction keeps
    it (so it is hashed): orjson writes 1e-06 as 1e-6, Synapse's encoder does not."""
    return build_event(
        V10,
        type="m.room.power_levels",
        state_key="",
        sender=ALICE,
        content={"users": {ALICE: 100}, "ban": 1e-06},
        prev_events=[events[-1].event_id],
        auth_events=[events[0].event_id],
        origin_server_ts=99,
    )


def test_ids_of_rooms_with_floats_are_hashed_as_synapse_writes_floats() -> None:
    """A room whose JSON holds a float is hashed with the stdlib encoder: orjson, used
    for float-free rooms, writes 1e-06 as 1e-6 and would give another ID. (The float
    is where redaction keeps it, so it is hashed.)"""
    events = make_room(V10)
    floaty = _float_power_levels(events)
    for fmt in ("array", "ndjson"):
        objs = [*raws(events), dict(floaty.raw)]
        text = json.dumps(objs) if fmt == "array" else "\n".join(map(json.dumps, objs))
        room = parse_room_bytes(text.encode(), name="x.json")
        assert floaty.event_id in room.events, fmt
        assert room.findings == ()


def test_v12_create_event_room_id_added_by_synapse_is_not_hashed() -> None:
    events = make_room(V12)
    served = raws(events)
    served[0] = {**served[0], "room_id": "!" + events[0].event_id[1:]}
    room = parse_room_bytes(json.dumps(served).encode(), name="x.json")
    assert room.events[events[0].event_id].raw["room_id"] == "!" + events[0].event_id[1:]
    assert room.room_id == "!" + events[0].event_id[1:]
    assert room.findings == ()


def test_room_version_sources() -> None:
    events = make_room(V10)
    # From the create event's content.
    assert parse_room_bytes(json.dumps(raws(events)).encode(), name="a").room_version is V10
    # The file's room_version wins over the create event (and the disagreement is a finding).
    v11 = {"room_version": "11", "events": raws(events)}
    room = parse_room_bytes(json.dumps(v11).encode(), name="a")
    assert room.room_version.identifier == "11"
    assert "room_version_mismatch" in [f.kind for f in room.findings]
    # No room_version, no create event: "1", and a hint when the events do not fit v1.
    with pytest.raises(RoomFileError) as err:
        parse_room_bytes(json.dumps(raws(events[1:])).encode(), name="a.json")
    message = str(err.value)
    assert message.startswith("a.json: event 0: event_id is missing (room version 1 needs it)")
    assert "read as room version 1" in message
    assert "\n" not in message


def test_folder_of_batches_in_name_order(tmp_path: Path) -> None:
    events = make_room(V10)
    folder = tmp_path / "fixture"
    folder.mkdir()
    # Name order, not creation order; gzip and NDJSON batches too.
    (folder / "2-rest.ndjson").write_text("\n".join(json.dumps(r) for r in raws(events[3:])))
    (folder / "1-more.json.gz").write_bytes(gzip.compress(json.dumps(raws(events[1:3])).encode()))
    (folder / "0-start.json").write_text(json.dumps(raws(events[:1])))
    (folder / "README.md").write_text("not a batch")
    room = load_room(folder)
    check_room(room, events)
    # Overlapping batches: identical events merge silently.
    (folder / "3-again.json").write_text(json.dumps(raws(events[2:4])))
    check_room(load_room(folder), events)
    (folder / "4-bad.json").write_text('[{"type": 1}]')
    with pytest.raises(RoomFileError, match=r"4-bad.json: event 0: "):
        load_room(folder)


def test_empty_folder_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RoomFileError, match=r"a folder without \.json files"):
        load_room(tmp_path)
    with pytest.raises(RoomFileError, match=r"nope.json: No such file or directory"):
        load_room(tmp_path / "nope.json")


def test_native_metadata_and_unknown_keys_round_trip(tmp_path: Path) -> None:
    events = make_room(V10)
    ids = [e.event_id for e in events]
    native = {
        "format": "roomscope.room",
        "version": 1,
        "room_id": "!room:a.example",
        "room_version": "10",
        "source": {"homeserver": "https://a.example", "fetched_at": "2026-01-01"},
        "annotations": {"title": "Fork and merge", "notes": {ids[2]: "a fork"}},
        "state_sets": {"left": ids[:3], "right": [ids[0], ids[3]]},
        "server_keys": {"a.example": {"ed25519:1": "AAAA"}},
        "x_future_key": {"kept": [1, 2, 3]},
        "events": raws(events),
    }
    src = tmp_path / "in.json"
    src.write_text(json.dumps(native))
    room = load_room(src)
    assert room.room_id == "!room:a.example"
    assert room.title == "Fork and merge"
    assert dict(room.state_sets) == {"left": tuple(ids[:3]), "right": (ids[0], ids[3])}
    assert dict(room.server_keys["a.example"]) == {"ed25519:1": "AAAA"}
    assert dict(room.extra) == {"x_future_key": {"kept": [1, 2, 3]}}
    for name in ("out.json", "out.json.gz"):
        out = tmp_path / name
        save_room(room, out)
        data = out.read_bytes()
        assert data.startswith(b"\x1f\x8b") == name.endswith(".gz")
        written = json.loads(gzip.decompress(data) if name.endswith(".gz") else data)
        assert written == native  # everything, PDUs byte-for-byte as objects, kept
        again = load_room(out)
        check_room(again, events)
        assert dict(again.extra) == dict(room.extra)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json", "out.json", "out.json.gz"]


def test_save_room_from_events(tmp_path: Path) -> None:
    events = make_room(V12)
    room = Room.from_events(events)
    save_room(room, tmp_path / "r.json")
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["room_version"] == "12"
    assert written["room_id"] == "!" + events[0].event_id[1:]
    assert written["events"] == raws(events)
    check_room(load_room(tmp_path / "r.json"), events)


def test_save_error_is_one_line(tmp_path: Path) -> None:
    room = Room.from_events(make_room(V10))
    with pytest.raises(RoomFileError, match=r"cannot write"):
        save_room(room, tmp_path / "no" / "such" / "dir.json")


def test_gzip_expansion_is_bounded(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b"[" + b" " * (32 << 20) + b"]", compresslevel=9))
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(RoomFileError) as err:
        load_room(bomb, max_bytes=8 << 20)
    assert "expands past 8.0 MiB when decompressed" in str(err.value)
    assert load_room(bomb, max_bytes=64 << 20).events == {}


def test_gzip_of_several_members_reads_them_all(tmp_path: Path) -> None:
    # gzip allows members one after another (``cat a.gz b.gz``); a one-call zlib read
    # stops after the first, so the loader must notice and read on.
    text = json.dumps(raws(make_room(V10)))
    half = len(text) // 2
    path = tmp_path / "two.json.gz"
    path.write_bytes(gzip.compress(text[:half].encode()) + gzip.compress(text[half:].encode()))
    assert len(load_room(path).events) == len(make_room(V10))


@pytest.mark.parametrize("limit", [0, 1, 999])
def test_gzip_expanding_exactly_to_the_limit_is_read(limit: int) -> None:
    data = gzip.compress(b" " * limit)
    assert files._gunzip(data, "f", limit) == b" " * limit
    with pytest.raises(RoomFileError, match="expands past"):
        files._gunzip(gzip.compress(b" " * (limit + 1)), "f", limit)


def test_files_too_large_for_memory_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "room.json"
    path.write_text(json.dumps(raws(make_room(V10))))
    size = path.stat().st_size
    # The default limit follows the memory available.
    monkeypatch.setattr(files, "_available_memory", lambda: size * 2)
    with pytest.raises(RoomFileError, match=r"room.json: .* is more than this machine can load"):
        load_room(path)
    monkeypatch.setattr(files, "_available_memory", lambda: None)
    assert len(load_room(path).events) == 5


def test_deeply_nested_json_is_an_error_not_a_recursion_error() -> None:
    data = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(RoomFileError, match="nested too deeply"):
        parse_room_bytes(data, name="deep.json")
    event = json.dumps({"type": "m.room.message"})[:-1] + ', "content": ' + "[" * 100_000
    with pytest.raises(RoomFileError):
        parse_room_bytes(event.encode() + b"]" * 100_000 + b"}", name="deep.json")


def test_numbers_json_allows_but_python_cannot_read_are_one_plain_line() -> None:
    """A 5000-digit integer is valid JSON; Python refuses it (int max str digits) and its
    own message ('use sys.set_int_max_str_digits()') is not for people; NaN and
    Infinity are not JSON at all (https://www.rfc-editor.org/rfc/rfc8259#section-6)."""
    huge = b'[{"type": "m.room.create", "depth": ' + b"9" * 5000 + b"}]"
    with pytest.raises(RoomFileError) as err:
        parse_room_bytes(huge, name="huge.json")
    assert str(err.value) == "huge.json: not readable JSON (a number with more than 4300 digits)"
    for literal in ("NaN", "Infinity", "-Infinity"):
        data = f'[{{"type": "m.room.create", "depth": {literal}}}]'.encode()
        with pytest.raises(RoomFileError, match=f"{literal} is not allowed in JSON"):
            parse_room_bytes(data, name="nan.json")


def test_single_event_object_and_blank_ndjson_lines() -> None:
    events = make_room(V10)
    one = parse_room_bytes(json.dumps(raws(events)[0]).encode(), name="one.json")
    assert list(one.events) == [events[0].event_id]
    text = "\n\n".join(json.dumps(r) for r in raws(events)) + "\n\n"
    check_room(parse_room_bytes(("\ufeff" + text).encode(), name="e.ndjson"), events)


def test_ndjson_errors_name_the_line() -> None:
    lines = [json.dumps(r) for r in raws(make_room(V10))]
    lines[3] = lines[3][:-1]
    with pytest.raises(RoomFileError) as err:
        parse_room_bytes("\n".join(lines).encode(), name="events.ndjson")
    assert str(err.value).startswith("events.ndjson line 4: not valid JSON (Expecting ")
    lines = [json.dumps(r) for r in raws(make_room(V10))]
    bad = json.loads(lines[2])
    bad["event_id"] = "$given"
    bad["prev_events"] = [1]
    lines[2] = json.dumps(bad)
    with pytest.raises(RoomFileError) as err:
        parse_room_bytes("\n".join(lines).encode(), name="events.ndjson")
    assert str(err.value) == "events.ndjson line 3 ($given): prev_events[0] is not a string"


def test_pretty_native_file_with_trailing_garbage_reports_the_garbage() -> None:
    text = json.dumps({"events": []}, indent=2) + "\n}"
    with pytest.raises(RoomFileError, match=r"x.json line 4: not valid JSON \(Extra data"):
        parse_room_bytes(text.encode(), name="x.json")


def test_untrusted_text_in_errors_stays_on_one_line() -> None:
    event = {"event_id": "$evil\nroomscope: all good\x1b[2J", "type": "x"}
    with pytest.raises(RoomFileError) as err:
        parse_room_bytes(json.dumps([event]).encode(), name="x.json")
    message = str(err.value)
    assert "\n" not in message and "\x1b" not in message
    assert message.startswith("x.json: event 0 ($evil\\nroomscope: all good\\x1b[2J): ")


def test_state_set_naming_an_absent_event_is_a_finding() -> None:
    events = make_room(V10)
    native = {"events": raws(events), "state_sets": {"s": [events[1].event_id, "$nowhere"]}}
    room = parse_room_bytes(json.dumps(native).encode(), name="x.json")
    assert [(f.kind, f.event_id) for f in room.findings] == [
        ("state_set_unknown_event", "$nowhere")
    ]


def test_ruma_style_fixture_folder(tmp_path: Path) -> None:
    """ruma-state-res fixtures: batches of PDUs with readable IDs and no depth."""

    def pdu(eid: str, type_: str, prev: list[str], ts: int, **kw: Any) -> dict[str, Any]:
        return {
            "event_id": eid,
            "room_id": "!room:example.com",
            "sender": "@alice:example.com",
            "type": type_,
            "content": kw.pop("content", {}),
            "origin_server_ts": ts,
            "prev_events": prev,
            "auth_events": kw.pop("auth", []),
            **kw,
        }

    create = pdu("$00-create", "m.room.create", [], 0, state_key="", content={"room_version": "10"})
    join = pdu("$01-join", "m.room.member", ["$00-create"], 1, state_key="@alice:example.com")
    topic = pdu("$02-topic", "m.room.topic", ["$01-join"], 2, state_key="", auth=["$00-create"])
    folder = tmp_path / "fixture"
    folder.mkdir()
    (folder / "bootstrap.json").write_text(json.dumps([create, join], indent=2))
    (folder / "topic.json").write_text(json.dumps([topic], indent=2))
    room = load_room(folder)
    assert room.room_version is V10
    assert room.graph.order == ("$00-create", "$01-join", "$02-topic")
    assert all(e.depth == 0 for e in room.events.values())
    # Kept exactly as given: no depth written into the objects.
    assert [dict(e.raw) for e in room.events.values()] == [create, join, topic]
    kinds = [f.kind for f in room.findings]
    assert kinds[0] == "missing_depth" and "3 event(s) have no depth" in room.findings[0].message
    assert set(kinds[1:]) == {"event_id_mismatch"}  # readable IDs in a v10 room


def test_room_to_json_is_plain_json() -> None:
    room = Room.from_events(make_room(V10), source={"a": 1}, annotations={"title": "t"})
    obj = files.room_to_json(room)
    assert json.loads(json.dumps(obj))["annotations"] == {"title": "t"}


def test_a_room_with_lone_surrogates_saves_and_reads_back(tmp_path: Path) -> None:
    """``"\\ud800"`` is legal JSON and loads as a lone surrogate; saving wrote the file with
    ensure_ascii=False and raised UnicodeEncodeError (a traceback from fetch --extend or the
    window's Save). Now such strings are written as \\u escapes and read back the same."""
    text = (
        '[{"type": "m.room.create", "room_id": "!a:x", "sender": "@a\\ud800:x",'
        ' "state_key": "", "content": {"creator": "@a\\ud800:x", "n": "caf\\u00e9"},'
        ' "depth": 1, "origin_server_ts": 1, "prev_events": [], "auth_events": [],'
        ' "event_id": "$c\\udfff:x"}]'
    )
    room = parse_room_bytes(text.encode(), name="s.json")
    path = tmp_path / "saved.json"
    save_room(room, path)
    again = load_room(path)
    assert list(again.graph.events) == ["$c\udfff:x"]
    assert again.graph.events["$c\udfff:x"].raw == room.graph.events["$c\udfff:x"].raw


@pytest.mark.parametrize("float_free", [True, False])
def test_the_loaders_quick_path_gives_what_pdu_from_json_gives(float_free: bool) -> None:
    # files._parse_events reads v3+ events without an ID on a quick path; every event,
    # good or bad, must come out as pdu_from_json makes it, or fail as it fails.
    from app.core.room import pdu_from_json

    base = raws(make_room(V10))[1]
    base.pop("event_id", None)
    variants: list[Any] = [
        base,
        {**base, "state_key": ""},
        {**base, "depth": "2"},
        {**base, "prev_events": ["$a", 3]},
        {**base, "content": {"n": 2**70}},  # beyond orjson: the stdlib encoder hashes it
        {**base, "content": {"f": 1.5}},
        {**base, "sender": 5},
        {k: v for k, v in base.items() if k != "depth"},
        {k: v for k, v in base.items() if k != "room_id"},
        {**base, "event_id": "$given"},
    ]
    for i, obj in enumerate(variants):
        batch = files._Batch("f.json", [obj], [f"event {i}"], float_free=float_free)
        try:
            expected: Any = pdu_from_json(obj, V10, where=f"event {i}", float_free=float_free)
        except Exception as exc:
            with pytest.raises(RoomFileError) as err:
                files._parse_events([batch], V10, "")
            assert str(exc).split(": ", 1)[1] in str(err.value)
            continue
        (got,) = files._parse_events([batch], V10, "")
        for name in PDU.__dataclass_fields__:
            if name == "auth_event_ids_memo":  # unset until first used
                assert got.auth_event_ids() == expected.auth_event_ids(), obj
            else:
                assert getattr(got, name) == getattr(expected, name), (name, obj)


@pytest.mark.parametrize("with_float", [False, True])
def test_ids_checked_later_give_the_room_load_room_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_float: bool
) -> None:
    # The window shows a big room before checking the event IDs the file gives; the
    # check must then find what load_room finds (mismatches are findings), nothing lost.
    events = make_room(V10)
    served = [{**r, "event_id": e.event_id} for r, e in zip(raws(events), events, strict=True)]
    served[1]["event_id"] = "$readable"
    served[2]["prev_events"] = ["$readable"]
    served[3]["content"] = {"body": "edited"}
    served[4]["room_id"] = "!elsewhere:b.example"
    if with_float:  # where redaction keeps it: hashed, and orjson would write it otherwise
        floaty = _float_power_levels(events)
        served.append({**floaty.raw, "event_id": floaty.event_id})
    path = tmp_path / "room.json"
    path.write_text(json.dumps({"room_id": "!other:a.example", "events": served}))
    whole = load_room(path)
    assert "event_id_mismatch" in {f.kind for f in whole.findings}

    monkeypatch.setattr(files, "CHECK_IDS_LATER_FROM", 0)
    first, check = files.load_room_checking_ids_later(path)
    assert check is not None
    assert "event_id_mismatch" not in {f.kind for f in first.findings}
    assert list(first.graph.order) == list(whole.graph.order)
    later = check()
    assert later.findings == whole.findings
    assert later.graph.findings == whole.graph.findings
    assert (later.room_id, list(later.events), later.name) == (
        whole.room_id,
        list(whole.events),
        whole.name,
    )
    assert later.events["$readable"].raw == whole.events["$readable"].raw

    # A small room is checked at once.
    monkeypatch.setattr(files, "CHECK_IDS_LATER_FROM", len(served) + 1)
    now, nothing = files.load_room_checking_ids_later(path)
    assert nothing is None and now.findings == whole.findings


def _native_lines(events: list[dict[str, Any]]) -> str:
    """A native room file as save_room lays it out: one event per line."""
    head = '{"format": "roomscope.room", "room_version": "10", "events": ['
    return head + "\n" + ",\n".join(json.dumps(e) for e in events) + "\n]}\n"


@pytest.mark.parametrize(
    "variant",
    [
        "as saved",
        "no comma between two lines",
        "a comma after the last event",
        "an event over two lines",
        "a second events key",
        "events nested in another key",
        "a key after the events",
        "garbage after the end",
        "a non-JSON space at the end",
        "a float",
        "a long integer",
        "nothing after the events",
        "no events",
    ],
)
def test_a_big_native_file_read_in_pieces_reads_as_a_whole(
    variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Big native files are decoded a piece at a time (the window stays responsive);
    # whatever the text, the result, or the error, must be that of one decode.
    events = raws(make_room(V10, 6))
    text = _native_lines(events)
    lines = text.split("\n")
    if variant == "no comma between two lines":
        lines[2] = lines[2].rstrip(",")
    elif variant == "a comma after the last event":
        lines[-3] += ","
    elif variant == "an event over two lines":
        lines[3] = lines[3].replace(', "sender"', ',\n "sender"')
    elif variant == "a second events key":
        lines[0] = lines[0].replace('{"format"', '{"events": [1], "format"')
    elif variant == "events nested in another key":
        lines[0] = lines[0].replace('"events": [', '"x": {"events": [')
        lines[-2] = "]}}"
    elif variant == "a key after the events":
        lines[-2] = '], "extra": 1}'
    elif variant == "garbage after the end":
        lines[-1] = "]"
    elif variant == "a non-JSON space at the end":
        lines[-2] = "]}\u00a0"
    elif variant == "a float":
        lines[4] = lines[4].replace('"depth": ', '"depth": 1.5, "d": ')
    elif variant == "a long integer":
        lines[4] = lines[4].replace('"depth": ', '"n": ' + "9" * 40 + ', "depth": ')
    elif variant == "nothing after the events":
        lines = lines[:-2]
    elif variant == "no events":
        lines = [lines[0], "]}", ""]
    text = "\n".join(lines)

    def read() -> Any:
        decoder = files._Decoder()
        try:
            batch = files._split_batch(text.encode(), "f.json", 1 << 30, decoder)
        except RoomFileError as exc:
            return str(exc)
        return (batch.objs, batch.places, batch.meta, batch.extra, bool(decoder.floats))

    whole = read()
    monkeypatch.setattr(files, "_PIECES_FROM", 0)
    monkeypatch.setattr(files, "_PIECE", 1)  # a piece per line
    assert read() == whole
    monkeypatch.setattr(files, "_PIECE", 700)  # several lines a piece
    assert read() == whole
    if variant == "as saved":  # and the pieces were used
        results: list[Any] = []
        in_pieces = files._decode_in_pieces
        monkeypatch.setattr(
            files,
            "_decode_in_pieces",
            lambda text, decoder: results.append(in_pieces(text, decoder)) or results[-1],
        )
        assert read() == whole
        assert results[0] is not None
