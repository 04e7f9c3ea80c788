"""The graph canvas driven as a user would: clicks, keys, toggles, exports."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, Qt

from app.ui.canvas import GraphCanvas
from tests.layout.rooms import eid, sample_fork_merge


@pytest.fixture
def canvas(qtbot):  # type: ignore[no-untyped-def]
    c = GraphCanvas()
    qtbot.addWidget(c)
    c.resize(900, 700)
    c.show()
    qtbot.waitExposed(c)
    c.set_room(sample_fork_merge())
    return c


def at(canvas: GraphCanvas, name: str):  # type: ignore[no-untyped-def]
    """The viewport and the position of event ``name`` in it."""
    vp = canvas._graphics.viewport()
    return vp, vp.mapFrom(canvas, canvas.node_position(eid(name)))


def test_click_selects_the_node_under_the_mouse(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    target = eid("ban")
    vp, pos = at(canvas, "ban")
    with qtbot.waitSignal(canvas.selectionChanged) as blocker:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=pos)
    assert blocker.args == [[target]]
    assert canvas.selected() == (target,)


def test_shift_click_adds_to_the_selection(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    vp, p1 = at(canvas, "m1")
    _, p2 = at(canvas, "m2")
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=p1)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos=p2)
    assert canvas.selected() == (eid("m1"), eid("m2"))


def test_double_click_activates_and_centres(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    canvas._set_view(-1, 5, None)  # rows -1..5 of 13: the room does not fit
    vp, pos = at(canvas, "jb")
    with qtbot.waitSignal(canvas.activated) as blocker:
        qtbot.mouseDClick(vp, Qt.MouseButton.LeftButton, pos=pos)
    assert blocker.args == [eid("jb")]
    row = canvas.graph_layout().index[eid("jb")]
    assert abs(canvas._view.viewRect().center().y() - row) < 1.0


def test_clicking_empty_space_clears_the_selection(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    canvas.select([eid("m1")])
    vp, pos = at(canvas, "m1")
    pos.setX(pos.x() + 400)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=pos)
    assert canvas.selected() == ()


def press(canvas: GraphCanvas, qtbot, key: Qt.Key, text: str = "") -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    qtbot.keyClick(canvas, key) if not text else qtbot.keyClicks(canvas, text)
    return canvas.selected()


def test_keyboard_follows_the_lane(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    canvas.setFocus()
    canvas.select([eid("jb")])
    # jb's children are m1 (alice, continues jb's lane) and m2 (bob, a fork)
    assert press(canvas, qtbot, Qt.Key.Key_Down) == (eid("m1"),)
    assert press(canvas, qtbot, Qt.Key.Key_Down) == (eid("topic"),)
    assert press(canvas, qtbot, Qt.Key.Key_Down) == (eid("ban"),)
    assert press(canvas, qtbot, Qt.Key.Key_Up) == (eid("topic"),)
    assert press(canvas, qtbot, Qt.Key.Key_Up) == (eid("m1"),)
    assert press(canvas, qtbot, Qt.Key.Key_Up) == (eid("jb"),)
    assert press(canvas, qtbot, Qt.Key.Key_Up) == (eid("jr"),)


def test_keyboard_crosses_lanes(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    layout = canvas.graph_layout()
    canvas.select([eid("topic")])
    right = press(canvas, qtbot, Qt.Key.Key_Right)
    assert layout.lane_of(right[0]) == layout.lane_of(eid("topic")) + 1
    # the nearest row in that lane: m2 or jc, each one row away from topic
    assert right[0] in (eid("m2"), eid("jc"))
    assert press(canvas, qtbot, Qt.Key.Key_Left)[0] in (eid("m1"), eid("topic"), eid("ban"))


def test_keyboard_jumps_between_forks_and_merges(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    canvas.select([eid("create")])
    # the forks: jb (m1 and m2 build on it) and jc (ban and m3); the merges: ban and m4
    assert press(canvas, qtbot, Qt.Key.Key_BracketRight, "]") == (eid("jb"),)
    assert press(canvas, qtbot, Qt.Key.Key_BracketRight, "]") == (eid("jc"),)
    assert press(canvas, qtbot, Qt.Key.Key_BracketRight, "]") == (eid("jc"),)  # no later fork
    assert press(canvas, qtbot, Qt.Key.Key_BraceRight, "}") == (eid("ban"),)
    assert press(canvas, qtbot, Qt.Key.Key_BraceRight, "}") == (eid("m4"),)
    assert press(canvas, qtbot, Qt.Key.Key_BraceLeft, "{") == (eid("ban"),)
    assert press(canvas, qtbot, Qt.Key.Key_BracketLeft, "[") == (eid("jc"),)
    assert press(canvas, qtbot, Qt.Key.Key_BracketLeft, "[") == (eid("jb"),)


def test_home_and_end(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    canvas.select([eid("m3")])
    assert press(canvas, qtbot, Qt.Key.Key_Home) == (eid("create"),)
    # the one forward extremity: m4 (nothing builds on it)
    assert press(canvas, qtbot, Qt.Key.Key_End) == (eid("m4"),)


def test_end_selects_every_forward_extremity(qtbot) -> None:  # type: ignore[no-untyped-def]
    from tests.layout.rooms import chain

    c = GraphCanvas()
    qtbot.addWidget(c)
    c.set_room(chain({"a": [], "b": ["a"], "c": ["a"], "d": ["b"]}))
    qtbot.keyClick(c, Qt.Key.Key_End)
    assert set(c.selected()) == {eid("c"), eid("d")}


def test_slash_asks_for_the_search_box(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(canvas.searchRequested):
        qtbot.keyClicks(canvas, "/")


def test_find_searches_ids_types_senders_and_content(canvas) -> None:  # type: ignore[no-untyped-def]
    assert canvas.find("hi from BOB") == [eid("m2")]
    assert canvas.find("m.room.join_rules") == [eid("jr")]
    assert canvas.find("@carol:third.io") == [eid("jc"), eid("ban")]
    assert canvas.find("$m3:") == [eid("m3")]
    assert canvas.find("<b>text</b>") == [eid("topic")]
    assert canvas.find("no such thing") == []
    assert canvas.find("  ") == []
    # content keys and numbers count too
    assert eid("pl") in canvas.find("100")


def test_select_with_centre_moves_the_view(canvas) -> None:  # type: ignore[no-untyped-def]
    canvas._set_view(-1, 3, None)
    canvas.select([eid("m4")], centre=True)
    row = canvas.graph_layout().index[eid("m4")]
    assert canvas._view.viewRect().top() <= row <= canvas._view.viewRect().bottom()
    canvas.select(["$unknown"])
    assert canvas.selected() == ()


def drawn(canvas: GraphCanvas):  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage

    image: QImage = canvas._graphics.grab().toImage()
    return image


def test_auth_edge_toggle_changes_the_drawing(canvas) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QColor

    purple = QColor(canvas.theme.auth_edge)

    def purple_pixels() -> int:
        img = drawn(canvas)
        count = 0
        for y in range(0, img.height(), 2):
            for x in range(0, 400, 2):
                c = img.pixelColor(x, y)
                if (
                    abs(c.red() - purple.red()) < 16
                    and abs(c.green() - purple.green()) < 16
                    and abs(c.blue() - purple.blue()) < 16
                ):
                    count += 1
        return count

    assert not canvas.show_auth_edges()
    off = purple_pixels()
    canvas.set_show_auth_edges(True)
    on = purple_pixels()
    assert canvas.show_auth_edges()
    assert off == 0
    assert on > 20
    canvas.set_show_auth_edges(False)
    assert purple_pixels() == 0


def test_highlight_fades_the_rest(canvas) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QColor

    pos = {
        e: canvas._graphics.viewport().mapFrom(canvas, canvas.node_position(eid(e)))
        for e in ("m1", "m2")
    }

    def colour(name: str) -> QColor:
        p = pos[name]
        return drawn(canvas).pixelColor(p.x(), p.y())

    m2_before = colour("m2")
    canvas.highlight({eid("m1")})
    assert canvas.highlighted() == {eid("m1")}
    m2_faded = colour("m2")
    # m2 (orange) fades towards the background: its saturation drops
    assert m2_faded.saturation() < m2_before.saturation()
    assert colour("m1").saturation() > 100
    canvas.highlight(None)
    assert canvas.highlighted() is None
    assert colour("m2").saturation() == m2_before.saturation()


def test_each_owner_takes_back_only_its_own_highlight(canvas) -> None:  # type: ignore[no-untyped-def]
    """The servers dock hiding must not clear the stepper's fading (and vice versa)."""
    canvas.highlight({eid("m1")}, owner="stepper")
    canvas.highlight({eid("m2"), eid("unknown")}, owner="servers")
    assert canvas.highlighted() == {eid("m2")}  # the latest shows; unknown IDs ignored
    assert canvas.highlight_owner() == "servers"
    canvas.clear_highlight(owner="servers")
    assert canvas.highlighted() == {eid("m1")}
    canvas.highlight(None, owner="servers")  # nothing of its own left: no change
    canvas.highlight(None)  # nor for the default owner
    assert canvas.highlighted() == {eid("m1")}
    canvas.highlight({eid("m2")}, owner="search", fade_others=False)
    assert canvas.highlighted() == {eid("m1")}
    canvas.clear_highlight(owner="stepper")
    assert canvas.highlighted() is None
    assert canvas.highlight_owner() is None


