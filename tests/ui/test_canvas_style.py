"""The visual language of UI.md: which shape an event gets, which colour a server."""

from __future__ import annotations

from app.ui.style import OKABE_ITO, OTHER_SERVERS, THEMES, Shape, server_colours, shape_of, theme
from tests.layout.rooms import make_event

A, B = "@alice:a.org", "@bob:b.org"


def test_shapes_say_what_an_event_does() -> None:
    cases = [
        (make_event("c", A, "m.room.create", "", [], {}), Shape.CREATE),
        (make_event("m", A, "m.room.message", None, [], {"body": "hi"}), Shape.MESSAGE),
        (make_event("r", A, "m.reaction", None, [], {}), Shape.MESSAGE),
        (make_event("t", A, "m.room.topic", "", [], {"topic": "x"}), Shape.STATE),
        (make_event("p", A, "m.room.power_levels", "", [], {}), Shape.POWER),
        (make_event("j", A, "m.room.join_rules", "", [], {"join_rule": "invite"}), Shape.POWER),
        (make_event("jn", B, "m.room.member", B, [], {"membership": "join"}), Shape.MEMBERSHIP),
        (make_event("lv", B, "m.room.member", B, [], {"membership": "leave"}), Shape.MEMBERSHIP),
        (make_event("kk", A, "m.room.member", B, [], {"membership": "leave"}), Shape.POWER),
        (make_event("bn", A, "m.room.member", B, [], {"membership": "ban"}), Shape.POWER),
        (make_event("iv", A, "m.room.member", B, [], {"membership": "invite"}), Shape.MEMBERSHIP),
        # a state event that merely has the create event's type but another key
        (make_event("c2", A, "m.room.create", "x", [], {}), Shape.STATE),
    ]
    for event, shape in cases:
        assert shape_of(event) == shape, event.event_id


def test_busiest_servers_get_the_colours_first() -> None:
    senders = ["@a:one"] * 3 + ["@b:two"] * 5 + ["@c:three"] * 3
    servers, colours = server_colours(senders)
    assert servers == ("two", "one", "three")  # by count, then by name
    assert colours == tuple(OKABE_ITO[:3])


def test_servers_beyond_the_palette_share_grey() -> None:
    senders = [f"@u:s{i}" for i in range(10)]
    _, colours = server_colours(senders)
    assert len(set(colours[: len(OKABE_ITO)])) == len(OKABE_ITO)
    assert set(colours[len(OKABE_ITO) :]) == {OTHER_SERVERS}


def test_themes_are_complete_and_distinct() -> None:
    assert set(THEMES) == {"light", "dark"}
    light, dark = theme("light"), theme("dark")
    assert light.background != dark.background
    # both palettes are Okabe-Ito, in an order suited to the background
    assert set(light.palette) == set(dark.palette) == set(OKABE_ITO)
