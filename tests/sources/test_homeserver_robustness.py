"""The fetcher as a good client: 429, retries, timeouts, cancel, malformed and endless answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.sources.homeserver import Credentials, FetchOptions, FetchProgress, fetch_room
from app.sources.http_client import (
    Cancelled,
    CancelToken,
    HttpSettings,
    MatrixHttp,
    ServerAnswerError,
    UnreachableError,
)
from tests.sources.fake_homeserver import (
    ADMIN_TOKEN,
    ROOM_ID,
    TOKEN,
    FakeHomeserver,
    client_event,
    make_room,
)

HS = "https://hs.test"
MESSAGES = f"/_matrix/client/v3/rooms/{ROOM_ID}/messages"


class Flaky:
    """Answers from ``script`` first (responses, or exceptions to raise), then the fake's."""

    def __init__(self, fake: FakeHomeserver, script: list[Any]) -> None:
        self.fake = fake
        self.script = list(script)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            assert isinstance(step, httpx.Response)
            return step
        return self.fake._messages(request)


def run(fake: FakeHomeserver, sleeps: list[float] | None = None, **kw: Any) -> Any:
    recorded = sleeps if sleeps is not None else []
    return fetch_room(
        HS,
        ROOM_ID,
        Credentials(access_token=TOKEN),
        transport=fake.transport(),
        sleep=recorded.append,
        **kw,
    )