def test_status_overlays_can_be_set_later(canvas) -> None:  # type: ignore[no-untyped-def]
    layout = canvas.graph_layout()
    room = canvas._room
    assert not room.rejected.any()
    canvas.set_status(rejected={eid("m3"), "$not-in-room"}, soft_failed=[eid("m2")])
    assert room.rejected.tolist().count(True) == 1
    assert room.rejected[layout.index[eid("m3")]]
    assert room.soft_failed[layout.index[eid("m2")]]
    img = drawn(canvas)
    p = canvas._graphics.viewport().mapFrom(canvas, canvas.node_position(eid("m3")))
    reds = 0
    for dx in range(-8, 9):
        for dy in range(-8, 9):
            c = img.pixelColor(p.x() + dx, p.y() + dy)
            if c.red() > 180 and c.green() < 90 and c.blue() < 90:
                reds += 1
    assert reds > 5, "the rejected event carries a red cross"
    canvas.set_status(rejected=())
    assert not room.rejected.any()
    assert room.soft_failed.any(), "None leaves the other set alone"


def test_themes(canvas) -> None:  # type: ignore[no-untyped-def]
    canvas.set_theme("dark")
    corner = drawn(canvas).pixelColor(5, 300)
    assert corner.lightness() < 60
    canvas.set_theme("light")
    assert drawn(canvas).pixelColor(5, 300).lightness() > 200
    with pytest.raises(ValueError):
        canvas.set_theme("sepia")


