"""The fetcher against a fake homeserver (httpx.MockTransport): paging, gaps, keys, extend."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from signedjson.key import encode_verify_key_base64, generate_signing_key, get_verify_key
from signedjson.sign import sign_json

from app.sources.homeserver import (
    Credentials,
    FetchOptions,
    FetchProgress,
    HistoryNotVisibleError,
    NotFullPDUsError,
    fetch_room,
    normalize_homeserver,
)
from app.sources.http_client import NotFoundError, UnauthorizedError
from tests.sources.fake_homeserver import (
    ADMIN_TOKEN,
    ALIAS,
    ROOM_ID,
    SERVER,
    TOKEN,
    FakeHomeserver,
    client_event,
    make_room,
)

HS = "https://hs.test"


def fetch(fake: FakeHomeserver, room: str = ROOM_ID, token: str = TOKEN, **kw: Any) -> Any:
    kw.setdefault("sleep", lambda s: None)
    return fetch_room(HS, room, Credentials(access_token=token), transport=fake.transport(), **kw)


def test_pages_back_to_the_create_event() -> None:
    fake = FakeHomeserver()
    seen: list[FetchProgress] = []
    result = fetch(fake, options=FetchOptions(page_size=10), progress=seen.append)
    assert [e["event_id"] for e in result.events] == [f"$e{i}" for i in range(25)]
    assert result.reached_create and result.complete and not result.missing
    msgs = [r for r in fake.requests if r.url.path.endswith("/messages")]
    # sync gave the newest 3 (prev_batch t22), then pages of 10 from t22, t12, t2
    assert [r.url.params.get("from") for r in msgs] == ["t22", "t12", "t2"]
    flt = json.loads(msgs[0].url.params["filter"])
    assert flt["event_format"] == "federation"
    assert msgs[0].url.params["dir"] == "b"
    assert seen[-1].phase == "done" and seen[-1].events == 25
    assert any(p.phase == "paging" and p.pages == 1 for p in seen)
    # events kept exactly as served, unsigned and injected event_id included
    assert result.events[3] == fake.events[3]


def test_limit_stops_paging_and_records_where() -> None:
    fake = FakeHomeserver()
    result = fetch(fake, options=FetchOptions(page_size=5, limit=10))
    assert 10 <= len(result.events) < 25
    assert not result.reached_create and not result.complete
    assert result.source["limit"] == 10
    assert result.source["resume_token"].startswith("t")
    assert any("limit" in n for n in result.notes)


def test_alias_is_resolved_and_recorded() -> None:
    fake = FakeHomeserver()
    result = fetch(fake, room=ALIAS)
    assert result.room_id == ROOM_ID
    assert result.source["alias"] == ALIAS
    assert result.to_document()["source"]["alias"] == ALIAS
    assert f"/_matrix/client/v3/directory/room/{ALIAS}" in fake.paths()


def test_unknown_alias_is_a_clear_404() -> None:
    with pytest.raises(NotFoundError, match=r"no room has the alias #nope:hs\.test"):
        fetch(FakeHomeserver(), room="#nope:hs.test")


def test_room_that_is_neither_id_nor_alias() -> None:
    with pytest.raises(Exception, match="neither a room ID"):
        fetch(FakeHomeserver(), room="room")


def test_bad_token_is_401_with_one_line() -> None:
    with pytest.raises(UnauthorizedError, match="did not accept the access token") as info:
        fetch(FakeHomeserver(), token="wrong")
    assert "\n" not in str(info.value)
    assert "wrong" not in str(info.value)  # the token is never echoed


def test_history_not_visible_is_explained() -> None:
    fake = FakeHomeserver(in_sync=False)

    def forbidden(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            json={"errcode": "M_FORBIDDEN", "error": "User not in room, previews disabled"},
        )

    fake.override(f"/_matrix/client/v3/rooms/{ROOM_ID}/messages", forbidden)
    with pytest.raises(HistoryNotVisibleError, match=r"may not see the history.*M_FORBIDDEN"):
        fetch(fake)


def test_server_ignoring_event_format_is_refused() -> None:
    fake = FakeHomeserver(in_sync=False)
    fake.events = [client_event(e) for e in fake.events]
    with pytest.raises(NotFullPDUsError, match=r"does not give full PDUs \(event_format="):
        fetch(fake)


def test_password_login_then_logout_and_no_secret_in_file() -> None:
    fake = FakeHomeserver()
    result = fetch_room(
        HS,
        ROOM_ID,
        Credentials(user="bob", password="right"),
        transport=fake.transport(),
        sleep=lambda s: None,
    )
    assert result.complete
    assert fake.logged_out
    login = next(r for r in fake.requests if r.url.path.endswith("/login"))
    assert json.loads(login.content)["type"] == "m.login.password"
    text = json.dumps(result.to_document())
    assert TOKEN not in text and "right" not in text
    # and the token went in a header, never in a URL
    assert all(TOKEN not in str(r.url) for r in fake.requests)


def test_wrong_password() -> None:
    with pytest.raises(UnauthorizedError, match="login as bob failed"):
        fetch_room(
            HS,
            ROOM_ID,
            Credentials(user="bob", password="wrong"),
            transport=FakeHomeserver().transport(),
        )


def test_admin_fills_gaps_and_reads_extremities() -> None:
    fake = FakeHomeserver(admins={"@admin:hs.test"}, hidden={"$e7", "$e12"})
    result = fetch(fake, token=ADMIN_TOKEN, options=FetchOptions(page_size=10))
    assert result.complete and not result.missing
    assert {"$e7", "$e12"} <= {e["event_id"] for e in result.events}
    fetched = fake.paths("/_synapse/admin/v1/fetch_event/")
    assert sorted(p.rsplit("/", 1)[1] for p in fetched) == ["$e12", "$e7"]
    assert result.source["forward_extremities"] == ["$e24"]
    assert result.source["server_admin"] is True
    # admins page with the admin API, which ignores history visibility
    assert fake.paths(f"/_synapse/admin/v1/rooms/{ROOM_ID}/messages")


def test_admin_gap_the_server_does_not_know_stays_missing() -> None:
    fake = FakeHomeserver(admins={"@admin:hs.test"}, hidden={"$e7"}, unknown={"$e7"})
    result = fetch(fake, token=ADMIN_TOKEN)
    assert result.missing == ("$e7",)
    assert not result.complete
    assert any("unknown to the server" in n for n in result.notes)


def test_non_admin_reports_what_it_could_not_see() -> None:
    fake = FakeHomeserver(hidden={"$e7"})
    result = fetch(fake)
    assert result.missing == ("$e7",)
    assert not fake.paths("/_synapse/admin/v1/fetch_event/")
    assert any("could not be seen by @bob:hs.test" in n for n in result.notes)
    assert result.source["server_admin"] is False


def test_event_of_another_room_is_left_out_with_a_note() -> None:
    fake = FakeHomeserver()
    fake.events[5] = {**fake.events[5], "room_id": "!other:hs.test"}
    result = fetch(fake)
    assert "$e5" not in {e["event_id"] for e in result.events}
    assert any("$e5" in n and "!other:hs.test" in n for n in result.notes)


def _signed_keys(server: str, tamper: bool = False) -> tuple[dict[str, Any], str, str]:
    key = generate_signing_key("a1")
    obj: dict[str, Any] = {
        "server_name": server,
        "valid_until_ts": 2**40,
        "verify_keys": {"ed25519:a1": {"key": encode_verify_key_base64(get_verify_key(key))}},
        "old_verify_keys": {"ed25519:old": {"key": "b2xka2V5", "expired_ts": 5}},
    }
    signed = sign_json(obj, server, key)
    if tamper:
        signed["valid_until_ts"] = 1
    return signed, "ed25519:a1", encode_verify_key_base64(get_verify_key(key))


def test_server_keys_with_valid_self_signature_are_kept() -> None:
    fake = FakeHomeserver()
    fake.key_response, key_id, key = _signed_keys(SERVER)
    result = fetch(fake)
    assert result.server_keys == {SERVER: {key_id: key, "ed25519:old": "b2xka2V5"}}
    assert result.to_document()["server_keys"][SERVER][key_id] == key


def test_server_keys_with_a_bad_self_signature_are_refused() -> None:
    fake = FakeHomeserver()
    fake.key_response, _, _ = _signed_keys(SERVER, tamper=True)
    result = fetch(fake)
    assert result.server_keys == {}
    assert any("not self-signed" in n for n in result.notes)


def test_extend_a_complete_file_fetches_only_the_new_events() -> None:
    old = FakeHomeserver(events=make_room(20))
    first = fetch(old)
    assert first.complete
    fake = FakeHomeserver(events=make_room(40), sync_limit=5)
    result = fetch(fake, existing=first.to_document(), options=FetchOptions(page_size=5))
    assert [e["event_id"] for e in result.events] == [f"$e{i}" for i in range(40)]
    msgs = [r for r in fake.requests if r.url.path.endswith("/messages")]
    # newest 5 by sync, then pages of 5 from t35; after the page 24..20 every
    # event has its parents: no page of old events is asked for
    assert [r.url.params.get("from") for r in msgs] == ["t35", "t30", "t25"]
    assert result.complete


def test_extend_resumes_an_interrupted_file_from_its_token() -> None:
    fake = FakeHomeserver(events=make_room(60), sync_limit=5)
    partial = fetch(fake, options=FetchOptions(page_size=5, limit=20))
    assert not partial.reached_create
    token = partial.source["resume_token"]
    fake.requests.clear()
    result = fetch(fake, existing=partial.to_document(), options=FetchOptions(page_size=5))
    assert result.complete and len(result.events) == 60
    froms = [r.url.params.get("from") for r in fake.requests if r.url.path.endswith("/messages")]
    assert froms[0] == "t55"  # the first page is all known ...
    assert froms[1] == token  # ... so it jumps to where the old fetch stopped
    assert "resume_token" not in result.source


def test_extend_refuses_a_file_of_another_room() -> None:
    doc = {"format": "roomscope.room", "room_id": "!else:hs.test", "events": []}
    with pytest.raises(Exception, match=r"holds room !else:hs\.test"):
        fetch(FakeHomeserver(), existing=doc)


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("matrix.example.org", "https://matrix.example.org"),
        ("http://127.0.0.1:8008/", "http://127.0.0.1:8008"),
    ],
)
def test_normalize_homeserver(given: str, url: str) -> None:
    assert normalize_homeserver(given) == url


def test_normalize_homeserver_refuses_other_schemes() -> None:
    with pytest.raises(Exception, match="not an http"):
        normalize_homeserver("ftp://x.org")


def test_saved_file_loads_with_its_source_and_keys(tmp_path: Any) -> None:
    from app.sources.files import load_room
    from app.sources.homeserver import save_fetched

    fake = FakeHomeserver()
    fake.key_response, key_id, key = _signed_keys(SERVER)
    result = fetch(fake, room=ALIAS)
    path = tmp_path / "room.json.gz"
    save_fetched(result, path)
    room = load_room(path)
    assert room.room_id == ROOM_ID and room.room_version.identifier == "10"
    assert len(room.events) == 25
    assert room.source["alias"] == ALIAS
    assert room.server_keys[SERVER][key_id] == key
    assert dict(room.events["$e3"].raw) == fake.events[3]  # exactly as served


def test_event_that_is_not_a_pdu_of_the_version_is_left_out() -> None:
    fake = FakeHomeserver()
    fake.events[4] = {**fake.events[4], "state_key": 7}
    fake.events[6] = {**fake.events[6], "content": "text"}
    result = fetch(fake)
    ids = {e["event_id"] for e in result.events}
    assert "$e4" not in ids and "$e6" not in ids
    assert any("state_key is not a string" in n for n in result.notes)
    assert any("content is not an object" in n for n in result.notes)
    result.to_room()  # the rest makes a room


def test_admin_asking_for_a_room_the_server_does_not_know() -> None:
    fake = FakeHomeserver(admins={"@admin:hs.test"})
    with pytest.raises(NotFoundError, match=r"room !nope:hs\.test is not known"):
        fetch(fake, room="!nope:hs.test", token=ADMIN_TOKEN)


def test_a_server_name_is_looked_up_in_well_known() -> None:
    fake = FakeHomeserver(well_known={"m.homeserver": {"base_url": "https://matrix.hs.test/"}})
    result = fetch_room(
        "hs.test",
        ROOM_ID,
        Credentials(access_token=TOKEN),
        transport=fake.transport(),
        sleep=lambda s: None,
    )
    assert result.complete
    assert result.source["homeserver"] == "https://matrix.hs.test"
    assert fake.requests[0].url == "https://hs.test/.well-known/matrix/client"
    assert all(r.url.host == "matrix.hs.test" for r in fake.requests[1:])
    assert any(".well-known" in n for n in result.notes)


@pytest.mark.parametrize("well_known", [None, {"m.homeserver": {"base_url": 5}}, {"x": 1}])
def test_without_a_usable_well_known_the_server_name_is_used(
    well_known: dict[str, Any] | None,
) -> None:
    fake = FakeHomeserver(well_known=well_known)
    result = fetch_room(
        "hs.test",
        ROOM_ID,
        Credentials(access_token=TOKEN),
        transport=fake.transport(),
        sleep=lambda s: None,
    )
    assert result.complete
    assert result.source["homeserver"] == "https://hs.test"


def test_a_url_is_used_as_given_without_well_known() -> None:
    fake = FakeHomeserver()
    fetch(fake)
    assert not fake.paths("/.well-known")