def test_429_waits_retry_after_ms_then_retries() -> None:
    fake = FakeHomeserver()
    limited = httpx.Response(429, json={"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 1500})
    flaky = Flaky(fake, [limited, limited])
    fake.override(MESSAGES, flaky)
    sleeps: list[float] = []
    result = run(fake, sleeps)
    assert result.complete
    assert sleeps == [1.5, 1.5]


def test_429_uses_retry_after_header_and_caps_the_wait() -> None:
    fake = FakeHomeserver()
    huge = httpx.Response(429, json={"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 10**9})
    header = httpx.Response(429, headers={"Retry-After": "2"}, text="slow down")
    fake.override(MESSAGES, Flaky(fake, [huge, header]))
    sleeps: list[float] = []
    run(fake, sleeps, settings=HttpSettings(max_retry_after=30.0))
    assert sleeps == [30.0, 2.0]


def test_5xx_is_retried_with_exponential_backoff() -> None:
    fake = FakeHomeserver()
    fake.override(MESSAGES, Flaky(fake, [httpx.Response(502), httpx.Response(503)]))
    sleeps: list[float] = []
    result = run(fake, sleeps)
    assert result.complete
    assert sleeps == [0.5, 1.0]


def test_persistent_5xx_gives_up_after_bounded_attempts() -> None:
    fake = FakeHomeserver()
    broken = Flaky(fake, [httpx.Response(500, json={"errcode": "M_UNKNOWN"})] * 100)
    fake.override(MESSAGES, broken)
    sleeps: list[float] = []
    with pytest.raises(UnreachableError, match=r"gave up after 4 attempts \(server error 500"):
        run(fake, sleeps, settings=HttpSettings(max_attempts=4, backoff=1.0, max_backoff=3.0))
    assert broken.calls == 4
    assert sleeps == [1.0, 2.0, 3.0]  # capped, and no sleep after the last attempt


def test_timeouts_are_retried_then_reported() -> None:
    fake = FakeHomeserver()
    fake.override(MESSAGES, Flaky(fake, [httpx.ReadTimeout("slow")]))
    assert run(fake).complete
    fake2 = FakeHomeserver()
    fake2.override(MESSAGES, Flaky(fake2, [httpx.ConnectTimeout("no")] * 10))
    with pytest.raises(UnreachableError, match=r"gave up after 3 attempts \(timed out\)"):
        run(fake2, settings=HttpSettings(max_attempts=3))


def test_network_error_is_retried() -> None:
    fake = FakeHomeserver()
    fake.override(MESSAGES, Flaky(fake, [httpx.ConnectError("refused")]))
    assert run(fake).complete


def test_http_client_sets_timeouts() -> None:
    http = MatrixHttp(HS, settings=HttpSettings(connect_timeout=3.0, read_timeout=7.0))
    try:
        assert http._client.timeout.connect == 3.0
        assert http._client.timeout.read == 7.0
    finally:
        http.close()


def test_cancel_between_pages_keeps_what_was_fetched() -> None:
    fake = FakeHomeserver()
    cancel = CancelToken()

    def progress(p: FetchProgress) -> None:
        if p.phase == "paging" and p.pages == 1:
            cancel.cancel()

    result = run(fake, cancel=cancel, progress=progress, options=FetchOptions(page_size=5))
    assert result.cancelled and not result.complete
    # the sync's 3 events and the first page of 5 are kept
    assert [e["event_id"] for e in result.events] == [f"$e{i}" for i in range(17, 25)]
    assert len([r for r in fake.requests if r.url.path.endswith("/messages")]) == 1
    assert any("cancelled" in n for n in result.notes)


def test_cancel_interrupts_a_rate_limit_wait() -> None:
    fake = FakeHomeserver()
    limited = httpx.Response(429, json={"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 60000})
    fake.override(MESSAGES, Flaky(fake, [limited] * 10))
    cancel = CancelToken()

    def sleep(seconds: float) -> None:
        cancel.cancel()  # the user presses Cancel during the wait
        cancel.sleep(seconds)

    result = fetch_room(
        HS,
        ROOM_ID,
        Credentials(access_token=TOKEN),
        transport=fake.transport(),
        cancel=cancel,
        sleep=sleep,
    )
    assert result.cancelled
    assert len(result.events) == 3  # what /sync gave


def test_cancel_token_sleep_returns_early() -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        token.sleep(3600)  # would hang the test if it did not wake up


def _answer(body: Any = None, text: str | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(200, text=text, headers={"Content-Type": "text/html"})
    return httpx.Response(200, json=body)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (_answer(text="<html>proxy error</html>"), r"is not JSON \(text/html\)"),
        (_answer(["not", "an", "object"]), "expected a JSON object, got list"),
        (_answer({"chunk": {"a": 1}, "end": "t1"}), "chunk: expected a list, got dict"),
        (_answer({"chunk": [], "end": 5}), "end: expected a string, got int"),
        (_answer({"chunk": ["event"], "end": "t1"}), r"chunk\[0\]: expected an event object"),
    ],
)
def test_malformed_answers_are_one_line_errors(answer: httpx.Response, message: str) -> None:
    fake = FakeHomeserver()
    fake.override(MESSAGES, lambda request: answer)
    with pytest.raises(ServerAnswerError, match=message) as info:
        run(fake)
    assert "\n" not in str(info.value)


def test_malformed_sync_is_an_error() -> None:
    fake = FakeHomeserver()
    fake.override("/_matrix/client/v3/sync", lambda r: _answer({"rooms": []}))
    with pytest.raises(ServerAnswerError, match="rooms: expected an object, got list"):
        run(fake)


def test_event_with_wrong_field_types_is_left_out_with_a_note() -> None:
    fake = FakeHomeserver()
    fake.events[10] = {**fake.events[10], "depth": "ten"}
    fake.events[11] = {**fake.events[11], "prev_events": "$e10"}
    result = run(fake)
    ids = {e["event_id"] for e in result.events}
    assert "$e10" not in ids and "$e11" not in ids
    assert any("depth is not an integer" in n for n in result.notes)
    assert any("prev_events is not a list" in n for n in result.notes)


def test_a_page_that_repeats_forever_stops_with_a_message() -> None:
    fake = FakeHomeserver()
    same = {"chunk": fake.events[10:15][::-1], "end": "t10", "start": "t10"}
    fake.override(MESSAGES, lambda r: _answer(same))
    result = run(fake)
    assert not result.reached_create
    assert any("same page token again" in n for n in result.notes)
    assert len([r for r in fake.requests if r.url.path == MESSAGES]) <= 2


def test_endless_pages_of_old_events_stop_after_a_bound() -> None:
    fake = FakeHomeserver()
    counter = iter(range(10**6))
    page = fake.events[10:15][::-1]
    fake.override(MESSAGES, lambda r: _answer({"chunk": page, "end": f"x{next(counter)}"}))
    result = run(fake, options=FetchOptions(max_idle_pages=4))
    assert any("4 pages in a row brought no new events" in n for n in result.notes)
    assert len([r for r in fake.requests if r.url.path == MESSAGES]) == 5


def test_notes_from_a_hostile_server_are_printable() -> None:
    fake = FakeHomeserver()
    fake.events[5] = {**fake.events[5], "event_id": "$evil\x1b[2J", "room_id": "!x\n:y"}
    result = run(fake)
    assert result.notes
    assert all(n.isprintable() for n in result.notes)


def test_tls_is_verified_by_default_and_a_ca_file_is_trusted(tmp_path: Any) -> None:
    import ssl

    http = MatrixHttp(HS)
    try:
        transport = http._client._transport
        context = transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    finally:
        http.close()
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(Exception, match="cannot be used"):
        MatrixHttp(HS, verify=str(bad))


def test_a_good_ca_file_makes_a_verifying_context() -> None:
    import ssl

    bundle = ssl.get_default_verify_paths().cafile
    if not bundle:
        pytest.skip("no system CA bundle to use as a CA file")
    http = MatrixHttp(HS, verify=bundle)
    try:
        context = http._client._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context.verify_mode == ssl.CERT_REQUIRED
    finally:
        http.close()


def test_a_cancelled_fetch_is_resumed_by_extend() -> None:
    fake = FakeHomeserver(events=[*make_room(60)], sync_limit=5)
    cancel = CancelToken()

    def progress(p: FetchProgress) -> None:
        if p.phase == "paging" and p.pages == 2:
            cancel.cancel()

    partial = run(fake, cancel=cancel, progress=progress, options=FetchOptions(page_size=5))
    assert partial.cancelled and len(partial.events) == 15
    assert partial.source["resume_token"] == "t45"  # the page it would have asked for next
    fake.requests.clear()
    result = run(fake, existing=partial.to_document(), options=FetchOptions(page_size=5))
    assert result.complete and len(result.events) == 60
    froms = [r.url.params.get("from") for r in fake.requests if r.url.path == MESSAGES]
    assert froms[:2] == ["t55", "t45"]  # one known page, then straight to where it stopped


def test_admin_messages_ignoring_the_filter_falls_back_to_the_client_api() -> None:
    fake = FakeHomeserver(admins={"@admin:hs.test"})
    admin_messages = f"/_synapse/admin/v1/rooms/{ROOM_ID}/messages"
    fake.override(
        admin_messages,
        lambda r: _answer({"chunk": [client_event(e) for e in fake.events[::-1]]}),
    )
    result = run_as(fake, ADMIN_TOKEN)
    assert result.complete
    assert fake.paths(admin_messages) and fake.paths(MESSAGES)


def run_as(fake: FakeHomeserver, token: str) -> Any:
    return fetch_room(
        HS,
        ROOM_ID,
        Credentials(access_token=token),
        transport=fake.transport(),
        sleep=lambda s: None,
    )