def test_the_view_keeps_to_the_room(canvas) -> None:  # type: ignore[no-untyped-def]
    n = len(canvas.graph_layout())
    canvas._set_view(-1, 5, None)
    canvas.centre_on(eid("m4"))  # the last row: the view stops at the room's end
    vr = canvas._view.viewRect()
    assert vr.bottom() <= n + 0.6
    assert vr.top() <= n - 1 <= vr.bottom()
    canvas.centre_on(eid("create"))
    assert canvas._view.viewRect().top() >= -1.0
    canvas._set_view(-1, 40, None)  # taller than the room: it sits at the top
    assert canvas._view.viewRect().top() == -1.0


def test_zoom_in_out_and_fit(canvas) -> None:  # type: ignore[no-untyped-def]
    h0 = canvas._view.viewRect().height()
    canvas.zoom_in()
    h1 = canvas._view.viewRect().height()
    canvas.zoom_out()
    canvas.zoom_out()
    h2 = canvas._view.viewRect().height()
    assert h1 < h0 < h2
    canvas.zoom_to_fit()
    vr = canvas._view.viewRect()
    assert vr.top() <= 0 and vr.bottom() >= len(canvas.graph_layout()) - 1


def test_export_png_and_svg(canvas, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    canvas.export_image(tmp_path / "g.png")
    img = QImage(str(tmp_path / "g.png"))
    assert img.width() == canvas.width() and img.height() == canvas.height()
    canvas.export_image(tmp_path / "g.svg")
    assert QSvgRenderer(str(tmp_path / "g.svg")).isValid()


def test_tooltip_is_plain_text(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    _, pos = at(canvas, "topic")
    scene = canvas._graphics.mapToScene(pos)
    canvas._hover(scene)
    tip = canvas._tip
    assert tip.isVisible()
    assert tip.textFormat() == Qt.TextFormat.PlainText
    assert eid("topic") in tip.text()
    assert "m.room.topic" in tip.text()


def test_growing_room_keeps_what_is_on_screen(qtbot) -> None:  # type: ignore[no-untyped-def]
    from tests.layout.rooms import make_event

    room = sample_fork_merge()
    c = GraphCanvas()
    qtbot.addWidget(c)
    c.resize(800, 600)
    c.set_room(room)
    before = c.graph_layout()
    c.select([eid("ban")])
    # newer events arrive, one of them forking from an old event
    grown = dict(room)
    for e in (
        make_event("n1", prev=["m4"], ts=20),
        make_event("n2", prev=["m1"], ts=21),
    ):
        grown[e.event_id] = e
    c.set_room(grown)
    after = c.graph_layout()
    for r, e in enumerate(before.ids):
        assert after.index[e] == r
        assert after.lane_of(e) == before.lane_of(e)
    assert c.selected() == (eid("ban"),), "the selection survives"


def test_an_empty_room_and_no_room(qtbot) -> None:  # type: ignore[no-untyped-def]
    c = GraphCanvas()
    qtbot.addWidget(c)
    assert c.find("x") == []
    assert c.selected() == ()
    c.zoom_in()
    qtbot.keyClick(c, Qt.Key.Key_Down)
    c.set_room({})
    c.grab()
    qtbot.keyClick(c, Qt.Key.Key_End)
    assert c.selected() == ()


def test_the_same_room_again_keeps_layout_view_and_selection(canvas) -> None:  # type: ignore[no-untyped-def]
    room = canvas._room.events
    layout = canvas.graph_layout()
    canvas.select([eid("jc")])
    canvas.zoom_in()
    rect = canvas._view.viewRect()
    canvas.set_room(room, rejected={eid("m3")})
    assert canvas.graph_layout() is layout
    assert canvas.selected() == (eid("jc"),)
    assert canvas._room.rejected[layout.index[eid("m3")]]
    new = canvas._view.viewRect()
    assert abs(new.top() - rect.top()) < 1e-6 and abs(new.height() - rect.height()) < 1e-6


def test_a_very_wide_room_draws_at_every_zoom(qtbot) -> None:  # type: ignore[no-untyped-def]
    from tests.layout.rooms import make_event

    events = [make_event("root", ts=0)]
    events += [make_event(f"c{i}", prev=["root"], ts=i + 1) for i in range(3000)]
    c = GraphCanvas()
    qtbot.addWidget(c)
    c.resize(800, 600)
    c.show()
    qtbot.waitExposed(c)
    c.set_room({e.event_id: e for e in events})
    assert c.graph_layout().lane_count == 3000
    for top, bottom, mode in ((-1, 30, 1), (-1, 600, 2), (-1, 3002, 2)):
        c._item.last_stats = {}
        c._set_view(top, bottom, None)
        qtbot.wait(5)  # the scene indexes the item on the event loop
        c._graphics.viewport().repaint()
        assert c._item.last_stats.get("mode") == mode
    image = c._item.density_image(10.0)
    assert image.width() <= 512 * 8
    c.zoom_to_fit()
    qtbot.wait(5)
    c._graphics.viewport().repaint()
    assert c._item.last_stats.get("mode") == 2, "3001 rows in 600 px: density ribbons"
    vr = c._view.viewRect()
    assert vr.left() <= 0 and vr.right() >= 2999, "the whole room fits, lanes too"


def test_minimap_click_moves_the_view(qtbot) -> None:  # type: ignore[no-untyped-def]
    from tests.layout.rooms import chain

    c = GraphCanvas()
    qtbot.addWidget(c)
    c.resize(800, 600)
    c.show()
    qtbot.waitExposed(c)
    c.set_room(chain({f"e{i}": [f"e{i - 1}"] if i else [] for i in range(2000)}))
    assert c._minimap.isVisible()
    # the newest events are in view at first
    assert c._view.viewRect().bottom() > 1990
    mm = c._minimap
    qtbot.mouseClick(mm, Qt.MouseButton.LeftButton, pos=QPoint(mm.width() // 2, mm.height() // 4))
    centre = c._view.viewRect().center().y()
    assert 400 < centre < 600


def test_legend_lists_servers_with_counts_and_the_room(canvas) -> None:  # type: ignore[no-untyped-def]
    lines = [text for text, _, _ in canvas._legend._lines()]
    # example.org sent 8 events (create, ja, pl, jr, m1, topic, ban, m4); other.net 3
    assert "example.org  8" in lines
    assert "other.net  3" in lines
    assert "third.io  1" in lines
    assert lines[0].endswith("12 events")
    assert "1 missing" in lines[1]
    assert "2 forks" in lines[1] and "2 merges" in lines[1]


def test_labels_say_what_happened_in_plain_words(canvas) -> None:  # type: ignore[no-untyped-def]
    from app.ui.canvas import label_of

    room = canvas._room
    row = room.layout.index

    def label(name: str) -> str:
        return label_of(room, row[eid(name)])

    assert label("ban") == "alice · ban carol"
    assert label("jb") == "bob · join"
    assert label("m2") == "bob: hi from bob"
    assert label("topic") == "topic · alice"
    assert label("create") == "create · alice · v1"
    assert label("lost").startswith("missing ")


def test_the_wheel_zooms_around_the_cursor(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QPointF as P
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    canvas._set_view(3, 13, None)  # 10 of the 13 rows: the room does not fit
    vp, pos = at(canvas, "ban")
    row = canvas.graph_layout().index[eid("ban")]
    before = canvas._view.viewRect()

    def wheel(delta: int) -> None:
        ev = QWheelEvent(
            P(pos),
            P(vp.mapToGlobal(pos)),
            QPoint(0, 0),
            QPoint(0, delta),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(vp, ev)

    wheel(240)  # away from the user: zoom in
    after = canvas._view.viewRect()
    assert after.height() < before.height()
    # the event under the cursor stays under the cursor (within a row)
    assert abs(canvas._view.mapSceneToView(canvas._graphics.mapToScene(pos)).y() - row) < 1.0
    wheel(-480)
    assert canvas._view.viewRect().height() > after.height()


def test_hostile_text_stays_short_and_plain(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.ui.canvas import describe, label_of
    from tests.layout.rooms import make_event

    evil = make_event(
        "x" * 5000,
        "@" + "m" * 3000 + ":example.org",
        "m.room.message",
        None,
        [],
        {"body": "<b>bold</b>\\n" * 500},
    )
    c = GraphCanvas()
    qtbot.addWidget(c)
    c.set_room({evil.event_id: evil})
    text = describe(c._room, 0)
    assert all(len(line) <= 130 for line in text.splitlines())
    assert "<b>bold</b>" in text  # shown as the characters it is
    assert len(label_of(c._room, 0)) < 120


def test_an_event_graph_and_its_extremities(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.core.graph import EventGraph
    from tests.layout.rooms import V1

    room = sample_fork_merge()
    graph = EventGraph.build(room.values(), room_version=V1)
    c = GraphCanvas()
    qtbot.addWidget(c)
    c.set_room(graph)
    assert len(c.graph_layout()) == len(room) + len(graph.missing)
    qtbot.keyClick(c, Qt.Key.Key_End)
    assert set(c.selected()) == set(graph.forward_extremities)
    qtbot.keyClick(c, Qt.Key.Key_Home)
    assert c.selected() == (graph.create_event.event_id,)


def test_fetched_history_goes_above_and_the_view_follows(qtbot) -> None:  # type: ignore[no-untyped-def]
    from tests.layout.rooms import chain

    full = chain({f"e{i}": [f"e{i - 1}"] if i else [] for i in range(200)})
    recent = dict(list(full.items())[100:])  # e100..e199; e99 is a placeholder
    c = GraphCanvas()
    qtbot.addWidget(c)
    c.resize(600, 400)
    c.show()
    qtbot.waitExposed(c)
    c.set_room(recent)
    before = c.graph_layout()
    assert before.placeholder[before.index[eid("e99")]]
    c.select([eid("e150")], centre=True)
    centre_before = c._view.viewRect().center().y()
    c.set_room(full)  # the older history arrived
    after = c.graph_layout()
    shift = after.index[eid("e150")] - before.index[eid("e150")]
    assert shift > 0
    for i in range(100, 200):
        e = eid(f"e{i}")
        assert after.index[e] - before.index[e] == shift
        assert after.lane_of(e) == before.lane_of(e)
    # what was in the middle of the screen still is
    assert abs(c._view.viewRect().center().y() - (centre_before + shift)) < 1.0
    assert c.selected() == (eid("e150"),)


def test_centring_on_an_event_paints_the_graph_once(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The stepper lights events and centres the view at every step: one paint, not two."""
    from PySide6.QtCore import QEvent, QObject

    class Paints(QObject):
        count = 0

        def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.count += 1
            return False

    canvas._set_view(-1, 3, None)
    qtbot.wait(50)
    paints = Paints()
    canvas._graphics.viewport().installEventFilter(paints)
    canvas.highlight({eid("m4")}, owner="stepper")
    canvas.centre_on(eid("m4"))
    qtbot.wait(100)
    canvas._graphics.viewport().removeEventFilter(paints)
    row = canvas.graph_layout().index[eid("m4")]
    assert canvas._view.viewRect().top() <= row <= canvas._view.viewRect().bottom()
    assert paints.count == 1


def test_the_model_gives_each_row_its_shape_and_server() -> None:
    """UI.md's visual language, row by row for the hand-made room: shape by what the
    event does, colour index by the sender's server (busiest first)."""
    from app.layout.lanes import compute_layout
    from app.ui.canvas_model import CanvasRoom
    from app.ui.style import OKABE_ITO, Shape

    events = sample_fork_merge()
    layout = compute_layout(events)
    model = CanvasRoom(events, layout, (), (), OKABE_ITO)
    expected_shape = {
        "create": Shape.CREATE,
        "ja": Shape.MEMBERSHIP,
        "pl": Shape.POWER,
        "jr": Shape.POWER,
        "jb": Shape.MEMBERSHIP,
        "m1": Shape.MESSAGE,
        "topic": Shape.STATE,
        "ban": Shape.POWER,
        "lost": Shape.MISSING,
    }
    for name, shape in expected_shape.items():
        assert model.shape[layout.index[eid(name)]] == shape, name
    # alice (example.org) sends 8 events, bob (other.net) 3, carol (third.io) 1
    assert model.servers == ("example.org", "other.net", "third.io")
    for name, server in [("m1", 0), ("m2", 1), ("jc", 2), ("ban", 0), ("lost", -1)]:
        assert model.server[layout.index[eid(name)]] == server, name
